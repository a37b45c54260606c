"""MPLP cost shifting: every assignment keeps its score (brute force, zeros included), the
dual bound never rises and always holds, and the search on shifted tables stays exact."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from genlab.pgm.costshift import cost_shift, dual_bound
from genlab.pgm.search import branch_and_bound
from genlab.pgm.testing import brute_map
from tests.pgm.test_loopy import grid


def _score(tables: list, x: tuple[int, ...]) -> float:
    return sum(float(t[tuple(x[v] for v in s)]) for s, t in tables)


def test_shifting_keeps_every_score_and_its_bound_holds() -> None:
    rng = np.random.default_rng(0)
    for trial in range(40):
        n = int(rng.integers(2, 7))
        cards = rng.integers(1, 4, n)
        tables = []
        for _ in range(int(rng.integers(1, 10))):
            k = int(rng.integers(1, min(3, n) + 1))
            scope = tuple(sorted(int(v) for v in rng.choice(n, k, replace=False)))
            table = rng.normal(size=[int(cards[v]) for v in scope]) * 3
            if trial % 2:
                table[rng.random(table.shape) < 0.25] = -np.inf
            tables.append((scope, table))
        shifted, report = cost_shift(tables, cards, time_limit=None, max_sweeps=60)
        best = -math.inf
        for x in itertools.product(*[range(int(c)) for c in cards]):
            before, after = _score(tables, x), _score(shifted, x)
            assert (before == after == -math.inf) or after == pytest.approx(before, abs=1e-9)
            best = max(best, before)
        assert report.bound_before == pytest.approx(dual_bound(tables))
        assert best <= report.bound + 1e-9 <= report.bound_before + 2e-9


def test_shifting_makes_the_bound_tight_on_a_tree() -> None:
    # the LP relaxation is exact on a chain: MPLP's fixed point reaches the optimum
    rng = np.random.default_rng(5)
    cards = np.array([3, 2, 3, 2, 3])
    tables = [((i,), rng.normal(size=int(cards[i]))) for i in range(5)]
    tables += [((i, i + 1), rng.normal(size=(int(cards[i]), int(cards[i + 1]))) * 2)
               for i in range(4)]
    best = max(_score(tables, x) for x in itertools.product(*[range(int(c)) for c in cards]))
    _, report = cost_shift(tables, cards, time_limit=None, max_sweeps=500, tolerance=0.0)
    assert report.bound_before > best + 0.5
    assert report.bound == pytest.approx(best, abs=1e-6)


def test_the_search_on_shifted_tables_equals_brute_force_and_tightens_the_root_bound() -> None:
    model = grid(4, 3, 2.0, seed=9)
    _, best = brute_map(model, {})
    plain = branch_and_bound(model, ibound=1, shift_time=0)
    shifted = branch_and_bound(model, ibound=1, shift_time=5)
    assert plain.exact and shifted.exact
    assert shifted.log_probability == pytest.approx(best) == plain.log_probability
    assert shifted.report.shift is not None and plain.report.shift is None
    assert shifted.report.root_bound < plain.report.root_bound
    assert shifted.report.nodes <= plain.report.nodes
