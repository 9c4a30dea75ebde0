"""Starting from a saved run: load an agent, continue a run exactly, or fine-tune from its weights.

- continue (``load_checkpoint: true``): the agent's whole state, the counters, the RNG states
  (global and the envs'), the replay memory when last.pt holds one, and the unfinished episode;
  the new run's CSVs start with the old run's rows, so the curves continue.
- fine-tune (``finetune: true``): only the agent's ``weights`` (its declared networks,
  normalisers' statistics, tables); optimisers, schedules, counters and the results start fresh,
  so a new ``algo_cfg.lr`` is the step size from the first update.
"""

from __future__ import annotations

from logging import Logger
from pathlib import Path
from typing import Any

import gymnasium as gym

from joyrl.counters import Counters
from joyrl.envs import set_reset_rng_state, set_space_rng_states
from joyrl.errors import JoyRLError
from joyrl.logs import CSVRecorder, read_csv_rows
from joyrl.runtime import set_rng_states


def load_agent_state(agent: Any, state: dict[str, Any], path: Path, algo_name: str) -> None:
    """``agent.load_state_dict(state)``; a checkpoint that does not fit the config is one clear JoyRLError."""
    try:
        agent.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, TypeError) as error:
        lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()] or [type(error).__name__]
        first_line = next((line for line in lines if "size mismatch" in line or " key" in line), lines[0])[:200]
        raise JoyRLError(
            f"checkpoint {path} does not fit this {algo_name} config (network sizes or env differ?): {first_line}"
        ) from None


def fine_tune_state(agent: Any, loaded: dict[str, Any], path: Path, algo_name: str) -> dict[str, Any]:
    """The fresh agent's state with the loaded run's ``weights`` in it: what a fine-tune starts from."""
    if not agent.weights:
        raise JoyRLError(f"{algo_name} declares no weights (Agent.weights) to fine-tune from; continue the run instead")
    missing = [name for name in agent.weights if name not in loaded and name in agent.state_dict()]
    if missing:
        raise JoyRLError(f"checkpoint {path} has no {', '.join(missing)}: it cannot start a fine-tune of {algo_name}")
    fresh = agent.state_dict()
    return {**fresh, **{name: loaded[name] for name in agent.weights if name in loaded and name in fresh}}


def continue_run(
    checkpoint: dict[str, Any],
    path: Path,
    agent: Any,
    trainer: Any,
    counters: Counters,
    env: gym.Env,
    eval_env: gym.Env | None,
    logger: Logger,
) -> None:
    """Restore everything but the agent's own state (loaded before): counters, memory, RNGs, the unfinished episode."""
    counters.load_state_dict(checkpoint["progress"])
    if "memory" in checkpoint and agent.memory is not None:
        try:
            agent.memory.load_state_dict(checkpoint["memory"])
        except (ValueError, KeyError, RuntimeError) as error:
            raise JoyRLError(f"checkpoint {path}: its replay memory does not fit this config ({error})") from None
    envs = checkpoint.get("envs", {})
    if "train" in envs:
        set_reset_rng_state(env, envs["train"])
        set_space_rng_states(env, envs["train_spaces"])
    if "eval" in envs and eval_env is not None:
        set_reset_rng_state(eval_env, envs["eval"])
    if checkpoint.get("trainer") and not trainer.load_state_dict(checkpoint["trainer"], env):
        logger.warning("the env did not repeat the unfinished episode; starting a new one")
    if checkpoint.get("rng"):
        set_rng_states(checkpoint["rng"])


def copy_earlier_results(path: Path, recorders: list[CSVRecorder], key: str, upto: int) -> str:
    """Start this run's CSVs with the loaded run's rows whose ``key`` (episode, or updates offline) is at most
    ``upto``, so the curves continue; says what it did."""
    earlier = path.parent.parent / "results"
    if not any((earlier / recorder.path.name).is_file() for recorder in recorders):
        return "no earlier results beside the checkpoint, so the curves start here"
    for recorder in recorders:
        if (earlier / recorder.path.name).is_file():
            for row in read_csv_rows(earlier / recorder.path.name):
                if int(row.get(key) or 0) <= upto:
                    recorder.write(row)
    return f"the curves continue the results of {earlier.parent.name}"
