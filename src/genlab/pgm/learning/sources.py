"""Data that does not sit in one DataFrame: chunks of rows (an out-of-core CSV, any re-iterable
of DataFrames) and Dask DataFrames. Counts are additive over row partitions, so each source
counts its parts with the one counting routine and sums the tables.

`as_source(data, ...)` picks the right wrapper: in-memory data becomes a `Dataset`, a Dask
DataFrame a `DaskSource`, anything else iterable a `ChunkedSource`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.counts import count_many
from genlab.pgm.learning.data import Dataset, as_dataset, column_states, encode_frame

__all__ = ["ChunkedSource", "as_source", "csv_chunks", "is_dask_frame", "is_out_of_core"]


def is_dask_frame(data: Any) -> bool:
    """A Dask DataFrame, recognised without importing dask."""
    module = type(data).__module__ or ""
    return module.startswith("dask") and hasattr(data, "to_delayed")


def _merge_states(seen: Mapping[str, set[str]], name: str) -> tuple[str, ...]:
    from genlab.pgm.learning.data import _sorted_names

    return _sorted_names(list(seen[name]), name)


class ChunkedSource:
    """Rows arriving as DataFrame chunks, counted chunk by chunk (one pass per `count_many`).

    `chunks` is a re-iterable (a list of DataFrames, or a callable returning a fresh iterator
    such as `lambda: iter_csv(path)`) or a one-shot iterator. Without `states` a first pass
    reads every column's states, so a one-shot iterator then needs `states=`.
    """

    def __init__(
        self,
        chunks: Iterable[Any] | Callable[[], Iterable[Any]],
        states: Mapping[str, Sequence[str]] | None = None,
        variables: Sequence[str] | None = None,
        weights: str | None = None,
    ) -> None:
        self._factory = chunks if callable(chunks) else None
        self._chunks = None if callable(chunks) else chunks
        self._one_shot = self._chunks is not None and iter(self._chunks) is self._chunks
        self._used = False
        self.weights = weights
        fixed = {str(v): tuple(map(str, s)) for v, s in (states or {}).items()}
        if variables is not None:
            self.variables: tuple[str, ...] = tuple(map(str, variables))
        elif fixed and self._one_shot:
            self.variables = tuple(fixed)
        else:
            self.variables = ()
        needed = [v for v in self.variables if v not in fixed] if self.variables else None
        if needed is None or needed:
            fixed = {**self._scan_states(needed), **fixed}
        self.states: dict[str, tuple[str, ...]] = {v: fixed[v] for v in self.variables}

    def _iterate(self) -> Iterator[Any]:
        if self._factory is not None:
            yield from self._factory()
            return
        if self._one_shot and self._used:
            raise ModelError(
                "the chunk iterator was already consumed: pass a list of chunks or a callable "
                "returning a fresh iterator (e.g. lambda: iter_csv(path)) for several passes"
            )
        self._used = True
        yield from self._chunks  # type: ignore[misc]

    def _scan_states(self, needed: Sequence[str] | None) -> dict[str, tuple[str, ...]]:
        """One pass collecting the states of every (or every `needed`) column."""
        seen: dict[str, set[str]] = {}
        columns: list[str] = []
        for chunk in self._iterate():
            names = [str(c) for c in chunk.columns if str(c) != self.weights]
            if not columns:
                columns = names
            for c in names if needed is None else needed:
                if c not in chunk.columns:
                    raise ModelError(f"a chunk lacks the column {c!r} (has {names})")
                seen.setdefault(c, set()).update(column_states(chunk[c], c))
        if not self.variables:
            self.variables = tuple(columns)
        return {c: _merge_states(seen, c) for c in seen}

    def with_states(self, states: Mapping[str, Sequence[str]]) -> ChunkedSource:
        """The same chunks encoded over the given state lists (e.g. a model's)."""
        source = self._factory if self._factory is not None else self._chunks
        return ChunkedSource(source, states={**self.states, **states},  # type: ignore[arg-type]
                             variables=self.variables, weights=self.weights)

    def count_many(self, scopes: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Counts of every scope over all chunks (one pass)."""
        totals: list[np.ndarray] | None = None
        for chunk in self._iterate():
            part = encode_frame(chunk, self.states, self.variables, self.weights)
            tables = count_many(part, scopes)
            totals = tables if totals is None else [a + b for a, b in zip(totals, tables,
                                                                          strict=True)]
        if totals is None:
            return count_many(Dataset(self.variables, self.states,
                                      np.zeros((0, len(self.variables)), np.int8)), scopes)
        return totals

    def __repr__(self) -> str:
        return f"ChunkedSource({len(self.variables)} variables)"


def csv_chunks(
    path: str | os.PathLike[str],
    chunksize: int = 100_000,
    states: Mapping[str, Sequence[str]] | None = None,
    weights: str | None = None,
) -> ChunkedSource:
    """A CSV file read `chunksize` rows at a time, on every pass (out of core)."""
    from genlab.pgm.io.csv import iter_csv

    return ChunkedSource(lambda: iter_csv(path, chunksize), states=states, weights=weights)


def as_source(
    data: Any,
    model: Any = None,
    *,
    states: Mapping[str, Sequence[str]] | None = None,
    weights: Any = None,
) -> Any:
    """Data as something `count_many` accepts: a Dataset (in memory), a DaskSource or a
    ChunkedSource (an iterable of DataFrame chunks)."""
    from genlab.pgm.learning.counts import CountSource
    from genlab.pgm.learning.data import _model_states

    if isinstance(data, CountSource):
        return data
    fixed = _model_states(model) if model is not None else {}
    fixed.update({str(v): tuple(map(str, s)) for v, s in (states or {}).items()})
    if is_dask_frame(data):
        from genlab.pgm.learning.distributed import DaskSource

        return DaskSource(data, states=fixed or None, weights=weights)
    if _is_chunks(data):
        if weights is not None and not isinstance(weights, str):
            raise ModelError("weights of chunked data must be a column name")
        return ChunkedSource(data, states=fixed or None,
                             variables=tuple(fixed) if model is not None else None,
                             weights=weights)
    return as_dataset(data, model, states=states, weights=weights)


def is_out_of_core(data: Any) -> bool:
    """Chunks of rows or a Dask DataFrame (counted part by part), not an in-memory table."""
    return is_dask_frame(data) or _is_chunks(data)


def _is_chunks(data: Any) -> bool:
    """An iterable of DataFrames that is not itself a table (DataFrame, dict, array, path)."""
    if isinstance(data, (str, bytes, os.PathLike, Mapping, np.ndarray, Dataset)):
        return False
    if hasattr(data, "columns"):  # a DataFrame
        return False
    return callable(data) or isinstance(data, Iterable)
