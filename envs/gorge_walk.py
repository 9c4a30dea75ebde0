"""GorgeWalk: a tabular grid walk with treasures, a ``P`` table in toy-text style.

The Markov state is position x treasure mask, so a Q-table indexed by position alone is
wrong; the table grows by 2**K with K treasures. The env reports a Kaiwu-style ``score``
in ``info`` (0 on timeout) that differs from the reward agents learn from.

Difficulty on the default map (``python benchmarks/teaching_envs_gorge.py``; table in
``benchmarks/results/teaching_envs_gorge.md``):

- Optimal undiscounted return +78 in 52 steps with all 4 treasures; +22 in 28 steps to
  the goal alone (a 28-step route also crosses a treasure: +42); 3 treasures give +76 in
  34 steps, so the fourth is worth only +2. The optimal path scores 619.6.
- Value iteration (synchronous, gamma 0.99, tolerance 1e-6): V stops changing after 54
  sweeps (55 run, ~30 ms); V*(s0) = 57.7, and its greedy policy takes 3 treasures for +76
  in 34 steps: at gamma 0.99 the fourth is not worth 18 more steps. With
  ``is_slippery=True, slip_prob=0.2``: 110 sweeps, V*(s0) = 43.0.
- Uniform random policy (20,000 episodes, seed 0): mean return -369.4, 3.9% reach the
  goal within 400 steps; mean -185.6, 0.28% within 200 steps.
"""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
from gymnasium import Env, spaces
from gymnasium.envs.toy_text.utils import categorical_sample

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
MOVES = {UP: (-1, 0), RIGHT: (0, 1), DOWN: (1, 0), LEFT: (0, -1)}

MAPS = {
    "gorge16": [
        "################",
        "#S.....#.......#",
        "#......#..T....#",
        "#..##..#..###..#",
        "#..#T.....#....#",
        "#..#####..#..###",
        "#.........#....#",
        "####..######...#",
        "#.......#......#",
        "#..T....#..##..#",
        "#..######...#..#",
        "#.......#...#T.#",
        "#..###..#####..#",
        "#....#.........#",
        "#....#......G..#",
        "################",
    ],
    "gorge8": [
        "########",
        "#S.T...#",
        "#.##.#.#",
        "#......#",
        "#.#.##.#",
        "#.#..T.#",
        "#...#.G#",
        "########",
    ],
}

DEFAULT_REWARDS = {"step": -1.0, "treasure": 20.0, "goal": 50.0, "bump_penalty": 0.0}
DISTANCE_BINS = np.array([1, 3, 5, 9, 17, 33])  # BFS distance bins: 0 | 1-2 | 3-4 | 5-8 | 9-16 | 17-32 | 33+
CELL = 16  # pixels per cell in rgb_array frames
COLOURS = {  # RGB per map letter; a collected treasure is drawn as floor
    "#": (45, 45, 50),
    ".": (236, 232, 220),
    "S": (110, 160, 230),
    "G": (70, 175, 85),
    "T": (240, 190, 40),
}
AGENT_COLOUR = (215, 45, 45)


