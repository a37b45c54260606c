"""Baum–Welch (EM) for hidden Markov models over many sequences, with seeded restarts.

The E-step is one batched scaled forward–backward (hmm_scan.py) giving the posteriors and the
expected transition counts; the M-step re-estimates start, transition and emission from those
expected counts. Without a covariance prior each iteration cannot lower the log-likelihood
(EM's guarantee; tested). The monitor records log P(data) under the parameters that entered
each iteration and stops at `max_iter` or when the gain falls below `tol`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.models.hmm import HiddenMarkovModel, SequenceBatch
from genlab.pgm.models.hmm_emissions import (
    CategoricalEmission,
    GaussianEmission,
    _as_text,
    emission_from_data,
)
from genlab.pgm.models.hmm_scan import forward_backward

__all__ = ["ConvergenceMonitor", "HMMFit", "baum_welch", "fit_hmm", "infer_symbols"]

Callback = Callable[[int, int, float], None]  # (restart, iteration, log-likelihood)


@dataclass
class ConvergenceMonitor:
    """Log-likelihood per E-step (plus the final model's); converged when the last gain is
    below `tol`. `iterations` counts the recorded log-likelihoods."""

    tol: float = 1e-4
    max_iter: int = 100
    history: list[float] = field(default_factory=list)
    converged: bool = False

    def __post_init__(self) -> None:
        if int(self.max_iter) < 1:
            raise ModelError(f"max_iter must be >= 1, got {self.max_iter}")
        if not self.tol >= 0 and self.tol != -np.inf:
            raise ModelError(f"tol must be >= 0, got {self.tol}")

    @property
    def iterations(self) -> int:
        return len(self.history)

    def report(self, log_likelihood: float) -> bool:
        """Record one E-step's log-likelihood; True when the gain fell below `tol`."""
        self.history.append(float(log_likelihood))
        if len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol:
            self.converged = True
        return self.converged


@dataclass(frozen=True)
class HMMFit:
    """The fitted model, its final log-likelihood, the monitor of the chosen run and the
    final log-likelihood of every restart."""

    model: HiddenMarkovModel
    log_likelihood: float
    monitor: ConvergenceMonitor
    restarts: list[float]


def baum_welch(model: HiddenMarkovModel, sequences: Any, *, max_iter: int = 100,
               tol: float = 1e-4, callback: Callable[[int, float], None] | None = None,
               update: str = "ste") -> HMMFit:
    """EM from `model`'s parameters: at most `max_iter` updates, stopping early when an
    E-step gains less than `tol`. `update` names what is re-estimated: s(tart), t(ransition),
    e(mission). The returned log-likelihood is that of the returned model (the monitor's
    last entry)."""
    if not update or set(update) - set("ste"):
        raise ModelError(f"update must be letters of 'ste' (start, transition, emission), got "
                         f"{update!r}")
    batch = model.prepare(sequences)
    if batch.lengths.max() < 2 and "t" in update:
        raise ModelError("every sequence has length 1: transitions cannot be learned (give "
                         "sequences of length >= 2)")
    if not model.emission.observed(batch.packed).any():
        raise ModelError("every observation is missing: nothing to fit")
    monitor = ConvergenceMonitor(tol=tol, max_iter=max_iter)
    packing = batch.packing
    first = packing.first_rows()
    for _ in range(int(max_iter)):
        scaled = model.emission.scaled_likelihood(batch.packed)
        # γ may live in a reused work array: the M-step below consumes it before the next call
        fb = forward_backward(packing, model.start, model.transition, scaled, counts=True,
                              work=True)
        total = float(fb.log_likelihood.sum())
        if callback is not None:
            callback(monitor.iterations + 1, total)
        if monitor.report(total):  # converged: the model just scored is the answer
            return HMMFit(model, total, monitor, [total])
        model = _m_step(model, batch, fb, first, update)
    # max_iter updates done: score the returned model (forward pass only)
    total = float(model.log_likelihood(batch).sum())
    monitor.report(total)
    return HMMFit(model, total, monitor, [total])


def _m_step(model: HiddenMarkovModel, batch: SequenceBatch, fb: Any, first: np.ndarray,
            update: str) -> HiddenMarkovModel:
    """Start, transition and emission re-estimated from the expected counts of one E-step."""
    start = None
    if "s" in update:
        start = fb.gamma[first].sum(axis=0)
        start = start / start.sum()
    transition = None
    if "t" in update and fb.transitions is not None:
        counts = fb.transitions
        rows = counts.sum(axis=1, keepdims=True)
        transition = np.where(rows > 0, counts / np.where(rows > 0, rows, 1.0), model.transition)
    emission = model.emission.m_step(batch.packed, fb.gamma) if "e" in update else None
    return model.replace(start, transition, emission)


def infer_symbols(sequences: Sequence[Any]) -> tuple[str, ...]:
    """The distinct observed symbols of categorical data, sorted (numerically when all are
    integers)."""
    texts = [_as_text(np.asarray(s)) for s in sequences]
    found = np.unique(np.concatenate(texts)) if texts else np.zeros(0, str)
    symbols = [str(s) for s in found if s != ""]
    if not symbols:
        raise ModelError("every observation is missing: no symbols to learn")
    if all(s.lstrip("-").isdigit() for s in symbols):
        symbols.sort(key=int)
    return tuple(symbols)


def fit_hmm(sequences: Any, n_states: int, *, kind: str = "categorical",
            symbols: Sequence[str] | None = None, covariance_type: str = "diag",
            covariance_prior: float = 1e-2, restarts: int = 1, seed: int | None = 0,
            max_iter: int = 100, tol: float = 1e-4, callback: Callback | None = None) -> HMMFit:
    """Fit an HMM by Baum–Welch from `restarts` random starts (seeded); the best final
    log-likelihood wins. `kind` is "categorical" (symbols from the data unless given) or
    "gaussian" (`covariance_type` "diag" or "full")."""
    if int(n_states) < 1:
        raise ModelError(f"n_states must be >= 1, got {n_states}")
    if int(restarts) < 1:
        raise ModelError(f"restarts must be >= 1, got {restarts}")
    if isinstance(sequences, SequenceBatch):
        raise ModelError("fit_hmm needs raw sequences (it chooses the encoding)")
    seqs = list(sequences)
    k = int(n_states)
    rng = np.random.default_rng(seed)
    if kind == "categorical":
        # objects (what CSV readers give) become text once: symbol inference and encoding
        # then both run vectorised instead of each converting every cell in Python
        seqs = [_as_text(a) if a.ndim == 1 and a.dtype.kind == "O" else a
                for a in map(np.asarray, seqs)]
        symbols = tuple(symbols) if symbols is not None else infer_symbols(seqs)
        template = HiddenMarkovModel(np.full(k, 1 / k), np.full((k, k), 1 / k),
                                     CategoricalEmission(symbols, np.full((k, len(symbols)),
                                                                          1 / len(symbols))))
    elif kind == "gaussian":
        first = np.asarray(seqs[0], dtype=np.float64) if seqs else np.zeros((0, 1))
        dim = 1 if first.ndim == 1 else first.shape[1]
        cov = np.ones((k, dim)) if covariance_type == "diag" else np.tile(np.eye(dim), (k, 1, 1))
        template = HiddenMarkovModel(np.full(k, 1 / k), np.full((k, k), 1 / k),
                                     GaussianEmission(np.zeros((k, dim)), cov, covariance_type,
                                                      covariance_prior))
    else:
        raise ModelError(f"kind must be 'categorical' or 'gaussian', got {kind!r}")
    batch = template.prepare(seqs)
    best: HMMFit | None = None
    finals: list[float] = []
    for r in range(int(restarts)):
        emission = emission_from_data(kind, batch.flat, k, rng, symbols or (), covariance_type,
                                      covariance_prior)
        start = rng.dirichlet(np.ones(k))
        transition = rng.dirichlet(np.ones(k), size=k)
        model = HiddenMarkovModel(start, transition, emission)
        step = None if callback is None else _bind(callback, r)
        result = baum_welch(model, batch, max_iter=max_iter, tol=tol, callback=step)
        finals.append(result.log_likelihood)
        if best is None or result.log_likelihood > best.log_likelihood:
            best = result
    assert best is not None
    return HMMFit(best.model, best.log_likelihood, best.monitor, finals)


def _bind(callback: Callback, restart: int) -> Callable[[int, float], None]:
    return lambda iteration, log_lik: callback(restart, iteration, log_lik)
