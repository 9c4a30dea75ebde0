"""Minari, the Farama standard for offline datasets (optional: ``pip install -r requirements-minari.txt``).

Export JoyRL trajectories to a local Minari dataset, and read local Minari datasets as JoyRL ones
(``general_cfg.dataset: minari:<dataset_id>``). Datasets live under ``$MINARI_DATASETS_PATH``
(default ``~/.minari/datasets``); nothing is downloaded. A Minari episode holds T + 1
observations and T actions: the next observation of step t is observation t + 1.

    python -m joyrl.minari_io export tasks/datasets/CartPole-v1_expert joyrl/cartpole/expert-v0
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np

from joyrl import paths
from joyrl.errors import JoyRLError

PREFIX = "minari:"  # general_cfg.dataset entries naming a local Minari dataset


def _minari() -> Any:
    try:
        return importlib.import_module("minari")
    except ImportError:
        raise JoyRLError("Minari datasets need the optional extra: pip install -r requirements-minari.txt") from None


def _with_last(states: Any, last: Any) -> Any:
    """T states and the final next state: the T + 1 observations of a Minari episode."""
    if isinstance(states, dict):
        return {name: np.concatenate([part, last[name][-1:]]) for name, part in states.items()}
    return np.concatenate([states, last[-1:]])


def _split(observations: Any) -> tuple[Any, Any]:
    """A Minari episode's T + 1 observations as (states, next_states), T each."""
    if isinstance(observations, dict):
        return {k: np.asarray(v[:-1]) for k, v in observations.items()}, {k: np.asarray(v[1:]) for k, v in observations.items()}
    observations = np.asarray(observations)
    return observations[:-1], observations[1:]


def export_minari(dataset: Any, dataset_id: str, env_id: str, algorithm_name: str | None = None) -> Path:
    """Write ``dataset`` (joyrl.datasets.Dataset) as the local Minari dataset ``dataset_id``; returns its folder."""
    minari = _minari()
    buffers = [
        minari.data_collector.EpisodeBuffer(
            id=index,
            observations=_with_last(episode["states"], episode["next_states"]),
            actions=np.asarray(episode["actions"]),
            rewards=list(map(float, episode["rewards"])),
            terminations=list(map(bool, episode["terminated"])),
            truncations=list(map(bool, episode["truncated"])),
            infos={},
        )
        for index, episode in enumerate(dataset.episodes())
    ]
    importlib.import_module("envs")  # the project's env ids, for the dataset's env spec
    try:
        env = env_id.partition(":")[2] or env_id
        created = minari.create_dataset_from_buffers(
            dataset_id, buffers, env=env, eval_env=env, algorithm_name=algorithm_name or "JoyRL", data_format="hdf5"
        )
    except ValueError as error:  # an id taken or malformed
        raise JoyRLError(f"Minari dataset {dataset_id!r}: {error}") from None
    return Path(created.spec.data_path).parent


def minari_trajectories(dataset_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The meta and the trajectories (JoyRL's fields) of the local Minari dataset ``dataset_id``."""
    minari = _minari()
    try:
        dataset = minari.load_dataset(dataset_id)
    except (FileNotFoundError, ValueError) as error:
        raise JoyRLError(f"no local Minari dataset {dataset_id!r} ({error}); see minari.list_local_datasets()") from None
    trajectories = []
    for episode in dataset.iterate_episodes():
        states, next_states = _split(episode.observations)
        trajectories.append(
            {
                "states": states,
                "actions": np.asarray(episode.actions),
                "rewards": np.asarray(episode.rewards, dtype=np.float32),
                "next_states": next_states,
                "terminated": np.asarray(episode.terminations, dtype=bool),
                "truncated": np.asarray(episode.truncations, dtype=bool),
            }
        )
    meta = {"minari_id": dataset_id, "env_id": dataset.spec.env_spec.id if dataset.spec.env_spec else None}
    return meta, trajectories


def main(argv: list[str] | None = None) -> int:
    """``export SOURCE DATASET_ID``: JoyRL trajectories (a run folder, trajs_N.pkl or glob) to a local Minari dataset."""
    from joyrl.datasets import load_dataset

    parser = argparse.ArgumentParser(prog="python -m joyrl.minari_io", description=__doc__)
    parser.add_argument("command", choices=["export"])
    parser.add_argument("source", help="a collect run folder, a trajs_N.pkl file or a glob")
    parser.add_argument("dataset_id", help="the Minari id, e.g. joyrl/cartpole/expert-v0")
    args = parser.parse_args(argv)
    try:
        dataset = load_dataset(args.source, paths.TASKS_DIR)
        env_id = next((meta["env_id"] for meta in dataset.meta if meta.get("env_id")), None)
        if env_id is None:
            raise JoyRLError(f"{args.source}: its files do not say which env they come from (no env_id in their meta)")
        folder = export_minari(dataset, args.dataset_id, env_id, next((m.get("algo_name") for m in dataset.meta), None))
    except JoyRLError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    sys.stdout.write(f"{args.dataset_id}: {dataset.summary()}; written to {folder}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
