"""Every deep algorithm learns the identity task with its default hyperparameters, in every space pair it declares.

As Stable-Baselines3's identity-env tests, these check learning, not only running: each deep algorithm in
algos/ trains on the identity task (tests/identity_envs.py: the observation shows a target, the action
that names it is rewarded) once for each pair of an observation space (Box, Discrete, MultiDiscrete,
MultiBinary, or a Dict of a Discrete part and a Box one) and an action space (Discrete, MultiDiscrete,
MultiBinary, Box) that it declares, through the CLI, for a small budget, with its defaults but for
``gamma`` (each step's reward depends on that step alone; a Dict's parts need a mapping of layers, whose
head is the default layers). The final online evaluation of its greedy policy must score at least 90% of the best return. A
random policy scores 25% (Box actions: 44%), and the greedy policy of an untrained
network about as much, so the check fails for an algorithm that does not learn.

The one exception is DQN_CNN, whose defaults are the Nature paper's Atari schedule (100k steps before the
first update, a 84x84 frame stack): it gets a small network and a short schedule on an 8x8 image.

The algorithms that learn from a dataset (BC, BCQ, CQL, IQL, TD3+BC; GAIL beside the env) do the same from
the data of a noisy expert, in each pair they declare, with their defaults for a budget of updates.
"""

from __future__ import annotations

import importlib
import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from joyrl.config import algo_config_class, schema
from joyrl.contracts import observation_spaces_for
from tests.helpers import ROOT, read_csv, train
from tests.identity_envs import (
    CODED_ACTIONS,
    CODED_OBSERVATIONS,
    EPISODE_STEPS,
    IDS,
    coded_dataset,
    coded_id,
    register_identity_envs,
    write_dataset,
)

register_identity_envs()

BEST_RETURN = float(EPISODE_STEPS)  # one reward of 1.0 per step
PASS_RETURN = 0.9 * BEST_RETURN  # the greedy policy's mean return must reach this: 18.0
EVAL_EPISODES = 10  # episodes of the final online evaluation: 200 greedy decisions
GAMMA = 0.5  # the one hyperparameter the tests set
BOX_TOLERANCE = 0.5  # the continuous task (Box to Box): an action within 0.5 of the target is rewarded


def agent_class(algo: str) -> type:
    return importlib.import_module(f"algos.{algo}.agent").Agent


def algorithm_folders() -> list[str]:
    return sorted(
        folder.name
        for folder in (ROOT / "algos").iterdir()
        if (folder / "agent.py").is_file() and not folder.name.startswith("_") and "_test_" not in folder.name
    )


def identity_env(observation_kind: str, action_kind: str) -> str:
    """The identity env showing the target in ``observation_kind`` ("Image": IdentityImage) and taking ``action_kind``."""
    if observation_kind == "Image":
        return "IdentityImage-v0"
    if (observation_kind, action_kind) == ("Box", "Box"):
        return "IdentityBox-v0"
    return coded_id(observation_kind, action_kind)


def cases() -> list:
    """(algorithm, observation kind, action kind) for each pair of spaces each deep algorithm declares.

    The tabular and planning algorithms take Discrete observations only and no Box; the algorithms that learn
    from a dataset have ``dataset_cases``. Image agents get IdentityImage. An algorithm that cannot be imported gets one case with no spaces, so that its own test
    fails, not the collection.
    """
    params = []
    for algo in algorithm_folders():
        try:
            agent = agent_class(algo)
        except Exception:  # noqa: BLE001  (the test imports it again and shows the error)
            params.append(pytest.param(algo, "", "", id=algo))
            continue
        if "Box" not in agent.supported_observation_spaces or agent.needs_dataset or agent.learns_from_demonstrations:
            continue
        image = getattr(agent, "image_observations", False)  # DQN_CNN: its Box observations are images
        for observation, action in declared_pairs(agent):
            if image and observation != "Box":
                continue
            observation = "Image" if image else observation
            params.append(pytest.param(algo, observation, action, id=f"{algo}-{identity_env(observation, action)}"))
    return params


def declared_pairs(agent: type) -> list[tuple[str, str]]:
    """The (observation, action) pairs of the identity envs' space kinds that ``agent`` declares it takes."""
    return [
        (observation, action)
        for observation in CODED_OBSERVATIONS
        for action in CODED_ACTIONS
        if action in agent.supported_action_spaces and observation in observation_spaces_for(agent, action)
    ]


# Env steps of training per algorithm, whatever the spaces (20 steps an episode); the defaults do the rest.
BUDGETS: dict[str, int] = {
    "DQN": 2_000,
    "DoubleDQN": 2_000,
    "DuelingDQN": 2_000,
    "PER_DQN": 2_000,
    "C51": 2_000,
    "NoisyDQN": 2_000,
    "RainbowDQN": 2_000,
    "SoftQ": 2_000,
    "SAC_D": 2_000,
    "DRQN": 8_000,  # 2,000 steps before its first update (whole sequences)
    "DQN_CNN": 1_000,
    "PPO": 2_000,
    "A2C": 2_000,
    "REINFORCE": 8_000,  # one update every 4 episodes (80 steps)
    "DDPG": 1_000,
    "TD3": 1_000,
    "SAC": 2_000,
}

