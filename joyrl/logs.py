"""Console and file logging, CSV results appended as the run goes, and the progress bar."""

from __future__ import annotations

import contextlib
import csv
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

LOGGER_NAME = "joyrl"


class _TqdmHandler(logging.StreamHandler):
    """Writes log lines above an active progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001  (logging must never raise)
            self.handleError(record)


class _LogFileHandler(logging.FileHandler):
    """Writes the log file; after a failed write (disk full) it says so once and stops, instead of a traceback per line."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802  (logging's name)
        if not self.failed:
            self.failed = True
            tqdm.write(
                f"cannot write the log file {self.baseFilename} (disk full?); logging to the console only", file=sys.stderr
            )

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the unwritten tail has been reported already
            super().close()


def get_logger(log_file: Path | None = None) -> logging.Logger:
    """The ``joyrl`` logger writing to the console and, when given, to ``log_file``."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    formatter = logging.Formatter("%(asctime)s | %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    console = _TqdmHandler()
    console.setFormatter(formatter)
    logger.addHandler(console)
    if log_file is not None:
        file_handler = _LogFileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    return logger


def close_logger() -> None:
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)


class CSVRecorder:
    """Appends one row per call; a row reaches the file at most ``flush_seconds`` after it is written (0: at once).

    Rows wait in memory and a timer thread writes them out, all pending rows in one write, so a killed
    run (SIGKILL) loses at most the rows of its last ``flush_seconds`` and never leaves half a row;
    ``flush`` and ``close`` write them at once. A write that failed on the timer's thread (a full
    disk) is raised by the next ``write``, ``flush`` or ``close``. With 0 each row is written and
    flushed in ``write`` (2-4 us a row: a tenth of a random-policy CartPole episode's own cost).

    The columns are fixed by ``columns`` or, when None, by the first row written.
    """

    def __init__(self, path: Path, columns: list[str] | None = None, flush_seconds: float = 0.0) -> None:
        self.path = path
        self.columns = columns
        self.flush_seconds = flush_seconds
        self.mirror: Callable[[dict[str, Any]], None] | None = None  # also given each row (TensorBoard)
        self._file: BinaryIO | None = None
        self._lines: list[str] = []  # formatted rows not yet in the file
        self._writer = csv.writer(_Appender(self._lines))
        self._lock = threading.Lock()  # the lines and the file, between write() and the timer's flush
        self._timer: threading.Timer | None = None
        self._unwritten = b""  # what a failed write did not write
        self._failed: OSError | None = None  # the timer's failed write, raised on the caller's thread

    def write(self, row: dict[str, Any]) -> None:
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed
        if self._file is None:
            self.columns = self.columns or list(row)
            self._file = open(self.path, "wb", buffering=0)  # noqa: SIM115  (closed by close())
            self._writer.writerow(self.columns)
        assert self.columns is not None  # fixed when the file was opened
        cells = [_cell(row.get(key, "")) for key in self.columns]
        with self._lock:
            self._writer.writerow(cells)
            if self.flush_seconds <= 0:
                self._write_out()
            elif self._timer is None:
                self._timer = threading.Timer(self.flush_seconds, self._timed_flush)
                self._timer.daemon = True
                self._timer.start()
        if self.mirror is not None:
            self.mirror(row)

    def flush(self) -> None:
        """Write the pending rows now."""
        with self._lock:
            self._write_out()

    def close(self) -> None:
        """Write the pending rows (again, after a failed write) and close the file."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            if self._file is None:
                return
            try:
                self._write_out()
            finally:
                self._file.close()
                self._file = None

    def _timed_flush(self) -> None:
        with self._lock:
            self._timer = None
            try:
                self._write_out()
            except OSError as error:
                self._failed = error

    def _write_out(self) -> None:
        """The pending rows in one write (a short one is continued); the caller holds the lock.

        What a failed write left unwritten stays for the next try, so no row is written twice or lost.
        """
        if self._file is None or not (self._lines or self._unwritten):
            return
        data = memoryview(self._unwritten + "".join(self._lines).encode("utf-8"))
        self._lines.clear()
        try:
            while data:
                data = data[self._file.write(data) :]
        finally:
            self._unwritten = bytes(data)


class _Appender:
    """The file ``csv.writer`` writes to: each formatted row is appended to a list."""

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV written by ``CSVRecorder``, as strings."""
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _cell(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def progress_bar(total: int, unit: str, initial: int = 0) -> tqdm:
    """A bar on the terminal; silent when stderr is not a terminal (CI, files)."""
    return tqdm(total=total, initial=initial, unit=unit, dynamic_ncols=True, disable=None, leave=False)
