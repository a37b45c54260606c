"""Graphs of structure learning: DAGs, partially directed graphs (CPDAGs) and their comparison.

A `DAG` is an immutable value (nodes, parents per node). A `PDAG` has directed and undirected
edges; the CPDAG of a DAG (its Markov equivalence class, bnlearn's convention for comparing
learned structures) keeps the arcs of v-structures and those that Meek's rules force, and
leaves the rest undirected. `shd` counts node pairs whose edge differs (missing, extra, or
oriented differently), as bnlearn does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from genlab.pgm.errors import ModelError

__all__ = [
    "DAG",
    "PDAG",
    "GraphComparison",
    "arc_indices",
    "as_dag",
    "as_pdag",
    "compare_graphs",
    "cpdag",
    "meek_rules",
    "shd",
]

Edge = tuple[str, str]


def _find_cycle(parents: Mapping[str, Sequence[str]]) -> list[str]:
    from genlab.pgm.models.bayesian_network import _find_cycle as find

    return find(parents)


class DAG:
    """A directed acyclic graph over named nodes.

    >>> g = DAG(["a", "b", "c"], [("a", "c"), ("b", "c")])
    >>> g.parents("c"), g.num_edges
    (('a', 'b'), 2)
    """

    __slots__ = ("_children", "_parents", "nodes")

    def __init__(self, nodes: Iterable[str], edges: Iterable[Edge] = ()) -> None:
        self.nodes: tuple[str, ...] = tuple(str(v) for v in nodes)
        if len(set(self.nodes)) != len(self.nodes):
            raise ModelError(f"graph nodes repeat: {self.nodes}")
        parents: dict[str, list[str]] = {v: [] for v in self.nodes}
        for a, b in edges:
            a, b = str(a), str(b)
            for v in (a, b):
                if v not in parents:
                    raise ModelError(f"edge {a} -> {b} names the unknown node {v!r}")
            if a == b:
                raise ModelError(f"self-loop {a} -> {b}")
            if a not in parents[b]:
                parents[b].append(a)
        cycle = _find_cycle(parents)
        if cycle:
            raise ModelError("the graph has a directed cycle: " + " -> ".join(cycle))
        self._parents = {v: tuple(p) for v, p in parents.items()}
        children: dict[str, list[str]] = {v: [] for v in self.nodes}
        for v in self.nodes:
            for p in self._parents[v]:
                children[p].append(v)
        self._children = {v: tuple(c) for v, c in children.items()}

    @classmethod
    def from_parents(cls, parents: Mapping[str, Sequence[str]],
                     nodes: Sequence[str] | None = None) -> DAG:
        """From {node: parents}; `nodes` fixes the order (default: the mapping's keys)."""
        order = list(nodes) if nodes is not None else list(parents)
        return cls(order, [(p, v) for v in parents for p in parents[v]])

    def parents(self, node: str) -> tuple[str, ...]:
        try:
            return self._parents[node]
        except KeyError:
            raise ModelError(f"unknown node {node!r}") from None

    def children(self, node: str) -> tuple[str, ...]:
        try:
            return self._children[node]
        except KeyError:
            raise ModelError(f"unknown node {node!r}") from None

    @property
    def edges(self) -> list[Edge]:
        """Directed edges (parent, child), grouped by child in node order."""
        return [(p, v) for v in self.nodes for p in self._parents[v]]

    @property
    def num_edges(self) -> int:
        return sum(len(p) for p in self._parents.values())

    def parent_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self._parents)

    def topological_order(self) -> tuple[str, ...]:
        """Nodes with every parent before its children (stable with respect to `nodes`)."""
        from genlab.pgm.models.bayesian_network import topological_order

        return topological_order(self._parents)

    def to_cpdag(self) -> PDAG:
        """The CPDAG (essential graph) of this DAG's Markov equivalence class."""
        return cpdag(self)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DAG)
            and set(self.nodes) == set(other.nodes)
            and set(self.edges) == set(other.edges)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DAG({len(self.nodes)} nodes, {self.num_edges} edges)"


