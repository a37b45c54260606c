"""Learning linear-Gaussian networks: sufficient statistics, least-squares families, BIC.

Everything a linear-Gaussian family needs from data is in (n, mean, centred scatter matrix)
over the columns. These statistics are additive over row partitions (Chan et al.'s pairwise
update, which keeps them accurate when the means are large), so a DataFrame, an iterable of
chunks and a Dask DataFrame are all reduced the same way. A family's regression is then a
Cholesky solve on a slice of the covariance: no pass over the rows per family.

`GaussianScorer` has the interface of `Scorer` (variables, local, local_many, evaluations),
so `hill_climb` / `tabu_search` learn linear-Gaussian structures with `score="bic-g"`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from genlab.pgm.errors import ModelError

__all__ = [
    "GAUSSIAN_SCORES",
    "FamilyFit",
    "GaussianScorer",
    "GaussianStatistics",
    "fit_gaussian",
    "gaussian_statistics",
    "learn_gaussian",
    "numeric_matrix",
]

GAUSSIAN_SCORES = ("bic-g", "aic-g", "ll-g")
# a residual variance below this fraction of the child's variance is a deterministic relation
DETERMINISTIC = 1e-12


def numeric_matrix(frame: Any, variables: Sequence[str], what: str = "data") -> np.ndarray:
    """The (N, len(variables)) float64 matrix of a DataFrame's (or mapping's) columns; NaN for
    missing cells. Text that is not a number is an error naming the column and the row.
    May be a read-only view of the frame's data (callers only read it)."""
    import pandas as pd

    if isinstance(frame, Mapping):
        frame = pd.DataFrame({k: np.asarray(v) for k, v in frame.items()})
    if isinstance(frame, np.ndarray):
        array = np.asarray(frame, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != len(variables):
            raise ModelError(
                f"{what}: expected an (N, {len(variables)}) array, got shape {array.shape}")
        return array
    columns = set(frame.columns.tolist())  # tolist: quick on Arrow-backed string columns
    missing = [v for v in variables if v not in columns]
    if missing:
        raise ModelError(f"{what} has no column for {missing}; it has {list(frame.columns)}")
    dtypes = frame.dtypes
    every_numeric = all(pd.api.types.is_numeric_dtype(t) for t in set(dtypes))
    if every_numeric or all(pd.api.types.is_numeric_dtype(dtypes[v]) for v in variables):
        if every_numeric and frame.columns.is_unique:  # one block: no frame copy
            array = frame.to_numpy(dtype=np.float64)
            order = frame.columns.get_indexer(variables)
            if len(order) == array.shape[1] and (order == np.arange(len(order))).all():
                array = array.view()  # the frame's own columns in order: no copy, read-only
                array.flags.writeable = False
                return array
            return array[:, order]
        return frame[list(variables)].to_numpy(dtype=np.float64)
    columns = []
    for v in variables:
        raw = frame[v]
        if pd.api.types.is_numeric_dtype(raw):
            columns.append(raw.to_numpy(dtype=np.float64))
            continue
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(values) & raw.notna().to_numpy() & (raw.astype(str).str.strip() != "")
        if bad.any():
            row = frame.index[int(np.flatnonzero(bad)[0])]
            where = f"line {row}" if frame.index.name == "line" else f"row {row!r}"
            raise ModelError(
                f"{what}: column {v!r} holds {raw.loc[row]!r} at {where}, not a number")
        columns.append(values)
    return np.column_stack(columns) if columns else np.zeros((len(frame), 0))


@dataclass(frozen=True)
class FamilyFit:
    """Least-squares fit of child = bias + weights · parents + ε (maximum likelihood)."""

    child: str
    parents: tuple[str, ...]
    weights: np.ndarray  # (len(parents),)
    bias: float
    variance: float  # residual variance, maximum likelihood (divided by n)
    rows: float

    @property
    def log_likelihood(self) -> float:
        """Maximised Gaussian log-likelihood of the child's column given its parents."""
        return -0.5 * self.rows * (math.log(2 * math.pi * self.variance) + 1.0)


@dataclass(frozen=True)
class GaussianStatistics:
    """(n, mean, centred scatter) over named columns: all a linear-Gaussian fit needs."""

    variables: tuple[str, ...]
    rows: float
    mean: np.ndarray  # (V,)
    scatter: np.ndarray  # (V, V) Σ_rows (x − mean)(x − mean)ᵀ

    @classmethod
    def from_matrix(cls, variables: Sequence[str], x: np.ndarray) -> GaussianStatistics:
        """Statistics of an (N, V) matrix; NaN cells are an error (no imputation here)."""
        x = np.asarray(x, dtype=np.float64)
        if not np.isfinite(x).all():
            bad = np.argwhere(~np.isfinite(x))[0]
            raise ModelError(
                f"column {variables[bad[1]]!r} has a missing or infinite value in row {bad[0]}: "
                "a linear-Gaussian fit needs complete rows (drop or impute them first)"
            )
        n = x.shape[0]
        mean = x.mean(axis=0) if n else np.zeros(x.shape[1])
        centred = x - mean
        return cls(tuple(variables), float(n), mean, centred.T @ centred)

    def __add__(self, other: GaussianStatistics) -> GaussianStatistics:
        """Statistics of the union of two row partitions (Chan, Golub & LeVeque's update)."""
        if other.variables != self.variables:
            raise ModelError("statistics over different columns cannot be added")
        n = self.rows + other.rows
        if n == 0:
            return self
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.rows / n)
        scatter = self.scatter + other.scatter + np.outer(delta, delta) * (
            self.rows * other.rows / n)
        return GaussianStatistics(self.variables, n, mean, scatter)

    @property
    def covariance(self) -> np.ndarray:
        """Maximum-likelihood covariance (scatter / n)."""
        return self.scatter / max(self.rows, 1.0)

    def index(self, names: Iterable[str]) -> list[int]:
        position = {v: i for i, v in enumerate(self.variables)}
        try:
            return [position[v] for v in names]
        except KeyError as exc:
            raise ModelError(f"no column {exc.args[0]!r} in the data") from None

    def regress(self, child: str, parents: Sequence[str]) -> FamilyFit:
        """Least squares of `child` on `parents` from the statistics (a Cholesky solve)."""
        parents = tuple(parents)
        if self.rows < len(parents) + 2:
            raise ModelError(
                f"{child!r} given {list(parents)}: {self.rows:g} rows cannot fit "
                f"{len(parents) + 2} parameters"
            )
        c, p = self.index([child])[0], self.index(parents)
        cov = self.covariance
        if p:
            cpp = cov[np.ix_(p, p)]
            try:
                factor = cho_factor(cpp, lower=True)
                if np.min(np.abs(np.diag(factor[0]))) ** 2 <= DETERMINISTIC * max(
                        float(np.max(np.diag(cpp))), 1e-300):
                    raise LinAlgError
            except LinAlgError:
                raise ModelError(
                    f"singular system: the parents {list(parents)} of {child!r} are collinear "
                    "(or constant) in the data"
                ) from None
            weights = cho_solve(factor, cov[p, c])
            variance = float(cov[c, c] - weights @ cov[p, c])
        else:
            weights = np.zeros(0)
            variance = float(cov[c, c])
        if not variance > DETERMINISTIC * max(float(cov[c, c]), 1e-300):
            raise ModelError(
                f"{child!r} is a deterministic function of {list(parents) or 'nothing'} in the "
                f"data (residual variance {variance:.3g}): a Gaussian needs a positive variance"
            )
        bias = float(self.mean[c] - weights @ self.mean[p]) if p else float(self.mean[c])
        return FamilyFit(child, parents, weights, bias, variance, self.rows)


