"""Blackjack-v1 as in Sutton & Barto's example 5.3: the policy of their figure 5.2, and figures 5.1/5.2 of a Q-table.

The observation (player sum, dealer's showing card, usable ace) reaches tabular agents as one index
(``joyrl.envs.DiscreteTupleIndex``); ``blackjack_states`` lists the 200 states the book draws (sums
12-21, dealer 1-10 with 1 the ace, with and without a usable ace) with their indices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

STICK, HIT = 0, 1
PLAYER_SUMS = range(12, 22)
DEALER_CARDS = range(1, 11)


def book_action(player_sum: int, dealer_card: int, usable_ace: bool) -> int:
    """The optimal policy of Sutton & Barto's figure 5.2 (basic strategy without doubling or splitting).

    Usable ace: stick on 19 or more, and on 18 unless the dealer shows 9, 10 or an ace. No usable ace:
    stick on 17 or more; on 13-16 when the dealer shows 2-6; on 12 when the dealer shows 4-6. Else hit.
    """
    if usable_ace:
        return STICK if player_sum >= 19 or (player_sum == 18 and 2 <= dealer_card <= 8) else HIT
    if player_sum >= 17:
        return STICK
    if 13 <= player_sum <= 16:
        return STICK if 2 <= dealer_card <= 6 else HIT
    if player_sum == 12:
        return STICK if 4 <= dealer_card <= 6 else HIT
    return HIT


def blackjack_states(index_of: Any) -> list[tuple[int, int, bool, int]]:
    """(player sum, dealer card, usable ace, index) of the book's 200 drawn states; ``index_of`` maps a tuple to its index."""
    return [
        (player, dealer, ace, int(index_of((player, dealer, int(ace)))))
        for ace in (True, False)
        for player in PLAYER_SUMS
        for dealer in DEALER_CARDS
    ]


def save_blackjack_figure(q: np.ndarray, index_of: Any, path: Path, title: str) -> Path:
    """V(s) = max_a Q(s, a) as surfaces (figure 5.1) and the greedy policy beside the book's (figure 5.2), usable ace on top."""
    from matplotlib.figure import Figure  # no pyplot: Agg, no global backend

    fig = Figure(figsize=(11, 8.5), dpi=100)
    dealers, players = np.meshgrid(np.array(DEALER_CARDS), np.array(PLAYER_SUMS))
    for row, ace in enumerate((True, False)):
        index = np.array([[index_of((p, d, int(ace))) for d in DEALER_CARDS] for p in PLAYER_SUMS])
        values, greedy = q[index].max(axis=-1), q[index].argmax(axis=-1)
        book = np.array([[book_action(p, d, ace) for d in DEALER_CARDS] for p in PLAYER_SUMS])
        label = "usable ace" if ace else "no usable ace"
        surface = fig.add_subplot(2, 2, 2 * row + 1, projection="3d")
        surface.plot_surface(dealers, players, values, cmap="viridis", linewidth=0.3, edgecolor="grey")
        surface.set(xlabel="dealer showing (1 = ace)", ylabel="player sum", zlabel="V(s)", zlim=(-1, 1), title=f"V, {label}")
        policy = fig.add_subplot(2, 2, 2 * row + 2)
        policy.imshow(greedy, origin="lower", cmap="coolwarm", vmin=0, vmax=1, aspect="auto", extent=(0.5, 10.5, 11.5, 21.5))
        for (i, j), action in np.ndenumerate(greedy):
            differs = action != book[i, j]
            policy.text(j + 1, i + 12, ("H" if action == HIT else "S") + ("*" if differs else ""), ha="center", va="center",
                        fontsize=7, color="black")  # fmt: skip
        agree = float((greedy == book).mean())
        policy.set(xticks=list(DEALER_CARDS), yticks=list(PLAYER_SUMS), xlabel="dealer showing (1 = ace)", ylabel="player sum")
        policy.set_title(f"greedy policy, {label}: {agree:.0%} as figure 5.2 (* differs)", fontsize=9)
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
