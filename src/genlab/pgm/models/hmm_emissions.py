"""Emission distributions of a hidden Markov model: categorical symbols and Gaussians.

Each emission turns observations into a (rows, K) table of log-likelihoods — 0 where an
observation is missing, so its factor drops out — draws observations given states, and
re-estimates itself from posterior weights (the M-step of Baum–Welch). Observations arrive
already concatenated (one row per time step of every sequence), so every call is vectorised.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
from scipy.linalg import solve_triangular

from genlab.pgm.errors import ModelError
from genlab.pgm.models.stochastic import check_stochastic, draw_rows

__all__ = [
    "CategoricalEmission",
    "Emission",
    "GaussianEmission",
    "ObservationError",
    "emission_from_data",
    "row_max",
    "scale_rows",
    "work_array",
]

_LOG_2PI = math.log(2.0 * math.pi)

# Work arrays that never leave a kernel (Viterbi's δ, the backward β, emission temporaries)
# are reused between calls, per thread, up to this many bytes each (so at most ~9 × 8 MB stay
# allocated): a fresh 400 kB array costs ~100 page faults (glibc hands freed heap tops back to
# the OS), more than the whole scan for K = 10, T = 100.
_SCRATCH_BYTES = 8 << 20
_scratch = threading.local()


def work_array(name: str, size: int) -> np.ndarray:
    """A float64 work array of `size` elements, reused by later calls in this thread (its
    contents are undefined; never return it to a caller)."""
    cached = getattr(_scratch, name, None)
    if cached is not None and cached.size >= size:
        return cached[:size]  # type: ignore[no-any-return]
    out = np.empty(size)
    if size * 8 <= _SCRATCH_BYTES:
        setattr(_scratch, name, out)
    return out

MISSING = -1  # the code of a missing categorical observation


class ObservationError(ModelError):
    """An observation cannot be used: the message names the sequence and the time step."""

    def __init__(self, message: str, sequence: int, step: int) -> None:
        super().__init__(f"sequence {sequence}, step {step}: {message}")
        self.detail = message
        self.sequence = sequence
        self.step = step


class _BadRow(Exception):
    """Raised by `encode` at the first bad row of the concatenated data (caller locates it)."""

    def __init__(self, row: int, message: str) -> None:
        super().__init__(message)
        self.row = row
        self.message = message


def row_max(x: np.ndarray) -> np.ndarray:
    """max over the (short) last axis of (rows, K), one column at a time: numpy's own
    reduction over a short contiguous axis is ~20× slower than K elementwise maxima."""
    out = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        np.maximum(out, x[:, j], out=out)
    return out


def scale_rows(log_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """exp(log_b − row max) and the row max: likelihoods rescaled so each row peaks at 1."""
    shift = row_max(log_b)
    finite = np.where(np.isfinite(shift), shift, 0.0)
    out = np.subtract(log_b, finite[:, None], out=np.empty(log_b.shape))  # row-major always
    return np.exp(out, out=out), shift


def _log(array: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(array)


class Emission(Protocol):
    """What the HMM needs from an emission distribution."""

    @property
    def kind(self) -> str: ...

    @property
    def n_states(self) -> int: ...

    def encode(self, values: list[np.ndarray]) -> np.ndarray: ...

    def log_likelihood(self, obs: np.ndarray) -> np.ndarray: ...

    def scaled_likelihood(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def observed(self, obs: np.ndarray) -> np.ndarray: ...

    def sample(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...

    def m_step(self, obs: np.ndarray, weights: np.ndarray) -> Emission: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, eq=False)
class CategoricalEmission:
    """P(x_t = symbol m | z_t = k) = probabilities[k, m]; symbols are non-empty strings.

    Observations are matched to symbols by their text (`str`), so 3 and "3" are the same
    symbol; None, NaN and "" are missing.
    """

    symbols: tuple[str, ...]
    probabilities: np.ndarray  # (K, M)
    kind: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        symbols = tuple(str(s) for s in self.symbols)
        if not symbols:
            raise ModelError("a categorical emission needs at least one symbol")
        if any(not s for s in symbols) or len(set(symbols)) != len(symbols):
            raise ModelError(f"symbols must be distinct non-empty strings, got {list(symbols)}")
        probs = np.asarray(self.probabilities, dtype=np.float64)
        if probs.ndim != 2:
            raise ModelError(f"emission must be a (states, symbols) matrix, got shape "
                             f"{probs.shape}")
        probs = check_stochastic("emission", probs, (probs.shape[0], len(symbols)))
        probs.setflags(write=False)
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "probabilities", probs)
        log_table = np.vstack([_log(probs).T, np.zeros(len(probs))])  # (M + 1, K): missing last
        peak = probs.max(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = np.vstack([(probs / np.where(peak > 0, peak, 1.0)).T, np.ones(len(probs))])
        object.__setattr__(self, "_log_table", log_table)
        object.__setattr__(self, "_log_table_t", np.ascontiguousarray(log_table.T))
        object.__setattr__(self, "_scaled_table", scaled)
        object.__setattr__(self, "_log_peak", np.append(_log(peak), 0.0))
        # symbols "0", "1", ...: integer observations are their own codes (no text matching)
        object.__setattr__(self, "_canonical",
                           symbols == tuple(str(i) for i in range(len(symbols))))

    @property
    def n_states(self) -> int:
        return int(self.probabilities.shape[0])

    def encode(self, values: list[np.ndarray]) -> np.ndarray:
        """Symbol indices of the concatenated observations (MISSING where missing)."""
        arrays = [np.asarray(v) for v in values]
        for a in arrays:
            if a.ndim != 1:
                raise ModelError(f"a categorical sequence must be one-dimensional, got shape "
                                 f"{a.shape}")
        canonical = self._canonical  # type: ignore[attr-defined]
        if canonical and all(a.dtype.kind in "iu" for a in arrays):  # fast path: indices
            flat = (np.concatenate(arrays).astype(np.intp, copy=False) if arrays
                    else np.zeros(0, np.intp))
            bad = np.flatnonzero((flat < 0) | (flat >= len(self.symbols)))
            if bad.size:
                raise _BadRow(int(bad[0]), self._unknown(str(flat[bad[0]])))
            return flat
        flat_text = np.concatenate([_as_text(a) for a in arrays]) if arrays else np.zeros(0, "U1")
        uniques, inverse = np.unique(flat_text, return_inverse=True)
        index = {s: i for i, s in enumerate(self.symbols)}
        codes = np.empty(len(uniques), dtype=np.intp)
        for j, u in enumerate(uniques):
            if u == "":
                codes[j] = MISSING
            elif u in index:
                codes[j] = index[u]
            else:
                raise _BadRow(int(np.flatnonzero(inverse == j)[0]), self._unknown(str(u)))
        return codes[inverse.reshape(-1)]

    def _unknown(self, value: str) -> str:
        shown = ", ".join(self.symbols[:20]) + (" ..." if len(self.symbols) > 20 else "")
        return f"unknown symbol {value!r} (the model's symbols: {shown})"

    def log_likelihood(self, obs: np.ndarray) -> np.ndarray:
        """log P(x | z = k) per row and state, (rows, K); 0 on missing rows.

        Gathered state-major (one `take` of the (K, M + 1) table; MISSING = −1 picks its last
        column, the missing one) and returned as the transposed view, which Viterbi reads
        state-major without a copy."""
        return self._log_table_t.take(obs, axis=1).T  # type: ignore[attr-defined,no-any-return]

    def scaled_likelihood(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(p(x | k) / max_k p(x | k), log max_k p(x | k)) per row: looked up in a table
        scaled once per symbol (no exp per row); (1, 0) on missing rows (MISSING = −1
        indexes the tables' last row, the missing one)."""
        return (self._scaled_table.take(obs, axis=0),  # type: ignore[attr-defined]
                self._log_peak.take(obs))  # type: ignore[attr-defined]

    def observed(self, obs: np.ndarray) -> np.ndarray:
        return obs >= 0

    def sample(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return draw_rows(self.probabilities[states], rng)

    def m_step(self, obs: np.ndarray, weights: np.ndarray) -> CategoricalEmission:
        """Expected symbol counts per state, normalised; a state that saw nothing keeps its row."""
        k, m = self.probabilities.shape
        seen = obs >= 0
        symbols, w = obs[seen], weights[seen]
        counts = np.stack([np.bincount(symbols, w[:, j], minlength=m) for j in range(k)])
        totals = counts.sum(axis=1, keepdims=True)
        probs = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0),
                         self.probabilities)
        return CategoricalEmission(self.symbols, probs)

    def to_dict(self) -> dict[str, Any]:
        return {"symbols": list(self.symbols), "emission": self.probabilities.tolist()}


