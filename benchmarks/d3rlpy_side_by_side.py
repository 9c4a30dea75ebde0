"""JoyRL's offline algorithms side by side with d3rlpy's on the same dataset, settings and update budget.

    pip install -r requirements-bench.txt          # d3rlpy==2.8.0 (2.8.1 would replace torch)
    python benchmarks/d3rlpy_side_by_side.py speed --dataset Pendulum-v1_medium
    python benchmarks/d3rlpy_side_by_side.py returns --dataset Pendulum-v1_medium --seeds 1 2 3 4 5 --jobs 2

Each algorithm's settings come from its JoyRL preset (``config/presets/<env>_<ALGO>.yaml``) and are
handed to d3rlpy's config of the same algorithm (``d3rlpy_config``: layers, learning rates, batch
size, gamma, tau, the algorithm's own keys; actions scaled to the env's bounds; TD3+BC's states
standardised), so both learn from the same numbers.

- ``speed``: updates per second on one torch thread from the same dataset, each side in its own
  process set up as its users run it (JoyRL's as ``Run.prepare`` makes it, d3rlpy's as ``fit``
  does): ``--rounds`` rounds alternating JoyRL's ``agent.update()`` and d3rlpy's ``update()`` on a
  sampled batch (each side samples its own batch), after a warm-up; the median round of each.
  Nothing else should run meanwhile. Writes ``benchmarks/results/d3rlpy_speed_<dataset>.md``.
- ``returns``: d3rlpy trained per seed (``--jobs`` processes, one thread each) for the preset's
  ``max_updates``, its greedy policy evaluated on ``online_eval_episode`` episodes every
  ``eval_per_updates`` updates with JoyRL's evaluation seeding (seed + 10,000 once, then the env's
  own stream); JoyRL's figures are read from its benchmark runs (benchmarks/benchmark.py, under
  ``benchmarks/runs/<name>/``; the command to make them is printed when they are missing). Writes
  ``benchmarks/results/d3rlpy_returns_<dataset>.md``.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from joyrl.cli import config_from_args  # noqa: E402
from joyrl.datasets import load_dataset  # noqa: E402
from joyrl.envs import EVAL_SEED_OFFSET  # noqa: E402
from joyrl.runner import Run  # noqa: E402

ALGOS = ["BC", "TD3_BC", "IQL", "BCQ", "CQL"]
RESULTS_DIR = ROOT / "benchmarks" / "results"
RUNS_DIR = ROOT / "benchmarks" / "runs"
DATASETS_DIR = ROOT / "tasks" / "datasets"


def preset(env_id: str, algo: str) -> Path:
    return ROOT / "config" / "presets" / f"{env_id}_{algo}.yaml"


def joyrl_cfg(env_id: str, algo: str, dataset: str, *extra: str) -> Any:
    """The preset's resolved config, on ``dataset``, on the CPU and one torch thread."""
    overrides = [f"general_cfg.dataset=tasks/datasets/{dataset}", "general_cfg.device=cpu", "general_cfg.torch_threads=1"]
    return config_from_args(["--yaml", str(preset(env_id, algo)), *overrides, *extra])


def joyrl_run_name(env_id: str, algo: str, dataset: str) -> str:
    """benchmark.py's results name: the preset's own on its own dataset, else ``<env>-<quality>_<ALGO>``."""
    own = config_from_args(["--yaml", str(preset(env_id, algo))]).dataset
    quality = dataset.removeprefix(f"{env_id}_")
    return f"{env_id}_{algo}" if own == f"tasks/datasets/{dataset}" else f"{env_id}-{quality}_{algo}"


# --- the same data and settings for d3rlpy ------------------------------------------------------


def d3rlpy_dataset(dataset: str) -> Any:
    """The JoyRL dataset as d3rlpy's MDPDataset (episode ends: ``terminals`` or ``timeouts``)."""
    import d3rlpy

    data = load_dataset(f"tasks/datasets/{dataset}", ROOT / "tasks")
    return d3rlpy.dataset.MDPDataset(
        observations=np.asarray(data.observations, dtype=np.float32),
        actions=data.actions.astype(np.float32),
        rewards=data.rewards.astype(np.float32),
        terminals=data.terminated.astype(np.float32),
        timeouts=data.truncated.astype(np.float32),
    )


