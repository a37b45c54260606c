"""The lecture's worked examples as ready-made models (used by the tour, tests and docs)."""

from __future__ import annotations

import numpy as np

from genlab.pgm.factor import Factor
from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.models.gaussian import GaussianCPD, LinearGaussianBayesianNetwork

__all__ = ["FOODS", "food_factor_graph", "gaussian_network", "red_blue_network"]

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


def gaussian_network(
    mu1: float = 0.0, mu3: float = 0.0,
    sigmas: tuple[float, float, float, float, float] = (1.0, 0.5, 1.0, 0.5, 0.75),
) -> LinearGaussianBayesianNetwork:
    """The lecture's Gaussian network on the red/blue graph: x1 ~ N(μ1, σ1), x2 ~ N(x1, σ2),
    x3 ~ N(μ3, σ3), x4 ~ N(x2 + x3, σ4), x5 ~ N(x3, σ5), the σ's standard deviations."""
    s1, s2, s3, s4, s5 = sigmas
    return LinearGaussianBayesianNetwork([
        GaussianCPD("x1", bias=mu1, variance=s1 ** 2),
        GaussianCPD("x2", ("x1",), (1.0,), variance=s2 ** 2),
        GaussianCPD("x3", bias=mu3, variance=s3 ** 2),
        GaussianCPD("x4", ("x2", "x3"), (1.0, 1.0), variance=s4 ** 2),
        GaussianCPD("x5", ("x3",), (1.0,), variance=s5 ** 2),
    ], name="lecture-gaussian")
