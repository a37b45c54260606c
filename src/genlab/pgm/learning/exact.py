"""Exact structure search: the globally optimal DAG for a decomposable score.

Dynamic programming over parent sets and orders (Silander & Myllymäki 2006). A DAG's score is
Σ_v local(v, parents(v)), and every DAG has a sink, so

    best(W) = max_{v ∈ W} best(W \\ {v}) + bps(v, W \\ {v}),

where bps(v, C) = max_{S ⊆ C} local(v, S) is v's best parent set within the candidates C.
Sets are bitmasks: the local scores of every admissible parent set are counted in one batched
`Scorer.local_many` call, bps is a subset-max transform over the bits and best(W) runs over
the subsets of the variables one popcount layer at a time — all numpy, with no Python loop over
the 2^n subsets. Time and memory grow as n·2^n, so the search refuses above
`MAX_EXACT_VARIABLES` and where scoring every parent set would pass
`MAX_EXACT_SCORING_SECONDS` (estimated).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.graph import DAG, arc_indices
from genlab.pgm.learning.scores import Scorer
from genlab.pgm.learning.sources import as_source

__all__ = ["MAX_EXACT_SCORING_SECONDS", "MAX_EXACT_VARIABLES", "exact_search"]

MAX_EXACT_VARIABLES = 22  # measured: 22 variables take ≈ 1 GiB and ≈ 15 s of DP
MAX_EXACT_SCORING_SECONDS = 600.0  # estimated time to count and score every parent set
_SECONDS_PER_FAMILY = 1e-4  # measured: count + score of one small family on 10,000 rows
_SECONDS_PER_ENTRY = 3e-8  # measured: the same per count-table entry (large families)
_SECONDS_PER_DP_STEP = 1.5e-7  # measured: the DP per unit of n·2^n
_BATCH_BYTES = 2**28  # count tables held at once while scoring

Arc = tuple[str, str]


@dataclass(frozen=True)
class _Constraints:
    """Per-variable bitmasks over the *other* variables (bit j ↔ others[j])."""

    black: np.ndarray  # (n,) forbidden parents of each variable
    white: np.ndarray  # (n,) required parents of each variable


def exact_search(
    data: Any = None,
    score: str = "bic",
    ess: float = 1.0,
    max_parents: int | None = None,
    scorer: Scorer | None = None,
    black_list: Iterable[Arc] = (),
    white_list: Iterable[Arc] = (),
) -> DAG:
    """The DAG with the highest total score (ties broken deterministically).

    `max_parents` bounds every parent set; `black_list` holds forbidden arcs (parent, child),
    `white_list` required ones. Pass a `scorer` to reuse its cache (then `data`, `score` and
    `ess` are ignored).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 500); b = (a ^ (rng.random(500) < 0.1)).astype(int)
    >>> exact_search({"a": a, "b": b}).num_edges
    1
    """
    if scorer is None:
        if data is None:
            raise TypeError("exact_search needs data or a scorer")
        scorer = Scorer(as_source(data), score, ess)
    variables = scorer.variables
    n = len(variables)
    limit = max(n - 1, 0) if max_parents is None else int(max_parents)
    if limit < 0:
        raise ModelError(f"max_parents must be ≥ 0, got {max_parents}")
    limit = min(limit, max(n - 1, 0))
    rules = _constraints(variables, black_list, white_list, limit)
    _check_variables(n)
    if n == 0:
        return DAG([])
    masks = [_admissible(n, limit, int(rules.black[v]), int(rules.white[v])) for v in range(n)]
    entries = [_table_entries(scorer, v, m) for v, m in enumerate(masks)]
    _check_scoring(n, limit, sum(m.size for m in masks), sum(float(e.sum()) for e in entries))
    local = _local_scores(scorer, masks, entries)  # (n, 2^(n−1))
    best_in, best_arg = _best_parent_sets(local)
    sinks = _best_order(best_in)
    return _reconstruct(variables, sinks, best_arg)


# ----------------------------------------------------------------------------------------------
# bitmasks
# ----------------------------------------------------------------------------------------------
def _other_bit(v: int, u: int) -> int:
    """The bit of variable u in v's parent masks (v's own bit is squeezed out)."""
    return u if u < v else u - 1


def _from_other(v: int, j: int) -> int:
    """The variable of bit j in v's parent masks."""
    return j if j < v else j + 1


