"""MAP by branch and cut on the local-polytope integer program: equal to brute force on random
small models (zeros, evidence, ties), never "proven" falsely, bounds that hold when stopped, and
the search portfolio that runs it first."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from genlab.pgm import ZeroEvidenceError, map_assignment
from genlab.pgm.factor import Factor
from genlab.pgm.ilp import _program, ilp_map, local_polytope_size
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.mpe import _tighter, searched_map
from genlab.pgm.search import branch_and_bound
from tests.pgm.test_search import random_map_cases, random_model


def spin_glass(n: int, seed: int, card: int = 3) -> FactorGraph:
    """An n×n grid of random pairwise log-potentials N(0, 2²) and no fields: frustrated, so
    the local polytope is not tight and the program needs cuts and branching."""
    rng = np.random.default_rng(seed)
    factors = []
    for i, j in itertools.product(range(n), range(n)):
        for di, dj in ((1, 0), (0, 1)):
            if i + di < n and j + dj < n:
                factors.append(Factor([f"x{i}_{j}", f"x{i + di}_{j + dj}"],
                                      np.exp(rng.normal(0.0, 2.0, (card, card)))))
    return FactorGraph(factors)


def test_ilp_equals_brute_force_on_random_models_with_zeros_evidence_and_ties() -> None:
    checked = 0
    for model, evidence, best in random_map_cases(5):
        if best == -math.inf:
            with pytest.raises(ZeroEvidenceError):
                ilp_map(model, evidence)
            continue
        got = ilp_map(model, evidence)
        assert got.exact and got.method == "ilp" and got.report.proven
        assert got.log_probability == pytest.approx(best, abs=1e-9)
        assert model.log_score(got.assignment) == pytest.approx(best, abs=1e-9)
        assert all(got.assignment[k] == s for k, s in evidence.items())
        assert got.bound == got.log_probability
        checked += 1
    assert checked > 80


def test_the_program_has_the_size_it_announces() -> None:
    rng = np.random.default_rng(1)
    for _ in range(30):
        model = random_model(rng, zeros=False, ties=False)
        v = model.variables[0]
        for evidence in ({}, {v: 0}):
            program = _program(model, evidence)
            # a binary pair takes one column, not four; nothing else is smaller without zeros
            kept, _ = model.log_factors(evidence)
            pairs = sum(1 for _, _, table in kept if table.shape == (2, 2))
            assert program.cost.size == local_polytope_size(model, evidence) - 3 * pairs
            assert program.n_variables == len({name for name, _ in program.states})


def test_a_stopped_program_is_not_called_optimal_and_its_bound_holds() -> None:
    stopped = 0
    for seed in range(3):
        model = spin_glass(12, seed)
        optimum = map_assignment(model, method="contract").log_probability
        early = ilp_map(model, node_limit=1)
        assert early.log_probability <= optimum + 1e-9 <= early.bound + 1e-6
        if early.exact:
            assert early.log_probability == pytest.approx(optimum, abs=1e-7)
        else:
            stopped += 1
            assert early.report.gap > 0 and "gap" in early.report.describe()
        full = ilp_map(model)
        assert full.exact and full.log_probability == pytest.approx(optimum, abs=1e-7)
    assert stopped >= 1  # seed 0 needs more than the root node


def test_a_forbidden_state_and_an_impossible_model() -> None:
    """A unary zero removes a state's column; contradictory factors make the program
    infeasible, which is a ZeroEvidenceError, not an answer."""
    pair = Factor(["a", "b"], np.array([[1.0, 5.0], [2.0, 1.0]]))
    only_a1 = Factor(["a"], np.array([0.0, 1.0]))
    got = ilp_map(FactorGraph([pair, only_a1]))
    assert got.exact and got.assignment == {"a": 1, "b": 0}
    assert got.log_probability == pytest.approx(math.log(2.0))
    a0 = Factor(["a"], np.array([1.0, 0.0]))
    with pytest.raises(ZeroEvidenceError):
        ilp_map(FactorGraph([pair, only_a1, a0]))


def test_an_oversized_program_is_refused_with_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    import genlab.pgm.ilp as ilp

    monkeypatch.setattr(ilp, "MAX_COLUMNS", 10)
    with pytest.raises(ValueError, match="columns"):
        ilp.ilp_map(spin_glass(3, 0))
    # the search portfolio then goes straight to BP, LNS and branch and bound
    found = searched_map(spin_glass(3, 0), time_limit=5)
    assert found.exact and found.report.ilp is None


def test_search_runs_the_program_first_and_says_so() -> None:
    model = spin_glass(12, 0)
    optimum = map_assignment(model, method="contract").log_probability
    found = map_assignment(model, method="search", time_limit=20)
    assert found.exact and found.method == "search"
    assert found.log_probability == pytest.approx(optimum, abs=1e-7)
    assert "integer program" in found.report.describe()
    without = searched_map(model, time_limit=3, ilp=False)  # mini-bucket search alone
    assert without.report.ilp is None and "mini-bucket" in without.report.describe()
    assert without.log_probability <= optimum + 1e-9 <= without.bound + 1e-6


def test_the_tighter_bound_of_the_two_searches_is_kept_and_can_prove() -> None:
    model = spin_glass(12, 0)
    optimum = map_assignment(model, method="contract").log_probability
    stopped = branch_and_bound(model, ibound=1, node_limit=50, shift_time=0)
    assert not stopped.exact
    early = ilp_map(model, node_limit=1)
    combined = _tighter(stopped, early.report)
    assert combined.bound == pytest.approx(min(stopped.bound, early.report.bound))
    assert combined.bound >= optimum - 1e-6 and combined.report.ilp is early.report
    full = ilp_map(model)  # the program's proven optimum as the bound: the answer, if optimal
    best = branch_and_bound(model, node_limit=50, shift_time=0, incumbent=full.assignment)
    proven = _tighter(best, full.report)
    assert proven.exact and proven.bound == proven.log_probability == pytest.approx(optimum)


def test_a_program_stopped_before_any_assignment_still_lends_its_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When HiGHS runs out of time before it finds an assignment, the search portfolio goes
    on without one but keeps the program's dual bound where it is the tighter."""
    import genlab.pgm.ilp as ilp

    model = spin_glass(8, 1)
    optimum = map_assignment(model, method="contract").log_probability
    report = ilp.IlpReport(False, 0.1, 1, 1, 0, optimum + 0.5, -math.inf, "time limit reached")

    def no_assignment(*args: object, **kwargs: object) -> None:
        raise ilp.NoAssignment("stopped", report)

    import genlab.pgm.mpe as mpe

    monkeypatch.setattr(mpe, "ilp_map", no_assignment)  # the portfolio's reference to it
    found = searched_map(model, time_limit=3, node_limit=1, ibound=1)  # B&B cannot prove
    assert found.report.ilp is report and not found.exact
    assert found.report.root_bound > optimum + 0.5  # the mini-bucket bound is the looser
    assert found.bound == pytest.approx(optimum + 0.5)
    assert found.log_probability <= optimum + 1e-9