class GorgeWalk(Env):
    """A gorge with a start S, a goal G and K treasures T: walk to G, picking treasures up on the way.

    Map: ``desc`` (a list of equal-length strings over ``#.SGT``) or ``map_name``
    (``"gorge16"``, the default: 145 walkable cells, 4 treasures; ``"gorge8"``: 8x8 with 2
    treasures, for hand-checked tests). Treasure ids 0..K-1 follow the T's in row-major
    order. Row 0 is north. Moving off the map or into ``#`` is a bump: the agent stays.

    Observation: ``Discrete(H*W*2**K)``, ``s = (row*W + col) * 2**K + mask`` where bit i of
    ``mask`` is 1 while treasure i is still present (4096 states on gorge16). ``encode`` and
    ``decode`` convert. With ``obs_type="features"`` it is a ``Box(0, 1, (H+W+K+25+7*(K+1),),
    float32)`` instead: row one-hot, column one-hot, mask bits, the 5x5 walls around the
    agent (row-major, off-map counts as wall), then a 7-bin one-hot of the BFS distance to
    the goal and to each treasure (all zeros once that treasure is gone). Bins:
    0, 1-2, 3-4, 5-8, 9-16, 17-32, 33+. ``info["state"]`` always holds the discrete state.

    Actions: ``Discrete(4)``: 0 UP, 1 RIGHT, 2 DOWN, 3 LEFT (CliffWalking's order). With
    ``is_slippery=True`` the intended move happens with probability ``1 - slip_prob`` and
    each perpendicular move with ``slip_prob / 2`` (``slip_prob`` defaults to 0.2 and is an
    error without ``is_slippery``).

    Rewards (``reward_cfg`` entries are added as given, so a penalty is negative):
    ``step`` -1 on every step, bumps included; ``treasure`` +20 when the agent enters a
    cell whose treasure is present; ``goal`` +50 on entering G; ``bump_penalty`` 0 extra
    on a bump. The optimal return on gorge16 is +78 (all treasures, 52 steps).

    ``P[s][a]`` is a list of ``(probability, next state, reward, terminated)`` over every
    state and mask, so value iteration needs nothing else. Walls are unreachable
    self-loops with reward 0; goal states are absorbing (reward 0, terminated).

    Treasures at reset: all K by default; ``treasures=[ids]`` fixes a subset;
    ``treasure_random=True`` draws a subset each reset from ``np_random``, of
    ``treasure_count`` treasures, or of a uniformly drawn count 0..K when that is None.

    Episode end: terminated on entering G, even with treasures left. Truncated after
    ``max_steps`` (default 400) steps; the registered ``TimeLimit`` is also 400, and the env
    truncates at ``max_steps`` by itself too. Time is not in the state: bootstrap through
    truncation. To change the horizon pass ``max_steps`` and the same
    ``max_episode_steps`` to ``gym.make`` (in JoyRL: ``env_cfg.kwargs.max_steps`` and
    ``env_cfg.max_step``): the score's time bonus and 0-on-timeout rule follow ``max_steps``.

    ``info``: ``pos`` (row, col), ``mask``, ``collected`` (treasures picked up this
    episode), ``steps``, ``state`` and ``score``: ``100 * collected`` during the episode,
    ``150 + 0.2 * (max_steps - steps) + 100 * collected`` on reaching G, and 0 when the
    step that reaches ``max_steps`` is not at G.

    Reset options: ``reset(options={"start_state": s})`` starts in any state of
    ``valid_states()`` (any walkable position other than G, with any mask, e.g.
    ``env.encode(row, col, mask)``): the exploring starts of tabular Monte Carlo.
    ``valid_states(include_goal=False)`` lists them; it leaves out walls, G and a treasure's
    cell while that treasure is present (entering the cell picks it up). Other helpers:
    ``n_states`` (H*W*2**K, whatever ``obs_type`` is), ``encode``, ``decode``, ``desc``,
    ``start``, ``goal``, ``treasure_cells`` ((row, col) by treasure id) and, as in toy text,
    ``initial_state_distrib`` (the distribution of the first state under the treasure options).

    Rendering: ``"ansi"`` (the map with ``A`` for the agent and collected treasures as
    ``.``) and ``"rgb_array"`` (16 px per cell, 256x256x3 uint8 on gorge16: walls dark,
    floor light, start blue, goal green, treasures gold, the agent a red square), drawn
    with NumPy only.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    supports_start_state = True  # reset(options={"start_state": s}): Monte Carlo's exploring starts (joyrl/tabular.py)

    def __init__(
        self,
        render_mode: str | None = None,
        desc: list[str] | None = None,
        map_name: str = "gorge16",
        obs_type: str = "discrete",
        is_slippery: bool = False,
        slip_prob: float | None = None,
        reward_cfg: dict[str, float] | None = None,
        treasures: list[int] | None = None,
        treasure_random: bool = False,
        treasure_count: int | None = None,
        max_steps: int = 400,
    ) -> None:
        if desc is None:
            if map_name not in MAPS:
                raise ValueError(f"unknown map_name {map_name!r}; choose one of {sorted(MAPS)} or pass desc")
            desc = MAPS[map_name]
        self.desc = _parse_map(desc)
        self.nrow, self.ncol = self.desc.shape
        self.start = tuple(int(i) for i in np.argwhere(self.desc == "S")[0])
        self.goal = tuple(int(i) for i in np.argwhere(self.desc == "G")[0])
        self.treasure_cells = [tuple(int(i) for i in cell) for cell in np.argwhere(self.desc == "T")]
        self.n_treasures = len(self.treasure_cells)
        self.n_masks = 2**self.n_treasures
        _check_reachable(self.desc, self.start, [self.goal, *self.treasure_cells])

        if obs_type not in ("discrete", "features"):
            raise ValueError(f"obs_type must be 'discrete' or 'features', not {obs_type!r}")
        if slip_prob is not None and slip_prob != 0 and not is_slippery:
            raise ValueError(f"slip_prob={slip_prob} needs is_slippery=True")
        self.slip_prob = (0.2 if slip_prob is None else float(slip_prob)) if is_slippery else 0.0
        if not 0.0 <= self.slip_prob <= 1.0:
            raise ValueError(f"slip_prob must be in [0, 1], not {self.slip_prob}")
        unknown = set(reward_cfg or {}) - set(DEFAULT_REWARDS)
        if unknown:
            raise ValueError(f"unknown reward_cfg keys {sorted(unknown)}; valid keys are {sorted(DEFAULT_REWARDS)}")
        self.reward_cfg = {**DEFAULT_REWARDS, **(reward_cfg or {})}
        self._full_mask = self._check_treasures(treasures, treasure_random, treasure_count)
        self.treasure_random, self.treasure_count = treasure_random, treasure_count
        if max_steps < 1:
            raise ValueError(f"max_steps must be positive, not {max_steps}")
        self.max_steps = int(max_steps)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, not {render_mode!r}")
        self.render_mode = render_mode

        self.n_states = self.nrow * self.ncol * self.n_masks  # discrete states, whatever obs_type is
        self.action_space = spaces.Discrete(4)
        self.obs_type = obs_type
        if obs_type == "discrete":
            self.observation_space = spaces.Discrete(self.n_states)
        else:
            self._features = _FeatureTables(self.desc, self.goal, self.treasure_cells)
            size = self.nrow + self.ncol + self.n_treasures + 25 + (len(DISTANCE_BINS) + 1) * (1 + self.n_treasures)
            self.observation_space = spaces.Box(0.0, 1.0, (size,), np.float32)
        self.P = self._build_P()
        self._valid = set(self.valid_states().tolist())
        self.initial_state_distrib = self._initial_distribution()

        self.s = self.encode(*self.start, self._full_mask)
        self.steps = self.collected = 0

    def encode(self, row: int, col: int, mask: int) -> int:
        """The discrete state of the agent at (row, col) with treasure mask ``mask``."""
        return (row * self.ncol + col) * self.n_masks + mask

    def decode(self, state: int) -> tuple[int, int, int]:
        """(row, col, mask) of a discrete state."""
        cell, mask = divmod(int(state), self.n_masks)
        return cell // self.ncol, cell % self.ncol, mask

    def valid_states(self, include_goal: bool = False) -> np.ndarray:
        """The states an episode can be in: walkable cells (G only with ``include_goal``), every mask,
        except a treasure's cell while that treasure is present. Sorted ``int64`` ids."""
        states = []
        for (row, col), letter in np.ndenumerate(self.desc):
            if letter == "#" or (letter == "G" and not include_goal):
                continue
            masks = range(self.n_masks)
            if (row, col) in self.treasure_cells:
                bit = 1 << self.treasure_cells.index((row, col))
                masks = [m for m in masks if not m & bit]
            states += [self.encode(row, col, m) for m in masks]
        return np.array(states, dtype=np.int64)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if set(options) - {"start_state"}:
            raise ValueError(f"unknown reset options {sorted(set(options) - {'start_state'})}; valid: ['start_state']")
        if "start_state" in options:
            state = int(options["start_state"])
            if state not in self._valid:
                row, col, mask = self.decode(state) if 0 <= state < self.n_states else (-1, -1, -1)
                raise ValueError(
                    f"start_state {state} (row {row}, col {col}, mask {mask}) is not in valid_states(): "
                    "it is off the table, a wall, the goal, or a present treasure's cell"
                )
            self.s = state
        else:
            self.s = self.encode(*self.start, self._draw_mask())
        self.steps = self.collected = 0
        return self._observation(), self._info(terminated=False)

    def step(self, action):
        transitions = self.P[self.s][int(action)]
        i = categorical_sample([t[0] for t in transitions], self.np_random)
        _, next_state, reward, terminated = transitions[i]
        self.collected += (self.decode(self.s)[2] & ~self.decode(next_state)[2]).bit_count()
        self.s = next_state
        self.steps += 1
        truncated = not terminated and self.steps >= self.max_steps
        return self._observation(), float(reward), terminated, truncated, self._info(terminated)

    def render(self):
        if self.render_mode is None:
            gym.logger.warn('render() needs a render_mode, e.g. gym.make("GorgeWalk-v0", render_mode="rgb_array")')
            return None
        row, col, mask = self.decode(self.s)
        letters = self.desc.copy()
        for i, cell in enumerate(self.treasure_cells):
            if not mask >> i & 1:
                letters[cell] = "."
        if self.render_mode == "ansi":
            letters[row, col] = "A"
            return "\n".join("".join(line) for line in letters) + "\n"
        colours = np.array([[COLOURS[c] for c in line] for line in letters], dtype=np.uint8)  # (H, W, 3)
        frame = np.repeat(np.repeat(colours, CELL, axis=0), CELL, axis=1)  # (16H, 16W, 3)
        frame[CELL - 1 :: CELL, :] = frame[CELL - 1 :: CELL, :] * 0.85  # faint grid lines
        frame[:, CELL - 1 :: CELL] = frame[:, CELL - 1 :: CELL] * 0.85
        inset = CELL // 4
        frame[row * CELL + inset : (row + 1) * CELL - inset, col * CELL + inset : (col + 1) * CELL - inset] = AGENT_COLOUR
        return frame

    def _check_treasures(self, treasures: list[int] | None, treasure_random: bool, treasure_count: int | None) -> int:
        """The start mask for fixed treasures; checks the treasure options."""
        if treasure_random:
            if treasures is not None:
                raise ValueError("give either treasures=[ids] or treasure_random=True, not both")
            if treasure_count is not None and not 0 <= treasure_count <= self.n_treasures:
                raise ValueError(f"treasure_count must be in 0..{self.n_treasures}, not {treasure_count}")
            return self.n_masks - 1
        if treasure_count is not None:
            raise ValueError("treasure_count needs treasure_random=True (use treasures=[ids] for a fixed subset)")
        ids = range(self.n_treasures) if treasures is None else [int(i) for i in treasures]
        if any(not 0 <= i < self.n_treasures for i in ids) or len(set(ids)) != len(ids):
            raise ValueError(f"treasures must be distinct ids in 0..{self.n_treasures - 1}, not {treasures}")
        return sum(1 << i for i in ids)

    def _draw_mask(self) -> int:
        if not self.treasure_random:
            return self._full_mask
        count = self.treasure_count
        if count is None:
            count = int(self.np_random.integers(self.n_treasures + 1))
        ids = self.np_random.choice(self.n_treasures, size=count, replace=False)
        return int(sum(1 << int(i) for i in ids))

    def _initial_distribution(self) -> np.ndarray:
        """P(s0 = s) under the treasure options (toy-text's ``initial_state_distrib``): (n_states,) float64."""
        distribution = np.zeros(self.n_states)
        first = self.encode(*self.start, 0)
        if not self.treasure_random:
            distribution[first + self._full_mask] = 1.0
            return distribution
        counts = np.array([m.bit_count() for m in range(self.n_masks)])
        allowed = counts == self.treasure_count if self.treasure_count is not None else np.ones(self.n_masks, bool)
        weights = np.where(allowed, 1.0 / np.bincount(counts)[counts], 0.0)  # uniform subset given its count
        distribution[first : first + self.n_masks] = weights / weights.sum()  # then uniform over the counts
        return distribution

    def _build_P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        """P[s][a]: the intended move and, when slippery, the two perpendicular ones, merged by outcome."""
        moves = {a: [(1.0 - self.slip_prob, a)] for a in range(4)}
        if self.slip_prob > 0:
            for a in range(4):
                moves[a] += [(self.slip_prob / 2, (a + 1) % 4), (self.slip_prob / 2, (a + 3) % 4)]
        P = {}
        for (row, col), letter in np.ndenumerate(self.desc):
            cell = row * self.ncol + col
            # one deterministic move per direction: (next cell, reward before treasure, terminated, treasure bit)
            base = {move: self._move(row, col, move) for move in range(4)}
            for mask in range(self.n_masks):
                s = cell * self.n_masks + mask
                if letter in "#G":  # walls: unreachable self-loops; the goal: absorbing
                    P[s] = {a: [(1.0, s, 0.0, letter == "G")] for a in range(4)}
                    continue
                P[s] = {}
                for a in range(4):
                    outcomes: dict[tuple[int, float, bool], float] = {}
                    for prob, move in moves[a]:
                        next_cell, reward, terminated, bit = base[move]
                        if mask & bit:
                            key = (next_cell * self.n_masks + (mask & ~bit), reward + self.reward_cfg["treasure"], terminated)
                        else:
                            key = (next_cell * self.n_masks + mask, reward, terminated)
                        if prob > 0:
                            outcomes[key] = outcomes.get(key, 0.0) + prob
                    P[s][a] = [(prob, s_next, r, term) for (s_next, r, term), prob in outcomes.items()]
        return P

    def _move(self, row: int, col: int, move: int) -> tuple[int, float, bool, int]:
        """(next cell, reward without treasure, terminated, bit of the treasure there or 0) of one move."""
        reward = self.reward_cfg["step"]
        d_row, d_col = MOVES[move]
        new_row, new_col = row + d_row, col + d_col
        if not (0 <= new_row < self.nrow and 0 <= new_col < self.ncol) or self.desc[new_row, new_col] == "#":
            new_row, new_col = row, col
            reward += self.reward_cfg["bump_penalty"]
        terminated = (new_row, new_col) == self.goal
        if terminated:
            reward += self.reward_cfg["goal"]
        bit = 1 << self.treasure_cells.index((new_row, new_col)) if (new_row, new_col) in self.treasure_cells else 0
        return new_row * self.ncol + new_col, float(reward), terminated, bit

    def _observation(self):
        if self.obs_type == "discrete":
            return int(self.s)
        return self._features.observation(*self.decode(self.s))

    def _info(self, terminated: bool) -> dict:
        row, col, mask = self.decode(self.s)
        if terminated:
            score = 150.0 + 0.2 * (self.max_steps - self.steps) + 100.0 * self.collected
        elif self.steps >= self.max_steps:
            score = 0.0
        else:
            score = 100.0 * self.collected
        return {
            "pos": (row, col),
            "mask": mask,
            "collected": self.collected,
            "steps": self.steps,
            "state": int(self.s),
            "score": score,
        }


