"""Dask DataFrames (optional extra ``distributed``): counts reduced across a cluster, and
batched posterior queries run per partition.

Each partition is counted where it lives with the one counting routine and only the small
count tables travel; they are summed in a tree. Queries send the model to every worker once
(`Client.scatter(..., broadcast=True)`), so each worker compiles its contraction plan once
and reuses it for all its partitions. Without a distributed client, Dask's local scheduler
runs the same graph in this process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.counts import count_many
from genlab.pgm.learning.data import _sorted_names, encode_frame
from genlab.pgm.learning.sources import used_columns

__all__ = ["DaskSource", "map_marginals"]

REDUCE_FAN_IN = 8  # count tables summed per reduction task


def _dask() -> Any:
    try:
        import dask
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise ImportError(
            "Dask DataFrames need the optional extra: pip install 'genlab[distributed]'"
        ) from None
    return dask


def _count_partition(
    frame: Any,
    states: Mapping[str, tuple[str, ...]],
    variables: tuple[str, ...],
    weights: str | None,
    scopes: Sequence[tuple[str, ...]],
) -> list[np.ndarray]:
    return count_many(encode_frame(frame, states, variables, weights), scopes)


def _sum_tables(parts: Sequence[list[np.ndarray]]) -> list[np.ndarray]:
    total = [t.copy() for t in parts[0]]
    for part in parts[1:]:
        for acc, t in zip(total, part, strict=True):
            acc += t
    return total


class DaskSource:
    """A Dask DataFrame as a count source: `count_many` is one pass over the partitions on
    the cluster, summed in a tree of `REDUCE_FAN_IN`-way reductions."""

    def __init__(
        self,
        frame: Any,
        states: Mapping[str, Sequence[str]] | None = None,
        weights: str | None = None,
    ) -> None:
        if weights is not None and not isinstance(weights, str):
            raise ModelError("weights of a Dask DataFrame must be a column name")
        self.frame = frame
        self.weights = weights
        columns = [str(c) for c in frame.columns if str(c) != weights]
        fixed = {str(v): tuple(map(str, s)) for v, s in (states or {}).items()}
        self.variables: tuple[str, ...] = tuple(columns)
        needed = [v for v in self.variables if v not in fixed]
        if needed:  # one cluster pass for the distinct values of every column without states
            dask = _dask()
            uniques = dask.compute(*[frame[c].dropna().unique() for c in needed])
            for c, values in zip(needed, uniques, strict=True):
                fixed[c] = _sorted_names(list(values), c)
        self.states: dict[str, tuple[str, ...]] = {v: fixed[v] for v in self.variables}

    def with_states(self, states: Mapping[str, Sequence[str]]) -> DaskSource:
        """The same frame encoded over the given state lists (e.g. a model's)."""
        return DaskSource(self.frame, {**self.states, **states}, self.weights)

    def count_many(self, scopes: Sequence[Sequence[str]]) -> list[np.ndarray]:
        dask = _dask()
        scopes = [tuple(s) for s in scopes]
        needed = used_columns(self.variables, scopes)
        tasks = [
            dask.delayed(_count_partition)(part, self.states, needed, self.weights, scopes)
            for part in self.frame.to_delayed()
        ]
        while len(tasks) > 1:
            tasks = [
                dask.delayed(_sum_tables)(tasks[i : i + REDUCE_FAN_IN])
                for i in range(0, len(tasks), REDUCE_FAN_IN)
            ]
        (total,) = dask.compute(tasks[0])
        return total

    def __repr__(self) -> str:
        return f"DaskSource({len(self.variables)} variables, {self.frame.npartitions} partitions)"


def _partition_marginals(frame: Any, model: Any, variables: Sequence[str] | None) -> Any:
    from genlab.pgm.learning.rows import frame_marginals

    return frame_marginals(model, frame, variables)


def map_marginals(model: Any, frame: Any, variables: Sequence[str] | None = None) -> Any:
    """Posterior marginals of every evidence row of a Dask DataFrame (NaN = unobserved), as a
    lazy Dask DataFrame with one column "P(v=s)" per state, computed per partition.

    With a `distributed.Client` running, the model is broadcast to the workers once, so each
    worker plans and compiles its contraction once for all its partitions."""
    dask = _dask()
    import dask.dataframe as dd

    from genlab.pgm.learning.rows import frame_marginals

    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        client = None
    shared = client.scatter(model, broadcast=True) if client is not None else model
    # every partition must give the same columns: default to every variable of the model
    variables = list(model.to_factor_graph().variables if variables is None else variables)
    meta = frame_marginals(model, frame._meta.iloc[:0], variables)
    parts = [
        dask.delayed(_partition_marginals)(part, shared, variables) for part in frame.to_delayed()
    ]
    return dd.from_delayed(parts, meta=meta)
