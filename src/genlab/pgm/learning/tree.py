"""Tree structures: Chow–Liu trees and tree-augmented naive Bayes (TAN).

Chow & Liu (1968): among all trees, the one maximising the likelihood is the maximum spanning
tree of the pairwise mutual information, because a tree's log-likelihood is
N·Σ_edges I(a; b) − N·Σ_v H(v). TAN (Friedman, Geiger & Goldszmidt 1997) does the same over
the features with the information conditioned on the class, then makes the class a parent of
every feature. Every pair (or class–pair) table comes from one `count_many` call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.counts import count_many
from genlab.pgm.learning.graph import DAG
from genlab.pgm.learning.independence import g2_statistic
from genlab.pgm.learning.scores import family_score
from genlab.pgm.learning.sources import as_source

__all__ = ["chow_liu", "mutual_information", "mutual_information_matrix", "tan"]

TREE_WEIGHTS = ("mi", "ll", "bic", "aic", "bdeu")  # k2 is not score-equivalent: no symmetric weight

Edge = tuple[str, str]


def mutual_information(counts: Any) -> float:
    """I(A; B | C) in nats from a count table with axes (*C, A, B); no leading axes: I(A; B).

    It is G² / 2N (`independence.g2_statistic`): (1/N)·[Σ N_cab log N_cab + Σ N_c log N_c
    − Σ N_ca log N_ca − Σ N_cb log N_cb],
    which is exact for empty cells (0 log 0 = 0).

    >>> round(mutual_information([[5, 0], [0, 5]]), 6)  # one fair bit copied: log 2
    0.693147
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim < 2:
        raise ModelError(f"mutual information needs a table with ≥ 2 axes, got {table.shape}")
    total = float(table.sum())
    return g2_statistic(table) / (2.0 * total) if total > 0 else 0.0


def _pair_weight(table: np.ndarray, weights: str) -> float:
    """An edge's weight from its (*given, a, b) table: MI, or score(a → b) − score(b)."""
    if weights == "mi":
        return mutual_information(table)
    if table.ndim != 2:
        raise ModelError("score weights are for Chow–Liu trees (no conditioning variables)")
    return family_score(table, weights) - family_score(table.sum(axis=0), weights)


def _weight_matrix(
    data: Any, variables: Sequence[str], given: Sequence[str], weights: str
) -> np.ndarray:
    """Symmetric (V, V) matrix of edge weights from one `count_many` pass over all pairs."""
    k = len(variables)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    tables = count_many(data, [(*given, variables[i], variables[j]) for i, j in pairs])
    matrix = np.zeros((k, k))
    for (i, j), table in zip(pairs, tables, strict=True):
        matrix[i, j] = matrix[j, i] = _pair_weight(table, weights)
    return matrix


