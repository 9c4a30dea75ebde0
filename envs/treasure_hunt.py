"""A treasure hunt on a maze: image + vector observations, a flash and a speed buff.

A teaching env after the "back to the realm" task of a well-known competition; the
specification is in ``TEACHING_ENVS.md``. Registered as ``TreasureHunt-v0`` (64x64, 8 of 13
treasures, 1000 steps) and ``TreasureHunt-Small-v0`` (32x32, view 8, 4 treasures, 300 steps,
flash 6 with cooldown 150) for CI.

Difficulty (``python benchmarks/teaching_envs_treasure.py``: 5 random maps per setting; the
random policy is uniform over legal actions, 8 episodes a map; the BFS-greedy oracle uses no
flash or buff and walks to the nearest remaining treasure, then the goal, 3 treasure draws a
map, and always succeeds with every treasure):

==================================  ===================================  ===============================
setting                             random: score (range), success        oracle: score (range), steps
==================================  ===================================  ===============================
64x64, max 1000, 0 treasures        0 (0-0), 0%                          327 (321-337), 115 (64-147)
64x64, max 1000, 8 treasures        0 (0-0), 0%, 0.23 treasures          1048 (1031-1081), 511 (345-596)
64x64, max 1000, 13 treasures       0 (0-0), 0%, 0.57 treasures          1519 (1509-1526), 657 (622-703)
Small: 32x32, max 300, 4 treasures  25 (0-267), 12%, 0.62 treasures      588 (579-598), 111 (61-157)
==================================  ===================================  ===============================

"Good" is >= 80% of the oracle; flash and buff used well beat it. Speed (same script, one
core, ``gymnasium.make`` wrappers included, random legal actions, dict observations, shaped
reward): about 28k env steps/s of CPU time on a fixed map, 13k with a new 64x64 map every
reset (a map and its 16 BFS fields take about 38 ms); wall-clock figures on the shared 2-core
benchmark machine (load average near 6) were 11k and 5k.
"""

from __future__ import annotations

import numpy as np
from gymnasium import Env, spaces

from envs import treasure_maps as tm
from envs.treasure_maps import BUFF, DIRECTIONS, FIRST_TREASURE, GOAL, N_SLOTS, N_TREASURES, START

WALL, TREASURE, GOAL_CH, MEMORY, BUFF_CH = range(5)  # image channels
VECTOR_SIZE = 35  # without target_positions
N_TARGETS = N_TREASURES + 2  # target_positions: the treasures, the buff and the goal
REWARD_WEIGHTS = {
    "treasure": 1.0,  # per pick-up
    "goal": 1.5,  # arrival (terminates)
    "step": -0.002,  # every step; mirrors the score's 0.2 per step
    "dist_treasure": 1.0,  # (d_prev - d_new) / (2 size) to the nearest remaining treasure, same target id
    "dist_goal": 1.0,  # the same for the goal, only once no treasure remains
    "bump": -0.01,  # a move with zero displacement
    "flash_wall": -0.1,  # a flash that lands less than flash_distance / 2 away
    "repeat": -0.01,  # x max(memory - 0.4, 0) at the current cell
    "buff": 0.05,  # pick-up
    "missed_treasure": 0.0,  # x treasures remaining at the goal
}
COLOURS = {  # rgb_array palette
    "wall": (45, 45, 55),
    "floor": (232, 232, 222),
    "memory": (250, 150, 70),
    "treasure": (240, 190, 20),
    "goal": (30, 160, 60),
    "start": (60, 110, 235),
    "buff": (150, 60, 200),
    "agent": (220, 20, 20),
    "flash": (0, 200, 230),
}
CELL_PX = 8


