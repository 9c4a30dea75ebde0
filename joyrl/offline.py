"""Offline training: train mode with ``general_cfg.dataset``; the agent learns from the dataset alone.

The run fills the agent's memory from the dataset (joyrl/datasets.py) before this starts; here the
agent's ``update()`` is called until ``max_updates`` updates have learned, with no env step taken for
learning. Every ``eval_per_updates`` updates: the means of the update statistics go to
train_stats.csv and the log, the greedy policy is evaluated on an env of its own (eval.csv, against
updates; ``best.pt``), with the NaN check before anything is written. Ctrl-C, SIGTERM, resume
(``load_checkpoint``: the counters continue; the memory is filled from the dataset again), the
closing writes and the exit codes are train mode's (joyrl/training.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from joyrl.counters import Counters, add_update_stats
from joyrl.episodes import EpisodeEvent, FiniteStats
from joyrl.errors import JoyRLError
from joyrl.evaluation import eval_columns
from joyrl.logs import CSVRecorder, progress_bar
from joyrl.plots import plot_offline, plot_update_stats
from joyrl.training import Training

if TYPE_CHECKING:
    from joyrl.evaluation import OnlineEvaluation
    from joyrl.runner import Run

IDLE_CALLS = 1_000  # update() calls in a row that learn nothing before the run says why and stops


class UpdateLoop:
    """Calls ``agent.update()`` until ``max_updates`` of them learned, a stop is asked, or stop_at_eval is reached."""

    def __init__(self, training: OfflineTraining, evaluation: OnlineEvaluation | None) -> None:
        self.training = training
        self.evaluation = evaluation
        self.stop_requested = False

    def run(self) -> None:
        cfg, agent, counters = self.training.cfg, self.training.run.agent, self.training.run.counters
        sums: dict[str, float] = {}
        learned = idle = 0
        while counters.updates < cfg.max_updates and not self.stop_requested and not self.reached_target():
            if not add_update_stats(sums, agent.update()):
                idle += 1
                if idle >= IDLE_CALLS:
                    raise JoyRLError(
                        f"{cfg.algo_name}'s update() learned nothing in {IDLE_CALLS} calls: is the dataset smaller than "
                        "batch_size or learning_starts?"
                    )
                continue
            idle = 0
            learned += 1
            counters.updates += 1
            counters.weight_version += 1
            if counters.updates % cfg.eval_per_updates == 0 or counters.updates == cfg.max_updates:
                self.training.report({key: total / learned for key, total in sums.items()}, learned)
                sums, learned = {}, 0

    def reached_target(self) -> bool:
        return self.evaluation is not None and self.evaluation.wants_stop


class OfflineTraining(Training):
    """Train mode on a dataset: Training's run folder, checkpoints, signals and closing, with an update loop."""

    def __init__(self, run: Run, data_return: float) -> None:
        super().__init__(run)
        self.data_return = data_return  # the dataset's mean episode return, drawn beside the evaluations
        self.eval_csv = CSVRecorder(
            run.folder / "results" / "eval.csv", eval_columns(run.cfg.info_keys, offline=True), run.cfg.results_flush_seconds
        )
        self.evaluation: OnlineEvaluation | None = None
        self.finite = FiniteStats()

    def build_loop(self) -> Any:
        cfg, counters = self.cfg, self.run.counters
        self.bar = progress_bar(cfg.max_updates, "update", counters.updates)
        self.evaluation = self.online_evaluation(by_updates=True)
        return UpdateLoop(self, self.evaluation)

    def report(self, stats: dict[str, float], learned: int) -> None:
        """The end of an interval of updates: NaN check, train_stats.csv, the log line, the evaluation, the bar."""
        counters = self.run.counters
        self.finite.on_episode(EpisodeEvent({}, stats, counters, 0))
        self.stats_csv.write({"updates": counters.updates, **stats})
        extra = "".join(f" | {key} {value:.4g}" for key, value in stats.items())
        self.logger.info(
            f"train  | update {counters.updates:,}/{self.cfg.max_updates:,}{extra} | {counters.updates / max(counters.seconds, 1e-9):,.0f} updates/s"
        )
        if self.evaluation is not None:
            self.evaluation.evaluate(counters)
        self.bar.update(learned)

    def finished_line(self, counters: Counters) -> str:
        best = f"; best eval {counters.best_eval:.2f}" if self.eval_env is not None else ""
        return f"finished: {counters.updates:,} updates from the dataset in {counters.seconds:.1f} s{best}"

    def close_progress(self) -> None:
        self.bar.close()

    def plot(self) -> None:
        run, results = self.run, self.run.folder / "results"
        if not self.cfg.save_fig:
            return
        title = f"{self.cfg.algo_name} on {self.cfg.id} (offline, seed {self.cfg.seed})"
        for figure in (
            plot_offline(results, title, self.data_return, self.cfg.show_fig),
            plot_update_stats(results, title, self.cfg.show_fig, x="updates"),
        ):
            if figure is not None:
                run.logger.info(f"figure: {figure}")
