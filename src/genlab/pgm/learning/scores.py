"""Decomposable structure scores: score(G) = Σ_v local(v, parents(v)), each from one count table.

Registered by name in SCORES: ``bic`` (the default: log-likelihood − ½ log N · parameters),
``aic``, ``bdeu`` (Bayesian Dirichlet, equivalent uniform prior of `ess` pseudo-rows) and
``k2`` (every Dirichlet parameter 1), plus ``ll`` (the bare log-likelihood). A `Scorer` caches
local scores by family, so a search move re-scores only the one or two families it changes;
`local_many` counts every family it lacks in one pass over a chunked or distributed source.

With missing cells each family is counted on the rows observing it. The likelihood scores
(bic, aic, ll) then rescale its table to the full number of rows — the node-average likelihood
of Balov (2013) — so a family is not favoured for having fewer observed rows; the Bayesian
scores (bdeu, k2) keep the counts as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np
from scipy.special import gammaln, xlogy

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.counts import count_many

__all__ = ["SCORES", "FamilyScorer", "Scorer", "family_score"]

Family = tuple[str, tuple[str, ...]]


def _loglik(table: np.ndarray) -> float:
    """Σ_jk N_jk log(N_jk / N_j) of a (q, r) count table (0 log 0 = 0)."""
    rows = table.sum(axis=1, keepdims=True)
    return float(xlogy(table, table).sum() - xlogy(rows, rows).sum())


def _ll(table: np.ndarray, ess: float) -> float:
    return _loglik(table)


def _bic(table: np.ndarray, ess: float) -> float:
    q, r = table.shape
    n = float(table.sum())
    return _loglik(table) - 0.5 * math.log(max(n, 1.0)) * q * (r - 1)


def _aic(table: np.ndarray, ess: float) -> float:
    q, r = table.shape
    return _loglik(table) - q * (r - 1)


def _dirichlet(table: np.ndarray, alpha: float) -> float:
    """log marginal likelihood of a family under a Dirichlet(alpha, ..., alpha) per row."""
    q, r = table.shape
    rows = table.sum(axis=1)
    return float(
        q * gammaln(r * alpha) - gammaln(r * alpha + rows).sum()
        + gammaln(alpha + table).sum() - table.size * gammaln(alpha)
    )


def _bdeu(table: np.ndarray, ess: float) -> float:
    q, r = table.shape
    return _dirichlet(table, ess / (q * r))


def _k2(table: np.ndarray, ess: float) -> float:
    return _dirichlet(table, 1.0)


AVERAGED = frozenset({"bic", "aic", "ll"})  # rescaled to all rows when cells are missing

SCORES: dict[str, Callable[[np.ndarray, float], float]] = {
    "bic": _bic,
    "aic": _aic,
    "bdeu": _bdeu,
    "k2": _k2,
    "ll": _ll,
}


class FamilyScorer(Protocol):
    """What a structure search needs of a score: local scores of (child, parents) families
    (`Scorer` for discrete data, `GaussianScorer` for linear-Gaussian families)."""

    variables: tuple[str, ...]
    evaluations: int

    def local_many(self, families: Sequence[tuple[str, Iterable[str]]]) -> list[float]: ...


def family_score(counts: np.ndarray, score: str = "bic", ess: float = 1.0) -> float:
    """Local score of one family from its count table (*parent_cards, child_card)."""
    try:
        fn = SCORES[score]
    except KeyError:
        raise ModelError(f"unknown score {score!r}; choose from {sorted(SCORES)}") from None
    table = np.asarray(counts, dtype=np.float64)
    return fn(table.reshape(-1, table.shape[-1]), ess)


class Scorer:
    """Local scores of families on one data source, cached by (child, parent set).

    >>> from genlab.pgm.learning.data import as_dataset
    >>> s = Scorer(as_dataset({"a": [0, 1, 1, 0], "b": [0, 1, 1, 1]}), "ll")
    >>> round(s.local("b", ()), 4), round(s.local("b", ("a",)), 4)
    (-2.2493, -1.3863)
    """

    def __init__(self, data: Any, score: str = "bic", ess: float = 1.0) -> None:
        if score not in SCORES:
            raise ModelError(f"unknown score {score!r}; choose from {sorted(SCORES)}")
        if not ess > 0:
            raise ModelError(f"the equivalent sample size must be positive, got {ess}")
        self.data = data
        self.score = score
        self.ess = float(ess)
        self.variables: tuple[str, ...] = tuple(data.variables)
        self._fn = SCORES[score]
        self._cache: dict[tuple[str, frozenset[str]], float] = {}
        self.evaluations = 0  # families actually counted (cache misses)
        self._rows: float | None = None  # all rows, when some cells may be missing

    @staticmethod
    def _key(child: str, parents: Iterable[str]) -> tuple[str, frozenset[str]]:
        return child, frozenset(parents)

    def local(self, child: str, parents: Iterable[str]) -> float:
        """Score of `child` given the parent set `parents` (any order)."""
        key = self._key(child, parents)
        value = self._cache.get(key)
        if value is None:
            value = self.local_many([(child, tuple(parents))])[0]
        return value

    def local_many(self, families: Sequence[tuple[str, Iterable[str]]]) -> list[float]:
        """Scores of many families; those not cached are counted together (one data pass)."""
        keys = [self._key(c, p) for c, p in families]
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if todo:
            # families over the same variables (c | p and p | c) share one count table
            joint = {frozenset(parents | {child}): None for child, parents in todo}
            scopes = [tuple(sorted(variables)) for variables in joint]
            need_rows = self._needs_rows()
            counted = count_many(self.data, [*scopes, ()] if need_rows else scopes)
            if need_rows:  # all rows, counted in the same pass
                self._rows = float(counted.pop())
            tables = dict(zip(joint, counted, strict=True))
            self.evaluations += len(todo)
            rows = self._rows
            for child, parents in todo:
                variables = frozenset(parents | {child})
                scope = tuple(sorted(variables))
                order = [scope.index(v) for v in (*sorted(parents), child)]
                table = np.transpose(tables[variables], order).reshape(-1, len(
                    self.data.states[child]))
                observed = float(table.sum())
                if rows is not None and 0 < observed < rows:  # node-average likelihood
                    table = table * (rows / observed)
                self._cache[(child, parents)] = self._fn(table, self.ess)
        return [self._cache[k] for k in keys]

    def _needs_rows(self) -> bool:
        """Whether the weight of all rows is still to be counted: likelihood scores on data
        that may have missing cells (a Dataset knows it has none)."""
        from genlab.pgm.learning.data import Dataset

        if self._rows is not None or self.score not in AVERAGED:
            return False
        return not (isinstance(self.data, Dataset) and not self.data.has_missing())

    def total(self, graph: Any) -> float:
        """score(G) = Σ_v local(v, parents(v)) for a DAG, network or {node: parents} map."""
        from genlab.pgm.learning.graph import as_dag

        dag = as_dag(graph)
        return float(sum(self.local_many([(v, dag.parents(v)) for v in dag.nodes])))
