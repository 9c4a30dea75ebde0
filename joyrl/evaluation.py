"""Greedy evaluation: a few test episodes on an env of their own, during training (online) and after it."""

from __future__ import annotations

from collections.abc import Callable
from logging import Logger
from typing import Any

import gymnasium as gym
import numpy as np

from joyrl.counters import Counters
from joyrl.envs import EnvFailure
from joyrl.episodes import EnvFailures, EpisodeEvent, Listener
from joyrl.logs import CSVRecorder
from joyrl.recorders import InfoValues

EVAL_COLUMNS = ["episode", "env_steps", "eval_mean", "eval_std", "eval_min", "eval_max", "seconds"]
OFFLINE_EVAL_COLUMNS = ["updates", "eval_mean", "eval_std", "eval_min", "eval_max", "seconds"]  # against updates


def eval_columns(info_keys: list[str], offline: bool = False) -> list[str]:
    """eval.csv's columns: the return's statistics, then the mean of each ``info_keys`` value (``eval_<key>``)."""
    return [*(OFFLINE_EVAL_COLUMNS if offline else EVAL_COLUMNS), *(f"eval_{key}" for key in info_keys)]


def evaluate(env: gym.Env, agent: Any, trainer: Any, cfg: Any, n_episodes: int, info: InfoValues) -> dict[str, float]:
    """Mean, std, min and max return of ``n_episodes`` test episodes, and the mean of each ``info_keys`` value."""
    results = [trainer.test_one_episode(env, agent, cfg) for _ in range(n_episodes)]
    returns = np.array([result["ep_reward"] for result in results])
    values = [info.of(result) for result in results]
    means = {}
    for key in info.keys:
        numbers = [value for row in values if (value := row[key]) is not None]
        means[f"eval_{key}"] = float(np.mean(numbers)) if numbers else float("nan")
    return {
        "eval_mean": float(returns.mean()),
        "eval_std": float(returns.std()),
        "eval_min": float(returns.min()),
        "eval_max": float(returns.max()),
        **means,
    }


class OnlineEvaluation(Listener):
    """Every ``eval_per_episode`` training episodes and at the end: greedy episodes, a row of eval.csv, best.pt.

    A mean return at least as good as the best so far saves ``best`` (``save_best``); a mean reaching
    ``stop_at_eval`` ends training (``wants_stop``). An env failure skips the evaluation.
    """

    def __init__(
        self,
        env: gym.Env,
        play: Callable[[gym.Env], dict[str, float]],
        cfg: Any,
        csv: CSVRecorder,
        save_best: Callable[[], None],
        failures: EnvFailures,
        logger: Logger,
        by_updates: bool = False,
    ) -> None:
        self.env = env
        self.by_updates = by_updates  # offline training: rows and log lines against updates, not episodes and env steps
        self.play = play  # n greedy episodes on an env: evaluate(env, agent, trainer, cfg, n)
        self.cfg = cfg
        self.csv = csv
        self.save_best = save_best
        self.failures = failures
        self.logger = logger
        self.last_episode: int | None = None  # the episode of the last evaluation
        self.observers: list[Listener] = []  # told each evaluation's scores (on_evaluation)

    def on_episode(self, event: EpisodeEvent) -> None:
        if event.counters.episode % self.cfg.eval_per_episode == 0:
            self.evaluate(event.counters)

    def on_loop_end(self, counters: Counters, stopped: bool) -> None:
        if self.last_episode != counters.episode and not stopped:
            self.evaluate(counters)

    def evaluate(self, counters: Counters) -> None:
        cfg = self.cfg
        self.last_episode = counters.episode
        try:
            scores = self.play(self.env)
        except EnvFailure as failure:
            self.failures.failed("evaluation", failure, counters)
            return
        where = (
            {"updates": counters.updates} if self.by_updates else {"episode": counters.episode, "env_steps": counters.env_steps}
        )
        self.csv.write({**where, **scores, "seconds": counters.seconds})
        note = ""
        if scores["eval_mean"] >= counters.best_eval:
            counters.best_eval = scores["eval_mean"]
            self.save_best()
            note = " (best so far, saved)"
        position = (
            f"update {counters.updates:,}" if self.by_updates else f"episode {counters.episode} | step {counters.env_steps:,}"
        )
        values = "".join(
            f" | {key[5:]} {value:.4g}" for key, value in scores.items() if key not in EVAL_COLUMNS and not np.isnan(value)
        )
        self.logger.info(
            f"eval   | {position} | return {scores['eval_mean']:.2f} ± {scores['eval_std']:.2f}{values} "
            f"over {cfg.online_eval_episode} episodes{note}"
        )
        for observer in self.observers:
            observer.on_evaluation(counters, scores)
        if cfg.stop_at_eval is not None and scores["eval_mean"] >= cfg.stop_at_eval:
            self.wants_stop = True
            self.logger.info(f"the evaluation reached stop_at_eval ({cfg.stop_at_eval:g}): training ends here")
