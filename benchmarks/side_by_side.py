"""Side-by-side benchmark: JoyRL against Stable-Baselines3, same env, hyperparameters and seeds.

    pip install -r requirements-bench.txt
    python benchmarks/side_by_side.py --algo DQN --env CartPole-v1 --seeds 1 2 3 --steps 50000 \\
        --threshold 475 --eval-every 5000 --eval-episodes 10 --hyper rlzoo

The hyperparameters are resolved once as a JoyRL config (``--hyper rlzoo``: RL Zoo's
CartPole-v1 DQN; ``--hyper joyrl``: JoyRL's own defaults from algos/DQN/config.py; then
``--set algo_cfg.key=value``) and mapped to SB3's DQN arguments; the mapping is printed
and written with the results. Runs alternate (seed 1 SB3, seed 1 JoyRL, seed 2 SB3, ...),
one at a time, each in a fresh process of this script (``--worker sb3|joyrl``) on one
torch thread, which writes a JSON result under benchmarks/runs/side_by_side/<name>/.

Both sides are evaluated by the same code (``evaluate``): the greedy policy for
``--eval-episodes`` episodes on ``gymnasium.make(env)``, reset with seed + 10000 once.
An evaluation happens at the end of the first training episode that reaches or passes a
multiple of ``--eval-every`` env steps (JoyRL: between ``train_one_episode`` calls; SB3: in
a callback's ``_on_step`` at a ``done``), and once more at the end of training. Its time
is taken off the training clock on both sides.

Timers (time.perf_counter): per gradient step (JoyRL: ``agent.update`` calls that learned,
divided by their gradient steps; SB3: ``model.train``), per action selection while training
(JoyRL: ``agent.sample_action``; SB3: ``model._sample_action``, which is what its learn loop
calls: random during ``learning_starts``, then epsilon-greedy ``predict``), per greedy action
in evaluation, and ``env.step`` of the training env (a wrapper on both sides).
Writes benchmarks/results/side_by_side_<algo>_<env>_<hyper>.md and prints it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from benchmarks.sb3_mapping import MAPPERS, hyper_overrides  # noqa: E402  (after the path is set)

RESULTS_DIR = ROOT / "benchmarks" / "results"
RUNS_DIR = ROOT / "benchmarks" / "runs" / "side_by_side"

SIDES = ("sb3", "joyrl")
LABELS = {"sb3": "SB3", "joyrl": "JoyRL"}
EVAL_SEED_OFFSET = 10_000  # as joyrl.envs.EVAL_SEED_OFFSET: the evaluation env's seed is seed + 10000
TORCH_THREADS = 1


# ---------------------------------------------------------------- the JoyRL side's arguments


def joyrl_argv(spec: dict[str, Any], seed: int) -> list[str]:
    return [
        "--algo",
        spec["algo"],
        "--env",
        spec["env"],
        "--seed",
        str(seed),
        f"general_cfg.max_env_steps={spec['steps']}",
        f"general_cfg.torch_threads={TORCH_THREADS}",
        *spec["joyrl_overrides"],
    ]


def build_spec(args: argparse.Namespace) -> dict[str, Any]:
    """Resolve the JoyRL config (checked as ``main.py`` would) and map it to SB3."""
    if args.algo not in MAPPERS:
        raise SystemExit(f"error: --algo {args.algo}: no Stable-Baselines3 mapping (there is one for {', '.join(MAPPERS)})")
    from joyrl.cli import config_from_args
    from joyrl.errors import JoyRLError

    try:
        overrides = [*hyper_overrides(args.algo, args.env, args.hyper, args.steps), *args.set]
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    spec = {
        "algo": args.algo,
        "env": args.env,
        "hyper": args.hyper,
        "steps": args.steps,
        "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
        "threshold": args.threshold,
        "joyrl_overrides": overrides,
    }
    try:
        cfg = config_from_args(joyrl_argv(spec, args.seeds[0]))
        algo = cfg.sections()["algo_cfg"]
        spec["sb3_class"], mapper = MAPPERS[args.algo]
        spec["sb3"], spec["mapping"] = mapper(algo, args.steps, args.hyper)
    except JoyRLError as error:
        raise SystemExit(f"error: {error}") from None
    except ValueError as error:
        raise SystemExit(f"error: algo_cfg.{error}") from None
    spec["joyrl_algo_cfg"] = algo
    return spec


# ---------------------------------------------------------------- shared by both sides


class Timed:
    """Wraps a callable; counts its calls and their seconds (``learned``: calls that returned a non-empty dict)."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.calls, self.seconds = 0, 0.0
        self.learned, self.learned_seconds = 0, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.fn(*args, **kwargs)
        elapsed = time.perf_counter() - start
        self.calls += 1
        self.seconds += elapsed
        if isinstance(out, dict) and out:  # an update that learned returns its statistics
            self.learned += 1
            self.learned_seconds += elapsed
        return out


