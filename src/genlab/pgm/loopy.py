"""Loopy belief propagation on a factor graph: sum-product (marginals, Bethe log Z) and
max-product (MAP decoding), in log space, with damping and synchronous or residual
scheduling — for models whose exact contraction does not fit in memory.

Messages are stored per (factor, variable) edge, padded to the largest cardinality with −inf.
Factors of the same shape are stacked, so one update of every message is a few numpy
operations per shape group, not a Python loop over factors. Zeros (hard constraints) stay
exact: a variable's cavity message counts the −inf entries of its incoming messages instead of
subtracting them (−inf − −inf would be NaN).

On a tree BP converges in (diameter) iterations to the exact marginals and log Z; on loopy
graphs its fixed points are the stationary points of the Bethe free energy, so the answer is
approximate and the result says so, with a convergence report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.pgm.errors import ZeroEvidenceError
from genlab.pgm.models.factor_graph import FactorGraph

__all__ = ["BPBacked", "BPReport", "BPResult", "LoopyBP", "loopy_bp"]

MODES = ("sum", "max")
SCHEDULES = ("synchronous", "residual")
POLISH = 100.0  # residual scheduling commits every message once the largest change is below
# POLISH × tolerance, so the last iterations and the stopping test are the synchronous ones
NEG_INF = -np.inf


@dataclass(frozen=True)
class BPReport:
    """How a run of loopy BP ended: `residual` is the largest change the last undamped
    update would make to a message (as a probability); converged when below the tolerance."""

    iterations: int
    residual: float
    converged: bool
    seconds: float
    damping: float
    averaged: int = 0  # unconverged sum-product: beliefs averaged over this many iterations
    schedule: str = "synchronous"

    def describe(self) -> str:
        state = "converged" if self.converged else "did not converge"
        average = f", beliefs averaged over the last {self.averaged}" if self.averaged else ""
        return (f"loopy BP {state}: {self.iterations} iterations, final residual "
                f"{self.residual:.2g}, {self.schedule} updates, damping {self.damping:g}"
                f"{average}, {self.seconds:.2f} s")


class BPBacked:
    """Mixed into reports built on a BP run (their `bp` field): that run's convergence reads
    as the report's own, so callers (the CLI's `--json`) need not know the report's kind."""

    bp: BPReport

    @property
    def residual(self) -> float:
        return self.bp.residual

    @property
    def iterations(self) -> int:
        return self.bp.iterations

    @property
    def converged(self) -> bool:
        return self.bp.converged


@dataclass(frozen=True)
class BPResult:
    """Beliefs of every variable (observed ones one-hot), the Bethe estimate of log Z (sum
    mode; natural log, with the evidence clamped) and the convergence report."""

    marginals: dict[str, np.ndarray]
    log_partition: float
    report: BPReport
    mode: str
    factor_beliefs: list[np.ndarray | None] = field(default_factory=list, repr=False)


