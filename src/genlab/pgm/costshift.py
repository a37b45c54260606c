"""MPLP cost shifting (Globerson & Jaakkola 2007): a reparameterisation of a MAP problem's
log tables that leaves every assignment's score unchanged but makes the tables' separate
maxima — the LP-relaxation (dual) upper bound on the optimum — as small as it can.

Each factor f in turn pulls its variables' unary beliefs in and hands them back evenly:
with λ_i = b_i − δ_fi the beliefs without f's share, f sends δ_fi = max_{x_f∖i}(θ_f + Σ_j λ_j)
/ |f| − λ_i — a block coordinate descent step on the dual, so the bound never rises. Factors
with no variable in common are independent, so the sweep runs colour class by colour class
(greedy colouring), each class grouped by table shape into a few array operations.

Zeros stay exact: a state no completion of some factor supports is dead (−inf) for good —
sound, as no assignment of positive probability uses it — and is masked, never subtracted.
Mini-bucket bounds computed on the shifted tables are much tighter (Ihler, Flerova, Dechter
& Otten 2012's cost shifting before mini-buckets): on Promedas_16 the root bound falls from
−21.1 to −39.9 nats against an optimum of −45.4.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

__all__ = ["ShiftReport", "cost_shift", "dual_bound"]

Table = tuple[tuple[int, ...], np.ndarray]  # (variable positions, log table)


@dataclass(frozen=True)
class ShiftReport:
    """How far cost shifting went: the dual bound before and after, sweeps, seconds."""

    sweeps: int
    bound_before: float
    bound: float
    seconds: float

    def describe(self) -> str:
        return (f"MPLP cost shifting: {self.sweeps} sweeps, {self.seconds:.2f} s, LP bound "
                f"{self.bound_before:.6g} → {self.bound:.6g}")


def dual_bound(tables: list[Table]) -> float:
    """Σ over tables of each table's maximum: an upper bound on the best total score."""
    return float(sum(float(np.max(t)) if t.size else 0.0 for _, t in tables))


@dataclass
class _Batch:
    """Factors of one shape and colour (no shared variables), stacked."""

    tables: np.ndarray  # (G, *shape)
    variables: np.ndarray  # (G, k)
    edges: np.ndarray  # (G, k)
    shape: tuple[int, ...]


