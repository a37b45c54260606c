"""MAP (MPE) by depth-first branch and bound with a mini-bucket heuristic — exact when the
search finishes, anytime when it does not.

Mini-bucket elimination (Dechter & Rish 2003) runs once along a min-fill elimination order:
each bucket's functions are split into mini-buckets of at most `ibound + 1` variables and
maximised separately, which over-estimates the best completion — an admissible heuristic. The
search assigns variables in the reverse order; every node's bound is the exact score of the
assigned functions plus the mini-bucket messages that still stand in for the rest (Kask &
Dechter 2001), updated incrementally per level. Nodes whose bound cannot beat the incumbent
are pruned; when the stack empties the incumbent is proven optimal. Stopped early, the answer
carries the best bound among the open nodes, so the gap is known.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.errors import ZeroEvidenceError
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.plan import elimination_order

__all__ = ["SearchReport", "branch_and_bound", "mini_bucket_ibound"]

Table = tuple[tuple[int, ...], np.ndarray]  # (variable positions in search order, log table)


@dataclass(frozen=True)
class SearchReport:
    """How the search ended: `proven` when it exhausted the space (the answer is optimal),
    else the upper `bound` on the optimum and the gap to the answer."""

    proven: bool
    nodes: int
    seconds: float
    ibound: int
    heuristic_entries: int
    root_bound: float
    bound: float
    best: float
    stopped: str

    @property
    def gap(self) -> float:
        return 0.0 if self.proven else self.bound - self.best

    def describe(self) -> str:
        state = "proven optimal" if self.proven else \
            f"stopped by the {self.stopped} (gap {self.gap:.4g} in log score)"
        return (f"branch and bound with a mini-bucket heuristic (i-bound {self.ibound}): "
                f"{state}; {self.nodes} nodes, {self.seconds:.2f} s; root bound "
                f"{self.root_bound:.6g}")


def _combine(items: list[Table], cards: np.ndarray) -> Table:
    """The sum of log tables over the union of their scopes (all kept in search order)."""
    union = tuple(sorted({v for scope, _ in items for v in scope}))
    total = np.zeros([int(cards[v]) for v in union])
    for scope, table in items:
        shape = [int(cards[v]) if v in scope else 1 for v in union]
        total = total + table.reshape(shape)
    return union, total


def _partition(bucket: list[Table], ibound: int) -> list[list[Table]]:
    """Greedy first-fit split of a bucket into mini-buckets of at most ibound + 1 variables
    (largest scopes first)."""
    minis: list[tuple[set[int], list[Table]]] = []
    for item in sorted(bucket, key=lambda t: -len(t[0])):
        for scope, members in minis:
            if len(scope | set(item[0])) <= ibound + 1:
                scope.update(item[0])
                members.append(item)
                break
        else:
            minis.append((set(item[0]), [item]))
    return [members for _, members in minis]


def _mini_bucket_sizes(scopes: list[tuple[int, ...]], cards: np.ndarray, ibound: int
                       ) -> tuple[int, int]:
    """(total, largest) entries of the tables mini-bucket elimination would build."""
    buckets: list[list[tuple[int, ...]]] = [[] for _ in cards]
    for s in scopes:
        buckets[s[-1]].append(s)
    total = largest = 0
    for p in range(len(cards) - 1, -1, -1):
        fake = [(s, np.empty(0)) for s in buckets[p]]
        for members in _partition(fake, ibound):
            union = tuple(sorted({v for s, _ in members for v in s}))
            size = math.prod(int(cards[v]) for v in union)
            total += size
            largest = max(largest, size)
            if len(union) > 1:
                buckets[union[-2]].append(union[:-1])
    return total, largest


def mini_bucket_ibound(scopes: list[tuple[int, ...]], cards: np.ndarray,
                       max_entries: int = 1 << 24, max_ibound: int = 40) -> int:
    """The largest i-bound whose mini-bucket tables fit in `max_entries` in total."""
    low, high = 1, max(1, min(max_ibound, len(cards)))
    while low < high:  # the table total grows with the i-bound: bisect
        mid = (low + high + 1) // 2
        if _mini_bucket_sizes(scopes, cards, mid)[0] <= max_entries:
            low = mid
        else:
            high = mid - 1
    return low


@dataclass
class _Problem:
    """The evidence-reduced problem over the searched variables (positions in search order)."""

    variables: list[str]  # by search position
    cards: np.ndarray
    tables: list[Table]
    constant: float
    idle: list[str]  # free variables in no factor (any state is optimal)


def _reduce(graph: FactorGraph, evidence: Mapping[str, int]) -> _Problem:
    constant = 0.0
    scoped: list[tuple[tuple[str, ...], np.ndarray]] = []
    with np.errstate(divide="ignore"):
        for f in graph.factors:
            reduced = f.reduce({v: s for v, s in evidence.items() if v in f.variables})
            log_table = np.log(reduced.table.astype(np.float64))
            if reduced.variables:
                scoped.append((reduced.variables, log_table))
            else:
                constant += float(log_table)
    present = list(dict.fromkeys(v for names, _ in scoped for v in names))
    ids = {v: i for i, v in enumerate(present)}
    sizes = [graph.card(v) for v in present]
    order = elimination_order([tuple(ids[v] for v in names) for names, _ in scoped], sizes,
                              (), "min-fill")
    search = [present[i] for i in reversed(order)]
    position = {v: p for p, v in enumerate(search)}
    cards = np.array([graph.card(v) for v in search], dtype=np.intp)
    tables: list[Table] = []
    for names, table in scoped:
        axes = sorted(range(len(names)), key=lambda a: position[names[a]])
        tables.append((tuple(position[names[a]] for a in axes), np.transpose(table, axes)))
    idle = [v for v in graph.variables if v not in evidence and v not in position]
    return _Problem(search, cards, tables, constant, idle)


def branch_and_bound(graph: FactorGraph, evidence: Mapping[str, Any] | None = None, *,
                     time_limit: float | None = 60.0, node_limit: int | None = None,
                     ibound: int | None = None, max_entries: int = 1 << 24,
                     incumbent: Mapping[str, int] | None = None) -> Any:
    """The MAP of `graph` given `evidence` by branch and bound (a `MapResult`; `exact` when
    proven optimal, else `bound` is an upper bound on the optimal log score). `incumbent` is
    a starting assignment (e.g. from loopy BP and local search); the i-bound is the largest
    whose heuristic tables fit in `max_entries` unless given."""
    from genlab.pgm.inference import MapResult

    t0 = time.perf_counter()
    clamp = graph.encode_evidence(evidence)
    problem = _reduce(graph, clamp)
    if problem.constant == -math.inf:
        raise ZeroEvidenceError("branch and bound: a factor is zero at the evidence")
    cards, n = problem.cards, len(problem.cards)
    scopes = [s for s, _ in problem.tables]
    ibound = mini_bucket_ibound(scopes, cards, max_entries) if ibound is None else int(ibound)
    # mini-bucket elimination: per level, what to add (tables ending at that variable) and
    # what to subtract (the messages its bucket produced, which stood in for them)
    buckets: list[list[Table]] = [[] for _ in range(n)]
    for table in problem.tables:
        buckets[table[0][-1]].append(table)
    adds: list[list[Table]] = [[] for _ in range(n)]
    subtracts: list[list[Table]] = [[] for _ in range(n)]
    root = problem.constant
    entries = 0
    for p in range(n - 1, -1, -1):
        adds[p] = list(buckets[p])
        combined = [_combine(members, cards) for members in _partition(buckets[p], ibound)]
        for union, total in _moment_match(combined):
            entries += total.size
            message = total.max(axis=-1)
            if len(union) > 1:
                buckets[union[-2]].append((union[:-1], message))
                subtracts[p].append((union[:-1], message))
            else:
                root += float(message)
                subtracts[p].append(((), np.asarray(message)))
    lookups = [[(table, scope[:-1]) for scope, table in adds[p]] for p in range(n)]
    minus = [[(table, scope) for scope, table in subtracts[p]] for p in range(n)]

    x = np.zeros(n, dtype=np.intp)
    best, best_x = -math.inf, None
    if incumbent is not None:
        start = np.array([int(incumbent[v]) for v in problem.variables], dtype=np.intp)
        best = _score(problem, start)
        best_x = start if best > -math.inf else None

    def expand(p: int, f_parent: float) -> list[tuple[float, int]]:
        delta = np.zeros(int(cards[p]))
        for table, others in lookups[p]:
            delta = delta + table[tuple(x[o] for o in others)]
        for table, scope in minus[p]:
            delta = delta - float(table[tuple(x[o] for o in scope)])
        bounds = f_parent + delta
        keep = np.flatnonzero(bounds > best + _slack(best))
        keep = keep[np.argsort(bounds[keep], kind="stable")]  # best last: popped first
        return [(float(bounds[k]), int(k)) for k in keep]

    nodes, stopped = 0, ""
    frames = [expand(0, root)] if n else []
    deadline = None if time_limit is None else t0 + time_limit
    while frames:
        candidates = frames[-1]
        if not candidates or candidates[-1][0] <= best + _slack(best):
            frames.pop()
            continue
        bound, value = candidates.pop()
        p = len(frames) - 1
        x[p] = value
        nodes += 1
        if p == n - 1:
            best, best_x = bound, x.copy()
            continue
        frames.append(expand(p + 1, bound))
        if nodes % 256 == 0:
            if deadline is not None and time.perf_counter() > deadline:
                stopped = "time limit"
                break
            if node_limit is not None and nodes >= node_limit:
                stopped = "node limit"
                break
    proven = not stopped
    open_bound = max((c[-1][0] for c in frames if c), default=-math.inf)
    upper = best if proven else max(best, open_bound)
    if best_x is None:
        if proven:
            raise ZeroEvidenceError("branch and bound: no assignment has positive "
                                    "probability given the evidence")
        best_x = x.copy()  # nothing found in time: the last partial path, completed by 0s
    assignment = dict(clamp)
    assignment.update({v: int(s) for v, s in zip(problem.variables, best_x, strict=True)})
    assignment.update(dict.fromkeys(problem.idle, 0))
    ordered = {v: assignment[v] for v in graph.variables}
    score = graph.log_score(ordered)
    report = SearchReport(proven, nodes, time.perf_counter() - t0, ibound, entries, root,
                          upper, score, stopped or "exhausted")
    return MapResult(ordered, score, graph.states, exact=proven, method="search",
                     bound=upper, report=report)


def _moment_match(minis: list[Table]) -> list[Table]:
    """Shift the mini-buckets of one bucket so their max-marginals over the bucket variable
    (the last axis) agree — their sum is unchanged, so the bound stays valid, and tighter
    (Flerova, Ihler, Dechter & Otten 2011)."""
    if len(minis) < 2:
        return minis
    peaks = []
    for _, table in minis:
        flat = table.reshape(-1, table.shape[-1])
        peaks.append(flat.max(axis=0))
    stacked = np.stack(peaks)
    dead = ~np.all(np.isfinite(stacked), axis=0)  # some mini-bucket is −inf there: all are
    with np.errstate(invalid="ignore"):
        target = stacked.mean(axis=0)
    out = []
    for (scope, table), peak in zip(minis, peaks, strict=True):
        shift = np.where(dead, -np.inf, target - np.where(dead, 0.0, peak))
        out.append((scope, table + shift))
    return out


def _slack(best: float) -> float:
    """Bounds within rounding of the incumbent cannot improve it."""
    return 1e-9 * max(1.0, abs(best)) if math.isfinite(best) else 0.0


def _score(problem: _Problem, x: np.ndarray) -> float:
    total = problem.constant
    for scope, table in problem.tables:
        total += float(table[tuple(x[v] for v in scope)])
    return total
