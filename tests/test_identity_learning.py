"""Every deep algorithm learns the identity task: its greedy policy names the target it is shown.

As Stable-Baselines3's identity-env tests, these check learning, not only running: each algorithm
in algos/ that takes Box observations trains for a small budget on IdentityDiscrete-v0 (Discrete
actions), IdentityBox-v0 (Box actions) or IdentityImage-v0 (image agents), through the CLI, and the
final online evaluation of its greedy policy must score at least 90% of the best return. A random
policy scores 25% on the discrete envs and about 23% on the Box one, and the greedy policy of an
untrained network as much on average, so the check fails for an algorithm that does not learn.
"""

from __future__ import annotations

import importlib
import json

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from tests.helpers import ROOT, read_csv, train
from tests.identity_envs import EPISODE_STEPS, IDS, OBSERVATION_IDS, register_identity_envs

register_identity_envs()

BEST_RETURN = float(EPISODE_STEPS)  # one reward of 1.0 per step
PASS_RETURN = 0.9 * BEST_RETURN  # the greedy policy's mean return must reach this: 18.0
EVAL_EPISODES = 10  # episodes of the final online evaluation: 200 greedy decisions


def agent_class(algo: str) -> type:
    return importlib.import_module(f"algos.{algo}.agent").Agent


def algorithm_folders() -> list[str]:
    return sorted(
        folder.name
        for folder in (ROOT / "algos").iterdir()
        if (folder / "agent.py").is_file() and not folder.name.startswith("_") and "_test_" not in folder.name
    )


def identity_env(algo: str, action_kind: str) -> str:
    """The identity env for an algorithm and an action space it supports."""
    if getattr(agent_class(algo), "image_observations", False):
        return "IdentityImage-v0"
    return "IdentityDiscrete-v0" if action_kind == "Discrete" else "IdentityBox-v0"


def cases() -> list:
    """(algorithm, action space) for each action space of each deep algorithm: those taking Box observations.

    The tabular and planning algorithms take Discrete observations only; the algorithms that learn from a
    dataset (BC, CQL, GAIL, ...) have identity tests of their own, on expert data. An algorithm that cannot be
    imported gets one case with no action space, so that its own test fails, not the collection.
    """
    params = []
    for algo in algorithm_folders():
        try:
            agent = agent_class(algo)
        except Exception:  # noqa: BLE001  (the test imports it again and shows the error)
            params.append(pytest.param(algo, "", id=algo))
            continue
        if "Box" not in getattr(agent, "supported_observation_spaces", ("Box",)):
            continue
        if getattr(agent, "needs_dataset", False):  # they learn from data: tests/test_<name>.py check them on expert data
            continue
        for kind in getattr(agent, "supported_action_spaces", ("Discrete",)):
            if kind in ("Discrete", "Box"):
                params.append(pytest.param(algo, kind, id=f"{algo}-{identity_env(algo, kind)}"))
    return params


def mlp(size: int, activation: str = "relu") -> list[dict]:
    return [{"layer_type": "linear", "layer_size": [size], "activation": activation}]


# Small networks, early learning, and a short gamma: each step's reward depends on that step alone.
REPLAY_Q = {
    "value_layers": mlp(16),
    "lr": 1e-2,
    "gamma": 0.5,
    "batch_size": 32,
    "buffer_size": 2_000,
    "learning_starts": 100,
    "train_freq": 4,
    "gradient_steps": 1,
    "target_update": 25,
}
EPSILON = {"epsilon_decay": 400}
ON_POLICY = {"actor_layers": mlp(16, "tanh"), "critic_layers": mlp(16, "tanh"), "gamma": 0.5}
GAUSSIAN = {"log_std_init": -1.0}  # sigma 0.37 at the start: sigma 1 spreads the actions over the whole range
ACTOR_CRITIC = {
    "actor_layers": mlp(32),
    "critic_layers": mlp(32),
    "gamma": 0.5,
    "batch_size": 64,
    "buffer_size": 5_000,
    "learning_starts": 100,
}
SMALL_CNN = [
    {"layer_type": "conv2d", "layer_size": [8], "kernel_size": 2, "stride": 2, "activation": "relu"},
    *mlp(16),
]

