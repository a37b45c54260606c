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


def _count_dataset(data: Dataset, variables: Sequence[str]) -> np.ndarray:
    cards = [len(data.states[v]) for v in variables]
    size = check_table_size(variables, cards)
    if not variables:
        return np.array(data.total_weight())
    idx = [data.index(v) for v in variables]
    codes = data.codes
    code = codes[:, idx[0]].astype(np.int64)
    for j, c in zip(idx[1:], cards[1:], strict=True):
        code *= c
        code += codes[:, j]
    weights = data.weights
    if any(data.column_missing[j] for j in idx):
        valid = np.ones(code.shape[0], dtype=bool)
        for j in idx:
            if data.column_missing[j]:
                valid &= codes[:, j] >= 0
        code = code[valid]
        weights = None if weights is None else weights[valid]
    table = np.bincount(code, weights=weights, minlength=size).astype(np.float64, copy=False)
    return table.reshape(cards)


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
        return [_count_dataset(data, s) for s in scopes]
    if isinstance(data, CountSource):
        return data.count_many(scopes)
    raise TypeError(f"cannot count rows of {type(data).__name__}; build a Dataset first")
