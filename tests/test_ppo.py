"""PPO's and A2C's losses and update rules on hand-computed cases, and runs on Box and Dict spaces."""

import numpy as np
import pytest
import torch

from algos.PPO.agent import adapted_kl_beta, clipped_surrogate_loss
from joyrl.cli import config_from_args
from joyrl.runner import Run
from tests.helpers import read_csv, train


def prepared(algo="PPO", env="CartPole-v1", *overrides):
    cfg = config_from_args(["--algo", algo, "--env", env, "--seed", "1", "general_cfg.max_env_steps=1000", *overrides])
    run = Run(cfg)
    run.prepare()
    return run


def test_clipped_surrogate_by_hand():
    ratio = torch.tensor([0.5, 1.0, 1.5, 1.5])
    advantages = torch.tensor([1.0, -1.0, 1.0, -1.0])
    # min(rho A, clip(rho, 0.8, 1.2) A): 0.5, -1, 1.2 (clipped), -1.5 (the unclipped, pessimistic side)
    assert clipped_surrogate_loss(ratio, advantages, 0.2).item() == pytest.approx(-(0.5 - 1.0 + 1.2 - 1.5) / 4)


def test_clipped_surrogate_has_no_gradient_beyond_the_clip():
    ratio = torch.tensor([1.5, 0.5, 1.1], requires_grad=True)
    clipped_surrogate_loss(ratio, torch.tensor([1.0, -1.0, 1.0]), 0.2).backward()
    assert ratio.grad.tolist() == pytest.approx([0.0, 0.0, -1.0 / 3])


def test_kl_beta_doubles_halves_or_stays():
    assert adapted_kl_beta(1.0, kl=0.02, kl_dtarg=0.01) == 2.0  # above 1.5 d_targ
    assert adapted_kl_beta(1.0, kl=0.005, kl_dtarg=0.01) == 0.5  # below d_targ / 1.5
    assert adapted_kl_beta(1.0, kl=0.01, kl_dtarg=0.01) == 1.0
    assert adapted_kl_beta(1.0, kl=0.0149, kl_dtarg=0.01) == 1.0


def test_ppo_type_kl_uses_the_penalty_and_not_the_clip():
    run = prepared("PPO", "CartPole-v1", "algo_cfg.ppo_type=kl", "algo_cfg.kl_beta=3.0")
    ratio, advantages, kl = torch.tensor([1.5, 0.5]), torch.tensor([1.0, -1.0]), torch.tensor(0.2)
    loss = run.agent.policy_loss(ratio, advantages, 0.2, kl)
    assert loss.item() == pytest.approx(-(1.5 - 0.5) / 2 + 3.0 * 0.2)  # unclipped surrogate - beta KL
    clip_run = prepared("PPO", "CartPole-v1")
    assert clip_run.agent.policy_loss(ratio, advantages, 0.2, None).item() == pytest.approx(-(1.2 - 0.8) / 2)
    for r in (run, clip_run):
        r.env.close()


@pytest.mark.parametrize(("lr", "expected_beta"), [(0.05, 2.0), (1e-6, 0.5)])
def test_ppo_kl_update_adapts_beta_from_the_measured_kl(lr, expected_beta):
    """A large step moves the policy far (KL > 1.5 d_targ: beta doubles), a tiny one barely (beta halves)."""
    run = prepared(
        "PPO", "CartPole-v1", "algo_cfg.ppo_type=kl", f"algo_cfg.lr={lr}", "algo_cfg.n_epochs=4", "algo_cfg.batch_size=64"
    )
    agent = run.agent
    fill_rollout(agent)
    agent.rollout.advantages.copy_(torch.randn(agent.rollout.advantages.shape, generator=torch.Generator().manual_seed(0)))
    stats = agent.learn()
    assert stats["kl_beta"] == agent.kl_beta == expected_beta == adapted_kl_beta(1.0, stats["kl"], 0.01)
    run.env.close()