def hidden_units(layers: list[dict[str, Any]]) -> list[int]:
    return [int(layer["layer_size"][0]) for layer in layers]


def d3rlpy_config(algo: str, cfg: Any, env: gym.Env) -> Any:
    """d3rlpy's config of ``algo`` with the JoyRL preset's settings."""
    from d3rlpy import algos
    from d3rlpy.models.encoders import VectorEncoderFactory
    from d3rlpy.optimizers import AdamFactory
    from d3rlpy.optimizers.lr_schedulers import CosineAnnealingLRFactory
    from d3rlpy.preprocessing import MinMaxActionScaler, StandardObservationScaler

    def layers(key: str) -> VectorEncoderFactory:
        return VectorEncoderFactory(hidden_units(getattr(cfg, key)))

    shared = {
        "batch_size": cfg.batch_size,
        "action_scaler": MinMaxActionScaler(minimum=env.action_space.low, maximum=env.action_space.high),
    }
    if algo == "BC":
        policy_type = "deterministic" if cfg.loss == "mse" else "stochastic"
        return algos.BCConfig(
            **shared, learning_rate=cfg.lr, policy_type=policy_type, encoder_factory=layers("actor_layers"),
            optim_factory=AdamFactory(weight_decay=cfg.weight_decay),
        )  # fmt: skip
    q_learning = {**shared, "gamma": cfg.gamma, "tau": cfg.tau, "critic_encoder_factory": layers("critic_layers")}
    if algo == "TD3_BC":
        return algos.TD3PlusBCConfig(
            **q_learning, actor_learning_rate=cfg.lr, critic_learning_rate=cfg.lr, alpha=cfg.alpha,
            target_smoothing_sigma=cfg.target_policy_noise, target_smoothing_clip=cfg.target_noise_clip,
            update_actor_interval=cfg.policy_delay, actor_encoder_factory=layers("actor_layers"),
            observation_scaler=StandardObservationScaler() if cfg.normalize_obs else None,
        )  # fmt: skip
    if algo == "IQL":
        schedule = CosineAnnealingLRFactory(T_max=cfg.max_updates) if cfg.actor_lr_schedule == "cosine" else None
        return algos.IQLConfig(
            **q_learning, actor_learning_rate=cfg.lr, critic_learning_rate=cfg.lr, expectile=cfg.expectile,
            weight_temp=cfg.beta, max_weight=cfg.max_weight, actor_encoder_factory=layers("actor_layers"),
            value_encoder_factory=layers("value_layers"), actor_optim_factory=AdamFactory(lr_scheduler_factory=schedule),
        )  # fmt: skip
    if algo == "BCQ":
        return algos.BCQConfig(
            **q_learning, actor_learning_rate=cfg.lr, critic_learning_rate=cfg.lr, imitator_learning_rate=cfg.lr,
            lam=cfg.lmbda, action_flexibility=cfg.phi, n_action_samples=cfg.n_action_samples, beta=0.5,
            actor_encoder_factory=layers("actor_layers"), imitator_encoder_factory=layers("vae_layers"),
        )  # fmt: skip
    if algo == "CQL":
        lagrange = cfg.cql_lagrange
        return algos.CQLConfig(
            **q_learning, actor_learning_rate=cfg.actor_lr, critic_learning_rate=cfg.lr, temp_learning_rate=cfg.lr,
            alpha_learning_rate=cfg.lr if lagrange else 0.0, initial_alpha=cfg.alpha if lagrange else 1.0,
            conservative_weight=1.0 if lagrange else cfg.alpha, alpha_threshold=cfg.target_action_gap,
            n_action_samples=cfg.n_action_samples, actor_encoder_factory=layers("actor_layers"),
        )  # fmt: skip
    raise SystemExit(f"no d3rlpy counterpart here for {algo}; choose from {', '.join(ALGOS)}")


