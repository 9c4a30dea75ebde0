"""Catch seen as pixels: a small image task for CNN agents, fast enough for CI."""

from __future__ import annotations

import numpy as np
from gymnasium import Env, spaces

ROWS = COLUMNS = 9  # the board, in cells
CELL = 4  # pixels per cell side: frames are 36x36, the smallest input the Nature-DQN CNN takes


class PixelCatch(Env):
    """Catch (as in bsuite, Osband et al., 2020) on a 9x9 board, observed as a grey image.

    A ball appears in a random column of the top row and falls one row per step; the
    paddle starts in the middle of the bottom row and moves one column per step.

    Observation: ``Box(0, 255, (1, 36, 36), uint8)``, one channel: the ball and the paddle
    as 4x4 white (255) squares on black (0). The ball falls straight, so one frame is Markov.

    Actions: ``Discrete(3)``: 0 moves the paddle left, 1 keeps it, 2 moves it right (a move
    into the wall keeps it).

    Rewards: +1 when the ball reaches the bottom row on the paddle, -1 when it misses,
    0 on the other steps. The best return is +1 every episode (the paddle can reach any
    column in time); a random policy averages about -0.8.

    Episode end: terminated when the ball reaches the bottom row, after 8 steps. Registered
    with a time limit of 100 steps that a finished episode never reaches.

    Rendering: ``rgb_array`` gives the frame in grey, scaled 4x (144x144x3 uint8).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(self, render_mode: str | None = None) -> None:
        self.observation_space = spaces.Box(0, 255, (1, ROWS * CELL, COLUMNS * CELL), np.uint8)
        self.action_space = spaces.Discrete(3)
        self.render_mode = render_mode
        self.ball_row, self.ball_column, self.paddle = 0, 0, COLUMNS // 2

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.ball_row, self.ball_column = 0, int(self.np_random.integers(COLUMNS))
        self.paddle = COLUMNS // 2
        return self._observation(), {}

    def step(self, action):
        self.paddle = min(max(self.paddle + int(action) - 1, 0), COLUMNS - 1)
        self.ball_row += 1
        terminated = self.ball_row == ROWS - 1
        reward = (1.0 if self.paddle == self.ball_column else -1.0) if terminated else 0.0
        return self._observation(), reward, terminated, False, {}

    def render(self):
        if self.render_mode == "rgb_array":
            grey = np.kron(self._observation()[0], np.ones((4, 4), np.uint8))  # (144, 144)
            return np.repeat(grey[:, :, None], 3, axis=2)
        return None

    def _observation(self) -> np.ndarray:
        frame = np.zeros(self.observation_space.shape, np.uint8)
        for row, column in ((self.ball_row, self.ball_column), (ROWS - 1, self.paddle)):
            frame[0, row * CELL : (row + 1) * CELL, column * CELL : (column + 1) * CELL] = 255
        return frame
