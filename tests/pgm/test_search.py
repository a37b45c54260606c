"""MAP by AND/OR branch and bound: equal to brute force on random small models (zeros,
evidence, ties), never "proven" falsely, bounds that hold when stopped early; the integer
program checked against the contraction on the UAI problems beside it; tabu search."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pytest

from genlab.pgm import ZeroEvidenceError, map_assignment
from genlab.pgm.factor import Factor
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.search import branch_and_bound, mini_bucket_ibound
from genlab.pgm.testing import brute_map
from tests.conftest import shared_data
from tests.pgm.test_loopy import grid


def random_model(rng: np.random.Generator, zeros: bool, ties: bool) -> FactorGraph:
    n = int(rng.integers(2, 9))
    cards = [int(rng.integers(1, 4)) for _ in range(n)]
    names = [f"v{i}" for i in range(n)]
    factors = []
    for _ in range(int(rng.integers(1, 10))):
        k = int(rng.integers(1, min(3, n) + 1))
        scope = list(rng.choice(n, size=k, replace=False))
        shape = [cards[i] for i in scope]
        table = rng.integers(1, 4, size=shape).astype(float) if ties else \
            rng.gamma(0.7, size=shape) * 10.0 ** rng.uniform(-3, 3)
        if zeros:
            table = table * (rng.random(shape) > 0.3)
        factors.append(Factor([names[i] for i in scope], table))
    return FactorGraph(factors, cards=dict(zip(names, cards, strict=True)))


def random_map_cases(seed: int, trials: int = 150
                     ) -> Iterator[tuple[FactorGraph, dict[str, int], float]]:
    """Small random models (with zeros every other trial, ties every third, one observed
    variable every fourth) and the brute-force optimum's log score of each."""
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        model = random_model(rng, zeros=trial % 2 == 0, ties=trial % 3 == 0)
        v = model.variables[int(rng.integers(len(model.variables)))]
        evidence = {v: int(rng.integers(model.card(v)))} if trial % 4 == 0 else {}
        yield model, evidence, brute_map(model, evidence)[1]


@pytest.mark.parametrize("ibound", [1, 2, None])
def test_branch_and_bound_equals_brute_force(ibound: int | None) -> None:
    checked = 0
    for model, evidence, best in random_map_cases(0 if ibound is None else ibound):
        if best == -math.inf:
            with pytest.raises(ZeroEvidenceError):
                branch_and_bound(model, evidence, ibound=ibound)
            continue
        got = branch_and_bound(model, evidence, ibound=ibound)
        assert got.exact and got.method == "search"
        assert got.log_probability == pytest.approx(best, abs=1e-9)
        assert model.log_score(got.assignment) == pytest.approx(best, abs=1e-9)
        assert all(got.assignment[k] == s for k, s in evidence.items())
        checked += 1
    assert checked > 80


def test_search_agrees_with_the_contraction_and_a_good_incumbent_proves_it_fast() -> None:
    for seed in range(6):
        model = grid(5, 3, 1.5, seed=seed)
        exact = map_assignment(model, method="contract")
        found = map_assignment(model, method="search", time_limit=30)
        assert found.exact and found.log_probability == pytest.approx(exact.log_probability)
        with_start = branch_and_bound(model, ibound=1, incumbent=exact.assignment)
        without = branch_and_bound(model, ibound=1)
        assert with_start.exact and with_start.report.nodes <= without.report.nodes


def test_stopped_search_is_not_called_optimal_and_its_bound_holds() -> None:
    model = grid(6, 3, 2.0, seed=7)
    optimum = map_assignment(model, method="contract").log_probability
    stopped = branch_and_bound(model, ibound=1, node_limit=600, shift_time=0)
    assert not stopped.exact and stopped.report.stopped == "node limit"
    assert stopped.log_probability <= optimum + 1e-9 <= stopped.bound + 2e-9
    assert stopped.report.gap >= 0 and "gap" in stopped.report.describe()


def test_the_ibound_fits_the_memory_budget() -> None:
    model = grid(8, 3, 1.0, seed=8)
    from genlab.pgm.search import _mini_bucket_sizes, _reduce

    problem = _reduce(model, {})
    scopes = [s for s, _ in problem.tables]
    small = mini_bucket_ibound(scopes, problem.cards, max_entries=2_000)
    large = mini_bucket_ibound(scopes, problem.cards, max_entries=2_000_000)
    assert small < large
    assert _mini_bucket_sizes(scopes, problem.cards, small)[0] <= 2_000
    result = branch_and_bound(model, max_entries=2_000, node_limit=2_000)
    assert result.report.ibound == small and result.report.heuristic_entries <= 2_000


