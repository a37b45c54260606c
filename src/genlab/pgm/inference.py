"""Exact inference: log Z / log P(e), all posterior marginals, joint queries and MAP.

Every query is the same planned contraction (genlab.pgm.contract) in a different semiring:
sum-product for Z and marginals (all marginals = one forward + one backward pass), max-product
with backtracking for MAP. Plans are cached per model and evidence pattern, so many queries —
or one call with N evidence rows, run with a batch axis — pay for planning once.

Evidence is {variable: state} (a state name or index); batched evidence is a list of such
dicts, a dict of columns, or an int array (N, k) with `columns` naming its k variables.
Virtual (soft) evidence is `likelihood={variable: vector}`: a non-negative vector over the
variable's states, (card,) for every row or (N, card) per row, multiplied into the model as a
unary factor — one-hot where a cell is observed, ones where it is missing, so rows with
different missing cells still share one plan (EM's E-step, log-likelihoods of incomplete rows).
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np

from genlab.pgm.contract import CompiledPlan, backtrack, backward, forward, sample_backward
from genlab.pgm.errors import ContractionTooLarge, ModelError, ZeroEvidenceError
from genlab.pgm.factor import Factor
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.plan import ContractionPlan, plan_contraction
from genlab.pgm.semiring import rescale

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "ExactInference",
    "MapResult",
    "engine",
    "log_partition",
    "map_assignment",
    "marginals",
    "query",
]

DEFAULT_MAX_MEMORY = int(float(os.environ.get("GENLAB_MAX_MEMORY", 4 * 2**30)))  # bytes


class Model(Protocol):
    def to_factor_graph(self) -> FactorGraph: ...


EvidenceArg = Mapping[str, Any] | Sequence[Mapping[str, Any]] | np.ndarray | None


def batched_evidence(evidence: EvidenceArg) -> bool:
    """Whether evidence holds many rows (a list of dicts, a dict of columns, an int array)
    rather than one {variable: state} dict."""
    if evidence is None:
        return False
    if isinstance(evidence, Mapping):
        return any(isinstance(s, (list, tuple, np.ndarray)) for s in evidence.values())
    return True


@dataclass(frozen=True)
class MapResult:
    """The jointly most probable assignment of the unobserved variables.

    `assignment` maps every variable (observed ones too) to a state index — an int, or an
    (N,) array for batched evidence. `log_probability` is log Π_α ψ_α(x) at that assignment:
    log P(x, e) for a Bayesian network (subtract log Z for a Markov network).

    `exact` says whether the assignment is proven optimal (the contraction always is); an
    approximate answer names its `method` and carries the `report` of the search behind it
    and, where one is known, an upper `bound` on the optimal log score.
    """

    assignment: dict[str, Any]
    log_probability: Any
    states: Mapping[str, tuple[str, ...]]
    exact: bool = True
    method: str = "contract"
    bound: Any = None
    report: Any = None

    def named(self) -> dict[str, Any]:
        """The assignment with state names where the model has them."""
        out: dict[str, Any] = {}
        for v, s in self.assignment.items():
            names = self.states.get(v)
            if names is None:
                out[v] = s
            elif np.ndim(s):
                out[v] = [names[int(i)] for i in s]
            else:
                out[v] = names[int(s)]
        return out


LikelihoodArg = Mapping[str, Any] | None


@dataclass
class _Prepared:
    """A compiled plan for one evidence pattern (hard and soft variables) and kept set."""

    compiled: CompiledPlan
    observed: tuple[int, ...]
    soft: tuple[int, ...]  # variables with a likelihood vector: plan inputs after the factors
    inputs: list[int]  # factor indices feeding the plan (scope non-empty after evidence)
    constants: list[int]  # factor indices fully observed (a number per row)
    input_scopes: list[tuple[int, ...]]
    owners: dict[int, tuple[int, int]]  # variable -> (smallest input holding it, its axis)
    groups: dict[int, list[tuple[str, tuple[int, ...]]]]  # input -> [(variable, axes to sum)]
    _all_adjoints: CompiledPlan | None = None

    def all_adjoints(self) -> CompiledPlan:
        """The same plan compiled to deliver the adjoint of every factor input (statistics)."""
        if self._all_adjoints is None:
            wanted = frozenset(range(len(self.inputs)))
            self._all_adjoints = CompiledPlan(self.compiled.plan, wanted=wanted)
        return self._all_adjoints


@dataclass(frozen=True)
class _Batch:
    """The evidence of one call: hard rows (size, k) and soft vectors (size or 1, card)."""

    observed: tuple[int, ...]
    rows: np.ndarray
    soft: tuple[int, ...]
    likelihoods: tuple[np.ndarray, ...]
    batched: bool

    @property
    def size(self) -> int:
        return int(self.rows.shape[0])

    def part(self, start: int, stop: int) -> _Batch:
        return _Batch(
            self.observed,
            self.rows[start:stop],
            self.soft,
            tuple(x if x.shape[0] == 1 else x[start:stop] for x in self.likelihoods),
            self.batched,
        )


class ExactInference:
    """Exact inference on one model; keeps its compiled plans (plan once, query many).

    >>> from genlab.pgm.factor import Factor
    >>> fg = FactorGraph([Factor(("a", "b"), [[1.0, 2.0], [3.0, 4.0]])])
    >>> round(float(np.exp(ExactInference(fg).log_partition())), 6)
    10.0
    """

    def __init__(
        self, model: Model, planner: str = "auto", max_memory: int = DEFAULT_MAX_MEMORY
    ) -> None:
        self.graph = model.to_factor_graph()
        self.planner = planner
        self.max_memory = int(max_memory)
        g = self.graph
        self.var_id = {v: i for i, v in enumerate(g.variables)}
        self.sizes = tuple(g.cards[v] for v in g.variables)
        self._scopes: list[tuple[int, ...]] = []
        self._orders: list[tuple[int, ...]] = []  # factor axis order -> sorted-id order
        self._tables: list[np.ndarray] = []
        self._logs: list[float] = []
        used: set[int] = set()
        with np.errstate(divide="ignore"):
            for f in g.factors:
                ids = [self.var_id[v] for v in f.variables]
                order = sorted(range(len(ids)), key=ids.__getitem__)
                table = np.transpose(f.table, order) if order != list(range(len(ids))) else f.table
                peak = float(table.max()) if table.size else 0.0
                self._scopes.append(tuple(ids[i] for i in order))
                self._orders.append(tuple(order))
                scaled = (table / (peak if peak > 0 else 1.0))[None]
                scaled.setflags(write=False)  # shared by every query: never scaled in place
                self._tables.append(scaled)
                self._logs.append(float(np.log(peak)))
                used.update(ids)
        self._isolated = [i for i in range(len(self.sizes)) if i not in used]
        self._prepared: dict[
            tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], _Prepared
        ] = {}

    def with_model(self, model: Model) -> ExactInference:
        """An engine for a model with the same variables and factor scopes but new tables,
        sharing this engine's plans and compiled kernels (EM re-parameterises every
        iteration; plans depend on scopes only)."""
        other = ExactInference(model, self.planner, self.max_memory)
        if other.graph.variables != self.graph.variables or other.sizes != self.sizes:
            raise ModelError(
                f"with_model needs the same variables and cardinalities: "
                f"{dict(zip(other.graph.variables, other.sizes, strict=True))} against "
                f"{dict(zip(self.graph.variables, self.sizes, strict=True))}"
            )
        if other._scopes != self._scopes:
            pairs = zip(other.graph.factors, self.graph.factors, strict=False)
            differ = [(a.variables, b.variables) for a, b in pairs if a.variables != b.variables]
            first = differ[0] if differ else (len(other._scopes), len(self._scopes))
            raise ModelError(
                "with_model needs the same factors (same scopes, same order); first "
                f"difference: {first[0]} against {first[1]}"
            )
        other._prepared = self._prepared
        return other

    # -- evidence ------------------------------------------------------------------------------
    def _encode(
        self,
        evidence: EvidenceArg,
        columns: Sequence[str] | None,
        likelihood: LikelihoodArg = None,
    ) -> _Batch:
        """Hard evidence (observed ids sorted, rows in that column order) and soft evidence
        (variable ids sorted, likelihood arrays), broadcast to one batch size."""
        g = self.graph
        if evidence is None or (isinstance(evidence, Mapping) and not evidence):
            observed, rows, batched = (), np.zeros((1, 0), dtype=np.intp), False
        else:
            if not batched_evidence(evidence):
                coded = g.encode_evidence(cast("Mapping[str, Any]", evidence))
                names: tuple[str, ...] = tuple(coded)
                rows = np.array([list(coded.values())], np.intp)
                batched = False
            else:
                names, rows = g.encode_evidence_rows(evidence, columns)  # type: ignore[arg-type]
                batched = True
            ids = [self.var_id[v] for v in names]
            order = sorted(range(len(ids)), key=ids.__getitem__)
            observed, rows = tuple(ids[i] for i in order), rows[:, order]
        soft: list[int] = []
        arrays: list[np.ndarray] = []
        size = rows.shape[0]
        for v in sorted(likelihood or {}, key=lambda v: self.var_id.get(str(v), -1)):
            i, array = self._likelihood(str(v), (likelihood or {})[v], observed)
            soft.append(i)
            arrays.append(array)
            if array.shape[0] != 1:
                if size not in (1, array.shape[0]):
                    raise ModelError(
                        f"likelihood of {v!r} has {array.shape[0]} rows but the evidence has "
                        f"{size}"
                    )
                size = array.shape[0]
                batched = True
        if rows.shape[0] != size:
            rows = np.broadcast_to(rows, (size, rows.shape[1]))
        return _Batch(observed, rows, tuple(soft), tuple(arrays), batched)

    def _likelihood(
        self, v: str, values: Any, observed: tuple[int, ...]
    ) -> tuple[int, np.ndarray]:
        """One variable's likelihood as a validated float64 array (rows or 1, card)."""
        i = self.var_id.get(v)
        if i is None:
            raise ModelError(f"likelihood names the unknown variable {v!r} in {self.graph!r}")
        if i in observed:
            raise ModelError(f"variable {v!r} has both hard evidence and a likelihood")
        array = np.asarray(values, dtype=np.float64)
        card = self.sizes[i]
        if array.ndim == 1:
            array = array[None]
        if array.ndim != 2 or array.shape[1] != card:
            raise ModelError(
                f"likelihood of {v!r} must have shape ({card},) or (N, {card}), "
                f"got {np.shape(values)}"
            )
        if not np.all(np.isfinite(array)) or (array.size and array.min() < 0):
            raise ModelError(f"likelihood of {v!r} must be finite and non-negative")
        return i, array

    # -- planning ------------------------------------------------------------------------------
    def _prepare(
        self, observed: tuple[int, ...], keep: tuple[int, ...], soft: tuple[int, ...] = ()
    ) -> _Prepared:
        key = (observed, keep, soft)
        prepared = self._prepared.get(key)
        if prepared is None:
            obs = set(observed)
            inputs, constants, scopes = [], [], []
            for i, s in enumerate(self._scopes):
                reduced = tuple(v for v in s if v not in obs)
                if reduced:
                    inputs.append(i)
                    scopes.append(reduced)
                else:
                    constants.append(i)
            scopes += [(v,) for v in soft]
            present = {v for sc in scopes for v in sc}
            plan = plan_contraction(
                scopes, self.sizes, [v for v in keep if v in present], self.planner
            )
            owners = self._owners(scopes)
            names = self.graph.variables
            groups: dict[int, list[tuple[str, tuple[int, ...]]]] = {}
            for v, (k, axis) in owners.items():
                axes = tuple(a for a in range(1, len(scopes[k]) + 1) if a != axis)
                groups.setdefault(k, []).append((names[v], axes))
            compiled = CompiledPlan(plan, wanted=frozenset(groups))  # adjoints marginals read
            prepared = _Prepared(
                compiled, observed, soft, inputs, constants, scopes, owners, groups
            )
            self._prepared[key] = prepared
        return prepared

    def plan(self, evidence_vars: Sequence[str] = (), keep: Sequence[str] = ()) -> ContractionPlan:
        """The contraction plan (with its cost) for this evidence pattern and kept variables."""
        observed = tuple(sorted(self.var_id[self._check_var(v)] for v in evidence_vars))
        return self._prepare(
            observed, tuple(sorted(self.var_id[self._check_var(v)] for v in keep))
        ).compiled.plan

    def bytes_per_row(self, evidence_vars: Sequence[str], what: str) -> int:
        """Memory one evidence row of a query needs ("log_partition", "marginals" or
        "map_assignment") — what the query checks against `max_memory` before it starts."""
        observed = tuple(sorted(self.var_id[self._check_var(v)] for v in evidence_vars))
        prepared = self._prepare(observed, ())
        plan = prepared.compiled.plan
        entries = {"log_partition": plan.largest_intermediate,
                   "marginals": self._backward_entries(prepared),
                   "map_assignment": 3 * plan.total_intermediate}[what]
        return max(1, entries) * 8

    def _check_var(self, v: str) -> str:
        if v not in self.var_id:
            raise ModelError(f"unknown variable {v!r} in {self.graph!r}")
        return v

    def _chunks(
        self, prepared: _Prepared, batch: _Batch, per_row_entries: int, what: str
    ) -> Iterator[tuple[int, _Batch, list[np.ndarray], list[Any], np.ndarray]]:
        """(start, evidence slice, inputs, their log scales, log constants) per slice of rows,
        each slice as large as the memory budget allows (fail fast when one row won't fit)."""
        per_row = max(1, per_row_entries) * 8
        size = self.max_memory // per_row
        if size < 1:
            plan = prepared.compiled.plan
            raise ContractionTooLarge(
                f"{what} needs about {per_row / 2**30:.3g} GiB for one evidence row "
                f"(plan {plan.describe()}), over the budget of {self.max_memory / 2**30:.3g} GiB; "
                "raise max_memory, add evidence, or use approximate inference"
            )
        for start in range(0, batch.size, int(size)):
            part = batch.part(start, start + int(size))
            yield (start, part, *self._leaves(prepared, part))

    # -- leaves --------------------------------------------------------------------------------
    def _leaves(
        self, prepared: _Prepared, batch: _Batch
    ) -> tuple[list[np.ndarray], list[Any], np.ndarray]:
        """Evidence-reduced input tensors (batch axis first), the soft vectors after them,
        their log scales, and the log of the constants."""
        column = {v: j for j, v in enumerate(prepared.observed)}
        rows = batch.rows
        arrays: list[np.ndarray] = []
        logs: list[Any] = []
        for i in prepared.inputs:
            arrays.append(self._reduce(i, column, rows))
            logs.append(self._logs[i])
        for likelihood in batch.likelihoods:
            scaled, log = rescale(likelihood)
            arrays.append(scaled)
            logs.append(log)
        const = np.zeros(batch.size)
        with np.errstate(divide="ignore"):
            for i in prepared.constants:
                const = const + np.log(self._reduce(i, column, rows).reshape(-1)) + self._logs[i]
        return arrays, logs, const

    def _reduce(self, i: int, column: Mapping[int, int], rows: np.ndarray) -> np.ndarray:
        """Factor i's table with observed axes indexed by the evidence rows: (N or 1, *rest)."""
        scope, table = self._scopes[i], self._tables[i]
        obs_axes = [a for a, v in enumerate(scope) if v in column]
        if not obs_axes:
            return table
        rest = [a for a, v in enumerate(scope) if v not in column]
        moved = np.transpose(table[0], (*obs_axes, *rest))
        return moved[tuple(rows[:, column[scope[a]]] for a in obs_axes)]

    def _isolated_log(self, batch: _Batch) -> float:
        """log of the number of states of variables in no factor (each multiplies Z), less
        those fixed by hard evidence or weighed by a likelihood (it is in the plan then)."""
        done = set(batch.observed) | set(batch.soft)
        return float(sum(math.log(self.sizes[v]) for v in self._isolated if v not in done))

    # -- queries -------------------------------------------------------------------------------
    def log_partition(
        self,
        evidence: EvidenceArg = None,
        *,
        columns: Sequence[str] | None = None,
        likelihood: LikelihoodArg = None,
    ) -> Any:
        """log Z with evidence clamped — log P(e) for a Bayesian network; −inf when P(e) = 0.
        A float, or an (N,) array for batched evidence."""
        batch = self._encode(evidence, columns, likelihood)
        prepared = self._prepare(batch.observed, (), batch.soft)
        out = np.empty(batch.size)
        per_row = prepared.compiled.plan.largest_intermediate
        for start, part, arrays, logs, const in self._chunks(
            prepared, batch, per_row, "log_partition"
        ):
            n = part.size
            out[start : start + n] = self._run_log_z(prepared, arrays, logs, n) + const
        out += self._isolated_log(batch)
        return out if batch.batched else float(out[0])

    def _run_log_z(self, prepared: _Prepared, arrays: list, logs: list, batch: int) -> np.ndarray:
        if not arrays:
            return np.zeros(batch)
        fwd = forward(prepared.compiled, arrays, logs, "sum")
        root, log = fwd.result()
        with np.errstate(divide="ignore"):
            return np.broadcast_to(np.log(root.reshape(root.shape[0])) + log, (batch,))

    def marginals(
        self,
        evidence: EvidenceArg = None,
        *,
        columns: Sequence[str] | None = None,
        likelihood: LikelihoodArg = None,
    ) -> dict[str, np.ndarray]:
        """The posterior marginal of every variable (observed ones as point masses), from one
        forward and one backward pass. Arrays (card,), or (N, card) for batched evidence."""
        batch = self._encode(evidence, columns, likelihood)
        observed, rows = batch.observed, batch.rows
        prepared = self._prepare(observed, (), batch.soft)
        size = batch.size
        result = {v: np.empty((size, self.sizes[i])) for v, i in self.var_id.items()}
        for v, i in self.var_id.items():
            if i in observed:  # point masses
                result[v][:] = 0.0
                result[v][np.arange(size), rows[:, observed.index(i)]] = 1.0
            elif i not in prepared.owners:  # in no factor: uniform
                result[v][:] = 1.0 / self.sizes[i]
        for start, part, arrays, logs, const in self._chunks(
            prepared, batch, self._backward_entries(prepared), "marginals"
        ):
            n = part.size
            if not arrays:
                self._check_nonzero(np.ones((1,)), const, start)
                continue
            fwd = forward(prepared.compiled, arrays, logs, "sum", keep_all=True)
            self._check_nonzero(fwd.result()[0], const, start)
            adjoints = backward(prepared.compiled, fwd)
            for k, group in prepared.groups.items():
                p = arrays[k] * adjoints[k]  # ∝ the posterior over input k's scope
                for v, axes in group:
                    m = np.add.reduce(p, axis=axes) if axes else p
                    if m.shape[0] != n:
                        m = np.broadcast_to(m, (n, m.shape[1]))
                    result[v][start : start + n] = m / np.add.reduce(m, axis=1, keepdims=True)
        return result if batch.batched else {v: m[0] for v, m in result.items()}

    def _backward_entries(self, prepared: _Prepared) -> int:
        """Entries one evidence row needs for a forward pass kept for backward, plus inputs."""
        return 2 * prepared.compiled.plan.total_intermediate + sum(
            math.prod(self.sizes[v] for v in s) for s in prepared.input_scopes
        )

    def expected_statistics(
        self,
        evidence: EvidenceArg = None,
        *,
        columns: Sequence[str] | None = None,
        likelihood: LikelihoodArg = None,
        weights: np.ndarray | None = None,
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Expected sufficient statistics: for every factor, Σ_n w_n P(x_factor | e_n) as a
        table shaped like the factor (its own axis order), and log Z(e_n) of every row.

        EM's E-step on a Bayesian network (factor = family) in one batched contraction per
        chunk of rows: forward, backward, then each factor's posterior scattered back to the
        full family at the row's observed states.
        """
        batch = self._encode(evidence, columns, likelihood)
        prepared = self._prepare(batch.observed, (), batch.soft)
        size = batch.size
        w = np.ones(size) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (size,):
            raise ModelError(f"weights must have shape ({size},), got {w.shape}")
        totals = [np.zeros(math.prod(self.sizes[v] for v in s)) for s in self._scopes]
        log_z = np.empty(size)
        compiled = prepared.all_adjoints()
        column = {v: j for j, v in enumerate(prepared.observed)}
        for start, part, arrays, logs, const in self._chunks(
            prepared, batch, self._backward_entries(prepared), "expected_statistics"
        ):
            n = part.size
            rows, wn = part.rows, w[start : start + n]
            if arrays:
                fwd = forward(compiled, arrays, logs, "sum", keep_all=True)
                root, log = fwd.result()
                self._check_nonzero(root, const, start)
                with np.errstate(divide="ignore"):
                    log_z[start : start + n] = np.log(root.reshape(-1)) + log + const
                adjoints = backward(compiled, fwd)
                for k, i in enumerate(prepared.inputs):
                    p = np.broadcast_to(arrays[k] * adjoints[k], (n, *arrays[k].shape[1:]))
                    p = p.reshape(n, -1)
                    p = p * (wn / p.sum(axis=1))[:, None]
                    self._scatter(totals[i], i, column, rows, p)
            else:
                self._check_nonzero(np.ones((1,)), const, start)
                log_z[start : start + n] = const
            for i in prepared.constants:
                self._scatter(totals[i], i, column, rows, wn[:, None])
        log_z += self._isolated_log(batch)
        tables = []
        for i, flat in enumerate(totals):
            table = flat.reshape([self.sizes[v] for v in self._scopes[i]])
            tables.append(np.transpose(table, np.argsort(self._orders[i])))
        return tables, log_z

    def _scatter(
        self,
        total: np.ndarray,
        i: int,
        column: Mapping[int, int],
        rows: np.ndarray,
        values: np.ndarray,
    ) -> None:
        """Add per-row tables over factor i's unobserved axes (N, prod) into its full flat
        table at each row's observed states."""
        scope = self._scopes[i]
        sizes = [self.sizes[v] for v in scope]
        strides = np.cumprod([1, *sizes[::-1]])[:-1][::-1]
        offset = np.zeros(rows.shape[0], dtype=np.int64)
        for a, v in enumerate(scope):
            if v in column:
                offset += rows[:, column[v]] * strides[a]
        free = [a for a, v in enumerate(scope) if v not in column]
        if free:
            grid = np.indices([sizes[a] for a in free]).reshape(len(free), -1)
            inner = (grid * np.asarray([strides[a] for a in free])[:, None]).sum(axis=0)
        else:
            inner = np.zeros(1, dtype=np.int64)
        index = (offset[:, None] + inner[None, :]).reshape(-1)
        total += np.bincount(index, weights=values.reshape(-1), minlength=total.size)

    def _owners(self, scopes: list[tuple[int, ...]]) -> dict[int, tuple[int, int]]:
        """For each unobserved variable, the smallest plan input holding it and its axis."""
        owner: dict[int, tuple[int, int]] = {}
        best: dict[int, int] = {}
        for k, scope in enumerate(scopes):
            size = math.prod(self.sizes[v] for v in scope)
            for axis, v in enumerate(scope):
                if size < best.get(v, 1 << 62):
                    best[v] = size
                    owner[v] = (k, axis + 1)
        return owner

    @staticmethod
    def _check_nonzero(root: np.ndarray, const: np.ndarray, offset: int) -> None:
        zero = (root.reshape(root.shape[0], -1).max(axis=1) <= 0) | np.isneginf(const)
        zero = np.broadcast_to(zero, const.shape)
        if zero.any():
            bad = (np.flatnonzero(zero) + offset)[:10].tolist()
            raise ZeroEvidenceError(
                f"the evidence has probability zero under the model (rows {bad})"
                if const.shape[0] > 1
                else "the evidence has probability zero under the model"
            )

    def query(
        self,
        variables: Sequence[str],
        evidence: EvidenceArg = None,
        *,
        columns: Sequence[str] | None = None,
        likelihood: LikelihoodArg = None,
    ) -> Any:
        """The joint posterior over `variables` (unobserved): a Factor with axes in the given
        order, or an array (N, *cards) for batched evidence."""
        variables = [self._check_var(str(v)) for v in variables]
        if len(set(variables)) != len(variables):
            raise ModelError(f"query variables repeat: {variables}")
        batch = self._encode(evidence, columns, likelihood)
        ids = [self.var_id[v] for v in variables]
        clash = [v for v, i in zip(variables, ids, strict=True) if i in batch.observed]
        if clash:
            raise ModelError(f"query variables {clash} are also observed in the evidence")
        keep = tuple(sorted(ids))
        prepared = self._prepare(batch.observed, keep, batch.soft)
        shape = tuple(self.sizes[i] for i in keep)
        out = np.empty((batch.size, *shape))
        per_row = prepared.compiled.plan.largest_intermediate
        in_plan = {v for s in prepared.input_scopes for v in s}
        for start, part, arrays, logs, const in self._chunks(prepared, batch, per_row, "query"):
            n = part.size
            if arrays:
                root, _ = forward(prepared.compiled, arrays, logs, "sum").result()
            else:
                root = np.ones((1,))
            self._check_nonzero(root, const, start)
            # variables in no factor are uniform: broadcast them in
            planned = [i for i in keep if i in in_plan]
            full = root.reshape(
                (root.shape[0], *(self.sizes[i] if i in planned else 1 for i in keep))
            )
            full = np.broadcast_to(full, (n, *shape))
            out[start : start + n] = full / full.reshape(n, -1).sum(axis=1).reshape(
                (n,) + (1,) * len(shape)
            )
        order = [keep.index(i) + 1 for i in ids]
        out = np.transpose(out, (0, *order))
        if batch.batched:
            return out
        return Factor(tuple(variables), out[0], validate=False)

    def map_assignment(
        self,
        evidence: EvidenceArg = None,
        *,
        columns: Sequence[str] | None = None,
        likelihood: LikelihoodArg = None,
    ) -> MapResult:
        """The jointly most probable assignment of the unobserved variables given the evidence
        (max-product contraction, then backtracking — not per-variable argmax)."""
        batch = self._encode(evidence, columns, likelihood)
        observed = batch.observed
        prepared = self._prepare(observed, (), batch.soft)
        plan = prepared.compiled.plan
        values = {i: np.zeros(batch.size, dtype=np.intp) for i in range(len(self.sizes))}
        log_p = np.empty(batch.size)
        for start, part, arrays, logs, const in self._chunks(
            prepared, batch, 3 * plan.total_intermediate, "map_assignment"
        ):
            n = part.size
            for j, i in enumerate(observed):
                values[i][start : start + n] = part.rows[:, j]
            if arrays:
                fwd = forward(prepared.compiled, arrays, logs, "max", keep_all=True)
                root, log = fwd.result()
                self._check_nonzero(root, const, start)
                for i, vals in backtrack(prepared.compiled, fwd, n).items():
                    values[i][start : start + n] = vals
                with np.errstate(divide="ignore"):
                    log_p[start : start + n] = np.log(root.reshape(-1)) + log + const
            else:
                self._check_nonzero(np.ones((1,)), const, start)
                log_p[start : start + n] = const
        names = self.graph.variables
        if batch.batched:
            assignment: dict[str, Any] = {names[i]: values[i] for i in range(len(names))}
            return MapResult(assignment, log_p, self.graph.states)
        assignment = {names[i]: int(values[i][0]) for i in range(len(names))}
        return MapResult(assignment, float(log_p[0]), self.graph.states)

    def sample(
        self,
        n: int | None = None,
        evidence: EvidenceArg = None,
        *,
        columns: Sequence[str] | None = None,
        likelihood: LikelihoodArg = None,
        seed: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Exact samples from the posterior given the evidence: an int array (rows, V) of
        state indices, columns in `graph.variables` order.

        One forward sum-product pass, then the plan is walked back from the root drawing each
        step's eliminated variables given those already drawn (forward filtering, backward
        sampling on the contraction tree) — no rejection, so unlikely evidence costs nothing
        extra. With one evidence row, `n` samples; with batched evidence, one per row.
        """
        rng = np.random.default_rng(seed)
        batch = self._encode(evidence, columns, likelihood)
        if batch.batched:
            if n is not None and n != batch.size:
                raise ModelError(
                    f"batched evidence draws one sample per row ({batch.size}); got n={n}"
                )
            count = batch.size
        else:
            if n is None or int(n) < 0:
                raise ModelError(f"the number of samples must be a non-negative int, got {n}")
            count = int(n)
        out = np.empty((count, len(self.sizes)), dtype=np.intp)
        for v in self._isolated:
            out[:, v] = rng.integers(self.sizes[v], size=count)
        for j, v in enumerate(batch.observed):
            out[:, v] = batch.rows[:, j] if batch.batched else batch.rows[0, j]
        if count == 0:
            return out
        prepared = self._prepare(batch.observed, (), batch.soft)
        per_row = 2 * prepared.compiled.plan.total_intermediate
        for start, part, arrays, logs, const in self._chunks(prepared, batch, per_row, "sample"):
            if not arrays:
                self._check_nonzero(np.ones((1,)), const, start)
                continue
            fwd = forward(prepared.compiled, arrays, logs, "sum", keep_all=True)
            self._check_nonzero(fwd.result()[0], const, start)
            if batch.batched:
                drawn = sample_backward(prepared.compiled, fwd, part.size, rng)
                for v, values in drawn.items():
                    out[start : start + part.size, v] = values
            else:
                drawn = sample_backward(prepared.compiled, fwd, count, rng)
                for v, values in drawn.items():
                    out[:, v] = values
        return out


_ENGINES: weakref.WeakKeyDictionary[FactorGraph, ExactInference] = weakref.WeakKeyDictionary()


def engine(model: Model, planner: str = "auto") -> ExactInference:
    """The cached ExactInference of a model (one per factor graph and planner)."""
    graph = model.to_factor_graph()
    eng = _ENGINES.get(graph)
    if eng is None or eng.planner != planner:
        eng = ExactInference(graph, planner)
        _ENGINES[graph] = eng
    return eng


def log_partition(
    model: Model,
    evidence: EvidenceArg = None,
    *,
    columns: Sequence[str] | None = None,
    planner: str = "auto",
    method: str = "auto",
    **options: Any,
) -> Any:
    """log Z of the model with evidence clamped (log P(e) for a Bayesian network).

    `method`: "exact" (the planned contraction), "loopy" (the Bethe estimate of loopy BP;
    `options` go to `genlab.pgm.loopy.LoopyBP`), or "auto": exact when the plan fits the
    memory budget, else loopy BP with an `ApproximationWarning`. A single answer is a float
    that also carries `exact`, `method` and (loopy) the convergence `report`.
    """
    from genlab.pgm import approximate

    return approximate.log_partition(engine(model, planner), evidence, columns, method, options)


def marginals(
    model: Model,
    evidence: EvidenceArg = None,
    *,
    columns: Sequence[str] | None = None,
    planner: str = "auto",
    method: str = "auto",
    **options: Any,
) -> Any:
    """Posterior marginals of every variable: exact in one forward + backward pass, or by
    loopy BP (`method` as for `log_partition`). The dict also carries `exact`, `method` and
    (loopy) the convergence `report`."""
    from genlab.pgm import approximate

    return approximate.marginals(engine(model, planner), evidence, columns, method, options)


def query(
    model: Model,
    variables: Sequence[str],
    evidence: EvidenceArg = None,
    *,
    columns: Sequence[str] | None = None,
    planner: str = "auto",
) -> Any:
    """Joint posterior table over `variables` given the evidence."""
    return engine(model, planner).query(variables, evidence, columns=columns)


def map_assignment(
    model: Model,
    evidence: EvidenceArg = None,
    *,
    columns: Sequence[str] | None = None,
    planner: str = "auto",
    method: str = "auto",
    **options: Any,
) -> MapResult:
    """Jointly most probable assignment (MPE) and its log probability.

    `method`: "contract" (exact max-product contraction), "search" (branch and cut on the
    local-polytope integer program, then, if that leaves a gap, branch and bound started from
    the best assignment found: proven optimal when either finishes, else bounded), "ilp" (the
    integer program alone), "approximate" (max-product loopy BP decoded, then improved by
    local search), or "auto": contract when the plan fits the memory (and time) budget, else
    search with an `ApproximationWarning`. `options`: `time_limit`, `damping`, ... The
    result's `exact` says whether the optimum is proven.
    """
    from genlab.pgm import approximate

    return approximate.map_assignment(engine(model, planner), evidence, columns, method,
                                      options)
