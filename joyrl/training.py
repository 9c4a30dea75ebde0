"""Train mode: the episode loop with its listeners, started fresh, continued or fine-tuned, and every way it ends.

However training ends (the budget spent, stop_at_eval, Ctrl-C or SIGTERM, NaN, too many env
failures, a full disk, a bug in the algorithm's code), last.pt (unless it would hold NaN), the CSVs,
the GIF, the trajectories and the figures are written; an abnormal end logs the command that resumes.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import gymnasium as gym

from joyrl.checkpoints import PeriodicCheckpoints, RunCheckpoints
from joyrl.counters import Counters
from joyrl.envs import EVAL_SEED_OFFSET, EnvFailure, make_env
from joyrl.episodes import Budget, EnvFailures, EpisodeLoop, FiniteStats, Listener, NonFinite
from joyrl.errors import JoyRLError
from joyrl.evaluation import OnlineEvaluation, eval_columns, evaluate
from joyrl.interrupts import Interrupted, StopRequests, signal_handlers
from joyrl.logs import CSVRecorder
from joyrl.recorders import ConsoleLog, EpisodeCSV, InfoValues, Progress, StatsCSV, plot_run, res_columns
from joyrl.resume import continue_run, copy_earlier_results
from joyrl.tensorboard import TensorBoardScalars

if TYPE_CHECKING:
    from joyrl.runner import Run


def describe_write_error(error: OSError) -> str:
    where = f"cannot write {error.filename}" if error.filename else "a write failed"
    return f"{where}: {error.strerror or error} (disk full or folder not writable?)"


class Loop(Protocol):
    """What training runs: the episode loop, or offline training's update loop (joyrl/offline.py)."""

    stop_requested: bool

    def run(self) -> None: ...


