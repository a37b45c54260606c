"""Conditional independence tests X ⊥ Y | S from count tables: G² (the default) and Pearson χ².

A table has axes (*S, X, Y), as `count(data, [*S, x, y])` returns it; it is seen as strata
(q, |X|, |Y|), one per configuration of S, and every statistic is one vectorised pass over all
strata. Degrees of freedom are adjusted for structural zeros: a stratum adds
(nonzero rows − 1)(nonzero columns − 1), as causal-learn and bnlearn's adjusted df do, so empty
or degenerate strata do not inflate the df and hide a dependence; a test left with df 0 keeps
independence (p = 1). Optionally pcalg's rule "fewer rows than `min_rows_per_df` × the full
df ⇒ independent" decides before any statistic. In PC on bnlearn networks the adjusted df
measured clearly better and pcalg's rule worse, so they are the defaults (numbers in `pc`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import chdtrc, xlogy

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.counts import count

__all__ = [
    "TESTS",
    "CITest",
    "check_test",
    "ci_test",
    "full_dof",
    "g2_statistic",
    "independence_test",
]


@dataclass(frozen=True)
class CITest:
    """The outcome of one test: statistic, degrees of freedom, p-value and the rows it used.

    `p_value` is 1 where the test decided independence without a statistic (df 0, or too few
    rows under `min_rows_per_df`); `statistic` is then 0.
    """

    statistic: float
    dof: int
    p_value: float
    rows: float

    def independent(self, alpha: float) -> bool:
        """Whether independence is kept at level `alpha` (p-value above it)."""
        return self.p_value > alpha


def _margins(strata: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n_xz (q, |X|), n_yz (q, |Y|), n_z (q,)) of strata (q, |X|, |Y|)."""
    n_xz = strata.sum(axis=2)
    n_yz = strata.sum(axis=1)
    return n_xz, n_yz, n_xz.sum(axis=1)


def _g2(strata: np.ndarray, n_xz: np.ndarray, n_yz: np.ndarray, n_z: np.ndarray) -> float:
    """G² = 2 Σ n_xyz log(n_xyz n_z / (n_xz n_yz)), written as four Σ n log n terms."""
    g = (
        xlogy(strata, strata).sum() - xlogy(n_xz, n_xz).sum()
        - xlogy(n_yz, n_yz).sum() + xlogy(n_z, n_z).sum()
    )
    return max(2.0 * float(g), 0.0)  # rounding can leave −1e-12 for an exact fit


def _chi2(strata: np.ndarray, n_xz: np.ndarray, n_yz: np.ndarray, n_z: np.ndarray) -> float:
    """Pearson χ² = Σ (n_xyz − E)² / E with E = n_xz n_yz / n_z, over cells with E > 0."""
    expected = n_xz[:, :, None] * n_yz[:, None, :]  # (q, |X|, |Y|)
    np.divide(expected, n_z[:, None, None], out=expected, where=n_z[:, None, None] > 0)
    terms = np.square(strata - expected)
    np.divide(terms, expected, out=terms, where=expected > 0)
    return float(terms[expected > 0].sum())


def g2_statistic(counts: Any) -> float:
    """G² of a count table with axes (*S, X, Y) — also 2 N · I(X; Y | S), the conditional
    mutual information in nats of the table's N rows."""
    table = np.asarray(counts, dtype=np.float64)
    strata = table.reshape(-1, table.shape[-2], table.shape[-1])
    return _g2(strata, *_margins(strata))


TESTS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]] = {
    "g2": _g2,
    "chi2": _chi2,
}


def check_test(test: str) -> str:
    """The test name, or a ModelError listing the known ones."""
    if test not in TESTS:
        raise ModelError(f"unknown independence test {test!r}; choose from {sorted(TESTS)}")
    return test


def full_dof(cards: Sequence[int]) -> int:
    """Unadjusted df of a table with axes of these sizes (*S, X, Y): Π|S| (|X|−1)(|Y|−1)."""
    *given, rx, ry = (int(c) for c in cards)
    return math.prod(given) * (rx - 1) * (ry - 1)


def _adjusted_dof(n_xz: np.ndarray, n_yz: np.ndarray) -> int:
    """Σ over strata of (nonzero rows − 1)(nonzero columns − 1); empty strata add nothing."""
    rows = np.maximum((n_xz > 0).sum(axis=1) - 1, 0)
    cols = np.maximum((n_yz > 0).sum(axis=1) - 1, 0)
    return int((rows * cols).sum())


def ci_test(
    counts: Any,
    test: str = "g2",
    *,
    adjust_df: bool = True,
    min_rows_per_df: float = 0.0,
) -> CITest:
    """Test X ⊥ Y | S on a count table with axes (*S, X, Y) (at least 2-D).

    `adjust_df` subtracts structural zeros from the df; `min_rows_per_df` > 0 applies pcalg's
    rule: with fewer rows than that many times the full df, independence is assumed.

    >>> r = ci_test([[30, 10], [10, 30]])  # E = 20 per cell: G² = 2 Σ n log(n / E)
    >>> round(r.statistic, 4), r.dof, round(r.p_value, 8)
    (20.9299, 1, 4.76e-06)
    """
    fn = TESTS[check_test(test)]
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim < 2:
        raise ModelError(f"a test table needs axes (*S, X, Y), got shape {table.shape}")
    strata = table.reshape(-1, table.shape[-2], table.shape[-1])  # (q, |X|, |Y|)
    rows = float(strata.sum())
    full = full_dof(table.shape)
    if min_rows_per_df > 0 and rows < min_rows_per_df * full:
        return CITest(0.0, full, 1.0, rows)
    n_xz, n_yz, n_z = _margins(strata)
    dof = _adjusted_dof(n_xz, n_yz) if adjust_df else full
    if dof <= 0:
        return CITest(0.0, 0, 1.0, rows)
    statistic = fn(strata, n_xz, n_yz, n_z)
    return CITest(statistic, dof, float(chdtrc(dof, statistic)), rows)  # = chi2.sf(stat, dof)


def independence_test(
    data: Any,
    x: str,
    y: str,
    given: Sequence[str] = (),
    test: str = "g2",
    *,
    adjust_df: bool = True,
    min_rows_per_df: float = 0.0,
) -> CITest:
    """Test `x` ⊥ `y` | `given` on the rows of `data` (a Dataset or count source) observing all
    of them.

    >>> from genlab.pgm.learning.data import as_dataset
    >>> d = as_dataset({"a": [0, 0, 1, 1] * 10, "b": [0, 0, 1, 1] * 10})
    >>> independence_test(d, "a", "b").p_value < 1e-6
    True
    """
    given = tuple(given)
    if x == y or x in given or y in given:
        raise ModelError(f"a test needs distinct variables, got x={x!r}, y={y!r}, given={given}")
    table = count(data, [*given, x, y])
    return ci_test(table, test, adjust_df=adjust_df, min_rows_per_df=min_rows_per_df)
