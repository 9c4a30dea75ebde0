"""Maps for ``TreasureHunt``: the maze generator, ASCII parsing, BFS fields and the 16 slots.

Convention everywhere: ``grid[row, col]``, row 0 = north; a cell's flat index is
``row * width + col``. A map is a boolean ``walkable`` array; outside the map is wall.

Moves are 8-connected: a diagonal step needs its target and both orthogonal neighbours
walkable, otherwise it slides along the free axis (the horizontal one when both are free)
or, with both blocked, bumps. BFS distances use exactly these moves (which are symmetric),
so a distance is the number of plain steps (no flash, no buff) a shortest walk takes.
"""

from __future__ import annotations

import numpy as np

N_SLOTS = 16  # slot 0 buff, 1 goal, 2 start, 3..15 treasures 0..12 (Kaiwu's layout)
BUFF, GOAL, START, FIRST_TREASURE = 0, 1, 2, 3
N_TREASURES = N_SLOTS - FIRST_TREASURE

# Direction d: 0 = east, then 45 degrees counter-clockwise (north is row - 1).
DIRECTIONS = ((0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1))

PITCH = 4  # lattice pitch of the maze: 2 cells of corridor, 2 of wall
LOOP_PROB = 0.15
ROOMS = 4
ROOM_SIDES = (5, 10)  # inclusive

MARKERS = {"B": BUFF, "G": GOAL, "S": START}  # plus "T": treasure slots in row-major order


