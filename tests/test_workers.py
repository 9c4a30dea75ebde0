"""The acting side of mp_backend ray, run in this process (no Ray needed): seeds, chunks, taps, rollouts."""

import numpy as np
import pytest
import torch

from joyrl.cli import config_from_args
from joyrl.rollout import RolloutStorage
from joyrl.runner import Run
from joyrl.workers import RolloutChunk, RolloutWorker, TransitionChunk, worker_seed
from tests.helpers import SMALL_NET


def prepared_cfg(*args: str):
    """A config with the env's facts filled in, as the learner hands it to its workers."""
    run = Run(config_from_args(list(args)))
    run.prepare()
    run.env.close()
    return run.cfg, run.agent


def dqn_worker(kind: str = "transitions", worker_steps: int = 50, envs: int = 1) -> RolloutWorker:
    cfg, _ = prepared_cfg("--algo", "DQN", "--env", "CartPole-v1", "--seed", "3", SMALL_NET)
    cfg.worker_steps, cfg.envs_per_worker = worker_steps, envs
    return RolloutWorker(cfg, 0, kind, 2)


def test_worker_seeds_differ_by_worker_repeat_by_seed_and_keep_an_unseeded_run_unseeded():
    seeds = [worker_seed(7, worker) for worker in range(4)]
    assert len(set(seeds)) == 4 and all(seed > 0 for seed in seeds)
    assert seeds == [worker_seed(7, worker) for worker in range(4)]
    assert worker_seed(8, 0) != seeds[0]
    assert worker_seed(0, 3) == 0


def episodes_from(chunks: list[TransitionChunk]) -> list[tuple[float, int]]:
    """(return, length) of each episode, rebuilt from the transitions and the episode ends of consecutive chunks."""
    episodes, reward, length = [], 0.0, 0
    for chunk in chunks:
        ends = set(chunk.episode_ends)
        for count, (_, _, r, _, _) in enumerate(chunk.transitions, 1):
            reward, length = reward + r, length + 1
            if count in ends:
                episodes.append((reward, length))
                reward, length = 0.0, 0
    return episodes


def test_transition_chunks_cut_episodes_and_continue_them_in_the_next_chunk():
    worker = dqn_worker()
    chunks = [worker.collect(None, 0, 0) for _ in range(6)]
    assert all(isinstance(chunk, TransitionChunk) and chunk.env_steps == 50 for chunk in chunks)
    reported = [(result["ep_reward"], result["ep_step"]) for chunk in chunks for _, result in chunk.episodes]
    assert len(reported) >= 5
    assert episodes_from(chunks)[: len(reported)] == reported
    # each transition's next state is the following transition's state within an episode
    first = chunks[0].transitions
    ends = set(chunks[0].episode_ends)
    for count in range(1, len(first)):
        if count not in ends:
            np.testing.assert_array_equal(first[count - 1][3], first[count][0])
    # each episode ends exactly once: terminated there, or truncated (never on CartPole within 300 steps)
    assert all(first[end - 1][4] for end in chunks[0].episode_ends)


def test_whole_episode_chunks_end_at_an_episode_end():
    worker = dqn_worker("episodes", worker_steps=30)
    for _ in range(3):
        chunk = worker.collect(None, 0, 0)
        assert chunk.env_steps >= 30
        assert chunk.episode_ends[-1] == chunk.env_steps
        assert chunk.episodes[-1][0] == chunk.env_steps


def test_worker_envs_take_turns_and_the_schedules_count_the_whole_pool():
    worker = dqn_worker(envs=2)
    worker.collect(None, 0, 0)
    assert worker.next_env == 1
    worker.collect(None, 0, 0)
    assert worker.next_env == 0
    assert worker.agent.sample_count == 2 * 100  # 100 own steps, in a pool of 2 workers


