"""A single-file DQN in the style of CleanRL, written for benchmarks/speed.py: the script JoyRL's loop is measured against.

    python benchmarks/single_file/dqn.py [--env-id CartPole-v1] [--seed 1] [--total-timesteps 50000]

CleanRL's published DQN hyperparameters for CartPole-v1 (Q-network 120-84, Adam at 2.5e-4, a
10,000-transition buffer, batch 128, learning from 10,000 steps every 10 steps, the target copied
every 500 steps, epsilon 1 -> 0.05 over half the budget), and the update JoyRL's DQN makes with
them (algos/DQN/agent.py): the Huber loss, the gradient's norm clipped at 10, the target bootstrapping
through truncations. One env, no evaluation, no logging: all a single script pays is the env,
the network and its replay memory. Prints a JSON line: env steps, loop seconds, env steps/s,
episodes and the mean return of the last 20 episodes.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def linear_schedule(start: float, end: float, duration: int, t: int) -> float:
    return max(end, start + (end - start) * t / duration)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="CartPole-v1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--total-timesteps", type=int, default=50_000)
    parser.add_argument("--learning-rate", type=float, default=2.5e-4)
    parser.add_argument("--buffer-size", type=int, default=10_000)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--target-network-frequency", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--start-e", type=float, default=1.0)
    parser.add_argument("--end-e", type=float, default=0.05)
    parser.add_argument("--exploration-fraction", type=float, default=0.5)
    parser.add_argument("--learning-starts", type=int, default=10_000)
    parser.add_argument("--train-frequency", type=int, default=10)
    parser.add_argument("--max-grad-norm", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: fastest for small networks)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    env = gym.make(args.env_id)
    env.action_space.seed(args.seed)
    n_obs, n_actions = env.observation_space.shape[0], env.action_space.n

    q_network = nn.Sequential(nn.Linear(n_obs, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, n_actions))
    target_network = nn.Sequential(nn.Linear(n_obs, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, n_actions))
    target_network.load_state_dict(q_network.state_dict())
    optimizer = torch.optim.Adam(q_network.parameters(), lr=args.learning_rate)

    size = args.buffer_size
    observations = np.zeros((size, n_obs), dtype=np.float32)
    next_observations = np.zeros((size, n_obs), dtype=np.float32)
    actions = np.zeros(size, dtype=np.int64)
    rewards = np.zeros(size, dtype=np.float32)
    terminations = np.zeros(size, dtype=np.float32)
    position, full = 0, False

    returns, episode_return = [], 0.0
    obs, _ = env.reset(seed=args.seed)
    started = time.perf_counter()
    for global_step in range(args.total_timesteps):
        epsilon = linear_schedule(args.start_e, args.end_e, int(args.exploration_fraction * args.total_timesteps), global_step)
        if random.random() < epsilon:
            action = env.action_space.sample()
        else:
            with torch.no_grad():
                action = int(q_network(torch.from_numpy(obs)).argmax())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        episode_return += float(reward)

        observations[position], next_observations[position] = obs, next_obs
        actions[position], rewards[position], terminations[position] = action, reward, terminated
        position = (position + 1) % size
        full = full or position == 0
        obs = next_obs
        if terminated or truncated:
            returns.append(episode_return)
            episode_return = 0.0
            obs, _ = env.reset()

        if global_step > args.learning_starts:
            if global_step % args.train_frequency == 0:
                index = np.random.randint(0, size if full else position, size=args.batch_size)
                with torch.no_grad():
                    target_max = target_network(torch.from_numpy(next_observations[index])).max(dim=1).values
                    td_target = torch.from_numpy(rewards[index]) + args.gamma * target_max * (
                        1 - torch.from_numpy(terminations[index])
                    )
                chosen = q_network(torch.from_numpy(observations[index])).gather(1, torch.from_numpy(actions[index]).unsqueeze(1))
                loss = F.smooth_l1_loss(chosen.squeeze(1), td_target)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(q_network.parameters(), args.max_grad_norm)
                optimizer.step()
            if global_step % args.target_network_frequency == 0:
                target_network.load_state_dict(q_network.state_dict())
    seconds = time.perf_counter() - started
    result = {
        "env_steps": args.total_timesteps,
        "seconds": seconds,
        "steps_per_second": args.total_timesteps / seconds,
        "episodes": len(returns),
        "last_returns": float(np.mean(returns[-20:])) if returns else 0.0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
