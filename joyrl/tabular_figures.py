"""A tabular agent's values and greedy policy drawn over a grid env: ``videos/policy.png``.

Which agents: one holding ``q_table``, an (n_states, n_actions) tensor, drawn as
V(s) = max_a Q(s, a); or ``v_table``, an (n_states,) tensor (the planners). The arrow in a
cell is the agent's ``predict_action``; a Q-table row whose values are all equal (a state
never updated) gets a dot instead.

Which envs: a grid, that is an unwrapped env with ``desc`` (FrozenLake, GorgeWalk) or
``shape`` / ``nrow`` and ``ncol`` (CliffWalking), whose states are the cells in row-major
order (``row * ncol + col``), or the cells times a treasure mask, ``(row * ncol + col) * 2**K
+ mask`` (GorgeWalk); those cells are drawn with every treasure present (mask ``2**K - 1``).
Blackjack-v1 (its Tuple observation as one index) gets the book's figures 5.1 and 5.2 instead
(joyrl/blackjack.py). Anything else (Taxi, whose 500 states are not cells of its ``desc``;
CartPole) gets no figure, and no error.

Arrows need to know where each action moves: the env's own ``action_directions`` attribute
when it has one, else ``ACTION_DIRECTIONS`` below, by the unwrapped env's class name; an env
in neither gets no figure. Either way it is one ``(d_row, d_col)`` per action, row 0 at the
top: FrozenLake's 0 LEFT, 1 DOWN, 2 RIGHT, 3 UP is ``((0, -1), (1, 0), (0, 1), (-1, 0))``.

Cells are marked by their ``desc`` letter: ``#`` wall and ``H`` hole (and CliffWalking's
cliff) are dark, with no value and no arrow; ``G`` goal (an episode ends there) is green and
``T`` treasure gold (under the drawn mask, standing there means having picked the treasure
up, another state), with no value and no arrow; ``S``, ``G`` and ``T`` are labelled. matplotlib is imported when a figure is drawn, and draws
with Agg through ``matplotlib.figure.Figure``, without pyplot, so no global backend changes.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from joyrl.blackjack import save_blackjack_figure
from joyrl.envs import DiscreteTupleIndex, find_wrapper

UP, RIGHT, DOWN, LEFT = (-1, 0), (0, 1), (1, 0), (0, -1)

# (d_row, d_col) of each action, by the unwrapped env's class name; an env may instead set `action_directions`.
ACTION_DIRECTIONS: dict[str, tuple[tuple[int, int], ...]] = {
    "FrozenLakeEnv": (LEFT, DOWN, RIGHT, UP),
    "CliffWalkingEnv": (UP, RIGHT, DOWN, LEFT),
    "GorgeWalk": (UP, RIGHT, DOWN, LEFT),
}

BLOCKED = "#HC"  # wall, hole, cliff: dark, no value, no arrow
PATCHES = {"G": "tab:green", "T": "gold"}  # goal, treasure: a colour instead of a value, no arrow
LABELLED = "SGT"  # start, goal, treasure: a letter in the corner
DPI = 100
CELL_INCHES = 0.6  # until the grid's longer side reaches MAX_GRID_INCHES
MAX_GRID_INCHES = 10.0
SIDE_INCHES = 1.1  # right of the grid: gap, colour bar, its ticks and label
LEFT_INCHES, BOTTOM_INCHES, TOP_INCHES = 0.35, 0.3, 0.75  # tick labels; the title above
MIN_WIDTH_INCHES = 4.5  # so that the title fits over a small grid


@dataclass
class Grid:
    """A grid env's layout: one letter per cell and the state drawn in each cell."""

    letters: np.ndarray  # (nrow, ncol) single-character strings; "." for plain floor
    states: np.ndarray  # (nrow, ncol) the state index drawn in each cell
    actions: tuple[tuple[int, int], ...]  # (d_row, d_col) of each action
    mask_bits: int  # K: the number of treasure bits in the state, 0 for plain grids


def _layout(nrow: int, ncol: int) -> tuple[float, float, float]:
    """Cell size, figure width and height, in inches."""
    cell = min(CELL_INCHES, MAX_GRID_INCHES / max(nrow, ncol))
    width = max(LEFT_INCHES + ncol * cell + SIDE_INCHES, MIN_WIDTH_INCHES)
    return cell, width, BOTTOM_INCHES + nrow * cell + TOP_INCHES


