"""The lecture's worked examples as ready-made models (used by the tour, tests and docs)."""

from __future__ import annotations

import numpy as np

from genlab.pgm.factor import Factor
from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork
from genlab.pgm.models.factor_graph import FactorGraph

__all__ = ["FOODS", "food_factor_graph", "red_blue_network"]

FOODS = ("chocolate", "peanut butter", "ice cream", "tuna")


def red_blue_network() -> BayesianNetwork:
    """The five red/blue variables: X1 → X2, (X2, X3) → X4, X3 → X5, with the lecture's CPTs."""
    colors = ["red", "blue"]
    return BayesianNetwork(
        [
            CPT("X1", {(): {"red": 0.4, "blue": 0.6}}),
            CPT("X2", {"red": [0.7, 0.3], "blue": [0.5, 0.5]}, parents=["X1"]),
            CPT("X3", {(): {"red": 0.6, "blue": 0.4}}),
            CPT(
                "X4",
                {
                    ("red", "red"): [0.5, 0.5],
                    ("red", "blue"): [0.8, 0.2],
                    ("blue", "red"): [0.6, 0.4],
                    ("blue", "blue"): [0.3, 0.7],
                },
                parents=["X2", "X3"],
            ),
            CPT("X5", {"red": [0.7, 0.3], "blue": [0.4, 0.6]}, parents=["X3"]),
        ],
        states={v: colors for v in ("X1", "X2", "X3", "X4", "X5")},
        name="red-blue",
    )


def food_factor_graph() -> FactorGraph:
    """Two courses over four foods: a unary preference per course and a pairwise table
    (rows = first course) — p(first, second) ∝ ψ1(first) ψ2(second) ψ12(first, second)."""
    pairwise = np.array(
        [
            [2, 9, 7, 0.1],  # chocolate first
            [4, 2, 3, 0.2],  # peanut butter
            [7, 3, 2, 0.1],  # ice cream
            [0.1, 0.2, 0.1, 2],  # tuna
        ]
    )
    return FactorGraph(
        [
            Factor(("first",), [0.1, 5, 1, 6]),
            Factor(("second",), [4, 8, 7, 3]),
            Factor(("first", "second"), pairwise),
        ],
        states={"first": FOODS, "second": FOODS},
        name="food",
    )
