"""Counting: THE mechanism behind MLE, priors, scores, independence tests and EM's statistics.

A contingency table over a tuple of variables is one `np.bincount` of mixed-radix row codes
(code = Σ state_i · stride_i), weighted by the row weights; rows where any of the variables is
missing are skipped (available-case counting). Sources that hold their rows in parts (chunks of
a CSV file, partitions of a Dask DataFrame) sum the tables of their parts: counts are additive.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.data import Dataset

__all__ = ["MAX_TABLE_BYTES", "CountSource", "check_table_size", "count", "count_many"]

MAX_TABLE_BYTES = int(float(os.environ.get("GENLAB_MAX_MEMORY", 4 * 2**30)))


@runtime_checkable
class CountSource(Protocol):
    """Rows held elsewhere (chunks, a cluster) that can count many tables in one pass."""

    variables: tuple[str, ...]
    states: dict[str, tuple[str, ...]]

    def count_many(self, scopes: Sequence[Sequence[str]]) -> list[np.ndarray]: ...


def check_table_size(variables: Sequence[str], cards: Sequence[int], what: str = "count") -> int:
    """Entries of a table over these cardinalities; refuse (before allocating) above budget."""
    entries = math.prod(int(c) for c in cards)
    if entries * 8 > MAX_TABLE_BYTES:
        raise ModelError(
            f"the {what} table over {tuple(variables)} would have {entries:.3g} entries "
            f"({entries * 8 / 2**30:.3g} GiB), over the budget of {MAX_TABLE_BYTES / 2**30:.3g} "
            "GiB (GENLAB_MAX_MEMORY); lower the number of parents or merge states"
        )
    return entries


UNION_MAX_ENTRIES = 1 << 15  # a union table this small stays in cache while it is filled


def _codes(data: Dataset, idx: Sequence[int], cards: Sequence[int]) -> np.ndarray:
    """Mixed-radix codes (first variable slowest) of the rows over columns `idx`."""
    codes = data.codes
    dtype = np.int32 if math.prod(cards) < 2**31 else np.int64  # half the memory traffic
    code = codes[:, idx[0]].astype(dtype)
    for j, c in zip(idx[1:], cards[1:], strict=True):
        code *= c
        code += codes[:, j]
    return code


def _count_scope(data: Dataset, variables: Sequence[str]) -> np.ndarray:
    """One bincount over the rows observing every variable of the scope."""
    cards = [len(data.states[v]) for v in variables]
    size = check_table_size(variables, cards)
    if not variables:
        return np.array(data.total_weight())
    idx = [data.index(v) for v in variables]
    code = _codes(data, idx, cards)
    weights = data.weights
    if any(data.column_missing[j] for j in idx):
        valid = np.ones(code.shape[0], dtype=bool)
        for j in idx:
            if data.column_missing[j]:
                valid &= data.codes[:, j] >= 0
        code = code[valid]
        weights = None if weights is None else weights[valid]
    table = np.bincount(code, weights=weights, minlength=size).astype(np.float64, copy=False)
    return table.reshape(cards)


UNION_OPEN_GROUPS = 16  # a scope tries the most recent groups only (linear, not quadratic)


def _unions(data: Dataset, scopes: Sequence[tuple[str, ...]]) -> list[tuple[list[str], list[int]]]:
    """Scopes over fully observed columns grouped (first fit, least growth) into unions whose
    joint table has at most UNION_MAX_ENTRIES entries, and at most a quarter of the rows
    (summing a union table must cost less than the counting pass it saves): one bincount
    then serves them all."""
    limit = min(UNION_MAX_ENTRIES, max(64, data.num_rows // 4))
    groups: list[tuple[list[str], list[int], list[int]]] = []  # (variables, [size], members)
    for k, scope in enumerate(scopes):
        best = None
        for group in groups[-UNION_OPEN_GROUPS:]:
            new = [v for v in scope if v not in group[0]]
            size = group[1][0] * math.prod(len(data.states[v]) for v in new)
            if size <= limit and (best is None or size < best[1]):
                best = (group, size, new)
        if best is None:
            groups.append((list(scope), [math.prod(len(data.states[v]) for v in scope)], [k]))
        else:
            group, size, new = best
            group[0].extend(new)
            group[1][0] = size
            group[2].append(k)
    return [(variables, members) for variables, _, members in groups]


def _count_dataset(data: Dataset, scopes: Sequence[tuple[str, ...]]) -> list[np.ndarray]:
    """Counts of many scopes: scopes over complete columns share union tables (fewer passes
    over the rows), the others are counted one by one (each skips its own missing rows)."""
    out: list[np.ndarray | None] = [None] * len(scopes)
    complete = []
    for k, scope in enumerate(scopes):
        check_table_size(scope, [len(data.states[v]) for v in scope])
        if scope and not any(data.column_missing[data.index(v)] for v in scope):
            complete.append(k)
        else:
            out[k] = _count_scope(data, scope)
    for variables, members in _unions(data, [scopes[k] for k in complete]):
        table = _count_scope(data, variables)
        for m in members:
            scope = scopes[complete[m]]
            axes = tuple(a for a, v in enumerate(variables) if v not in scope)
            marginal = table.sum(axis=axes) if axes else table
            kept = [v for v in variables if v in scope]
            out[complete[m]] = np.transpose(marginal, [kept.index(v) for v in scope])
    return out  # type: ignore[return-value]


def count(data: Any, variables: Sequence[str]) -> np.ndarray:
    """Weighted counts of the rows observing all of `variables`: an array (*cards), axes in
    the given order (a 0-d total for no variables).

    >>> from genlab.pgm.learning.data import as_dataset
    >>> count(as_dataset({"a": ["x", "y", "y"], "b": [0, 1, 1]}), ["a", "b"]).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    return count_many(data, [variables])[0]


def count_many(data: Any, scopes: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """Counts for many variable tuples (one pass over a chunked or distributed source)."""
    scopes = [tuple(map(str, s)) for s in scopes]
    for s in scopes:
        if len(set(s)) != len(s):
            raise ModelError(f"a count table cannot repeat a variable: {s}")
    if isinstance(data, Dataset):
        return _count_dataset(data, scopes)
    if isinstance(data, CountSource):
        return data.count_many(scopes)
    raise TypeError(f"cannot count rows of {type(data).__name__}; build a Dataset first")