def _logsumexp(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return np.squeeze(out, axis=axis)


def _normalize(log_msg: np.ndarray, mode: str) -> np.ndarray:
    """Messages (rows) scaled to sum (sum mode) or peak (max mode) at 1, in log space; an
    all-zero row stays all −inf."""
    top = log_msg.max(axis=-1, keepdims=True)
    if mode == "sum":
        top = _logsumexp(log_msg, (-1,))[..., None]
    top = np.where(np.isfinite(top), top, 0.0)
    return log_msg - top


@dataclass
class _Group:
    """Factors of one shape, stacked: log tables (G, *shape), their edges (G, k), and their
    indices among the model's reduced factors."""

    shape: tuple[int, ...]
    log_tables: np.ndarray
    edges: np.ndarray
    factors: list[int]


class LoopyBP:
    """Loopy BP on `model` with `evidence` clamped ({variable: state}).

    `damping` λ mixes each new message with the old one in probability space
    (m ← (1−λ)·m_new + λ·m_old). `schedule="synchronous"` updates every message from the
    previous iteration's messages, which with damping converges on most graphs;
    `"residual"` computes them all but commits only the `fraction` that would change most,
    so the informative messages run ahead (better beliefs on the hard linkage problems).
    Iterations stop at `tolerance`, `max_iterations` or `time_limit` seconds, whichever
    comes first.
    """

    def __init__(self, model: Any, evidence: Mapping[str, Any] | None = None, *,
                 mode: str = "sum", damping: float = 0.5, tolerance: float = 1e-8,
                 max_iterations: int = 1000, time_limit: float | None = None,
                 schedule: str = "synchronous", fraction: float = 0.25) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
        self.schedule, self.fraction = schedule, float(fraction)
        if not 0.0 <= damping < 1.0:
            raise ValueError(f"damping must lie in [0, 1), got {damping}")
        self.graph: FactorGraph = model.to_factor_graph()
        self.evidence = self.graph.encode_evidence(evidence)
        self.mode, self.damping, self.tolerance = mode, float(damping), float(tolerance)
        self.max_iterations, self.time_limit = int(max_iterations), time_limit
        self._build()

    # ----------------------------------------------------------------------------- set-up
    def _build(self) -> None:
        g, ev = self.graph, self.evidence
        self.free = [v for v in g.variables if v not in ev]
        index = {v: i for i, v in enumerate(self.free)}
        kept, self.constant = g.log_factors(ev)  # constant: the factors with no free variable
        if math.isnan(self.constant):
            raise ValueError("a factor table holds NaN")
        scopes = [tuple(index[v] for v in names) for _, names, _ in kept]
        tables = [table for _, _, table in kept]
        self.factor_of: list[int] = [a for a, _, _ in kept]  # reduced factor -> model factor
        self.cards = np.array([g.card(v) for v in self.free], dtype=np.intp)
        self.width = int(self.cards.max()) if len(self.cards) else 1
        # edges sorted by variable, so a variable's incoming messages are one slice
        pairs = sorted((i, a, p) for a, scope in enumerate(scopes) for p, i in enumerate(scope))
        self.edge_var = np.array([i for i, _, _ in pairs], dtype=np.intp)
        self.degree = np.bincount(self.edge_var, minlength=len(self.free))
        edge_id = {(a, p): e for e, (_, a, p) in enumerate(pairs)}
        self.starts = np.searchsorted(self.edge_var, np.arange(len(self.free)))
        groups: dict[tuple[int, ...], list[int]] = {}
        for a, table in enumerate(tables):
            groups.setdefault(table.shape, []).append(a)
        self.groups = [
            _Group(shape, np.stack([tables[a] for a in members]),
                   np.array([[edge_id[(a, p)] for p in range(len(shape))] for a in members],
                            dtype=np.intp).reshape(len(members), len(shape)), members)
            for shape, members in groups.items()]
        self.scopes = scopes
        self.valid = np.arange(self.width)[None, :] < self.cards[self.edge_var][:, None]
        self.f2v = np.where(self.valid, -np.log(self.cards[self.edge_var])[:, None], NEG_INF)

    # ------------------------------------------------------------------------- messages
    @staticmethod
    def _split(f2v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Messages as their finite parts (−inf → 0) and their −inf indicators."""
        finite = np.isfinite(f2v)
        return np.where(finite, f2v, 0.0), (~finite).astype(np.int64)

    def _beliefs(self, finite: np.ndarray, zeros: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per variable: the sum of the finite parts of its incoming messages, and how many
        of them are −inf, state by state (padded states count as −inf)."""
        total = np.zeros((len(self.free), self.width))
        count = np.zeros((len(self.free), self.width), dtype=np.int64)
        has = self.degree > 0
        if len(finite):
            total[has] = np.add.reduceat(finite, self.starts[has], axis=0)
            count[has] = np.add.reduceat(zeros, self.starts[has], axis=0)
        count[np.arange(self.width)[None, :] >= self.cards[:, None]] = 1
        return total, count

    def _cavities(self, f2v: np.ndarray) -> np.ndarray:
        """Variable-to-factor messages: each variable's belief without that factor's message."""
        finite, zeros = self._split(f2v)
        total, count = self._beliefs(finite, zeros)
        cavity = total[self.edge_var] - finite
        cavity[(count[self.edge_var] - zeros) > 0] = NEG_INF
        cavity[~self.valid] = NEG_INF
        return _normalize(cavity, self.mode)

    def _factor_inputs(self, group: _Group, v2f: np.ndarray) -> list[np.ndarray]:
        """The incoming messages of a group, each broadcastable against its tables."""
        k = len(group.shape)
        out = []
        for p, card in enumerate(group.shape):
            shape = [len(group.factors)] + [1] * k
            shape[1 + p] = card
            out.append(v2f[group.edges[:, p], :card].reshape(shape))
        return out

    def _factor_messages(self, v2f: np.ndarray) -> np.ndarray:
        """Factor-to-variable messages: sum (or max) over the factor's other variables."""
        new = np.full_like(v2f, NEG_INF)
        for group in self.groups:
            k = len(group.shape)
            inputs = self._factor_inputs(group, v2f)
            for p, card in enumerate(group.shape):
                total = group.log_tables
                for j in range(k):
                    if j != p:
                        total = total + inputs[j]
                axes = tuple(1 + j for j in range(k) if j != p)
                if not axes:
                    out = total
                elif self.mode == "sum":
                    out = _logsumexp(total, axes)
                else:
                    out = total.max(axis=axes)
                new[group.edges[:, p], :card] = out.reshape(len(group.factors), card)
        return _normalize(new, self.mode)

    def _damp(self, new: np.ndarray, old: np.ndarray) -> np.ndarray:
        if self.damping == 0.0:
            return new
        mixed = np.logaddexp(math.log1p(-self.damping) + new, math.log(self.damping) + old)
        # BP's zeros are sound (a state with no support stays unsupported): damping must
        # not bring them back, or a contradiction would only ever fade
        return _normalize(np.where(new == NEG_INF, NEG_INF, mixed), self.mode)

    # ------------------------------------------------------------------------------ run
    def run(self) -> BPResult:
        """Iterate to convergence (or a limit); beliefs, Bethe log Z and the report."""
        t0 = time.perf_counter()
        f2v = self.f2v
        residual, iterations = 0.0, 0
        burn_in = self.max_iterations // 4
        running: np.ndarray | None = None  # Σ of the beliefs after burn-in (sum mode)
        averaged = 0
        for iterations in range(1, self.max_iterations + 1):
            update = self._factor_messages(self._cavities(f2v))
            # convergence is judged on the undamped update: damping shrinks each step, not
            # the distance to the fixed point
            change = np.max(np.abs(np.exp(update) - np.exp(f2v)), axis=-1, initial=0.0)
            new = self._damp(update, f2v)
            residual = float(np.max(change, initial=0.0))
            if self.schedule == "residual" and residual > POLISH * self.tolerance:
                f2v = self._residual_step(new, f2v, change)
            else:
                f2v = new
            if residual < self.tolerance:
                break
            if self.mode == "sum" and iterations > burn_in and len(f2v):
                beliefs = self._probabilities(f2v)
                running = beliefs if running is None else running + beliefs
                averaged += 1
            if self.time_limit is not None and time.perf_counter() - t0 > self.time_limit:
                break
        self.f2v = f2v
        converged = residual < self.tolerance
        if converged or running is None:
            averaged = 0
        report = BPReport(iterations if len(f2v) else 0, residual, converged,
                          time.perf_counter() - t0, self.damping, averaged, self.schedule)
        marginals, log_z, factor_beliefs = self._finish(f2v)
        if averaged:  # an oscillating run: the time average is the better estimate
            assert running is not None
            mean = running / averaged
            for i, v in enumerate(self.free):
                row = mean[i, :self.cards[i]]
                marginals[v] = row / row.sum()
        return BPResult(marginals, log_z, report, self.mode, factor_beliefs)

    def _residual_step(self, new: np.ndarray, old: np.ndarray, change: np.ndarray
                       ) -> np.ndarray:
        """Residual scheduling, vectorised: only the `fraction` of messages that would change
        most are updated (Elidan, McGraw & Koller 2006 update the single largest; committing
        the top block keeps every step a few array operations)."""
        count = max(1, math.ceil(self.fraction * len(change)))
        if count >= len(change):
            return new
        top = np.argpartition(change, len(change) - count)[len(change) - count:]
        out = old.copy()
        out[top] = new[top]
        return out

    def _log_beliefs(self, f2v: np.ndarray) -> np.ndarray:
        """Unnormalised log beliefs (free variables × width; padded, impossible states −inf)."""
        total, count = self._beliefs(*self._split(f2v))
        return np.where(count > 0, NEG_INF, total)

    def _probabilities(self, f2v: np.ndarray) -> np.ndarray:
        """Normalised beliefs (free variables × width; padded and impossible states 0)."""
        with np.errstate(invalid="ignore"):
            log_b = _normalize(self._log_beliefs(f2v), "sum")
        return np.nan_to_num(np.exp(log_b))

    def _finish(self, f2v: np.ndarray) -> tuple[dict[str, np.ndarray], float,
                                                 list[np.ndarray | None]]:
        if self.constant == NEG_INF:
            raise ZeroEvidenceError("loopy BP: a factor is zero at the evidence, so the "
                                    "evidence has probability zero")
        log_b = self._log_beliefs(f2v)
        possible = np.isfinite(log_b.max(axis=-1, initial=NEG_INF))
        if not np.all(possible):
            bad = self.free[int(np.argmin(possible))]
            raise ZeroEvidenceError(f"loopy BP: every state of {bad!r} has zero belief — the "
                                    "evidence or the model's zeros contradict each other")
        log_b = _normalize(log_b, self.mode)
        g = self.graph
        marginals: dict[str, np.ndarray] = {}
        position = {v: i for i, v in enumerate(self.free)}
        for v in g.variables:
            if v in self.evidence:
                one_hot = np.zeros(g.card(v))
                one_hot[self.evidence[v]] = 1.0
                marginals[v] = one_hot
            else:
                i = position[v]
                b = np.exp(log_b[i, :self.cards[i]])
                marginals[v] = b / b.sum() if self.mode == "sum" else b
        log_z, factor_beliefs = self._bethe(f2v, log_b)
        return marginals, log_z, factor_beliefs

    def _bethe(self, f2v: np.ndarray, log_b: np.ndarray
               ) -> tuple[float, list[np.ndarray | None]]:
        """log Z ≈ −F_Bethe = Σ_a E_{b_a}[log ψ_a − log b_a] + Σ_i (d_i − 1) Σ b_i log b_i,
        plus the constant factors and the variables in no factor (sum mode only)."""
        beliefs: list[np.ndarray | None] = [None] * len(self.scopes)
        log_z = self.constant
        isolated = self.degree == 0
        log_z += float(np.sum(np.log(self.cards[isolated]))) if isolated.any() else 0.0
        if self.mode != "sum":
            return float("nan"), beliefs
        v2f = self._cavities(f2v)
        for group in self.groups:
            total = group.log_tables
            for message in self._factor_inputs(group, v2f):
                total = total + message
            axes = tuple(range(1, 1 + len(group.shape)))
            with np.errstate(invalid="ignore"):  # an all-zero factor belief adds nothing
                log_ba = total - _logsumexp(total, axes).reshape((-1,) + (1,) * len(group.shape))
                b_a = np.exp(log_ba)
                energy = np.where(b_a > 0, b_a * (group.log_tables - log_ba), 0.0)
            log_z += float(energy.sum())
            for row, a in enumerate(group.factors):
                beliefs[a] = b_a[row]
        b_i = np.exp(log_b)
        with np.errstate(invalid="ignore"):
            entropy_terms = np.where(b_i > 0, b_i * log_b, 0.0).sum(axis=1)
        log_z += float(np.sum((self.degree - 1) * entropy_terms * (self.degree > 0)))
        return log_z, beliefs


def loopy_bp(model: Any, evidence: Mapping[str, Any] | None = None, **options: Any) -> BPResult:
    """Run loopy BP once (see `LoopyBP` for the options)."""
    return LoopyBP(model, evidence, **options).run()
