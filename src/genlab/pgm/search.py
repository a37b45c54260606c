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
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.costshift import ShiftReport, Table, cost_shift
from genlab.pgm.errors import ZeroEvidenceError
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.plan import elimination_order

__all__ = ["SearchReport", "branch_and_bound", "mini_bucket_ibound"]

SHIFT_SECONDS = 5.0  # cost shifting's time when the search itself has no time limit


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
    shift: ShiftReport | None = None
    ilp: Any = None  # the integer program's IlpReport when one ran before the search

    @property
    def gap(self) -> float:
        return 0.0 if self.proven else self.bound - self.best

    def describe(self) -> str:
        state = "proven optimal" if self.proven else \
            f"stopped by the {self.stopped} (gap {self.gap:.4g} in log score)"
        shift = f" after {self.shift.sweeps} MPLP sweeps" if self.shift else ""
        before = f"; before it, {self.ilp.describe()}" if self.ilp is not None else ""
        return (f"branch and bound with a mini-bucket heuristic (i-bound {self.ibound}"
                f"{shift}): {state}; {self.nodes} nodes, {self.seconds:.2f} s; root bound "
                f"{self.root_bound:.6g}{before}")


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
    kept, constant = graph.log_factors(evidence)
    scoped = [(names, table) for _, names, table in kept]
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


class _Stop(Exception):
    """The time or node limit ran out inside the search."""


@dataclass
class _Heuristic:
    """Mini-bucket elimination along the search order, laid out for AND/OR search: the
    pseudo tree (bucket tree), each node's own functions, and each subtree's heuristic — the
    mini-bucket messages that leave it (their scopes are all ancestors)."""

    parent: list[int]
    context: list[tuple[int, ...]]  # the ancestors a subtree's functions touch: its cache key
    children: list[list[int]]
    own: list[list[Table]]
    leaving: list[list[Table]]
    subtree: list[np.ndarray]
    root_bound: float
    entries: int


def _heuristic(problem: _Problem, ibound: int) -> _Heuristic:
    cards, n = problem.cards, len(problem.cards)
    buckets: list[list[Table]] = [[] for _ in range(n)]
    induced: list[set[int]] = [set() for _ in range(n)]
    own: list[list[Table]] = [[] for _ in range(n)]
    for table in problem.tables:
        buckets[table[0][-1]].append(table)
        own[table[0][-1]].append(table)
        induced[table[0][-1]].update(table[0])
    parent = [-1] * n
    context: list[tuple[int, ...]] = [()] * n
    produced: list[list[tuple[Table, int]]] = [[] for _ in range(n)]  # message, its target
    root, entries = problem.constant, 0
    for p in range(n - 1, -1, -1):
        rest = induced[p] - {p}
        context[p] = tuple(sorted(rest))
        if rest:  # the exact bucket's message goes to its deepest variable: the tree parent
            parent[p] = max(rest)
            induced[parent[p]].update(rest)
        combined = [_combine(members, cards) for members in _partition(buckets[p], ibound)]
        for union, total in _moment_match(combined):
            entries += total.size
            message = total.max(axis=-1)
            if len(union) > 1:
                buckets[union[-2]].append((union[:-1], message))
                produced[p].append(((union[:-1], message), union[-2]))
            else:
                root += float(message)
                produced[p].append((((), np.asarray(message)), -1))
    children: list[list[int]] = [[] for _ in range(n)]
    for p in range(n):
        if parent[p] >= 0:
            children[parent[p]].append(p)
    depth = [0] * n
    for p in range(n):  # parents come first in search order
        depth[p] = depth[parent[p]] + 1 if parent[p] >= 0 else 0
    leaving: list[list[Table]] = [[] for _ in range(n)]
    for q in range(n):  # a message leaves every subtree from q up to below its target
        for message, target in produced[q]:
            c = q
            while c >= 0 and c != target:
                leaving[c].append(message)
                c = parent[c]
    members: list[list[int]] = [[p] for p in range(n)]
    for p in range(n - 1, -1, -1):
        if parent[p] >= 0:
            members[parent[p]].extend(members[p])
    subtree = [np.array(sorted(m), dtype=np.intp) for m in members]
    return _Heuristic(parent, context, children, own, leaving, subtree, root, entries)