def _names(data: Any, given: str | Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(variables other than the given ones, given ones), checked against the data."""
    cond = [] if given is None else [given] if isinstance(given, str) else [str(g) for g in given]
    unknown = [g for g in cond if g not in data.variables]
    if unknown:
        raise ModelError(f"the data has no column(s) {unknown} (columns: {data.variables})")
    return [v for v in data.variables if v not in cond], cond


def mutual_information_matrix(
    data: Any, given: str | Sequence[str] | None = None
) -> tuple[tuple[str, ...], np.ndarray]:
    """(variables, I) with I[i, j] = I(v_i; v_j | given) in nats for every pair of the data's
    variables other than `given` (zero diagonal), counted in one pass."""
    source = as_source(data)
    names, cond = _names(source, given)
    return tuple(names), _weight_matrix(source, names, cond, "mi")


def _maximum_spanning_forest(weights: np.ndarray, forest: bool) -> list[tuple[int, int]]:
    """Kruskal on a symmetric weight matrix: heaviest edges first, ties by (i, j). With
    `forest`, only positive weights join components (the result may be a forest)."""
    k = weights.shape[0]
    i, j = np.triu_indices(k, 1)
    w = weights[i, j]
    order = np.lexsort((j, i, -w))
    root = list(range(k))

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    edges: list[tuple[int, int]] = []
    for e in order.tolist():
        if forest and not w[e] > 0:
            break
        a, b = find(int(i[e])), find(int(j[e]))
        if a != b:
            root[b] = a
            edges.append((int(i[e]), int(j[e])))
            if len(edges) == k - 1:
                break
    return edges


def _orient(names: Sequence[str], edges: Sequence[tuple[int, int]], root: int) -> list[Edge]:
    """Arcs pointing away from `root` (other components away from their first node)."""
    k = len(names)
    neighbours: list[list[int]] = [[] for _ in range(k)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    seen = [False] * k
    arcs: list[Edge] = []
    for start in [root, *range(k)]:
        if seen[start]:
            continue
        seen[start] = True
        frontier = [start]
        while frontier:  # breadth first, so arcs come out level by level
            nxt = []
            for a in frontier:
                for b in sorted(neighbours[a]):
                    if not seen[b]:
                        seen[b] = True
                        arcs.append((names[a], names[b]))
                        nxt.append(b)
            frontier = nxt
    return arcs


def _root_index(names: Sequence[str], root: str | None, what: str) -> int:
    if root is None:
        return 0
    if root not in names:
        raise ModelError(f"the root {root!r} is not one of the {what} ({', '.join(names)})")
    return list(names).index(root)


def chow_liu(data: Any, root: str | None = None, weights: str = "mi") -> DAG:
    """The Chow–Liu tree: the maximum-likelihood tree, oriented away from `root` (default:
    the first variable).

    `weights="mi"` gives the maximum spanning tree of the pairwise mutual information (always
    V − 1 edges). A score name ("bic", "aic", "bdeu", "ll") weighs an edge by
    score(a → b) − score(a) − score(b) and keeps only positive edges: the best forest for that
    score (Heckerman et al. 1995), which leaves independent variables apart.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2, 1000)
    >>> b = a ^ (rng.random(1000) < 0.1); c = b ^ (rng.random(1000) < 0.1)
    >>> chow_liu({"a": a, "b": b.astype(int), "c": c.astype(int)}).edges
    [('a', 'b'), ('b', 'c')]
    """
    if weights not in TREE_WEIGHTS:
        raise ModelError(f"unknown tree weights {weights!r}; choose from {list(TREE_WEIGHTS)}")
    source = as_source(data)
    names = list(source.variables)
    start = _root_index(names, root, "variables")
    if not names:
        return DAG([])
    matrix = _weight_matrix(source, names, [], weights)
    edges = _maximum_spanning_forest(matrix, forest=weights != "mi")
    return DAG(names, _sorted(_orient(names, edges, start), names))


def tan(data: Any, class_variable: str, root: str | None = None) -> DAG:
    """Tree-augmented naive Bayes: the class is a parent of every feature, and the features
    form the maximum spanning tree of I(a; b | class), oriented away from `root` (default:
    the first feature)."""
    source = as_source(data)
    if class_variable not in source.variables:
        raise ModelError(
            f"the class variable {class_variable!r} is not in the data "
            f"(columns: {', '.join(source.variables)})"
        )
    features, cond = _names(source, class_variable)
    start = _root_index(features, root, "features")
    arcs = [(class_variable, f) for f in features]
    if features:
        matrix = _weight_matrix(source, features, cond, "mi")
        arcs += _orient(features, _maximum_spanning_forest(matrix, forest=False), start)
    names = list(source.variables)
    return DAG(names, _sorted(arcs, names))


def _sorted(arcs: Sequence[Edge], names: Sequence[str]) -> list[Edge]:
    """Arcs grouped by child in node order (the order `DAG.edges` reports)."""
    index = {v: i for i, v in enumerate(names)}
    return sorted(arcs, key=lambda e: (index[e[1]], index[e[0]]))