SMALL_CNN = [
    {"layer_type": "conv2d", "layer_size": [8], "kernel_size": 2, "stride": 2, "activation": "relu"},
    {"layer_type": "linear", "layer_size": [16], "activation": "relu"},
]
# DQN_CNN's defaults are the Nature paper's Atari schedule: a small CNN and a short schedule instead
EXCEPTIONS: dict[str, dict] = {
    "DQN_CNN": {
        "value_layers": SMALL_CNN,
        "lr": 1e-2,
        "batch_size": 32,
        "buffer_size": 2_000,
        "learning_starts": 100,
        "train_freq": 4,
        "target_update": 25,
        "epsilon_decay": 400,
    },
}


def dict_layers(algo: str) -> dict[str, dict]:
    """For the Dict observation: each network's parts fed in as they are (the index one-hot), then its default layers."""
    config = algo_config_class(algo)
    return {
        key: {"target": [], "noise": [], "head": getattr(config, key)}
        for key, annotation in schema(config).items()
        if key.endswith("_layers") and "| dict" in str(annotation)
    }


def identity_args(algo: str, observation_kind: str, action_kind: str, seed: int = 1) -> list[str]:
    """CLI arguments of a training run on the identity env, ending with an online evaluation of the greedy policy."""
    env_id = identity_env(observation_kind, action_kind)
    overrides = {"gamma": GAMMA, **EXCEPTIONS.get(algo, {}), **(dict_layers(algo) if observation_kind == "Dict" else {})}
    return [
        "--algo",
        algo,
        "--env",
        env_id,
        "--seed",
        str(seed),
        f"general_cfg.max_env_steps={BUDGETS[algo]}",
        "general_cfg.save_fig=false",
        f"general_cfg.online_eval_episode={EVAL_EPISODES}",
        "general_cfg.eval_per_episode=25",  # and once at the end of training
        *([f"env_cfg.kwargs={{tolerance: {BOX_TOLERANCE}}}"] if env_id == "IdentityBox-v0" else []),
        *(f"algo_cfg.{key}={json.dumps(value)}" for key, value in overrides.items()),
    ]


@pytest.mark.parametrize("env_id", IDS)
def test_identity_env_passes_gymnasiums_checker(env_id):
    """The identity envs follow Gymnasium's API (spaces, seeding, reset and step types)."""
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.spec.max_episode_steps == EPISODE_STEPS
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_identity_env_episodes_are_truncated_after_20_steps(env_id):
    """Every episode ends by truncation at step 20, never by termination, with one 0/1 reward per step."""
    env = gym.make(env_id)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[1:4] for _ in range(EPISODE_STEPS)]
    assert all(reward in (0.0, 1.0) and isinstance(reward, float) for reward, _, _ in flags)
    assert [terminated for _, terminated, _ in flags] == [False] * EPISODE_STEPS
    assert [truncated for _, _, truncated in flags] == [False] * (EPISODE_STEPS - 1) + [True]
    env.close()


def test_every_deep_algorithm_has_a_budget_and_every_space_pair_a_case():
    """Each deep algorithm has a budget here, no budget names a missing algorithm, and the pairs are all there."""
    found = {param.values for param in cases()}
    algorithms = {algo for algo, _, _ in found}
    assert {"DQN", "PPO", "SAC", "DQN_CNN", "REINFORCE"} <= algorithms
    assert not {"QLearning", "ValueIteration", "BC"} & algorithms
    assert algorithms == set(BUDGETS)
    assert {("PPO", observation, action) for observation in CODED_OBSERVATIONS for action in CODED_ACTIONS} <= found
    assert ("DQN_CNN", "Image", "Discrete") in found and ("DDPG", "Box", "Box") in found


@pytest.mark.parametrize(
    "env_id", [coded_id(observation, action) for observation in CODED_OBSERVATIONS for action in CODED_ACTIONS]
)
def test_the_coded_identity_envs_reward_the_action_that_names_the_target(env_id):
    """Gymnasium's checker passes, and in each space pair the right action earns 1 and every other one 0."""
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=0)
    identity = env.unwrapped
    right = {
        "Discrete": lambda target: target,
        "MultiDiscrete": lambda target: np.array(divmod(target, 2)),
        "MultiBinary": lambda target: np.array(divmod(target, 2), dtype=np.int8),
        "Box": lambda target: np.array([-0.75 + 0.5 * target], dtype=np.float32),
    }[identity.action_kind]
    for _ in range(8):
        target = identity.target
        assert env.step(right(target))[1] == 1.0
        assert env.step(right((identity.target + 2) % 4))[1] == 0.0
    if identity.action_kind == "Box":  # within 0.5 of the target's value; beyond the bounds counts as the bound
        identity.target = 3
        assert identity._hit(np.array([2.0], dtype=np.float32)) and identity._hit(np.array([0.3], dtype=np.float32))
        assert not identity._hit(np.array([0.25], dtype=np.float32))
    env.close()


