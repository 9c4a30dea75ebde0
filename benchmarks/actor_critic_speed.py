"""SAC and TD3 speed on one CPU thread: the hardware's floor, a bare PyTorch loop, JoyRL and Stable-Baselines3.

    python benchmarks/actor_critic_speed.py [--repeats 3] [--updates 300] [--learn-steps 1000] [--no-sb3]

RL Zoo's Pendulum-v1 hyperparameters (config/presets/Pendulum-v1_{SAC,TD3}.yaml): SAC 256x256
networks, TD3 400x300, batch 256, one gradient step per env step (TD3: the actor every second).

1. FLOPs of one gradient step, counted from the matmuls (forward 1x; backward 1x for the weight
   gradient and 1x for the input gradient where it is needed), and a 256x256x256 matmul's GFLOP/s:
   what the hardware allows for that step.
2. Bare PyTorch: that gradient step written directly on one fixed batch (twin critics as separate
   MLPs, fused Adam, critic weights frozen in the actor's loss, ``_foreach`` target update), in ms per
   update; variants: the twin critics as one batched ensemble (stacked weights, ``torch.baddbmm``),
   and glibc's malloc told to keep freed memory (``mallopt``) so that activations do not page-fault.
3. JoyRL: the preset's agent and ``StepTrainer`` on Pendulum-v1: env steps/s during the random
   ``learning_starts`` phase and during learning, and the rate over RL Zoo's 20,000 steps from them.
4. Stable-Baselines3 (``pip install -r requirements-bench.txt``), the same way.

Every measurement runs in a fresh process (``--worker``), one at a time, alternating over the
repeats; the medians are written to benchmarks/results/actor_critic_speed.md. Other work on the
machine slows every figure: the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BATCH, OBS, ACT = 256, 3, 1
LAYERS = {"SAC": (256, 256), "TD3": (400, 300)}
TOTAL_STEPS = 20_000  # RL Zoo's n_timesteps for both
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def update_flops(algo: str) -> float:
    """FLOPs of one gradient step (2 per multiply-add), from the matmuls only."""
    hidden = LAYERS[algo]
    critic = [OBS + ACT, *hidden, 1]
    actor = [OBS, *hidden, 2 * ACT if algo == "SAC" else ACT]

    def forward(sizes: list[int]) -> float:
        return sum(2.0 * BATCH * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def input_grads(sizes: list[int]) -> float:  # every layer but the first passes a gradient to its input
        return forward(sizes) - 2.0 * BATCH * sizes[0] * sizes[1]

    target = forward(actor) + 2 * forward(critic)  # mu'(s') or pi(s'), twin target critics
    critic_step = 2 * (2 * forward(critic) + input_grads(critic))  # forward, weight and input gradients
    actor_step = forward(actor) * 2 + input_grads(actor)  # forward, weight gradients, input gradients
    actor_step += (2 if algo == "SAC" else 1) * (forward(critic) + forward(critic))  # critic(s, a): forward, to a
    return target + critic_step + actor_step / (1 if algo == "SAC" else 2)  # TD3's actor: every second step


def gemm_gflops() -> float:
    a, b = torch.randn(256, 256), torch.randn(256, 256)
    for _ in range(20):
        a @ b
    start, n = time.perf_counter(), 300
    for _ in range(n):
        a @ b
    return 2 * 256**3 / ((time.perf_counter() - start) / n) / 1e9


# ------------------------------------------------------------------ bare PyTorch


class Ensemble(nn.Module):
    """Two critics with their weights stacked, (2, in, out), evaluated by ``torch.baddbmm``: (2, B)."""

    def __init__(self, hidden: tuple[int, int]) -> None:
        super().__init__()
        sizes = [OBS + ACT, *hidden, 1]
        bounds = [1 / math.sqrt(n) for n in sizes[:-1]]  # nn.Linear's initialisation range
        pairs = list(zip(sizes[:-1], sizes[1:], bounds, strict=True))
        self.w = nn.ParameterList(nn.Parameter(torch.empty(2, a, b).uniform_(-r, r)) for a, b, r in pairs)
        self.b = nn.ParameterList(nn.Parameter(torch.empty(2, 1, b).uniform_(-r, r)) for _, b, r in pairs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.expand(2, *x.shape)
        for i, (w, b) in enumerate(zip(self.w, self.b, strict=True)):
            x = torch.baddbmm(b, x, w)
            x = F.relu(x) if i < len(self.w) - 1 else x
        return x.squeeze(-1)


class Twins(nn.Module):
    """Two separate critic MLPs (what joyrl.critics.Critics does): (2, B)."""

    def __init__(self, hidden: tuple[int, int]) -> None:
        super().__init__()
        self.q = nn.ModuleList([mlp(OBS + ACT, hidden, 1), mlp(OBS + ACT, hidden, 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([q(x).squeeze(1) for q in self.q])


def mlp(n_in: int, hidden: tuple[int, int], n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden[0]), nn.ReLU(), nn.Linear(*hidden), nn.ReLU(), nn.Linear(hidden[1], n_out))


class BareLoop:
    """One SAC or TD3 gradient step on a fixed batch, in plain PyTorch (``step``)."""

    def __init__(self, algo: str, ensemble: bool) -> None:
        torch.manual_seed(0)
        hidden = LAYERS[algo]
        self.algo, self.count = algo, 0
        self.actor = mlp(OBS, hidden, 2 * ACT if algo == "SAC" else ACT)
        self.critic = Ensemble(hidden) if ensemble else Twins(hidden)
        self.actor_target, self.critic_target = copy.deepcopy(self.actor), copy.deepcopy(self.critic)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), 1e-3, fused=True)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), 1e-3, fused=True)
        self.log_alpha = torch.zeros(1, requires_grad=True)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], 1e-3)
        self.s, self.a, self.r = torch.randn(BATCH, OBS), torch.rand(BATCH, ACT) * 2 - 1, torch.randn(BATCH)
        self.s2, self.done = torch.randn(BATCH, OBS), torch.zeros(BATCH)

    def policy(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.algo == "TD3":
            return torch.tanh(self.actor(x)), None
        mean, log_std = self.actor(x).chunk(2, -1)
        std = log_std.clamp(-20, 2).exp()
        u = mean + std * torch.randn_like(mean)
        log_prob = (-0.5 * ((u - mean) / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        return torch.tanh(u), log_prob - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)

    @torch.no_grad()
    def target(self, alpha: torch.Tensor) -> torch.Tensor:
        if self.algo == "SAC":
            a2, log_prob2 = self.policy(self.s2)
            next_q = self.critic_target(torch.cat([self.s2, a2], 1)).min(0).values - alpha * log_prob2
        else:
            noise = (torch.randn(BATCH, ACT) * 0.2).clamp(-0.5, 0.5)
            a2 = (torch.tanh(self.actor_target(self.s2)) + noise).clamp(-1, 1)
            next_q = self.critic_target(torch.cat([self.s2, a2], 1)).min(0).values
        return self.r + 0.99 * (1 - self.done) * next_q

    def step(self) -> None:
        alpha = self.log_alpha.detach().exp()
        loss = (self.critic(torch.cat([self.s, self.a], 1)) - self.target(alpha)).square().mean(1).sum()
        self.critic_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer.step()
        self.count += 1
        if self.algo == "SAC" or self.count % 2 == 0:
            self.actor_step(alpha)

    def actor_step(self, alpha: torch.Tensor) -> None:
        action, log_prob = self.policy(self.s)
        critic_params = list(self.critic.parameters())
        for p in critic_params:
            p.requires_grad_(False)
        x = torch.cat([self.s, action], 1)
        q = self.critic(x) if self.algo == "SAC" else self.critic.q[0](x).squeeze(1)[None]  # TD3: Q_1 only
        for p in critic_params:
            p.requires_grad_(True)
        actor_loss = (alpha * log_prob - q.min(0).values).mean() if self.algo == "SAC" else -q[0].mean()
        self.actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optimizer.step()
        if self.algo == "SAC":
            alpha_loss = -(self.log_alpha * (log_prob.detach() - ACT)).mean()
            self.alpha_optimizer.zero_grad(set_to_none=True)
            alpha_loss.backward()
            self.alpha_optimizer.step()
        with torch.no_grad():
            torch._foreach_lerp_(list(self.critic_target.parameters()), critic_params, 0.005)
            if self.algo == "TD3":
                torch._foreach_lerp_(list(self.actor_target.parameters()), list(self.actor.parameters()), 0.005)


def time_steps(step, n: int) -> float:
    for _ in range(min(50, n)):
        step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n * 1e3


# ------------------------------------------------------------------ JoyRL and SB3 on the env


def joyrl_rates(algo: str, learn_steps: int) -> dict[str, float]:
    """Env steps/s of the preset's random phase and of ``learn_steps`` learning steps (whole episodes)."""
    from joyrl.cli import config_from_args
    from joyrl.runner import Run

    cfg = config_from_args(["--yaml", str(ROOT / "config" / "presets" / f"Pendulum-v1_{algo}.yaml"), "--seed", "1"])
    run = Run(cfg)
    run.prepare()
    steps, phases = 0, {"random": [0, 0.0], "learning": [0, 0.0], "mixed": [0, 0.0]}
    while phases["learning"][0] < learn_steps:  # whole episodes; the one where learning starts is left out
        phase = "random" if steps + 200 <= cfg.learning_starts else "learning" if steps >= cfg.learning_starts else "mixed"
        start = time.perf_counter()
        result = run.trainer.train_one_episode(run.env, run.agent, cfg)
        phases[phase][1] += time.perf_counter() - start
        phases[phase][0] += result["ep_step"]
        steps += result["ep_step"]
    return rates(phases, cfg.learning_starts)


