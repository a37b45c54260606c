"""The lecture's worked examples, with numbers computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genlab.pgm.examples import food_factor_graph, red_blue_network
from genlab.pgm.inference import log_partition, map_assignment, marginals, query

EVIDENCE = {"X1": "red", "X3": "blue", "X4": "blue"}


def test_red_blue_probability_of_evidence() -> None:
    # P(X1=r) P(X3=b) Σ_x2 P(x2|X1=r) P(X4=b|x2, X3=b) = .4 · .4 · (.7·.2 + .3·.7)
    assert math.exp(log_partition(red_blue_network(), EVIDENCE)) == pytest.approx(
        0.4 * 0.4 * (0.7 * 0.2 + 0.3 * 0.7), rel=1e-12
    )


def test_red_blue_joint_posterior_of_x2_x5() -> None:
    table = query(red_blue_network(), ["X2", "X5"], EVIDENCE)
    p_x2_red = 0.7 * 0.2 / (0.7 * 0.2 + 0.3 * 0.7)  # = 0.4
    p_x5_red = 0.4  # X5 depends only on X3 = blue
    want = np.outer([p_x2_red, 1 - p_x2_red], [p_x5_red, 1 - p_x5_red])
    assert table.variables == ("X2", "X5")
    np.testing.assert_allclose(table.table, want, rtol=1e-12)
    np.testing.assert_allclose(table.table, [[0.16, 0.24], [0.24, 0.36]], rtol=1e-12)


def test_red_blue_map_is_joint() -> None:
    result = map_assignment(red_blue_network(), EVIDENCE)
    assert result.named() == {"X1": "red", "X2": "blue", "X3": "blue", "X4": "blue", "X5": "blue"}
    # P(x*, e) = .4 · .3 · .4 · .7 · .6
    assert math.exp(result.log_probability) == pytest.approx(0.4 * 0.3 * 0.4 * 0.7 * 0.6)


def test_red_blue_prior_marginal_of_x4() -> None:
    m = marginals(red_blue_network())["X4"]
    p_x2_red = 0.4 * 0.7 + 0.6 * 0.5
    p_x4_red = sum(
        (p_x2_red if a == 0 else 1 - p_x2_red) * (0.6 if b == 0 else 0.4) * t
        for (a, b), t in {(0, 0): 0.5, (0, 1): 0.8, (1, 0): 0.6, (1, 1): 0.3}.items()
    )
    np.testing.assert_allclose(m, [p_x4_red, 1 - p_x4_red], rtol=1e-12)


def test_food_partition_function_and_joint() -> None:
    fg = food_factor_graph()
    u1, u2 = np.array([0.1, 5, 1, 6]), np.array([4, 8, 7, 3])
    pair = np.array([[2, 9, 7, 0.1], [4, 2, 3, 0.2], [7, 3, 2, 0.1], [0.1, 0.2, 0.1, 2]])
    z = float(u1 @ pair @ u2)
    assert math.exp(log_partition(fg)) == pytest.approx(z, rel=1e-12)
    joint = query(fg, ["first", "second"])
    tuna, ice_cream = 3, 2
    assert joint.table[tuna, ice_cream] == pytest.approx(6 * 7 * 0.1 / z, rel=1e-12)
    assert math.exp(log_partition(fg, {"first": "tuna", "second": "ice cream"})) == pytest.approx(
        6 * 7 * 0.1, rel=1e-12
    )


def test_food_map_is_the_best_pair() -> None:
    result = map_assignment(food_factor_graph())
    u1, u2 = np.array([0.1, 5, 1, 6]), np.array([4, 8, 7, 3])
    pair = np.array([[2, 9, 7, 0.1], [4, 2, 3, 0.2], [7, 3, 2, 0.1], [0.1, 0.2, 0.1, 2]])
    scores = u1[:, None] * pair * u2[None, :]
    i, j = np.unravel_index(scores.argmax(), scores.shape)
    assert (result.assignment["first"], result.assignment["second"]) == (i, j)
    assert (i, j) == (1, 2)  # peanut butter, then ice cream: 5 · 3 · 7 = 105
    assert math.exp(result.log_probability) == pytest.approx(105.0)
    assert result.named() == {"first": "peanut butter", "second": "ice cream"}
