"""A picture of an HMM's belief along one sequence: the posterior P(z_t | x) as a heat map,
the Viterbi path over it and, when known, the true states.

matplotlib's object API only (Figure + Agg canvas): no pyplot state, no global backend.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genlab._atomic import atomic_write_bytes
from genlab.pgm.errors import ModelError
from genlab.pgm.models.hmm import HiddenMarkovModel

__all__ = ["draw_posterior"]


def draw_posterior(model: HiddenMarkovModel, sequence: Sequence[Any] | np.ndarray,
                   path: str | os.PathLike[str], *,
                   true_states: Sequence[int] | np.ndarray | None = None,
                   title: str = "") -> Path:
    """Save a PNG of P(z_t = k | x) along `sequence` (time across, states down) with the
    Viterbi path (white) and `true_states` (red dashes) overlaid; returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    posterior = model.posteriors([sequence])[0]  # (T, K)
    path_states = model.viterbi([sequence]).paths[0]
    t, k = posterior.shape
    if true_states is not None and len(true_states) != t:
        raise ModelError(f"true_states has {len(true_states)} entries but the sequence has {t}")
    fig = Figure(figsize=(min(14.0, 3.0 + 0.08 * t), 1.6 + 0.35 * k), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(posterior.T, aspect="auto", origin="lower", cmap="viridis",
                      vmin=0.0, vmax=1.0, interpolation="nearest",
                      extent=(-0.5, t - 0.5, -0.5, k - 0.5))
    steps = np.arange(t)
    ax.step(steps, path_states, where="mid", color="white", linewidth=1.6, label="Viterbi path")
    if true_states is not None:
        ax.step(steps, np.asarray(true_states), where="mid", color="red", linewidth=1.2,
                linestyle="--", label="true states")
    ax.set_yticks(range(k))
    ax.set_xlabel("time step")
    ax.set_ylabel("hidden state")
    ax.set_title(title or f"posterior over hidden states ({model.kind} HMM, {k} states)")
    ax.legend(loc="upper right", fontsize="small", framealpha=0.7)
    fig.colorbar(image, ax=ax, label="P(state | sequence)")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return atomic_write_bytes(path, buffer.getvalue())
