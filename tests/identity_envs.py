"""Identity envs: the right action is the observation itself, as Stable-Baselines3's identity envs.

Each step shows a fresh target drawn uniformly at random, and rewards 1.0 for the action that
names it. The step's target does not depend on the action, so every step is a one-step bandit:
a policy that learned the task scores the episode length, a random one a fraction of it.
``register_identity_envs`` registers them with Gymnasium, with their fixed episode length.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

EPISODE_STEPS = 20  # every episode is cut (truncated) after this many steps: the best return is 20.0
N_TARGETS = 4  # targets and actions of the discrete envs: a random policy averages 20 / 4 = 5.0
TOLERANCE = 0.25  # IdentityBox rewards |action - target| < this: a uniform random action hits 23% of the time
IMAGE_SIZE = 8  # IdentityImage frames are (1, 8, 8)

IDS = {
    "IdentityDiscrete-v0": "IdentityDiscrete",
    "IdentityBox-v0": "IdentityBox",
    "IdentityImage-v0": "IdentityImage",
}
# The same task with the target shown in the other standard spaces (deep agents one-hot encode them): observation kind -> id
OBSERVATION_IDS = {
    "Discrete": "IdentityDiscreteObs-v0",
    "MultiDiscrete": "IdentityMultiDiscrete-v0",
    "MultiBinary": "IdentityMultiBinary-v0",
}


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


class IdentityDiscreteObs(IdentityDiscrete):
    """IdentityDiscrete with the target shown as its index: ``Discrete(4)`` observations."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(N_TARGETS, render_mode)
        self.observation_space = spaces.Discrete(N_TARGETS)

    def _observation(self) -> np.int64:
        return np.int64(self.target)


class IdentityMultiDiscrete(IdentityDiscrete):
    """IdentityDiscrete with the target (0-3) shown as two digits, ``MultiDiscrete([2, 2])``: target = 2 * first + second.

    The networks see the digits one-hot, 2 + 2 inputs, where IdentityMultiBinary shows the same digits as 2 bits.
    """

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(N_TARGETS, render_mode)
        self.observation_space = spaces.MultiDiscrete([2, 2])

    def _observation(self) -> np.ndarray:
        return np.array(divmod(self.target, 2), dtype=np.int64)


class IdentityMultiBinary(IdentityDiscrete):
    """IdentityDiscrete with the target (0-3) shown as its two bits, ``MultiBinary(2)``."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(N_TARGETS, render_mode)
        self.observation_space = spaces.MultiBinary(2)

    def _observation(self) -> np.ndarray:
        return np.array([self.target >> 1, self.target & 1], dtype=np.int8)


def register_identity_envs() -> None:
    """Register the identity envs with Gymnasium, each with its 20-step time limit; ids already known are kept."""
    names = {**IDS, **{env_id: env_id.removesuffix("-v0") for env_id in OBSERVATION_IDS.values()}}
    for env_id, name in names.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=f"{__name__}:{name}", max_episode_steps=EPISODE_STEPS)
