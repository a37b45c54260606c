"""BayesianNetwork: a DAG with one CPT per variable, p(x) = Π_t p(x_t | parents(x_t))."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.factor import Factor
from genlab.pgm.models.factor_graph import FactorGraph

__all__ = ["CPT", "BayesianNetwork", "topological_order"]

ROW_SUM_ATOL = 1e-3  # bnlearn tables are printed with ~4 digits; rows may sum to 0.9999


@dataclass(frozen=True)
class CPT:
    """p(variable | parents) as a table of shape (*parent_cards, card): the child axis is last,
    the first parent varies slowest.

    `table` may also be a dict from a parent configuration (a state tuple, or one state for one
    parent; `()` for no parents) to the child distribution (a sequence over the child's states,
    or a dict {child state: p}); the network resolves names when it is built.
    """

    variable: str
    table: Any
    parents: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "variable", str(self.variable))
        object.__setattr__(self, "parents", tuple(str(p) for p in self.parents))


def _resolve_table(
    cpt: CPT, cards: Mapping[str, int], states: Mapping[str, tuple[str, ...]]
) -> np.ndarray:
    """The CPT's table as a validated array of shape (*parent_cards, card)."""
    v, parents = cpt.variable, cpt.parents
    shape = (*(cards[p] for p in parents), cards[v])
    if isinstance(cpt.table, Mapping):
        table = np.full(shape, np.nan)

        def index(var: str, s: Any) -> int:
            names = states.get(var)
            if isinstance(s, str) and names is not None:
                if s not in names:
                    raise ModelError(f"CPT of {v!r}: unknown state {s!r} of {var!r}")
                return names.index(s)
            return int(s)

        for config, row in cpt.table.items():
            key = config if isinstance(config, tuple) else (config,)
            if len(key) != len(parents):
                raise ModelError(
                    f"CPT of {v!r}: configuration {config!r} does not match parents {parents}"
                )
            at = tuple(index(p, s) for p, s in zip(parents, key, strict=True))
            if isinstance(row, Mapping):
                values = np.full(cards[v], np.nan)
                for s, p in row.items():
                    values[index(v, s)] = p
            else:
                values = np.asarray(row, dtype=np.float64)
            if values.shape != (cards[v],):
                raise ModelError(
                    f"CPT of {v!r} at {config!r}: need {cards[v]} probabilities, got {values.shape}"
                )
            table[at] = values
        if np.isnan(table).any():
            missing = np.argwhere(np.isnan(table).any(axis=-1))[0]
            raise ModelError(f"CPT of {v!r}: no entry for parent configuration {tuple(missing)}")
    else:
        table = np.asarray(cpt.table, dtype=np.float64)
        if table.shape != shape:
            if table.size == int(np.prod(shape)) and table.ndim <= 2 and parents:
                want = f"{shape} (parents {parents} then {v!r})"
            else:
                want = str(shape)
            raise ModelError(f"CPT of {v!r} has shape {table.shape}, expected {want}")
    if not np.all(np.isfinite(table)) or (table.size and table.min() < 0):
        raise ModelError(f"CPT of {v!r} has negative or non-finite entries")
    sums = table.sum(axis=-1)
    bad = np.argwhere(np.abs(sums - 1.0) > ROW_SUM_ATOL)
    if len(bad):
        at = tuple(int(i) for i in bad[0])
        config = ", ".join(
            f"{p}={states[p][i] if p in states else i}" for p, i in zip(parents, at, strict=True)
        )
        raise ModelError(
            f"CPT of {v!r}: probabilities for parent configuration ({config or 'no parents'}) "
            f"sum to {sums[tuple(bad[0])]:.6g}, not 1"
        )
    return table


