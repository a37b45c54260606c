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


def used_columns(variables: Sequence[str], scopes: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The columns some scope names, in the source's order: a pass encodes only those."""
    named = {v for scope in scopes for v in scope}
    return tuple(v for v in variables if v in named)


class _OneShot:
    """A one-shot iterator of chunks as a factory that may be called once: every copy of a
    source made from it (`with_states`) shares the single pass."""

    def __init__(self, chunks: Iterable[Any]) -> None:
        self.chunks = chunks
        self.used = False

    def __call__(self) -> Iterable[Any]:
        if self.used:
            raise ModelError(
                "the chunk iterator was already consumed: pass a list of chunks or a callable "
                "returning a fresh iterator (e.g. lambda: iter_csv(path)) for several passes"
            )
        self.used = True
        return self.chunks


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
        if callable(chunks):
            self._factory: Callable[[], Iterable[Any]] = chunks
        elif iter(chunks) is chunks:  # a one-shot iterator: copies share its single pass
            self._factory = _OneShot(chunks)
        else:
            self._factory = lambda: chunks
        self._one_shot = isinstance(self._factory, _OneShot)
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
        yield from self._factory()

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
        return ChunkedSource(self._factory, states={**self.states, **states},
                             variables=self.variables, weights=self.weights)

    def count_many(self, scopes: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Counts of every scope over all chunks (one pass)."""
        totals: list[np.ndarray] | None = None
        needed = used_columns(self.variables, scopes)
        for chunk in self._iterate():
            part = encode_frame(chunk, self.states, needed, self.weights)
            tables = count_many(part, scopes)
            totals = tables if totals is None else [a + b for a, b in zip(totals, tables,
                                                                          strict=True)]
        if totals is None:
            return count_many(Dataset(needed, {v: self.states[v] for v in needed},
                                      np.zeros((0, len(needed)), np.int8)), scopes)
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