def fill_rollout(agent, seed=0):
    """A full rollout of random observations with the agent's own actions; advantages 0 (only the entropy moves)."""
    rng = np.random.default_rng(seed)
    n_envs = agent.cfg.n_envs
    while not agent.rollout.full:
        agent.sample_action(rng.normal(size=(n_envs, agent.cfg.n_states)).astype(np.float32))
        agent.store_transition(
            np.zeros(n_envs, np.float32), None, np.zeros(n_envs, bool), np.zeros(n_envs, bool), np.ones(n_envs, bool)
        )
    agent.rollout.advantages.zero_()
    agent.rollout.returns.zero_()


@pytest.mark.parametrize(
    ("algo", "env"), [("PPO", "CartPole-v1"), ("PPO", "Pendulum-v1"), ("A2C", "CartPole-v1"), ("A2C", "Pendulum-v1")]
)
def test_the_entropy_bonus_raises_the_entropy(algo, env):
    extra = ["algo_cfg.n_epochs=1", "algo_cfg.normalize_advantage=false"] if algo == "PPO" else []
    run = prepared(algo, env, "algo_cfg.ent_coef=1.0", "algo_cfg.vf_coef=0.0", "algo_cfg.lr=0.001", *extra)
    agent = run.agent
    if not agent.continuous:  # start far from the uniform policy, where the entropy has room to grow
        agent.actor[-1].bias.data = torch.tensor([2.0, -2.0])
    fill_rollout(agent)
    observations = agent.rollout.flat_observations()

    def entropy():
        with torch.no_grad():
            return agent.log_prob_entropy(agent.distribution(observations), agent.rollout.actions.flatten(0, 1))[1].mean().item()

    before = entropy()
    agent.learn()
    assert entropy() > before
    run.env.close()


def test_a2c_takes_one_gradient_step_on_the_whole_rollout():
    run = prepared("A2C", "CartPole-v1")
    agent = run.agent
    assert isinstance(agent.optimizer, torch.optim.RMSprop)
    fill_rollout(agent)
    agent.learn()
    assert agent.optimizer.state_dict()["state"][0]["step"].item() == 1
    run.env.close()


@pytest.mark.parametrize(
    "overrides",
    [
        ["algo_cfg.squash=true", "algo_cfg.normalize_obs=true", "algo_cfg.normalize_reward=true"],
        ["algo_cfg.ppo_type=kl", "algo_cfg.clip_range_vf=0.2", "algo_cfg.target_kl=0.01"],
    ],
)
def test_ppo_trains_on_box_actions(overrides, tmp_path):
    args = ["--algo", "PPO", "--env", "Pendulum-v1", "--seed", "2", "general_cfg.max_env_steps=600", "general_cfg.eval_per_episode=2",
            "general_cfg.online_eval_episode=1", "algo_cfg.n_envs=2", "algo_cfg.n_steps=64", "algo_cfg.batch_size=32", *overrides]  # fmt: skip
    folder = train(args, tmp_path)
    rows = read_csv(folder / "results" / "train_stats.csv")
    assert rows and all(np.isfinite(float(value)) for row in rows for value in row.values() if value)
    predicted = Run(config_from_args([*args, "--mode", "test", "--load", str(folder)]))
    predicted.prepare()
    action = predicted.agent.predict_action(predicted.env.reset(seed=0)[0])
    assert action.shape == (1,) and -2.0 <= action[0] <= 2.0
    predicted.env.close()


def test_ppo_honours_the_action_mask_of_a_dict_observation():
    run = prepared("PPO", "CartPole-v1")
    agent = run.agent
    from gymnasium import spaces

    cfg = run.cfg
    cfg.obs_space = spaces.Dict({"vector": spaces.Box(-np.inf, np.inf, (4,), np.float32), "action_mask": spaces.MultiBinary(2)})
    cfg.actor_layers = cfg.critic_layers = {"vector": [{"layer_type": "linear", "layer_size": [8], "activation": "tanh"}]}
    agent = type(agent)(cfg)
    states = {"vector": np.random.default_rng(0).normal(size=(cfg.n_envs, 4)).astype(np.float32),
              "action_mask": np.tile([0, 1], (cfg.n_envs, 1)).astype(np.int8)}  # fmt: skip
    for _ in range(5):
        assert (agent.sample_action(states) == 1).all()
    assert agent.predict_action({name: part[0] for name, part in states.items()}) == 1
    run.env.close()
