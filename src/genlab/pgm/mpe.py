"""MAP (MPE) when the max-product contraction does not fit: max-product loopy BP decoded by
per-variable argmax, then improved by local search (iterated conditional modes), tabu search
and large-neighbourhood search — real assignments with their true log score, `exact=False`.

`searched_map` is the portfolio `method="search"` runs: the integer program (`ilp`), which
proves most real models outright, then these heuristics and the mini-bucket branch and bound
(`search`) from the best assignment they find, with the tighter of the two bounds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from genlab.pgm.errors import ContractionTooLarge, ZeroEvidenceError
from genlab.pgm.ilp import NoAssignment, ProgramTooLarge, ilp_map, meets
from genlab.pgm.loopy import BPBacked, BPReport, LoopyBP
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.sampling import conditional_logits, conditional_tables

ILP_UNTIL = 0.6  # of the time limit: the integer program (Grids_28 and ProteinFolding_11
# take 17–20 s to prove); of the time it leaves: BP + local search for 15%, tabu search until
# 35% (it stops sooner when it stalls), large-neighbourhood search until 80%, branch and bound
BP_SHARE, TABU_UNTIL, LNS_UNTIL = 0.15, 0.35, 0.8
NEIGHBOURHOOD_MEMORY = 1 << 28  # bytes one neighbourhood's exact MAP may use (steps stay quick)
HARD = 1e9  # tabu search's penalty per zero factor: it leaves impossible states first

__all__ = ["ApproximateMapReport", "approximate_map", "local_search", "neighbourhood_search",
           "searched_map", "tabu_search"]


@dataclass(frozen=True)
class ApproximateMapReport(BPBacked):
    """How an approximate MAP answer was found: the max-product BP run, then local search."""

    bp: BPReport
    decoded_log_score: float
    moves: int
    sweeps: int
    seconds: float

    def describe(self) -> str:
        return (f"max-product {self.bp.describe()}; decoded log score "
                f"{self.decoded_log_score:.6g}, then {self.moves} local-search moves in "
                f"{self.sweeps} sweeps; {self.seconds:.2f} s in all")


def local_search(tables: list[list[tuple[np.ndarray, list[int]]]], state: np.ndarray,
                 free: list[int], deadline: float | None = None, max_sweeps: int = 100
                 ) -> tuple[np.ndarray, int, int]:
    """Iterated conditional modes: move each free variable to the state that maximises the
    model given all the others (the conditional Gibbs sampling draws from), sweep after
    sweep, until a sweep changes nothing. Moves only on a strict improvement, so the log
    score never decreases. (state, moves, sweeps)."""
    rows = state.copy()[None, :]
    moves = sweeps = 0
    for sweeps in range(1, max_sweeps + 1):  # noqa: B007 (reported)
        changed = 0
        for i in free:
            if not tables[i]:
                continue  # in no factor
            logits = conditional_logits(tables[i], rows, tables[i][0][0].shape[-1])[0]
            best = int(np.argmax(logits))
            if logits[best] > logits[rows[0, i]]:
                rows[0, i] = best
                changed += 1
        moves += changed
        if not changed or (deadline is not None and time.perf_counter() > deadline):
            break
    return rows[0], moves, sweeps


PORTFOLIO = (0.0, 0.5)  # undamped BP converges fastest when it converges; damped when not


def approximate_map(graph: FactorGraph, evidence: Mapping[str, Any] | None = None, *,
                    time_limit: float | None = None, damping: float | None = None,
                    max_iterations: int = 1000, tolerance: float = 1e-8) -> Any:
    """The approximate MAP of `graph` given `evidence` (a `MapResult` with exact=False):
    max-product BP decoded and improved by local search — with `damping` None, once undamped
    and once damped (half the time each), keeping the better answer."""
    dampings = PORTFOLIO if damping is None else (float(damping),)
    share = None if time_limit is None else time_limit / len(dampings)
    runs = [_decode(graph, evidence, d, share, max_iterations, tolerance) for d in dampings]
    return max(runs, key=lambda r: r.log_probability)


def _decode(graph: FactorGraph, evidence: Mapping[str, Any] | None, damping: float,
            time_limit: float | None, max_iterations: int, tolerance: float) -> Any:
    from genlab.pgm.inference import MapResult

    t0 = time.perf_counter()
    bp = LoopyBP(graph, evidence, mode="max", damping=damping, tolerance=tolerance,
                 max_iterations=max_iterations,
                 time_limit=None if time_limit is None else 0.7 * time_limit)
    result = bp.run()
    clamp = bp.evidence
    index = {v: i for i, v in enumerate(graph.variables)}
    state = np.array([clamp[v] if v in clamp else int(np.argmax(result.marginals[v]))
                      for v in graph.variables], dtype=np.intp)
    decoded = graph.log_score(dict(zip(graph.variables, state.tolist(), strict=True)))
    free = [index[v] for v in graph.variables if v not in clamp]
    deadline = None if time_limit is None else t0 + time_limit
    state, moves, sweeps = local_search(conditional_tables(graph, index), state, free, deadline)
    assignment = dict(zip(graph.variables, map(int, state), strict=True))
    report = ApproximateMapReport(result.report, decoded, moves, sweeps,
                                  time.perf_counter() - t0)
    return MapResult(assignment, graph.log_score(assignment), graph.states, exact=False,
                     method="approximate", report=report)


def neighbourhood_search(graph: FactorGraph, assignment: Mapping[str, int],
                         free: list[str], deadline: float, seed: int = 0, size: int = 10,
                         max_size: int = 40) -> tuple[dict[str, int], int, int]:
    """Large-neighbourhood search: again and again, free a connected set of `size`
    variables, keep the rest at the incumbent, and replace the set by its exact MAP given the
    rest (the contraction engine on the small conditioned model). The score never decreases;
    the neighbourhood grows when a round of tries finds nothing. (assignment, steps, moves)."""
    from genlab.pgm.factor import Factor
    from genlab.pgm.inference import ExactInference

    rng = np.random.default_rng(seed)
    current = dict(assignment)
    free_set = set(free)
    touching: dict[str, list[Factor]] = {v: [] for v in free}
    neighbours: dict[str, set[str]] = {v: set() for v in free}
    for f in graph.factors:
        scope = [v for v in f.variables if v in free_set]
        for v in scope:
            touching[v].append(f)
            neighbours[v].update(scope)
    candidates = [v for v in free if neighbours[v] - {v}]
    if not candidates:
        return current, 0, 0

    def broken() -> list[str]:
        """Variables of the factors the assignment violates (zero), where repair starts."""
        return [v for f in graph.factors if f.value(current) == 0 for v in f.variables
                if v in free_set and neighbours[v] - {v}]

    steps = moves = failures = 0
    repair = broken()
    while time.perf_counter() < deadline:
        pool = repair or candidates
        hood: list[str] = [pool[int(rng.integers(len(pool)))]]
        seen = set(hood)
        frontier = list(hood)
        while frontier and len(hood) < size:  # breadth-first, neighbours in random order
            v = frontier.pop(0)
            around = [u for u in neighbours[v] if u not in seen]
            for k in rng.permutation(len(around)):
                if len(hood) >= size:
                    break
                seen.add(around[k])
                hood.append(around[k])
                frontier.append(around[k])
        factors = {id(f): f for v in hood for f in touching[v]}.values()
        local = [f.reduce({u: current[u] for u in f.variables if u not in seen})
                 for f in factors]
        sub = FactorGraph([f for f in local if f.variables],
                          cards={v: graph.card(v) for v in hood})
        before = sub.log_score({v: current[v] for v in hood})
        steps += 1
        try:
            best = ExactInference(sub, max_memory=NEIGHBOURHOOD_MEMORY).map_assignment()
        except ZeroEvidenceError:  # nothing fits the rest here
            best = None
        except ContractionTooLarge:  # big domains (wcsp_15): stop growing past this size
            best, max_size = None, max(2, len(hood) - 1)
            size = min(size, max_size)
        # a strict improvement; from an impossible start (−inf) any possible one counts
        needed = before + 1e-9 * max(1.0, abs(before)) if math.isfinite(before) else before
        if best is not None and best.log_probability > needed:
            current.update({v: int(best.assignment[v]) for v in hood})
            moves += 1
            failures = 0
            if repair:
                repair = broken()
        else:
            failures += 1
        if len(seen) >= len(candidates):  # the neighbourhood was everything: solved exactly
            break
        if failures >= 2 * len(candidates) // size + 10:
            if size >= max_size:
                break  # nothing more to find at the largest size
            size, failures = size + max(1, size // 4), 0
    return current, steps, moves


def tabu_search(graph: FactorGraph, assignment: Mapping[str, int], free: list[str],
                deadline: float, seed: int = 0, max_steps: int | None = None,
                patience: int | None = None) -> tuple[dict[str, int], int, int]:
    """Tabu search (Glover 1989; TabuCol, Hertz & de Werra 1987, for colourings): at every
    step move the one free variable to the state that scores best, even when that is worse,
    and forbid moving it back for a random tenure, so the search walks out of the local
    optima where conditional modes and small neighbourhoods stop; a forbidden move that
    beats the best score so far is allowed. Each variable's conditional scores are kept up
    to date factor by factor. Stops at the deadline, after `max_steps`, or `patience` steps
    (default 5,000 + 2 per variable: it finds its best fast, and on grids the time is better
    spent by large-neighbourhood search) without a new best. Returns the best assignment seen
    (its score never below the start's), the steps taken and how many improved on the best."""
    index = {v: i for i, v in enumerate(graph.variables)}
    n = len(index)
    cards = np.array([graph.card(v) for v in graph.variables], dtype=np.intp)
    x = np.array([int(assignment[v]) for v in graph.variables], dtype=np.intp)
    movable = np.zeros((n, int(cards.max())), dtype=bool)
    for v in free:
        movable[index[v], :cards[index[v]]] = True
    kept, _ = graph.log_factors({})  # evidence stays put as unmovable variables
    factors = [([index[v] for v in names], table) for _, names, table in kept]
    score = np.zeros(movable.shape)  # each variable's log score by state, the others fixed
    zeros = np.zeros(movable.shape, dtype=np.int64)  # and how many factors are zero there
    member: list[list[tuple[int, int]]] = [[] for _ in range(n)]  # (factor, axis)
    parts: dict[tuple[int, int], np.ndarray] = {}

    def part(f: int, axis: int) -> np.ndarray:
        scope, table = factors[f]
        at = tuple(slice(None) if a == axis else x[u] for a, u in enumerate(scope))
        return table[at]

    def add(v: int, vec: np.ndarray, sign: int) -> None:
        dead = np.isinf(vec)
        score[v, :vec.size] += sign * np.where(dead, 0.0, vec)
        zeros[v, :vec.size] += sign * dead

    for f, (scope, _) in enumerate(factors):
        for axis, u in enumerate(scope):
            member[u].append((f, axis))
            parts[f, axis] = part(f, axis)
            add(u, parts[f, axis], 1)
    rng = np.random.default_rng(seed)
    tabu = np.zeros(movable.shape, dtype=np.int64)
    rows = np.arange(n)
    current = best = 0.0  # the score relative to the start's
    best_x = x.copy()
    tenure = 10 + n // 20
    step = improved = last = 0
    patience = 5_000 + 2 * n if patience is None else int(patience)
    while (max_steps is None or step < max_steps) and time.perf_counter() < deadline \
            and step - last < patience:
        step += 1
        table = score - HARD * zeros
        delta = np.where(movable, table - table[rows, x][:, None], -np.inf)
        delta[rows, x] = -np.inf
        if not np.isfinite(delta.max()):
            break  # no variable can move
        allowed = (tabu <= step) | (current + delta > best + 1e-9)  # aspiration
        if not allowed[np.isfinite(delta)].any():  # all tabu (tiny models): skip ahead
            step = int(tabu[np.isfinite(delta)].min())
            continue
        delta = np.where(allowed, delta, -np.inf)
        top = delta.max()
        v, k = divmod(int(rng.choice(np.flatnonzero(delta == top))), delta.shape[1])
        old = x[v]
        x[v] = k
        current += float(top)
        tabu[v, old] = step + tenure + int(rng.integers(tenure))
        for f, axis in member[v]:  # the other variables of v's factors see its new state
            scope = factors[f][0]
            for a, u in enumerate(scope):
                if a != axis:
                    add(u, parts[f, a], -1)
                    parts[f, a] = part(f, a)
                    add(u, parts[f, a], 1)
        if current > best + 1e-9:
            best, best_x = current, x.copy()
            improved, last = improved + 1, step
    found = dict(assignment)
    found.update({v: int(best_x[index[v]]) for v in free})
    start = graph.log_score(assignment)
    if graph.log_score(found) < start:  # rounding in the running score: keep the start
        found = dict(assignment)
    return found, step, improved


def searched_map(graph: FactorGraph, evidence: Mapping[str, Any] | None = None, *,
                 time_limit: float | None = 60.0, node_limit: int | None = None,
                 ibound: int | None = None, max_entries: int = 1 << 24,
                 damping: float | None = None, ilp: bool = True) -> Any:
    """MAP, exact when some search proves it: first branch and cut on the local-polytope
    integer program (`ilp_map`, for up to 60% of the time; it proves the UAI Promedas,
    Segmentation and several Grids problems); when that does not close the gap, max-product
    BP and local search, tabu search (far better on colouring-like models: wcsp_15),
    large-neighbourhood search (better on grids), then mini-bucket branch and bound from the
    best assignment found, with the tighter of the two bounds. `ilp=False` (or a program
    over `ilp.MAX_COLUMNS`) leaves the integer program out."""
    from genlab.pgm.search import branch_and_bound

    t0 = time.perf_counter()
    budget = 60.0 if time_limit is None else float(time_limit)
    clamp = graph.encode_evidence(evidence)
    program, bound = None, None  # the program's answer, and its report (with the bound)
    if ilp:
        try:
            program = ilp_map(graph, evidence, time_limit=ILP_UNTIL * budget)
            bound = program.report
        except NoAssignment as stopped:  # no assignment in its time, but a bound
            bound = stopped.report
        except ProgramTooLarge:  # the other searches go on without it
            pass
        if program is not None and program.exact:
            return replace(program, method="search")
    rest = budget - (time.perf_counter() - t0)
    first = approximate_map(graph, evidence, damping=damping, time_limit=BP_SHARE * rest)
    incumbent = dict(first.assignment)
    if program is not None and program.log_probability > first.log_probability:
        incumbent = dict(program.assignment)
    free = [v for v in graph.variables if v not in clamp]
    start_rest = t0 + budget - rest
    incumbent, _, _ = tabu_search(graph, incumbent, free, start_rest + TABU_UNTIL * rest)
    incumbent, _, _ = neighbourhood_search(graph, incumbent, free,
                                           start_rest + LNS_UNTIL * rest)
    left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - t0))
    start = incumbent if np.isfinite(graph.log_score(incumbent)) else None
    found = branch_and_bound(graph, evidence, time_limit=left, node_limit=node_limit,
                             ibound=ibound, max_entries=max_entries, incumbent=start)
    if bound is None or found.exact:
        return found
    return _tighter(found, bound)


def _tighter(found: Any, program: Any) -> Any:
    """The search's answer with the integer program's dual bound where it is tighter —
    proven optimal when that bound meets the answer's score."""
    bound = min(float(found.bound), program.bound)
    proven = meets(bound, found.log_probability)
    report = replace(found.report, ilp=program, proven=proven,
                     bound=found.log_probability if proven else bound)
    return replace(found, exact=proven, bound=report.bound, report=report)
