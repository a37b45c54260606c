"""Importance sampling of log Z with loopy BP's beliefs as the proposal.

Z = E_q[p̃(x)/q(x)] for any q that covers p̃'s support; with q = Π_i b_i(x_i), the product of
the BP beliefs (mixed with a little uniform mass so q is never zero where p̃ is not), the
estimate is unbiased for Z and its log is a stochastic lower bound of log Z. The confidence
interval comes from the weights' standard error (delta method); the effective sample size
says how much to trust it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError, ZeroEvidenceError
from genlab.pgm.loopy import BPBacked, BPReport, LoopyBP

__all__ = ["ImportanceReport", "importance_log_partition"]

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class ImportanceReport(BPBacked):
    """The sampler's run: samples drawn, effective sample size, the BP proposal's report."""

    samples: int
    effective_samples: float
    seconds: float
    bp: BPReport  # the proposal's run

    def describe(self) -> str:
        return (f"importance sampling: {self.samples} samples (effective "
                f"{self.effective_samples:.1f}) from a BP-belief proposal "
                f"({self.bp.describe()}), {self.seconds:.2f} s")


def importance_log_partition(model: Any, evidence: Mapping[str, Any] | None = None, *,
                             samples: int = 100_000, time_limit: float | None = None,
                             seed: int | None = 0, mix: float = 0.05, chunk: int = 2000,
                             damping: float = 0.5
                             ) -> tuple[float, tuple[float, float], ImportanceReport]:
    """(log Ẑ, 95% confidence interval of log Z, report) from up to `samples` draws of the BP
    proposal (or fewer when `time_limit` seconds run out; at least one chunk)."""
    if samples < 1 or not 0.0 < mix <= 1.0:
        raise ModelError(f"need samples >= 1 and 0 < mix <= 1; got {samples}, {mix}")
    t0 = time.perf_counter()
    bp = LoopyBP(model, evidence, damping=damping,
                 time_limit=None if time_limit is None else time_limit / 3)
    proposal = bp.run()
    graph, clamp = bp.graph, bp.evidence
    rng = np.random.default_rng(seed)
    position = {v: i for i, v in enumerate(graph.variables)}
    q = [(1 - mix) * proposal.marginals[v] + mix / graph.card(v) if v not in clamp else None
         for v in graph.variables]
    with np.errstate(divide="ignore"):
        logs = [(np.log(f.table), [position[v] for v in f.variables]) for f in graph.factors]
    chunks: list[np.ndarray] = []
    drawn = 0
    while drawn < samples:
        n = min(chunk, samples - drawn)
        x = np.empty((n, len(graph.variables)), dtype=np.intp)
        log_w = np.zeros(n)
        for i, v in enumerate(graph.variables):
            qi = q[i]
            if qi is None:
                x[:, i] = clamp[v]
            else:
                cdf = np.cumsum(qi)
                x[:, i] = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1],
                                                     side="right"), len(cdf) - 1)
                log_w -= np.log(qi[x[:, i]])
        for table, cols in logs:
            log_w += table[tuple(x[:, c] for c in cols)] if cols else float(table)
        chunks.append(log_w)
        drawn += n
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    log_w = np.concatenate(chunks)
    top = float(log_w.max())
    if top == -math.inf:
        raise ZeroEvidenceError("importance sampling: every sample has zero probability "
                                "(the evidence may be impossible, or the proposal misses "
                                "the support)")
    w = np.exp(log_w - top)
    mean = float(w.mean())
    estimate = top + math.log(mean)
    se = float(w.std(ddof=1) / math.sqrt(len(w))) if len(w) > 1 else math.inf
    low = top + math.log(mean - Z_95 * se) if mean > Z_95 * se else -math.inf
    high = top + math.log(mean + Z_95 * se)
    ess = float(w.sum() ** 2 / np.sum(w * w))
    report = ImportanceReport(len(w), ess, time.perf_counter() - t0, proposal.report)
    return estimate, (low, high), report