def sb3_rates(algo: str, learn_steps: int) -> dict[str, float]:
    import gymnasium as gym
    import numpy as np
    from stable_baselines3 import SAC, TD3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise

    env = gym.make("Pendulum-v1")
    if algo == "SAC":
        model = SAC("MlpPolicy", env, learning_rate=1e-3, seed=1, device="cpu")
    else:
        noise = NormalActionNoise(np.zeros(1), 0.1 * np.ones(1))
        model = TD3(
            "MlpPolicy", env, learning_rate=1e-3, gamma=0.98, buffer_size=200_000, learning_starts=10_000,
            action_noise=noise, policy_kwargs={"net_arch": [400, 300]}, seed=1, device="cpu",
        )  # fmt: skip
    starts = model.learning_starts

    class Clock(BaseCallback):
        def _on_training_start(self) -> None:
            self.times = {"start": time.perf_counter()}

        def _on_step(self) -> bool:
            if self.num_timesteps == starts:
                self.times["learning"] = time.perf_counter()
            return True

    clock = Clock()
    model.learn(starts + learn_steps, callback=clock)
    end = time.perf_counter()
    phases = {
        "random": [starts, clock.times["learning"] - clock.times["start"]],
        "learning": [learn_steps, end - clock.times["learning"]],
    }
    return rates(phases, starts)