def _squeeze(masks: np.ndarray, v: int) -> np.ndarray:
    """Full n-bit masks (without bit v) as v's (n−1)-bit parent masks."""
    low = (1 << v) - 1
    return (masks & low) | ((masks >> (v + 1)) << v)


def _bits(mask: int) -> list[int]:
    """The set bits of a mask, lowest first."""
    return [j for j in range(mask.bit_length()) if mask >> j & 1]


def _constraints(
    variables: Sequence[str], black_list: Iterable[Arc], white_list: Iterable[Arc], limit: int
) -> _Constraints:
    """Black and white lists as per-child parent masks, checked for unknown nodes, self-loops,
    arcs in both lists and more required parents than max_parents."""
    index = {v: i for i, v in enumerate(variables)}
    n = len(variables)

    def masks(arcs: Iterable[Arc], what: str) -> np.ndarray:
        out = np.zeros(n, dtype=np.int64)
        for a, b in arc_indices(arcs, index, what):
            out[b] |= 1 << _other_bit(b, a)
        return out

    black, white = masks(black_list, "black list"), masks(white_list, "white list")
    for v in range(n):
        both = int(black[v] & white[v])
        if both:
            arcs = [f"{variables[_from_other(v, j)]} -> {variables[v]}" for j in _bits(both)]
            raise ModelError(f"arcs both required and forbidden: {', '.join(arcs)}")
        required = int(white[v]).bit_count()
        if required > limit:
            raise ModelError(
                f"the white list gives {variables[v]!r} {required} parents, over max_parents "
                f"= {limit}"
            )
    return _Constraints(black, white)


def _admissible(n: int, limit: int, black: int, white: int) -> np.ndarray:
    """v's allowed parent sets as (n−1)-bit masks: size ≤ limit, no black, every white bit."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    masks = np.arange(1 << (n - 1), dtype=np.int64)
    ok = (np.bitwise_count(masks) <= limit) & (masks & black == 0) & (masks & white == white)
    return masks[ok]


def _table_entries(scorer: Scorer, v: int, masks: np.ndarray) -> np.ndarray:
    """Entries of the count table of v with each parent mask: q(parents) · r(v)."""
    names, states = scorer.variables, scorer.data.states
    q = np.ones(1, dtype=np.float64)
    for j in range(len(names) - 1):  # q over all masks, doubling one bit at a time
        q = np.concatenate([q, q * len(states[names[_from_other(v, j)]])])
    return q[masks] * len(states[names[v]])


def _check_variables(n: int) -> None:
    """Refuse before allocating the DP's n·2^(n−1) tables when they would be out of reach."""
    if n > MAX_EXACT_VARIABLES:
        gib = (n * 2 ** (n - 1) * 12 + 2**n * 26) / 2**30
        raise ModelError(
            f"exact search over {n} variables is out of reach: its tables need ≈ {gib:.3g} GiB "
            f"and ≈ {_SECONDS_PER_DP_STEP * n * 2**n / 60:.3g} min (n·2^n steps; the limit is "
            f"{MAX_EXACT_VARIABLES} variables); use a heuristic search such as hill climbing"
        )


def _check_scoring(n: int, limit: int, families: int, entries: float) -> None:
    """Refuse when counting and scoring every parent set would take more than minutes."""
    seconds = families * _SECONDS_PER_FAMILY + entries * _SECONDS_PER_ENTRY
    if seconds > MAX_EXACT_SCORING_SECONDS:
        raise ModelError(
            f"exact search over {n} variables with max_parents={limit} must count and score "
            f"{families:,} parent sets ({entries:.3g} table entries, ≈ {seconds / 60:.3g} min on "
            f"10,000 rows; the limit is {MAX_EXACT_SCORING_SECONDS / 60:.3g} min); lower "
            "max_parents"
        )