class _Layout:
    """Everything about one map that episodes share: move table, slots, cached BFS fields."""

    def __init__(self, walkable: np.ndarray, pinned: dict[int, int], pickup_radius: int, view: int) -> None:
        self.walkable = walkable
        self.height, self.width = h, w = walkable.shape
        self.norm = 2 * max(h, w)  # distances are divided by 2 size
        table = tm.move_table(walkable)
        self.moves: list[list[int]] = table.tolist()  # Python lists: scalar look-ups in step() stay cheap
        self.slots, fields = tm.place_slots(walkable, table, pinned, self.moves)
        self.fields = fields  # (16, H*W) int32, -1 on walls
        self.distances: list[list[int]] = fields.T.tolist()  # [cell][slot]
        self.normalised = np.where(fields < 0, 1.0, np.minimum(fields / self.norm, 1.0)).T.astype(np.float32).copy()
        self.floor = np.flatnonzero(walkable.ravel())
        self.floor_rows, self.floor_cols = np.divmod(self.floor, w)
        self.pickup_zone = self._zones(pickup_radius)  # bit s set: slot s within Chebyshev pickup_radius
        self.view_zone = self._zones(view).tolist()
        self.pickup_zone_list: list[int] = self.pickup_zone.tolist()

    def _zones(self, radius: int) -> np.ndarray:
        zone = np.zeros((self.height, self.width), np.int64)
        for slot, cell in enumerate(self.slots.tolist()):
            r, c = divmod(cell, self.width)
            zone[max(r - radius, 0) : r + radius + 1, max(c - radius, 0) : c + radius + 1] |= 1 << slot
        return zone.ravel()