def rates(phases: dict[str, list], learning_starts: int) -> dict[str, float]:
    random_rate = phases["random"][0] / phases["random"][1] if phases["random"][0] else math.inf
    learning_rate = phases["learning"][0] / phases["learning"][1]
    seconds = learning_starts / random_rate + (TOTAL_STEPS - learning_starts) / learning_rate
    return {"random_steps_per_s": random_rate, "learning_steps_per_s": learning_rate, "steps_per_s_20k": TOTAL_STEPS / seconds}


# ------------------------------------------------------------------ driver


def worker(name: str, args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    algo, kind = name.split(":")
    if kind == "bare_mallopt":
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 30)
    if kind == "gemm":
        return {"gflops": gemm_gflops()}
    if kind.startswith("bare"):
        return {"ms_per_update": time_steps(BareLoop(algo, ensemble=False).step, args.updates)}
    if kind == "ensemble":
        return {"ms_per_update": time_steps(BareLoop(algo, ensemble=True).step, args.updates)}
    if kind == "joyrl":
        return joyrl_rates(algo, args.learn_steps)
    return sb3_rates(algo, args.learn_steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--updates", type=int, default=300, help="gradient steps timed in each bare loop")
    parser.add_argument(
        "--learn-steps", type=int, default=1000, help="learning env steps timed on the env, after learning_starts"
    )
    parser.add_argument("--no-sb3", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    kinds = ["bare", "bare_mallopt", "ensemble", "joyrl"] + ([] if args.no_sb3 else ["sb3"])
    names = ["SAC:gemm"] + [
        f"{algo}:{kind}" for algo in ("SAC", "TD3") for kind in kinds if not (algo == "TD3" and kind == "ensemble")
    ]
    results: dict[str, list[dict]] = {name: [] for name in names}
    loads = []
    for _ in range(args.repeats):
        for name in names:
            loads.append(os.getloadavg()[0])
            command = [sys.executable, __file__, "--worker", name, "--updates", str(args.updates)]
            output = subprocess.run(
                [*command, "--learn-steps", str(args.learn_steps)], capture_output=True, text=True, check=True
            )
            results[name].append(json.loads(output.stdout.strip().splitlines()[-1]))
            print(name, results[name][-1], flush=True)
    write_report(results, args, median(results["SAC:gemm"], "gflops"), loads)


def median(results: list[dict], key: str) -> float:
    return statistics.median(result[key] for result in results)


def write_report(results: dict[str, list[dict]], args: argparse.Namespace, gflops: float, loads: list[float]) -> None:
    lines = [
        "# SAC and TD3 speed on one CPU thread (Pendulum-v1, RL Zoo hyperparameters)",
        "",
        f"`python benchmarks/actor_critic_speed.py --repeats {args.repeats} --updates {args.updates} "
        f"--learn-steps {args.learn_steps}`, {date.today()}, {os.cpu_count()} CPUs, load average during the runs "
        f"{min(loads):.1f}-{max(loads):.1f}; medians of {args.repeats} fresh processes each.",
        "",
        f"A 256x256x256 matmul runs at {gflops:.0f} GFLOP/s on one thread here.",
        "",
        "| | SAC | TD3 |",
        "|---|---|---|",
    ]
    flops = {algo: update_flops(algo) for algo in ("SAC", "TD3")}
    lines.append(f"| matmul FLOPs per gradient step | {flops['SAC'] / 1e6:.0f} M | {flops['TD3'] / 1e6:.0f} M |")
    lines.append(
        f"| floor at that GFLOP/s, ms per step | {flops['SAC'] / gflops / 1e6:.1f} | {flops['TD3'] / gflops / 1e6:.1f} |"
    )
    for kind, label in (
        ("bare", "bare PyTorch"),
        ("bare_mallopt", "bare PyTorch, mallopt"),
        ("ensemble", "bare, batched ensemble"),
    ):
        cells = [
            f"{median(results[f'{algo}:{kind}'], 'ms_per_update'):.1f}" if f"{algo}:{kind}" in results else "-"
            for algo in ("SAC", "TD3")
        ]
        lines.append(f"| {label}, ms per gradient step | {cells[0]} | {cells[1]} |")
    for side in ("joyrl", "sb3"):
        if f"SAC:{side}" not in results:
            continue
        label = "JoyRL" if side == "joyrl" else "SB3"
        for key, what in (
            ("learning_steps_per_s", "env steps/s while learning"),
            ("steps_per_s_20k", "env steps/s over 20,000 steps"),
        ):
            cells = [f"{median(results[f'{algo}:{side}'], key):.0f}" for algo in ("SAC", "TD3")]
            lines.append(f"| {label}, {what} | {cells[0]} | {cells[1]} |")
    if "SAC:sb3" in results:
        cells = [
            f"{median(results[f'{algo}:joyrl'], 'steps_per_s_20k') / median(results[f'{algo}:sb3'], 'steps_per_s_20k'):.2f}x"
            for algo in ("SAC", "TD3")
        ]
        lines.append(f"| JoyRL / SB3 over 20,000 steps | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        "The 20,000-step rates combine the two phases: `learning_starts` random steps (SAC 100, TD3 10,000) at the random",
        f"rate, the rest at the learning rate (measured over {args.learn_steps} learning steps).",
        "",
    ]
    path = ROOT / "benchmarks" / "results" / "actor_critic_speed.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