def _find_cycle(parents: Mapping[str, Sequence[str]]) -> list[str]:
    """One directed cycle of the graph as [a, b, ..., a] (empty if acyclic)."""
    color: dict[str, int] = {}
    stack: list[str] = []

    def visit(v: str) -> list[str]:
        color[v] = 1
        stack.append(v)
        for p in parents.get(v, ()):
            if color.get(p) == 1:
                return [*stack[stack.index(p) :], p][::-1]
            if color.get(p) is None and (cycle := visit(p)):
                return cycle
        stack.pop()
        color[v] = 2
        return []

    for v in parents:
        if color.get(v) is None and (cycle := visit(v)):
            return cycle
    return []


def topological_order(parents: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The nodes of an acyclic {node: parents} map with every parent before its children,
    stable with respect to the map's order."""
    order: list[str] = []
    placed: set[str] = set()
    pending = list(parents)
    while pending:
        rest = []
        for v in pending:
            if all(p in placed for p in parents[v]):
                order.append(v)
                placed.add(v)
            else:
                rest.append(v)
        pending = rest
    return tuple(order)


class BayesianNetwork:
    """A directed graphical model over named discrete variables.

    >>> bn = BayesianNetwork(
    ...     [CPT("rain", [0.2, 0.8]), CPT("wet", [[0.9, 0.1], [0.2, 0.8]], parents=["rain"])],
    ...     states={"rain": ["yes", "no"], "wet": ["yes", "no"]},
    ... )
    >>> bn.variables, bn.parents("wet")
    (('rain', 'wet'), ('rain',))
    """

    def __init__(
        self,
        cpts: Sequence[CPT],
        states: Mapping[str, Sequence[str]] | None = None,
        cards: Mapping[str, int] | None = None,
        name: str = "",
    ) -> None:
        self.name = name
        by_var: dict[str, CPT] = {}
        for cpt in cpts:
            if not isinstance(cpt, CPT):
                raise TypeError(f"cpts must hold CPT objects, got {type(cpt).__name__}")
            if cpt.variable in by_var:
                raise ModelError(f"variable {cpt.variable!r} has two CPTs")
            by_var[cpt.variable] = cpt
        self.states: dict[str, tuple[str, ...]] = {
            str(v): tuple(map(str, s)) for v, s in (states or {}).items()
        }
        for v, s in self.states.items():
            if len(set(s)) != len(s):
                raise ModelError(f"variable {v!r} has repeated state names {s}")
        for cpt in by_var.values():
            for p in cpt.parents:
                if p not in by_var:
                    raise ModelError(f"CPT of {cpt.variable!r} names unknown parent {p!r}")
        cycle = _find_cycle({v: c.parents for v, c in by_var.items()})
        if cycle:
            raise ModelError("the graph has a directed cycle: " + " -> ".join(cycle))
        self.cards: dict[str, int] = self._infer_cards(by_var, cards or {})
        self.variables: tuple[str, ...] = self._topological(by_var)
        self._cpts: dict[str, CPT] = {
            v: CPT(v, _resolve_table(by_var[v], self.cards, self.states), by_var[v].parents)
            for v in self.variables
        }
        self._factor_graph: FactorGraph | None = None

    def _infer_cards(self, by_var: Mapping[str, CPT], cards: Mapping[str, int]) -> dict[str, int]:
        """Cardinalities from `cards`, state names, or array tables (child axis last)."""
        out: dict[str, int] = {str(v): int(c) for v, c in cards.items()}
        for v, s in self.states.items():
            if out.setdefault(v, len(s)) != len(s):
                raise ModelError(f"variable {v!r}: {len(s)} state names but cardinality {out[v]}")
        for v, cpt in by_var.items():
            if v not in out and not isinstance(cpt.table, Mapping):
                out[v] = int(np.shape(cpt.table)[-1])
        missing = [v for v in by_var if v not in out]
        if missing:
            raise ModelError(f"cannot tell the cardinality of {missing}: give states or cards")
        unknown = [v for v in out if v not in by_var]
        if unknown:
            raise ModelError(f"states/cards given for variables without a CPT: {unknown}")
        return out

    @staticmethod
    def _topological(by_var: Mapping[str, CPT]) -> tuple[str, ...]:
        """Variables in a topological order, stable with respect to the CPT order."""
        return topological_order({v: c.parents for v, c in by_var.items()})

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        edges = sum(len(c.parents) for c in self._cpts.values())
        return f"BayesianNetwork{label}({len(self.variables)} variables, {edges} edges)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BayesianNetwork) or self.variables != other.variables:
            return False
        return self.states == other.states and all(
            self.parents(v) == other.parents(v)
            and np.array_equal(self.cpt(v).table, other.cpt(v).table)
            for v in self.variables
        )

    __hash__ = None  # type: ignore[assignment]

    def cpt(self, variable: str) -> CPT:
        """The CPT of `variable`, table resolved to an array (*parent_cards, card)."""
        try:
            return self._cpts[variable]
        except KeyError:
            raise ModelError(f"unknown variable {variable!r} in {self!r}") from None

    def parents(self, variable: str) -> tuple[str, ...]:
        """The parents of `variable`, in CPT order."""
        return self.cpt(variable).parents

    def children(self, variable: str) -> tuple[str, ...]:
        """The variables that have `variable` as a parent."""
        return tuple(v for v in self.variables if variable in self._cpts[v].parents)

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Directed edges (parent, child)."""
        return [(p, v) for v in self.variables for p in self._cpts[v].parents]

    def state_names(self, variable: str) -> tuple[str, ...]:
        """State names of `variable`; "0", "1", ... when the model has none."""
        return self.to_factor_graph().state_names(variable)

    def to_factor_graph(self) -> FactorGraph:
        """The network as a factor graph with one factor per CPT over (parents..., child)."""
        if self._factor_graph is None:
            factors = [
                Factor((*self._cpts[v].parents, v), self._cpts[v].table, validate=False)
                for v in self.variables
            ]
            self._factor_graph = FactorGraph(factors, self.cards, self.states, self.name)
        return self._factor_graph

    def log_probability(self, assignment: Mapping[str, Any]) -> float:
        """log p(x) of a full assignment (states by name or index)."""
        fg = self.to_factor_graph()
        return fg.log_score(fg.encode_evidence(assignment))

    @property
    def dag(self) -> Any:
        """The structure as a `genlab.pgm.learning.DAG`."""
        from genlab.pgm.learning.graph import as_dag

        return as_dag(self)

    def fit(self, data: Any, **options: Any) -> BayesianNetwork:
        """A new network with this one's structure and states and CPTs learned from `data`
        (a DataFrame, CSV path, int codes or chunks); this network's CPTs are ignored.
        Options as `genlab.pgm.learning.fit`: prior, equivalent_sample_size,
        pseudo_counts, weights, missing ("em", "drop", "available"), latent, ..."""
        from genlab.pgm.learning.parameters import fit

        return fit(self, data, **options)

    @classmethod
    def from_structure(
        cls, structure: Any, states: Mapping[str, Sequence[str]], name: str = ""
    ) -> BayesianNetwork:
        """A structure-only network: the DAG (a DAG, {node: parents} or edge list) with state
        lists and uniform CPTs, ready for `fit`."""
        from genlab.pgm.learning.graph import DAG
        from genlab.pgm.learning.parameters import skeleton

        if isinstance(structure, (list, tuple)):
            structure = DAG(list(states), structure)
        bn = skeleton(structure, states)
        bn.name = name
        return bn

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """Ancestral sampling: an int array (n, num_variables), columns in `variables` order
        (`genlab.pgm.sample` gives DataFrames, evidence and other methods)."""
        from genlab.pgm.sampling import forward_codes

        return forward_codes(self, n, seed).astype(np.intp)

    @classmethod
    def from_factor_tables(
        cls,
        tables: Mapping[str, tuple[Sequence[str], Any]],
        states: Mapping[str, Sequence[str]] | None = None,
        name: str = "",
    ) -> BayesianNetwork:
        """Build from {variable: (parents, table)} — a shorthand for the CPT list."""
        return cls([CPT(v, t, tuple(p)) for v, (p, t) in tables.items()], states, name=name)
