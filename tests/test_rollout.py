"""On-policy rollout storage (GAE), running normalisers and the vector-env loop."""

import numpy as np
import pytest
import torch

from joyrl.cli import config_from_args
from joyrl.envs import make_env
from joyrl.normalizers import ObservationNormalizer, RewardScaler, RunningMeanStd
from joyrl.rollout import RolloutStorage
from joyrl.runner import Run
from joyrl.vector_loop import VectorTrainer


def storage_with(rewards, values, terminated, truncated, valid) -> RolloutStorage:
    """A (T, N) rollout of 1-d observations holding the given per-step arrays."""
    rewards, values = np.asarray(rewards, np.float32), np.asarray(values, np.float32)
    n_steps, n_envs = rewards.shape
    storage = RolloutStorage(n_steps, n_envs, (1,), ())
    for t in range(n_steps):
        storage.add(
            torch.full((n_envs, 1), float(t)),
            torch.zeros(n_envs, dtype=torch.long),
            torch.zeros(n_envs),
            torch.from_numpy(values[t]),
            rewards[t],
            np.asarray(terminated[t]),
            np.asarray(truncated[t]),
            np.asarray(valid[t]),
        )
    return storage


def test_gae_by_hand_with_a_truncation_a_termination_and_the_reset_steps():
    # env 0: t0, t1 truncated, t2 the NEXT_STEP reset step (its value is V(final obs of t1)),
    #        t3 terminated, t4 the reset step (its value must not be used: terminated)
    # env 1: no episode end; bootstraps from last_values
    T, F = True, False
    storage = storage_with(
        rewards=[[1, 0], [1, 0], [0, 0], [1, 0], [0, 0]],
        values=[[0.5, 1], [0.6, 1], [2.0, 1], [0.4, 1], [3.0, 1]],
        terminated=[[F, F], [F, F], [F, F], [T, F], [F, F]],
        truncated=[[F, F], [T, F], [F, F], [F, F], [F, F]],
        valid=[[T, T], [T, T], [F, T], [T, T], [F, T]],
    )
    storage.compute_gae(torch.tensor([0.7, 2.0]), gamma=0.9, gae_lambda=0.8)
    advantages = storage.advantages.numpy()
    # t3: 1 + 0 - 0.4 = 0.6;  t1: 1 + 0.9 * 2.0 - 0.6 = 2.2 (bootstrapped from the final obs' value);
    # t0: (1 + 0.9 * 0.6 - 0.5) + 0.9 * 0.8 * 2.2 = 2.624;  reset steps: 0
    np.testing.assert_allclose(advantages[:, 0], [2.624, 2.2, 0.0, 0.6, 0.0], atol=1e-6)
    np.testing.assert_allclose(storage.returns.numpy()[[0, 1, 3], 0], [3.124, 2.8, 1.0], atol=1e-6)
    # env 1: delta = 0.9 * 1 - 1 = -0.1 for t < 4 and 0.9 * 2 - 1 = 0.8 at t4; A_t = sum_k (0.72)^k delta_{t+k}
    deltas = [-0.1, -0.1, -0.1, -0.1, 0.8]
    expected = [sum(0.72**k * d for k, d in enumerate(deltas[t:])) for t in range(5)]
    np.testing.assert_allclose(advantages[:, 1], expected, atol=1e-6)


