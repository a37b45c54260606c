"""Sample-quality metrics on feature arrays: FID, KID, precision/recall, density/coverage, modes.

Everything here is plain NumPy (float64) over arrays of shape (N, D), so any feature
extractor can feed it; :mod:`genlab.gan.evaluate` supplies the LeNet features and the
generator samples. Metrics are registered by name in :data:`FEATURE_METRICS`.

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(500, 4))
    >>> round(fid(x, x), 9)
    0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "FEATURE_METRICS",
    "coverage_of_modes",
    "density_coverage",
    "fid",
    "frechet_distance",
    "gaussian_stats",
    "kid",
    "knn_radii",
    "mmd2_unbiased",
    "precision_recall",
    "reverse_kl_to_uniform",
]

Array = NDArray[np.float64]

# Rows of the query set compared against the reference set at once (memory ~ chunk x N x 8 B).
_CHUNK = 1024


def _as_features(name: str, x: ArrayLike, min_rows: int = 1) -> Array:
    """`x` as a finite float64 (N, D) array, or a ValueError naming `name` and the problem."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (N, D), got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name}: need at least {min_rows} rows, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def _same_dim(a: Array, b: Array, names: tuple[str, str] = ("real", "fake")) -> None:
    """Raise a ValueError when the two arrays' feature dimensions differ."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"feature dimensions differ: {names[0]} has {a.shape[1]}, {names[1]} has {b.shape[1]}"
        )


def gaussian_stats(features: ArrayLike) -> tuple[Array, Array]:
    """Mean (D,) and unbiased covariance (D, D) of (N, D) features: what FID compares."""
    x = _as_features("features", features, min_rows=2)
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _psd_sqrt(cov: Array) -> Array:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues clipped)."""
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mean1: ArrayLike, cov1: ArrayLike, mean2: ArrayLike, cov2: ArrayLike) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mean1, cov1) and N(mean2, cov2).

    ‖μ1−μ2‖² + tr C1 + tr C2 − 2 tr (C1^½ C2 C1^½)^½; the trace term comes from the
    eigenvalues of a symmetric PSD matrix, so no complex parts or sqrtm failures appear.
    """
    m1, m2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    c1, c2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    d = m1.shape[0]
    if m1.shape != (d,) or m2.shape != (d,) or c1.shape != (d, d) or c2.shape != (d, d):
        raise ValueError(
            f"shapes do not match: mean1 {m1.shape}, cov1 {c1.shape}, mean2 {m2.shape}, "
            f"cov2 {c2.shape} (expected (D,), (D, D) twice)"
        )
    s1 = _psd_sqrt(c1)
    cross = np.linalg.eigvalsh(s1 @ ((c2 + c2.T) / 2) @ s1)
    trace_sqrt = float(np.sqrt(np.clip(cross, 0.0, None)).sum())
    value = float(((m1 - m2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2.0 * trace_sqrt)
    return max(value, 0.0)  # rounding can give −1e−13 for identical sets


def fid(real: ArrayLike, fake: ArrayLike) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017)."""
    r, f = _as_features("real", real, 2), _as_features("fake", fake, 2)
    _same_dim(r, f)
    return frechet_distance(*gaussian_stats(r), *gaussian_stats(f))


def _poly_kernel(x: Array, y: Array) -> Array:
    """KID's cubic polynomial kernel k(x, y) = (x·y / D + 1)³."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: ArrayLike, y: ArrayLike) -> float:
    """Unbiased estimate of MMD² between two samples under the cubic polynomial kernel."""
    a, b = _as_features("x", x, 2), _as_features("y", y, 2)
    _same_dim(a, b, ("x", "y"))
    m, n = a.shape[0], b.shape[0]
    kxx, kyy, kxy = _poly_kernel(a, a), _poly_kernel(b, b), _poly_kernel(a, b)
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


def kid(
    real: ArrayLike,
    fake: ArrayLike,
    subset_size: int = 1000,
    num_subsets: int = 50,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al. 2018): mean and std of MMD² over subsets.

    Each subset draws `subset_size` rows without replacement from each set (capped at the
    smaller set's size); with one subset covering both sets it equals :func:`mmd2_unbiased`.
    """
    r, f = _as_features("real", real, 2), _as_features("fake", fake, 2)
    _same_dim(r, f)
    if subset_size < 2 or num_subsets < 1:
        raise ValueError(f"need subset_size >= 2 and num_subsets >= 1, got {subset_size}, "
                         f"{num_subsets}")
    size = min(subset_size, r.shape[0], f.shape[0])
    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        ri = rng.choice(r.shape[0], size, replace=False)
        fi = rng.choice(f.shape[0], size, replace=False)
        values[i] = mmd2_unbiased(r[ri], f[fi])
    return float(values.mean()), float(values.std())


