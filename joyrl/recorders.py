"""What a run records, as listeners on the episode loop: CSV rows, console lines, the progress bar; and,
when the run ends, the GIF, the trajectories and the figures."""

from __future__ import annotations

from logging import Logger
from pathlib import Path
from typing import Any

import gymnasium as gym

from joyrl.counters import Counters
from joyrl.episodes import INFO_KEY, WORKER_KEY, EpisodeEvent, Listener
from joyrl.logs import CSVRecorder, progress_bar
from joyrl.media import FrameRecorder, save_gif
from joyrl.plots import plot_episodes, plot_info, plot_training, plot_update_stats
from joyrl.tabular_figures import save_policy_figure
from joyrl.trajectories import TrajectoryWriter

RES_COLUMNS = ["episode", "env_steps", "reward", "length", "seconds"]


def res_columns(info_keys: list[str], ray: bool = False) -> list[str]:
    """res.csv's columns: the fixed ones, each of ``info_keys``, and on Ray the worker that played the episode."""
    return [*RES_COLUMNS, *info_keys, *([WORKER_KEY] if ray else [])]


class InfoValues:
    """The entries ``general_cfg.info_keys`` names, read from an episode's last info as numbers.

    A key the info lacks, or whose value is not a number, is left blank and reported once, with
    the keys the info does have.
    """

    def __init__(self, keys: list[str], logger: Logger) -> None:
        self.keys = keys
        self.logger = logger
        self.reported: set[str] = set()

    def of(self, result: dict[str, Any]) -> dict[str, float | None]:
        info = result.get(INFO_KEY, {})
        return {key: self.number(info, key) for key in self.keys}

    def number(self, info: dict[str, Any], key: str) -> float | None:
        if key in info:
            try:
                return float(info[key])
            except (TypeError, ValueError):
                problem = f"is {type(info[key]).__name__}, not a number"
        else:
            problem = f"is not in the info at an episode's end (it has: {', '.join(map(str, info)) or 'nothing'})"
        if key not in self.reported:
            self.reported.add(key)
            self.logger.warning(f"general_cfg.info_keys: {key!r} {problem}; its column stays blank")
        return None


class EpisodeCSV(Listener):
    """results/res.csv: a row per episode (return, length, env steps so far, seconds, the ``info_keys`` values)."""

    def __init__(self, csv: CSVRecorder, info: InfoValues) -> None:
        self.csv = csv
        self.info = info

    def on_episode(self, event: EpisodeEvent) -> None:
        counters, result = event.counters, event.result
        row = {"episode": counters.episode, "env_steps": counters.env_steps, "seconds": counters.seconds}
        worker = {WORKER_KEY: result[WORKER_KEY]} if WORKER_KEY in result else {}
        values = self.info.of(result)
        self.csv.write({**row, "reward": result["ep_reward"], "length": result["ep_step"], **values, **worker})


class StatsCSV(Listener):
    """results/train_stats.csv: the means of an episode's update statistics, for episodes that learned."""

    def __init__(self, csv: CSVRecorder) -> None:
        self.csv = csv

    def on_episode(self, event: EpisodeEvent) -> None:
        if event.stats:
            self.csv.write({"episode": event.counters.episode, "env_steps": event.counters.env_steps, **event.stats})


class ConsoleLog(Listener):
    """One log line every ``every`` episodes: return, length, the ``info_keys`` values, update statistics, speed."""

    def __init__(self, logger: Logger, mode: str, every: int, max_episode: int, info: InfoValues) -> None:
        self.logger = logger
        self.mode = mode
        self.every = every
        self.total = f"/{max_episode}" if max_episode > 0 else ""
        self.info = info

    def on_episode(self, event: EpisodeEvent) -> None:
        counters = event.counters
        if counters.episode % self.every:
            return
        values = {key: value for key, value in self.info.of(event.result).items() if value is not None}
        extra = "".join(f" | {key} {value:.4g}" for key, value in {**values, **event.stats}.items())
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
        figures += [plot_info(results, title, key, cfg.show_fig) for key in cfg.info_keys]
    else:
        figures = [plot_episodes(results, title, cfg.show_fig)]
    if training or cfg.mode == "render":  # beside the GIF
        figures.append(save_policy_figure(agent, env, folder / "videos" / "policy.png", title))
    for figure in filter(None, figures):
        logger.info(f"figure: {figure}")