def test_weights_from_the_learner_replace_the_acting_networks_and_set_the_clock():
    worker = dqn_worker()
    cfg, learner = prepared_cfg("--algo", "DQN", "--env", "CartPole-v1", "--seed", "4", SMALL_NET)
    state = learner.state_dict()
    chunk = worker.collect({name: state[name] for name in learner.weights}, 12, 5_000)
    assert chunk.version == 12 and worker.version == 12
    for mine, theirs in zip(worker.agent.policy_net.parameters(), learner.policy_net.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert worker.agent.sample_count == 5_000 + 2 * 50


def test_rollout_worker_sends_a_full_rollout_of_its_envs_with_the_next_observations():
    cfg, _ = prepared_cfg("--algo", "PPO", "--env", "CartPole-v1", "--seed", "3", "algo_cfg.n_steps=16")
    cfg.n_envs = cfg.envs_per_worker = 2
    worker = RolloutWorker(cfg, 1, "rollouts", 2)
    chunks = [worker.collect(None, 0, 0) for _ in range(4)]
    assert all(isinstance(chunk, RolloutChunk) for chunk in chunks)
    rollout = chunks[0].rollout
    assert rollout["observations"].shape == (16, 2, 4)
    assert rollout["rewards"].shape == rollout["valid"].shape == (16, 2)
    assert chunks[0].next_states.shape == (2, 4)
    assert sum(len(chunk.episodes) for chunk in chunks) >= 2
    # the next rollout starts where the last one stopped: its first observations are the next_states sent
    np.testing.assert_array_equal(chunks[1].rollout["observations"][0], chunks[0].next_states)
    assert worker.agent.sample_count == 4 * 16 * 2


def storage(n_envs: int, fill: float) -> RolloutStorage:
    rollout = RolloutStorage(3, n_envs, (2,), ())
    for t in range(3):
        observations = torch.full((n_envs, 2), fill + t)
        actions = torch.arange(n_envs) + int(fill)
        values = torch.full((n_envs,), fill)
        rewards = np.full(n_envs, fill + t, dtype=np.float32)
        done = np.full(n_envs, t == 1)
        rollout.add(observations, actions, values * 0.5, values, rewards, done, ~done & (t == 2), np.full(n_envs, t != 2))
    return rollout


def test_rollouts_exported_by_workers_load_side_by_side_along_the_env_axis():
    first, second = storage(1, 10.0), storage(2, 20.0)
    learner = RolloutStorage(3, 3, (2,), ())
    learner.load([first.export(), second.export()])
    assert learner.full
    torch.testing.assert_close(learner.observations, torch.cat([first.observations, second.observations], dim=1))
    torch.testing.assert_close(learner.actions, torch.cat([first.actions, second.actions], dim=1))
    torch.testing.assert_close(learner.log_probs, torch.cat([first.log_probs, second.log_probs], dim=1))
    for key in ("rewards", "terminated", "dones", "valid"):
        np.testing.assert_array_equal(getattr(learner, key), np.concatenate([getattr(first, key), getattr(second, key)], axis=1))
    learner.compute_gae(torch.zeros(3), 0.9, 0.95)
    alone = storage(2, 20.0)
    alone.compute_gae(torch.zeros(2), 0.9, 0.95)
    torch.testing.assert_close(learner.advantages[:, 1:], alone.advantages)  # each env's GAE stays its own


@pytest.mark.parametrize(
    ("algo", "env"),
    [
        ("DRQN", "CartPole-v1"),
        ("REINFORCE", "CartPole-v1"),
        ("QLearning", "CliffWalking-v1"),
        ("BC", "CartPole-v1"),
        ("GAIL", "CartPole-v1"),
    ],
)
def test_algorithms_that_cannot_run_on_workers_are_refused_before_ray_starts(algo, env, cli):
    result = cli("--algo", algo, "--env", env, "general_cfg.mp_backend=ray", "general_cfg.n_workers=2")
    assert result.code == 2 and result.folder is None
    assert "mp_backend" in result.err and result.err.count("\n") == 1


def test_the_cpu_bound_wrapper_changes_nothing_the_agent_sees():
    import gymnasium as gym

    from envs.cpu_bound import CostlyStep

    plain, costly = gym.make("CartPole-v1"), CostlyStep(gym.make("CartPole-v1"), work=5)
    for env in (plain, costly):
        env.reset(seed=11)
    for action in [0, 1, 1, 0, 1] * 4:
        first, second = plain.step(action), costly.step(action)
        np.testing.assert_array_equal(first[0], second[0])
        assert first[1:4] == second[1:4]
    with pytest.raises(ValueError, match="work must be >= 0"):
        CostlyStep(gym.make("CartPole-v1"), work=-1)


def test_apex_epsilons_fall_from_0_4_over_the_workers_and_replace_the_schedule():
    from joyrl.workers import apex_epsilon

    assert apex_epsilon(0, 1) == 0.4
    assert apex_epsilon(0, 8) == pytest.approx(0.4) and apex_epsilon(7, 8) == pytest.approx(0.4**8)
    epsilons = [apex_epsilon(i, 4) for i in range(4)]
    assert epsilons == sorted(epsilons, reverse=True)
    cfg, _ = prepared_cfg("--algo", "DQN", "--env", "CartPole-v1", SMALL_NET, "general_cfg.worker_epsilon=apex")
    cfg.envs_per_worker = 1
    worker = RolloutWorker(cfg, 3, "transitions", 4)
    assert worker.agent.exploration_epsilon() == pytest.approx(0.4**8)
    worker.collect(None, 0, 100_000)
    assert worker.agent.exploration_epsilon() == pytest.approx(0.4**8)


def test_apex_epsilon_is_refused_for_agents_that_explore_otherwise(cli):
    result = cli("--algo", "NoisyDQN", "general_cfg.mp_backend=ray", "general_cfg.worker_epsilon=apex")
    assert result.code == 2 and result.folder is None
    assert "worker_epsilon apex" in result.err
