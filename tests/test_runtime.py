import sys

import pytest

from joyrl import runtime


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_takes_the_settings_that_keep_freed_memory():
    assert runtime.keep_freed_memory()


def test_without_mallopt_freed_memory_is_left_to_the_c_library(monkeypatch):
    monkeypatch.setattr(runtime.ctypes, "CDLL", lambda name: object())  # a C library without mallopt (macOS, Windows)
    assert not runtime.keep_freed_memory()
    monkeypatch.setattr(runtime.ctypes.util, "find_library", lambda name: None)
    assert not runtime.keep_freed_memory()