class _Shifter:
    def __init__(self, tables: list[Table], cards: np.ndarray) -> None:
        n, width = len(cards), int(max(cards.max(initial=1), 1))
        self.cards, self.width = cards, width
        self.theta = np.zeros((n, width))  # unary parts, finite (dead states are masked)
        self.dead = np.arange(width)[None, :] >= cards[:, None]  # padding is never a state
        self.factors: list[Table] = []
        with np.errstate(invalid="ignore"):
            for scope, table in tables:
                if len(scope) == 1:
                    v = scope[0]
                    self.dead[v, :table.shape[0]] |= table == -np.inf
                    self.theta[v, :table.shape[0]] += np.where(table == -np.inf, 0.0, table)
                elif len(scope) > 1:
                    self.factors.append((scope, table))
        self.edge_var = np.array([v for scope, _ in self.factors for v in scope], dtype=np.intp)
        self.delta = np.zeros((len(self.edge_var), width))  # finite; dead entries unused
        self.belief = self.theta.copy()  # θ_i + Σ_f δ_fi (finite part)
        self.batches = self._batches()

    def _batches(self) -> list[_Batch]:
        colour_of: list[int] = []
        used: dict[int, set[int]] = {}
        for scope, _ in self.factors:
            taken = set().union(*(used.get(v, set()) for v in scope))
            colour = next(c for c in range(len(taken) + 1) if c not in taken)
            colour_of.append(colour)
            for v in scope:
                used.setdefault(v, set()).add(colour)
        groups: dict[tuple[int, tuple[int, ...]], list[int]] = {}
        for f, (_, table) in enumerate(self.factors):
            groups.setdefault((colour_of[f], table.shape), []).append(f)
        starts = np.cumsum([0] + [len(s) for s, _ in self.factors])
        batches = []
        for (_, shape), members in sorted(groups.items()):
            k = len(shape)
            batches.append(_Batch(
                np.stack([self.factors[f][1] for f in members]),
                np.array([self.factors[f][0] for f in members], dtype=np.intp).reshape(-1, k),
                np.array([np.arange(starts[f], starts[f] + k) for f in members],
                         dtype=np.intp).reshape(-1, k), shape))
        return batches

    def _cavity(self, batch: _Batch, k: int) -> np.ndarray:
        card = batch.shape[k]
        v, e = batch.variables[:, k], batch.edges[:, k]
        lam = self.belief[v, :card] - self.delta[e, :card]
        return np.where(self.dead[v, :card], -np.inf, lam)

    @staticmethod
    def _broadcast(values: np.ndarray, k: int, ndim: int) -> np.ndarray:
        shape = [values.shape[0]] + [1] * ndim
        shape[1 + k] = values.shape[1]
        return values.reshape(shape)

    def sweep(self) -> None:
        for batch in self.batches:
            k_all = len(batch.shape)
            lams = [self._cavity(batch, k) for k in range(k_all)]
            total = batch.tables
            for k, lam in enumerate(lams):
                total = total + self._broadcast(lam, k, k_all)
            for k, lam in enumerate(lams):
                card = batch.shape[k]
                axes = tuple(1 + j for j in range(k_all) if j != k)
                peak = total.max(axis=axes) / k_all
                v, e = batch.variables[:, k], batch.edges[:, k]
                gone = peak == -np.inf
                self.dead[v, :card] |= gone
                finite_lam = np.where(gone, 0.0, lam)
                self.delta[e, :card] = np.where(gone, 0.0, peak - finite_lam)
                self.belief[v, :card] = np.where(gone, 0.0, peak)

    def shifted(self) -> list[Table]:
        """The reparameterised tables: one unary per variable, then the shifted factors with
        dead states masked; the unary parts are recomputed as θ_i + Σ δ_fi, so the total
        score of every live assignment equals the original up to rounding."""
        unary = self.theta.copy()
        np.add.at(unary, self.edge_var, self.delta)
        out: list[Table] = [((v,), np.where(self.dead[v, :c], -np.inf, unary[v, :c]))
                            for v, c in enumerate(self.cards) if c > 0]
        e = 0
        for scope, table in self.factors:
            shifted = table.copy()
            for k, v in enumerate(scope):
                card = table.shape[k]
                shift = np.where(self.dead[v, :card], np.inf, self.delta[e + k, :card])
                shifted = shifted - self._broadcast(shift[None, :], k, len(scope))[0]
            out.append((scope, shifted))
            e += len(scope)
        return out


def cost_shift(tables: list[Table], cards: np.ndarray, *, time_limit: float | None = 5.0,
               max_sweeps: int = 100_000, tolerance: float = 1e-6, check_every: int = 10
               ) -> tuple[list[Table], ShiftReport]:
    """`tables` reparameterised by MPLP sweeps (until `time_limit` seconds, `max_sweeps`, or
    the bound improves by less than `tolerance` (relative) over `check_every` sweeps), and the
    report. Every assignment's total score is unchanged (−inf stays −inf)."""
    t0 = time.perf_counter()
    shifter = _Shifter(tables, np.asarray(cards, dtype=np.intp))
    before = dual_bound(tables)
    bound, sweeps = before, 0
    checked: list[Table] | None = None  # the shifted tables, when the last sweep was checked
    if shifter.factors:
        while sweeps < max_sweeps:
            shifter.sweep()
            sweeps += 1
            checked = None
            if sweeps % check_every == 0 or sweeps == max_sweeps:
                checked = shifter.shifted()
                now = dual_bound(checked)
                settled = bound - now <= tolerance * max(1.0, abs(now))
                bound = now
                if settled or now == -math.inf:
                    break
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                break
    out = checked if checked is not None else shifter.shifted()
    final = min(dual_bound(out), before)
    return out, ShiftReport(sweeps, before, final, time.perf_counter() - t0)