def _as_text(a: np.ndarray) -> np.ndarray:
    """Observations as text, "" where missing (None, NaN, "", pandas NA)."""
    if a.dtype.kind in "iu":
        return a.astype(str)
    if a.dtype.kind == "U":
        return np.char.strip(a)
    out = [_text(v) for v in a.tolist()]
    return np.array(out, dtype=str) if out else np.zeros(0, "U1")


def _text(value: Any) -> str:
    """One observation as text: integral floats as integers (3.0 -> "3"), missing as ""."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    try:
        if value != value:  # NaN-like
            return ""
    except (TypeError, ValueError):  # pandas NA cannot be compared: it is missing
        return ""
    return str(value).strip()


@dataclass(frozen=True, eq=False)
class GaussianEmission:
    """x_t | z_t = k ~ N(means[k], Σ_k), with Σ diagonal ("diag": covariances (K, D) of
    variances) or full ("full": covariances (K, D, D), positive definite).

    A row with every value NaN is missing. With diagonal covariances a row may also miss some
    coordinates (the observed ones are used); a full covariance needs whole rows.
    `covariance_prior` is added to the scatter's diagonal in the M-step (keeps variances away
    from zero; hmmlearn's `covars_prior`).
    """

    means: np.ndarray  # (K, D)
    covariances: np.ndarray  # (K, D) or (K, D, D)
    covariance_type: str = "full"
    covariance_prior: float = 1e-2
    kind: ClassVar[str] = "gaussian"

    def __post_init__(self) -> None:
        means = np.array(self.means, dtype=np.float64)
        if means.ndim == 1:
            means = means[:, None]
        if means.ndim != 2 or not means.size:
            raise ModelError(f"means must be a (states, dimensions) matrix, got shape "
                             f"{means.shape}")
        if not np.all(np.isfinite(means)):
            raise ModelError("means have non-finite entries (NaN or inf)")
        k, d = means.shape
        cov = np.array(self.covariances, dtype=np.float64)
        if self.covariance_type == "diag":
            cov = cov.reshape(k, d) if cov.size == k * d else cov
            if cov.shape != (k, d):
                raise ModelError(f"diag covariances must have shape {(k, d)}, got {cov.shape}")
            bad = np.argwhere(~(cov > 0) | ~np.isfinite(cov))
            if bad.size:
                s = int(bad[0][0])
                raise ModelError(f"covariances[{s}] is not positive definite: variances "
                                 f"{cov[s].tolist()} must be finite and > 0")
            chol = np.sqrt(cov)
        elif self.covariance_type == "full":
            cov = cov.reshape(k, d, d) if cov.size == k * d * d else cov
            if cov.shape != (k, d, d):
                raise ModelError(f"full covariances must have shape {(k, d, d)}, got "
                                 f"{cov.shape}")
            chol = np.empty_like(cov)
            for s in range(k):
                if not np.all(np.isfinite(cov[s])) or not np.allclose(cov[s], cov[s].T,
                                                                     rtol=1e-8, atol=1e-12):
                    raise ModelError(f"covariances[{s}] must be finite and symmetric")
                try:
                    chol[s] = np.linalg.cholesky(cov[s])
                except np.linalg.LinAlgError:
                    raise ModelError(f"covariances[{s}] is not positive definite (Cholesky "
                                     "failed)") from None
        else:
            raise ModelError(f"covariance_type must be 'diag' or 'full', got "
                             f"{self.covariance_type!r}")
        if not (self.covariance_prior >= 0 and math.isfinite(self.covariance_prior)):
            raise ModelError(f"covariance_prior must be a finite number >= 0, got "
                             f"{self.covariance_prior}")
        for a in (means, cov, chol):
            a.setflags(write=False)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covariances", cov)
        object.__setattr__(self, "_chol", chol)
        if self.covariance_type == "diag":  # per-model constants of log N, not per call
            inv = 1.0 / cov  # elementwise reciprocal of variances, not a matrix
            object.__setattr__(self, "_inv", inv)
            object.__setattr__(self, "_terms", means**2 * inv + _LOG_2PI + np.log(cov))  # (K, D)
        else:
            object.__setattr__(self, "_log_det", 2.0 * np.log(np.diagonal(chol, 0, 1, 2)).sum(1))

    @property
    def n_states(self) -> int:
        return int(self.means.shape[0])

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    def encode(self, values: list[np.ndarray]) -> np.ndarray:
        """The concatenated observations as float64 (rows, D), NaN where missing."""
        d = self.dim
        arrays = []
        row = 0
        for v in values:
            try:
                a = np.asarray(v, dtype=np.float64)  # None becomes NaN (missing)
            except (TypeError, ValueError):
                raise _BadRow(row + _first_non_number(v), "observation is not a number") from None
            if a.ndim == 1 and d == 1:
                a = a[:, None]
            if a.ndim != 2 or a.shape[1] != d:
                raise ModelError(f"a Gaussian sequence must have shape (T, {d}), got {a.shape}")
            arrays.append(a)
            row += len(a)
        flat = np.concatenate(arrays) if arrays else np.zeros((0, d))
        if not np.isfinite(flat).all() and np.isinf(flat).any():  # one pass when all finite
            bad = np.flatnonzero(np.isinf(flat).any(axis=1))
            raise _BadRow(int(bad[0]), f"observation {flat[bad[0]].tolist()} is infinite")
        if self.covariance_type == "full" and d > 1 and np.isnan(flat).any():
            nan = np.isnan(flat)
            partial = np.flatnonzero(nan.any(axis=1) & ~nan.all(axis=1))
            if partial.size:
                raise _BadRow(int(partial[0]), "observation has NaN in some but not all "
                              "coordinates; a full covariance needs whole rows (or diag)")
        return flat

    def observed(self, obs: np.ndarray) -> np.ndarray:
        return ~np.isnan(obs).all(axis=1)

    def scaled_likelihood(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(p(x | k) / max_k p(x | k), log max_k p(x | k)) per row."""
        return scale_rows(self.log_likelihood(obs))

    def log_likelihood(self, obs: np.ndarray) -> np.ndarray:
        """log N(x; μ_k, Σ_k) per row and state, (rows, K); missing coordinates drop out."""
        if self.covariance_type == "diag" and not np.isnan(obs).any():
            # nothing missing (the common case): log N = x²·(−½σ⁻²) + x·(μσ⁻²) + c_k, two
            # BLAS products written state-major (K, rows) — Viterbi reads it without a copy
            inv = self._inv  # type: ignore[attr-defined]
            const = -0.5 * self._terms.sum(1)  # type: ignore[attr-defined]
            k, rows = self.n_states, len(obs)
            square = np.square(obs, out=work_array("gauss_sq", obs.size).reshape(obs.shape))
            out_t = np.matmul(-0.5 * inv, square.T)
            linear = np.matmul(self.means * inv, obs.T,
                               out=work_array("gauss_lin", k * rows).reshape(k, rows))
            out_t += linear
            out_t += const[:, None]
            return out_t.T  # type: ignore[no-any-return]
        mask = ~np.isnan(obs)
        x = np.where(mask, obs, 0.0)
        if self.covariance_type == "diag":
            inv = self._inv  # type: ignore[attr-defined]
            m = mask.astype(np.float64)
            return -0.5 * ((x * x) @ inv.T - 2.0 * x @ (self.means * inv).T
                           + m @ self._terms.T)  # type: ignore[attr-defined]
        out = np.empty((len(obs), self.n_states))
        chol = self._chol  # type: ignore[attr-defined]
        for k in range(self.n_states):
            z = solve_triangular(chol[k], (x - self.means[k]).T, lower=True)  # (D, rows)
            out[:, k] = -0.5 * ((z * z).sum(axis=0) + self._log_det[k]  # type: ignore[attr-defined]
                                + self.dim * _LOG_2PI)
        out[~mask.any(axis=1)] = 0.0
        return out

    def sample(self, states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        eps = rng.standard_normal((len(states), self.dim))
        if self.covariance_type == "diag":
            return self.means[states] + eps * self._chol[states]  # type: ignore[attr-defined]
        chol = self._chol[states]  # type: ignore[attr-defined]
        return self.means[states] + np.einsum("nij,nj->ni", chol, eps)

    def m_step(self, obs: np.ndarray, weights: np.ndarray) -> GaussianEmission:
        """Weighted means and (prior-regularised) covariances; a state that saw nothing keeps
        its parameters."""
        mask = ~np.isnan(obs)
        x = np.where(mask, obs, 0.0)
        m = mask.astype(np.float64)
        prior = self.covariance_prior
        if self.covariance_type == "diag":
            denom = weights.T @ m  # (K, D): weight that saw each coordinate
            safe = np.where(denom > 0, denom, 1.0)
            first = weights.T @ x  # (K, D) weighted sums
            means = np.where(denom > 0, first / safe, self.means)
            scatter = weights.T @ (x * x) - 2.0 * means * first + means**2 * denom
            cov = np.where(denom > 0, (prior + np.maximum(scatter, 0.0))
                           / np.maximum(denom, 1e-5), self.covariances)
            return GaussianEmission(means, cov, "diag", prior)
        seen = mask.all(axis=1)
        w = weights[seen]
        xs = x[seen]
        denom = w.sum(axis=0)  # (K,)
        means = np.where(denom[:, None] > 0, (w.T @ xs) / np.where(denom > 0, denom, 1.0)[:, None],
                         self.means)
        cov = np.array(self.covariances)
        eye = np.eye(self.dim)
        for k in range(self.n_states):
            if denom[k] <= 0:
                continue
            centred = xs - means[k]
            scatter = (centred * w[:, k:k + 1]).T @ centred
            cov[k] = (prior * eye + scatter) / max(denom[k], 1e-5)
            cov[k] = 0.5 * (cov[k] + cov[k].T)
        return GaussianEmission(means, cov, "full", prior)

    def to_dict(self) -> dict[str, Any]:
        return {"covariance_type": self.covariance_type, "means": self.means.tolist(),
                "covariances": self.covariances.tolist(),
                "covariance_prior": float(self.covariance_prior)}


def _first_non_number(sequence: Any) -> int:
    """Index of the first step of `sequence` that does not convert to float (0 if none)."""
    for i, item in enumerate(sequence):
        try:
            np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError):
            return i
    return 0