def generate_maze(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size`` x ``size`` map: DFS maze, loops, rooms; every walkable cell connected.

    Lattice nodes are 2x2 blocks at rows/cols ``4k+1, 4k+2``; a carved edge opens the 2x2
    gap to the next node, so corridors and walls are both 2 cells wide. A room (5 to 10
    cells a side) always covers a whole node, so it joins the maze.
    """
    if size < 8:
        raise ValueError(f"size must be at least 8, got {size}")
    n = (size - 3) // PITCH + 1  # nodes per axis
    on_lattice = np.zeros(size, bool)
    on_lattice[1 : PITCH * n - 1] = (np.arange(PITCH * n - 2) % PITCH) < 2
    walkable = on_lattice[:, None] & on_lattice[None, :]

    # Depth-first search (recursive backtracker) over the nodes: a perfect maze.
    east = np.zeros((n, n - 1), bool)  # east[i, j]: node (i, j) joined to (i, j + 1)
    south = np.zeros((n - 1, n), bool)
    visited = [[False] * n for _ in range(n)]
    draws = iter(rng.random(2 * n * n).tolist())
    start = (int(rng.integers(n)), int(rng.integers(n)))
    stack = [start]
    visited[start[0]][start[1]] = True
    while stack:
        i, j = stack[-1]
        options = [
            (i + di, j + dj)
            for di, dj in ((0, 1), (1, 0), (0, -1), (-1, 0))
            if 0 <= i + di < n and 0 <= j + dj < n and not visited[i + di][j + dj]
        ]
        if not options:
            stack.pop()
            continue
        ni, nj = options[int(next(draws) * len(options))]
        visited[ni][nj] = True
        if ni == i:
            east[i, min(j, nj)] = True
        else:
            south[min(i, ni), j] = True
        stack.append((ni, nj))

    # Knock through some of the remaining walls between nodes: loops.
    east |= rng.random(east.shape) < LOOP_PROB
    south |= rng.random(south.shape) < LOOP_PROB
    for i, j in zip(*np.nonzero(east), strict=True):
        r, c = PITCH * i + 1, PITCH * j + 3
        walkable[r : r + 2, c : c + 2] = True
    for i, j in zip(*np.nonzero(south), strict=True):
        r, c = PITCH * i + 3, PITCH * j + 1
        walkable[r : r + 2, c : c + 2] = True

    for _ in range(ROOMS):
        h, w = (int(x) for x in rng.integers(ROOM_SIDES[0], ROOM_SIDES[1] + 1, size=2))
        r0, c0 = int(rng.integers(1, size - h)), int(rng.integers(1, size - w))
        walkable[r0 : r0 + h, c0 : c0 + w] = True
    walkable[[0, -1], :] = walkable[:, [0, -1]] = False
    return keep_connected(walkable)


def parse_ascii(rows: list[str] | tuple[str, ...] | str) -> tuple[np.ndarray, dict[int, int]]:
    """An ASCII map: ``#`` wall, anything else floor; ``B``/``G``/``S``/``T`` pin slots.

    Returns the walkable array and ``{slot: flat cell}`` for the pinned slots (``T`` =
    treasure slots 3, 4, ... in row-major order). The floor must be connected.
    """
    if isinstance(rows, str):
        rows = [line for line in rows.strip("\n").splitlines() if line.strip()]
    widths = {len(row) for row in rows}
    if len(rows) < 3 or len(widths) != 1 or min(widths) < 3:
        raise ValueError(f"an ASCII map needs at least 3 rows of one width (>= 3); got widths {sorted(widths)}")
    grid = np.array([list(row) for row in rows])
    walkable = grid != "#"
    width = grid.shape[1]
    pinned: dict[int, int] = {}
    treasure = FIRST_TREASURE
    for r, c in zip(*np.nonzero(np.isin(grid, ["B", "G", "S", "T"])), strict=True):
        mark = grid[r, c]
        if mark == "T":
            if treasure >= N_SLOTS:
                raise ValueError(f"an ASCII map holds at most {N_TREASURES} treasures")
            pinned[treasure] = int(r * width + c)
            treasure += 1
        elif MARKERS[mark] in pinned:
            raise ValueError(f"marker {mark!r} appears twice")
        else:
            pinned[MARKERS[mark]] = int(r * width + c)
    if not walkable.any():
        raise ValueError("the ASCII map has no walkable cell")
    if (keep_connected(walkable) != walkable).any():
        raise ValueError("the ASCII map's floor is not connected (8-connected moves, no cutting corners)")
    return walkable, pinned


def to_ascii(walkable: np.ndarray) -> list[str]:
    return ["".join("." if w else "#" for w in row) for row in walkable]


def move_table(walkable: np.ndarray) -> np.ndarray:
    """``(H*W, 8)`` int64: the flat cell one plain step in each direction leads to.

    A bump leads to the cell itself; wall cells lead to themselves.
    """
    h, w = walkable.shape
    padded = np.zeros((h + 2, w + 2), bool)
    padded[1:-1, 1:-1] = walkable

    def free(dr: int, dc: int) -> np.ndarray:
        return padded[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]

    flat = np.arange(h * w).reshape(h, w)
    table = np.empty((h, w, 8), np.int64)
    for d, (dr, dc) in enumerate(DIRECTIONS):
        if dr == 0 or dc == 0:
            table[:, :, d] = np.where(free(dr, dc), flat + dr * w + dc, flat)
            continue
        horizontal, vertical = free(0, dc), free(dr, 0)
        diagonal = free(dr, dc) & horizontal & vertical
        table[:, :, d] = np.where(
            diagonal,
            flat + dr * w + dc,
            np.where(horizontal, flat + dc, np.where(vertical, flat + dr * w, flat)),
        )
    table[~walkable] = flat[~walkable, None]
    return table.reshape(h * w, 8)


def bfs_fields(table: np.ndarray, sources: list[int]) -> np.ndarray:
    """``(len(sources), H*W)`` int32 plain-step distances from each source; -1 unreachable.

    All sources advance together, one BFS level per round of array operations.
    """
    n_cells = table.shape[0]
    dist = np.full(len(sources) * n_cells, -1, np.int32)
    frontier = np.arange(len(sources)) * n_cells + np.asarray(sources, np.int64)
    dist[frontier] = 0
    level = 0
    while frontier.size:
        level += 1
        base = frontier - frontier % n_cells
        candidates = (table[frontier % n_cells] + base[:, None]).ravel()
        frontier = np.unique(candidates[dist[candidates] < 0])
        dist[frontier] = level
    return dist.reshape(len(sources), n_cells)


def keep_connected(walkable: np.ndarray) -> np.ndarray:
    """The largest connected set of walkable cells (the rest turned to wall)."""
    table = move_table(walkable)
    unlabelled = walkable.ravel().copy()
    best = np.zeros_like(unlabelled)
    while unlabelled.any():
        reached = bfs_fields(table, [int(np.argmax(unlabelled))])[0] >= 0
        unlabelled &= ~reached
        if reached.sum() > best.sum():
            best = reached
    return best.reshape(walkable.shape)


def _farther(moves: list[list[int]], source: int, nearest: list[int]) -> None:
    """Lower ``nearest`` (distance to the closest slot so far) with the distances from ``source``.

    A BFS that stops where it stops improving: fields are 1-Lipschitz, so no cell beyond a
    non-improved one can improve.
    """
    nearest[source] = 0
    frontier, d = [source], 0
    while frontier:
        d += 1
        nxt = []
        for u in frontier:
            for v in moves[u]:
                if d < nearest[v]:
                    nearest[v] = d
                    nxt.append(v)
        frontier = nxt


def place_slots(walkable: np.ndarray, table: np.ndarray, pinned: dict[int, int] | None = None, moves: list | None = None):
    """The 16 slots and their BFS distance fields.

    Slot 0 (buff) is the walkable cell nearest the centre; each later slot is the walkable
    cell farthest by BFS from all earlier ones (the first in row-major order on ties),
    unless ``pinned`` fixes it. ``moves`` is ``table.tolist()`` when the caller has it. Returns ``(cells, fields)``: 16 flat cells and a
    ``(16, H*W)`` int32 array of distances (-1 on walls).
    """
    pinned = pinned or {}
    h, w = walkable.shape
    floor = walkable.ravel()
    if BUFF in pinned:
        cells = [pinned[BUFF]]
    else:
        rows, cols = np.divmod(np.arange(h * w), w)
        centre = (rows - (h - 1) / 2) ** 2 + (cols - (w - 1) / 2) ** 2
        cells = [int(np.argmin(np.where(floor, centre, np.inf)))]
    moves = table.tolist() if moves is None else moves
    big = h * w + 1
    nearest = np.where(floor, big, -1).tolist()  # walls never win the argmax
    _farther(moves, cells[0], nearest)
    for slot in range(1, N_SLOTS):
        cells.append(pinned.get(slot, int(np.argmax(nearest))))
        _farther(moves, cells[-1], nearest)
    return np.array(cells), bfs_fields(table, cells)


# Shipped maps: the generator's output for fixed seeds, frozen as text so that they never
# change with NumPy's random streams: "maze64" and "maze32" are generate_maze(size,
# np.random.default_rng(2024)) for sizes 64 and 32.
MAPS: dict[str, tuple[str, ...]] = {
    "maze64": (
        "################################################################",
        "#......................##......................##..........##..#",
        "#......................##......................##..........##..#",
        "#####..##############..##..##########..##..##..##..######..##..#",
        "#####..##############..##..##########..##..##..##..######..##..#",
        "#......##..........##..............##......##......##..##......#",
        "#......##..........##..............##......##......##..##......#",
        "#..######..##..##..##############..##..##############..######..#",
        "#..######..##..##..##############..##..##############..######..#",
        "#..............##..##..........##......##......##..............#",
        "#..............##..##..........##......##......##..............#",
        "#..##..........##..######..######..##..##..######..#############",
        "#..##..........##..######..######..##..##..######..#############",
        "#..............##..........##......##..##......##..##..........#",
        "#......##..##..##..........##......##..##......##..##..........#",
        "#..##..######..##..##########..######..######..##..##..######..#",
        "#..##..######..##..##########..######..######..##..##..######..#",
        "#..##......##..##..##......##..........##......##......##......#",
        "#..##......##..##..##......##..........##......##......##......#",
        "#..##..##..##..##..##..##..##########..##..##############..#####",
        "#..##..##..##..##..##..##..##########..##..##############..#####",
        "#..##......##..##......##..............##..........##......##..#",
        "#..##......##..##......##..............##..........##......##..#",
        "#..##..##..##..##..######..##..######..##########..######..##..#",
        "#..##..##............####..##..######..##########..######..##..#",
        "#..##..##..........................##......##..........##......#",
        "#..##..##..........................##......##..........##......#",
        "#####..####............##########..##..##..##..######..######..#",
        "#####..####............##########..##..##..##..######..######..#",
        "#..............##..##......##......##......##......##..##......#",
        "#..............##..##......##......##......##......##..........#",
        "#..######..##..######..######..######..######..##..##.......#..#",
        "#..######..##..######..######..######..######..##..##.......#..#",
        "#..........##..................##..........##......##.......#..#",
        "#..........##..................##..........##......##.......#..#",
        "#########################..##############..######..####.....####",
        "#########################..##############..#####......#.....####",
        "#......##..................##..........##..............##......#",
        "#......##..................##..........##..............##......#",
        "#..##..##..##############..##..##..##..#########......#######..#",
        "#..##..##..##############..##..##..##..#########......#######..#",
        "#..##......##..............##......##..........................#",
        "#..##......##..............##......##..........................#",
        "#..##########..##########..######..######..##..##..######..#####",
        "#..##########..##########..######..######..##..##..######..#####",
        "#......##..##..........##......##......##......##..............#",
        "#......##..##..........##......##......##......##..............#",
        "#####..##..##########..##..######..##..##..##..##############..#",
        "#####..##..##########..##..######..##..##..##..##############..#",
        "#......##..........##..##......##..##..##..##..........##..##..#",
        "#......##..........##..##......##..##..##..##..........##..##..#",
        "#..##########..######..##..##..##..##..##..##########..##..##..#",
        "#..##########..######..##..##..##..##..##..##########..##..##..#",
        "#......##......##..............##......##..........##......##..#",
        "#......##......##..............##......##..........##......##..#",
        "#####..##..######..##########..######..##########..##..######..#",
        "#####..##..######..##########..######..##########..##..######..#",
        "#......##..................##......##..##..##......##..........#",
        "#......##..................##......##..##..##......##..........#",
        "#..##################..##..######..##..##..##..##########..#####",
        "#..##################..##..######..##..##..##..##########..#####",
        "#......................##..................##..................#",
        "#......................##..................##..................#",
        "################################################################",
    ),
    "maze32": (
        "################################",
        "#..............................#",
        "#..............................#",
        "#..#####.............########..#",
        "#..#####.............########..#",
        "#..##......................##..#",
        "#..........................##..#",
        "#......#.............####..##..#",
        "#......#.............####..##..#",
        "#......#.......................#",
        "#......##......................#",
        "##.....##..##########..##..##..#",
        "##.....##..##########..##..##..#",
        "#..........##..........##......#",
        "#..........##..........##......#",
        "#..##########..##..##..##..##..#",
        "#..##########..##..##..##..##..#",
        "#......##..........##..........#",
        "#..................##..........#",
        "#..##.......#####..##########..#",
        "#..##.......#####..##########..#",
        "#..##..........##..............#",
        "#..##..........##..............#",
        "#####.......#####..#############",
        "#####..##..######..#############",
        "#......##......##..............#",
        "#......##......##..............#",
        "#..######..##..##############..#",
        "#..######..##..##############..#",
        "#..............................#",
        "#..............................#",
        "################################",
    ),
}
