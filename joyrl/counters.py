"""The run's counters, kept in one place: every trainer's results are counted here, and resume restores them."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Counters:
    """Episodes, env steps, updates and the weight version of a run, its best evaluation and the seconds it has run.

    ``count`` takes each finished episode's result (joyrl.contracts.EpisodeResult): a step trainer's
    episode adds its length, a vector trainer's result tells the steps all its envs took since the
    previous result (``env_steps_taken``), so a resumed run continues from the restored counts.
    """

    episode: int = 0
    env_steps: int = 0
    updates: int = 0  # updates that returned statistics
    weight_version: int = 0  # how many times the weights changed (one per update in a single process)
    best_eval: float = -math.inf  # the best online evaluation mean so far
    seconds_before: float = 0.0  # run time of the earlier run(s) this one continues
    started: float = field(default_factory=time.perf_counter, repr=False)

    def count(self, result: dict[str, Any]) -> int:
        """Add one finished episode; returns the env steps it added. Removes the counting keys from ``result``."""
        taken = int(result.pop("env_steps_taken", result["ep_step"]))
        n_updates = int(result.pop("n_updates", 0))
        self.episode += 1
        self.env_steps += taken
        self.updates += n_updates
        self.weight_version += n_updates
        return taken

    def start_clock(self) -> None:
        """The run's own time starts now (added to the seconds of the runs it continues)."""
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds this run (and those it continues) has run."""
        return self.seconds_before + time.perf_counter() - self.started

    def state_dict(self) -> dict[str, Any]:
        """Plain numbers, for a checkpoint's ``progress``."""
        state = {key: value for key, value in asdict(self).items() if key not in ("seconds_before", "started")}
        return {**state, "seconds": self.seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's ``progress`` (older checkpoints lack updates and weight_version)."""
        self.episode = int(state.get("episode", 0))
        self.env_steps = int(state.get("env_steps", 0))
        self.updates = int(state.get("updates", 0))
        self.weight_version = int(state.get("weight_version", self.updates))
        self.best_eval = float(state.get("best_eval", -math.inf))
        self.seconds_before = float(state.get("seconds", 0.0))
        self.started = time.perf_counter()


def add_update_stats(sums: dict[str, float], stats: dict[str, float] | None) -> int:
    """Add one ``update()``'s statistics to running sums; returns 1 when it learned (returned statistics), else 0."""
    if not stats:
        return 0
    for key, value in stats.items():
        sums[key] = sums.get(key, 0.0) + value
    return 1
