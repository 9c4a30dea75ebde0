"""Comparisons: runs or sweeps of different algorithms or settings on one env, in one figure and one table.

``python main.py --compare tasks/Sweep_A tasks/Sweep_B tasks/Train_C ...`` reads each folder's greedy
evaluations (a sweep brings all its seeds, a run one) and writes ``tasks/Compare_<Env>_<stamp>/``:
``compare.png`` (each group's IQM across seeds with its 95% band, the seeds faint), ``compare.csv``
and ``compare.md`` (per group: seeds, the final evaluation's IQM and mean with 95% stratified bootstrap
intervals; then the probability that a run of one group ends above a run of another, with its interval,
for every pair). Folders on different envs, or that are not runs or sweeps, are one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from joyrl import statistics as st
from joyrl.config import read_yaml
from joyrl.envs import env_display_name
from joyrl.errors import ConfigError
from joyrl.logs import CSVRecorder
from joyrl.plots import evaluation_curve, plot_seed_curves

COMPARE_COLUMNS = ["group", "folder", "seeds", "final_iqm", "iqm_low", "iqm_high", "final_mean", "mean_low", "mean_high"]


@dataclass
class Group:
    """One folder given to --compare: its runs (a sweep's seeds, or one run), env and label."""

    folder: Path
    runs: list[Path]
    env_id: str
    label: str

    def curves(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [curve for run in self.runs if (curve := evaluation_curve(run / "results")) is not None]

    def finals(self) -> np.ndarray:
        return np.array([y[-1] for _, y in self.curves()])


def find_folder(text: str, tasks_dir: Path) -> Path:
    """``text`` as a path, else under ``tasks_dir``; one line when neither exists."""
    for candidate in (Path(text).expanduser(), tasks_dir / text):
        if candidate.is_dir():
            return candidate.resolve()
    raise ConfigError(f"--compare {text}: no such folder (looked as given and under {tasks_dir})")


def load_group(text: str, tasks_dir: Path) -> Group:
    """A sweep folder (summary.csv, seed_N/ run folders) or a training run folder (config.yaml, results/eval.csv)."""
    folder = find_folder(text, tasks_dir)
    if (folder / "summary.csv").is_file():
        runs = [sorted(seed.glob("Train_*"))[-1] for seed in sorted(folder.glob("seed_*")) if list(seed.glob("Train_*"))]
    elif (folder / "config.yaml").is_file() and (folder / "results").is_dir():
        runs = [folder]
    else:
        raise ConfigError(
            f"--compare {text}: not a training run (config.yaml and results/) or a sweep (summary.csv); "
            "give folders made by python main.py or by --seeds"
        )
    config = read_yaml(runs[0] / "config.yaml") if runs else {}
    if not runs or not (runs[0] / "results" / "eval.csv").is_file():
        raise ConfigError(f"--compare {text}: it has no evaluations (results/eval.csv); train with online_eval: true")
    env_id = str(config.get("env_cfg", {}).get("id", "?"))
    return Group(folder, runs, env_id, str(config.get("general_cfg", {}).get("algo_name", folder.name)))


def compare(texts: list[str], tasks_dir: Path) -> Path:
    """The comparison folder of ``texts`` (at least two runs or sweeps on one env); returns its path."""
    if len(texts) < 2:
        raise ConfigError("--compare needs at least two runs or sweeps, e.g. --compare tasks/Sweep_A tasks/Sweep_B")
    groups = [load_group(text, tasks_dir) for text in texts]
    for group in groups[1:]:
        if group.env_id != groups[0].env_id:
            raise ConfigError(
                f"--compare: {groups[0].folder.name} is on {groups[0].env_id} but {group.folder.name} on {group.env_id}; "
                "compare runs on the same env"
            )
    labels = [group.label for group in groups]
    for group in groups:
        if labels.count(group.label) > 1:  # the same algorithm with other settings: the folder tells them apart
            group.label = f"{group.label} ({group.folder.name})"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = tasks_dir / f"Compare_{env_display_name(groups[0].env_id)}_{stamp}"
    suffix = 1
    while out.exists():
        suffix += 1
        out = tasks_dir / f"Compare_{env_display_name(groups[0].env_id)}_{stamp}_{suffix}"
    out.mkdir(parents=True)
    title = f"{groups[0].env_id}: " + " vs ".join(group.label for group in groups)
    plot_seed_curves({group.label: group.curves() for group in groups}, title, None, out / "compare.png")
    write_tables(groups, out)
    return out


def write_tables(groups: list[Group], out: Path) -> None:
    """compare.csv (a row per group) and compare.md (that table and the probabilities of improvement)."""
    lines = [f"# {groups[0].env_id}: final greedy evaluation", "", *group_table(groups, out / "compare.csv"), ""]
    lines += improvement_table(groups)
    (out / "compare.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def group_table(groups: list[Group], csv_path: Path) -> list[str]:
    """Each group's final IQM and mean with 95% intervals: written to ``csv_path``, returned as Markdown rows."""
    table = CSVRecorder(csv_path, COMPARE_COLUMNS)
    lines = ["| group | seeds | IQM [95% CI] | mean [95% CI] |", "|---|---|---|---|"]
    for group in groups:
        finals = group.finals()
        iqm_ci, mean_ci = st.bootstrap_ci(st.iqm, finals), st.bootstrap_ci(st.mean, finals)
        iqm, mean = st.iqm(finals), st.mean(finals)
        table.write(
            {"group": group.label, "folder": str(group.folder), "seeds": finals.size, "final_iqm": iqm}
            | {"iqm_low": iqm_ci[0], "iqm_high": iqm_ci[1], "final_mean": mean, "mean_low": mean_ci[0], "mean_high": mean_ci[1]}
        )
        lines.append(
            f"| {group.label} | {finals.size} | {iqm:.2f} [{iqm_ci[0]:.2f}, {iqm_ci[1]:.2f}] "
            f"| {mean:.2f} [{mean_ci[0]:.2f}, {mean_ci[1]:.2f}] |"
        )
    table.close()
    return lines


def improvement_table(groups: list[Group]) -> list[str]:
    """P(row > column) for every pair of groups, with its 95% bootstrap interval, as Markdown."""
    lines = [
        "P(row > column): the probability that a run of the row's group ends above one of the column's (ties count half), "
        "with its 95% bootstrap interval.",
        "",
        "| | " + " | ".join(group.label for group in groups) + " |",
        "|---|" + "---|" * len(groups),
    ]
    for row in groups:
        cells = []
        for column in groups:
            if column is row:
                cells.append("–")
                continue
            x, y = row.finals(), column.finals()
            low, high = st.bootstrap_ci(st.probability_of_improvement, x, y)
            cells.append(f"{st.probability_of_improvement(x, y):.2f} [{low:.2f}, {high:.2f}]")
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return lines
