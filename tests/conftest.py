import importlib
import os
import shutil
import sys
import uuid

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("MPLBACKEND", "Agg")

from tests.helpers import QLEARNING_PRESET, ROOT, TINY_DQN, run_cli, train  # noqa: E402


@pytest.fixture
def cli(tmp_path, capsys):
    """Call the CLI in-process with ``tasks_dir`` (default: tmp_path); the result carries stderr."""

    def call(*args, tasks_dir=None):
        capsys.readouterr()
        result = run_cli(list(args), tasks_dir or tmp_path)
        captured = capsys.readouterr()
        result.err, result.out = captured.err, captured.out
        return result

    return call


@pytest.fixture(scope="session")
def dqn_run(tmp_path_factory):
    """A finished tiny DQN training run on CartPole-v1 (read it, never write into it)."""
    return train(TINY_DQN, tmp_path_factory.mktemp("dqn_tasks"))


@pytest.fixture(scope="session")
def qlearning_run(tmp_path_factory):
    """The CliffWalking-v1 Q-learning preset, trained to the end (about 2 s)."""
    return train(["--yaml", QLEARNING_PRESET], tmp_path_factory.mktemp("qlearning_tasks"))


@pytest.fixture
def copy_algo():
    """Copy an algorithm folder to ``algos/<unique name>``; removed afterwards, even on failure."""
    created = []

    def make(source="DQN", prefix="MyDQN_test", edit=None):
        folder = ROOT / "algos" / f"{prefix}_{uuid.uuid4().hex[:8]}"
        created.append(folder)
        shutil.copytree(ROOT / "algos" / source, folder, ignore=shutil.ignore_patterns("__pycache__"))
        if edit is not None:
            edit(folder)
        importlib.invalidate_caches()
        return folder.name

    yield make
    for folder in created:
        shutil.rmtree(folder, ignore_errors=True)
        for module in [name for name in sys.modules if name.startswith(f"algos.{folder.name}")]:
            del sys.modules[module]


@pytest.fixture
def one_torch_thread():
    """One torch thread, as runs use (general_cfg.torch_threads): fastest for tiny networks, and alike under load."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