@pytest.mark.parametrize("solver", ["branch and bound", "integer program"])
def test_search_matches_the_contraction_on_the_uai_map_problems_it_solves(solver: str) -> None:
    from genlab.pgm.ilp import ilp_map
    from genlab.pgm.inference import ExactInference
    from genlab.pgm.uai_tasks import load_uai_problem

    folder = shared_data("uai2014", "MAP")
    solved = 0
    for path in sorted(folder.glob("*.uai")):
        model, evidence = load_uai_problem(path)
        engine = ExactInference(model)
        plan = engine.plan(list(evidence))
        if plan.largest_intermediate > 1 << 22 or plan.log2_flops > 30:
            continue
        exact = engine.map_assignment(evidence)
        search = branch_and_bound if solver == "branch and bound" else ilp_map
        found = search(model, evidence, time_limit=10)
        if found.exact:  # proven optimal must mean optimal
            assert found.log_probability == pytest.approx(exact.log_probability, abs=1e-6)
            solved += 1
        else:
            assert found.log_probability <= exact.log_probability + 1e-6 <= found.bound + 1e-5
    assert solved >= 1


def test_neighbourhood_search_repairs_an_impossible_start() -> None:
    """From an assignment of probability zero, large-neighbourhood search accepts any
    possible one (a −inf start used to compare as NaN and never move)."""
    from genlab.pgm.mpe import neighbourhood_search

    names = [f"x{i}" for i in range(12)]
    equal = np.eye(2)  # each neighbouring pair must agree
    factors = [Factor([a, b], equal) for a, b in itertools.pairwise(names)]
    factors.append(Factor([names[0]], np.array([1.0, 3.0])))  # all ones is best
    graph = FactorGraph(factors)
    start = {v: i % 2 for i, v in enumerate(names)}  # alternating: every pair breaks
    assert graph.log_score(start) == -math.inf
    found, _, moves = neighbourhood_search(graph, start, names, deadline=math.inf, size=12,
                                           max_size=12)
    assert moves >= 1
    assert graph.log_score(found) == pytest.approx(math.log(3.0))


def test_tabu_search_reaches_the_brute_force_optimum_on_small_models() -> None:
    """From random starts, with zeros, ties and evidence: never below the start, evidence
    untouched, and the optimum within 500 steps on every small model."""
    from genlab.pgm.mpe import tabu_search

    rng = np.random.default_rng(0)
    checked = 0
    for model, evidence, best in random_map_cases(10, trials=120):
        if best == -math.inf:
            continue
        start = {u: evidence.get(u, int(rng.integers(model.card(u)))) for u in model.variables}
        free = [u for u in model.variables if u not in evidence]
        found, _, _ = tabu_search(model, start, free, deadline=math.inf, max_steps=500)
        assert all(found[u] == s for u, s in evidence.items())
        assert model.log_score(found) >= model.log_score(start) - 1e-9
        assert model.log_score(found) == pytest.approx(best, abs=1e-9)
        checked += 1
    assert checked > 60


def test_tabu_search_colours_a_planted_graph_and_repairs_an_impossible_start() -> None:
    """A random graph with a planted 3-colouring and a soft penalty per monochromatic edge:
    the optimum (log score 0) is known by construction, and conditional modes stop short of
    it; tabu search walks on to it. From an assignment of probability zero it first leaves
    the zeros."""
    from genlab.pgm.mpe import local_search, tabu_search
    from genlab.pgm.sampling import conditional_tables

    rng = np.random.default_rng(4)
    n = 60
    colour = rng.integers(3, size=n)
    clash = np.exp(-5.0 * np.eye(3))
    names = [f"v{i}" for i in range(n)]
    factors = [Factor([names[i], names[j]], clash) for i, j in itertools.combinations(range(n), 2)
               if colour[i] != colour[j] and rng.random() < 0.12]
    graph = FactorGraph(factors)
    start = {v: int(rng.integers(3)) for v in graph.variables}
    index = {v: i for i, v in enumerate(graph.variables)}
    modes, _, _ = local_search(conditional_tables(graph, index),
                               np.array([start[v] for v in graph.variables]), list(range(n)))
    stuck = graph.log_score(dict(zip(graph.variables, map(int, modes), strict=True)))
    found, _, improved = tabu_search(graph, start, graph.variables, deadline=math.inf,
                                     max_steps=20_000)
    assert stuck < -1.0 and improved >= 1
    assert graph.log_score(found) == pytest.approx(0.0, abs=1e-12)

    chain = [f"x{i}" for i in range(12)]
    ties = [Factor([a, b], np.eye(2)) for a, b in itertools.pairwise(chain)]
    line = FactorGraph([*ties, Factor([chain[0]], np.array([1.0, 3.0]))])
    alternating = {v: i % 2 for i, v in enumerate(chain)}
    repaired, _, _ = tabu_search(line, alternating, chain, deadline=math.inf, max_steps=2_000)
    assert line.log_score(repaired) == pytest.approx(math.log(3.0))