def test_minibatches_cover_every_valid_sample_once():
    T, F = True, False
    valid = [[T, F, T], [T, T, F], [F, T, T], [T, T, T]]
    storage = storage_with(np.zeros((4, 3)), np.zeros((4, 3)), np.zeros((4, 3), bool), np.zeros((4, 3), bool), valid)
    torch.manual_seed(0)
    batches = list(storage.minibatches(4))
    assert [len(b) for b in batches] == [4, 4, 1]
    flat = torch.cat(batches).sort().values
    assert flat.tolist() == np.flatnonzero(np.asarray(valid)).tolist()
    observations = storage.batch(flat).observations[:, 0]
    assert observations.tolist() == [i // 3 for i in flat.tolist()]  # (step, env) flattened step-major


def test_running_mean_std_matches_numpy():
    rng = np.random.default_rng(0)
    rms = RunningMeanStd((3,))
    batches = [rng.normal(loc=5.0, scale=[1.0, 2.0, 0.5], size=(int(rng.integers(1, 40)), 3)) for _ in range(20)]
    for batch in batches:
        rms.update(batch)
    everything = np.concatenate(batches)
    np.testing.assert_allclose(rms.mean, everything.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(rms.var, everything.var(axis=0), rtol=1e-4)
    restored = RunningMeanStd((3,))
    restored.load_state_dict(rms.state_dict())
    np.testing.assert_array_equal(restored.mean, rms.mean)


def test_observation_normaliser_standardises_clips_and_freezes():
    normaliser = ObservationNormalizer((2,), clip=5.0)
    data = np.random.default_rng(1).normal([10.0, -4.0], [2.0, 0.1], size=(500, 2))
    out = normaliser(data, update=True)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-2)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-2)
    mean = normaliser.rms.mean.copy()
    assert normaliser(np.array([[1e6, 0.0]]), update=False)[0, 0] == 5.0
    np.testing.assert_array_equal(normaliser.rms.mean, mean)  # frozen when not updating


def test_reward_scaler_uses_the_discounted_return_and_resets_at_episode_ends():
    scaler = RewardScaler(n_envs=2, gamma=0.5)
    T, F = True, False
    scaler(np.array([1.0, 2.0]), dones=np.array([F, T]), valid=np.array([T, T]))
    np.testing.assert_allclose(scaler.returns, [1.0, 0.0])
    scaler(np.array([1.0, 9.0]), dones=np.array([F, F]), valid=np.array([T, F]))  # env 1's reset step is ignored
    np.testing.assert_allclose(scaler.returns, [1.5, 0.0])
    everything = np.array([1.0, 2.0, 1.5])  # the returns the statistics saw
    np.testing.assert_allclose(scaler.rms.var, everything.var(), rtol=1e-3)
    scaled = scaler(np.array([2.0, 2.0]), dones=np.array([F, F]), valid=np.array([T, T]))
    np.testing.assert_allclose(scaled, 2.0 / np.sqrt(scaler.rms.var + 1e-8), rtol=1e-6)


# --- the vector loop ---------------------------------------------------------------------------------


def policy(observations: np.ndarray) -> np.ndarray:
    """A deterministic CartPole policy of the observation (push towards the pole's lean)."""
    return (np.asarray(observations)[..., 2] > 0).astype(np.int64)


class RecordingAgent:
    """Acts with ``policy`` and records what the loop hands it."""

    def __init__(self, trainer=None, stop_after=None):
        self.calls, self.stored, self.trainer, self.stop_after = [], [], trainer, stop_after

    def sample_action(self, states):
        self.calls.append(np.array(states))
        if self.stop_after is not None and len(self.calls) == self.stop_after:
            self.trainer.stop_requested = True
        return policy(states)

    def store_transition(self, reward, next_state, terminated, truncated, valid):
        self.stored.append((reward.copy(), next_state.copy(), terminated.copy(), truncated.copy(), valid.copy()))

    def update(self):
        return {"loss": 1.0}

    def predict_action(self, state):
        return int(policy(state))


@pytest.fixture
def cartpole_cfg():
    cfg = config_from_args(
        ["--algo", "PPO", "--env", "CartPole-v1", "--seed", "3", "general_cfg.max_step=40", "algo_cfg.n_envs=3"]
    )
    cfg.device = "cpu"
    return cfg


def plain_episodes(cfg, seed: int, count: int) -> list[tuple[float, int, bool]]:
    """``count`` episodes of ``policy`` on one env seeded once: (return, length, truncated)."""
    env, episodes = make_env(cfg, seed), []
    state, _ = env.reset()
    ep_return, length = 0.0, 0
    while len(episodes) < count:
        state, reward, terminated, truncated, _ = env.step(int(policy(state)))
        ep_return, length = ep_return + reward, length + 1
        if terminated or truncated:
            episodes.append((ep_return, length, bool(truncated)))
            state, _ = env.reset()
            ep_return, length = 0.0, 0
    return episodes


