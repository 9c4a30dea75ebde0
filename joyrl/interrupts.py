"""Ctrl-C (SIGINT) and SIGTERM: training stops after the current step, a second signal stops at once."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from logging import Logger
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Raised where the run stands on a signal that must stop it at once; the run saves what it has and exits."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


def raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(signum)


@contextmanager
def signal_handlers(handler: Callable[[int, Any], None], signums: tuple[int, ...] = STOP_SIGNALS) -> Iterator[None]:
    """``handler`` for ``signums`` inside the block; the previous handlers after it."""
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class StopRequests:
    """The signal handler of training: the first signal asks ``stop`` (called once), a second one raises Interrupted.

    While the run is closing (``closing``: saving the checkpoint and the results) signals only get a log line.
    """

    def __init__(self, stop: Callable[[], None], logger: Logger) -> None:
        self.stop = stop
        self.logger = logger
        self.signum = 0  # the signal that asked training to stop, once one has
        self.closing = False

    def __call__(self, signum: int, _frame: Any) -> None:
        if self.closing:
            self.logger.info("saving the checkpoint and results; a moment")
            return
        if self.signum:
            raise Interrupted(signum)
        self.signum = signum
        self.stop()
        self.logger.info(f"{signal.Signals(signum).name}: stopping after this step (send it again to stop at once)")
