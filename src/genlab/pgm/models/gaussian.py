"""Linear-Gaussian Bayesian networks: x_i = b_i + Σ_j w_ij x_pa(i)_j + ε_i, ε_i ~ N(0, σ_i²).

Inference is exact and runs in information (canonical) form. With A = I − B (B[i, j] = w_ij,
unit lower triangular in topological order) and D = diag(σ²), the joint precision is
J = Aᵀ D⁻¹ A and the information vector h = Aᵀ D⁻¹ b. Conditioning on evidence E slices J
(J_QQ, h_Q − J_QE x_E); marginalising the unobserved variables M out of a query is a Schur
complement J_RR − J_RM J_MM⁻¹ J_MR, with J_MM⁻¹ applied by Cholesky solves. No matrix is
ever inverted explicitly.

For one observed set the posterior covariance is shared by every evidence row and the mean is
affine in the evidence, m(x_E) = m₀ − G x_E, so N rows cost one (N, |E|) × (|E|, |R|) product.
G = J_UU⁻¹ J_UE (U the unobserved variables) is often mostly zeros: J_UU is block diagonal over
the connected components of its graph, so a queried variable's row is zero outside the
evidence touching its component; and G[i, k] is zero whenever x_i ⊥ x_k given the other
evidence (d-separation), which the solves leave as rounding noise (`gain_pattern`). When at
most a third of G is left, large batches use a sparse product.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, solve_triangular
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from genlab.pgm.errors import ModelError

__all__ = ["GaussianCPD", "GaussianDistribution", "LinearGaussianBayesianNetwork"]

LOG_2PI = math.log(2 * math.pi)
_SPARSE_FRACTION = 1 / 3  # a gain with at most this share of nonzeros goes sparse
_SPARSE_MIN_ROWS = 1024  # below this many rows the dense product beats finding G's zeros


@dataclass(frozen=True)
class GaussianCPD:
    """p(x | parents) = N(bias + Σ weights · parents, variance)."""

    name: str
    parents: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    bias: float = 0.0
    variance: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", str(self.name))
        object.__setattr__(self, "parents", tuple(str(p) for p in self.parents))
        weights = tuple(float(w) for w in np.atleast_1d(np.asarray(self.weights, dtype=float)))
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "bias", float(self.bias))
        object.__setattr__(self, "variance", float(self.variance))
        if len(weights) != len(self.parents):
            raise ModelError(
                f"node {self.name!r} has {len(self.parents)} parents {list(self.parents)} but "
                f"{len(weights)} weights"
            )
        if len(set(self.parents)) != len(self.parents) or self.name in self.parents:
            raise ModelError(f"node {self.name!r} has repeated parents or itself as a parent: "
                             f"{list(self.parents)}")
        if not all(math.isfinite(w) for w in (*weights, self.bias)):
            raise ModelError(f"node {self.name!r} has a non-finite weight or bias")
        if not (math.isfinite(self.variance) and self.variance > 0):
            raise ModelError(
                f"node {self.name!r} has variance {self.variance}: it must be positive and finite")

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any]) -> GaussianCPD:
        """From the JSON form {"name", "parents", "weights", "bias", "variance"}."""
        unknown = set(spec) - {"name", "parents", "weights", "bias", "variance"}
        if unknown:
            raise ModelError(f"node {spec.get('name')!r}: unknown fields {sorted(unknown)}")
        if "name" not in spec:
            raise ModelError(f"a node has no name: {dict(spec)}")
        return cls(spec["name"], tuple(spec.get("parents", ())), tuple(spec.get("weights", ())),
                   spec.get("bias", 0.0), spec.get("variance", 1.0))

    def to_mapping(self) -> dict[str, Any]:
        return {"name": self.name, "parents": list(self.parents), "weights": list(self.weights),
                "bias": self.bias, "variance": self.variance}


@dataclass(frozen=True)
class GaussianDistribution:
    """A (posterior) Gaussian over `variables`: `mean` is (q,) or, for N evidence rows, (N, q);
    the covariance is the same for every row."""

    variables: tuple[str, ...]
    mean: np.ndarray
    covariance: np.ndarray
    _position: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_position", {v: i for i, v in enumerate(self.variables)})

    @property
    def batched(self) -> bool:
        return self.mean.ndim == 2

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))

    def _index(self, names: Sequence[str]) -> list[int]:
        try:
            return [self._position[v] for v in names]
        except KeyError as exc:
            raise ModelError(
                f"{exc.args[0]!r} is not in this distribution; it has {list(self.variables)}"
            ) from None

    def marginal(self, names: Sequence[str]) -> GaussianDistribution:
        """The marginal over `names` (in that order): slices of the mean and covariance."""
        idx = self._index(list(names))
        return GaussianDistribution(tuple(names), self.mean[..., idx],
                                    self.covariance[np.ix_(idx, idx)])

    def __getitem__(self, name: str) -> tuple[Any, float]:
        """(mean, variance) of one variable."""
        i = self._index([name])[0]
        return self.mean[..., i], float(self.covariance[i, i])

    def log_density(self, x: Any) -> np.ndarray:
        """log N(x; mean, covariance) of (q,) or (N, q) points (Cholesky, no inverse)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        chol = _cholesky(self.covariance, self.variables, "covariance")
        z = solve_triangular(chol, (x - self.mean).T, lower=True)
        return (-0.5 * (z * z).sum(axis=0) - np.log(np.diag(chol)).sum()
                - 0.5 * len(self.variables) * LOG_2PI)

    def named(self) -> dict[str, Any]:
        """{variable: mean} (floats, or arrays for batched rows)."""
        return {v: (self.mean[..., i] if self.batched else float(self.mean[i]))
                for i, v in enumerate(self.variables)}

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON form: variables, mean and covariance in that order."""
        return {"variables": list(self.variables), "mean": self.mean.tolist(),
                "covariance": self.covariance.tolist()}


def _cholesky(matrix: np.ndarray, names: Sequence[str], what: str) -> np.ndarray:
    """Lower Cholesky factor, or a ModelError naming the variables of a singular system."""
    try:
        chol = cho_factor(matrix, lower=True, check_finite=True)[0]
    except (LinAlgError, ValueError):
        raise ModelError(
            f"singular system: the {what} over {list(names)} is not positive definite") from None
    return np.tril(chol)


@dataclass(frozen=True)
class _Affine:
    """Posterior over R given evidence on E: mean(x_E) = offset − x_E @ gainᵀ; shared cov."""

    query: tuple[str, ...]
    evidence: tuple[str, ...]
    offset: np.ndarray  # (r,)
    gain: np.ndarray  # (r, e)
    chol: np.ndarray  # (r, r) lower Cholesky factor of the posterior precision
    # (J, R, M, E positions) for `sparse_gain`, worked out on the first large batch only
    structure: tuple[np.ndarray, list[int], list[int], list[int]] | None = field(
        default=None, repr=False, compare=False)

    @cached_property
    def sparse_gain(self) -> csr_matrix | None:
        """The gain's nonzero entries as a sparse matrix when they are few (`_sparse_gain`)."""
        return None if self.structure is None else _sparse_gain(*self.structure, self.gain)

    def mean(self, x: np.ndarray) -> np.ndarray:
        """(N, r) posterior means of N evidence rows (N, e)."""
        if not self.evidence:
            return np.broadcast_to(self.offset, (x.shape[0], len(self.offset))).copy()
        if x.shape[0] >= _SPARSE_MIN_ROWS and self.sparse_gain is not None:
            product = np.asarray(self.sparse_gain @ x.T)  # (r, N)
            # in place: a second (N, r) array would cost more in page faults than the product
            np.subtract(self.offset[:, None], product, out=product)
            return product.T
        product = x @ self.gain.T
        np.subtract(self.offset, product, out=product)
        return product

    @cached_property
    def covariance(self) -> np.ndarray:
        """(L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹ by one triangular solve; read-only, shared by every answer."""
        inv_chol = solve_triangular(self.chol, np.eye(len(self.query)), lower=True,
                                    check_finite=False)
        covariance = inv_chol.T @ inv_chol
        covariance.flags.writeable = False
        return covariance

    def draw(self, mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """mean + L⁻ᵀ z: a draw with covariance (L Lᵀ)⁻¹ per row of `mean`."""
        z = rng.standard_normal(mean.shape)
        return mean + solve_triangular(self.chol, z.T, lower=True, trans="T").T


class LinearGaussianBayesianNetwork:
    """A directed model whose every node is a linear regression on its parents plus noise.

    >>> net = LinearGaussianBayesianNetwork([
    ...     GaussianCPD("x1", bias=1.0, variance=4.0),
    ...     GaussianCPD("x2", ("x1",), (0.5,), bias=-5.0, variance=4.0)])
    >>> joint = net.joint()
    >>> joint.mean.tolist(), joint.covariance.tolist()
    ([1.0, -4.5], [[4.0, 2.0], [2.0, 5.0]])
    >>> post = net.query(["x1"], {"x2": -4.5})
    >>> round(float(post.mean[0]), 6), round(float(post.covariance[0, 0]), 6)
    (1.0, 3.2)
    """

    def __init__(self, cpds: Sequence[GaussianCPD | Mapping[str, Any]], name: str = "") -> None:
        from genlab.pgm.learning.graph import DAG

        self.name = name
        nodes = [c if isinstance(c, GaussianCPD) else GaussianCPD.from_mapping(c) for c in cpds]
        by_name: dict[str, GaussianCPD] = {}
        for cpd in nodes:
            if cpd.name in by_name:
                raise ModelError(f"node {cpd.name!r} is defined twice")
            by_name[cpd.name] = cpd
        for cpd in nodes:
            unknown = [p for p in cpd.parents if p not in by_name]
            if unknown:
                raise ModelError(f"node {cpd.name!r} has unknown parents {unknown}")
        self.dag = DAG([c.name for c in nodes], [(p, c.name) for c in nodes for p in c.parents])
        self.variables: tuple[str, ...] = self.dag.topological_order()
        self._cpds = {v: by_name[v] for v in self.variables}
        self._position = {v: i for i, v in enumerate(self.variables)}
        n = len(self.variables)
        weights = np.zeros((n, n))  # B[i, j] = w_ij: the weight of parent j in node i
        for i, v in enumerate(self.variables):
            cpd = self._cpds[v]
            for p, w in zip(cpd.parents, cpd.weights, strict=True):
                weights[i, self._position[p]] = w
        self._a = np.eye(n) - weights  # unit lower triangular (topological order)
        self._sparse_weights = csr_matrix(weights)  # one entry per arc: O(arcs) per row
        self._bias = np.array([self._cpds[v].bias for v in self.variables])
        self._variance = np.array([self._cpds[v].variance for v in self.variables])
        scaled = self._a / self._variance[:, None]  # D⁻¹ A
        self.precision = self._a.T @ scaled  # J = Aᵀ D⁻¹ A
        self.information = scaled.T @ self._bias  # h = Aᵀ D⁻¹ b
        self._affine: dict[tuple[tuple[str, ...], tuple[str, ...]], _Affine] = {}

    # -- structure -------------------------------------------------------------------------
    @property
    def cpds(self) -> tuple[GaussianCPD, ...]:
        return tuple(self._cpds[v] for v in self.variables)

    def cpd(self, name: str) -> GaussianCPD:
        return self._cpds[self._check([name])[0]]

    def parents(self, name: str) -> tuple[str, ...]:
        return self.cpd(name).parents

    def __len__(self) -> int:
        return len(self.variables)

    def __repr__(self) -> str:
        return (f"LinearGaussianBayesianNetwork({len(self.variables)} nodes, "
                f"{self.dag.num_edges} edges)")

    def _check(self, names: Sequence[str]) -> list[str]:
        unknown = [v for v in names if v not in self._position]
        if unknown:
            raise ModelError(f"unknown variables {unknown}; the network has "
                             f"{list(self.variables)}")
        return list(names)

    # -- exact inference ---------------------------------------------------------------------
    def _posterior(self, query: tuple[str, ...], evidence: tuple[str, ...]) -> _Affine:
        """Condition J on `evidence` (slicing), marginalise the other unobserved variables out
        (Schur complement) and factor the result; cached per (query, evidence) names."""
        key = (query, evidence)
        cached = self._affine.get(key)
        if cached is not None:
            return cached
        pos = self._position
        r = [pos[v] for v in query]
        e = [pos[v] for v in evidence]
        taken = set(r) | set(e)
        m = [i for i in range(len(self.variables)) if i not in taken]
        j, h = self.precision, self.information
        j_rr, h_r, j_re = j[np.ix_(r, r)], h[r], j[np.ix_(r, e)]
        if m:  # Schur complement: T = J_MM⁻¹ J_M[R|E] by Cholesky solves
            names = [self.variables[i] for i in m]
            factor = (_cholesky(j[np.ix_(m, m)], names, "precision"), True)
            t_r = cho_solve(factor, j[np.ix_(m, r)], check_finite=False)  # J is finite
            j_rr = j_rr - j[np.ix_(r, m)] @ t_r
            h_r = h_r - t_r.T @ h[m]
            j_re = j_re - t_r.T @ j[np.ix_(m, e)]
        chol = _cholesky(j_rr, query, "posterior precision")
        factor = (chol, True)
        gain = cho_solve(factor, j_re, check_finite=False) if e else np.zeros((len(r), 0))
        offset = cho_solve(factor, h_r, check_finite=False)
        affine = _Affine(query, evidence, offset, gain, chol, (j, r, m, e))
        self._affine[key] = affine
        return affine

    def _evidence(self, evidence: Any) -> tuple[tuple[str, ...], np.ndarray, bool]:
        """(names, (N, e) values, batched) from {name: value or values} or a DataFrame."""
        if evidence is None:
            return (), np.zeros((1, 0)), False
        if hasattr(evidence, "columns") and not isinstance(evidence, Mapping):
            from genlab.pgm.learning.gaussian import numeric_matrix

            names = tuple(str(c) for c in evidence.columns.tolist())  # tolist: fast on
            # pandas' Arrow-backed string columns, which iterate slowly one by one
            values = numeric_matrix(evidence, names, "evidence")
            batched = True
        else:
            names = tuple(str(k) for k in evidence)
            arrays = [np.asarray(evidence[k], dtype=np.float64) for k in evidence]
            batched = any(a.ndim > 0 for a in arrays)
            length = {a.size for a in arrays if a.ndim > 0}
            if len(length) > 1:
                raise ModelError(f"evidence columns have different lengths {sorted(length)}")
            rows = length.pop() if length else 1
            values = np.column_stack([np.broadcast_to(a.reshape(-1), (rows,)) for a in arrays]
                                     ) if arrays else np.zeros((rows, 0))
        self._check(list(names))
        if len(set(names)) != len(names):
            raise ModelError(f"evidence names a variable twice: {list(names)}")
        if not np.isfinite(values).all():
            raise ModelError("evidence holds NaN or infinite values; for rows with different "
                             "missing cells use predict() or log_density()")
        return names, values, batched

    def query(self, variables: Sequence[str] | None = None,
              evidence: Any = None) -> GaussianDistribution:
        """Posterior mean and covariance of `variables` (default: every unobserved one) given
        `evidence` ({name: value}, {name: array of N values} or a DataFrame of N rows)."""
        names, values, batched = self._evidence(evidence)
        if variables is None:
            variables = [v for v in self.variables if v not in names]
        query = tuple(self._check(list(variables)))
        clash = sorted(set(query) & set(names))
        if clash:
            raise ModelError(f"variables {clash} are both queried and observed")
        affine = self._posterior(query, names)
        mean = affine.mean(values)
        return GaussianDistribution(query, mean if batched else mean[0], affine.covariance)

    def joint(self) -> GaussianDistribution:
        """The joint Gaussian over all variables (topological order): mean A⁻¹b and
        covariance A⁻¹ D A⁻ᵀ by triangular solves (exact zeros between independent nodes)."""
        mean = solve_triangular(self._a, self._bias, lower=True, unit_diagonal=True)
        root = solve_triangular(self._a, np.diag(np.sqrt(self._variance)), lower=True,
                                unit_diagonal=True)
        return GaussianDistribution(self.variables, mean, root @ root.T)

    def map_assignment(self, evidence: Any = None) -> dict[str, Any]:
        """The posterior mode of every variable (for a Gaussian, the posterior mean), with the
        evidence values included."""
        names, values, batched = self._evidence(evidence)  # parsed once, used for both parts
        query = tuple(v for v in self.variables if v not in names)
        mean = self._posterior(query, names).mean(values)
        columns = dict(zip(query, mean.T, strict=True)) | dict(zip(names, values.T, strict=True))
        return {v: columns[v].copy() if batched else float(columns[v][0])
                for v in self.variables}

    def predict(self, frame: Any) -> Any:
        """A copy of `frame` with every missing cell (NaN, or a model column it lacks) set to
        its posterior mean given the row's observed cells; one affine map per pattern."""
        import pandas as pd

        from genlab.pgm.learning.gaussian import numeric_matrix

        frame = pd.DataFrame(frame) if isinstance(frame, Mapping) else frame
        columns = frame.columns.tolist()
        extra = [c for c in columns if c not in self._position]
        if extra:
            raise ModelError(f"columns {extra} are not variables of the network")
        given = set(columns)
        present = [v for v in self.variables if v in given]
        values = numeric_matrix(frame, present, "data")
        # column-major, as a DataFrame keeps its columns: adopted below without a copy
        x = np.empty((len(frame), len(self.variables)), order="F")
        x[:, [self._position[v] for v in present]] = values
        absent = tuple(v for v in self.variables if v not in given)
        if not np.isnan(values).any():  # every row observes the same cells: one affine map
            if absent:
                x[:, [self._position[v] for v in absent]] = self._posterior(
                    absent, tuple(present)).mean(values)
            return pd.DataFrame(x, columns=list(self.variables), index=frame.index, copy=False)
        x[:, [self._position[v] for v in absent]] = np.nan
        for observed, rows in _patterns(~np.isnan(x)):
            e = tuple(v for v, o in zip(self.variables, observed, strict=True) if o)
            r = tuple(v for v, o in zip(self.variables, observed, strict=True) if not o)
            if not r:
                continue
            cols = np.array([self._position[v] for v in r], dtype=np.intp)
            given = np.array([self._position[v] for v in e], dtype=np.intp)
            if len(rows) == len(x):  # every row alike: whole columns, no row gather
                x[:, cols] = self._posterior(r, e).mean(x[:, given])
            else:
                x[np.ix_(rows, cols)] = self._posterior(r, e).mean(x[np.ix_(rows, given)])
        return pd.DataFrame(x, columns=list(self.variables), index=frame.index, copy=False)

    def log_density(self, rows: Any) -> np.ndarray:
        """log p(row) for each row; NaN cells are missing, so a row's value is the marginal
        density of what it observes (complete rows: the sum of the nodes' log conditionals)."""
        from genlab.pgm.learning.gaussian import numeric_matrix

        x = numeric_matrix(rows, self.variables, "rows")
        out = np.zeros(x.shape[0])
        for observed, idx in _patterns(~np.isnan(x)):
            if observed.all():  # the directed factorisation: Σ_i log N(x_i; b_i + w·pa, σ_i²)
                cols = np.ascontiguousarray((x if len(idx) == len(x) else x[idx]).T)  # (V, n)
                resid = cols - self._sparse_weights @ cols
                resid -= self._bias[:, None]
                resid *= resid
                resid /= self._variance[:, None]
                out[idx] = (-0.5 * resid.sum(axis=0) - 0.5 * np.log(self._variance).sum()
                            - 0.5 * len(self.variables) * LOG_2PI)
            elif observed.any():
                o = tuple(v for v, k in zip(self.variables, observed, strict=True) if k)
                affine = self._posterior(o, ())  # marginal information form over o
                z = (x[np.ix_(idx, observed)] - affine.offset) @ affine.chol
                out[idx] = (-0.5 * (z * z).sum(axis=1) + np.log(np.diag(affine.chol)).sum()
                            - 0.5 * len(o) * LOG_2PI)
        return out

    def sample(self, n: int | None = None, evidence: Any = None,
               seed: int | np.random.Generator | None = None) -> Any:
        """`n` rows as a DataFrame: ancestral sampling, or exact draws from the posterior given
        `evidence` (N batched evidence rows give one draw per row)."""
        import pandas as pd

        rng = np.random.default_rng(seed)
        names, values, batched = self._evidence(evidence)
        if batched:
            if n not in (None, values.shape[0]):
                raise ModelError(f"{values.shape[0]} evidence rows give one draw each, "
                                 f"not n={n}")
            n = values.shape[0]
        if n is None or isinstance(n, bool) or int(n) != n or n < 0:
            raise ModelError(f"n must be a non-negative integer, got {n!r}")
        n = int(n)
        if not names:  # ancestral: x = A⁻¹ (b + σ ⊙ z)
            noise = self._bias + np.sqrt(self._variance) * rng.standard_normal(
                (n, len(self.variables)))
            x = solve_triangular(self._a, noise.T, lower=True, unit_diagonal=True).T
            return pd.DataFrame(x, columns=list(self.variables))
        query = tuple(v for v in self.variables if v not in names)
        affine = self._posterior(query, names)
        rows = values if batched else np.repeat(values, n, axis=0)
        draws = affine.draw(affine.mean(rows), rng)
        out = pd.DataFrame(draws, columns=list(query))
        for i, v in enumerate(names):
            out[v] = rows[:, i]
        return out[list(self.variables)]

    # -- learning ----------------------------------------------------------------------------
    def fit(self, data: Any, variance: str = "mle") -> LinearGaussianBayesianNetwork:
        """A network of this structure with every node refitted by least squares on `data`."""
        from genlab.pgm.learning.gaussian import fit_gaussian

        return fit_gaussian(self.dag, data, variance=variance)

    # -- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"nodes": [c.to_mapping() for c in self.cpds]}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], name: str = "") -> LinearGaussianBayesianNetwork:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("nodes"), list):
            raise ModelError('a linear-Gaussian network is {"nodes": [...]}')
        return cls(spec["nodes"], name=name)


def gain_pattern(j: np.ndarray, r: list[int], m: list[int], e: list[int],
                 gain: np.ndarray) -> np.ndarray:
    """(|R|, |E|) bool: which entries of the gain G = J_UU⁻¹ J_UE (rows R) can be nonzero.

    Two kinds of zeros. Structural: the unobserved variables U = R ∪ M split into the
    connected components of J_UU's graph, J_UU⁻¹ is block diagonal over them, so G[i, k] is
    exactly zero unless evidence variable k is a neighbour (J ≠ 0) of i's component.
    Conditional independence: G[i, k] is the regression coefficient of x_k in E[x_i | x_E],
    zero when x_i ⊥ x_k given the other evidence (d-separation: e.g. a descendant given all
    of its ancestors' parents); the solves leave those as rounding noise, ≤ 1e-14 of the
    row's largest entry, against ≥ 1e-6 for real dependences on the benchmark networks. An
    entry below 64·|E|·ε of its row's largest is taken as zero: that moves a mean by less
    than the dense product's own rounding.
    """
    u = r + m
    count, label = connected_components(csr_matrix(j[np.ix_(u, u)] != 0), directed=False)
    touches = np.zeros((count, len(e)), dtype=bool)  # component × evidence adjacency
    np.logical_or.at(touches, label, j[np.ix_(u, e)] != 0)
    size = np.abs(gain)
    noise = 64 * len(e) * np.finfo(np.float64).eps * size.max(axis=1, keepdims=True)
    return touches[label[:len(r)]] & (size > noise)


def _sparse_gain(j: np.ndarray, r: list[int], m: list[int], e: list[int],
                 gain: np.ndarray) -> csr_matrix | None:
    """The gain's nonzero entries (`gain_pattern`) as a sparse matrix, or None when they are
    more than `_SPARSE_FRACTION` of it (the dense product is then as quick)."""
    if not e or not r:
        return None
    pattern = gain_pattern(j, r, m, e, gain)
    if pattern.sum() > _SPARSE_FRACTION * pattern.size:
        return None
    return csr_matrix(np.where(pattern, gain, 0.0))


def _patterns(observed: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows grouped by their observed-cells pattern: [(pattern (V,) bool, row indices)]."""
    if observed.shape[0] == 0:
        return []
    if (observed == observed[0]).all():  # one pattern (the common case): no grouping
        return [(observed[0], np.arange(observed.shape[0]))]
    packed = np.packbits(observed, axis=1)  # each row's pattern as a few bytes
    codes = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse))[:-1]
    return [(observed[first[k]], rows)
            for k, rows in enumerate(np.split(order, bounds))]