class TreasureHunt(Env):
    """Collect treasures in a maze and reach the goal, seen through a local view and a vector.

    Map: ``map="random"`` (a DFS maze with 2-wide corridors, loops and 4 rooms, ``size`` x
    ``size``; a new one from ``np_random`` at each reset when ``map_seed`` is None, a fixed one
    otherwise), a shipped name (``"maze64"``, ``"maze32"``) or an ASCII map (``#`` wall,
    other characters floor; ``B``, ``G``, ``S`` and ``T`` pin the buff, goal, start and
    treasure slots). 16 slots, as in Kaiwu: 0 buff (nearest the centre), 1 goal, 2 start,
    3-15 treasures 0-12, each later slot the cell farthest by BFS from the earlier ones. Each
    episode uses ``treasure_ids``, or ``treasure_count`` of them (a random subset when
    ``treasure_random``, else the first ones). The agent starts on slot 2, or with
    ``random_start`` on a random walkable cell out of every pick-up zone. Convention: ``[row, col]``, row 0 = north.

    Actions: ``Discrete(16)``. ``a < 8`` moves one cell in direction ``a`` (0 = east, then 45
    degrees counter-clockwise: 1 NE, 2 N, 3 NW, 4 W, 5 SW, 6 S, 7 SE); with the buff a move
    takes ``buff_speed`` sub-steps and pick-ups are checked after each. A diagonal needs its
    target and both orthogonal cells free, else it slides along the free axis (horizontal
    first); a move with zero displacement is a bump. ``a >= 8`` flashes ``flash_distance``
    cells (per axis) in direction ``a - 8`` through walls, clamped to the map; a landing on a
    wall goes to the nearest walkable cell. Then the flash cools down for ``flash_cooldown``
    steps, and a flash action during the cooldown runs as the move in the same direction.

    Pick-ups: a treasure, the buff or the goal is reached within Chebyshev ``pickup_radius``.
    The buff gives ``buff_duration`` fast steps and comes back after ``buff_respawn`` steps
    (never when None).

    Observation (``obs_mode="dict"``): ``Dict`` of
    - ``image``: ``Box(0, 1, (4, V, V), float32)``, V = 2 view + 1, centred on the agent:
      wall/outside, treasure, goal, memory (+0.2 per visit, capped at 1); with
      ``buff_channel`` a 5th channel for the buff.
    - ``vector``: ``Box(0, 1, (35,), float32)``: [0:2] row and col / (size - 1); [2:15]
      treasure i present; [15:28] BFS distance to treasure i / (2 size), clipped to 1, and 1
      when absent or, with ``global_distances=False``, never inside the view yet; [28] buff
      present; [29] buff distance (1 when absent); [30] goal distance (these two always
      global); [31] flash ready; [32] cooldown left / flash_cooldown; [33] buff steps left /
      buff_duration; [34] steps left / max_steps (keeps the score-mode reward Markov). With
      ``target_positions`` (Kaiwu's features give where the organs are) 30 more, ``Box(0, 1,
      (65,))``: [35:61] row and col / (size - 1) of treasure i, 0 where its distance is 1
      (absent, or unseen with ``global_distances=False``); [61:63] the buff's, 0 when absent;
      [63:65] the goal's.
    - ``action_mask``: ``MultiBinary(16)``: moves always legal, flashes when ready (also in
      ``info``).
    ``obs_mode="flat"`` concatenates image, vector and mask into one ``Box`` (float32).

    Rewards: ``reward_mode="score"`` gives the score's increments / 100: +1 per treasure and
    +1.5 + 0.002 (max_steps - t) at the goal. ``"shaped"`` (default) is the weighted sum of
    the terms in ``REWARD_WEIGHTS`` (override with ``reward_weights``); ``info["reward_terms"]``
    holds every weighted term in both modes. The distance terms use true BFS distances.

    Episode end: terminated on reaching the goal (treasures left or not); truncated after
    ``max_steps`` steps (change ``max_steps``, not the registered ``max_episode_steps``, so
    that the env itself sees the timeout). ``info["score"]``: 100 per treasure so far, 150 + 0.2 (max_steps - t)
    + 100 treasures at the goal, 0 on truncation. ``info`` also has ``collected``,
    ``treasures_left``, ``flash_used``, ``buff_count``, ``bumps`` and ``pos`` (row, col).

    ``reset(options=...)`` accepts ``start`` (row, col) and ``treasure_ids``.

    Rendering: ``rgb_array`` at 8 px per cell (512x512 for 64x64) and ``ansi``.
    """

    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 10}

    def __init__(
        self,
        render_mode: str | None = None,
        map: str | list[str] = "random",
        size: int = 64,
        map_seed: int | None = None,
        treasure_count: int = 8,
        treasure_random: bool = True,
        treasure_ids: list[int] | None = None,
        random_start: bool = False,
        max_steps: int = 1000,
        flash_distance: int = 8,
        flash_cooldown: int = 300,
        buff_duration: int = 50,
        buff_speed: int = 2,
        buff_respawn: int | None = None,
        pickup_radius: int = 1,
        view: int = 12,
        global_distances: bool = True,
        target_positions: bool = False,
        buff_channel: bool = False,
        obs_mode: str = "dict",
        reward_mode: str = "shaped",
        reward_weights: dict[str, float] | None = None,
    ) -> None:
        _check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        _check_choice("obs_mode", obs_mode, ("dict", "flat"))
        _check_choice("reward_mode", reward_mode, ("shaped", "score"))
        for name, value, low in (
            ("max_steps", max_steps, 1),
            ("flash_distance", flash_distance, 1),
            ("flash_cooldown", flash_cooldown, 1),
            ("buff_duration", buff_duration, 0),
            ("buff_speed", buff_speed, 1),
            ("pickup_radius", pickup_radius, 0),
            ("view", view, 1),
        ):
            if int(value) != value or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if buff_respawn is not None and buff_respawn < 1:
            raise ValueError(f"buff_respawn must be None or >= 1, got {buff_respawn!r}")
        if not 0 <= treasure_count <= N_TREASURES:
            raise ValueError(f"treasure_count must be in 0..{N_TREASURES}, got {treasure_count}")
        self._check_ids(treasure_ids)
        unknown = set(reward_weights or {}) - set(REWARD_WEIGHTS)
        if unknown:
            raise ValueError(f"unknown reward_weights {sorted(unknown)}; valid: {', '.join(REWARD_WEIGHTS)}")

        self.render_mode = render_mode
        self.size, self.map_seed = size, map_seed
        self.treasure_count, self.treasure_random, self.treasure_ids = treasure_count, treasure_random, treasure_ids
        self.random_start, self.max_steps = random_start, max_steps
        self.flash_distance, self.flash_cooldown = flash_distance, flash_cooldown
        self.buff_duration, self.buff_speed, self.buff_respawn = buff_duration, buff_speed, buff_respawn
        self.pickup_radius, self.view, self.global_distances = pickup_radius, view, global_distances
        self.target_positions = target_positions
        self.vector_size = VECTOR_SIZE + (2 * N_TARGETS if target_positions else 0)
        self.obs_mode, self.reward_mode = obs_mode, reward_mode
        self.weights = {**REWARD_WEIGHTS, **(reward_weights or {})}

        self._fixed: _Layout | None = None
        if isinstance(map, str) and map == "random":
            if map_seed is not None:
                self._fixed = self._layout(tm.generate_maze(size, np.random.default_rng(map_seed)), {})
        elif isinstance(map, str) and "\n" not in map:
            if map not in tm.MAPS:
                raise ValueError(f"unknown map {map!r}: use 'random', one of {sorted(tm.MAPS)}, or an ASCII map")
            self._fixed = self._layout(*tm.parse_ascii(tm.MAPS[map]))
        else:
            self._fixed = self._layout(*tm.parse_ascii(map))
        self.height, self.width = self._fixed.walkable.shape if self._fixed else (size, size)

        self.n_channels = 5 if buff_channel else 4
        side = 2 * view + 1
        image = spaces.Box(0.0, 1.0, (self.n_channels, side, side), np.float32)
        vector = spaces.Box(0.0, 1.0, (self.vector_size,), np.float32)
        if obs_mode == "dict":
            self.observation_space = spaces.Dict({"image": image, "vector": vector, "action_mask": spaces.MultiBinary(16)})
        else:
            self.observation_space = spaces.Box(0.0, 1.0, (int(np.prod(image.shape)) + self.vector_size + 16,), np.float32)
        self.action_space = spaces.Discrete(16)
        self._masks = (np.array([1] * 8 + [0] * 8, np.int8), np.ones(16, np.int8))  # [flash ready]
        self.layout: _Layout | None = self._fixed

    # ------------------------------------------------------------------ episode

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if self._fixed is None:
            self.layout = self._layout(tm.generate_maze(self.size, self.np_random), {})
        lay = self.layout
        ids = options.get("treasure_ids", self.treasure_ids)
        self._check_ids(ids)
        if ids is None:
            if self.treasure_random:
                ids = sorted(self.np_random.choice(N_TREASURES, self.treasure_count, replace=False).tolist())
            else:
                ids = list(range(self.treasure_count))
        self.active = [int(i) for i in ids]
        # present: bit s set while slot s is on the map (the goal always is)
        self._present = (1 << BUFF) | (1 << GOAL) | sum(1 << (FIRST_TREASURE + i) for i in self.active)
        self._left = len(self.active)

        if "start" in options:
            row, col = options["start"]
            self._cell = int(row) * lay.width + int(col)
            if not lay.walkable.flat[self._cell]:
                raise ValueError(f"start {(row, col)} is a wall")
        elif self.random_start:
            free = lay.floor[(lay.pickup_zone[lay.floor] & self._present) == 0]
            self._cell = int(self.np_random.choice(free if free.size else lay.floor))
        else:
            self._cell = int(lay.slots[START])
        self.start_cell = self._cell

        self.t, self.collected, self.flash_used, self.buff_count, self.bumps = 0, 0, 0, 0, 0
        self._cooldown, self._buff_left, self._respawn = 0, 0, 0
        self.last_flash: tuple[int, int] | None = None
        self._visits = np.zeros(lay.height * lay.width, np.int64)

        v = self.view
        self._planes = np.zeros((self.n_channels, lay.height + 2 * v, lay.width + 2 * v), np.float32)
        self._planes[WALL] = 1.0
        self._planes[WALL, v:-v, v:-v] = ~lay.walkable
        self._mark(GOAL_CH, lay.slots[GOAL], 1.0)
        for i in self.active:
            self._mark(TREASURE, lay.slots[FIRST_TREASURE + i], 1.0)
        if self.n_channels > BUFF_CH:
            self._mark(BUFF_CH, lay.slots[BUFF], 1.0)
        self._vector = np.zeros(self.vector_size, np.float32)  # the slowly changing part of the vector
        self._vector[[2 + i for i in self.active]] = 1.0
        self._vector[28] = 1.0
        self._seen = 0 if not self.global_distances else (1 << N_SLOTS) - 1
        self._hide = np.ones(N_TREASURES, np.float32)  # 1 where a treasure's distance is hidden
        if self.target_positions:  # (treasures 0-12, buff, goal) x (row, col) / (side - 1)
            rows, cols = np.divmod(lay.slots[[*range(FIRST_TREASURE, N_SLOTS), BUFF, GOAL]], lay.width)
            scale = [max(lay.height - 1, 1), max(lay.width - 1, 1)]
            self._targets = (np.stack([rows, cols], axis=1) / scale).astype(np.float32)
        self._visit(self._cell)
        self._update_seen()
        return self._observation(), self._info({name: 0.0 for name in REWARD_WEIGHTS})

    def step(self, action):
        a = int(action)
        lay, w = self.layout, self.weights
        self.t += 1
        origin = cell = self._cell
        distances = lay.distances
        target = -1  # the nearest remaining treasure's slot before the step
        if self._left:
            row = distances[cell]
            target = min(
                (FIRST_TREASURE + i for i in self.active if self._present >> (FIRST_TREASURE + i) & 1), key=row.__getitem__
            )
        left_before = self._left
        boosted = self._buff_left > 0
        if boosted:
            self._buff_left -= 1
        if self._respawn:  # the buff comes back buff_respawn steps after the step that took it
            self._respawn -= 1
            if not self._respawn:
                self._set_buff(True)

        treasures = buffs = 0
        reached = False
        bump = flash_wall = 0.0
        if a >= 8 and self._cooldown == 0:
            cell = self._flash_landing(cell, a - 8)
            self._visit(cell)
            treasures, buffs, reached = self._pick_up(cell)
            r0, c0 = divmod(origin, lay.width)
            r1, c1 = divmod(cell, lay.width)
            flash_wall = float(max(abs(r1 - r0), abs(c1 - c0)) < self.flash_distance / 2)
            self.last_flash = (origin, cell)
            self.flash_used += 1
            self._cooldown = self.flash_cooldown
        else:
            if self._cooldown:
                self._cooldown -= 1
            moves = lay.moves
            direction = a & 7
            for _ in range(self.buff_speed if boosted else 1):
                nxt = moves[cell][direction]
                if nxt == cell:
                    continue
                cell = nxt
                self._visit(cell)
                got_t, got_b, reached = self._pick_up(cell)
                treasures, buffs = treasures + got_t, buffs + got_b
                if reached:
                    break
            if cell == origin:
                self._visit(cell)
                treasures, buffs, reached = self._pick_up(cell)
                self.bumps += 1
                bump = 1.0
        self._cell = cell
        if not self.global_distances:
            self._update_seen()

        terms = {
            "treasure": w["treasure"] * treasures,
            "goal": w["goal"] * reached,
            "step": w["step"],
            "dist_treasure": 0.0,
            "dist_goal": 0.0,
            "bump": w["bump"] * bump,
            "flash_wall": w["flash_wall"] * flash_wall,
            "repeat": w["repeat"] * max(min(int(self._visits[cell]), 5) - 2, 0) * 0.2,
            "buff": w["buff"] * buffs,
            "missed_treasure": w["missed_treasure"] * self._left * reached,
        }
        if left_before:
            terms["dist_treasure"] = w["dist_treasure"] * (distances[origin][target] - distances[cell][target]) / lay.norm
        else:
            terms["dist_goal"] = w["dist_goal"] * (distances[origin][GOAL] - distances[cell][GOAL]) / lay.norm

        terminated = reached
        truncated = self.t >= self.max_steps and not terminated
        if self.reward_mode == "score":
            reward = treasures + (1.5 + 0.002 * (self.max_steps - self.t) if reached else 0.0)
        else:
            reward = sum(terms.values())
        info = self._info(terms, terminated, truncated)
        return self._observation(), float(reward), terminated, truncated, info

    # ------------------------------------------------------------------ helpers

    def _layout(self, walkable: np.ndarray, pinned: dict[int, int]) -> _Layout:
        return _Layout(walkable, pinned, self.pickup_radius, self.view)

    @staticmethod
    def _check_ids(ids) -> None:
        if ids is not None and (len(set(ids)) != len(ids) or not all(0 <= int(i) < N_TREASURES for i in ids)):
            raise ValueError(f"treasure_ids must be distinct ids in 0..{N_TREASURES - 1}, got {ids!r}")

    def _mark(self, channel: int, cell: int, value: float) -> None:
        r, c = divmod(int(cell), self.layout.width)
        self._planes[channel, r + self.view, c + self.view] = value

    def _visit(self, cell: int) -> None:
        self._visits[cell] += 1
        self._mark(MEMORY, cell, min(int(self._visits[cell]), 5) * 0.2)

    def _pick_up(self, cell: int) -> tuple[int, int, bool]:
        """Collect what lies within pickup_radius of ``cell``: (treasures, buffs, goal reached)."""
        hits = self.layout.pickup_zone_list[cell] & self._present
        if not hits:
            return 0, 0, False
        treasures = buffs = 0
        if hits & (1 << BUFF):
            buffs = 1
            self.buff_count += 1
            self._buff_left = self.buff_duration
            self._set_buff(False)
            self._respawn = self.buff_respawn or 0
        for i in self.active:
            slot = FIRST_TREASURE + i
            if hits >> slot & 1:
                treasures += 1
                self._present &= ~(1 << slot)
                self._mark(TREASURE, self.layout.slots[slot], 0.0)
                self._vector[2 + i] = 0.0
                self._hide[i] = 1.0
        self.collected += treasures
        self._left -= treasures
        return treasures, buffs, bool(hits & (1 << GOAL))

    def _set_buff(self, present: bool) -> None:
        if present:
            self._present |= 1 << BUFF
        else:
            self._present &= ~(1 << BUFF)
        self._vector[28] = float(present)
        if self.n_channels > BUFF_CH:
            self._mark(BUFF_CH, self.layout.slots[BUFF], float(present))

    def _update_seen(self) -> None:
        seen = self._seen | self.layout.view_zone[self._cell]
        if seen != self._seen or self.t == 0:
            self._seen = seen
            for i in self.active:
                slot = FIRST_TREASURE + i
                self._hide[i] = 0.0 if (seen & self._present) >> slot & 1 else 1.0

    def _flash_landing(self, cell: int, direction: int) -> int:
        lay = self.layout
        r, c = divmod(cell, lay.width)
        dr, dc = DIRECTIONS[direction]
        tr = min(max(r + dr * self.flash_distance, 0), lay.height - 1)
        tc = min(max(c + dc * self.flash_distance, 0), lay.width - 1)
        if lay.walkable[tr, tc]:
            return tr * lay.width + tc
        # nearest walkable cell to the target; ties go to the one nearer the origin
        rows, cols = lay.floor_rows, lay.floor_cols
        key = ((rows - tr) ** 2 + (cols - tc) ** 2) * (lay.height**2 + lay.width**2 + 1) + (rows - r) ** 2 + (cols - c) ** 2
        return int(lay.floor[np.argmin(key)])

    def _observation(self):
        lay, v = self.layout, self.view
        r, c = divmod(self._cell, lay.width)
        image = self._planes[:, r : r + 2 * v + 1, c : c + 2 * v + 1].copy()
        vector = self._vector.copy()
        vector[0] = r / max(lay.height - 1, 1)
        vector[1] = c / max(lay.width - 1, 1)
        row = lay.normalised[self._cell]
        np.maximum(row[FIRST_TREASURE:], self._hide, out=vector[15:28])
        vector[29] = row[BUFF] if self._present & 1 else 1.0
        vector[30] = row[GOAL]
        ready = self._cooldown == 0
        vector[31] = ready
        vector[32] = self._cooldown / self.flash_cooldown
        vector[33] = self._buff_left / self.buff_duration if self.buff_duration else 0.0
        vector[34] = (self.max_steps - self.t) / self.max_steps
        if self.target_positions:  # a treasure's position shows where its distance does; the buff's while present
            shown = np.append(1.0 - self._hide, (vector[28], 1.0))
            vector[VECTOR_SIZE:] = (self._targets * shown[:, None]).ravel()
        mask = self._masks[ready].copy()
        if self.obs_mode == "flat":
            return np.concatenate((image.ravel(), vector, mask.astype(np.float32)))
        return {"image": image, "vector": vector, "action_mask": mask}

    def _info(self, terms: dict[str, float], terminated: bool = False, truncated: bool = False) -> dict:
        if truncated:
            score = 0.0
        elif terminated:
            score = 150 + 0.2 * (self.max_steps - self.t) + 100 * self.collected
        else:
            score = 100.0 * self.collected
        return {
            "score": score,
            "collected": self.collected,
            "treasures_left": self._left,
            "flash_used": self.flash_used,
            "buff_count": self.buff_count,
            "bumps": self.bumps,
            "pos": divmod(self._cell, self.layout.width),
            "action_mask": self._masks[self._cooldown == 0].copy(),
            "reward_terms": terms,
        }

    # ------------------------------------------------------------------ rendering

    def render(self):
        if self.render_mode == "ansi":
            return self._ansi()
        if self.render_mode == "rgb_array":
            return self._rgb()
        return None

    def _cells_of_objects(self) -> list[tuple[str, int]]:
        """(kind, cell) in drawing order: later entries are drawn on top."""
        lay = self.layout
        objects = [("start", self.start_cell)]
        objects += [
            ("treasure", int(lay.slots[FIRST_TREASURE + i])) for i in self.active if self._present >> (FIRST_TREASURE + i) & 1
        ]
        if self._present & 1:
            objects.append(("buff", int(lay.slots[BUFF])))
        objects += [("goal", int(lay.slots[GOAL])), ("agent", self._cell)]
        return objects

    def _rgb(self) -> np.ndarray:
        lay = self.layout
        memory = (np.minimum(self._visits, 5) * 0.2).reshape(lay.height, lay.width, 1)
        floor, heat = np.array(COLOURS["floor"], float), np.array(COLOURS["memory"], float)
        cells = floor + (heat - floor) * 0.7 * memory  # (H, W, 3)
        cells[~lay.walkable] = COLOURS["wall"]
        for kind, cell in self._cells_of_objects():
            cells[divmod(cell, lay.width)] = COLOURS[kind]
        frame = np.repeat(np.repeat(cells.astype(np.uint8), CELL_PX, axis=0), CELL_PX, axis=1)
        if self.last_flash is not None:
            (r0, c0), (r1, c1) = (divmod(cell, lay.width) for cell in self.last_flash)
            n = CELL_PX * max(abs(r1 - r0), abs(c1 - c0)) + 1
            half = CELL_PX // 2
            ys = np.linspace(r0 * CELL_PX + half, r1 * CELL_PX + half, n).round().astype(int)
            xs = np.linspace(c0 * CELL_PX + half, c1 * CELL_PX + half, n).round().astype(int)
            for dy in (-1, 0):  # 2 px thick
                frame[np.clip(ys + dy, 0, frame.shape[0] - 1), xs] = COLOURS["flash"]
        return frame

    def _ansi(self) -> str:
        lay = self.layout
        chars = np.where(lay.walkable, ".", "#")
        letters = {"start": "S", "treasure": "T", "buff": "B", "goal": "G", "agent": "A"}
        for kind, cell in self._cells_of_objects():
            chars[divmod(cell, lay.width)] = letters[kind]
        status = (
            f"t={self.t}/{self.max_steps} collected={self.collected} left={self._left} "
            f"flash={'ready' if self._cooldown == 0 else self._cooldown} buff={self._buff_left}"
        )
        return "\n".join("".join(row) for row in chars) + "\n" + status + "\n"


def _check_choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
