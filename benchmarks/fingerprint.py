"""Same-seed fingerprints of every preset on a tiny budget: proof that a refactor changed no result.

For each preset in config/presets/ it trains on a tiny budget (seed 1, learning early, evaluating and
saving often), then tests the trained run for two episodes, and records a hash of

- results/res.csv, eval.csv and train_stats.csv without their ``seconds`` columns (train; a
  planner's ``plan_seconds`` too),
- results/res.csv without ``seconds`` (test, two episodes),
- every tensor in models/last.pt's and models/best.pt's agent state (names, dtypes, shapes, bytes).

    python benchmarks/fingerprint.py --out benchmarks/results/fingerprints.json
    python benchmarks/fingerprint.py --compare benchmarks/results/fingerprints.json   # exit 1 on a difference

Presets whose env is not installed (Atari without requirements-atari.txt) are skipped and listed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.config import GeneralConfig  # noqa: E402
from joyrl.cli import main as joyrl_main  # noqa: E402
from joyrl.config import algo_config_class, schema  # noqa: E402
from joyrl.logs import read_csv_rows  # noqa: E402
from joyrl.validation import load_yaml  # noqa: E402

GENERAL = [
    "general_cfg.max_env_steps=400",
    "general_cfg.max_episode=-1",
    "general_cfg.eval_per_episode=3",
    "general_cfg.online_eval_episode=2",
    "general_cfg.model_save_fre=3",
    "general_cfg.model_save_seconds=0",
    "general_cfg.seed=1",
    "general_cfg.save_fig=false",
]
# applied where the algorithm has the key: learning starts inside the tiny budget
ALGO = {"learning_starts": "50", "batch_size": "32", "buffer_size": "2000"}
ON_POLICY = {"n_steps": "16"}  # PPO and A2C: rollouts of n_envs x 16 steps (RainbowDQN's n_steps is its n-step return)


# test mode runs two episodes: play_episodes since the one-loop redesign, max_episode before it
# (before it, test mode also stopped at max_env_steps: one episode when the first was longer than 400 steps)
TWO_TEST_EPISODES = ["general_cfg.play_episodes=2"] if "play_episodes" in schema(GeneralConfig) else ["general_cfg.max_episode=2"]


def overrides(algo_name: str) -> list[str]:
    keys = schema(algo_config_class(algo_name))
    chosen = {key: value for key, value in ALGO.items() if key in keys}
    if "gae_lambda" in keys and "n_steps" in keys:
        chosen.update(ON_POLICY)
    return [f"algo_cfg.{key}={value}" for key, value in chosen.items()]


def csv_digest(path: Path) -> str | None:
    if not path.is_file():
        return None
    rows = [{key: value for key, value in row.items() if "seconds" not in key} for row in read_csv_rows(path)]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def tensor_digest(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()

    def walk(value, name: str) -> None:
        if isinstance(value, torch.Tensor):
            digest.update(f"{name}:{value.dtype}:{tuple(value.shape)}".encode())
            digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(value, dict):
            for key in sorted(value, key=str):
                walk(value[key], f"{name}.{key}")
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(item, f"{name}.{index}")

    walk(torch.load(path, map_location="cpu", weights_only=True)["agent"], "agent")
    return digest.hexdigest()[:16]


def run(args: list[str], tasks: Path) -> tuple[int, Path | None, str]:
    before = set(tasks.iterdir())
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = joyrl_main([*args, f"general_cfg.tasks_dir={tasks}"])
    created = sorted(set(tasks.iterdir()) - before)
    return code, (created[0] if created else None), stderr.getvalue()


def fingerprint(preset: Path, tasks: Path) -> dict[str, str | None] | str:
    algo_name = load_yaml(preset.read_text())["general_cfg"]["algo_name"]
    code, folder, err = run(["--yaml", str(preset), *GENERAL, *overrides(algo_name)], tasks)
    if code != 0 or folder is None:
        return f"skipped: train exit {code}"
    results = folder / "results"
    prints = {
        "train_res": csv_digest(results / "res.csv"),
        "train_eval": csv_digest(results / "eval.csv"),
        "train_stats": csv_digest(results / "train_stats.csv"),
        "last_pt": tensor_digest(folder / "models" / "last.pt"),
        "best_pt": tensor_digest(folder / "models" / "best.pt"),
    }
    code, test_folder, err = run(
        ["--yaml", str(preset), *GENERAL, *TWO_TEST_EPISODES, "--mode", "test", "--load", str(folder)], tasks
    )
    prints["test_res"] = csv_digest(test_folder / "results" / "res.csv") if code == 0 and test_folder else f"exit {code}"
    return prints


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the fingerprints here (JSON)")
    parser.add_argument("--compare", type=Path, help="compare with fingerprints written before; exit 1 on a difference")
    parser.add_argument("--only", nargs="*", help="preset file names (without .yaml) to run; default all")
    args = parser.parse_args()
    presets = sorted((ROOT / "config" / "presets").glob("*.yaml"))
    if args.only:
        presets = [preset for preset in presets if preset.stem in args.only]
    prints: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tasks:
        for preset in presets:
            prints[preset.stem] = fingerprint(preset, Path(tasks))
            print(f"{preset.stem}: {prints[preset.stem]}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        differ = [name for name in prints if before.get(name) != prints[name]]
        for name in differ:
            old, new = before.get(name), prints[name]
            parts = [key for key in new if isinstance(old, dict) and old.get(key) != new[key]] if isinstance(new, dict) else []
            print(f"DIFFERS {name}: {', '.join(parts) or new}")
        print(f"{len(prints) - len(differ)} of {len(prints)} presets identical")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
