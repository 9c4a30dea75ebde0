"""One run: set up from a resolved config, then train, test, render or collect.

Everything that can be wrong with the user's input is checked in ``Run.prepare``,
before the run folder exists, so a bad run leaves nothing behind.
"""

from __future__ import annotations

import importlib
import math
import shlex
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from joyrl import paths
from joyrl.checkpoints import CHECKPOINT_SUFFIX, first_non_finite, load_checkpoint, resolve_load_path, save_checkpoint
from joyrl.config import Config, to_yaml
from joyrl.envs import (
    EVAL_SEED_OFFSET,
    EnvFailure,
    check_spaces,
    env_info,
    make_env,
    reset_rng_state,
    set_reset_rng_state,
    set_space_rng_states,
    space_rng_states,
)
from joyrl.errors import JoyRLError
from joyrl.logs import CSVRecorder, close_logger, get_logger, progress_bar, read_csv_rows
from joyrl.loops import end_episode, evaluate
from joyrl.media import FrameRecorder, save_gif
from joyrl.plots import plot_episodes, plot_training, plot_update_stats
from joyrl.runtime import resolve_device, rng_states, seed_everything, set_rng_states, set_torch_threads
from joyrl.tabular_figures import save_policy_figure
from joyrl.trajectories import TrajectoryCollector, TrajectoryWriter

RES_COLUMNS = ["episode", "env_steps", "reward", "length", "seconds"]
EVAL_COLUMNS = ["episode", "env_steps", "eval_mean", "eval_std", "eval_min", "eval_max", "seconds"]


