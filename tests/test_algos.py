"""Every folder in algos/ (found by itself), a copied folder, and Q-learning's preset."""

import importlib
import io

import numpy as np
import pytest
import torch

from joyrl.cli import config_from_args
from joyrl.runner import Run
from tests.helpers import QLEARNING_PRESET, ROOT, SMALL_NET, TINY_DQN, read_csv, tiny_dataset, train, without_seconds
from tests.identity_envs import coded_dataset, coded_id, register_identity_envs, write_dataset

register_identity_envs()

ALGOS = sorted(
    folder.name
    for folder in (ROOT / "algos").iterdir()
    if (folder / "agent.py").is_file() and not folder.name.startswith("_") and "_test_" not in folder.name
)

# An env each kind of algorithm can run on: (observation space, action space) -> env id.
ENVS = {("Box", "Discrete"): "CartPole-v1", ("Discrete", "Discrete"): "CliffWalking-v1", ("Box", "Box"): "Pendulum-v1"}


IMAGE_ENV = "PixelCatch-v0"  # (1, 36, 36) uint8 frames, for agents that set image_observations = True


def env_for(algo):
    agent = importlib.import_module(f"algos.{algo}.agent").Agent
    if getattr(agent, "image_observations", False):
        return IMAGE_ENV
    observations = getattr(agent, "supported_observation_spaces", ("Box",))
    actions = getattr(agent, "supported_action_spaces", ("Discrete",))
    for (observation, action), env_id in ENVS.items():
        if observation in observations and action in actions:
            return env_id
    pytest.skip(f"no test env for {algo}'s spaces")


def agent_of(algo):
    return importlib.import_module(f"algos.{algo}.agent").Agent


def smoke_args(algo):
    """A tiny training run: 300 env steps, or, for an algorithm that learns offline from a dataset only, 40 updates.

    An algorithm that learns from demonstrations beside the env (GAIL) gets a tiny random dataset too.
    """
    agent = agent_of(algo)
    if agent.needs_dataset and agent.learns_offline:
        return [
            "--algo", algo, "--env", env_for(algo), "--seed", "1", f"general_cfg.dataset={tiny_dataset(env_for(algo))}",
            "general_cfg.max_updates=40", "general_cfg.eval_per_updates=20", "general_cfg.online_eval_episode=1",
            "general_cfg.max_step=100",
        ]  # fmt: skip
    return [
        "--algo",
        algo,
        "--env",
        env_for(algo),
        "--seed",
        "1",
        "general_cfg.max_env_steps=300",
        "general_cfg.max_step=100",
        "general_cfg.eval_per_episode=5",
        "general_cfg.online_eval_episode=1",
        *([f"general_cfg.dataset={tiny_dataset(env_for(algo))}"] if agent.learns_from_demonstrations else []),
    ]


def test_the_shipped_algorithms_are_found():
    assert {"DQN", "QLearning"} <= set(ALGOS)


@pytest.fixture(scope="module", params=ALGOS)
def algo_runs(request, tmp_path_factory):
    """Two tiny training runs of one algorithm with the same seed."""
    tasks = tmp_path_factory.mktemp(request.param)
    args = smoke_args(request.param)
    return request.param, train(args, tasks / "a"), train(args, tasks / "b")


def test_algorithm_trains_on_a_tiny_budget(algo_runs):
    algo, folder, _ = algo_runs
    assert f"_{algo}_" in folder.name
    assert (folder / "models" / "last.pt").is_file()
    assert (folder / "results" / "eval.csv").is_file()
    if agent_of(algo).learns_offline and agent_of(algo).needs_dataset:  # offline: learned from the dataset, no env step
        assert read_csv(folder / "results" / "eval.csv")[-1]["updates"] == "40"
    else:
        assert int(read_csv(folder / "results" / "res.csv")[-1]["env_steps"]) >= 300


def test_algorithm_same_seed_same_results(algo_runs):
    algo, first, second = algo_runs
    offline = agent_of(algo).learns_offline and agent_of(algo).needs_dataset
    names = ("eval.csv", "train_stats.csv") if offline else ("res.csv", "eval.csv")
    for name in names:
        assert without_seconds(read_csv(first / "results" / name)) == without_seconds(read_csv(second / "results" / name))


def test_algorithm_test_mode_loads_its_checkpoint(algo_runs, cli):
    algo, folder, _ = algo_runs
    result = cli(*smoke_args(algo), "--mode", "test", "--load", folder, "general_cfg.play_episodes=2")
    assert result.code == 0
    assert len(read_csv(result.folder / "results" / "res.csv")) == 2