def emission_from_data(kind: str, flat: np.ndarray, n_states: int, rng: np.random.Generator,
                       symbols: Sequence[str] = (), covariance_type: str = "diag",
                       covariance_prior: float = 1e-2) -> Emission:
    """A random starting emission for Baum–Welch from the (encoded, concatenated) data:
    Dirichlet rows for symbols; for Gaussians, means at distinct random observed rows and
    covariances equal to the data's (plus the prior)."""
    if kind == "categorical":
        m = len(symbols)
        codes = flat[flat >= 0]
        if not len(codes):
            raise ModelError("every observation is missing: nothing to fit")
        # symbol histograms of short windows (states persist, so windows are purer than the
        # whole data), K of them picked k-means++ style, smoothed towards Dirichlet noise
        width = max(1, min(8, len(codes) // (4 * n_states)))
        windows = len(codes) // width
        hist = np.zeros((windows, m))
        np.add.at(hist, (np.repeat(np.arange(windows), width), codes[:windows * width]), 1.0)
        rows = _spread_picks(hist / width, n_states, rng)
        noise = rng.dirichlet(np.ones(m), size=n_states)
        return CategoricalEmission(tuple(symbols), 0.7 * rows + 0.3 * noise)
    rows = flat[~np.isnan(flat).any(axis=1)]
    if len(rows) == 0:
        raise ModelError("every observation is missing: nothing to fit")
    means = _spread_picks(rows, n_states, rng)
    d = flat.shape[1]
    variance = np.nanvar(flat, axis=0) + 1e-3
    if covariance_type == "diag":
        cov: np.ndarray = np.tile(variance, (n_states, 1))
    else:
        full = np.cov(rows.T).reshape(d, d) if len(rows) > 1 else np.diag(variance)
        full = full + 1e-3 * np.eye(d)
        cov = np.tile(full, (n_states, 1, 1))
    return GaussianEmission(means, cov, covariance_type, covariance_prior)


def _spread_picks(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k rows of `points` chosen k-means++ style (each next one far from those picked), on a
    random subsample of at most 2000 rows."""
    if len(points) > 2000:
        points = points[rng.choice(len(points), size=2000, replace=False)]
    picked = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        dist = np.min([((points - p) ** 2).sum(axis=1) for p in picked], axis=0)
        total = dist.sum()
        index = rng.choice(len(points), p=dist / total) if total > 0 else rng.integers(len(points))
        picked.append(points[index])
    return np.array(picked, dtype=np.float64)
