"""Identity envs: the right action is the observation itself, as Stable-Baselines3's identity envs.

Each step shows a fresh target drawn uniformly at random, and rewards 1.0 for the action that
names it. The step's target does not depend on the action, so every step is a one-step bandit:
a policy that learned the task scores the episode length, a random one a fraction of it.
``register_identity_envs`` registers them with Gymnasium, with their fixed episode length.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from joyrl.datasets import Dataset
from joyrl.trajectories import TrajectoryWriter, stacked

EPISODE_STEPS = 20  # every episode is cut (truncated) after this many steps: the best return is 20.0
N_TARGETS = 4  # targets and actions of the discrete envs: a random policy averages 20 / 4 = 5.0
TOLERANCE = 0.25  # IdentityBox rewards |action - target| < this: a uniform random action hits 23% of the time
IMAGE_SIZE = 8  # IdentityImage frames are (1, 8, 8)

IDS = {
    "IdentityDiscrete-v0": "IdentityCoded",  # its defaults: IdentityDiscrete's task, Box observations, Discrete actions
    "IdentityBox-v0": "IdentityBox",
    "IdentityImage-v0": "IdentityImage",
}
# IdentityCoded shows the target in each of these observation spaces and takes it in each of these action spaces
CODED_OBSERVATIONS = ("Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict")
CODED_ACTIONS = ("Discrete", "MultiDiscrete", "MultiBinary", "Box")


class _Identity(gym.Env):
    """Shows a target, drawn afresh at the reset and after every step; 1.0 for an action that names it, else 0.0.

    A subclass draws the target (``_new_target``), judges an action (``_hit``) and shows the target (``_observation``).
    """

    metadata = {"render_modes": []}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._new_target()
        return self._observation(), {}

    def step(self, action):
        reward = 1.0 if self._hit(action) else 0.0
        self._new_target()
        return self._observation(), reward, False, False, {}


class IdentityDiscrete(_Identity):
    """Name the target shown as a one-hot vector.

    Observation: ``Box(0, 1, (n,), float32)``, the one-hot vector of the target, an integer drawn
    uniformly in [0, n) at the reset and after every step.

    Actions: ``Discrete(n)``: the guessed target.

    Rewards: 1.0 when the action equals the target shown, else 0.0. A random policy averages
    1 / n per step; the best policy scores 1.0 every step.

    Episode end: never terminated; registered with a time limit of ``EPISODE_STEPS`` (20) steps,
    which truncates every episode, so the best return is 20.0.
    """

    def __init__(self, n: int = N_TARGETS, render_mode: str | None = None) -> None:
        self.n = n
        self.render_mode = render_mode  # nothing to render
        self.observation_space = spaces.Box(0.0, 1.0, (n,), np.float32)
        self.action_space = spaces.Discrete(n)
        self.target = 0

    def _new_target(self) -> None:
        self.target = int(self.np_random.integers(self.n))

    def _hit(self, action) -> bool:
        return int(action) == self.target

    def _observation(self) -> np.ndarray:
        observation = np.zeros(self.n, np.float32)
        observation[self.target] = 1.0
        return observation


class IdentityBox(_Identity):
    """Repeat the number shown.

    Observation: ``Box(-1, 1, (1,), float32)``, the target, drawn uniformly in [-1, 1] at the
    reset and after every step.

    Actions: ``Box(-1, 1, (1,), float32)``: the guessed target.

    Rewards: 1.0 when ``|action - target| < tolerance`` (0.25 by default), else 0.0. A uniformly
    random action averages about 0.23 per step; the best policy scores 1.0 every step.

    Episode end: never terminated; registered with a time limit of ``EPISODE_STEPS`` (20) steps,
    which truncates every episode, so the best return is 20.0.
    """

    def __init__(self, tolerance: float = TOLERANCE, render_mode: str | None = None) -> None:
        self.tolerance = tolerance
        self.render_mode = render_mode  # nothing to render
        self.observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.target = np.zeros(1, np.float32)

    def _new_target(self) -> None:
        self.target = self.np_random.uniform(-1.0, 1.0, (1,)).astype(np.float32)

    def _hit(self, action) -> bool:
        return abs(float(np.asarray(action, np.float32).reshape(-1)[0]) - float(self.target[0])) < self.tolerance

    def _observation(self) -> np.ndarray:
        return self.target.copy()


class IdentityImage(IdentityDiscrete):
    """IdentityDiscrete seen as a small grey image, for CNN agents.

    Observation: ``Box(0, 255, (1, 8, 8), uint8)``, one channel: black (0) but for the two
    columns ``2 * target`` and ``2 * target + 1``, which are white (255); the target is an
    integer drawn uniformly in [0, 4) at the reset and after every step.

    Actions, rewards and episode end: as IdentityDiscrete's with n = 4: ``Discrete(4)``, 1.0 for
    naming the target, else 0.0; truncated after ``EPISODE_STEPS`` (20) steps, best return 20.0.
    """

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(IMAGE_SIZE // 2, render_mode)
        self.observation_space = spaces.Box(0, 255, (1, IMAGE_SIZE, IMAGE_SIZE), np.uint8)

    def _observation(self) -> np.ndarray:
        frame = np.zeros(self.observation_space.shape, np.uint8)
        frame[0, :, 2 * self.target : 2 * self.target + 2] = 255
        return frame


class IdentityCoded(IdentityDiscrete):
    """IdentityDiscrete with the target (0-3) shown and named in any standard space.

    ``observation``: ``Box`` (the one-hot vector, as IdentityDiscrete), ``Discrete`` (its index,
    ``Discrete(4)``), ``MultiDiscrete`` (two digits, ``MultiDiscrete([2, 2])``: target = 2 * first +
    second; networks see them one-hot, 2 + 2 inputs), ``MultiBinary`` (the same digits as two bits) or
    ``Dict`` (``target``: the index, ``Discrete(4)``; ``noise``: two uniform numbers in [-1, 1] that say nothing).

    ``action``: ``Discrete`` (the index, ``Discrete(4)``), ``MultiDiscrete`` (its two digits,
    ``MultiDiscrete([2, 2])``), ``MultiBinary`` (its two bits, ``MultiBinary(2)``) or ``Box``
    (``Box(-1, 1, (1,))``: within ``tolerance`` (0.5, as the continuous Box task the issue set) of the
    target's value -0.75, -0.25, 0.25 or 0.75, an action beyond the bounds counting as the bound). A
    uniformly random action names the target 1 time in 4 in the discrete spaces, 7 in 16 in Box.
    """

    def __init__(
        self, observation: str = "Box", action: str = "Discrete", tolerance: float = 0.5, render_mode: str | None = None
    ) -> None:
        super().__init__(N_TARGETS, render_mode)
        self.observation_kind, self.action_kind, self.tolerance = observation, action, tolerance
        self.observation_space = {
            "Box": spaces.Box(0.0, 1.0, (N_TARGETS,), np.float32),
            "Discrete": spaces.Discrete(N_TARGETS),
            "MultiDiscrete": spaces.MultiDiscrete([2, 2]),
            "MultiBinary": spaces.MultiBinary(2),
            "Dict": spaces.Dict({"target": spaces.Discrete(N_TARGETS), "noise": spaces.Box(-1.0, 1.0, (2,), np.float32)}),
        }[observation]
        self.action_space = {
            "Discrete": spaces.Discrete(N_TARGETS),
            "MultiDiscrete": spaces.MultiDiscrete([2, 2]),
            "MultiBinary": spaces.MultiBinary(2),
            "Box": spaces.Box(-1.0, 1.0, (1,), np.float32),
        }[action]

    def _hit(self, action) -> bool:
        if self.action_kind == "Discrete":
            return int(action) == self.target
        if self.action_kind == "Box":
            value = float(np.clip(np.asarray(action, np.float32).reshape(-1)[0], -1.0, 1.0))
            return abs(value - self.target_value()) < self.tolerance
        first, second = (int(digit) for digit in np.asarray(action).reshape(-1))
        return 2 * first + second == self.target

    def target_value(self) -> float:
        """The target as a Box action names it: -0.75, -0.25, 0.25 or 0.75."""
        return (2 * self.target + 1) / N_TARGETS - 1.0

    def _observation(self) -> np.ndarray | np.int64 | dict:
        if self.observation_kind == "Box":
            return super()._observation()
        if self.observation_kind == "Dict":
            return {"target": np.int64(self.target), "noise": self.np_random.uniform(-1.0, 1.0, 2).astype(np.float32)}
        if self.observation_kind == "Discrete":
            return np.int64(self.target)
        return np.array(divmod(self.target, 2), dtype=self.observation_space.dtype)


def coded_id(observation: str, action: str) -> str:
    """The id of IdentityCoded with the target shown in ``observation`` and named in ``action`` (the space kinds)."""
    if (observation, action) == ("Box", "Discrete"):
        return "IdentityDiscrete-v0"
    return f"Identity{observation}To{action}-v0"


def register_identity_envs() -> None:
    """Register the identity envs with Gymnasium, each with its 20-step time limit; ids already known are kept."""
    for env_id, name in IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=f"{__name__}:{name}", max_episode_steps=EPISODE_STEPS)
    for observation in CODED_OBSERVATIONS:
        for action in CODED_ACTIONS:
            env_id = coded_id(observation, action)
            if env_id not in gym.registry:
                kwargs = {"observation": observation, "action": action}
                gym.register(id=env_id, entry_point=f"{__name__}:IdentityCoded", max_episode_steps=EPISODE_STEPS, kwargs=kwargs)


def coded_dataset(observation: str, n_episodes: int, right: float = 1.0, seed: int = 0, action: str = "Discrete") -> Dataset:
    """Episodes of IdentityCoded (``observation`` kind; Discrete, or Box ``action``) from an expert that names the
    target with probability ``right`` and otherwise takes a uniformly random action; observations as the env gives
    them (indices; a Dict's part by part)."""
    register_identity_envs()
    env = gym.make(coded_id(observation, action))
    identity = env.unwrapped
    rng = np.random.default_rng(seed)
    observations, actions, rewards, next_observations = [], [], [], []
    for episode in range(n_episodes):
        state, _ = env.reset(seed=seed + episode)
        for _ in range(EPISODE_STEPS):
            expert = rng.random() < right
            if action == "Box":
                move = np.array([identity.target_value() if expert else rng.uniform(-1.0, 1.0)], dtype=np.float32)
            else:
                move = identity.target if expert else int(rng.integers(N_TARGETS))
            next_state, reward, *_ = env.step(move)
            observations.append(state)
            actions.append(move)
            rewards.append(reward)
            next_observations.append(next_state)
            state = next_state
    n = n_episodes * EPISODE_STEPS
    return Dataset(
        observations=stacked(observations),
        actions=np.array(actions, dtype=np.float32 if action == "Box" else np.int64),
        rewards=np.array(rewards, dtype=np.float32),
        next_observations=stacked(next_observations),
        terminated=np.zeros(n, bool),
        truncated=np.arange(n) % EPISODE_STEPS == EPISODE_STEPS - 1,
        episode_starts=np.arange(0, n, EPISODE_STEPS, dtype=np.int64),
    )


def write_dataset(dataset: Dataset, folder: Path, env_id: str) -> Path:
    """Write ``dataset`` as the trajectory files of a collect run folder ``folder`` (for ``general_cfg.dataset``)."""
    writer = TrajectoryWriter(folder / "traj", meta={"env_id": env_id})
    for episode in dataset.episodes():
        writer.add(episode)
    writer.flush()
    return folder


def shown(observation: str, target: int) -> np.ndarray | np.int64:
    """How IdentityCoded shows ``target`` in the ``observation`` space (Box, Discrete, MultiDiscrete, MultiBinary)."""
    if observation == "Box":
        return np.eye(N_TARGETS, dtype=np.float32)[target]
    if observation == "Discrete":
        return np.int64(target)
    return np.array(divmod(target, 2), dtype=np.int64 if observation == "MultiDiscrete" else np.int8)


def missed_targets(agent, env: gym.Env) -> list[int]:
    """The targets of IdentityCoded ``env`` whose greedy action (``agent.predict_action`` on the target shown) the env
    does not reward."""
    identity = env.unwrapped
    missed = []
    for target in range(N_TARGETS):
        identity.target = target
        if not identity._hit(agent.predict_action(identity._observation())):
            missed.append(target)
    return missed
