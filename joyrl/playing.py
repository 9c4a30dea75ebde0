"""Test, render and collect: the loaded policy, greedy, for a number of episodes; nothing learned.

The same episode loop as training (joyrl/episodes.py) with the trainer's ``test_one_episode``,
res.csv, the console line and the progress bar; render mode records the GIF and collect mode the
trajectories (env wrappers added by the run). How many episodes: ``general_cfg.play_episodes``,
else the mode's own default (``PLAY_EPISODES``; render: ``render_episodes``). The training budget
(``max_episode``, ``max_env_steps``) does not apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from joyrl.episodes import Budget, EnvFailures, EnvFailuresExhausted, EpisodeEvent, EpisodeLoop, Listener
from joyrl.interrupts import Interrupted
from joyrl.logs import CSVRecorder
from joyrl.recorders import ConsoleLog, EpisodeCSV, InfoValues, Progress, plot_run, res_columns

if TYPE_CHECKING:
    from joyrl.runner import Run

PLAY_EPISODES = {"test": 10, "collect": 100}  # when play_episodes is None; render: render_episodes


class Returns(Listener):
    """The returns of the episodes played, for the closing line."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def on_episode(self, event: EpisodeEvent) -> None:
        self.values.append(float(event.result["ep_reward"]))

    def summary(self) -> str:
        values = np.array(self.values)
        return f"return {values.mean():.2f} ± {values.std():.2f} (min {values.min():.2f}, max {values.max():.2f})"


def play_episodes(cfg: Any) -> int:
    """Episodes of test, render or collect: ``play_episodes``, else the mode's default."""
    if cfg.play_episodes is not None:
        return int(cfg.play_episodes)
    return int(cfg.render_episodes) if cfg.mode == "render" else PLAY_EPISODES[cfg.mode]


def play(run: Run) -> int:
    """Play the loaded policy; returns the exit code (130/143 interrupted, 1 when the env kept failing)."""
    cfg, counters, logger = run.cfg, run.counters, run.logger
    env = run.wrap_outputs(run.env)
    logger.info(f"loaded {run.checkpoint_path}")
    res_csv = CSVRecorder(run.folder / "results" / "res.csv", res_columns(cfg.info_keys), cfg.results_flush_seconds)
    n_episodes = play_episodes(cfg)
    progress, returns, info = Progress(counters, n_episodes, -1), Returns(), InfoValues(cfg.info_keys, logger)
    log = ConsoleLog(logger, cfg.mode, cfg.log_per_episode, n_episodes, info)
    listeners = [EpisodeCSV(res_csv, info), progress, log, returns]
    failures = EnvFailures(cfg.max_env_failures, logger)
    loop = EpisodeLoop(
        lambda: run.trainer.test_one_episode(env, run.agent, cfg), cfg.mode, counters, Budget(n_episodes), failures, listeners
    )
    exit_code = 0
    try:
        loop.run()
    except (KeyboardInterrupt, Interrupted) as stop:
        exit_code = stop.exit_code if isinstance(stop, Interrupted) else 130
        logger.info(f"interrupted after {counters.episode} episodes; keeping what was recorded")
    except EnvFailuresExhausted as error:
        exit_code = 1
        logger.error(f"stopped: {error}")
    finally:
        progress.close()
        res_csv.close()
        run.finish_media()
        plot_run(run.folder, cfg, run.agent, run.env, False, logger)
    if returns.values:
        logger.info(f"{cfg.mode}: {counters.episode} episodes, {returns.summary()}")
    return exit_code