def arc_indices(
    arcs: Iterable[Sequence[str]], index: Mapping[str, int], what: str
) -> list[tuple[int, int]]:
    """(parent, child) index pairs of arcs given by name, validated: pairs of known nodes, no
    self-loops. `what` names the list in errors ("black list", ...)."""
    out = []
    for arc in arcs:
        if len(arc) != 2:
            raise ModelError(f"{what} entries must be (parent, child) pairs, got {arc!r}")
        a, b = (str(x) for x in arc)
        for v in (a, b):
            if v not in index:
                raise ModelError(f"{what} arc {a} -> {b} names {v!r}, which is not in the data")
        if a == b:
            raise ModelError(f"{what} arc {a} -> {b} is a self-loop")
        out.append((index[a], index[b]))
    return out


def as_dag(graph: Any) -> DAG:
    """A DAG from a DAG, a BayesianNetwork (its structure) or a {node: parents} mapping."""
    if isinstance(graph, DAG):
        return graph
    if isinstance(graph, Mapping):
        return DAG.from_parents(graph)
    if hasattr(graph, "variables") and hasattr(graph, "parents"):
        return DAG(graph.variables, [(p, v) for v in graph.variables for p in graph.parents(v)])
    raise TypeError(f"expected a DAG, a BayesianNetwork or a parents mapping, got {type(graph)}")


@dataclass(frozen=True)
class PDAG:
    """A partially directed graph: arcs (a, b) meaning a → b, and undirected edges {a, b}."""

    nodes: tuple[str, ...]
    directed: frozenset[Edge]
    undirected: frozenset[frozenset[str]]

    def adjacent(self, a: str, b: str) -> bool:
        return (
            (a, b) in self.directed or (b, a) in self.directed
            or frozenset((a, b)) in self.undirected
        )

    @property
    def skeleton(self) -> frozenset[frozenset[str]]:
        """Unordered adjacent pairs."""
        return frozenset({frozenset(e) for e in self.directed} | set(self.undirected))

    def edge_kind(self, a: str, b: str) -> str:
        """"->" (a → b), "<-" (b → a), "--" (undirected) or "" (not adjacent)."""
        if (a, b) in self.directed:
            return "->"
        if (b, a) in self.directed:
            return "<-"
        if frozenset((a, b)) in self.undirected:
            return "--"
        return ""

    def __repr__(self) -> str:
        return (
            f"PDAG({len(self.nodes)} nodes, {len(self.directed)} arcs, "
            f"{len(self.undirected)} undirected)"
        )

    def to_dag(self) -> DAG:
        """A DAG in this CPDAG's class (Dor & Tarsi 1992): it keeps every arc and adds no
        v-structure. A PDAG with no such extension (possible for conflicting PC output) gets
        its remaining edges oriented along a topological order of its arcs instead."""
        directed = set(self.directed)
        undirected = {tuple(sorted(e)) for e in self.undirected}
        remaining = set(self.nodes)

        def neighbours(x: str) -> set[str]:
            return {b if a == x else a for a, b in undirected if x in (a, b)}

        def adjacent_any(a: str, b: str) -> bool:
            return (a, b) in directed or (b, a) in directed or tuple(sorted((a, b))) in undirected

        oriented = set(directed)
        while remaining:
            for x in sorted(remaining, key=self.nodes.index):
                if any(a == x and b in remaining for a, b in directed):
                    continue  # x has an outgoing arc: not a sink
                nb = neighbours(x)
                adj = {a for a, b in directed if b == x and a in remaining} | nb
                if all(adjacent_any(y, z) for y in nb for z in adj if z != y):
                    for y in nb:
                        oriented.add((y, x))
                        undirected.discard(tuple(sorted((x, y))))
                    remaining.discard(x)
                    break
            else:  # no consistent extension: orient the rest along a topological order
                order = DAG(self.nodes, [e for e in directed]).topological_order()
                rank = {v: i for i, v in enumerate(order)}
                for a, b in undirected:
                    oriented.add((a, b) if rank[a] < rank[b] else (b, a))
                break
        return DAG(self.nodes, sorted(oriented, key=lambda e: (self.nodes.index(e[1]),
                                                               self.nodes.index(e[0]))))


