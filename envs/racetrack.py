"""Racetrack (Sutton & Barto, 2nd ed., exercise 5.12), tabular, with a toy-text ``P`` table."""

from __future__ import annotations

import numpy as np
from gymnasium import Env, spaces

# Our own transcription of figure 5.5 (left and right) of the book, one character per cell:
# '#' off the track, '.' track, 'S' start line (bottom row), 'F' finish line (right end).
TRACKS = {
    "left": [
        "###.............F",
        "##..............F",
        "##..............F",
        "#...............F",
        "................F",
        "................F",
        "..........#######",
        ".........########",
        ".........########",
        ".........########",
        ".........########",
        ".........########",
        ".........########",
        ".........########",
        "#........########",
        "#........########",
        "#........########",
        "#........########",
        "#........########",
        "#........########",
        "#........########",
        "#........########",
        "##.......########",
        "##.......########",
        "##.......########",
        "##.......########",
        "##.......########",
        "##.......########",
        "##.......########",
        "###......########",
        "###......########",
        "###SSSSSS########",
    ],
    "right": [
        "################...............F",
        "#############..................F",
        "############...................F",
        "###########....................F",
        "###########....................F",
        "###########....................F",
        "###########....................F",
        "###########....................F",
        "############...................F",
        "#############..................F",
        "##############................##",
        "##############.............#####",
        "##############............######",
        "##############..........########",
        "##############.........#########",
        "#############..........#########",
        "############...........#########",
        "###########............#########",
        "##########.............#########",
        "#########..............#########",
        "########...............#########",
        "#######................#########",
        "######.................#########",
        "#####..................#########",
        "####...................#########",
        "###....................#########",
        "##.....................#########",
        "#......................#########",
        ".......................#########",
        ".......................#########",
        "SSSSSSSSSSSSSSSSSSSSSSS#########",
    ],
}