def figure_size(nrow: int, ncol: int) -> tuple[int, int]:
    """(width, height) in pixels of the figure for an nrow x ncol grid."""
    _, width, height = _layout(nrow, ncol)
    return round(width * DPI), round(height * DPI)


def grid_of(env: Any, n_states: int) -> Grid | None:
    """The layout of ``env`` (wrappers allowed) when it is a grid whose states fit it, else None."""
    unwrapped = env.unwrapped
    actions = getattr(unwrapped, "action_directions", None) or ACTION_DIRECTIONS.get(type(unwrapped).__name__)
    letters = _letters(unwrapped)
    if actions is None or letters is None:
        return None
    nrow, ncol = letters.shape
    n_states = int(n_states)
    per_cell = n_states // (nrow * ncol)
    if per_cell * nrow * ncol != n_states or per_cell & (per_cell - 1):  # not cells times 2**K masks (Taxi)
        return None
    cells = np.arange(nrow * ncol).reshape(nrow, ncol)
    return Grid(letters, cells * per_cell + per_cell - 1, tuple(actions), per_cell.bit_length() - 1)


def _letters(unwrapped: Any) -> np.ndarray | None:
    desc = getattr(unwrapped, "desc", None)
    if desc is not None:
        rows = [[cell.decode() if isinstance(cell, bytes) else str(cell) for cell in row] for row in np.asarray(desc)]
        return np.array(rows, dtype="<U1")
    shape = getattr(unwrapped, "shape", None)
    if shape is None and hasattr(unwrapped, "nrow") and hasattr(unwrapped, "ncol"):
        shape = (unwrapped.nrow, unwrapped.ncol)
    if shape is None or len(shape) != 2:
        return None
    letters = np.full(tuple(shape), ".", dtype="<U1")
    cliff = getattr(unwrapped, "_cliff", None)  # CliffWalking's
    if cliff is not None:
        letters[np.asarray(cliff, dtype=bool)] = "C"
        letters[np.unravel_index(unwrapped.start_state_index, letters.shape)] = "S"
        letters[-1, -1] = "G"
    return letters


def table_values(agent: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """V(s) of every state and whether it has a greedy action (not all Q-values equal), or None without a table."""
    q_table = _q_table(agent)
    if q_table is not None:
        q = np.asarray(q_table.detach().cpu(), dtype=np.float64)  # (S, A)
        return q.max(axis=1), q.max(axis=1) > q.min(axis=1)
    v_table = getattr(agent, "v_table", None)
    if v_table is not None:
        values = np.asarray(v_table.detach().cpu(), dtype=np.float64)  # (S,)
        return values, np.ones(len(values), dtype=bool)
    return None


def _q_table(agent: Any) -> Any:
    """The agent's Q-table tensor: ``agent.q_table``, or the ``tensor`` of a ``joyrl.tabular.QTable`` held as ``agent.q``."""
    q_table = getattr(agent, "q_table", None)
    return q_table if q_table is not None else getattr(getattr(agent, "q", None), "tensor", None)


def save_policy_figure(agent: Any, env: Any, path: Path, title: str) -> Path | None:
    """A tabular agent's V and greedy policy: the book's figures on Blackjack-v1, else ``save_grid_figure``."""
    blackjack = _blackjack_index(env)
    if blackjack is not None:
        return _save_blackjack(agent, blackjack, path, title)
    return save_grid_figure(agent, env, path, title)


def save_grid_figure(agent: Any, env: Any, path: Path, title: str) -> Path | None:
    """Draw V as a heat map with the greedy action's arrow per cell; None (no file) for a non-grid env or a non-tabular agent."""
    table = table_values(agent)
    if table is None:
        return None
    values, decided = table
    grid = grid_of(env, len(values))
    if grid is None:
        return None
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: the figure draws with Agg and touches no global backend
    from matplotlib.patches import Rectangle

    nrow, ncol = grid.letters.shape
    hidden = np.isin(grid.letters, [*BLOCKED, *PATCHES])  # no value drawn
    shown = np.where(hidden, np.nan, values[grid.states])  # (nrow, ncol)
    cell, width, height = _layout(nrow, ncol)
    left = max(LEFT_INCHES, (width - ncol * cell - SIDE_INCHES + LEFT_INCHES) / 2)  # centred when the title sets the width
    fig = Figure(figsize=(width, height), dpi=DPI)
    ax = fig.add_axes((left / width, BOTTOM_INCHES / height, ncol * cell / width, nrow * cell / height))
    cax = fig.add_axes(((left + ncol * cell + 0.15) / width, BOTTOM_INCHES / height, 0.15 / width, nrow * cell / height))
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#2b2b2b")
    image = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, aspect="auto")
    colorbar = fig.colorbar(image, cax=cax)
    colorbar.set_label("V(s)", fontsize=8)
    cax.tick_params(labelsize=7)
    for (row, col), letter in np.ndenumerate(grid.letters):
        if letter in PATCHES:
            ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, color=PATCHES[letter]))
    _draw_cells(ax, grid, agent, decided)
    _draw_grid_lines(ax, nrow, ncol)
    what = "V(s) = max_a Q(s, a)" if _q_table(agent) is not None else "V(s)"
    note = f"; states with all {grid.mask_bits} treasures present" if grid.mask_bits else ""
    characters = int(width * 15)  # per line: about 15 per inch at 8 pt
    text = textwrap.fill(f"{title}: greedy action (arrows) over {what}{note}", characters)
    fig.text(0.5, 1 - 0.12 / height, text, ha="center", va="top", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)  # no tight bounding box: the size is figure_size's
    return path