class Training:
    """One training session of a prepared run (joyrl/runner.py): its eval env, CSVs, checkpoints and loop."""

    def __init__(self, run: Run) -> None:
        self.run = run
        cfg = self.cfg = run.cfg
        self.logger = run.logger
        self.env = run.wrap_outputs(run.env)
        seed = None if run.seed is None else run.seed + EVAL_SEED_OFFSET
        self.eval_env = make_env(cfg, seed) if cfg.online_eval else None
        results = run.folder / "results"
        self.info = InfoValues(cfg.info_keys, self.logger)
        every = cfg.results_flush_seconds
        self.res_csv = CSVRecorder(results / "res.csv", res_columns(cfg.info_keys, ray=cfg.mp_backend == "ray"), every)
        self.eval_csv = CSVRecorder(results / "eval.csv", eval_columns(cfg.info_keys), every)
        self.stats_csv = CSVRecorder(results / "train_stats.csv", flush_seconds=every)
        self.checkpoints = RunCheckpoints(run.folder, cfg, run.agent, run.trainer, run.counters, run.env, self.eval_env)
        self.checkpoints.before_save = self.flush_results  # a resumed run copies the rows up to its checkpoint
        self.progress: Progress | None = None
        self.failures = EnvFailures(cfg.max_env_failures, self.logger)
        self.tensorboard: TensorBoardScalars | None = None  # general_cfg.tensorboard: the CSVs' rows also go to tb/

    def run_all(self) -> int:
        """Train until the budget is spent or something stops it; returns the exit code."""
        run, counters = self.run, self.run.counters
        if self.cfg.tensorboard:
            self.tensorboard = TensorBoardScalars(run.folder / "tb")
            for prefix, recorder in (("train", self.res_csv), ("eval", self.eval_csv), ("stats", self.stats_csv)):
                recorder.mirror = self.tensorboard.mirror(prefix)
        if run.checkpoint is not None:
            self.start_from_checkpoint()
        counters.start_clock()
        exit_code = self.run_loop(self.build_loop())
        self.logger.info(self.finished_line(counters))
        if exit_code:
            folder = run.folder
            self.logger.info(
                f"resume with: python main.py --yaml {shlex.quote(str(folder / 'config.yaml'))} "
                f"general_cfg.load_checkpoint=true --load {shlex.quote(str(folder))}"
            )
        if self.eval_env is not None:
            self.eval_env.close()
        return exit_code

    def finished_line(self, counters: Counters) -> str:
        best = f"; best eval {counters.best_eval:.2f}" if self.eval_env is not None else ""
        return f"finished: {counters.episode} episodes, {counters.env_steps:,} env steps in {counters.seconds:.1f} s{best}"

    def start_from_checkpoint(self) -> None:
        """Fine-tune (the weights are in the agent already) or continue the loaded run exactly."""
        run = self.run
        assert run.checkpoint is not None
        if self.cfg.finetune:
            weights = ", ".join(run.agent.weights)
            self.logger.info(f"fine-tuning from {run.checkpoint_path}: its {weights}; a fresh optimiser, schedules and counters")
            return
        continue_run(
            run.checkpoint, run.checkpoint_path, run.agent, run.trainer, run.counters, self.env, self.eval_env, self.logger
        )
        counters = run.counters
        offline = self.cfg.dataset is not None
        position = ("updates", counters.updates) if offline else ("episode", counters.episode)
        copied = copy_earlier_results(run.checkpoint_path, [self.res_csv, self.eval_csv, self.stats_csv], *position)
        memory = " with its replay memory" if "memory" in run.checkpoint else ""
        where = f"update {counters.updates:,}" if offline else f"episode {counters.episode}, env step {counters.env_steps:,}"
        self.logger.info(f"continuing from {run.checkpoint_path} at {where}{memory}; {copied}")

    def build_loop(self) -> EpisodeLoop:
        """The loop and its listeners, in the order they record each episode."""
        cfg, run = self.cfg, self.run
        self.progress = Progress(run.counters, cfg.max_episode, cfg.max_env_steps)
        log = ConsoleLog(self.logger, cfg.mode, cfg.log_per_episode, cfg.max_episode, self.info)
        res = EpisodeCSV(self.res_csv, self.info)
        listeners: list[Listener] = [res, FiniteStats(), StatsCSV(self.stats_csv), self.progress, log]
        evaluation = self.online_evaluation()
        if evaluation is not None:
            listeners.append(evaluation)
            evaluation.observers = list(run.extra_listeners)
        listeners.append(PeriodicCheckpoints(self.checkpoints, cfg.model_save_fre, cfg.model_save_seconds))
        listeners += run.extra_listeners
        budget = Budget(cfg.max_episode, cfg.max_env_steps)
        return EpisodeLoop(self.training_episode(), "training", run.counters, budget, self.failures, listeners)

    def online_evaluation(self, by_updates: bool = False) -> OnlineEvaluation | None:
        """Greedy evaluations on the eval env, saving best.pt; None without online_eval."""
        if self.eval_env is None:
            return None
        cfg, run = self.cfg, self.run

        def play(env: gym.Env) -> dict[str, float]:
            return evaluate(env, run.agent, run.trainer, cfg, cfg.online_eval_episode, self.info)

        save_best = lambda: self.checkpoints.save("best")  # noqa: E731
        return OnlineEvaluation(self.eval_env, play, cfg, self.eval_csv, save_best, self.failures, self.logger, by_updates)

    def training_episode(self) -> Callable[[], dict[str, Any] | None]:
        run = self.run

        def play_one() -> dict[str, Any] | None:
            try:
                return run.trainer.train_one_episode(self.env, run.agent, self.cfg)
            except EnvFailure:
                run.agent.end_episode()  # the episode is dropped: per-episode state must not leak into the next
                raise

        return play_one

    def run_loop(self, loop: Loop) -> int:
        """The loop under the stop-request handler; every way it can end, and the outputs written after."""

        def stop() -> None:
            loop.stop_requested = self.run.trainer.stop_requested = True

        stops = StopRequests(stop, self.logger)
        exit_code, save_last = 0, True
        with signal_handlers(stops):
            try:
                loop.run()
            except Interrupted as stop_now:  # a second signal: stop at once
                stops.signum = stop_now.exit_code - 128
            except NonFinite as error:
                exit_code, save_last = 1, False
                self.logger.error(f"stopped: {error}; models/ keeps the checkpoints saved before it (best.pt, episode_<N>.pt)")
            except JoyRLError as error:  # env failures in a row, or a problem the user can fix
                exit_code = 1
                self.logger.error(f"stopped: {error}")
            except OSError as error:
                exit_code = 1
                self.logger.error(f"stopped: {describe_write_error(error)}; the results written so far are in {self.run.folder}")
            except Exception as error:  # noqa: BLE001  (a bug in the algorithm's code: logged in full, the work kept)
                exit_code = 1
                self.logger.error(f"stopped: the algorithm raised {type(error).__name__}: {error}", exc_info=True)
            finally:
                stops.closing = True
                exit_code = 128 + stops.signum if stops.signum else exit_code
                self.close(save_last, stops.signum)
        return exit_code

    def close(self, save_last: bool, signum: int) -> None:
        """Save last.pt, close the CSVs, write the GIF, trajectories and plots; a failed write is logged, not raised."""
        run, counters = self.run, self.run.counters
        self.close_progress()
        if signum:
            self.logger.info(
                f"interrupted at episode {counters.episode}, step {counters.env_steps:,}: saving the last checkpoint and the results"
            )
        if save_last:
            self.write_safely("models/last.pt", lambda: self.checkpoints.save("last", final=True))
        for recorder in (self.res_csv, self.eval_csv, self.stats_csv):
            self.write_safely(str(recorder.path), recorder.close)
        if self.tensorboard is not None:
            self.write_safely("tb/", self.tensorboard.close)
        self.write_safely("the GIF or trajectories", run.finish_media)
        self.write_safely("the figures", self.plot)

    def flush_results(self) -> None:
        """Write the CSV rows still pending."""
        for recorder in (self.res_csv, self.eval_csv, self.stats_csv):
            recorder.flush()

    def close_progress(self) -> None:
        if self.progress is not None:
            self.progress.close()

    def plot(self) -> None:
        run = self.run
        plot_run(run.folder, self.cfg, run.agent, run.env, True, self.logger)

    def write_safely(self, what: str, write: Callable[[], Any]) -> None:
        """Run one of the closing writes; a full or unwritable disk is logged, never raised."""
        try:
            write()
        except OSError as error:
            self.logger.error(f"could not write {what}: {describe_write_error(error)}")
        except NonFinite as error:
            self.logger.error(f"{what} not written: {error}")
