"""Windy Gridworld (Sutton & Barto, 2nd ed., example 6.5 and exercises 6.9-6.10), with a toy-text ``P`` table."""

from __future__ import annotations

import numpy as np
from gymnasium import Env, spaces

NROW, NCOL = 7, 10
START, GOAL = (3, 0), (3, 7)
WIND = (0, 0, 0, 1, 1, 1, 2, 2, 1, 0)  # upward push per column

# (drow, dcol) per action: the CliffWalking four, then the diagonals clockwise from up-right.
FOUR_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
KING_MOVES = FOUR_MOVES + ((-1, 1), (1, 1), (1, -1), (-1, -1))

CELL = 32  # pixels per cell side in rgb_array frames (224x320)
FLOOR, START_COLOUR, GOAL_COLOUR, AGENT = (235, 235, 235), (70, 110, 220), (60, 170, 80), (210, 50, 50)
WIND_TINT = np.array((40, 25, 0))  # taken off the floor colour per unit of wind: stronger wind, bluer cell


class WindyGridworld(Env):
    """Windy Gridworld: a 7x10 grid where an upward wind shifts every move (Sutton & Barto, example 6.5).

    The agent starts at (3, 0) and must reach the goal at (3, 7). In columns 3-8 a wind of
    strength ``WIND = [0, 0, 0, 1, 1, 1, 2, 2, 1, 0]`` pushes it up: a move from ``(row, col)``
    by ``(drow, dcol)`` lands on ``(row + drow - WIND[col], col + dcol)``, clipped to the grid
    as a whole (the wind of the column the agent leaves, as in the book's figures). So a
    DOWN move in a wind-1 column keeps the row, and the wind cannot push past the top edge.

    Observation: ``Discrete(70)``, ``row * 10 + col``.

    Actions: ``Discrete(4)``: 0 UP, 1 RIGHT, 2 DOWN, 3 LEFT (CliffWalking's order). With
    ``king_moves=True``, ``Discrete(8)``: the same four, then 4 UP-RIGHT, 5 DOWN-RIGHT,
    6 DOWN-LEFT, 7 UP-LEFT (exercise 6.9). ``action_directions[a]`` is ``(drow, dcol)``.

    Stochastic wind (exercise 6.10, ``stochastic_wind=True``): in columns with wind, the push
    is the column's strength minus 1, the strength, or plus 1, with probability 1/3 each.

    Rewards: -1 per step, the step that reaches the goal included. The shortest path takes
    15 steps (return -15) with the four moves and 7 with king's moves.

    Episode end: terminated on reaching the goal. Registered as ``WindyGridworld-v0`` with a
    time limit of 1000 steps (truncation).

    Planning: ``P[s][a]`` is a list of ``(prob, next_state, reward, terminated)``, one entry
    per distinct next state (stochastic-wind outcomes that clip to the same cell are merged);
    the goal is absorbing (``(1.0, goal, 0.0, True)``); ``initial_state_distrib`` is one-hot
    at the start. ``desc`` lists the rows as strings: ``S`` and ``G``, every other cell the
    wind digit of its column. ``nrow``, ``ncol``, ``wind`` and ``action_directions`` help
    drawing values and policies.

    Exploring starts: ``reset(options={"start_state": s})`` starts in any state of
    ``nonterminal_states`` (every cell but the goal); ``supports_start_state`` says so.

    ``info``: ``prob`` (of the outcome, as in toy-text) and ``wind`` (the push applied).

    Rendering: ``ansi`` (the grid with ``x`` for the agent) and ``rgb_array`` (224x320x3
    uint8: wind as a blue tint, start blue, goal green, agent red).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    supports_start_state = True

    def __init__(self, render_mode: str | None = None, king_moves: bool = False, stochastic_wind: bool = False) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, not {render_mode!r}")
        self.render_mode = render_mode
        self.king_moves, self.stochastic_wind = bool(king_moves), bool(stochastic_wind)
        self.nrow, self.ncol = NROW, NCOL
        self.wind = list(WIND)
        self.action_directions = list(KING_MOVES if self.king_moves else FOUR_MOVES)
        self.start_state, self.goal_state = self._encode(*START), self._encode(*GOAL)
        self.nonterminal_states = tuple(s for s in range(NROW * NCOL) if s != self.goal_state)
        self.initial_state_distrib = np.zeros(NROW * NCOL)
        self.initial_state_distrib[self.start_state] = 1.0
        self.desc = [
            "".join("S" if (r, c) == START else "G" if (r, c) == GOAL else str(WIND[c]) for c in range(NCOL)) for r in range(NROW)
        ]
        self.observation_space = spaces.Discrete(NROW * NCOL)
        self.action_space = spaces.Discrete(len(self.action_directions))
        self.P = {s: {a: self._outcomes(s, a) for a in range(self.action_space.n)} for s in range(NROW * NCOL)}
        self.s = self.start_state

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.s = self.start_state
        if options and "start_state" in options:
            start = options["start_state"]
            if not isinstance(start, int | np.integer) or int(start) not in self.nonterminal_states:
                raise ValueError(
                    f"start_state must be a non-goal state in 0..{NROW * NCOL - 1} (not {self.goal_state}), got {start!r}"
                )
            self.s = int(start)
        return self.s, {"prob": 1.0}

    def step(self, action):
        if self.s == self.goal_state:  # absorbing, as in P
            return self.s, 0.0, True, False, {"prob": 1.0, "wind": 0}
        row, col = divmod(self.s, NCOL)
        winds = self._winds(col)
        wind = winds[int(self.np_random.integers(len(winds)))]
        self.s = self._encode(*self._move(row, col, int(action), wind))
        prob = sum(p for p, s, _, _ in self.P[self._encode(row, col)][int(action)] if s == self.s)
        return self.s, -1.0, self.s == self.goal_state, False, {"prob": prob, "wind": wind}

    def render(self):
        if self.render_mode == "ansi":
            rows = [list(line) for line in self.desc]
            row, col = divmod(self.s, NCOL)
            rows[row][col] = "x"
            return "\n".join("".join(line) for line in rows) + "\n"
        if self.render_mode == "rgb_array":
            return self._frame()
        return None

    def _encode(self, row: int, col: int) -> int:
        return row * NCOL + col

    def _winds(self, col: int) -> tuple[int, ...]:
        """The pushes possible in ``col``, equally likely."""
        if self.stochastic_wind and WIND[col] > 0:
            return (WIND[col] - 1, WIND[col], WIND[col] + 1)
        return (WIND[col],)

    def _move(self, row: int, col: int, action: int, wind: int) -> tuple[int, int]:
        drow, dcol = self.action_directions[action]
        return min(max(row + drow - wind, 0), NROW - 1), min(max(col + dcol, 0), NCOL - 1)

    def _outcomes(self, s: int, action: int) -> list[tuple[float, int, float, bool]]:
        if s == self.goal_state:
            return [(1.0, s, 0.0, True)]
        row, col = divmod(s, NCOL)
        winds = self._winds(col)
        probs: dict[int, float] = {}
        for wind in winds:
            nxt = self._encode(*self._move(row, col, action, wind))
            probs[nxt] = probs.get(nxt, 0.0) + 1.0 / len(winds)
        return [(p, nxt, -1.0, nxt == self.goal_state) for nxt, p in probs.items()]

    def _frame(self) -> np.ndarray:
        colours = np.empty((NROW, NCOL, 3), np.uint8)
        colours[:] = np.array(FLOOR) - WIND_TINT * np.array(WIND)[:, None]
        colours[START], colours[GOAL] = START_COLOUR, GOAL_COLOUR
        frame = np.kron(colours, np.ones((CELL, CELL, 1), np.uint8))
        frame[::CELL], frame[:, ::CELL] = 160, 160  # grid lines
        row, col = divmod(self.s, NCOL)
        inset = CELL // 4
        frame[row * CELL + inset : (row + 1) * CELL - inset, col * CELL + inset : (col + 1) * CELL - inset] = AGENT
        return frame