def branch_and_bound(graph: FactorGraph, evidence: Mapping[str, Any] | None = None, *,
                     time_limit: float | None = 60.0, node_limit: int | None = None,
                     ibound: int | None = None, max_entries: int = 1 << 24,
                     incumbent: Mapping[str, int] | None = None,
                     cache_entries: int = 1 << 21, shift_time: float | None = None) -> Any:
    """The MAP of `graph` given `evidence` by AND/OR branch and bound (a `MapResult`; `exact`
    when proven optimal, else `bound` is an upper bound on the optimal log score).

    The search follows the pseudo tree of a min-fill elimination order, so independent
    parts of the model are solved separately and a solved subproblem is remembered by its
    context (up to `cache_entries`); `incumbent` (e.g. loopy BP + local search)
    prunes from the start; the i-bound is the largest whose heuristic tables fit in
    `max_entries` unless given. The tables are first cost-shifted by MPLP for `shift_time`
    seconds (default: a fifth of the time limit; 0 turns it off), which tightens the
    heuristic many times over on models like Promedas."""
    from genlab.pgm.inference import MapResult

    t0 = time.perf_counter()
    clamp = graph.encode_evidence(evidence)
    problem = _reduce(graph, clamp)
    if problem.constant == -math.inf:
        raise ZeroEvidenceError("branch and bound: a factor is zero at the evidence")
    n = len(problem.cards)
    if shift_time is None:
        shift_time = 0.2 * time_limit if time_limit is not None else SHIFT_SECONDS
    shift = None
    if shift_time > 0:
        shifted, shift = cost_shift(problem.tables, problem.cards, time_limit=shift_time)
        problem = _Problem(problem.variables, problem.cards, shifted, problem.constant,
                           problem.idle)
    ibound = mini_bucket_ibound([s for s, _ in problem.tables], problem.cards, max_entries) \
        if ibound is None else int(ibound)
    h = _heuristic(problem, ibound)
    deadline = None if time_limit is None else t0 + time_limit
    x = np.zeros(n, dtype=np.intp)  # the current path
    solution = np.zeros(n, dtype=np.intp)  # each solved subtree's best, written on success
    nodes = 0
    # AND/OR graph search: a subtree's value depends on its context only, so what a search
    # learns is kept — the exact value (and best assignment) when it beat its threshold, else
    # that it cannot beat the threshold it had (an upper bound)
    cache: list[dict[tuple[int, ...], tuple[float, np.ndarray | None]]] = [{} for _ in range(n)]
    cache_room = [cache_entries]

    def values(tables: list[Table], p: int) -> np.ndarray | float:
        """Σ of tables at the current path, as a vector over x_p where p is in scope."""
        total: np.ndarray | float = 0.0
        for scope, table in tables:
            total = total + table[tuple(slice(None) if q == p else x[q] for q in scope)]
        return total

    def solve(p: int, need: float) -> float:
        """The best value of subtree p given the path above, if it exceeds `need` (its best
        assignment is then in `solution`); else some value ≤ need."""
        nonlocal nodes
        key = tuple(x[c] for c in h.context[p])
        known = cache[p].get(key)
        if known is not None:
            value, kept = known
            if kept is None:  # an upper bound: useful when it is below this threshold
                if value <= need + _slack(need):
                    return -math.inf
            elif value > need + _slack(need):
                solution[h.subtree[p]] = kept
                return value
            else:
                return -math.inf
        nodes += 1
        if nodes % 512 == 0 and ((deadline is not None and time.perf_counter() > deadline)
                                 or (node_limit is not None and nodes >= node_limit)):
            raise _Stop
        card = int(problem.cards[p])
        local = np.broadcast_to(values(h.own[p], p), (card,))
        kids = h.children[p]
        child_h = [np.broadcast_to(values(h.leaving[c], p), (card,)) for c in kids]
        upper = local + (np.sum(child_h, axis=0) if kids else 0.0)
        best, found, saved = need, False, None
        for v in np.argsort(-upper, kind="stable"):
            if upper[v] <= best + _slack(best):
                break
            x[p] = v
            total, remaining = float(local[v]), float(upper[v] - local[v])
            for c, hc in zip(kids, child_h, strict=True):
                remaining -= float(hc[v])
                child_need = best - total - remaining
                value = solve(c, child_need)
                if value <= child_need + _slack(child_need):
                    break
                total += value
            else:
                if total > best + _slack(best):
                    best, found = total, True
                    solution[p] = v
                    saved = solution[h.subtree[p]].copy()
        room = cache_room[0] > 0
        if not found:
            if room:
                cache[p][key] = (need + _slack(need), None)
                cache_room[0] -= 1
            return -math.inf
        assert saved is not None
        solution[h.subtree[p]] = saved
        if room:
            cache[p][key] = (best, saved)
            cache_room[0] -= 1 + len(saved) // 8
        return best

    start = None
    if incumbent is not None:
        start = np.array([int(incumbent[v]) for v in problem.variables], dtype=np.intp)
    target = _score(problem, start) - problem.constant if start is not None else -math.inf
    roots = [p for p in range(n) if h.parent[p] < 0]
    root_h = [float(values(h.leaving[r], -1)) for r in roots]
    if h.root_bound == -math.inf:  # the bound is admissible: nothing has positive probability
        raise ZeroEvidenceError("branch and bound: no assignment has positive probability "
                                "given the evidence (the mini-bucket bound is zero)")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * n + 1000))
    stopped = ""
    try:  # the roots are independent: each must beat what the others leave to the target
        total, remaining, improved = 0.0, sum(root_h), True
        for r, hr in zip(roots, root_h, strict=True):
            remaining -= hr
            need = target - total - remaining
            value = solve(r, need)
            if value <= need + _slack(need):
                improved = False
                break
            total += value
    except _Stop:
        stopped, improved = "time limit" if node_limit is None or nodes < node_limit \
            else "node limit", False
    finally:
        sys.setrecursionlimit(limit)
    proven = not stopped
    if improved and roots:
        found_x = solution
    elif start is not None:
        found_x = start
    elif not roots:
        found_x = solution
    elif proven:
        raise ZeroEvidenceError("branch and bound: no assignment has positive probability "
                                "given the evidence")
    else:
        found_x = x  # nothing complete in time: the last path
    assignment = dict(clamp)
    assignment.update({v: int(s) for v, s in zip(problem.variables, found_x, strict=True)})
    assignment.update(dict.fromkeys(problem.idle, 0))
    ordered = {v: assignment[v] for v in graph.variables}
    score = graph.log_score(ordered)
    root_bound = h.root_bound if shift is None else \
        min(h.root_bound, shift.bound + problem.constant)
    upper = score if proven else max(score, root_bound)
    report = SearchReport(proven, nodes, time.perf_counter() - t0, ibound, h.entries,
                          root_bound, upper, score, stopped or "exhausted", shift)
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
