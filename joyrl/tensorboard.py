"""``general_cfg.tensorboard``: every scalar the run's CSVs hold, also as TensorBoard scalars in ``<run>/tb/``.

Each CSV row is mirrored as it is written: res.csv under ``train/`` (return, length, seconds, the
``info_keys`` values, and env steps per second), eval.csv under ``eval/``, train_stats.csv under
``stats/``, each at the row's env step (or update, offline). ``tensorboard --logdir tasks`` shows every
run, and every seed of a sweep, side by side. ``torch.utils.tensorboard`` is imported only when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

NOT_SCALARS = ("episode", "env_steps", "updates", "worker")  # the x axis, or labels


class TensorBoardScalars:
    """A ``SummaryWriter`` on ``folder`` and the mirrors that feed it from the CSV recorders."""

    def __init__(self, folder: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(folder))

    def mirror(self, prefix: str) -> Callable[[dict[str, Any]], None]:
        """What a CSV recorder calls with each row it writes: its numbers as ``prefix/column`` scalars."""

        def write(row: dict[str, Any]) -> None:
            step = _number(row.get("env_steps", row.get("updates")))
            if step is None:
                return
            scalars = {key: _number(value) for key, value in row.items() if key not in NOT_SCALARS}
            seconds = scalars.get("seconds")
            if prefix == "train" and "env_steps" in row and seconds:
                scalars["env_steps_per_second"] = step / seconds
            for key, value in scalars.items():
                if value is not None:
                    self.writer.add_scalar(f"{prefix}/{key}", value, int(step))

        return write

    def close(self) -> None:
        self.writer.close()


def _number(value: Any) -> float | None:
    """A CSV cell as a number (rows copied on resume are text); None for blanks and text."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