def reaches(children: Mapping[str, set[str]], start: str, targets: set[str]) -> bool:
    """Whether a directed path leads from `start` to any of `targets`."""
    seen, stack = {start}, [start]
    while stack:
        for c in children[stack.pop()]:
            if c in targets:
                return True
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return False


def meek_rules(
    nodes: Sequence[str], directed: Iterable[Edge], undirected: Iterable[Iterable[str]]
) -> PDAG:
    """Orient undirected edges by Meek's rules R1–R3 until none applies.

    R1: a → b — c, a and c not adjacent ⇒ b → c. R2: a → b → c and a — c ⇒ a → c.
    R3: a — b, a — c → b, a — d → b, c and d not adjacent ⇒ a → b.
    An orientation that would close a directed cycle is not made (the edge stays undirected):
    on a consistent pattern that never happens, but PC's output under sampling error can
    have colliders no DAG has, and R1 would then chain them into a cycle.
    """
    arcs = set(directed)
    und = {frozenset(e) for e in undirected}
    into: dict[str, set[str]] = {v: set() for v in nodes}  # into[b] = {a : a → b}
    out: dict[str, set[str]] = {v: set() for v in nodes}
    nbr: dict[str, set[str]] = {v: set() for v in nodes}
    for a, b in arcs:
        into[b].add(a)
        out[a].add(b)
    for e in und:
        a, b = tuple(e)
        nbr[a].add(b)
        nbr[b].add(a)

    def adjacent(a: str, b: str) -> bool:
        return b in nbr[a] or b in into[a] or b in out[a]

    def orient(a: str, b: str) -> bool:
        if reaches(out, b, {a}):  # b ⇝ a already: a → b would close a cycle
            return False
        und.discard(frozenset((a, b)))
        nbr[a].discard(b)
        nbr[b].discard(a)
        arcs.add((a, b))
        into[b].add(a)
        out[a].add(b)
        return True

    changed = True
    while changed:
        changed = False
        for e in sorted(und, key=sorted):  # a fixed order: the result must not depend on
            if e not in und:  # string hashing (PC's output need not be a clean pattern)
                continue
            x, y = sorted(e)
            for b, c in ((x, y), (y, x)):
                if frozenset((b, c)) not in und:
                    break
                mids = [m for m in nbr[b] if m in into[c]]
                rule = (
                    # R1: some a → b with a, c not adjacent
                    any(a != c and not adjacent(a, c) for a in into[b])
                    # R2: b → m → c for some m
                    or bool(out[b] & into[c])
                    # R3: b — m1 → c, b — m2 → c, m1 and m2 not adjacent
                    or any(not adjacent(m1, m2) for i, m1 in enumerate(mids)
                           for m2 in mids[i + 1:]))
                if rule and orient(b, c):
                    changed = True
                    break
    return PDAG(tuple(nodes), frozenset(arcs), frozenset(und))


def cpdag(graph: Any) -> PDAG:
    """The CPDAG of a DAG: v-structure arcs plus what Meek's rules force; a PDAG passes."""
    if isinstance(graph, PDAG):
        return graph
    dag = as_dag(graph)
    compelled: set[Edge] = set()
    for v in dag.nodes:
        ps = dag.parents(v)
        for i, a in enumerate(ps):
            for b in ps[i + 1:]:
                if a not in dag.parents(b) and b not in dag.parents(a):
                    compelled.add((a, v))
                    compelled.add((b, v))
    undirected = [(a, b) for a, b in dag.edges if (a, b) not in compelled]
    return meek_rules(dag.nodes, compelled, undirected)


