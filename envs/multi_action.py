"""Two small tasks whose actions have several parts: a MultiDiscrete and a MultiBinary action space.

They exist to show (and benchmark) policies over such actions: PPO, A2C and REINFORCE with a
categorical per MultiDiscrete dimension or a Bernoulli per MultiBinary bit. Each has a constant best
return, so a learned policy can be checked against the optimum episode by episode.
"""

from __future__ import annotations

import numpy as np
from gymnasium import Env, spaces


class KingWalk(Env):
    """Walk like a chess king to a goal on a ``size`` x ``size`` board, moving along both axes at once.

    Observation: ``Box(0, 1, (4,), float32)``: the walker's column and row, then the goal's, each divided
    by ``size - 1``. Start and goal are drawn uniformly at the reset, never on the same cell.

    Actions: ``MultiDiscrete([3, 3])``: the column move and the row move, each 0 (-1), 1 (stay) or 2
    (+1); a move off the board stops at the edge. The walker needs max(|dx|, |dy|) steps (the Chebyshev
    distance) to reach the goal, and a step brings it at most one closer.

    Rewards: +1 when the walker reaches the goal; -1 for a step that does not bring it closer (the
    Chebyshev distance stays or grows); 0 for a step that does. The best return is +1 every episode; a
    uniformly random policy averages about -17 on the default 7x7 board (its episodes mostly truncated).

    Episode end: terminated at the goal; registered with a time limit of ``4 * size`` steps (28).
    """

    metadata = {"render_modes": []}

    def __init__(self, size: int = 7, render_mode: str | None = None) -> None:
        self.size = size
        self.render_mode = render_mode  # nothing to render
        self.observation_space = spaces.Box(0.0, 1.0, (4,), np.float32)
        self.action_space = spaces.MultiDiscrete([3, 3])
        self.walker = np.zeros(2, np.int64)
        self.goal = np.zeros(2, np.int64)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        cells = self.np_random.choice(self.size * self.size, 2, replace=False)
        self.walker, self.goal = (np.array(divmod(int(cell), self.size), np.int64) for cell in cells)
        return self._observation(), {"distance": self.distance()}

    def distance(self) -> int:
        """Steps the walker still needs: the Chebyshev distance to the goal."""
        return int(np.abs(self.walker - self.goal).max())

    def step(self, action):
        before = self.distance()
        self.walker = np.clip(self.walker + np.asarray(action, np.int64).reshape(2) - 1, 0, self.size - 1)
        after = self.distance()
        terminated = after == 0
        reward = 1.0 if terminated else (0.0 if after < before else -1.0)
        return self._observation(), reward, terminated, False, {"distance": after}

    def _observation(self) -> np.ndarray:
        return np.concatenate([self.walker, self.goal]).astype(np.float32) / (self.size - 1)


class SwitchPanel(Env):
    """Set a panel of ``n`` switches to a target pattern by flipping any of them at once.

    Observation: ``Box(0, 1, (2n,), float32)``: the switches (0 off, 1 on), then the target pattern.
    Both are drawn uniformly at the reset, never equal.

    Actions: ``MultiBinary(n)``: 1 flips that switch, 0 leaves it. The right action flips exactly the
    switches that differ from the target (the exclusive or of the two halves of the observation): one
    step solves the panel, but a uniformly random action is right once in 2^n (256 for n = 8) tries.

    Rewards: minus the fraction of switches that differ from the target after the step: 0 once the
    panel matches. The best return is 0 every episode; a uniformly random policy averages about -4.9
    on the default 8 switches (about -0.5 a step, 10 steps).

    Episode end: terminated when the panel matches the target; registered with a time limit of 10 steps.
    """

    metadata = {"render_modes": []}

    def __init__(self, n: int = 8, render_mode: str | None = None) -> None:
        self.n = n
        self.render_mode = render_mode  # nothing to render
        self.observation_space = spaces.Box(0.0, 1.0, (2 * n,), np.float32)
        self.action_space = spaces.MultiBinary(n)
        self.switches = np.zeros(n, np.int8)
        self.target = np.ones(n, np.int8)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.switches = self.np_random.integers(0, 2, self.n).astype(np.int8)
        self.target = self.switches.copy()
        while np.array_equal(self.target, self.switches):
            self.target = self.np_random.integers(0, 2, self.n).astype(np.int8)
        return self._observation(), {}

    def step(self, action):
        self.switches = self.switches ^ np.asarray(action, np.int8).reshape(self.n)
        wrong = int(np.sum(self.switches != self.target))
        return self._observation(), -wrong / self.n, wrong == 0, False, {"wrong": wrong}

    def _observation(self) -> np.ndarray:
        return np.concatenate([self.switches, self.target]).astype(np.float32)