# ----------------------------------------------------------------------------------------------
# the three steps
# ----------------------------------------------------------------------------------------------
def _local_scores(
    scorer: Scorer, masks: Sequence[np.ndarray], entries: Sequence[np.ndarray]
) -> np.ndarray:
    """local[v, S] for every admissible parent mask S (−inf elsewhere).

    One batched `local_many` call, split only where the count tables held at once would pass
    `_BATCH_BYTES` (a Dataset returns every table of a call together).
    """
    variables = scorer.variables
    n = len(variables)
    families: list[tuple[str, tuple[str, ...]]] = []
    for v, allowed in enumerate(masks):
        others = [variables[_from_other(v, j)] for j in range(n - 1)]
        families.extend(
            (variables[v], tuple(others[j] for j in _bits(mask))) for mask in allowed.tolist()
        )
    batch = np.cumsum(np.concatenate(entries)) * 8 // _BATCH_BYTES
    cuts = [0, *(np.flatnonzero(np.diff(batch)) + 1).tolist(), len(families)]
    scores = np.concatenate([
        np.asarray(scorer.local_many(families[i:j]), dtype=np.float64)
        for i, j in itertools.pairwise(cuts)
    ])
    local = np.full((n, 1 << (n - 1)), -np.inf)
    start = 0
    for v, allowed in enumerate(masks):
        local[v, allowed] = scores[start:start + allowed.size]
        start += allowed.size
    return local


def _best_parent_sets(local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """bps[v, C] = max_{S ⊆ C} local[v, S] and its argmax S, by a subset-max transform (in
    place: `local` becomes bps).

    Bit by bit, each mask with bit j set takes the better of itself and the mask without j;
    after all bits every mask holds the best over its subsets. Ties keep the smaller set.
    """
    n, size = local.shape
    best = local  # transformed in place: the local scores are not needed afterwards
    arg = np.empty((n, size), dtype=np.int32)
    arg[:] = np.arange(size, dtype=np.int32)
    for v in range(n):  # one variable at a time: its rows stay in cache across the bits
        for j in range(size.bit_length() - 1):
            b = best[v].reshape(-1, 2, 1 << j)  # (blocks, bit j off/on, lower bits)
            a = arg[v].reshape(-1, 2, 1 << j)
            take = b[:, 0] >= b[:, 1]
            np.copyto(b[:, 1], b[:, 0], where=take)
            np.copyto(a[:, 1], a[:, 0], where=take)
    return best, arg


def _best_order(best_in: np.ndarray) -> np.ndarray:
    """sink[W]: the last variable of the best network over W, for every subset W.

    best(W) = max_v best(W \\ v) + bps(v, W \\ v); subsets of one size depend only on the
    size below, so each popcount layer is one vectorised step per variable.
    """
    n = best_in.shape[0]
    full = np.arange(1 << n, dtype=np.int64)
    order = np.argsort(np.bitwise_count(full), kind="stable")
    ends = np.cumsum(np.bincount(np.bitwise_count(full), minlength=n + 1))
    best = np.full(1 << n, -np.inf)
    best[0] = 0.0
    sink = np.full(1 << n, -1, dtype=np.int8)
    for k in range(1, n + 1):
        layer = order[ends[k - 1]:ends[k]]
        for v in range(n):
            subsets = layer[(layer >> v) & 1 == 1]
            rest = subsets ^ (1 << v)
            value = best[rest] + best_in[v, _squeeze(rest, v)]
            better = value > best[subsets]
            best[subsets[better]] = value[better]
            sink[subsets[better]] = v
    if not np.isfinite(best[-1]):
        raise ModelError(
            "no DAG satisfies the constraints: the white list has a directed cycle or a node's "
            "required parents cannot all be chosen"
        )
    return sink


def _reconstruct(variables: Sequence[str], sinks: np.ndarray, best_arg: np.ndarray) -> DAG:
    """Peel sinks off the full set; each takes its best parent set among those left."""
    n = len(variables)
    remaining = (1 << n) - 1
    edges: list[Arc] = []
    while remaining:
        v = int(sinks[remaining])
        remaining ^= 1 << v
        parents = int(best_arg[v, int(_squeeze(np.int64(remaining), v))])
        edges.extend((variables[_from_other(v, j)], variables[v]) for j in _bits(parents))
    index = {v: i for i, v in enumerate(variables)}
    edges.sort(key=lambda e: (index[e[1]], index[e[0]]))
    return DAG(variables, edges)