def _save_blackjack(agent: Any, index: DiscreteTupleIndex, path: Path, title: str) -> Path | None:
    """The book's figures 5.1 and 5.2 of a Q-table on Blackjack-v1; None for an agent with no Q-table."""
    q_table = _q_table(agent)
    if q_table is None:
        return None
    q = np.asarray(q_table.detach().cpu(), dtype=np.float64)
    return save_blackjack_figure(q, index.observation, path, f"{title}: figures 5.1 and 5.2 of Sutton & Barto")


def _blackjack_index(env: Any) -> DiscreteTupleIndex | None:
    """The ``DiscreteTupleIndex`` of a Blackjack-v1 env, or None."""
    if type(env.unwrapped).__name__ != "BlackjackEnv":
        return None
    return find_wrapper(env, DiscreteTupleIndex)


def _draw_grid_lines(ax: Any, nrow: int, ncol: int) -> None:
    """Row and column numbers, and thin white lines between the cells."""
    ax.set_xticks(range(ncol))
    ax.set_yticks(range(nrow))
    ax.tick_params(labelsize=7, length=0)
    ax.set_xticks(np.arange(ncol + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(nrow + 1) - 0.5, minor=True)
    ax.tick_params(which="minor", length=0)
    ax.grid(which="minor", color="white", linewidth=0.5)


def _draw_cells(ax: Any, grid: Grid, agent: Any, decided: np.ndarray) -> None:
    """An arrow for each open cell's greedy action (a dot when undecided), and the cells' letters."""
    for (row, col), letter in np.ndenumerate(grid.letters):
        if letter in LABELLED:
            colour = "black" if letter in PATCHES else "white"
            ax.text(col - 0.42, row - 0.42, letter, ha="left", va="top", fontsize=7, color=colour, weight="bold")
        if letter in BLOCKED and letter != "#":  # a hole or the cliff is named; a wall is plain
            ax.text(col, row, letter, ha="center", va="center", fontsize=8, color="#bbbbbb")
        if letter in BLOCKED or letter in PATCHES:
            continue
        state = int(grid.states[row, col])
        if not decided[state]:
            ax.plot(col, row, marker=".", color="white", markersize=3)
            continue
        d_row, d_col = grid.actions[agent.predict_action(state)]
        ax.annotate(
            "",
            xy=(col + 0.3 * d_col, row + 0.3 * d_row),
            xytext=(col - 0.3 * d_col, row - 0.3 * d_row),
            arrowprops={"arrowstyle": "-|>", "color": "white", "lw": 1.2, "mutation_scale": 9},
        )
