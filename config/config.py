"""General settings: what to run, for how long, and what to keep (the ``general_cfg`` section)."""

import importlib.util
from typing import Annotated, Literal

from joyrl.validation import at_least, at_least_or_unlimited, between, greater_than


class GeneralConfig:
    algo_name: str = "DQN"  # folder under algos/ holding the algorithm
    env_name: str = "gym"  # folder under envs/ with env defaults; 'gym' covers every Gymnasium id
    device: Literal["cpu", "cuda", "auto"] = "cpu"  # 'auto' picks cuda when it is available
    mode: Literal["train", "test", "render", "collect"] = "train"  # what this run does
    seed: Annotated[int, between(0, 2**32 - 1)] = 1  # seeds Python, NumPy, torch and the env once; 0 = unseeded
    max_episode: Annotated[int, at_least_or_unlimited(1)] = -1  # training episodes; -1 = until max_env_steps
    max_env_steps: Annotated[int, at_least_or_unlimited(1)] = 50_000  # training env steps (checked at episode ends); -1 = none
    max_step: Annotated[int, at_least_or_unlimited(1)] = -1  # per-episode cap (truncation); -1 = the env's own, else 10,000
    online_eval: bool = True  # evaluate the greedy policy on a separate env while training, keeping models/best.pt
    online_eval_episode: Annotated[int, at_least(1)] = 10  # episodes per online evaluation
    eval_per_episode: Annotated[int, at_least(1)] = 10  # evaluate every this many training episodes
    info_keys: list[str] = []  # numbers in the env's info at an episode's end to record: res.csv, eval.csv, plots
    stop_at_eval: float | None = None  # end training once an online evaluation mean reaches this; None = run the whole budget
    model_save_fre: Annotated[int, at_least(1)] = 100  # periodic checkpoint every this many training episodes
    model_save_seconds: Annotated[float, at_least(0)] = 10.0  # ...and at least this many seconds after the previous one; 0 = none
    keep_checkpoints: Annotated[int, at_least(0)] = 5  # periodic checkpoints kept, the newest; best and last always are; 0 = all
    log_per_episode: Annotated[int, at_least(1)] = 10  # one log line every this many episodes
    results_flush_seconds: Annotated[float, at_least(0)] = (
        1.0  # CSV rows reach results/ within this time (a SIGKILL loses no older one); 0 = each at once
    )
    load_checkpoint: bool = False  # train: continue load_path's run exactly (networks, optimiser, counters, schedules, RNGs)
    finetune: bool = False  # train: a new run from load_path's weights, with a fresh optimiser, schedules and counters
    load_path: str | None = None  # run folder name under tasks/, a run folder path, or a checkpoint file
    save_buffer: bool = False  # models/last.pt also keeps the replay memory, so a resumed run continues exactly
    max_env_failures: Annotated[int, at_least(1)] = 5  # env errors in a row (episode dropped, env rebuilt) before the run stops
    dataset: str | list[str] | None = None  # offline: learn from these trajectories alone (run folders, trajs_N.pkl, globs)
    max_updates: Annotated[int, at_least(1)] = 10_000  # offline: the budget, in update() calls
    eval_per_updates: Annotated[int, at_least(1)] = 1_000  # offline: evaluate, log and save every this many updates
    collect_exploration: Literal["none", "epsilon", "gaussian", "random"] = "none"  # collect mode: noise on the policy
    collect_epsilon: Annotated[float, between(0, 1)] = 0.2  # exploration epsilon: probability of a uniformly random action
    collect_noise_std: Annotated[float, at_least(0)] = 0.1  # collect_exploration gaussian: noise std, in half action ranges
    collect_traj: bool = False  # also write trajectories to traj/ in train and test modes
    play_episodes: Annotated[int, at_least(1)] | None = None  # test/render/collect episodes; None = 10, render_episodes, 100
    render_episodes: Annotated[int, at_least(1)] = 1  # episodes written to videos/video.gif when rendering
    render_fps: Annotated[int, at_least(1)] | None = None  # GIF frames per second; None = the env's own (its metadata), else 30
    tasks_dir: str = "tasks"  # where run folders are created; relative paths start at the project root
    save_fig: bool = True  # write learning-curve PNGs to results/
    tensorboard: bool = False  # train: also write every CSV scalar to tb/ (pip install -r requirements-tensorboard.txt)
    show_fig: bool = False  # also open the figures in a window (needs a display)
    torch_threads: Annotated[int, between(0, 512)] = 1  # torch CPU threads; 1 is fastest for small networks, 0 = torch's default
    mp_backend: Literal["single", "ray"] = "single"  # train mode: one process, or rollout workers on Ray feeding this one
    n_workers: Annotated[int, at_least(1)] = 1  # ray: rollout workers (Ray actors); must be 1 with single
    envs_per_worker: Annotated[int, at_least(1)] | None = (
        None  # ray: envs per worker; None = n_envs / n_workers (PPO, A2C), else 1
    )
    worker_steps: Annotated[int, at_least(1)] = 64  # ray, off-policy: env steps a worker sends the learner at a time
    sync_every: Annotated[int, at_least(1)] = 1  # ray, off-policy: updates between weight broadcasts (on-policy: every round)
    max_policy_lag: Annotated[int, at_least(0)] | None = (
        None  # ray, off-policy: drop data played with weights this many updates old
    )
    worker_epsilon: Literal["schedule", "apex"] = (
        "schedule"  # ray, epsilon-greedy agents: the agent's schedule, or Ape-X's fixed eps_i
    )
    ray_address: str | None = None  # ray: None = start a local Ray; 'auto' or 'host:port' = join a running cluster
    worker_cpus: Annotated[float, greater_than(0)] = 1.0  # ray: CPUs reserved for each worker
    worker_timeout: Annotated[float, greater_than(0)] = 120.0  # ray: seconds with no data from any worker before the run stops

    @staticmethod
    def check(cfg) -> None:
        if cfg.mp_backend == "single" and cfg.n_workers != 1:
            raise ValueError(
                f"n_workers is {cfg.n_workers}: several workers need mp_backend ray (pip install -r requirements-ray.txt)"
            )
        taken = {"episode", "env_steps", "reward", "length", "seconds", "worker", "updates", "mean", "std", "min", "max"}
        clashes = sorted(set(cfg.info_keys) & taken)
        if clashes or len(set(cfg.info_keys)) != len(cfg.info_keys):
            problem = f"{', '.join(clashes)} would overwrite a column of res.csv or eval.csv" if clashes else "has duplicates"
            raise ValueError(f"info_keys {cfg.info_keys}: {problem}; name each info entry once")
        if cfg.tensorboard and importlib.util.find_spec("tensorboard") is None:
            raise ValueError("tensorboard is true but the package is missing: pip install -r requirements-tensorboard.txt")
        if cfg.max_episode == -1 and cfg.max_env_steps == -1:
            raise ValueError("max_episode and max_env_steps are both -1, so the run would never end; set one")
        if cfg.mode in ("test", "render", "collect") and not cfg.load_path:
            raise ValueError(f"mode {cfg.mode} needs a trained model: set load_path (or --load) to a run folder or checkpoint")
        if cfg.stop_at_eval is not None and not cfg.online_eval:
            raise ValueError("stop_at_eval needs online_eval: true, since it is an online evaluation that ends the run")
        for key in ("load_checkpoint", "finetune"):
            if getattr(cfg, key) and not cfg.load_path:
                raise ValueError(f"{key} is true but load_path is empty: set load_path (or --load) to a run folder or checkpoint")
        if cfg.load_checkpoint and cfg.finetune:
            raise ValueError("load_checkpoint and finetune are both true: continue the run exactly, or fine-tune it; pick one")
        if cfg.mode == "train" and cfg.load_path and not (cfg.load_checkpoint or cfg.finetune):
            raise ValueError(
                "train mode with load_path: set general_cfg.load_checkpoint=true to continue that run exactly, "
                "or general_cfg.finetune=true to start a new run from its weights"
            )