def _partition_statistics(frame: Any, variables: tuple[str, ...]) -> GaussianStatistics:
    return GaussianStatistics.from_matrix(variables, numeric_matrix(frame, variables))


def _columns(data: Any) -> tuple[str, ...]:
    if isinstance(data, Mapping):
        return tuple(str(k) for k in data)
    return tuple(str(c) for c in data.columns)


def gaussian_statistics(
    data: Any, variables: Sequence[str] | None = None
) -> GaussianStatistics:
    """Statistics of numeric data: a DataFrame or {column: values} mapping, a Dask DataFrame
    (each partition reduced where it lives), or an iterable of DataFrame chunks."""
    from genlab.pgm.learning.sources import is_dask_frame

    if isinstance(data, GaussianStatistics):
        return data
    if is_dask_frame(data):
        import dask

        names = tuple(variables) if variables is not None else _columns(data)
        parts = [dask.delayed(_partition_statistics)(p, names) for p in data.to_delayed()]
        results = dask.compute(*parts)
        return _sum(results, names)
    if isinstance(data, Mapping) or hasattr(data, "columns"):
        names = tuple(variables) if variables is not None else _columns(data)
        return _partition_statistics(data, names)
    chunks = iter(data)
    first = next(chunks, None)
    if first is None:
        raise ModelError("no data: the chunk iterable is empty")
    names = tuple(variables) if variables is not None else _columns(first)
    total = _partition_statistics(first, names)
    for chunk in chunks:
        total = total + _partition_statistics(chunk, names)
    return total