def d3rlpy_algo(algo: str, cfg: Any, env: gym.Env, data: Any) -> Any:
    """d3rlpy's algorithm built on ``data`` (its scalers fitted, as ``fit`` would), on the CPU."""
    config = d3rlpy_config(algo, cfg, env)
    if config.observation_scaler is not None:
        config.observation_scaler.fit_with_transition_picker(data.episodes, data.transition_picker)
    learner = config.create(device="cpu:0")
    learner.build_with_dataset(data)
    return learner


def d3rlpy_step(learner: Any, data: Any, batch_size: int) -> Callable[[], None]:
    """One d3rlpy update as ``fit`` makes it: sample a batch, ``update``."""
    return lambda: learner.update(data.sample_transition_batch(batch_size))


# --- speed ------------------------------------------------------------------------------------


def timed(step: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


MATMULS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "mkldnn::_linear_pointwise"}  # the last: fused Linear+ReLU


def matmul_seconds(step: Callable[[], Any], n: int) -> float:
    """Seconds per call spent in matrix products (torch.profiler's self time of the GEMM ops): the part of an update
    that no framework removes without doing less arithmetic; the rest is elementwise work and overhead."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(n):
            step()
    return sum(event.self_cpu_time_total for event in profiler.key_averages() if event.key in MATMULS) / 1e6 / n


REPLY = "@@ "  # marks a worker's answers among the lines its libraries log


def speed_worker(args: argparse.Namespace) -> None:
    """One side of ``speed`` in its own process: answers ``<n>`` with the seconds an update took over n updates,
    ``profile <n>`` with the seconds an update spent in matrix products (JoyRL's side)."""
    torch.set_num_threads(1)
    cfg = joyrl_cfg(args.env, args.algo, args.dataset)
    if args.side == "joyrl":
        run = Run(cfg)
        run.prepare()
        step = run.agent.update
    else:
        data = d3rlpy_dataset(args.dataset)
        step = d3rlpy_step(d3rlpy_algo(args.algo, cfg, gym.make(args.env), data), data, cfg.batch_size)
    print(f"{REPLY}ready", flush=True)
    for line in sys.stdin:
        command, n = line.split() if line.startswith("profile") else ("time", line)
        seconds = matmul_seconds(step, int(n)) if command == "profile" else timed(step, int(n))
        print(f"{REPLY}{seconds!r}", flush=True)


class SpeedWorker:
    """A ``speed_worker`` process of one side and algorithm, asked one question at a time."""

    def __init__(self, args: argparse.Namespace, algo: str, side: str) -> None:
        command = [sys.executable, __file__, "_speed", f"--dataset={args.dataset}", f"--env={args.env}"]
        self.process = subprocess.Popen(
            [*command, f"--algo={algo}", f"--side={side}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.answer()  # ready

    def answer(self) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(REPLY):
                return line.removeprefix(REPLY).strip()
        raise SystemExit(f"a speed worker stopped (exit {self.process.wait()}); its error is above")

    def ask(self, question: str) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        return float(self.answer())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def speed(args: argparse.Namespace) -> None:
    rows = []
    for algo in args.algos:
        ours, theirs = SpeedWorker(args, algo, "joyrl"), SpeedWorker(args, algo, "d3rlpy")
        n = max(5, round(args.seconds_per_round / theirs.ask("5")))  # about the same wall time for each round
        ours.ask(str(n)), theirs.ask(str(n))  # warm-up
        rounds = [(ours.ask(str(n)), theirs.ask(str(n))) for _ in range(args.rounds)]
        joy, d3 = (1 / statistics.median(side) for side in zip(*rounds, strict=True))
        floor = ours.ask(f"profile {n}")
        ours.close(), theirs.close()
        rows.append((algo, n, joy, d3, floor))
        print(
            f"{algo}: JoyRL {joy:.1f} updates/s, d3rlpy {d3:.1f} updates/s, ratio {joy / d3:.2f}; JoyRL's matrix products "
            f"{floor * 1e3:.1f} ms of {1e3 / joy:.1f} ms an update",
            flush=True,
        )
    out = RESULTS_DIR / f"d3rlpy_speed_{args.dataset}.md"
    lines = [
        f"# Updates per second, JoyRL against d3rlpy, on {args.dataset}",
        "",
        f"`python benchmarks/d3rlpy_side_by_side.py speed --dataset {args.dataset}` on {date.today()}: one torch thread, "
        f"{args.rounds} rounds alternating the two (median round), each side in its own process as its users run it "
        "(JoyRL's keeps freed memory mapped, `joyrl.runtime.keep_freed_memory`; d3rlpy's has glibc's defaults) and "
        "sampling its batches from the same data; "
        "the settings of each JoyRL preset on both sides. The last two columns: the milliseconds of a JoyRL update spent in "
        "matrix products (torch.profiler, a separate pass), which no framework saves without doing less arithmetic, and "
        "so the most JoyRL / d3rlpy could reach were everything else in its update free.",
        "",
        "| algorithm | updates a round | JoyRL updates/s | d3rlpy updates/s | JoyRL / d3rlpy | JoyRL ms in matmuls "
        "| bound on JoyRL / d3rlpy |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {algo} | {n} | {joy:.1f} | {d3:.1f} | {joy / d3:.2f} | {floor * 1e3:.1f} of {1e3 / joy:.1f} "
            f"| {1 / (d3 * floor):.2f} |"
            for algo, n, joy, d3, floor in rows
        ),
    ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


# --- returns ----------------------------------------------------------------------------------


def greedy_return(learner: Any, env: gym.Env, n_episodes: int) -> list[float]:
    returns = []
    for _ in range(n_episodes):
        state, _ = env.reset()
        total, done = 0.0, False
        while not done:
            action = learner.predict(np.asarray(state, dtype=np.float32)[None])[0]
            state, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def train_d3rlpy(args: argparse.Namespace) -> None:
    """One seed of d3rlpy (a worker process of ``returns``): eval.csv as JoyRL's offline runs write it."""
    import d3rlpy

    torch.set_num_threads(1)
    d3rlpy.seed(args.seed)
    cfg = joyrl_cfg(args.env, args.algo, args.dataset)
    env = gym.make(args.env)
    env.reset(seed=args.seed + EVAL_SEED_OFFSET)  # JoyRL's evaluation env: seeded once, then its own stream
    data = d3rlpy_dataset(args.dataset)
    learner = d3rlpy_algo(args.algo, cfg, env, data)
    step = d3rlpy_step(learner, data, cfg.batch_size)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    seconds = 0.0
    with open(args.out, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["updates", "eval_mean", "eval_std", "seconds"])
        for updates in range(cfg.eval_per_updates, cfg.max_updates + 1, cfg.eval_per_updates):
            seconds += timed(step, cfg.eval_per_updates) * cfg.eval_per_updates
            returns = greedy_return(learner, env, cfg.online_eval_episode)
            writer.writerow([updates, f"{np.mean(returns):.3f}", f"{np.std(returns):.3f}", f"{seconds:.1f}"])
            file.flush()


def read_evals(path: Path) -> list[float]:
    with open(path, newline="", encoding="utf-8") as file:
        return [float(row["eval_mean"]) for row in csv.DictReader(file)]


def joyrl_evals(name: str, seed: int) -> list[float] | None:
    found = sorted((RUNS_DIR / name / f"seed_{seed}").glob("*/results/eval.csv"))
    return read_evals(found[-1]) if found else None


def mean_std(values: list[float]) -> str:
    return f"{statistics.mean(values):.1f} ± {statistics.pstdev(values):.1f}"  # as benchmark.py's tables


def returns(args: argparse.Namespace) -> None:
    jobs = []
    for algo in args.algos:
        out = RUNS_DIR / f"d3rlpy_{args.dataset}_{algo}"
        for seed in args.seeds:
            if args.retrain or not (out / f"seed_{seed}.csv").is_file():
                jobs.append((algo, seed, out / f"seed_{seed}.csv"))

    def work(job: tuple[str, int, Path]) -> None:
        algo, seed, out = job
        command = [sys.executable, __file__, "_train", "--env", args.env, "--dataset", args.dataset]
        partial = out.with_suffix(".part")
        subprocess.run([*command, "--algo", algo, "--seed", str(seed), "--out", str(partial)], check=True)
        partial.rename(out)
        print(f"d3rlpy {algo} seed {seed}: done", flush=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(work, jobs))
    rows, missing = [], []
    for algo in ALGOS:  # every algorithm with d3rlpy runs on this dataset, on the seeds both sides have
        done = sorted(RUNS_DIR.glob(f"d3rlpy_{args.dataset}_{algo}/seed_*.csv"))
        seeds = sorted(int(path.stem.removeprefix("seed_")) for path in done)
        if not seeds:
            continue
        cfg = joyrl_cfg(args.env, algo, args.dataset)
        name = joyrl_run_name(args.env, algo, args.dataset)
        theirs = [read_evals(RUNS_DIR / f"d3rlpy_{args.dataset}_{algo}" / f"seed_{seed}.csv") for seed in seeds]
        ours = [joyrl_evals(name, seed) for seed in seeds]
        complete = [evals for evals in ours if evals is not None and len(evals) == len(theirs[0])]
        if len(complete) < len(seeds):
            missing.append(
                f"python benchmarks/benchmark.py --yaml {preset(args.env, algo).relative_to(ROOT)} --name {name} --seeds "
                f"{' '.join(map(str, seeds))} --jobs 2 --threshold <return> --set general_cfg.dataset=tasks/datasets/{args.dataset}"
            )
            continue
        rows.append(
            f"| {algo} | {' '.join(map(str, seeds))} | {cfg.max_updates:,} | {mean_std([e[-1] for e in complete])} "
            f"| {mean_std([e[-1] for e in theirs])} | {mean_std([max(e) for e in complete])} "
            f"| {mean_std([max(e) for e in theirs])} |"
        )
    if missing:
        print("JoyRL's runs are missing; make them with:\n  " + "\n  ".join(missing))
    data_return = load_dataset(f"tasks/datasets/{args.dataset}", ROOT / "tasks").episode_returns().mean()
    out = RESULTS_DIR / f"d3rlpy_returns_{args.dataset}.md"
    lines = [
        f"# Returns, JoyRL against d3rlpy 2.8.0, on {args.dataset} (its episodes' mean return {data_return:.1f})",
        "",
        f"`python benchmarks/d3rlpy_side_by_side.py returns --dataset {args.dataset} --algos <ALGO> --seeds <seeds>`, "
        f"tabulated on {date.today()}: each side's greedy evaluation mean over the preset's "
        "online_eval_episode episodes, after the last update (final) and the best of its evaluations every "
        "eval_per_updates updates; mean ± standard deviation (population, as benchmark.py's) over the seeds. The same settings on both sides (each "
        "JoyRL preset's).",
        "",
        "| algorithm | seeds | updates | JoyRL final | d3rlpy final | JoyRL best | d3rlpy best |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[6:]))
    print(f"wrote {out.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("speed", "returns", "_train", "_speed"):
        sub = commands.add_parser(command)
        sub.add_argument("--dataset", default="Pendulum-v1_medium", help="a folder under tasks/datasets/")
        sub.add_argument("--env", default="Pendulum-v1", help="the env id of the dataset and of the presets")
        if command == "_train":
            sub.add_argument("--algo", required=True)
            sub.add_argument("--seed", type=int, required=True)
            sub.add_argument("--out", type=Path, required=True)
            continue
        if command == "_speed":
            sub.add_argument("--algo", required=True)
            sub.add_argument("--side", choices=("joyrl", "d3rlpy"), required=True)
            continue
        sub.add_argument("--algos", nargs="+", default=ALGOS, choices=ALGOS)
    commands.choices["speed"].add_argument("--rounds", type=int, default=5)
    commands.choices["speed"].add_argument("--seconds-per-round", type=float, default=4.0)
    commands.choices["returns"].add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    commands.choices["returns"].add_argument("--jobs", type=int, default=1, help="d3rlpy seeds trained at once")
    commands.choices["returns"].add_argument("--retrain", action="store_true", help="train d3rlpy seeds already done again")
    args = parser.parse_args()
    if not (DATASETS_DIR / args.dataset / "traj").is_dir():
        raise SystemExit(f"no dataset tasks/datasets/{args.dataset}: make it with python benchmarks/make_datasets.py")
    {"speed": speed, "returns": returns, "_train": train_d3rlpy, "_speed": speed_worker}[args.command](args)


if __name__ == "__main__":
    main()
