import gc
import subprocess
import sys

import pytest

from joyrl import runtime
from joyrl.paths import ROOT


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_takes_the_settings_that_keep_freed_memory():
    assert runtime.keep_freed_memory()


def test_without_mallopt_freed_memory_is_left_to_the_c_library(monkeypatch):
    monkeypatch.setattr(runtime.ctypes, "CDLL", lambda name: object())  # a C library without mallopt (macOS, Windows)
    assert not runtime.keep_freed_memory()
    monkeypatch.setattr(runtime.ctypes.util, "find_library", lambda name: None)
    assert not runtime.keep_freed_memory()


def test_the_startup_objects_are_frozen_once_and_collection_comes_back_on(monkeypatch):
    monkeypatch.setattr(runtime, "_startup_frozen", False)
    gc.collect()  # nothing unreachable gets frozen with the test process's objects
    gc.disable()  # as main.py leaves it for a run's start-up
    try:
        before = gc.get_freeze_count()
        runtime.freeze_startup_objects()
        assert gc.isenabled() and gc.get_freeze_count() > before
        frozen = gc.get_freeze_count()
        kept = [object()]  # noqa: F841  (alive across the second call, which must not freeze it)
        runtime.freeze_startup_objects()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.enable()
        gc.unfreeze()


def test_main_py_turns_collection_back_on_for_a_run_and_for_the_commands_that_run_none(tmp_path):
    script = (
        "import gc, runpy, sys; sys.argv = ['main.py', *sys.argv[1:]]\n"
        "import joyrl.cli\n"
        "real = joyrl.cli.main\n"
        "def main(argv=None):\n"
        "    code = real(argv)\n"
        "    print('collecting', gc.isenabled())\n"
        "    return code\n"
        "joyrl.cli.main = main\n"
        "runpy.run_path('main.py', run_name='__main__')\n"
    )
    for args in (
        ["--list"],
        ["general_cfg.max_env_steps=200", "general_cfg.save_fig=false", f"general_cfg.tasks_dir={tmp_path}"],
    ):
        result = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert "collecting True" in result.stdout
