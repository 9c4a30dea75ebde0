"""Console and file logging, CSV results appended as the run goes, and the progress bar."""

from __future__ import annotations

import contextlib
import csv
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

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
    """Appends one row per call and flushes it, so a killed run keeps every finished row.

    The columns are fixed by ``columns`` or, when None, by the first row written.
    """

    def __init__(self, path: Path, columns: list[str] | None = None) -> None:
        self.path = path
        self.columns = columns
        self._file: TextIO | None = None
        self._writer: csv.DictWriter | None = None
        self.mirror: Callable[[dict[str, Any]], None] | None = None  # also given each row (TensorBoard)

    def write(self, row: dict[str, Any]) -> None:
        if self._writer is None:
            self.columns = self.columns or list(row)
            self._file = open(self.path, "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._writer = csv.DictWriter(self._file, fieldnames=self.columns, extrasaction="ignore")
            self._writer.writeheader()
        assert self._file is not None and self.columns is not None  # opened and fixed with the writer
        self._writer.writerow({key: _cell(row.get(key, "")) for key in self.columns})
        self._file.flush()
        if self.mirror is not None:
            self.mirror(row)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV written by ``CSVRecorder``, as strings."""
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _cell(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def progress_bar(total: int, unit: str, initial: int = 0) -> tqdm:
    """A bar on the terminal; silent when stderr is not a terminal (CI, files)."""
    return tqdm(total=total, initial=initial, unit=unit, dynamic_ncols=True, disable=None, leave=False)