@pytest.mark.parametrize("algo", ALGOS)
def test_algorithm_state_dict_round_trip(algo):
    cfg = config_from_args(smoke_args(algo))
    run = Run(cfg)
    run.prepare()
    for _ in range(3):
        if run.dataset is not None and run.agent.learns_offline:  # offline: the memory holds the dataset
            run.agent.update()
        else:
            run.trainer.train_one_episode(run.env, run.agent, cfg)
    buffer = io.BytesIO()
    torch.save(run.agent.state_dict(), buffer)
    buffer.seek(0)
    restored = type(run.agent)(cfg)
    restored.load_state_dict(torch.load(buffer, weights_only=True))  # plain tensors and types only
    observations = [run.env.observation_space.sample() for _ in range(20)]
    assert [restored.predict_action(o) for o in observations] == [run.agent.predict_action(o) for o in observations]
    assert getattr(restored, "sample_count", None) == getattr(run.agent, "sample_count", None)
    run.env.close()


def test_copied_folder_is_an_algorithm(copy_algo, cli):
    name = copy_algo("DQN")
    result = cli(*TINY_DQN, "--algo", name)
    assert result.code == 0
    assert result.folder.name.startswith(f"Train_CartPole-v1_{name}_")
    assert torch.load(result.folder / "models" / "last.pt", weights_only=True)["algo_name"] == name
    tested = cli(*TINY_DQN, "--algo", name, "--mode", "test", "--load", result.folder, "general_cfg.play_episodes=1")
    assert tested.code == 0


def test_copied_folder_is_listed_among_the_algorithms(copy_algo, cli):
    name = copy_algo("DQN")
    result = cli("--algo", f"{name}x", SMALL_NET)
    assert result.code == 2
    assert name in result.err


def test_qlearning_preset_reaches_the_optimal_return(qlearning_run):
    rows = read_csv(qlearning_run / "results" / "eval.csv")
    assert rows[-1]["episode"] == "500"
    assert float(rows[-1]["eval_mean"]) == -13


def test_qlearning_preset_run_tests_at_the_optimal_return(qlearning_run, cli):
    result = cli("--yaml", QLEARNING_PRESET, "--mode", "test", "--load", qlearning_run, "general_cfg.play_episodes=5")
    assert result.code == 0
    rows = read_csv(result.folder / "results" / "res.csv")
    assert [float(row["reward"]) for row in rows] == [-13.0] * 5
    assert [int(row["length"]) for row in rows] == [13] * 5


def test_qlearning_checkpoint_holds_the_q_table(qlearning_run):
    agent_state = torch.load(qlearning_run / "models" / "best.pt", weights_only=True)["agent"]
    assert agent_state["q_table"].shape == (48, 4)
    assert np.isfinite(agent_state["q_table"].numpy()).all()


@pytest.mark.parametrize("algo", ALGOS)
def test_declared_weights_are_entries_of_the_agent_state(algo):
    """What a fine-tune carries over (Agent.weights) names entries the agent really checkpoints."""
    cfg = config_from_args(smoke_args(algo))
    run = Run(cfg)
    run.prepare()
    assert run.agent.weights, f"{algo} declares no weights: it cannot be fine-tuned"
    assert set(run.agent.weights) <= set(run.agent.state_dict()), f"{algo}.weights names entries its state_dict lacks"
    run.env.close()


def observation_holders(agent) -> list[np.ndarray]:
    """The observations an agent keeps between steps: its replay memory's, its rollout's, its episode's (REINFORCE)."""
    kept = [
        getattr(holder, name)
        for holder in (agent.memory, getattr(agent, "rollout", None))
        for name in ("states", "observations")
        if holder is not None and hasattr(holder, name)
    ]
    if isinstance(getattr(agent, "states", None), list):
        kept.append(np.asarray(agent.states))
    return [value.cpu().numpy() if isinstance(value, torch.Tensor) else value for value in kept]


@pytest.mark.parametrize(
    "algo", [algo for algo in ALGOS if {"Box", "Discrete"} <= set(agent_of(algo).supported_observation_spaces)]
)  # the deep agents that take Discrete observations
def test_deep_agents_keep_discrete_observations_as_indices(algo, tmp_path):
    """The memory keeps the compact form of a Discrete observation (its index, as Stable-Baselines3 does); only the
    networks see its one-hot."""
    agent_class = agent_of(algo)
    action = next(kind for kind in ("Discrete", "Box") if kind in agent_class.supported_action_spaces)
    env_id = coded_id("Discrete", action)
    args = ["--algo", algo, "--env", env_id, "--seed", "1", f"general_cfg.tasks_dir={tmp_path}"]
    if agent_class.needs_dataset or agent_class.learns_from_demonstrations:
        dataset = write_dataset(coded_dataset("Discrete", 2, action=action), tmp_path / "expert", env_id)
        args.append(f"general_cfg.dataset={dataset}")
    cfg = config_from_args(args)
    run = Run(cfg)
    run.prepare()
    if run.dataset is None or not agent_class.learns_offline:  # online, or beside demonstrations (GAIL): an episode
        run.trainer.train_one_episode(run.env, run.agent, cfg)
    kept = observation_holders(run.agent)
    assert kept, f"{algo}: no memory, rollout or episode found"
    for observations in kept:
        assert np.issubdtype(observations.dtype, np.integer), (algo, observations.dtype, observations.shape)
    assert any(observations.reshape(-1)[:40].any() for observations in kept)  # indices were stored, not only zeros
