"""A single-file PPO in the style of CleanRL, written for benchmarks/speed.py: the script JoyRL's vector loop is measured against.

    python benchmarks/single_file/ppo.py [--env-id CartPole-v1] [--seed 1] [--total-timesteps 100000]

RL Zoo's CartPole-v1 hyperparameters (config/presets/CartPole-v1_PPO.yaml): 8 envs x 32 steps, 20 epochs
of one 256-sample minibatch, gamma 0.98, GAE lambda 0.8, learning rate 1e-3 and clip range 0.2 both
annealed linearly to 0, no entropy bonus, value loss weight 0.5, gradient norm clipped at 0.5, Adam
with eps 1e-5, separate 64-64 tanh actor and critic with orthogonal init (as SB3 and JoyRL's PPO).
Truncated episodes bootstrap from the value of their last observation, as JoyRL and SB3 do: the
vector env resets a sub-env in the step its episode ends (``SAME_STEP``) and hands the last
observation over in ``info``. No evaluation, no logging. Prints a JSON line: env steps, loop
seconds, env steps/s, episodes and the mean return of the last 20 episodes.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical


def layer(n_in: int, n_out: int, gain: float) -> nn.Linear:
    linear = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(linear.weight, gain)
    nn.init.zeros_(linear.bias)
    return linear


def mlp(n_in: int, n_out: int, output_gain: float) -> nn.Sequential:
    hidden = np.sqrt(2)
    return nn.Sequential(layer(n_in, 64, hidden), nn.Tanh(), layer(64, 64, hidden), nn.Tanh(), layer(64, n_out, output_gain))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="CartPole-v1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--total-timesteps", type=int, default=100_000)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--num-steps", type=int, default=32)
    parser.add_argument("--gamma", type=float, default=0.98)
    parser.add_argument("--gae-lambda", type=float, default=0.8)
    parser.add_argument("--minibatch-size", type=int, default=256)
    parser.add_argument("--update-epochs", type=int, default=20)
    parser.add_argument("--clip-coef", type=float, default=0.2)
    parser.add_argument("--ent-coef", type=float, default=0.0)
    parser.add_argument("--vf-coef", type=float, default=0.5)
    parser.add_argument("--max-grad-norm", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: fastest for small networks)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    envs = gym.vector.SyncVectorEnv(
        [lambda: gym.make(args.env_id) for _ in range(args.num_envs)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    n_obs, n_actions = envs.single_observation_space.shape[0], envs.single_action_space.n
    actor, critic = mlp(n_obs, n_actions, 0.01), mlp(n_obs, 1, 1.0)
    parameters = [*actor.parameters(), *critic.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=args.learning_rate, eps=1e-5)

    shape = (args.num_steps, args.num_envs)
    observations = torch.zeros((*shape, n_obs))
    actions = torch.zeros(shape, dtype=torch.long)
    log_probs = torch.zeros(shape)
    rewards = torch.zeros(shape)
    dones = torch.zeros(shape)
    values = torch.zeros(shape)
    batch_size = args.num_envs * args.num_steps
    n_iterations = args.total_timesteps // batch_size

    returns_seen: list[float] = []
    episode_returns = np.zeros(args.num_envs)
    obs = torch.from_numpy(envs.reset(seed=[args.seed + i for i in range(args.num_envs)])[0]).float()
    started = time.perf_counter()
    for iteration in range(n_iterations):
        remaining = 1.0 - iteration / n_iterations  # both schedules anneal linearly to 0 over the budget
        optimizer.param_groups[0]["lr"] = remaining * args.learning_rate
        clip = remaining * args.clip_coef

        for step in range(args.num_steps):
            observations[step] = obs
            with torch.no_grad():
                distribution = Categorical(logits=actor(obs))
                action = distribution.sample()
                log_probs[step] = distribution.log_prob(action)
                values[step] = critic(obs).squeeze(-1)
            actions[step] = action
            next_obs, reward, terminated, truncated, info = envs.step(action.numpy())
            episode_returns += reward
            reward = torch.from_numpy(reward).float()
            for i in np.flatnonzero(truncated & ~terminated):  # bootstrap through time limits
                with torch.no_grad():
                    final = torch.as_tensor(info["final_obs"][i], dtype=torch.float32)
                    reward[i] += args.gamma * critic(final).squeeze()
            rewards[step] = reward
            done = terminated | truncated
            dones[step] = torch.from_numpy(done).float()
            for i in np.flatnonzero(done):
                returns_seen.append(float(episode_returns[i]))
                episode_returns[i] = 0.0
            obs = torch.from_numpy(next_obs).float()

        with torch.no_grad():  # GAE(lambda), backwards over the rollout
            next_value = critic(obs).squeeze(-1)
            advantages = torch.zeros(shape)
            last = torch.zeros(args.num_envs)
            for step in reversed(range(args.num_steps)):
                following = next_value if step == args.num_steps - 1 else values[step + 1]
                not_done = 1.0 - dones[step]
                delta = rewards[step] + args.gamma * following * not_done - values[step]
                last = delta + args.gamma * args.gae_lambda * not_done * last
                advantages[step] = last
            returns = advantages + values

        flat_obs, flat_actions = observations.reshape(batch_size, n_obs), actions.reshape(-1)
        flat_log_probs, flat_advantages, flat_returns = log_probs.reshape(-1), advantages.reshape(-1), returns.reshape(-1)
        for _ in range(args.update_epochs):
            order = torch.randperm(batch_size)
            for start in range(0, batch_size, args.minibatch_size):
                index = order[start : start + args.minibatch_size]
                distribution = Categorical(logits=actor(flat_obs[index]))
                ratio = (distribution.log_prob(flat_actions[index]) - flat_log_probs[index]).exp()
                advantage = flat_advantages[index]
                advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                policy_loss = -torch.min(ratio * advantage, ratio.clamp(1 - clip, 1 + clip) * advantage).mean()
                value_loss = ((critic(flat_obs[index]).squeeze(-1) - flat_returns[index]) ** 2).mean()
                loss = policy_loss - args.ent_coef * distribution.entropy().mean() + args.vf_coef * value_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(parameters, args.max_grad_norm)
                optimizer.step()
    seconds = time.perf_counter() - started
    env_steps = n_iterations * batch_size
    result = {
        "env_steps": env_steps,
        "seconds": seconds,
        "steps_per_second": env_steps / seconds,
        "episodes": len(returns_seen),
        "last_returns": float(np.mean(returns_seen[-20:])) if returns_seen else 0.0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
