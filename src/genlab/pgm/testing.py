"""The oracle: brute-force enumeration of small models, and hypothesis strategies for random
ones. Every engine, semiring and planner is tested against these (pyro's naive_ubersum idea).

Only for models whose joint table fits in memory (a few thousand states).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from genlab.pgm.factor import Factor
from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork
from genlab.pgm.models.factor_graph import FactorGraph

__all__ = [
    "bayesian_networks",
    "brute_joint",
    "brute_log_partition",
    "brute_map",
    "brute_marginals",
    "brute_query",
    "evidence_for",
    "factor_graphs",
]


def brute_joint(model: Any, evidence: Mapping[str, Any] | None = None) -> np.ndarray:
    """The unnormalized joint table over `graph.variables` (C order), zero off the evidence."""
    fg: FactorGraph = model.to_factor_graph()
    position = {v: i for i, v in enumerate(fg.variables)}
    joint = np.ones(tuple(fg.cards[v] for v in fg.variables))
    for f in fg.factors:
        joint = np.einsum(
            joint,
            list(range(joint.ndim)),
            f.table,
            [position[v] for v in f.variables],
            list(range(joint.ndim)),
        )
    for v, s in fg.encode_evidence(evidence).items():
        mask = np.zeros(fg.cards[v])
        mask[s] = 1.0
        shape = [1] * joint.ndim
        shape[position[v]] = fg.cards[v]
        joint = joint * mask.reshape(shape)
    return joint


def brute_log_partition(model: Any, evidence: Mapping[str, Any] | None = None) -> float:
    """log of the sum of the clamped joint."""
    with np.errstate(divide="ignore"):
        return float(np.log(brute_joint(model, evidence).sum()))


def brute_marginals(model: Any, evidence: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Every variable's posterior marginal by summing the joint."""
    fg = model.to_factor_graph()
    joint = brute_joint(model, evidence)
    joint = joint / joint.sum()
    axes = range(joint.ndim)
    return {v: joint.sum(axis=tuple(a for a in axes if a != i)) for i, v in enumerate(fg.variables)}


def brute_query(
    model: Any, variables: Sequence[str], evidence: Mapping[str, Any] | None = None
) -> np.ndarray:
    """Joint posterior over `variables`, axes in the given order."""
    fg = model.to_factor_graph()
    joint = brute_joint(model, evidence)
    joint = joint / joint.sum()
    position = [fg.variables.index(v) for v in variables]
    rest = tuple(a for a in range(joint.ndim) if a not in position)
    table = joint.sum(axis=rest)
    kept = sorted(position)
    return np.transpose(table, [kept.index(p) for p in position])


def brute_map(
    model: Any, evidence: Mapping[str, Any] | None = None
) -> tuple[dict[str, int], float]:
    """A most probable assignment and the log of its unnormalized value."""
    fg = model.to_factor_graph()
    joint = brute_joint(model, evidence)
    flat = int(np.argmax(joint))
    index = np.unravel_index(flat, joint.shape)
    with np.errstate(divide="ignore"):
        value = float(np.log(joint.reshape(-1)[flat]))
    return {v: int(i) for v, i in zip(fg.variables, index, strict=True)}, value


# ----------------------------------------------------------------------------------------------
# hypothesis strategies (hypothesis is a test dependency: imported lazily)
# ----------------------------------------------------------------------------------------------
def factor_graphs(
    max_vars: int = 8,
    max_card: int = 3,
    max_factors: int = 8,
    max_scope: int = 3,
    zeros: bool = True,
) -> Any:
    """Random factor graphs: mixed cardinalities, random scopes, tables with optional zeros
    and a wide dynamic range; some variables may lie in no factor."""
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> FactorGraph:
        n = draw(st.integers(1, max_vars))
        cards = [draw(st.integers(1, max_card)) for _ in range(n)]
        names = [f"v{i}" for i in range(n)]
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        factors = []
        for _ in range(draw(st.integers(1, max_factors))):
            k = draw(st.integers(0, min(max_scope, n)))
            scope = list(rng.choice(n, size=k, replace=False))
            shape = [cards[i] for i in scope]
            table = rng.gamma(0.7, size=shape) * 10.0 ** rng.uniform(-3, 3)
            if zeros and draw(st.booleans()):
                table = table * (rng.random(shape) > 0.25)
            factors.append(Factor([names[i] for i in scope], table))
        return FactorGraph(factors, cards=dict(zip(names, cards, strict=True)))

    return build()


def bayesian_networks(max_vars: int = 8, max_card: int = 3, max_parents: int = 3) -> Any:
    """Random Bayesian networks: random DAG (parents among earlier variables), Dirichlet CPTs,
    random variable order in the CPT list."""
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> BayesianNetwork:
        n = draw(st.integers(1, max_vars))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        cards = [int(rng.integers(2, max_card + 1)) for _ in range(n)]
        names = [f"x{i}" for i in range(n)]
        cpts = []
        for i in range(n):
            k = int(rng.integers(0, min(max_parents, i) + 1))
            parents = sorted(rng.choice(i, size=k, replace=False).tolist()) if k else []
            shape = [cards[p] for p in parents] + [cards[i]]
            table = rng.dirichlet(np.full(cards[i], 0.5), size=shape[:-1] or None)
            cpts.append(
                CPT(names[i], np.asarray(table).reshape(shape), [names[p] for p in parents])
            )
        order = rng.permutation(n)
        return BayesianNetwork(
            [cpts[i] for i in order],
            states={names[i]: [f"s{j}" for j in range(cards[i])] for i in range(n)},
        )

    return build()


def evidence_for(
    model: Any, rng: np.random.Generator, max_observed: int | None = None
) -> dict[str, int]:
    """Random evidence on a random subset of the model's variables (state indices)."""
    fg = model.to_factor_graph()
    n = len(fg.variables)
    k = int(rng.integers(0, (max_observed if max_observed is not None else n) + 1))
    chosen = rng.choice(n, size=min(k, n), replace=False)
    return {fg.variables[i]: int(rng.integers(fg.cards[fg.variables[i]])) for i in chosen}