class _FeatureTables:
    """Per-cell pieces of the ``obs_type="features"`` vector, computed once per map."""

    def __init__(self, desc: np.ndarray, goal: tuple[int, int], treasure_cells: list[tuple[int, int]]) -> None:
        self.nrow, self.ncol = desc.shape
        self.n_treasures = len(treasure_cells)
        padded = np.pad(desc == "#", 2, constant_values=True)
        self.walls = np.stack(  # (H, W, 25): the 5x5 neighbourhood, row-major
            [padded[r : r + 5, c : c + 5].ravel() for r in range(self.nrow) for c in range(self.ncol)]
        ).reshape(self.nrow, self.ncol, 25)
        n_bins = len(DISTANCE_BINS) + 1
        # BFS from each target; the treasure walks avoid G, whose entry ends the episode
        fields = [_bfs(desc, goal, blocked=None)] + [_bfs(desc, cell, blocked=goal) for cell in treasure_cells]
        self.bins = []  # per target: (H, W, n_bins) one-hot, all zeros where unreachable
        for field in fields:
            one_hot = np.zeros((self.nrow, self.ncol, n_bins), np.float32)
            reachable = np.isfinite(field)
            index = np.digitize(np.where(reachable, field, 0), DISTANCE_BINS)
            one_hot[reachable, index[reachable]] = 1.0
            self.bins.append(one_hot)

    def observation(self, row: int, col: int, mask: int) -> np.ndarray:
        rows, cols = np.zeros(self.nrow, np.float32), np.zeros(self.ncol, np.float32)
        rows[row], cols[col] = 1.0, 1.0
        bits = np.array([mask >> i & 1 for i in range(self.n_treasures)], np.float32)
        distances = [self.bins[0][row, col]] + [
            self.bins[1 + i][row, col] * bits[i] for i in range(self.n_treasures)
        ]  # a collected treasure's bins are all zero
        return np.concatenate([rows, cols, bits, self.walls[row, col].astype(np.float32), *distances]).astype(np.float32)