def _sum(parts: Sequence[GaussianStatistics], names: tuple[str, ...]) -> GaussianStatistics:
    total = GaussianStatistics(names, 0.0, np.zeros(len(names)), np.zeros((len(names),) * 2))
    for part in parts:
        total = total + part
    return total


def _penalty(score: str, rows: float, parameters: int) -> float:
    if score == "bic-g":
        return 0.5 * math.log(max(rows, 1.0)) * parameters
    if score == "aic-g":
        return float(parameters)
    return 0.0


class GaussianScorer:
    """Decomposable scores of linear-Gaussian families, cached by (child, parent set).

    ``bic-g``: maximised log-likelihood − ½ log n · (|parents| + 2); ``aic-g`` and ``ll-g``
    likewise. Drop-in for `Scorer` in `hill_climb` and `tabu_search` (not `exact_search`,
    which sizes its tables from discrete state counts).

    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=500); b = 2 * a + rng.normal(size=500)
    >>> s = GaussianScorer({"a": a, "b": b})
    >>> s.local("b", ("a",)) > s.local("b", ())
    True
    """

    def __init__(self, data: Any, score: str = "bic-g") -> None:
        if score not in GAUSSIAN_SCORES:
            raise ModelError(f"unknown Gaussian score {score!r}; choose from {GAUSSIAN_SCORES}")
        self.statistics = gaussian_statistics(data)
        self.score = score
        self.variables: tuple[str, ...] = self.statistics.variables
        self.evaluations = 0
        self._cache: dict[tuple[str, frozenset[str]], float] = {}

    def local(self, child: str, parents: Iterable[str]) -> float:
        return self.local_many([(child, tuple(parents))])[0]

    def local_many(self, families: Sequence[tuple[str, Iterable[str]]]) -> list[float]:
        out = []
        for child, parents in families:
            key = (child, frozenset(parents))
            value = self._cache.get(key)
            if value is None:
                try:
                    fit = self.statistics.regress(child, sorted(key[1]))
                    value = fit.log_likelihood - _penalty(self.score, fit.rows, len(key[1]) + 2)
                except ModelError:  # collinear or deterministic: never a better family
                    if not key[1]:  # a constant column: no family of it is a Gaussian
                        raise
                    value = -math.inf
                self._cache[key] = value
                self.evaluations += 1
            out.append(value)
        return out

    def total(self, graph: Any) -> float:
        """score(G) = Σ_v local(v, parents(v))."""
        from genlab.pgm.learning.graph import as_dag

        dag = as_dag(graph)
        return float(sum(self.local_many([(v, dag.parents(v)) for v in dag.nodes])))


VARIANCE_ESTIMATORS = ("mle", "unbiased")


def fit_gaussian(structure: Any, data: Any, variance: str = "mle") -> Any:
    """A `LinearGaussianBayesianNetwork` with the structure of `structure` (a DAG, a network
    or a {node: parents} map) and every node fitted by least squares on `data` (one pass
    over the rows for the statistics, then a Cholesky solve per family). `variance="mle"`
    divides the residual sum of squares by n, "unbiased" by n − |parents| − 1 (pgmpy's
    default)."""
    from genlab.pgm.learning.graph import as_dag
    from genlab.pgm.models.gaussian import GaussianCPD, LinearGaussianBayesianNetwork

    if variance not in VARIANCE_ESTIMATORS:
        raise ModelError(f"variance must be one of {VARIANCE_ESTIMATORS}, got {variance!r}")
    dag = as_dag(structure.dag if hasattr(structure, "cpds") else structure)
    stats = gaussian_statistics(data, dag.nodes)
    cpds = []
    for v in dag.nodes:
        fit = stats.regress(v, dag.parents(v))
        scale = 1.0 if variance == "mle" else fit.rows / (fit.rows - len(fit.parents) - 1)
        cpds.append(GaussianCPD(v, fit.parents, tuple(fit.weights), fit.bias,
                                fit.variance * scale))
    return LinearGaussianBayesianNetwork(cpds)


def learn_gaussian(
    data: Any, score: str = "bic-g", method: str = "tabu", **search: Any
) -> tuple[Any, Any]:
    """Structure and parameters of a linear-Gaussian network: the shared DAG search
    (`tabu` or `hill_climb`, with their keyword arguments) on a Gaussian score, then
    least squares. Returns (network, search result)."""
    from genlab.pgm.learning.search import hill_climb, tabu_search

    searches: dict[str, Callable[..., Any]] = {"tabu": tabu_search, "hill_climb": hill_climb}
    if method not in searches:
        raise ModelError(f"unknown search {method!r}; choose from {sorted(searches)}")
    scorer = GaussianScorer(data, score)
    result = searches[method](scorer=scorer, **search)
    return fit_gaussian(result.dag, scorer.statistics), result