def _pairwise_distances(a: Array, b: Array) -> Array:
    """Euclidean distances (len(a), len(b)) via the expanded square, clipped at zero."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.clip(sq, 0.0, None))


def knn_radii(x: ArrayLike, k: int) -> Array:
    """Distance from each row of `x` to its k-th nearest other row (the k-NN ball radius)."""
    a = _as_features("x", x, k + 1)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    radii = np.empty(a.shape[0])
    for start in range(0, a.shape[0], _CHUNK):
        d = _pairwise_distances(a[start:start + _CHUNK], a)
        # index 0 of the partition is the row's distance to itself (0), so index k is the k-th other
        radii[start:start + _CHUNK] = np.partition(d, k, axis=1)[:, k]
    return radii


def _inside_counts(
    query: Array, centres: Array, radii: Array
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """For each query row, how many balls B(centre, radius) hold it; and for each ball, whether
    any query row lies in it (closed balls: distance ≤ radius)."""
    counts = np.zeros(query.shape[0], dtype=np.int64)
    hit = np.zeros(centres.shape[0], dtype=bool)
    for start in range(0, query.shape[0], _CHUNK):
        inside = _pairwise_distances(query[start:start + _CHUNK], centres) <= radii[None, :]
        counts[start:start + _CHUNK] = inside.sum(1)
        hit |= inside.any(0)
    return counts, hit


def precision_recall(real: ArrayLike, fake: ArrayLike, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds.

    Precision: fraction of fake rows inside some real row's k-NN ball; recall: fraction of
    real rows inside some fake row's k-NN ball.
    """
    r, f = _as_features("real", real, k + 1), _as_features("fake", fake, k + 1)
    _same_dim(r, f)
    fake_in_real, _ = _inside_counts(f, r, knn_radii(r, k))
    real_in_fake, _ = _inside_counts(r, f, knn_radii(f, k))
    return float((fake_in_real > 0).mean()), float((real_in_fake > 0).mean())


def density_coverage(real: ArrayLike, fake: ArrayLike, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) using the real rows' k-NN balls only.

    Density: mean number of real balls holding a fake row, divided by k (1 ≈ same density);
    coverage: fraction of real balls holding at least one fake row.
    """
    r, f = _as_features("real", real, k + 1), _as_features("fake", fake, 1)
    _same_dim(r, f)
    counts, hit = _inside_counts(f, r, knn_radii(r, k))
    return float(counts.sum() / (k * f.shape[0])), float(hit.mean())


def reverse_kl_to_uniform(counts: ArrayLike) -> float:
    """KL(p ‖ uniform) of the histogram `counts` over K bins: log K − H(p); inf if empty."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or c.size == 0 or np.any(c < 0):
        raise ValueError(f"counts must be a non-empty 1-D array of non-negative numbers, got {c}")
    total = c.sum()
    if total == 0:
        return math.inf
    p = c[c > 0] / total
    return float(math.log(c.size) + (p * np.log(p)).sum())


def coverage_of_modes(
    samples: ArrayLike, modes: ArrayLike, std: float, threshold: float = 3.0
) -> dict[str, float]:
    """The VEEGAN / PacGAN mode statistics of 2-D samples from a mixture of Gaussians.

    A sample is high quality when within `threshold`·`std` of its nearest mode; a mode is
    captured when it is the nearest mode of at least one high-quality sample; the reverse KL
    compares the high-quality samples' mode histogram with the uniform one.
    """
    x, m = _as_features("samples", samples, 1), _as_features("modes", modes, 1)
    _same_dim(x, m, ("samples", "modes"))
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    d = _pairwise_distances(x, m)
    nearest = d.argmin(1)
    high_quality = d[np.arange(x.shape[0]), nearest] <= threshold * std
    counts = np.bincount(nearest[high_quality], minlength=m.shape[0])
    return {
        "modes_captured": float((counts > 0).sum()),
        "modes_total": float(m.shape[0]),
        "high_quality_fraction": float(high_quality.mean()),
        "reverse_kl": reverse_kl_to_uniform(counts),
    }


def _fid_metric(real: Array, fake: Array) -> dict[str, float]:
    return {"fid": fid(real, fake)}


def _kid_metric(real: Array, fake: Array) -> dict[str, float]:
    mean, std = kid(real, fake)
    return {"kid": mean, "kid_std": std}


def _pr_metric(real: Array, fake: Array) -> dict[str, float]:
    precision, recall = precision_recall(real, fake)
    return {"precision": precision, "recall": recall}


def _dc_metric(real: Array, fake: Array) -> dict[str, float]:
    density, coverage = density_coverage(real, fake)
    return {"density": density, "coverage": coverage}


# Feature-set metrics by name: (real features, fake features) -> named values.
FEATURE_METRICS: dict[str, Callable[[Array, Array], dict[str, float]]] = {
    "fid": _fid_metric,
    "kid": _kid_metric,
    "precision_recall": _pr_metric,
    "density_coverage": _dc_metric,
}