def _parse_map(desc: list[str]) -> np.ndarray:
    """The map as an (H, W) array of letters, checked: rectangular, over ``#.SGT``, one S and one G."""
    if isinstance(desc, str) or not desc or len({len(line) for line in desc}) != 1:
        raise ValueError("desc must be a non-empty list of strings of equal length")
    grid = np.array([list(line) for line in desc])
    letters = set(grid.ravel()) - set("#.SGT")
    if letters:
        raise ValueError(f"desc may only use the letters # . S G T, not {sorted(letters)}")
    if (grid == "S").sum() != 1 or (grid == "G").sum() != 1:
        raise ValueError("desc needs exactly one S and one G")
    if (grid == "T").sum() > 10:
        raise ValueError("desc has more than 10 treasures: the table would have over 1024 masks per cell")
    return grid


def _bfs(desc: np.ndarray, source: tuple[int, int], blocked: tuple[int, int] | None) -> np.ndarray:
    """Grid BFS distances from ``source`` over walkable cells (inf where unreachable)."""
    distance = np.full(desc.shape, np.inf)
    distance[source] = 0
    queue = deque([source])
    while queue:
        row, col = queue.popleft()
        for d_row, d_col in MOVES.values():
            nxt = (row + d_row, col + d_col)
            inside = 0 <= nxt[0] < desc.shape[0] and 0 <= nxt[1] < desc.shape[1]
            if inside and desc[nxt] != "#" and nxt != blocked and distance[nxt] == np.inf:
                distance[nxt] = distance[row, col] + 1
                queue.append(nxt)
    return distance


def _check_reachable(desc: np.ndarray, start: tuple[int, int], targets: list[tuple[int, int]]) -> None:
    distance = _bfs(desc, start, blocked=None)
    unreachable = [cell for cell in targets if not np.isfinite(distance[cell])]
    if unreachable:
        raise ValueError(f"desc: cells {unreachable} (goal or treasures) cannot be reached from S at {start}")
