"""Contraction planning: which pairs of tensors to contract, in what order, at what cost.

A plan is computed from scopes and sizes alone (never from table values), so it is cached per
model and evidence pattern and reused for any evidence values and any batch of rows (the batch
axis is added at execution time, never seen by the planner — a planner that sees it pairs
evidence vectors through it and blows up memory).

Planners are registered by name in PLANNERS: ``greedy`` (opt_einsum's), ``min-fill`` and
``min-degree`` (variable elimination orders turned into paths) and, when installed,
``cotengra`` (hyper-optimised, for hard models). ``auto`` tries the cheap ones and calls
cotengra only when they all cost more than 2^28 flops.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import opt_einsum

__all__ = ["PLANNERS", "ContractionPlan", "Step", "elimination_order", "plan_contraction"]

Scope = tuple[int, ...]


@dataclass(frozen=True)
class Step:
    """Contract slot `left` with slot `right` (or reduce `left` alone when right is None)
    into a new slot whose variables are `out` (variable ids, sorted)."""

    left: int
    right: int | None
    out: Scope


@dataclass(frozen=True)
class ContractionPlan:
    """An executable pairwise contraction order with its cost.

    Slots 0..n-1 are the input tensors; step k writes slot n+k. The last slot holds the
    result over `keep`. Costs are for one evidence row (multiply by the batch size).
    """

    scopes: tuple[Scope, ...]
    sizes: tuple[int, ...]  # size of each variable id
    keep: Scope
    steps: tuple[Step, ...]
    log2_flops: float
    largest_intermediate: int  # entries
    total_intermediate: int  # entries over all steps (what a backward pass keeps)
    planner: str

    @property
    def num_inputs(self) -> int:
        return len(self.scopes)

    def slot_scopes(self) -> list[Scope]:
        """Scope of every slot: inputs then step outputs."""
        return [*self.scopes, *(s.out for s in self.steps)]

    def describe(self) -> str:
        """One line: planner, log2 flops, largest intermediate."""
        return (
            f"{self.planner}: 2^{self.log2_flops:.1f} flops, largest intermediate "
            f"2^{math.log2(max(self.largest_intermediate, 1)):.1f} entries "
            f"({self.largest_intermediate * 8 / 2**20:.3g} MiB)"
        )


# ----------------------------------------------------------------------------------------------
# Turning a pairwise order into steps with exact output scopes and costs
# ----------------------------------------------------------------------------------------------
def _size(scope: Sequence[int], sizes: Sequence[int]) -> int:
    return math.prod(sizes[v] for v in scope)


def _build(
    scopes: Sequence[Scope],
    sizes: Sequence[int],
    keep: Scope,
    pairs: Sequence[tuple[int, int]],
    planner: str,
) -> ContractionPlan:
    """Steps from slot pairs; appends pairwise steps for leftovers and a final reduction."""
    n = len(scopes)
    live: dict[int, Scope] = {i: tuple(s) for i, s in enumerate(scopes)}
    count: dict[int, int] = {}  # how many live slots mention each variable
    for s in live.values():
        for v in s:
            count[v] = count.get(v, 0) + 1
    keep_set = set(keep)
    steps: list[Step] = []
    flops = 0
    largest = 1
    total = 0

    def contract(a: int, b: int | None) -> None:
        nonlocal flops, largest, total
        sa = live.pop(a)
        sb = live.pop(b) if b is not None else ()
        union = sorted(set(sa) | set(sb))
        for v in sa:
            count[v] -= 1
        for v in sb:
            count[v] -= 1
        out = tuple(v for v in union if count.get(v, 0) > 0 or v in keep_set)
        for v in out:
            count[v] += 1
        flops += _size(union, sizes)
        out_size = _size(out, sizes)
        largest = max(largest, out_size)
        total += out_size
        slot = n + len(steps)
        steps.append(Step(a, b, out))
        live[slot] = out

    for a, b in pairs:
        contract(a, b)
    while len(live) > 1:  # leftovers (disconnected parts): smallest first
        a, b = sorted(live, key=lambda s: _size(live[s], sizes))[:2]
        contract(a, b)
    if n and (not steps or live[next(iter(live))] != tuple(sorted(keep_set))):
        contract(next(iter(live)), None)
    return ContractionPlan(
        tuple(tuple(s) for s in scopes),
        tuple(sizes),
        tuple(sorted(keep_set)),
        tuple(steps),
        math.log2(max(flops, 1)),
        largest,
        total,
        planner,
    )


# ----------------------------------------------------------------------------------------------
# Planners
# ----------------------------------------------------------------------------------------------
def _pairs_from_opt_einsum_path(n: int, path: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """opt_einsum paths index a shrinking list; convert to slot pairs (one step per pair)."""
    current = list(range(n))
    pairs: list[tuple[int, int]] = []
    next_slot = n
    for positions in path:
        positions = sorted(positions, reverse=True)
        taken = [current.pop(p) for p in positions]
        if len(taken) == 1:  # a single-operand reduction is folded into a later pair
            current.append(taken[0])
            continue
        a = taken[0]
        for b in taken[1:]:
            pairs.append((a, b))
            a = next_slot
            next_slot += 1
        current.append(a)
    return pairs


def _symbols(scopes: Sequence[Scope], keep: Scope) -> tuple[list[str], str]:
    sym = opt_einsum.get_symbol
    return ["".join(sym(v) for v in s) for s in scopes], "".join(sym(v) for v in keep)


def _plan_greedy(scopes: Sequence[Scope], sizes: Sequence[int], keep: Scope) -> list:
    inputs, output = _symbols(scopes, keep)
    shapes = [tuple(sizes[v] for v in s) for s in scopes]
    expr = ",".join(inputs) + "->" + output
    kind = "auto" if len(scopes) <= 12 else "greedy"
    path, _ = opt_einsum.contract_path(expr, *shapes, shapes=True, optimize=kind)
    return _pairs_from_opt_einsum_path(len(scopes), path)


def elimination_order(
    scopes: Sequence[Scope], sizes: Sequence[int], keep: Scope, score: str
) -> list[int]:
    """A greedy elimination order of the interaction graph (variables not in `keep`).

    min-fill: fewest fill-in edges, ties by weighted degree; min-degree: smallest log-size of
    the neighbourhood. Scores live in a lazy heap and only the eliminated variable's neighbours
    are rescored (the usual approximation), so large models plan in well under a second.
    """
    import heapq

    neighbours: dict[int, set[int]] = {}
    for s in scopes:
        for v in s:
            neighbours.setdefault(v, set()).update(s)
    for v, nb in neighbours.items():
        nb.discard(v)
    log_size = {v: math.log2(sizes[v]) for v in neighbours}
    keep_set = set(keep)

    def cost(v: int) -> tuple[float, float]:
        nb = neighbours[v]
        weight = sum([log_size[u] for u in nb])
        if score == "min-degree":
            return (weight, 0.0)
        d = len(nb)
        if d > EXACT_FILL_MAX_DEGREE:  # a hopeless clique anyway: skip the O(d²) count
            return (d * (d - 1) // 2, weight)
        inside = sum([len(neighbours[u] & nb) for u in nb]) // 2  # edges already among nb
        return (d * (d - 1) // 2 - inside, weight)

    version = dict.fromkeys(neighbours, 0)
    heap = [(cost(v), v, 0) for v in neighbours if v not in keep_set]
    heapq.heapify(heap)
    order: list[int] = []
    eliminated: set[int] = set()
    while heap:
        _, v, ver = heapq.heappop(heap)
        if v in eliminated or ver != version[v]:
            continue
        eliminated.add(v)
        order.append(v)
        nb = neighbours.pop(v)
        for a in nb:
            neighbours[a].discard(v)
            neighbours[a].update(u for u in nb if u != a)
        for a in nb:
            if a not in keep_set:
                version[a] += 1
                heapq.heappush(heap, (cost(a), a, version[a]))
    return order


def _elimination_pairs(
    scopes: Sequence[Scope], sizes: Sequence[int], keep: Scope, score: str
) -> list[tuple[int, int]]:
    """Bucket elimination in a min-fill / min-degree order, as slot pairs (smallest first)."""
    n = len(scopes)
    holders: dict[int, set[int]] = {}  # variable -> live slots containing it
    live: dict[int, set[int]] = {}
    for i, s in enumerate(scopes):
        live[i] = set(s)
        for v in s:
            holders.setdefault(v, set()).add(i)
    pairs: list[tuple[int, int]] = []
    next_slot = n
    entries = {i: _size(s, sizes) for i, s in enumerate(scopes)}  # slot -> table size
    for v in elimination_order(scopes, sizes, keep, score):
        group = sorted(holders.pop(v), key=entries.__getitem__)
        if len(group) < 2:
            if group:  # a lone holder sums v out inside its next pairwise step
                live[group[0]].discard(v)
            continue
        a = group[0]
        for b in group[1:]:
            pairs.append((a, b))
            merged = live.pop(a) | live.pop(b)
            merged.discard(v)
            for u in merged:
                holders[u].discard(a)
                holders[u].discard(b)
                holders[u].add(next_slot)
            live[next_slot] = merged
            entries[next_slot] = _size(tuple(merged), sizes)
            a = next_slot
            next_slot += 1
    return pairs


def _plan_min_fill(scopes: Sequence[Scope], sizes: Sequence[int], keep: Scope) -> list:
    return _elimination_pairs(scopes, sizes, keep, "min-fill")


def _plan_min_degree(scopes: Sequence[Scope], sizes: Sequence[int], keep: Scope) -> list:
    return _elimination_pairs(scopes, sizes, keep, "min-degree")


def _plan_cotengra(scopes: Sequence[Scope], sizes: Sequence[int], keep: Scope) -> list:
    import cotengra  # optional dependency (extra "hard")

    inputs = [tuple(s) for s in scopes]
    size_dict = {v: sizes[v] for s in scopes for v in s}
    opt = cotengra.HyperOptimizer(  # bounded: in-process, a few seconds at most
        methods=["greedy", "kahypar"] if _has_kahypar() else ["greedy"],
        max_repeats=16,
        max_time=COTENGRA_SECONDS,
        minimize="flops",
        parallel=False,
        progbar=False,
    )
    path = opt.search(inputs, tuple(keep), size_dict).get_path()
    return _pairs_from_opt_einsum_path(len(scopes), path)


def _has_kahypar() -> bool:
    try:
        import kahypar  # noqa: F401
    except ImportError:
        return False
    return True


PLANNERS: dict[str, Callable[[Sequence[Scope], Sequence[int], Scope], list]] = {
    "greedy": _plan_greedy,
    "min-fill": _plan_min_fill,
    "min-degree": _plan_min_degree,
    "cotengra": _plan_cotengra,
}
EXACT_FILL_MAX_DEGREE = 48  # min-fill counts fill-in exactly only below this degree
GOOD_ENOUGH_LOG2_FLOPS = 16.0  # below this, min-fill's plan is taken without comparing
GREEDY_LOG2_FLOPS = 24.0  # opt_einsum's greedy is also tried only above this
COTENGRA_SECONDS = 4.0  # search budget when "auto" calls cotengra
COTENGRA_MAX_INPUTS = 250  # beyond this one cotengra trial alone overruns (34 s on Grids_17)
HARD_LOG2_FLOPS = 28.0  # above this, "auto" also asks cotengra
HOPELESS_LOG2_FLOPS = 50.0  # ... but not when no path search can bring it within reach
PREFERRED_MAX_ENTRIES = 1 << 27  # 1 GiB of float64: plans above it lose to any that fit


def _preference(plan: ContractionPlan) -> tuple[bool, float, int]:
    """Plans that fit in memory first; then estimated time: flops, plus one doubling per
    doubling of the largest intermediate beyond 2^22 entries — memory traffic over big
    many-axis tensors, not arithmetic, dominates there (Grids_17: greedy's 2^32.6 flops with
    2^23 entries runs 2.8x faster than min-fill's 2^29.8 flops with 2^27 entries)."""
    too_big = plan.largest_intermediate > PREFERRED_MAX_ENTRIES
    traffic = max(0.0, math.log2(max(plan.largest_intermediate, 1)) - 22.0)
    return (too_big, round(plan.log2_flops + traffic, 6), plan.largest_intermediate)


def plan_contraction(
    scopes: Sequence[Sequence[int]],
    sizes: Sequence[int],
    keep: Sequence[int] = (),
    planner: str = "auto",
) -> ContractionPlan:
    """Plan the contraction of tensors with these scopes (variable ids) down to `keep`.

    `planner` is a name in PLANNERS or "auto": min-fill; above 2^16 flops also min-degree,
    above 2^24 also greedy, above 2^28 cotengra for models of at most 250 tensors (if
    installed) — the preferred plan wins (see _preference).
    """
    scopes = [tuple(sorted(set(s))) for s in scopes]
    sizes = tuple(int(s) for s in sizes)
    keep_t = tuple(sorted(set(keep)))
    if len(scopes) < 2:  # nothing to order
        return _build(scopes, sizes, keep_t, [], "trivial")
    if planner != "auto":
        if planner not in PLANNERS:
            raise ValueError(f"unknown planner {planner!r}; choose from {sorted(PLANNERS)}")
        return _build(scopes, sizes, keep_t, PLANNERS[planner](scopes, sizes, keep_t), planner)
    best = _build(scopes, sizes, keep_t, PLANNERS["min-fill"](scopes, sizes, keep_t), "min-fill")
    # search harder only where execution outweighs planning: opt_einsum's greedy alone takes
    # ~150 ms on the 1,000-variable munin networks, whose min-fill plans run in ~50 ms
    for name, above in (("min-degree", GOOD_ENOUGH_LOG2_FLOPS), ("greedy", GREEDY_LOG2_FLOPS)):
        if best.log2_flops > above:
            other = _build(scopes, sizes, keep_t, PLANNERS[name](scopes, sizes, keep_t), name)
            best = min(best, other, key=_preference)
    is_hard = HARD_LOG2_FLOPS < best.log2_flops < HOPELESS_LOG2_FLOPS
    if is_hard and len(scopes) <= COTENGRA_MAX_INPUTS:
        try:
            found = _build(scopes, sizes, keep_t, _plan_cotengra(scopes, sizes, keep_t), "cotengra")
        except ImportError:
            return best
        best = min(best, found, key=_preference)
    return best