def test_vector_loop_returns_the_episodes_of_plain_single_env_rollouts(cartpole_cfg):
    expected = [plain_episodes(cartpole_cfg, 3 + i, 6) for i in range(3)]
    assert any(truncated for episodes in expected for *_, truncated in episodes)  # max_step truncates some
    trainer, agent = VectorTrainer(), RecordingAgent()
    env = make_env(cartpole_cfg, 3)
    results = [trainer.train_one_episode(env, agent, cartpole_cfg) for _ in range(10)]
    remaining = [list(episodes) for episodes in expected]
    for result in results:
        episode = (result["ep_reward"], result["ep_step"])
        sources = [i for i, episodes in enumerate(remaining) if episodes and episodes[0][:2] == episode]
        assert sources, f"{episode} is no env's next episode: {remaining}"
        remaining[sources[0]].pop(0)
    # env_steps_taken adds up to the valid steps of all envs: the finished episodes plus the unfinished ones so far
    valid_steps = sum(int(stored[4].sum()) for stored in agent.stored)
    assert sum(result["env_steps_taken"] for result in results) == valid_steps
    assert results[0]["loss"] == 1.0  # the mean of the update stats since the previous result


def test_vector_loop_marks_the_reset_step_invalid_and_shows_the_final_observation(cartpole_cfg):
    trainer, agent = VectorTrainer(), RecordingAgent()
    env = make_env(cartpole_cfg, 3)
    for _ in range(4):
        trainer.train_one_episode(env, agent, cartpole_cfg)
    for t, (_, next_states, terminated, truncated, _) in enumerate(agent.stored[:-1]):
        for i in np.flatnonzero(terminated | truncated):
            reward, _, next_terminated, next_truncated, next_valid = agent.stored[t + 1]
            np.testing.assert_array_equal(agent.calls[t + 1][i], next_states[i])  # the agent acts on the final obs
            assert not next_valid[i] and reward[i] == 0.0 and not next_terminated[i] and not next_truncated[i]
    assert agent.stored[0][4].all()  # right after the reset every env's step is valid


def test_vector_loop_honours_a_stop_request(cartpole_cfg):
    trainer = VectorTrainer()
    env = make_env(cartpole_cfg, 3)
    trainer.stop_requested = True
    agent = RecordingAgent()
    assert trainer.train_one_episode(env, agent, cartpole_cfg) is None
    assert agent.calls == []
    trainer = VectorTrainer()
    agent = RecordingAgent(trainer, stop_after=3)
    assert trainer.train_one_episode(env, agent, cartpole_cfg) is None
    assert len(agent.calls) == 3


def test_ppo_truncation_bootstraps_from_the_value_of_the_final_observation():
    """One env, episodes cut at 5 steps: the advantage of step 4 uses V(final observation)."""
    cfg = config_from_args(
        ["--algo", "PPO", "--env", "CartPole-v1", "--seed", "5", "general_cfg.max_step=5", "algo_cfg.n_envs=1",
         "algo_cfg.n_steps=6", "algo_cfg.gamma=0.9", "algo_cfg.gae_lambda=0.5"]
    )  # fmt: skip
    run = Run(cfg)
    run.prepare()
    agent, seen = run.agent, {}

    def capture():
        seen["advantages"] = agent.rollout.advantages[:, 0].clone()
        seen["values"] = agent.rollout.values[:, 0].clone()
        seen["final_obs"] = agent.rollout.observations[5, 0].clone()
        return {}

    agent.learn = capture
    result = run.trainer.train_one_episode(run.env, agent, cfg)
    assert result["ep_step"] == 5  # truncated by max_step, CartPole does not fall in 5 steps
    run.trainer.train_one_episode(run.env, agent, cfg)  # step 5 (the reset step) fills the rollout: update
    with torch.no_grad():
        final_value = agent.critic(seen["final_obs"].unsqueeze(0)).item()
    values, advantages = seen["values"], seen["advantages"]
    assert values[5].item() == pytest.approx(final_value, abs=1e-6)
    assert advantages[4].item() == pytest.approx(1.0 + 0.9 * final_value - values[4].item(), abs=1e-5)
    assert advantages[5].item() == 0.0
    run.env.close()