ENV_STEP = Timed(lambda step, action: step(action))  # every training env.step of this worker process, summed


def timed_env(env):
    """``env`` with its ``step`` timed into ``ENV_STEP`` (the same wrapper on both sides, on every sub-env of a vector env)."""
    import gymnasium as gym

    class StepTimer(gym.Wrapper):
        def step(self, action):
            return ENV_STEP(self.env.step, action)

    return StepTimer(env)


def make_eval_env(env_id: str, seed: int):
    """``gymnasium.make(env_id)``, reset once with seed + 10000; later resets continue that stream."""
    import gymnasium as gym

    env = gym.make(env_id)
    env.reset(seed=seed + EVAL_SEED_OFFSET)
    return env


def evaluate(act: Callable[[Any], int], env, episodes: int) -> dict[str, float]:
    """Returns of ``episodes`` episodes of ``act`` (the greedy policy): the one evaluation for both sides."""
    returns = []
    for _ in range(episodes):
        obs, _ = env.reset()
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return {"mean": statistics.fmean(returns), "std": statistics.pstdev(returns)}


class Recorder:
    """The training clock (evaluations excluded), the evaluation schedule and its results."""

    def __init__(self, spec: dict[str, Any], seed: int, act: Callable[[Any], int]) -> None:
        self.spec = spec
        self.env = make_eval_env(spec["env"], seed)
        self.act = Timed(act)
        self.every = spec["eval_every"]
        self.next_eval = self.every
        self.evals: list[dict[str, float]] = []
        self.eval_seconds = 0.0
        self.episodes = 0
        self.env_steps = 0
        self.train_seconds = 0.0

    def start(self) -> None:
        self.started = time.perf_counter()

    def clock(self) -> float:
        """Training seconds so far: wall time since start, evaluations excluded."""
        return time.perf_counter() - self.started - self.eval_seconds

    def episode_end(self, env_steps: int) -> None:
        self.episodes += 1
        if env_steps >= self.next_eval:
            self.evaluate(env_steps)

    def evaluate(self, env_steps: int) -> None:
        train_seconds = self.clock()
        start = time.perf_counter()
        scores = evaluate(self.act, self.env, self.spec["eval_episodes"])
        self.eval_seconds += time.perf_counter() - start
        self.evals.append({"env_steps": env_steps, "train_seconds": train_seconds, **scores})
        self.next_eval = (env_steps // self.every + 1) * self.every

    def finish(self, env_steps: int) -> None:
        self.train_seconds = self.clock()
        self.env_steps = env_steps
        if not self.evals or self.evals[-1]["env_steps"] != env_steps:
            self.evaluate(env_steps)
        self.env.close()

    def result(self, side: str, seed: int, action: Timed, env_step: Timed, grad_steps: int, grad_seconds: float) -> dict:
        """The run's figures; ``grad_seconds``: time in the learning calls (``update`` / ``train``), over ``grad_steps``."""
        threshold = self.spec["threshold"]
        reached = next((row for row in self.evals if threshold is not None and row["mean"] >= threshold), None)
        seconds = self.train_seconds
        other = seconds - action.seconds - env_step.seconds - grad_seconds
        return {
            "side": side,
            "seed": seed,
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "train_seconds": seconds,
            "eval_seconds": self.eval_seconds,
            "steps_per_second": self.env_steps / seconds,
            "grad_steps": grad_steps,
            "us_per_grad_step": 1e6 * grad_seconds / grad_steps if grad_steps else None,
            "action_calls": action.calls,
            "us_per_action": 1e6 * action.seconds / action.calls,
            "us_per_greedy_action": 1e6 * self.act.seconds / self.act.calls,
            "us_per_env_step": 1e6 * env_step.seconds / env_step.calls,
            "seconds_in": {"env.step": env_step.seconds, "action": action.seconds, "gradient": grad_seconds, "other": other},
            "steps_to_threshold": reached["env_steps"] if reached else None,
            "seconds_to_threshold": reached["train_seconds"] if reached else None,
            "final_return": self.evals[-1]["mean"],
            "final_std": self.evals[-1]["std"],
            "best_return": max(row["mean"] for row in self.evals),
            "evals": self.evals,
        }


def joyrl_code(algo: str) -> str:
    """The git commit and a hash of joyrl/*.py and algos/<algo>/*.py: the JoyRL code a run measured."""
    digest = hashlib.sha1()
    for path in sorted([*(ROOT / "joyrl").glob("*.py"), *(ROOT / "algos" / algo).glob("*.py")]):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "joyrl", f"algos/{algo}"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        where = commit.stdout.strip() + (" + uncommitted changes" if changed.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        where = "no git"
    return f"{where}, code hash {digest.hexdigest()[:10]}"


# ---------------------------------------------------------------- the two workers


def joyrl_worker(spec: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train JoyRL's agent with its own Trainer; the episode loop is ours, to evaluate between episodes.

    A vector-env trainer (PPO, A2C) builds its sub-envs with ``joyrl.envs.make_env``; the step timer
    reaches them through ``env_cfg.wrappers``, and its results carry the steps of all sub-envs.
    """
    import torch

    torch.set_num_threads(TORCH_THREADS)
    from joyrl.cli import config_from_args
    from joyrl.envs import env_info, make_env
    from joyrl.runtime import seed_everything

    cfg = config_from_args(joyrl_argv(spec, seed))
    cfg.wrappers = [*cfg.wrappers, "__main__:timed_env"]  # this script runs as __main__ in a worker
    seed_everything(seed)
    env = make_env(cfg, seed)
    for key, value in env_info(env).items():
        setattr(cfg, key, value)
    agent = importlib.import_module(f"algos.{cfg.algo_name}.agent").Agent(cfg)
    trainer = importlib.import_module(f"algos.{cfg.algo_name}.trainer").Trainer()

    recorder = Recorder(spec, seed, agent.predict_action)
    agent.sample_action = action = Timed(agent.sample_action)
    agent.update = update = Timed(agent.update)
    # a gradient step = one step of the critic's optimiser (SAC, TD3, DDPG) or of the only one (DQN, PPO, A2C), as for SB3
    optimizer = getattr(agent, "critic_optimizer", None) or agent.optimizer
    optimizer.step = optimizer_step = Timed(optimizer.step)
    env_steps = 0
    recorder.start()
    while env_steps < spec["steps"]:
        result = trainer.train_one_episode(env, agent, cfg)
        env_steps = int(result.get("env_steps", env_steps + int(result["ep_step"])))
        recorder.episode_end(env_steps)
    recorder.finish(env_steps)
    env.close()
    return recorder.result("joyrl", seed, action, ENV_STEP, optimizer_step.calls, update.learned_seconds)


def sb3_schedule(schedule: dict[str, float] | float) -> float | Callable[[float], float]:
    """JoyRL's linear annealing by env step, as SB3's function of progress_remaining (1 → 0); a number stays one."""
    if not isinstance(schedule, dict):
        return schedule
    start, end, decay, total = schedule["start"], schedule["end"], schedule["decay_steps"], schedule["total_steps"]
    if start == end:
        return start

    def value(progress_remaining: float) -> float:
        fraction = min(max((1.0 - progress_remaining) * total / decay, 0.0), 1.0)
        return start + fraction * (end - start)

    return value


SCHEDULES = ("learning_rate", "clip_range", "clip_range_vf")  # SB3 arguments that take a schedule


def sb3_worker(spec: dict[str, Any], seed: int) -> dict[str, Any]:
    import gymnasium as gym
    import numpy as np
    import stable_baselines3
    import torch

    torch.set_num_threads(TORCH_THREADS)
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    kwargs = dict(spec["sb3"])
    n_envs = kwargs.pop("n_envs", 1)
    noise = kwargs.pop("action_noise", None)
    policy = dict(kwargs.pop("policy_kwargs"))
    policy["activation_fn"] = getattr(torch.nn, policy.pop("activation"))
    for key in SCHEDULES:
        if key in kwargs:
            kwargs[key] = sb3_schedule(kwargs[key])
    if n_envs > 1:
        env = make_vec_env(spec["env"], n_envs=n_envs, seed=seed, wrapper_class=timed_env)
    else:
        env = timed_env(gym.make(spec["env"]))
    if noise is not None:
        size = env.action_space.shape[0]
        mean, sigma = np.zeros(size), noise["std"] * np.ones(size)
        if noise["type"] == "normal":
            kwargs["action_noise"] = NormalActionNoise(mean=mean, sigma=sigma)
        else:
            kwargs["action_noise"] = OrnsteinUhlenbeckActionNoise(mean=mean, sigma=sigma, theta=noise["theta"], dt=noise["dt"])
    model = getattr(stable_baselines3, spec["sb3_class"])(
        "MlpPolicy", env, policy_kwargs=policy, seed=seed, device="cpu", **kwargs
    )
    discrete = isinstance(model.action_space, gym.spaces.Discrete)

    def greedy(obs):
        action = model.predict(obs, deterministic=True)[0]
        return int(action) if discrete else action

    recorder = Recorder(spec, seed, greedy)

    class EvaluateAtEpisodeEnds(BaseCallback):
        def _on_step(self) -> bool:
            for done in self.locals["dones"]:
                if done:
                    recorder.episode_end(self.num_timesteps)
            return True

    if hasattr(model, "_sample_action"):  # off-policy: what collect_rollouts calls for each step
        model._sample_action = action = Timed(model._sample_action)
    else:  # on-policy: collect_rollouts calls the policy's forward for each (vector) step; train() does not
        model.policy.forward = action = Timed(model.policy.forward)
    # a gradient step = one step of the critic's optimiser (SAC, TD3, DDPG) or of the policy's (DQN, PPO, A2C)
    optimizer = model.critic.optimizer if getattr(model, "critic", None) is not None else model.policy.optimizer
    optimizer.step = optimizer_step = Timed(optimizer.step)
    model.train = train = Timed(model.train)
    recorder.start()
    model.learn(total_timesteps=spec["steps"], callback=EvaluateAtEpisodeEnds())
    recorder.finish(model.num_timesteps)
    env.close()
    return recorder.result("sb3", seed, action, ENV_STEP, optimizer_step.calls, train.seconds)


def run_worker(side: str, spec: dict[str, Any], seed: int) -> dict[str, Any]:
    """One training run in this process; adds versions and threads to the result."""
    started = time.perf_counter()
    code = joyrl_code(spec["algo"]) if side == "joyrl" else ""  # before training: the code that is imported
    result = (sb3_worker if side == "sb3" else joyrl_worker)(spec, seed)
    import gymnasium
    import torch

    result["versions"] = {"python": platform.python_version(), "torch": torch.__version__, "gymnasium": gymnasium.__version__}
    if side == "sb3":
        import stable_baselines3

        result["versions"]["stable_baselines3"] = stable_baselines3.__version__
    else:
        import joyrl

        result["versions"]["joyrl"] = f"{joyrl.__version__} ({code})"
    result["torch_threads"] = torch.get_num_threads()
    result["process_seconds"] = time.perf_counter() - started
    return result


# ---------------------------------------------------------------- the report

# (key in the result, title, better, format)
FIGURES = [
    ("steps_per_second", "env steps/s (training, evaluations excluded)", "higher", "{:,.0f}"),
    ("us_per_grad_step", "µs per gradient step", "lower", "{:,.0f}"),
    ("us_per_action", "µs per action selection (training)", "lower", "{:,.1f}"),
    ("us_per_greedy_action", "µs per greedy action (evaluation)", "lower", "{:,.1f}"),
    ("us_per_env_step", "µs per env.step (training env)", "lower", "{:,.1f}"),
    ("seconds_to_threshold", "wall seconds to threshold (training clock)", "lower", "{:,.1f}"),
    ("steps_to_threshold", "env steps to threshold", "lower", "{:,.0f}"),
    ("final_return", "final return (greedy evaluation mean)", "higher", "{:,.1f}"),
    ("best_return", "best evaluation return", "higher", "{:,.1f}"),
    ("train_seconds", "training wall seconds (evaluations excluded)", "lower", "{:,.1f}"),
    ("env_steps", "env steps trained", "", "{:,.0f}"),
    ("grad_steps", "gradient steps", "", "{:,.0f}"),
]
PARTS = ["env.step", "action", "gradient", "other"]


def _fmt(value: float | None, pattern: str) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else pattern.format(value)


def _ratio(joyrl: float | None, sb3: float | None) -> str:
    return "–" if joyrl is None or not sb3 else f"{joyrl / sb3:.2f}"


def _median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def figure_table(sb3: dict[str, float | None], joyrl: dict[str, float | None], reached: str = "") -> list[str]:
    lines = ["| figure | SB3 | JoyRL | JoyRL/SB3 | better |", "|---|---:|---:|---:|---|"]
    for key, title, better, pattern in FIGURES:
        note = reached if key.endswith("_to_threshold") and reached else ""
        lines.append(
            f"| {title}{note} | {_fmt(sb3[key], pattern)} | {_fmt(joyrl[key], pattern)} | {_ratio(joyrl[key], sb3[key])} | {better} |"
        )
    return lines


def time_table(runs: dict[str, list[dict]]) -> list[str]:
    """Median seconds per part of the training loop, and its share of the training time."""
    lines = [
        "| part of training time | SB3 s | SB3 share | JoyRL s | JoyRL share | JoyRL/SB3 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    medians = {side: {part: _median([run["seconds_in"][part] for run in runs[side]]) for part in PARTS} for side in SIDES}
    totals = {side: _median([run["train_seconds"] for run in runs[side]]) for side in SIDES}
    for part in PARTS:
        cells = []
        for side in SIDES:
            cells += [f"{medians[side][part]:.1f}", f"{100 * medians[side][part] / totals[side]:.0f}%"]
        lines.append(f"| {part} | " + " | ".join(cells) + f" | {_ratio(medians['joyrl'][part], medians['sb3'][part])} |")
    return lines


def report(spec: dict[str, Any], seeds: list[int], results: dict[tuple[int, str], dict], command: str) -> str:
    first = results[(seeds[0], "joyrl")]
    versions = {**results[(seeds[0], "sb3")]["versions"], **first["versions"]}
    threshold = spec["threshold"]
    lines = [
        f"# Side by side: {spec['algo']} on {spec['env']}, JoyRL and Stable-Baselines3 ({spec['hyper']} hyperparameters)",
        "",
        f"`{command}`",
        "",
        f"- date: {datetime.now().strftime('%Y-%m-%d %H:%M')}; seeds: {' '.join(map(str, seeds))}; "
        f"{spec['steps']:,} env steps per run; runs alternate SB3, JoyRL per seed, one at a time, each in a fresh process",
        f"- machine: `nproc` = {os.cpu_count()}, {platform.machine()}, {platform.system()}; torch threads: {first['torch_threads']} on both sides",
        "- versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()),
        *(
            [f"- WARNING: the JoyRL code changed between runs: {'; '.join(sorted(codes))}"]
            if len(codes := {results[(seed, "joyrl")]["versions"]["joyrl"] for seed in seeds}) > 1
            else []
        ),
        f"- evaluation (the same function for both): greedy policy, {spec['eval_episodes']} episodes on `gymnasium.make('{spec['env']}')` "
        f"reset once with seed + {EVAL_SEED_OFFSET}, at the end of the first episode that reaches each multiple of "
        f"{spec['eval_every']:,} env steps, and at the end; its time is excluded from the training clock",
        f"- threshold: evaluation mean ≥ {threshold:g}" if threshold is not None else "- threshold: none given",
        "- JoyRL/SB3 is the ratio of the two figures (of the medians in the summary); 'better' says which direction favours a side",
        "",
        f"## Hyperparameters (resolved JoyRL `algo_cfg` → SB3 `{spec['sb3_class']}(...)`)",
        "",
        "| hyperparameter | JoyRL | SB3 | note |",
        "|---|---|---|---|",
        *(f"| {name} | {joyrl} | {sb3} | {note} |" for name, joyrl, sb3, note in spec["mapping"]),
        "",
        "JoyRL overrides: " + (" ".join(f"`{item}`" for item in spec["joyrl_overrides"]) or "none (its defaults)"),
        "",
    ]
    runs = {side: [results[(seed, side)] for seed in seeds] for side in SIDES}
    reached = {side: sum(run["steps_to_threshold"] is not None for run in runs[side]) for side in SIDES}
    note = (
        f" (reached: SB3 {reached['sb3']}/{len(seeds)}, JoyRL {reached['joyrl']}/{len(seeds)})" if threshold is not None else ""
    )
    summary = {side: {key: _median([run[key] for run in runs[side]]) for key, *_ in FIGURES} for side in SIDES}
    lines += [
        f"## Summary: medians over {len(seeds)} seed(s)",
        "",
        *figure_table(summary["sb3"], summary["joyrl"], note),
        "",
        "Where the training time goes (medians; 'other' is the rest of the loop: replay storage, bookkeeping, callbacks):",
        "",
        *time_table(runs),
        "",
    ]
    for seed in seeds:
        sb3, joyrl = results[(seed, "sb3")], results[(seed, "joyrl")]
        lines += [f"## Seed {seed}", "", *figure_table(sb3, joyrl), ""]
        for side, run in (("sb3", sb3), ("joyrl", joyrl)):
            curve = ", ".join(f"{row['env_steps']:,}: {row['mean']:.1f}" for row in run["evals"])
            lines.append(f"- {LABELS[side]} evaluations (env steps: mean return): {curve}")
        loads = ", ".join(f"{LABELS[side]} {run['load_before']:.2f}" for side, run in (("sb3", sb3), ("joyrl", joyrl)))
        lines.append(f"- load average (1 min) when the run started: {loads} (about 1 is this benchmark's own previous run)")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- the driver


def run_one(side: str, seed: int, spec_path: Path, out: Path, log: Path) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", side, "--seed", str(seed)]
    command += ["--spec", str(spec_path), "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": str(TORCH_THREADS), "MKL_NUM_THREADS": str(TORCH_THREADS)}
    with open(log, "w", encoding="utf-8") as file:
        code = subprocess.run(command, cwd=ROOT, stdout=file, stderr=subprocess.STDOUT, env=env, check=False).returncode
    if code != 0 or not out.exists():
        tail = "".join(log.read_text(encoding="utf-8").splitlines(keepends=True)[-20:])
        raise SystemExit(f"{LABELS[side]} seed {seed} failed (exit {code}); {log}:\n{tail}")
    return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", default="DQN", help="the JoyRL algorithm (DQN)")
    parser.add_argument("--env", default="CartPole-v1", help="a Gymnasium id")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=50_000, help="env steps per run")
    parser.add_argument("--threshold", type=float, default=None, help="evaluation mean that counts as solved")
    parser.add_argument("--eval-every", type=int, default=5_000, help="evaluate every this many env steps (at episode ends)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--hyper", choices=["rlzoo", "joyrl"], default="rlzoo", help="hyperparameter set (see the module doc)")
    parser.add_argument("--set", nargs="*", default=[], metavar="algo_cfg.key=value", help="JoyRL overrides, mapped to SB3 too")
    parser.add_argument("--name", help="results name (default side_by_side_<algo>_<env>_<hyper>)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the .md goes")
    parser.add_argument("--runs-dir", type=Path, default=RUNS_DIR, help="where the per-run JSON and logs go")
    parser.add_argument("--reuse", action="store_true", help="reuse per-run JSON results made with the same settings")
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
        result = run_worker(args.worker, spec, args.seed)
        result["spec"] = spec
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
        return 0

    if args.steps < 1 or args.eval_every < 1 or args.eval_episodes < 1:
        parser.error("--steps, --eval-every and --eval-episodes must be positive")
    spec = build_spec(args)
    name = args.name or f"side_by_side_{args.algo}_{args.env.replace('/', '-')}_{args.hyper}"
    command = "python benchmarks/side_by_side.py " + shlex.join(
        arg for arg in (argv if argv is not None else sys.argv[1:]) if arg != "--reuse"
    )
    print(f"{name}: {command}")
    print("hyperparameters (JoyRL → SB3):")
    for row_name, joyrl, sb3, note in spec["mapping"]:
        print(f"  {row_name:<16} {joyrl}  →  {sb3}" + (f"  [{note}]" if note else ""))

    runs_dir = args.runs_dir / name
    runs_dir.mkdir(parents=True, exist_ok=True)
    spec_path = runs_dir / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    started = time.perf_counter()
    results: dict[tuple[int, str], dict] = {}
    for seed in args.seeds:
        for side in SIDES:
            out = runs_dir / f"seed_{seed}_{side}.json"
            previous = json.loads(out.read_text(encoding="utf-8")) if args.reuse and out.exists() else None
            if previous is not None and previous.get("spec") == json.loads(spec_path.read_text(encoding="utf-8")):
                result = previous
            else:
                out.unlink(missing_ok=True)
                load = os.getloadavg()[0]  # other work on the machine skews the speed figures
                result = run_one(side, seed, spec_path, out, runs_dir / f"seed_{seed}_{side}.log")
                result["load_before"] = load
                out.write_text(json.dumps(result, indent=1), encoding="utf-8")
            results[(seed, side)] = result
            reached = f", threshold at {result['steps_to_threshold']:,} steps" if result["steps_to_threshold"] else ""
            print(
                f"seed {seed} {LABELS[side]:<5}: {result['env_steps']:,} steps in {result['train_seconds']:.1f} s "
                f"({result['steps_per_second']:,.0f} steps/s), final return {result['final_return']:.1f}{reached}",
                flush=True,
            )

    text = report(spec, args.seeds, results, command)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{name}.md"
    path.write_text(text + "\n", encoding="utf-8")
    print()
    print(text)
    print(f"\n{len(results)} runs in {time.perf_counter() - started:.0f} s; written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
