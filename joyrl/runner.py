"""One run: the config turned into an env, an agent, a trainer, counters and a folder, handed to train mode
(joyrl/training.py) or a play mode (joyrl/playing.py). The work is done by parts with one job each: the
episode loop and its policies (episodes.py), evaluation, checkpoints and resume, recorders, interrupts.

Everything that can be wrong with the user's input is checked in ``Run.prepare``, before the run
folder exists, so a bad run leaves nothing behind.
"""

from __future__ import annotations

import importlib
import signal
from datetime import datetime
from pathlib import Path

import gymnasium as gym

from joyrl import paths
from joyrl.checkpoints import load_checkpoint, resolve_load_path
from joyrl.config import Config, to_yaml
from joyrl.counters import Counters
from joyrl.datasets import fill_memory, offline_dataset
from joyrl.distributed import RayTrainer
from joyrl.envs import check_spaces, default_cap, env_display_name, env_info, make_env
from joyrl.episodes import Budget, Listener
from joyrl.errors import ConfigError, JoyRLError
from joyrl.interrupts import raise_interrupted, signal_handlers
from joyrl.logs import close_logger, get_logger
from joyrl.media import FrameRecorder
from joyrl.offline import OfflineTraining
from joyrl.playing import play
from joyrl.ray_setup import check_worker_epsilon, connect, import_ray, ray_kind, resolve_workers
from joyrl.recorders import finish_media
from joyrl.resume import fine_tune_state, load_agent_state
from joyrl.runtime import freeze_startup_objects, keep_freed_memory, resolve_device, seed_everything, set_torch_threads
from joyrl.training import Training
from joyrl.trajectories import ExploringActions, TrajectoryCollector, TrajectoryWriter, collection_meta


