"""Rescaled contraction: no underflow or overflow on models with thousands of factors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genlab.pgm import ExactInference, Factor, FactorGraph


def _chain(n: int, scale: float, a: float = 2.0, b: float = 1.0) -> FactorGraph:
    """x0 - x1 - ... - x{n-1}, each edge ψ = scale · [[a, b], [b, a]] (a symmetric transfer
    matrix whose top eigenvector is (1, 1)): Z = 2 · (scale · (a + b))^(n-1) exactly."""
    table = scale * np.array([[a, b], [b, a]])
    return FactorGraph([Factor((f"x{i}", f"x{i + 1}"), table) for i in range(n - 1)])


@pytest.mark.parametrize("scale", [1e-3, 1e3])
def test_log_z_far_outside_float64_range(scale: float) -> None:
    n = 3000
    eng = ExactInference(_chain(n, scale))
    want = math.log(2) + (n - 1) * math.log(scale * 3.0)
    assert abs(want / math.log(10)) > 5000  # |log10 Z| ≈ 9,000: 1e±9000 is no float64
    assert eng.log_partition() == pytest.approx(want, rel=1e-12)
    # evidence at both ends, batched: P(x0 = s, x_{n-1} = t) is closed-form too
    rows = np.array([[0, 0], [0, 1], [1, 1]])
    got = eng.log_partition(rows, columns=["x0", f"x{n - 1}"])
    # M^(n-1) = s^(n-1)/2 · ([[1,1],[1,1]] + r^(n-1) [[1,-1],[-1,1]]), r = (a-b)/(a+b)
    r = (2.0 - 1.0) / 3.0
    base = (n - 1) * math.log(scale * 3.0) - math.log(2)
    same = base + math.log1p(r ** (n - 1))
    diff = base + math.log1p(-(r ** (n - 1)))
    np.testing.assert_allclose(got, [same, diff, same], rtol=1e-12)


def test_marginals_on_a_long_chain_stay_exact() -> None:
    n = 2000
    fg = _chain(n, 1e-2)
    m = ExactInference(fg).marginals({"x0": 0})
    # the influence of x0 decays as r^k: P(x_k = 0 | x0 = 0) = (1 + r^k) / 2
    r = 1.0 / 3.0
    for k in (1, 2, 5, 30, n - 1):
        assert m[f"x{k}"][0] == pytest.approx((1 + r**k) / 2, rel=1e-12)
    assert np.all(np.isfinite(np.stack(list(m.values()))))
