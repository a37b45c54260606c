"""Probability tables whose last axis is a distribution: validation and vectorised draws,
shared by Markov chains and hidden Markov models."""

from __future__ import annotations

from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError

__all__ = ["check_stochastic", "draw_rows"]


def check_stochastic(name: str, array: Any, shape: tuple[int, ...] | None = None,
                     atol: float = 1e-6) -> np.ndarray:
    """`array` as float64 (of `shape`, when given), finite, non-negative, each last-axis row
    summing to one; the error names the first bad row."""
    out = np.array(array, dtype=np.float64)
    if shape is not None and out.shape != shape:
        raise ModelError(f"{name} must have shape {shape}, got {out.shape}")
    if not np.all(np.isfinite(out)):
        raise ModelError(f"{name} has non-finite entries (NaN or inf)")
    if out.size and out.min() < 0:
        raise ModelError(f"{name} has negative entries (min {out.min():.3g}): probabilities "
                         "must be non-negative")
    sums = out.sum(axis=-1)
    bad = np.argwhere(np.atleast_1d(np.abs(sums - 1.0) > atol))  # a vector's sum is 0-d
    if bad.size:
        where = tuple(int(i) for i in bad[0]) if sums.ndim else ()
        label = f"{name}[{', '.join(map(str, where))}]" if where else name
        raise ModelError(f"{label} is not stochastic: it sums to {float(sums[where]):.6g}, not 1"
                         f" ({len(bad)} such rows)")
    return out


def draw_rows(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of (n, K) probabilities (inverse CDF, vectorised; rows
    need not be normalised exactly)."""
    cdf = np.cumsum(probabilities, axis=1)
    u = rng.random(len(cdf))[:, None] * cdf[:, -1:]
    return np.minimum((u >= cdf).sum(axis=1), probabilities.shape[1] - 1)