# (algorithm, action space) -> (budget in env steps, 20 per episode; algo_cfg overrides).
TUNING: dict[tuple[str, str], tuple[int, dict]] = {
    ("DQN", "Discrete"): (1_000, REPLAY_Q | EPSILON),
    ("DoubleDQN", "Discrete"): (1_000, REPLAY_Q | EPSILON),
    ("DuelingDQN", "Discrete"): (1_000, REPLAY_Q | EPSILON | {"stream_size": 16}),
    ("PER_DQN", "Discrete"): (1_000, REPLAY_Q | EPSILON),
    ("C51", "Discrete"): (1_000, REPLAY_Q | EPSILON | {"n_atoms": 11, "v_max": 2.0}),
    ("NoisyDQN", "Discrete"): (1_500, REPLAY_Q | {"value_layers": mlp(64), "sigma0": 1.0}),
    ("RainbowDQN", "Discrete"): (
        1_500,
        REPLAY_Q | {"value_layers": mlp(64), "stream_size": 32, "n_atoms": 11, "v_max": 2.0, "n_steps": 1, "sigma0": 1.0},
    ),
    ("SoftQ", "Discrete"): (1_000, REPLAY_Q | {"alpha_start": 1.0, "alpha_end": 0.01, "alpha_decay": 400}),
    ("DQN_CNN", "Discrete"): (1_000, REPLAY_Q | EPSILON | {"value_layers": SMALL_CNN}),
    ("DRQN", "Discrete"): (1_000, REPLAY_Q | EPSILON | {"hidden_size": 16, "seq_len": 4, "burn_in": 0}),
    ("SAC_D", "Discrete"): (1_500, {**ACTOR_CRITIC, "train_freq": 4, "gradient_steps": 1, "lr": 3e-3}),
    ("PPO", "Discrete"): (2_000, ON_POLICY | {"n_envs": 4, "n_steps": 20, "batch_size": 40, "n_epochs": 4, "lr": 1e-2}),
    ("PPO", "Box"): (1_500, ON_POLICY | GAUSSIAN | {"n_envs": 4, "n_steps": 20, "batch_size": 40, "n_epochs": 4, "lr": 1e-2}),
    ("A2C", "Discrete"): (2_000, ON_POLICY | {"n_envs": 4, "lr": 1e-2}),
    ("A2C", "Box"): (1_500, ON_POLICY | GAUSSIAN | {"n_envs": 4, "lr": 1e-2}),
    ("REINFORCE", "Discrete"): (2_000, ON_POLICY | {"n_episodes": 2, "lr": 1e-2, "critic_lr": 1e-2}),
    ("REINFORCE", "Box"): (4_000, ON_POLICY | GAUSSIAN | {"n_episodes": 2, "lr": 1e-2, "critic_lr": 1e-2}),
    ("DDPG", "Box"): (1_000, ACTOR_CRITIC | {"lr": 3e-3}),
    ("TD3", "Box"): (1_000, ACTOR_CRITIC | {"lr": 3e-3}),
    ("SAC", "Box"): (1_000, ACTOR_CRITIC | {"lr": 3e-3}),
}


def observation_cases() -> list:
    """(algorithm, observation kind) for each Discrete, MultiDiscrete or MultiBinary observation a deep algorithm with
    Discrete actions declares: the identity task with the target shown in that space (tests/identity_envs.py)."""
    return [
        pytest.param(algo, kind, id=f"{algo}-{OBSERVATION_IDS[kind]}")
        for algo, action_kind in ((param.values[0], param.values[1]) for param in cases())
        if action_kind == "Discrete"
        for kind in OBSERVATION_IDS
        if kind in agent_class(algo).supported_observation_spaces
    ]


def identity_args(algo: str, kind: str, seed: int = 1, budget: int | None = None) -> list[str]:
    """CLI arguments of a training run on the identity env, ending with an online evaluation of the greedy policy."""
    steps, overrides = TUNING[(algo, kind)]
    return [
        "--algo",
        algo,
        "--env",
        identity_env(algo, kind),
        "--seed",
        str(seed),
        f"general_cfg.max_env_steps={budget or steps}",
        "general_cfg.save_fig=false",
        f"general_cfg.online_eval_episode={EVAL_EPISODES}",
        "general_cfg.eval_per_episode=25",  # and once at the end of training
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


def test_every_deep_algorithm_is_tuned():
    """Each deep algorithm and action space has a budget here, and no tuning names a missing algorithm."""
    found = {(param.values[0], param.values[1]) for param in cases()}
    assert {"DQN", "PPO", "SAC", "DQN_CNN"} <= {algo for algo, _ in found}
    assert not {"QLearning", "ValueIteration"} & {algo for algo, _ in found}
    assert found == set(TUNING)


@pytest.mark.parametrize(("algo", "kind"), cases())
def test_greedy_policy_learns_the_identity(algo, kind, tmp_path):
    """After a small budget, the final greedy evaluation scores at least 90% of the best return."""
    if not kind:
        agent_class(algo)  # raises the error that kept it from being collected
        pytest.fail(f"algos/{algo}/agent.py could not be imported at collection time")
    if (algo, kind) not in TUNING:
        pytest.fail(f"no budget for {algo} with {kind} actions: add one to TUNING")
    folder = train(identity_args(algo, kind), tmp_path)
    training = read_csv(folder / "results" / "res.csv")
    final = read_csv(folder / "results" / "eval.csv")[-1]
    assert final["episode"] == training[-1]["episode"]  # the evaluation at the end of training
    assert float(final["eval_mean"]) >= PASS_RETURN, f"{algo}: greedy return {final['eval_mean']} < {PASS_RETURN}"


def test_the_deep_agents_that_declare_discrete_observations():
    declared = {(param.values[0], param.values[1]) for param in observation_cases()}
    assert {("DQN", "Discrete"), ("PPO", "MultiDiscrete"), ("A2C", "MultiBinary"), ("SAC_D", "Discrete")} <= declared
    assert not {algo for algo, _ in declared} & {"DQN_CNN", "DRQN", "DDPG"}


@pytest.mark.parametrize(("algo", "kind"), observation_cases())
def test_greedy_policy_learns_the_identity_from_discrete_observations(algo, kind, tmp_path):
    """Indices one-hot encoded (Discrete, MultiDiscrete) or bits (MultiBinary) at the networks' input: the same 90% bar."""
    args = identity_args(algo, "Discrete")
    args[args.index("--env") + 1] = OBSERVATION_IDS[kind]
    folder = train(args, tmp_path)
    final = read_csv(folder / "results" / "eval.csv")[-1]
    assert float(final["eval_mean"]) >= PASS_RETURN, f"{algo} on {kind}: greedy return {final['eval_mean']} < {PASS_RETURN}"