@pytest.mark.parametrize(("algo", "observation_kind", "action_kind"), cases())
def test_greedy_policy_learns_the_identity(algo, observation_kind, action_kind, tmp_path):
    """With its defaults (gamma 0.5) after its budget, the final greedy evaluation scores at least 90% of the best return."""
    if not observation_kind:
        agent_class(algo)  # raises the error that kept it from being collected
        pytest.fail(f"algos/{algo}/agent.py could not be imported at collection time")
    if algo not in BUDGETS:
        pytest.fail(f"no budget for {algo}: add one to BUDGETS")
    folder = train(identity_args(algo, observation_kind, action_kind), tmp_path)
    training = read_csv(folder / "results" / "res.csv")
    final = read_csv(folder / "results" / "eval.csv")[-1]
    assert final["episode"] == training[-1]["episode"]  # the evaluation at the end of training
    assert float(final["eval_mean"]) >= PASS_RETURN, (
        f"{algo} ({observation_kind} observations, {action_kind} actions): greedy return {final['eval_mean']} < {PASS_RETURN}"
    )


# ------------------------------------------------------------------ algorithms that learn from a dataset

# Updates of learning from the dataset (GAIL: env steps, with the demonstrations beside), whatever the spaces.
DATASET_BUDGETS: dict[str, int] = {
    "BC": 300,
    "BCQ": 100,
    "CQL": 100,  # with Box actions 0.1 s an update: 30 actions of 256 states through two 256x256 critics
    "IQL": 100,
    "TD3_BC": 100,
    "GAIL": 6_000,  # PPO's defaults for the policy: 256-step rollouts
}
DATASET_EPISODES = 25  # 500 transitions
DATASET_RIGHT = 0.8  # the share of the expert's actions that name the target; the others are uniformly random


def dataset_cases() -> list:
    """(algorithm, observation kind, action kind) for each space pair each algorithm that learns from data declares."""
    params = []
    for algo in algorithm_folders():
        try:
            agent = agent_class(algo)
        except Exception:  # noqa: BLE001  (the online cases fail for it)
            continue
        if agent.needs_dataset or agent.learns_from_demonstrations:
            params.extend(
                pytest.param(algo, observation, action, id=f"{algo}-{coded_id(observation, action)}")
                for observation, action in declared_pairs(agent)
            )
    return params


def test_every_algorithm_that_learns_from_data_has_a_budget_and_every_space_pair_a_case():
    found = {param.values for param in dataset_cases()}
    assert {algo for algo, _, _ in found} == set(DATASET_BUDGETS)
    assert {("BC", observation, action) for observation in CODED_OBSERVATIONS for action in ("Discrete", "Box")} <= found
    assert ("CQL", "Dict", "Discrete") in found and ("CQL", "Dict", "Box") not in found  # declared with Discrete only


@pytest.mark.parametrize(("algo", "observation_kind", "action_kind"), dataset_cases())
def test_greedy_policy_learns_the_identity_from_a_noisy_expert(algo, observation_kind, action_kind, tmp_path):
    """From 25 episodes of an expert right 80% of the time (uniformly random otherwise), with its defaults (gamma
    0.5) after its budget, the final greedy evaluation in the env scores at least 90% of the best return."""
    env_id = coded_id(observation_kind, action_kind)
    dataset = coded_dataset(observation_kind, DATASET_EPISODES, right=DATASET_RIGHT, action=action_kind)
    write_dataset(dataset, tmp_path / "expert", env_id)
    config = algo_config_class(algo)
    overrides = {
        **({"gamma": GAMMA} if "gamma" in schema(config) else {}),
        **(dict_layers(algo) if observation_kind == "Dict" else {}),
    }
    budget = DATASET_BUDGETS[algo]
    online = agent_class(algo).learns_from_demonstrations
    schedule = (
        [f"general_cfg.max_env_steps={budget}", "general_cfg.eval_per_episode=25"]
        if online
        else [f"general_cfg.max_updates={budget}", f"general_cfg.eval_per_updates={budget}"]
    )
    args = [
        "--algo", algo, "--env", env_id, "--seed", "1", f"general_cfg.dataset={tmp_path / 'expert'}",
        "general_cfg.save_fig=false", f"general_cfg.online_eval_episode={EVAL_EPISODES}", *schedule,
        *(f"algo_cfg.{key}={json.dumps(value)}" for key, value in overrides.items()),
    ]  # fmt: skip
    folder = train(args, tmp_path / "tasks")
    final = read_csv(folder / "results" / "eval.csv")[-1]
    assert float(final["eval_mean"]) >= PASS_RETURN, (
        f"{algo} ({observation_kind} observations, {action_kind} actions): greedy return {final['eval_mean']} < {PASS_RETURN}"
    )
