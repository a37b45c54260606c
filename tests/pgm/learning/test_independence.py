"""G² and Pearson χ² conditional independence tests: hand-computed values, scipy, df rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2, chi2_contingency

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.counts import count
from genlab.pgm.learning.data import as_dataset
from genlab.pgm.learning.independence import ci_test, full_dof, independence_test

TABLE = [[30, 10], [10, 30]]  # every expected count is 20


def test_g2_and_chi2_by_hand() -> None:
    g2 = ci_test(TABLE, "g2")
    assert g2.statistic == pytest.approx(2 * (60 * math.log(1.5) + 20 * math.log(0.5)))
    assert g2.dof == 1
    assert g2.p_value == pytest.approx(chi2.sf(g2.statistic, 1))
    assert g2.rows == 80
    x2 = ci_test(TABLE, "chi2")
    assert x2.statistic == pytest.approx(4 * 10**2 / 20)  # four cells, |n − E| = 10, E = 20
    assert x2.p_value == pytest.approx(chi2.sf(20.0, 1))
    assert not g2.independent(0.05) and ci_test([[20, 20], [20, 20]]).independent(0.05)


def test_independent_table_has_zero_statistic() -> None:
    r = ci_test([[10, 20, 30], [20, 40, 60]])
    assert r.statistic == pytest.approx(0.0, abs=1e-9)
    assert r.p_value == pytest.approx(1.0)
    assert r.dof == 2


@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (5, 2)])
@pytest.mark.parametrize("test, lambda_", [("g2", "log-likelihood"), ("chi2", "pearson")])
def test_unconditional_matches_scipy(shape: tuple[int, int], test: str, lambda_: str) -> None:
    rng = np.random.default_rng(sum(shape))
    table = rng.integers(1, 40, size=shape)
    stat, p, dof, _ = chi2_contingency(table, lambda_=lambda_, correction=False)
    r = ci_test(table, test)
    assert r.statistic == pytest.approx(stat, rel=1e-9)
    assert r.p_value == pytest.approx(p, rel=1e-7)
    assert r.dof == dof


@pytest.mark.parametrize("test, lambda_", [("g2", "log-likelihood"), ("chi2", "pearson")])
def test_conditional_is_the_sum_over_strata(test: str, lambda_: str) -> None:
    rng = np.random.default_rng(1)
    strata = rng.integers(1, 30, size=(2, 3, 3, 2))  # S1 (2) × S2 (3) strata of (3, 2) tables
    r = ci_test(strata, test)
    flat = strata.reshape(-1, 3, 2)
    parts = [chi2_contingency(t, lambda_=lambda_, correction=False) for t in flat]
    assert r.statistic == pytest.approx(sum(p[0] for p in parts), rel=1e-9)
    assert r.dof == sum(p[2] for p in parts) == full_dof(strata.shape) == 6 * 2
    assert r.p_value == pytest.approx(chi2.sf(r.statistic, r.dof), rel=1e-9)


def test_df_adjusted_for_structural_zeros() -> None:
    strata = np.array([
        [[10, 5, 0], [3, 9, 0]],  # the third column is empty: (2 − 1)(2 − 1) = 1
        [[0, 0, 0], [0, 0, 0]],  # an empty stratum adds nothing
        [[4, 6, 2], [0, 0, 0]],  # a single nonzero row adds nothing
    ])
    assert ci_test(strata).dof == 1
    assert ci_test(strata, adjust_df=False).dof == 3 * 1 * 2
    assert ci_test(strata).statistic == ci_test(strata, adjust_df=False).statistic
    degenerate = ci_test([[5, 0], [7, 0]])  # df 0: nothing to test
    assert (degenerate.dof, degenerate.p_value, degenerate.statistic) == (0, 1.0, 0.0)


def test_min_rows_per_df_rule() -> None:
    strong = np.array([[[40, 0], [0, 40]]] * 4)  # (4 strata, 2, 2): 320 rows, full df 4
    assert ci_test(strong).p_value < 1e-10
    assert ci_test(strong, min_rows_per_df=80).p_value < 1e-10  # 320 ≥ 80 · 4
    skipped = ci_test(strong, min_rows_per_df=81)
    assert skipped.p_value == 1.0 and skipped.statistic == 0.0 and skipped.independent(0.05)


def test_independence_test_counts_the_data() -> None:
    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, 3000)
    x = (z ^ (rng.random(3000) < 0.2)).astype(int)
    y = (z ^ (rng.random(3000) < 0.2)).astype(int)
    d = as_dataset({"x": x, "y": y, "z": z})
    assert independence_test(d, "x", "y").p_value < 1e-10  # dependent through z
    given = independence_test(d, "x", "y", ["z"])
    assert given.p_value > 0.001  # independent given z
    expected = ci_test(count(d, ["z", "x", "y"]))
    assert (given.statistic, given.dof) == (expected.statistic, expected.dof)


def test_rows_with_missing_cells_are_skipped() -> None:
    codes = np.array([[0, 0], [1, 1], [0, 0], [1, 1], [-1, 0], [0, -1]] * 10)
    r = independence_test(as_dataset(codes, variables=["a", "b"]), "a", "b")
    assert r.rows == 40
    assert r.statistic == pytest.approx(ci_test([[20, 0], [0, 20]]).statistic)


def test_bad_input() -> None:
    with pytest.raises(ModelError, match="unknown independence test 'fisher'"):
        ci_test(TABLE, "fisher")
    with pytest.raises(ModelError, match="axes"):
        ci_test([1, 2, 3])
    d = as_dataset({"a": [0, 1], "b": [1, 0]})
    with pytest.raises(ModelError, match="distinct"):
        independence_test(d, "a", "a")
    with pytest.raises(ModelError, match="distinct"):
        independence_test(d, "a", "b", ["b"])
