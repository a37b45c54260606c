"""Loopy BP and the `method="auto"` fallback: exact on trees (against brute force), BP fixed
points satisfy the BP equations, approximate answers are labelled as such."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest

from genlab.pgm import ZeroEvidenceError, examples, log_partition, map_assignment, marginals
from genlab.pgm.approximate import ApproximationWarning
from genlab.pgm.factor import Factor
from genlab.pgm.inference import engine
from genlab.pgm.loopy import LoopyBP, loopy_bp
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.testing import brute_log_partition, brute_map, brute_marginals


def random_factor_tree(rng: np.random.Generator, n: int, zeros: bool = True) -> FactorGraph:
    """A factor graph whose bipartite graph is a tree: each new factor joins one existing
    variable to one or two new ones (mixed cardinalities, some 1-state, some zero entries)."""
    cards = {"v0": int(rng.integers(1, 4))}
    factors = [Factor(["v0"], rng.gamma(0.7, size=cards["v0"]))]
    while len(cards) < n:
        old = f"v{rng.integers(0, len(cards))}"
        new = [f"v{len(cards) + j}" for j in range(int(rng.integers(1, 3)))]
        cards.update({v: int(rng.integers(1, 4)) for v in new})
        scope = [old, *new]
        rng.shuffle(scope)
        shape = [cards[v] for v in scope]
        table = rng.gamma(0.7, size=shape) * 10.0 ** rng.uniform(-3, 3)
        if zeros:
            table = table * (rng.random(shape) > 0.2)
        factors.append(Factor(scope, table))
    return FactorGraph(factors, cards=cards)


def grid(n: int, card: int, coupling: float, seed: int) -> FactorGraph:
    """An n×n Ising-like grid (loopy): random unary and pairwise log-potentials."""
    rng = np.random.default_rng(seed)
    factors = []
    for i, j in itertools.product(range(n), range(n)):
        factors.append(Factor([f"x{i}_{j}"], np.exp(rng.normal(0, 1, card))))
        if i + 1 < n:
            factors.append(Factor([f"x{i}_{j}", f"x{i + 1}_{j}"],
                                  np.exp(rng.normal(0, coupling, (card, card)))))
        if j + 1 < n:
            factors.append(Factor([f"x{i}_{j}", f"x{i}_{j + 1}"],
                                  np.exp(rng.normal(0, coupling, (card, card)))))
    return FactorGraph(factors)


def test_bp_is_exact_on_random_factor_trees_with_zeros_and_evidence() -> None:
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(60):
        tree = random_factor_tree(rng, int(rng.integers(1, 9)))
        v = tree.variables[int(rng.integers(len(tree.variables)))]
        evidence = {v: int(rng.integers(tree.card(v)))} if rng.random() < 0.5 else {}
        log_z = brute_log_partition(tree, evidence)
        if not np.isfinite(log_z):
            with pytest.raises(ZeroEvidenceError):
                loopy_bp(tree, evidence)
            continue
        exact = brute_marginals(tree, evidence)
        for damping, schedule in ((0.0, "synchronous"), (0.5, "synchronous"),
                                  (0.0, "residual"), (0.5, "residual")):
            result = loopy_bp(tree, evidence, damping=damping, schedule=schedule,
                              fraction=0.3, tolerance=1e-10)
            assert result.report.converged
            for var in tree.variables:
                np.testing.assert_allclose(result.marginals[var], exact[var], atol=1e-7)
            assert result.log_partition == pytest.approx(log_z, abs=1e-7)
        checked += 1
    assert checked > 30


def test_max_product_bp_decodes_the_map_of_a_tree() -> None:
    rng = np.random.default_rng(1)
    for _ in range(30):
        tree = random_factor_tree(rng, int(rng.integers(2, 9)), zeros=False)
        best = brute_map(tree)
        got = map_assignment(tree, method="approximate")
        assert not got.exact and got.method == "approximate"
        assert got.log_probability == pytest.approx(best[1], abs=1e-9)


def test_bp_is_exact_on_the_lecture_networks() -> None:
    for model, evidence in ((examples.red_blue_network(), {"X4": "blue"}),
                            (examples.food_factor_graph(), {})):
        exact = marginals(model, evidence, method="exact")
        approx = marginals(model, evidence, method="loopy")
        assert exact.exact and not approx.exact and approx.method == "loopy"
        for v in exact:
            np.testing.assert_allclose(approx[v], exact[v], atol=1e-8)
        assert log_partition(model, evidence, method="loopy") == pytest.approx(
            log_partition(model, evidence, method="exact"), abs=1e-8)


@pytest.mark.parametrize("schedule", ["synchronous", "residual"])
def test_a_loopy_fixed_point_satisfies_the_bp_equations(schedule: str) -> None:
    model = grid(5, 3, 0.5, seed=2)
    bp = LoopyBP(model, {"x2_2": 1}, damping=0.5, tolerance=1e-12, schedule=schedule)
    result = bp.run()
    assert result.report.converged
    messages = bp.f2v  # one undamped update from the fixed point leaves it where it is
    again = bp._factor_messages(bp._cavities(messages))
    np.testing.assert_allclose(np.exp(again), np.exp(messages), atol=1e-9)
    # a factor belief's marginal equals the variable belief (local consistency)
    for a, belief in enumerate(result.factor_beliefs):
        if belief is None or belief.ndim != 2:
            continue
        scope = [v for v in model.factors[bp.factor_of[a]].variables]
        np.testing.assert_allclose(belief.sum(axis=1), result.marginals[scope[0]], atol=1e-8)
        np.testing.assert_allclose(belief.sum(axis=0), result.marginals[scope[1]], atol=1e-8)


def test_bp_on_a_weakly_coupled_loopy_grid_is_close_to_exact() -> None:
    model = grid(6, 2, 0.3, seed=3)
    exact, approx = marginals(model, method="exact"), marginals(model, method="loopy")
    assert approx.report.converged
    assert max(np.abs(approx[v] - exact[v]).max() for v in exact) < 0.02
    assert abs(log_partition(model, method="loopy") - log_partition(model)) < 0.05


def test_auto_falls_back_to_bp_with_a_warning_when_the_plan_is_over_budget() -> None:
    model = grid(5, 2, 0.3, seed=4)
    eng = engine(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within budget: exact, no warning
        assert marginals(model).exact and log_partition(model).exact
        optimum = map_assignment(model)
    assert optimum.exact
    budget = eng.max_memory
    eng.max_memory = 64  # bytes: nothing fits
    try:
        with pytest.warns(ApproximationWarning, match="GiB"):
            m = marginals(model)
        assert not m.exact and m.method == "loopy" and m.report is not None
        with pytest.warns(ApproximationWarning):
            z = log_partition(model)
        assert not z.exact and z.report is not None
        with pytest.warns(ApproximationWarning, match="search"):
            best = map_assignment(model, time_limit=20)
        assert best.method == "search"  # branch and bound: proven here, the model is small
        assert best.exact and best.log_probability == pytest.approx(optimum.log_probability)
    finally:
        eng.max_memory = budget


def test_batched_evidence_gives_one_answer_per_row() -> None:
    model = grid(4, 2, 0.5, seed=5)
    rows = [{"x0_0": 0}, {"x0_0": 1}, {"x0_0": 1}]
    batched = marginals(model, rows, method="loopy")
    for k, row in enumerate(rows):
        single = marginals(model, row, method="loopy")
        for v in model.variables:
            np.testing.assert_allclose(batched[v][k], single[v], atol=1e-12)
    z = log_partition(model, np.array([[0], [1]]), columns=["x0_0"], method="loopy")
    assert z.shape == (2,)
    assert z[1] == pytest.approx(log_partition(model, {"x0_0": 1}, method="loopy"))


def test_approximate_map_is_never_called_proven_and_never_beats_the_optimum() -> None:
    for seed in range(8):
        model = grid(4, 3, 1.5, seed=seed)  # strong coupling: BP may be wrong
        exact = map_assignment(model, method="contract")
        approx = map_assignment(model, method="approximate", time_limit=5)
        assert exact.exact and not approx.exact
        assert approx.log_probability <= exact.log_probability + 1e-9
        score = model.log_score(approx.assignment)
        assert approx.log_probability == pytest.approx(score)
        assert "local-search" in approx.report.describe()


def test_bad_options_are_refused() -> None:
    model = examples.food_factor_graph()
    with pytest.raises(ValueError, match="method"):
        marginals(model, method="magic")
    with pytest.raises(ValueError, match="damping"):
        marginals(model, method="loopy", damping=1.0)
    with pytest.raises(ValueError, match="schedule"):
        marginals(model, method="loopy", schedule="random")
    with pytest.raises(ValueError, match="fraction"):
        loopy_bp(model, schedule="residual", fraction=0.0)
    with pytest.raises(ValueError, match="method"):
        map_assignment(model, method="loopy")


def test_gibbs_marginals_converge_to_exact_within_the_sampling_error() -> None:
    model = grid(4, 3, 0.8, seed=6)
    evidence = {"x1_1": 2}
    exact = marginals(model, evidence, method="exact")
    gibbs = marginals(model, evidence, method="gibbs", seed=0, chains=64, sweeps=400)
    assert not gibbs.exact and gibbs.method == "gibbs" and gibbs.report.sweeps == 400
    # 64 × 400 correlated draws: a few 1/sqrt(25600) ≈ 0.006 standard errors at most
    assert max(np.abs(gibbs[v] - exact[v]).max() for v in exact) < 0.03
    np.testing.assert_array_equal(gibbs["x1_1"], [0.0, 0.0, 1.0])
    again = marginals(model, evidence, method="gibbs", seed=0, chains=64, sweeps=400)
    np.testing.assert_array_equal(again["x0_0"], gibbs["x0_0"])  # seeded


def test_importance_sampling_of_log_z_covers_the_truth() -> None:
    covered = 0
    for seed in range(10):
        model = grid(4, 2, 1.0, seed=10 + seed)
        truth = log_partition(model, {"x0_0": 1})
        z = log_partition(model, {"x0_0": 1}, method="importance", samples=20_000, seed=seed)
        assert not z.exact and z.method == "importance" and z.report.samples == 20_000
        low, high = z.interval
        assert low <= float(z) <= high
        assert abs(float(z) - truth) < 0.1  # the proposal is close: errors are small
        covered += low <= truth <= high
    assert covered >= 8  # a 95% interval misses about one time in twenty


def test_the_tour_section_answers_a_grid_too_wide_to_contract(tmp_path: Path) -> None:
    from genlab.pgm.approximate_tour import tour_section
    from genlab.tour import TourContext

    text = tour_section(TourContext(run_dir=tmp_path, fast=True))
    assert "exact=False" in text and "over the budget" in text
    assert "proven optimal" in text  # the 10×10 grid's MAP, checked against the contraction


def test_an_oscillating_run_reports_time_averaged_beliefs() -> None:
    model = grid(5, 2, 4.0, seed=11)  # strong random couplings: undamped BP need not settle
    result = LoopyBP(model, damping=0.0, max_iterations=40, tolerance=1e-300).run()
    assert not result.report.converged and result.report.averaged == 30
    assert "averaged over the last 30" in result.report.describe()
    for v in model.variables:
        assert result.marginals[v].sum() == pytest.approx(1.0)
        assert np.all(result.marginals[v] >= 0)
    converged = LoopyBP(model, damping=0.5).run()
    assert converged.report.converged and converged.report.averaged == 0


def cycle(n: int, seed: int, zeros: bool = False) -> FactorGraph:
    """A single loop of n three-state variables: clamping any one of them leaves a chain."""
    rng = np.random.default_rng(seed)
    factors = [Factor([f"c{i}"], rng.gamma(1.0, size=3)) for i in range(n)]
    for i in range(n):
        table = np.exp(rng.normal(0, 1.5, (3, 3)))
        if zeros:
            table[0, 1] = table[2, 0] = 0.0
        factors.append(Factor([f"c{i}", f"c{(i + 1) % n}"], table))
    return FactorGraph(factors)


def test_bp_conditioned_on_a_cutset_is_exact_and_only_runs_with_time_to_spare() -> None:
    from genlab.pgm.approximate import best_bp
    from genlab.pgm.conditioned import clamped_bp

    for seed, zeros in ((0, False), (1, True), (2, True)):
        model = cycle(6, seed, zeros)
        evidence = {"c3": 2} if seed == 2 else {}
        exact = brute_marginals(model, evidence)
        plain = clamped_bp(model, evidence, {}, best_bp)  # no time limit: plain BP
        assert plain.report.clamped == ()
        clamped = clamped_bp(model, evidence, {"time_limit": 2.0}, best_bp)
        assert len(clamped.report.clamped) >= 1 and clamped.report.converged
        assert "conditioned on" in clamped.report.describe()
        for v in model.variables:
            np.testing.assert_allclose(clamped.marginals[v], exact[v], atol=1e-6)
        assert clamped.log_partition == pytest.approx(
            brute_log_partition(model, evidence), abs=1e-6)
        if not evidence:  # (evidence on c3 already cuts the loop)
            loop_error = max(np.abs(plain.marginals[v] - exact[v]).max() for v in exact)
            assert loop_error > 1e-4  # the loop made plain BP inexact: clamping fixed it


def test_an_unconverged_bethe_log_z_is_not_mixed_but_its_beliefs_are() -> None:
    model = grid(5, 2, 4.0, seed=11)  # synchronous undamped BP oscillates here
    options = {"damping": 0.0, "max_iterations": 40, "tolerance": 1e-300, "time_limit": 1.0,
               "schedule": "synchronous"}
    z = log_partition(model, method="loopy", **options)
    assert not z.report.converged and z.report.clamped == ()
    m = marginals(model, method="loopy", **options)
    assert len(m.report.clamped) >= 1