@dataclass(frozen=True)
class GraphComparison:
    """How a learned graph differs from the true one (both as CPDAGs unless asked otherwise).

    `missing`: adjacent in the truth, not in the learned graph; `extra`: the reverse;
    `reversed`: adjacent in both with opposite arcs; `misoriented`: adjacent in both, one
    directed and the other undirected. `shd` is the number of pairs in any of the four.
    """

    missing: tuple[Edge, ...]
    extra: tuple[Edge, ...]
    reversed: tuple[Edge, ...]
    misoriented: tuple[Edge, ...]
    true_positives: int  # adjacencies in both skeletons
    learned_edges: int
    true_edges: int

    @property
    def shd(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.reversed) + len(self.misoriented)

    @property
    def precision(self) -> float:
        """Share of learned adjacencies that are true (skeleton precision)."""
        return self.true_positives / self.learned_edges if self.learned_edges else 1.0

    @property
    def recall(self) -> float:
        """Share of true adjacencies found (skeleton recall)."""
        return self.true_positives / self.true_edges if self.true_edges else 1.0

    def lines(self) -> list[str]:
        """One readable line per differing pair."""
        out = [f"missing   {a} -> {b}" for a, b in self.missing]
        out += [f"extra     {a} -> {b}" for a, b in self.extra]
        out += [f"reversed  {a} -> {b} (true {b} -> {a})" for a, b in self.reversed]
        out += [f"oriented  {a} -> {b} in one graph, undirected in the other"
                for a, b in self.misoriented]
        return out


def as_pdag(graph: Any, use_cpdag: bool = True) -> PDAG:
    """A PDAG as it is; a DAG or network as its CPDAG (`use_cpdag`) or as its own arcs."""
    if isinstance(graph, PDAG):
        return graph
    dag = as_dag(graph)
    if use_cpdag:
        return cpdag(dag)
    return PDAG(dag.nodes, frozenset(dag.edges), frozenset())


def _describe(g: PDAG, a: str, b: str) -> Edge:
    kind = g.edge_kind(a, b)
    return (b, a) if kind == "<-" else (a, b)


def compare_graphs(learned: Any, true: Any, cpdag: bool = True) -> GraphComparison:
    """Edge-by-edge comparison of `learned` against `true` (DAGs, networks or PDAGs)."""
    g = as_pdag(learned, cpdag)
    t = as_pdag(true, cpdag)
    if set(g.nodes) != set(t.nodes):
        raise ModelError(
            f"the graphs have different nodes: only learned {sorted(set(g.nodes) - set(t.nodes))}"
            f", only true {sorted(set(t.nodes) - set(g.nodes))}"
        )
    order = {v: i for i, v in enumerate(t.nodes)}
    missing, extra, rev, mis = [], [], [], []
    pairs = sorted(
        (tuple(sorted(p, key=order.__getitem__)) for p in g.skeleton | t.skeleton),
    )
    for a, b in pairs:
        kg, kt = g.edge_kind(a, b), t.edge_kind(a, b)
        if kg == kt:
            continue
        if not kg:
            missing.append(_describe(t, a, b))
        elif not kt:
            extra.append(_describe(g, a, b))
        elif "--" in (kg, kt):
            mis.append(_describe(g if kg != "--" else t, a, b))
        else:
            rev.append(_describe(g, a, b))
    return GraphComparison(
        tuple(missing), tuple(extra), tuple(rev), tuple(mis),
        len(g.skeleton & t.skeleton), len(g.skeleton), len(t.skeleton),
    )


def shd(learned: Any, true: Any, cpdag: bool = True) -> int:
    """Structural Hamming distance: node pairs whose edge differs (bnlearn's definition).

    With `cpdag=True` (the default) both graphs are compared as CPDAGs, so Markov-equivalent
    DAGs are at distance 0.
    """
    return compare_graphs(learned, true, cpdag).shd