class Interrupted(BaseException):
    """Raised in the main loop on SIGINT (Ctrl-C) or SIGTERM; the run saves and exits."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


class EnvFailuresExhausted(JoyRLError):
    """The env failed ``max_env_failures`` times in a row: the run stops with everything saved."""


class NonFinite(JoyRLError):
    """A loss, statistic or parameter became NaN or inf: training stops, keeping the good checkpoints."""


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(signum)


def _describe_write_error(error: OSError) -> str:
    where = f"cannot write {error.filename}" if error.filename else "a write failed"
    return f"{where}: {error.strerror or error} (disk full or folder not writable?)"


class Run:
    """Holds what one run needs: config, env, agent, trainer, folder, logger, recorders."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.checkpoint: dict | None = None
        self.folder: Path | None = None
        self.stop_signal = 0  # the signal that asked training to stop, once one has
        self.closing = False  # training has ended and the run is writing its outputs
        self.reached_stop_eval = False  # an online evaluation reached stop_at_eval

    # ------------------------------------------------------------------ set-up

    def prepare(self) -> None:
        """Build everything and check every input; creates no file."""
        cfg = self.cfg
        cfg.device = resolve_device(cfg.device)
        set_torch_threads(cfg.torch_threads)
        seed_everything(cfg.seed)
        self.seed = cfg.seed if cfg.seed > 0 else None
        self.render_mode = "rgb_array" if cfg.mode == "render" else cfg.render_mode
        self.env = make_env(cfg, self.seed, self.render_mode)
        for key, value in env_info(self.env).items():
            setattr(cfg, key, value)

        agent_module = importlib.import_module(f"algos.{cfg.algo_name}.agent")
        trainer_module = importlib.import_module(f"algos.{cfg.algo_name}.trainer")
        check_spaces(agent_module.Agent, self.env, cfg.algo_name, cfg.id)

        if cfg.mode != "train" or cfg.load_checkpoint:
            prefer = ("last", "best") if cfg.mode == "train" else ("best", "last")
            self.checkpoint_path = resolve_load_path(cfg.load_path, prefer, self._tasks_dir())
            self.checkpoint = load_checkpoint(self.checkpoint_path, cfg.algo_name)

        self.agent = agent_module.Agent(cfg)
        self.trainer = trainer_module.Trainer()
        if self.checkpoint is not None:
            try:
                self.agent.load_state_dict(self.checkpoint["agent"])
            except (RuntimeError, KeyError, ValueError, TypeError) as error:
                lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()] or [type(error).__name__]
                first_line = next((line for line in lines if "size mismatch" in line or " key" in line), lines[0])[:200]
                raise JoyRLError(
                    f"checkpoint {self.checkpoint_path} does not fit this {cfg.algo_name} config "
                    f"(network sizes or env differ?): {first_line}"
                ) from None

    def _tasks_dir(self) -> Path:
        tasks_dir = Path(self.cfg.tasks_dir).expanduser()
        return tasks_dir if tasks_dir.is_absolute() else paths.ROOT / tasks_dir

    def create_folder(self) -> Path:
        """``tasks/<Mode>_<EnvId>_<Algo>_<YYYYMMDD-HHMMSS>/`` with config.yaml and the log."""
        cfg = self.cfg
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = f"{cfg.mode.capitalize()}_{cfg.id.replace('/', '-')}_{cfg.algo_name}_{stamp}"
        base = self._tasks_dir()
        folder, suffix = base / name, 1
        while folder.exists():  # two runs started in the same second
            suffix += 1
            folder = base / f"{name}_{suffix}"
        try:
            for sub in ("logs", "results", *(("models",) if cfg.mode == "train" else ())):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            (folder / "config.yaml").write_text(to_yaml(cfg), encoding="utf-8")
        except OSError as error:
            raise JoyRLError(
                f"cannot write the run folder under {base}: {error.strerror}; set general_cfg.tasks_dir to a writable folder"
            ) from None
        self.folder = folder
        self.logger = get_logger(folder / "logs" / "log.txt")
        return folder

    # ------------------------------------------------------------------ modes

    def execute(self) -> int:
        """Run the configured mode; returns the process exit code."""
        cfg = self.cfg
        self.logger.info(
            f"{cfg.mode} {cfg.algo_name} on {cfg.id} | seed {cfg.seed} | device {cfg.device} | run folder {self.folder}"
        )
        if getattr(self.env.spec, "max_episode_steps", None) is None and cfg.max_step <= 0:
            self.logger.warning(
                f"{cfg.id} has no time limit and max_step is -1: an episode of a policy that never reaches a terminal "
                "state (a greedy one walking into a wall, say) never ends; set general_cfg.max_step"
            )
        previous = signal.signal(signal.SIGTERM, _raise_interrupted)
        try:
            if cfg.mode == "train":
                return self.train()
            return self.play()
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.env.close()
            close_logger()

    def _wrap_outputs(self, env: gym.Env) -> gym.Env:
        """Add frame recording (rgb_array envs) and trajectory collection to the run's env."""
        cfg = self.cfg
        self.frames = None
        self.trajectories = None
        if self.render_mode == "rgb_array":
            env = self.frames = FrameRecorder(env, cfg.render_episodes)
        if cfg.mode == "collect" or cfg.collect_traj:
            self.trajectories = TrajectoryWriter(self.folder / "traj")
            env = TrajectoryCollector(env, self.trajectories)
        return env

    def _finish_outputs(self) -> None:
        if self.frames is not None:
            fps = self.cfg.render_fps or self.env.metadata.get("render_fps") or 30
            gif = save_gif(self.frames.frames, self.folder / "videos" / "video.gif", fps)
            if gif:
                self.logger.info(f"GIF of {self.cfg.render_episodes} episode(s): {gif}")
        if self.trajectories is not None:
            self.trajectories.flush()
            self.logger.info(
                f"{self.trajectories.trajectories_written} trajectories in {self.trajectories.files_written} file(s) under {self.folder / 'traj'}"
            )

    def _budget_left(self, episode: int, env_steps: int) -> bool:
        cfg = self.cfg
        if cfg.max_episode > 0 and episode >= cfg.max_episode:
            return False
        return not (cfg.max_env_steps > 0 and env_steps >= cfg.max_env_steps)

    def _progress(self, episode: int, env_steps: int):
        if self.cfg.max_env_steps > 0:
            return progress_bar(self.cfg.max_env_steps, "step", env_steps)
        return progress_bar(self.cfg.max_episode, "episode", episode)

    def train(self) -> int:
        cfg = self.cfg
        env = self._wrap_outputs(self.env)
        self.eval_env = make_env(cfg, None if self.seed is None else self.seed + EVAL_SEED_OFFSET) if cfg.online_eval else None
        results = self.folder / "results"
        self.res_csv = CSVRecorder(results / "res.csv", RES_COLUMNS)
        self.eval_csv = CSVRecorder(results / "eval.csv", EVAL_COLUMNS)
        self.stats_csv = CSVRecorder(results / "train_stats.csv")
        self.episode, self.env_steps, self.best_eval, seconds_before = 0, 0, -np.inf, 0.0
        if self.checkpoint:
            seconds_before = self._continue_from_checkpoint(env)
        self.start = time.perf_counter() - seconds_before
        self.env_failures = 0  # in a row
        exit_code, save_last = 0, True
        self.bar = self._progress(self.episode, self.env_steps)
        previous_handlers = {signum: signal.signal(signum, self._request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._train_episodes(env)
        except Interrupted as stop:  # a second signal: stop at once
            self.stop_signal = stop.exit_code - 128
        except NonFinite as error:
            exit_code, save_last = 1, False
            self.logger.error(f"stopped: {error}; models/ keeps the checkpoints saved before it (best.pt, episode_<N>.pt)")
        except EnvFailuresExhausted as error:
            exit_code = 1
            self.logger.error(f"stopped: {error}")
        except OSError as error:
            exit_code = 1
            self.logger.error(f"stopped: {_describe_write_error(error)}; the results written so far are in {self.folder}")
        finally:
            self.closing = True
            if self.stop_signal:
                exit_code = 128 + self.stop_signal
            self._close_training(save_last)
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
        best = f"; best eval {self.best_eval:.2f}" if self.eval_env is not None else ""
        self.logger.info(
            f"finished: {self.episode} episodes, {self.env_steps:,} env steps in {time.perf_counter() - self.start:.1f} s{best}"
        )
        if exit_code:
            self.logger.info(
                f"resume with: python main.py --yaml {shlex.quote(str(self.folder / 'config.yaml'))} "
                f"general_cfg.load_checkpoint=true --load {shlex.quote(str(self.folder))}"
            )
        return exit_code

    def _train_episodes(self, env: gym.Env) -> None:
        """Episodes until the budget is spent or a stop is requested, with evaluations and periodic checkpoints."""
        cfg, last_eval_episode = self.cfg, None
        while self._budget_left(self.episode, self.env_steps) and not self.stop_signal and not self.reached_stop_eval:
            try:
                result = self.trainer.train_one_episode(env, self.agent, cfg)
            except EnvFailure as failure:
                end_episode(self.agent)
                self._env_failed("training", failure)
                continue
            if result is None:  # stopped part-way through; last.pt keeps the episode
                return
            self.env_failures = 0
            self.episode += 1
            steps_before = self.env_steps
            # a vector-env trainer tells the steps all its envs took ("env_steps"), unfinished episodes included
            self.env_steps = int(result.get("env_steps", self.env_steps + int(result["ep_step"])))
            seconds = time.perf_counter() - self.start
            self.res_csv.write(self._res_row(result, seconds))
            stats = {key: value for key, value in result.items() if key not in ("ep_reward", "ep_step", "env_steps")}
            self._check_finite(stats)
            if stats:
                self.stats_csv.write({"episode": self.episode, "env_steps": self.env_steps, **stats})
            self.bar.update(self.env_steps - steps_before if cfg.max_env_steps > 0 else 1)
            if self.episode % cfg.log_per_episode == 0:
                self._log_episode(result, stats, seconds)
            if self.eval_env is not None and self.episode % cfg.eval_per_episode == 0:
                self._evaluate()
                last_eval_episode = self.episode
            if self.episode % cfg.model_save_fre == 0:
                self._save(f"episode_{self.episode}")
                self._prune_periodic_checkpoints()
        if self.eval_env is not None and last_eval_episode != self.episode and not self.stop_signal:
            self._evaluate()

    def _close_training(self, save_last: bool) -> None:
        """Save last.pt, close the CSVs, write the GIF, trajectories and plots; a failed write is logged, not raised."""
        self.bar.close()
        if self.stop_signal:
            self.logger.info(
                f"interrupted at episode {self.episode}, step {self.env_steps:,}: saving the last checkpoint and the results"
            )
        if save_last:
            self._write_safely("models/last.pt", lambda: self._save("last", final=True))
        for recorder in (self.res_csv, self.eval_csv, self.stats_csv):
            self._write_safely(str(recorder.path), recorder.close)
        if self.eval_env is not None:
            self.eval_env.close()
        self._write_safely("the GIF or trajectories", self._finish_outputs)
        self._write_safely("the figures", lambda: self._plot(training=True))

    def _request_stop(self, signum: int, _frame: Any) -> None:
        """First Ctrl-C or SIGTERM: stop after the current step. A second one: stop at once."""
        if self.closing:
            self.logger.info("saving the checkpoint and results; a moment")
            return
        if self.stop_signal:
            raise Interrupted(signum)
        self.stop_signal = signum
        self.trainer.stop_requested = True
        self.logger.info(f"{signal.Signals(signum).name}: stopping after this step (send it again to stop at once)")

    def _env_failed(self, role: str, failure: EnvFailure) -> None:
        """Log a dropped episode; the env rebuilds itself at its next reset. Too many in a row end the run."""
        self.env_failures += 1
        self.logger.warning(
            f"{role} env failed ({self.env_failures}/{self.cfg.max_env_failures} in a row) after episode {self.episode}, "
            f"step {self.env_steps:,}: {failure}; {'evaluation skipped' if role == 'evaluation' else 'episode dropped'}, env rebuilt"
        )
        if self.env_failures >= self.cfg.max_env_failures:
            raise EnvFailuresExhausted(
                f"the env failed {self.env_failures} times in a row (max_env_failures); last: {failure}"
            ) from None

    def _write_safely(self, what: str, write: Any) -> None:
        """Run one of the closing writes; a full or unwritable disk is logged, never raised."""
        try:
            write()
        except OSError as error:
            self.logger.error(f"could not write {what}: {_describe_write_error(error)}")
        except NonFinite as error:
            self.logger.error(f"{what} not written: {error}")

    def _continue_from_checkpoint(self, env: gym.Env) -> float:
        """Counters, RNGs, envs, the unfinished episode and the earlier results; returns the seconds trained so far."""
        checkpoint, progress = self.checkpoint, self.checkpoint["progress"]
        self.episode, self.env_steps = progress.get("episode", 0), progress.get("env_steps", 0)
        self.best_eval = progress.get("best_eval", -np.inf)
        memory = getattr(self.agent, "memory", None)
        if "memory" in checkpoint and memory is not None:
            try:
                memory.load_state_dict(checkpoint["memory"])
            except (ValueError, KeyError, RuntimeError) as error:
                raise JoyRLError(
                    f"checkpoint {self.checkpoint_path}: its replay memory does not fit this config ({error})"
                ) from None
        envs = checkpoint.get("envs", {})
        if "train" in envs:
            set_reset_rng_state(env, envs["train"])
            set_space_rng_states(env, envs["train_spaces"])
        if "eval" in envs and self.eval_env is not None:
            set_reset_rng_state(self.eval_env, envs["eval"])
        resumable = checkpoint.get("trainer") and hasattr(self.trainer, "load_state_dict")
        if resumable and not self.trainer.load_state_dict(checkpoint["trainer"], env):
            self.logger.warning("the env did not repeat the unfinished episode; starting a new one")
        if checkpoint.get("rng"):
            set_rng_states(checkpoint["rng"])
        copied = self._copy_earlier_results()
        self.logger.info(
            f"continuing from {self.checkpoint_path} at episode {self.episode}, env step {self.env_steps:,}"
            f"{' with its replay memory' if 'memory' in checkpoint else ''}; {copied}"
        )
        return float(progress.get("seconds", 0.0))

    def _copy_earlier_results(self) -> str:
        """Start this run's CSVs with the loaded run's rows up to the checkpoint, so the curves continue."""
        earlier = self.checkpoint_path.parent.parent / "results"
        if not (earlier / "res.csv").is_file():
            return "no earlier results beside the checkpoint, so the curves start here"
        for recorder in (self.res_csv, self.eval_csv, self.stats_csv):
            if (earlier / recorder.path.name).is_file():
                for row in read_csv_rows(earlier / recorder.path.name):
                    if int(row.get("episode") or 0) <= self.episode:
                        recorder.write(row)
        return f"the curves continue the results of {earlier.parent.name}"

    def _res_row(self, result: dict, seconds: float) -> dict:
        return {
            "episode": self.episode,
            "env_steps": self.env_steps,
            "reward": result["ep_reward"],
            "length": result["ep_step"],
            "seconds": seconds,
        }

    def _check_finite(self, stats: dict[str, float]) -> None:
        for key, value in stats.items():
            if not math.isfinite(value):
                raise NonFinite(f"train/{key} is {value} at episode {self.episode}, env step {self.env_steps:,}")

    def _save(self, name: str, final: bool = False) -> None:
        """Write a checkpoint; one holding NaN or inf is never written (NonFinite instead).

        Besides the agent: progress, RNG states (global, envs), the trainer's unfinished
        episode and, for ``final`` (last.pt) with ``save_buffer``, the agent's replay memory.
        """
        state = self.agent.state_dict()
        bad = first_non_finite(state)
        if bad:
            raise NonFinite(f"{bad} holds NaN or inf at episode {self.episode}, env step {self.env_steps:,}")
        progress = {
            "episode": self.episode,
            "env_steps": self.env_steps,
            "best_eval": self.best_eval,
            "seconds": time.perf_counter() - self.start,
        }
        extra: dict[str, Any] = {"envs": {"train": reset_rng_state(self.env), "train_spaces": space_rng_states(self.env)}}
        if self.eval_env is not None:
            extra["envs"]["eval"] = reset_rng_state(self.eval_env)
        if hasattr(self.trainer, "state_dict"):
            extra["trainer"] = self.trainer.state_dict()
        memory = getattr(self.agent, "memory", None)
        if final and self.cfg.save_buffer and memory is not None:
            extra["memory"] = memory.state_dict()
        path = self.folder / "models" / f"{name}{CHECKPOINT_SUFFIX}"
        save_checkpoint(path, self.cfg.algo_name, state, progress, rng_states(), extra)

    def _prune_periodic_checkpoints(self) -> None:
        """Keep the newest ``keep_checkpoints`` episode_<N>.pt files, so disk use stays bounded."""
        if self.cfg.keep_checkpoints == 0:
            return
        periodic = sorted(self.folder.glob(f"models/episode_*{CHECKPOINT_SUFFIX}"), key=lambda path: int(path.stem.split("_")[1]))
        for path in periodic[: -self.cfg.keep_checkpoints]:
            path.unlink(missing_ok=True)

    def _evaluate(self) -> None:
        """Greedy episodes on the evaluation env; a new best (or equal) return saves models/best.pt."""
        cfg = self.cfg
        try:
            scores = evaluate(self.eval_env, self.agent, self.trainer, cfg, cfg.online_eval_episode)
        except EnvFailure as failure:
            self._env_failed("evaluation", failure)
            return
        self.eval_csv.write(
            {"episode": self.episode, "env_steps": self.env_steps, **scores, "seconds": time.perf_counter() - self.start}
        )
        note = ""
        if scores["eval_mean"] >= self.best_eval:
            self.best_eval = scores["eval_mean"]
            self._save("best")
            note = " (best so far, saved)"
        self.logger.info(
            f"eval   | episode {self.episode} | step {self.env_steps:,} | return {scores['eval_mean']:.2f} ± {scores['eval_std']:.2f} "
            f"over {cfg.online_eval_episode} episodes{note}"
        )
        if cfg.stop_at_eval is not None and scores["eval_mean"] >= cfg.stop_at_eval:
            self.reached_stop_eval = True
            self.logger.info(f"the evaluation reached stop_at_eval ({cfg.stop_at_eval:g}): training ends here")

    def _log_episode(self, result: dict, stats: dict, seconds: float) -> None:
        total = f"/{self.cfg.max_episode}" if self.cfg.max_episode > 0 else ""
        extra = "".join(f" | {key} {value:.4g}" for key, value in stats.items())
        self.logger.info(
            f"{self.cfg.mode:<6} | episode {self.episode}{total} | step {self.env_steps:,} | return {result['ep_reward']:.2f} | "
            f"length {int(result['ep_step'])}{extra} | {self.env_steps / max(seconds, 1e-9):,.0f} steps/s"
        )

    def play(self) -> int:
        """test, render and collect: the loaded policy, no learning."""
        cfg = self.cfg
        env = self._wrap_outputs(self.env)
        self.logger.info(f"loaded {self.checkpoint_path}")
        res_csv = CSVRecorder(self.folder / "results" / "res.csv", RES_COLUMNS)
        self.start = time.perf_counter()
        self.episode, self.env_steps, returns, exit_code = 0, 0, [], 0
        self.env_failures = 0
        bar = self._progress(0, 0)
        try:
            while self._budget_left(self.episode, self.env_steps):
                try:
                    result = self.trainer.test_one_episode(env, self.agent, cfg)
                except EnvFailure as failure:
                    self._env_failed(cfg.mode, failure)
                    continue
                self.env_failures = 0
                self.episode += 1
                self.env_steps += int(result["ep_step"])
                returns.append(result["ep_reward"])
                seconds = time.perf_counter() - self.start
                res_csv.write(self._res_row(result, seconds))
                bar.update(int(result["ep_step"]) if cfg.max_env_steps > 0 else 1)
                if self.episode % cfg.log_per_episode == 0:
                    self._log_episode(result, {}, seconds)
        except (KeyboardInterrupt, Interrupted) as stop:
            exit_code = stop.exit_code if isinstance(stop, Interrupted) else 130
            self.logger.info(f"interrupted after {self.episode} episodes; keeping what was recorded")
        except EnvFailuresExhausted as error:
            exit_code = 1
            self.logger.error(f"stopped: {error}")
        finally:
            bar.close()
            res_csv.close()
            self._finish_outputs()
            self._plot(training=False)
        if returns:
            self.logger.info(
                f"{cfg.mode}: {self.episode} episodes, return {np.mean(returns):.2f} ± {np.std(returns):.2f} (min {np.min(returns):.2f}, max {np.max(returns):.2f})"
            )
        return exit_code

    def _plot(self, training: bool) -> None:
        if not self.cfg.save_fig:
            return
        title = f"{self.cfg.algo_name} on {self.cfg.id} ({self.cfg.mode}, seed {self.cfg.seed})"
        results = self.folder / "results"
        figures = (
            [plot_training(results, title, self.cfg.show_fig), plot_update_stats(results, title, self.cfg.show_fig)]
            if training
            else [plot_episodes(results, title, self.cfg.show_fig)]
        )
        if training or self.cfg.mode == "render":  # a tabular agent on a grid env: V and the greedy policy, beside the GIF
            figures.append(save_policy_figure(self.agent, self.env, self.folder / "videos" / "policy.png", title))
        for figure in filter(None, figures):
            self.logger.info(f"figure: {figure}")