class Run:
    """Holds what one run needs: config, env, agent, trainer, counters, folder, logger."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.checkpoint: dict | None = None
        self.counters = Counters()
        self.frames: FrameRecorder | None = None
        self.trajectories: TrajectoryWriter | None = None
        self.extra_listeners: list[Listener] = []  # training: listeners besides the run's own (a tuning trial's pruning)

    def prepare(self) -> None:
        """Build everything and check every input; creates no file."""
        cfg = self.cfg
        cfg.device = resolve_device(cfg.device)
        set_torch_threads(cfg.torch_threads)
        keep_freed_memory()
        seed_everything(cfg.seed)
        self.seed = cfg.seed if cfg.seed > 0 else None
        self.render_mode = "rgb_array" if cfg.mode == "render" else cfg.render_mode
        agent_class = importlib.import_module(f"algos.{cfg.algo_name}.agent").Agent
        cfg.index_tuples = "Tuple" in agent_class.supported_observation_spaces  # every env of the run: joyrl.envs
        self.env = make_env(cfg, self.seed, self.render_mode)
        for key, value in env_info(self.env).items():
            setattr(cfg, key, value)
        check_spaces(agent_class, self.env, cfg.algo_name, cfg.id)
        if cfg.mp_backend == "ray" and cfg.mode == "train":  # before the agent: a PPO learner's rollout spans every worker's envs
            import_ray()
            self.ray_kind = ray_kind(agent_class, cfg)
            resolve_workers(cfg, self.ray_kind)
        self.dataset = offline_dataset(cfg, self.env, agent_class, self.tasks_dir()) if cfg.mode == "train" else None
        self.agent = agent_class(cfg)
        self.trainer = importlib.import_module(f"algos.{cfg.algo_name}.trainer").Trainer()
        if self.dataset is not None and agent_class.learns_offline:
            fill_memory(self.agent, self.dataset)
        elif self.dataset is not None:  # demonstrations beside online training (GAIL)
            self.agent.fit_dataset(self.dataset)
        if cfg.mode != "train" or cfg.load_checkpoint or cfg.finetune:
            self._load()  # after the dataset: a loaded run keeps the data statistics its weights were trained with
        if cfg.mp_backend == "ray" and cfg.mode == "train":  # last: the checks above come before Ray starts
            check_worker_epsilon(cfg, self.agent)
            self.trainer = RayTrainer(cfg, self.trainer, self.ray_kind, connect(cfg))
        freeze_startup_objects()

    def _load(self) -> None:
        """Read the checkpoint to test, continue or fine-tune, and put its state into the agent."""
        cfg = self.cfg
        prefer = ("last", "best") if cfg.mode == "train" else ("best", "last")
        self.checkpoint_path = resolve_load_path(cfg.load_path, prefer, self.tasks_dir())
        checkpoint = self.checkpoint = load_checkpoint(self.checkpoint_path, cfg.algo_name)
        state = checkpoint["agent"]
        if cfg.mode == "train" and cfg.finetune:
            state = fine_tune_state(self.agent, state, self.checkpoint_path, cfg.algo_name)
        elif cfg.mode == "train":
            restored = Counters()
            restored.load_state_dict(checkpoint["progress"])
            spent = Budget(cfg.max_episode, cfg.max_env_steps).spent(restored)
            if cfg.dataset is not None:
                spent = f"max_updates ({cfg.max_updates:,} updates)" if restored.updates >= cfg.max_updates else None
            if spent:
                raise JoyRLError(
                    f"{self.checkpoint_path} has used its whole budget, {spent}: raise it to continue the run "
                    "(e.g. general_cfg.max_env_steps=...), or start a new one from its weights with general_cfg.finetune=true"
                )
        load_agent_state(self.agent, state, self.checkpoint_path, cfg.algo_name)

    def tasks_dir(self) -> Path:
        tasks_dir = Path(self.cfg.tasks_dir).expanduser()
        return tasks_dir if tasks_dir.is_absolute() else paths.ROOT / tasks_dir

    def create_folder(self) -> Path:
        """``tasks/<Mode>_<EnvId>_<Algo>_<YYYYMMDD-HHMMSS>/`` with config.yaml and the log."""
        cfg = self.cfg
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = f"{cfg.mode.capitalize()}_{env_display_name(cfg.id)}_{cfg.algo_name}_{stamp}"
        base = self.tasks_dir()
        folder, suffix = base / name, 1
        while folder.exists():  # two runs started in the same second
            suffix += 1
            folder = base / f"{name}_{suffix}"
        try:
            for sub in ("logs", "results", *(("models",) if cfg.mode == "train" else ())):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            (folder / "config.yaml").write_text(to_yaml(cfg), encoding="utf-8")
        except OSError as error:
            raise JoyRLError(
                f"cannot write the run folder under {base}: {error.strerror}; set general_cfg.tasks_dir to a writable folder"
            ) from None
        self.folder = folder
        self.logger = get_logger(folder / "logs" / "log.txt")
        return folder

    def execute(self) -> int:
        """Run the configured mode; returns the process exit code."""
        cfg = self.cfg
        self.logger.info(
            f"{cfg.mode} {cfg.algo_name} on {cfg.id} | seed {cfg.seed} | device {cfg.device} | run folder {self.folder}"
        )
        cap = default_cap(cfg)
        if cap is not None:
            self.logger.info(f"{cfg.id} has no time limit: each episode is truncated at {cap:,} steps (general_cfg.max_step)")
        try:
            with signal_handlers(raise_interrupted, (signal.SIGTERM,)):
                if cfg.mode != "train":
                    return play(self)
                if self.dataset is not None:
                    self.logger.info(f"dataset: {self.dataset.summary()}")
                if self.dataset is None or not self.agent.learns_offline:
                    return Training(self).run_all()
                return OfflineTraining(self, float(self.dataset.episode_returns().mean())).run_all()
        finally:
            self.trainer.close()
            self.env.close()
            close_logger()

    def finish_media(self) -> None:
        """The GIF of the recorded frames and the pending trajectories."""
        finish_media(self.frames, self.trajectories, self.folder, self.cfg, self.env, self.logger)

    def wrap_outputs(self, env: gym.Env) -> gym.Env:
        """Frame recording (rgb_array envs) and trajectory collection around the run's env."""
        if self.render_mode == "rgb_array":
            env = self.frames = FrameRecorder(env, self.cfg.render_episodes)
        cfg = self.cfg
        if cfg.mode == "collect" or cfg.collect_traj:
            policy = str(self.checkpoint_path) if self.checkpoint is not None else None
            self.trajectories = TrajectoryWriter(self.folder / "traj", meta=collection_meta(cfg, policy))
            env = TrajectoryCollector(env, self.trajectories)
        if cfg.mode == "collect" and cfg.collect_exploration != "none":  # outside the recorder: it records what ran
            try:
                env = ExploringActions(env, cfg.collect_exploration, cfg.collect_epsilon, cfg.collect_noise_std, self.seed)
            except ValueError as error:
                raise ConfigError(f"general_cfg.collect_exploration: {error}") from None
        return env
