"""What a run records, as listeners on the episode loop: CSV rows, console lines, the progress bar; and,
when the run ends, the GIF, the trajectories and the figures."""

from __future__ import annotations

from logging import Logger
from pathlib import Path
from typing import Any

import gymnasium as gym

from joyrl.counters import Counters
from joyrl.episodes import WORKER_KEY, EpisodeEvent, Listener
from joyrl.logs import CSVRecorder, progress_bar
from joyrl.media import FrameRecorder, save_gif
from joyrl.plots import plot_episodes, plot_training, plot_update_stats
from joyrl.tabular_figures import save_policy_figure
from joyrl.trajectories import TrajectoryWriter

RES_COLUMNS = ["episode", "env_steps", "reward", "length", "seconds"]
RAY_RES_COLUMNS = [*RES_COLUMNS, WORKER_KEY]  # mp_backend ray: which worker played the episode


class EpisodeCSV(Listener):
    """results/res.csv: a row per episode (return, length, env steps so far, seconds)."""

    def __init__(self, csv: CSVRecorder) -> None:
        self.csv = csv

    def on_episode(self, event: EpisodeEvent) -> None:
        counters = event.counters
        row = {"episode": counters.episode, "env_steps": counters.env_steps, "seconds": counters.seconds}
        worker = {WORKER_KEY: event.result[WORKER_KEY]} if WORKER_KEY in event.result else {}
        self.csv.write({**row, "reward": event.result["ep_reward"], "length": event.result["ep_step"], **worker})


class StatsCSV(Listener):
    """results/train_stats.csv: the means of an episode's update statistics, for episodes that learned."""

    def __init__(self, csv: CSVRecorder) -> None:
        self.csv = csv

    def on_episode(self, event: EpisodeEvent) -> None:
        if event.stats:
            self.csv.write({"episode": event.counters.episode, "env_steps": event.counters.env_steps, **event.stats})


class ConsoleLog(Listener):
    """One log line every ``every`` episodes: return, length, update statistics, speed."""

    def __init__(self, logger: Logger, mode: str, every: int, max_episode: int) -> None:
        self.logger = logger
        self.mode = mode
        self.every = every
        self.total = f"/{max_episode}" if max_episode > 0 else ""

    def on_episode(self, event: EpisodeEvent) -> None:
        counters = event.counters
        if counters.episode % self.every:
            return
        extra = "".join(f" | {key} {value:.4g}" for key, value in event.stats.items())
        self.logger.info(
            f"{self.mode:<6} | episode {counters.episode}{self.total} | step {counters.env_steps:,} | "
            f"return {event.result['ep_reward']:.2f} | length {int(event.result['ep_step'])}{extra} | "
            f"{counters.env_steps / max(counters.seconds, 1e-9):,.0f} steps/s"
        )


class Progress(Listener):
    """A progress bar over env steps (when the budget counts them) or episodes; silent off a terminal."""

    def __init__(self, counters: Counters, max_episode: int, max_env_steps: int) -> None:
        self.by_steps = max_env_steps > 0
        if self.by_steps:
            self.bar = progress_bar(max_env_steps, "step", counters.env_steps)
        else:
            self.bar = progress_bar(max_episode, "episode", counters.episode)

    def on_episode(self, event: EpisodeEvent) -> None:
        self.bar.update(event.steps_taken if self.by_steps else 1)

    def close(self) -> None:
        self.bar.close()


def finish_media(
    frames: FrameRecorder | None, trajectories: TrajectoryWriter | None, folder: Path, cfg: Any, env: gym.Env, logger: Logger
) -> None:
    """Write the GIF of the recorded frames and the pending trajectories."""
    if frames is not None:
        fps = cfg.render_fps or env.metadata.get("render_fps") or 30
        gif = save_gif(frames.frames, folder / "videos" / "video.gif", fps)
        if gif:
            logger.info(f"GIF of {cfg.render_episodes} episode(s): {gif}")
    if trajectories is not None:
        trajectories.flush()
        logger.info(
            f"{trajectories.trajectories_written} trajectories in {trajectories.files_written} file(s) under {folder / 'traj'}"
        )


def plot_run(folder: Path, cfg: Any, agent: Any, env: gym.Env, training: bool, logger: Logger) -> None:
    """The learning curves (train) or the returns (play); for a tabular agent on a grid env also V and its policy."""
    if not cfg.save_fig:
        return
    title = f"{cfg.algo_name} on {cfg.id} ({cfg.mode}, seed {cfg.seed})"
    results = folder / "results"
    if training:
        figures = [plot_training(results, title, cfg.show_fig), plot_update_stats(results, title, cfg.show_fig)]
    else:
        figures = [plot_episodes(results, title, cfg.show_fig)]
    if training or cfg.mode == "render":  # beside the GIF
        figures.append(save_policy_figure(agent, env, folder / "videos" / "policy.png", title))
    for figure in filter(None, figures):
        logger.info(f"figure: {figure}")