MAX_SPEED = 4  # each velocity component is in 0..MAX_SPEED
SPEEDS = MAX_SPEED + 1
# (vrow increment, vcol increment) per action: a // 3 - 1 and a % 3 - 1; action 4 keeps the velocity.
INCREMENTS = tuple((a // 3 - 1, a % 3 - 1) for a in range(9))

CELL = 8  # pixels per cell side in rgb_array frames
OFF, TRACK, START_COLOUR, FINISH_COLOUR = (60, 60, 60), (225, 225, 225), (70, 110, 220), (60, 170, 80)
PATH_COLOUR, CAR = (240, 170, 60), (210, 50, 50)


class Racetrack(Env):
    """Racetrack: drive a car through a right turn as fast as possible (Sutton & Barto, exercise 5.12).

    The car sits on a cell of a track map and has a velocity ``(vrow, vcol)``, each
    component in 0..4: ``vrow`` cells up (towards row 0) and ``vcol`` cells right per step.
    ``track`` is ``"left"`` or ``"right"`` (our own transcription of the book's figure 5.5),
    or a list of equal-length strings: ``#`` off the track, ``.`` track, ``S`` start line,
    ``F`` finish line.

    Dynamics, per step: the velocity changes by the action's increments, clipped to 0..4;
    with probability ``noise`` (0.1) both increments are zero instead. An increment that
    would stop the car (both components zero) is ignored unless the car is on the start
    line. Then the car moves by the new velocity. The move's path is the straight segment
    from the centre of the cell to the centre of the target cell, and the cells it passes
    through (their interiors; touching a corner does not count) are checked in order: the
    first finish cell ends the episode, the first cell off the track or the map is a crash,
    which puts the car on a start cell drawn uniformly, with zero velocity (the episode
    goes on).

    Observation: ``Discrete(nrow * ncol * 25)``, ``encode(row, col, vrow, vcol) =
    ((row * ncol + col) * 5 + vrow) * 5 + vcol``; ``decode`` inverts it. With
    ``obs_type="box"``, ``Box(0, high, (4,), float32)`` holding ``(row, col, vrow, vcol)``.

    Actions: ``Discrete(9)``; action ``a`` adds ``(a // 3 - 1, a % 3 - 1)`` to ``(vrow, vcol)``
    (``action_increments[a]``); action 4 keeps the velocity.

    Rewards: -1 per step, crashes and the finishing step included.

    Starting state: a start cell drawn uniformly, zero velocity.
    ``reset(options={"start_state": s})`` starts anywhere in ``nonterminal_states`` (on the
    track, not on the finish line, velocity not zero off the start line): exploring starts.

    Episode end: terminated when the path reaches a finish cell (the observation is that
    cell with the new velocity). Registered as ``Racetrack-v0`` with a time limit of 1000
    steps (truncation).

    Planning: ``P[s][a]`` is a list of ``(prob, next_state, reward, terminated)`` built on
    first access (1-2 s for the right track): up to two velocity outcomes (noise),
    and a crash spread over the start cells. States that no episode visits (off the track,
    on the finish line, stopped off the start line) are absorbing: ``(1.0, s, 0.0, True)``.
    ``initial_state_distrib`` is uniform over the start cells at zero velocity.

    ``info``: ``position``, ``velocity``, ``noise`` (the increments were zeroed), ``crashed``,
    ``finished``, and ``crashes`` (so far this episode).

    Rendering: ``ansi`` (the map with ``@`` for the car) and ``rgb_array`` (8 px per cell:
    track light, off-track dark, start blue, finish green, last path orange, car red).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    supports_start_state = True

    def __init__(
        self,
        render_mode: str | None = None,
        track: str | list[str] = "left",
        noise: float = 0.1,
        obs_type: str = "discrete",
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, not {render_mode!r}")
        if obs_type not in ("discrete", "box"):
            raise ValueError(f"obs_type must be 'discrete' or 'box', not {obs_type!r}")
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise is a probability in [0, 1], got {noise}")
        self.render_mode, self.obs_type, self.noise = render_mode, obs_type, float(noise)
        self.track = _parse_track(track)
        self.nrow, self.ncol = len(self.track), len(self.track[0])
        self.start_cells = [(r, c) for r in range(self.nrow) for c in range(self.ncol) if self.track[r][c] == "S"]
        self.finish_cells = [(r, c) for r in range(self.nrow) for c in range(self.ncol) if self.track[r][c] == "F"]
        self.action_increments = list(INCREMENTS)
        self.nonterminal_states = tuple(s for s in range(self.nrow * self.ncol * SPEEDS * SPEEDS) if self._is_nonterminal(s))
        self.initial_state_distrib = np.zeros(self.nrow * self.ncol * SPEEDS * SPEEDS)
        self.initial_state_distrib[[self.encode(r, c, 0, 0) for r, c in self.start_cells]] = 1.0 / len(self.start_cells)
        self.action_space = spaces.Discrete(9)
        if obs_type == "box":
            high = np.array([self.nrow - 1, self.ncol - 1, MAX_SPEED, MAX_SPEED], np.float32)
            self.observation_space = spaces.Box(np.zeros(4, np.float32), high, (4,), np.float32)
        else:
            self.observation_space = spaces.Discrete(self.nrow * self.ncol * SPEEDS * SPEEDS)
        self._P: dict[int, dict[int, list[tuple[float, int, float, bool]]]] | None = None
        self.position, self.velocity = self.start_cells[0], (0, 0)
        self.path: list[tuple[int, int]] = []
        self.crashes = 0

    def encode(self, row: int, col: int, vrow: int, vcol: int) -> int:
        return ((row * self.ncol + col) * SPEEDS + vrow) * SPEEDS + vcol

    def decode(self, s: int) -> tuple[int, int, int, int]:
        rest, vcol = divmod(int(s), SPEEDS)
        rest, vrow = divmod(rest, SPEEDS)
        row, col = divmod(rest, self.ncol)
        return row, col, vrow, vcol

    @property
    def P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        if self._P is None:
            self._P = self._build_P()
        return self._P

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.position, self.velocity = self.start_cells[int(self.np_random.integers(len(self.start_cells)))], (0, 0)
        if options and "start_state" in options:
            start = options["start_state"]
            if not isinstance(start, int | np.integer) or not self._is_nonterminal(int(start)):
                raise ValueError(
                    f"start_state {start!r} is not a non-terminal state (on the track, off the finish line, "
                    "moving unless on the start line); pick one from env.unwrapped.nonterminal_states"
                )
            row, col, vrow, vcol = self.decode(int(start))
            self.position, self.velocity = (row, col), (vrow, vcol)
        self.path, self.crashes = [], 0
        return self._observation(), self._info(noise=False, crashed=False, finished=False)

    def step(self, action):
        noise = bool(self.np_random.random() < self.noise)
        velocity = self._new_velocity(self.position, self.velocity, (0, 0) if noise else INCREMENTS[int(action)])
        outcome, cell, self.path = self._move(self.position, velocity)
        crashed, finished = outcome == "crash", outcome == "finish"
        if crashed:
            self.crashes += 1
            self.position, self.velocity = self.start_cells[int(self.np_random.integers(len(self.start_cells)))], (0, 0)
        else:
            self.position, self.velocity = cell, velocity
        return self._observation(), -1.0, finished, False, self._info(noise=noise, crashed=crashed, finished=finished)

    def render(self):
        if self.render_mode == "ansi":
            rows = [list(line) for line in self.track]
            rows[self.position[0]][self.position[1]] = "@"
            return "\n".join("".join(line) for line in rows) + f"\nvelocity (up, right) = {self.velocity}\n"
        if self.render_mode == "rgb_array":
            return self._frame()
        return None

    # --- dynamics: one deterministic function, shared by step() and P ---------------------

    def _new_velocity(self, cell: tuple[int, int], velocity: tuple[int, int], increments: tuple[int, int]) -> tuple[int, int]:
        vrow = min(max(velocity[0] + increments[0], 0), MAX_SPEED)
        vcol = min(max(velocity[1] + increments[1], 0), MAX_SPEED)
        if vrow == vcol == 0 and self.track[cell[0]][cell[1]] != "S":
            return velocity  # the car may stop only on the start line
        return vrow, vcol

    def _move(self, cell: tuple[int, int], velocity: tuple[int, int]) -> tuple[str, tuple[int, int], list[tuple[int, int]]]:
        """Follow the path from ``cell``: ('finish' | 'crash' | 'move', the cell where it ended, the cells passed)."""
        path = []
        for drow, dcol in PATHS[velocity]:
            row, col = cell[0] + drow, cell[1] + dcol
            path.append((row, col))
            if not (0 <= row < self.nrow and 0 <= col < self.ncol) or self.track[row][col] == "#":
                return "crash", (row, col), path
            if self.track[row][col] == "F":
                return "finish", (row, col), path
        return "move", path[-1] if path else cell, path

    def _end(self, cell: tuple[int, int], velocity: tuple[int, int]) -> tuple[int, bool] | None:
        """Where a move from ``cell`` at ``velocity`` ends: (next state, finished), or None for a crash."""
        kind, end, _ = self._move(cell, velocity)
        return None if kind == "crash" else (self.encode(*end, *velocity), kind == "finish")

    def _is_nonterminal(self, s: int) -> bool:
        if not 0 <= s < self.nrow * self.ncol * SPEEDS * SPEEDS:
            return False
        row, col, vrow, vcol = self.decode(s)
        if self.track[row][col] in "#F":
            return False
        return vrow > 0 or vcol > 0 or self.track[row][col] == "S"

    def _build_P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        restarts: dict[float, list[tuple[float, int, float, bool]]] = {}  # shared tuples keep the table small

        def entries(end: tuple[int, bool] | None, prob: float) -> list[tuple[float, int, float, bool]]:
            """``end`` is (next state, finished), or None for a crash: a restart on any start cell."""
            if end is not None:
                return [(prob, end[0], -1.0, end[1])]
            if prob not in restarts:
                share = prob / len(self.start_cells)
                restarts[prob] = [(share, self.encode(r, c, 0, 0), -1.0, False) for r, c in self.start_cells]
            return restarts[prob]

        nonterminal = set(self.nonterminal_states)
        table = {}
        for s in range(self.nrow * self.ncol * SPEEDS * SPEEDS):
            if s not in nonterminal:
                table[s] = {a: [(1.0, s, 0.0, True)] for a in range(9)}
                continue
            row, col, vrow, vcol = self.decode(s)
            cell, velocity = (row, col), (vrow, vcol)
            steered = [self._new_velocity(cell, velocity, increments) for increments in INCREMENTS]
            ends = {v: self._end(cell, v) for v in set(steered)}  # steered[4] is velocity: the noise outcome
            table[s] = {}
            for a, new_velocity in enumerate(steered):
                if new_velocity == velocity or self.noise == 0.0:
                    table[s][a] = list(entries(ends[new_velocity], 1.0))
                elif self.noise == 1.0:
                    table[s][a] = list(entries(ends[velocity], 1.0))
                else:
                    table[s][a] = _merge(entries(ends[new_velocity], 1.0 - self.noise) + entries(ends[velocity], self.noise))
        return table

    # --- observation, info, frame -------------------------------------------------------

    def _observation(self):
        if self.obs_type == "box":
            return np.array([*self.position, *self.velocity], np.float32)
        return self.encode(*self.position, *self.velocity)

    def _info(self, *, noise: bool, crashed: bool, finished: bool) -> dict:
        return {
            "position": self.position,
            "velocity": self.velocity,
            "noise": noise,
            "crashed": crashed,
            "finished": finished,
            "crashes": self.crashes,
        }

    def _frame(self) -> np.ndarray:
        palette = {"#": OFF, ".": TRACK, "S": START_COLOUR, "F": FINISH_COLOUR}
        colours = np.array([[palette[ch] for ch in line] for line in self.track], np.uint8)
        for row, col in self.path:
            if 0 <= row < self.nrow and 0 <= col < self.ncol:
                colours[row, col] = PATH_COLOUR
        colours[self.position] = CAR
        frame = np.kron(colours, np.ones((CELL, CELL, 1), np.uint8))
        frame[::CELL], frame[:, ::CELL] = 150, 150  # grid lines
        return frame


def _parse_track(track: str | list[str]) -> list[str]:
    if isinstance(track, str):
        if track not in TRACKS:
            raise ValueError(f"track must be one of {sorted(TRACKS)} or a list of strings, got {track!r}")
        return list(TRACKS[track])
    rows = [str(line) for line in track]
    if not rows or len({len(line) for line in rows}) != 1 or not rows[0]:
        raise ValueError("a custom track is a non-empty list of strings of equal length")
    if set("".join(rows)) - set("#.SF"):
        raise ValueError(f"a custom track uses only '#', '.', 'S' and 'F', got {sorted(set(''.join(rows)) - set('#.SF'))}")
    if not any("S" in line for line in rows) or not any("F" in line for line in rows):
        raise ValueError("a custom track needs at least one start cell 'S' and one finish cell 'F'")
    return rows


def _segment_cells(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """The cells whose interior the segment from the centre of ``start`` to that of ``end`` enters, in order.

    The segment crosses ``|drow|`` horizontal and ``|dcol|`` vertical cell borders; the i-th
    border of an axis with ``n`` crossings is at ``t = (2i - 1) / (2n)``. Comparing those
    times as integers orders the crossings exactly; a crossing of both at once (through a
    corner) is one diagonal step.
    """
    drow, dcol = end[0] - start[0], end[1] - start[1]
    n_row, n_col = abs(drow), abs(dcol)
    # times scaled by 2 * n_row * n_col (or by 2 * n when the other axis does not move)
    row_times = [(2 * i - 1) * max(n_col, 1) for i in range(1, n_row + 1)]
    col_times = [(2 * j - 1) * max(n_row, 1) for j in range(1, n_col + 1)]
    step_row, step_col = (drow > 0) - (drow < 0), (dcol > 0) - (dcol < 0)
    row, col = start
    cells = []
    i = j = 0
    while i < n_row or j < n_col:
        t_row = row_times[i] if i < n_row else None
        t_col = col_times[j] if j < n_col else None
        if t_col is None or (t_row is not None and t_row <= t_col):
            row, i = row + step_row, i + 1
        if t_row is None or (t_col is not None and t_col <= t_row):
            col, j = col + step_col, j + 1
        cells.append((row, col))
    return cells


# The path offsets of every velocity, as seen from the car's cell (moving up and right).
PATHS = {(vrow, vcol): _segment_cells((0, 0), (-vrow, vcol)) for vrow in range(SPEEDS) for vcol in range(SPEEDS)}


def _merge(entries: list[tuple[float, int, float, bool]]) -> list[tuple[float, int, float, bool]]:
    """Add up the probabilities of entries with the same next state (rare: a stop next to a crash)."""
    if len({entry[1] for entry in entries}) == len(entries):
        return entries
    probs: dict[int, list] = {}
    for prob, nxt, reward, terminated in entries:
        if nxt in probs:
            probs[nxt][0] += prob
        else:
            probs[nxt] = [prob, nxt, reward, terminated]
    return [tuple(entry) for entry in probs.values()]
