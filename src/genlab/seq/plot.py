"""The directed model of a sequence, drawn: the RNN's full-history arcs beside a Markov chain's.

The lecture's in-class exercise: for w_1..w_5, the RNN language model p(w) = Π p(w_t | w_<t)
is the complete DAG (every w_s → w_t with s < t, since the hidden state carries the whole
prefix); an order-1 Markov chain keeps only the arcs w_{t-1} → w_t.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from genlab._atomic import atomic_write_bytes

__all__ = ["plot_directed_models"]


def _panel(ax: Any, n: int, arcs: list[tuple[int, int]], title: str) -> None:
    """Nodes w1..wn on a line and the given arcs (s, t), longer arcs bent higher."""
    from matplotlib.patches import Circle, FancyArrowPatch

    radius = 0.28
    for t in range(n):
        ax.add_patch(Circle((t, 0), radius, facecolor="#dbe9f6", edgecolor="#1f4e79", lw=1.5))
        ax.text(t, 0, f"$w_{{{t + 1}}}$", ha="center", va="center", fontsize=13)
    for s, t in arcs:
        span = t - s
        ax.add_patch(FancyArrowPatch(
            (s, 0), (t, 0), connectionstyle=f"arc3,rad={-0.0 if span == 1 else -0.35}",
            arrowstyle="-|>", mutation_scale=14, lw=1.3, shrinkA=13, shrinkB=13,
            color="#c0392b" if span == 1 else "#555555"))
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(-0.5, 0.25 * n if any(t - s > 1 for s, t in arcs) else 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)


def plot_directed_models(path: str | os.PathLike[str], n: int = 5) -> Path:
    """Write a PNG with the RNN LM's DAG (top) and the order-1 Markov chain's (bottom)."""
    from matplotlib.figure import Figure  # object API only: no pyplot state, no backend switch

    full = [(s, t) for t in range(n) for s in range(t)]
    chain = [(t - 1, t) for t in range(1, n)]
    fig = Figure(figsize=(7, 4.8))
    axes = fig.subplots(2, 1, height_ratios=[2.4, 1])
    _panel(axes[0], n, full,
           "RNN language model: $p(w_t \\mid w_1, \\dots, w_{t-1})$ — "
           f"{len(full)} arcs (every earlier word)")
    _panel(axes[1], n, chain,
           f"Order-1 Markov chain: $p(w_t \\mid w_{{t-1}})$ — {len(chain)} arcs")
    fig.suptitle(f"Directed models of a {n}-token sequence", fontsize=13)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return atomic_write_bytes(path, buffer.getvalue())
