"""The one episode loop of every mode, and the policies it applies: budget, env failures, NaN statistics.

Train and play (test, render, collect) run the same loop; only the function that plays one
episode differs (a trainer's ``train_one_episode`` or ``test_one_episode``). After each
finished episode the loop counts it (joyrl/counters.py) and hands an ``EpisodeEvent`` to its
listeners: the CSV rows, the console line, the progress bar, evaluation, periodic checkpoints.
Listeners record; the loop owns nothing but the order of things. The NaN policy is a listener too
(``FiniteStats``), placed after res.csv's row and before the statistics' row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from logging import Logger
from typing import Any

from joyrl.counters import Counters
from joyrl.envs import EnvFailure
from joyrl.errors import JoyRLError

RESULT_KEYS = ("ep_reward", "ep_step")
WORKER_KEY = "worker"  # which Ray worker played the episode (mp_backend ray); not an update statistic
INFO_KEY = "info"  # the env's info at the episode's last step (general_cfg.info_keys picks from it); not a statistic


class EnvFailuresExhausted(JoyRLError):
    """The env failed ``max_env_failures`` times in a row: the run stops with everything saved."""


class NonFinite(JoyRLError):
    """A loss, statistic or parameter became NaN or inf: training stops, keeping the good checkpoints."""


@dataclass
class Budget:
    """How much a loop runs: episodes and env steps, -1 for no limit on either."""

    max_episode: int = -1
    max_env_steps: int = -1

    def left(self, counters: Counters) -> bool:
        if self.max_episode > 0 and counters.episode >= self.max_episode:
            return False
        return not (self.max_env_steps > 0 and counters.env_steps >= self.max_env_steps)

    def spent(self, counters: Counters) -> str | None:
        """What a run that restored ``counters`` has already used up, or None when budget is left."""
        if self.left(counters):
            return None
        if self.max_episode > 0 and counters.episode >= self.max_episode:
            return f"max_episode ({self.max_episode:,} episodes)"
        return f"max_env_steps ({self.max_env_steps:,} env steps)"


@dataclass
class EpisodeEvent:
    """One finished episode, as the listeners see it."""

    result: dict[str, Any]  # ep_reward and ep_step (and worker, on Ray; info, the last step's info, where the loop has it)
    stats: dict[str, float]  # the means of the update statistics over the episode (may be empty)
    counters: Counters  # already counting this episode
    steps_taken: int  # env steps it added to the counters


class Listener:
    """Something the loop tells about each episode and about its end; both hooks do nothing by default."""

    wants_stop = False  # set by a listener that ends the loop (an evaluation reaching stop_at_eval)

    def on_episode(self, event: EpisodeEvent) -> None:
        """After each finished episode."""

    def on_loop_end(self, counters: Counters, stopped: bool) -> None:
        """When the loop ends normally: the budget spent (``stopped`` False) or a stop asked for (True)."""

    def on_evaluation(self, counters: Counters, scores: dict[str, float]) -> None:
        """After each online evaluation, for the listeners a run adds (``Run.extra_listeners``: a tuning trial's pruning)."""


class EnvFailures:
    """Counts env failures in a row over training and evaluation; too many end the run."""

    def __init__(self, max_in_a_row: int, logger: Logger) -> None:
        self.max_in_a_row = max_in_a_row
        self.logger = logger
        self.in_a_row = 0

    def failed(self, role: str, failure: EnvFailure, counters: Counters) -> None:
        """Log a lost episode (the env rebuilds itself at its next reset); raise when too many came in a row."""
        self.in_a_row += 1
        lost = "evaluation skipped" if role == "evaluation" else "episode dropped"
        self.logger.warning(
            f"{role} env failed ({self.in_a_row}/{self.max_in_a_row} in a row) after episode {counters.episode}, "
            f"step {counters.env_steps:,}: {failure}; {lost}, env rebuilt"
        )
        if self.in_a_row >= self.max_in_a_row:
            raise EnvFailuresExhausted(
                f"the env failed {self.in_a_row} times in a row (max_env_failures); last: {failure}"
            ) from None

    def succeeded(self) -> None:
        self.in_a_row = 0


class FiniteStats(Listener):
    """Training stops (NonFinite) at the first update statistic that is NaN or inf; the listeners before it have run."""

    def on_episode(self, event: EpisodeEvent) -> None:
        for key, value in event.stats.items():
            if not math.isfinite(value):
                counters = event.counters
                raise NonFinite(f"train/{key} is {value} at episode {counters.episode}, env step {counters.env_steps:,}")


class EpisodeLoop:
    """Plays episodes until the budget is spent, a listener or a signal asks it to stop, or an error ends it."""

    def __init__(
        self,
        play_one: Callable[[], dict[str, Any] | None],
        role: str,
        counters: Counters,
        budget: Budget,
        failures: EnvFailures,
        listeners: Sequence[Listener],
    ) -> None:
        self.play_one = play_one  # one episode's result; None when a stop request ended it part-way
        self.role = role  # 'training', or the play mode: named in the log when the env fails
        self.counters = counters
        self.budget = budget
        self.failures = failures
        self.listeners = listeners
        self.stop_requested = False

    def listener_stop(self) -> bool:
        return any(listener.wants_stop for listener in self.listeners)

    def run(self) -> None:
        stopped = False
        while self.budget.left(self.counters) and not self.stop_requested and not self.listener_stop():
            try:
                result = self.play_one()
            except EnvFailure as failure:
                self.failures.failed(self.role, failure, self.counters)
                continue
            if result is None:
                stopped = True
                break
            self.failures.succeeded()
            steps_taken = self.counters.count(result)
            kept = [key for key in (*RESULT_KEYS, WORKER_KEY, INFO_KEY) if key in result]
            stats = {key: value for key, value in result.items() if key not in kept}
            event = EpisodeEvent({key: result[key] for key in kept}, stats, self.counters, steps_taken)
            for listener in self.listeners:
                listener.on_episode(event)
        for listener in self.listeners:
            listener.on_loop_end(self.counters, stopped or self.stop_requested)
