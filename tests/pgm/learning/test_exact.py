"""Exact structure search against brute-force enumeration of every DAG, closed forms and
recovery of known networks."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pytest
from scipy.special import xlogy

from genlab.pgm import examples, read_bif
from genlab.pgm.errors import ModelError
from genlab.pgm.learning import exact
from genlab.pgm.learning.counts import count_many
from genlab.pgm.learning.data import Dataset, as_dataset
from genlab.pgm.learning.exact import exact_search
from genlab.pgm.learning.graph import DAG, as_dag, shd
from genlab.pgm.learning.scores import Scorer
from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork
from tests.conftest import shared_data
from tests.pgm.learning.helpers import PassCounter

SCORES = ("bic", "aic", "bdeu", "k2")


def all_dags(nodes: Sequence[str]) -> list[DAG]:
    """Every DAG on `nodes`: every subset of the ordered pairs that has no directed cycle."""
    arcs = list(itertools.permutations(nodes, 2))
    out = []
    for bits in range(1 << len(arcs)):
        chosen = [arcs[i] for i in range(len(arcs)) if bits >> i & 1]
        try:
            out.append(DAG(nodes, chosen))
        except ModelError:
            continue
    return out


DAGS3 = all_dags(["a", "b", "c"])
DAGS4 = all_dags(["a", "b", "c", "d"])


def random_network(
    parents: dict[str, list[str]], cards: dict[str, int], seed: int, alpha: float = 0.5
) -> BayesianNetwork:
    """A network on the given structure with Dirichlet(alpha) CPT rows."""
    rng = np.random.default_rng(seed)
    cpts = []
    for v, ps in parents.items():
        shape = [cards[p] for p in ps] + [cards[v]]
        table = rng.dirichlet(np.full(cards[v], alpha), size=shape[:-1] or None)
        cpts.append(CPT(v, np.asarray(table).reshape(shape), ps))
    states = {v: [f"s{i}" for i in range(c)] for v, c in cards.items()}
    return BayesianNetwork(cpts, states=states)


def sample(bn: BayesianNetwork, n: int, seed: int) -> Dataset:
    return as_dataset(bn.sample(n, seed), bn, variables=bn.variables)


def four_variable_data(seed: int, n: int) -> Dataset:
    """Data from a random 4-variable network (random structure and cardinalities)."""
    rng = np.random.default_rng(seed)
    names = ["a", "b", "c", "d"]
    parents = {v: [p for p in names[:i] if rng.random() < 0.5] for i, v in enumerate(names)}
    cards = {v: int(rng.integers(2, 4)) for v in names}
    return sample(random_network(parents, cards, seed), n, seed)


# ----------------------------------------------------------------------------------------------
# the oracle itself
# ----------------------------------------------------------------------------------------------
def test_enumeration_counts_every_dag() -> None:
    """The number of labelled DAGs on 3 and 4 nodes (OEIS A003024): 25 and 543."""
    assert len(DAGS3) == 25
    assert len(DAGS4) == 543


# ----------------------------------------------------------------------------------------------
# optimality against brute force
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("score", SCORES)
def test_matches_brute_force_on_four_variables(seed: int, score: str) -> None:
    data = four_variable_data(seed, n=[30, 200, 2000][seed % 3])
    scorer = Scorer(data, score, ess=2.0)
    best = max(scorer.total(g) for g in DAGS4)
    found = exact_search(scorer=scorer)
    assert found.nodes == data.variables
    assert scorer.total(found) == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("score", SCORES)
def test_matches_brute_force_on_three_variables(score: str) -> None:
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 2, 300), rng.integers(0, 3, 300)
    c = (a + b + (rng.random(300) < 0.2)) % 3
    scorer = Scorer(as_dataset({"a": a, "b": b, "c": c}), score)
    best = max(scorer.total(g) for g in DAGS3)
    assert scorer.total(exact_search(scorer=scorer)) == pytest.approx(best, abs=1e-9)


def best_over_orders(scorer: Scorer, max_parents: int) -> float:
    """A second oracle: every DAG follows some order, so the optimum is the best over all
    orders of Σ_v max over parent sets among v's predecessors (up to max_parents)."""
    names = scorer.variables
    best = -math.inf
    for order in itertools.permutations(names):
        total = 0.0
        for i, v in enumerate(order):
            sets = [s for k in range(min(i, max_parents) + 1)
                    for s in itertools.combinations(order[:i], k)]
            total += max(scorer.local(v, s) for s in sets)
        best = max(best, total)
    return best


@pytest.mark.parametrize(("n", "seed"), [(5, 0), (5, 1), (6, 2)])
def test_matches_enumeration_of_orders(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(n)]
    parents = {v: [p for p in names[:i] if rng.random() < 0.4] for i, v in enumerate(names)}
    bn = random_network(parents, {v: int(rng.integers(2, 4)) for v in names}, seed)
    scorer = Scorer(sample(bn, 1000, seed), "bdeu")
    for max_parents in (2, n - 1):
        found = exact_search(scorer=scorer, max_parents=max_parents)
        assert scorer.total(found) == pytest.approx(best_over_orders(scorer, max_parents))


@pytest.mark.parametrize("max_parents", [0, 1, 2])
def test_max_parents_matches_brute_force(max_parents: int) -> None:
    data = four_variable_data(3, 500)
    scorer = Scorer(data, "bic")
    allowed = [g for g in DAGS4 if all(len(g.parents(v)) <= max_parents for v in g.nodes)]
    found = exact_search(scorer=scorer, max_parents=max_parents)
    assert max(len(found.parents(v)) for v in found.nodes) <= max_parents
    assert scorer.total(found) == pytest.approx(max(scorer.total(g) for g in allowed))


@pytest.mark.parametrize("seed", range(4))
def test_black_and_white_lists_match_brute_force(seed: int) -> None:
    data = four_variable_data(seed, 400)
    scorer = Scorer(data, "bdeu")
    rng = np.random.default_rng(seed)
    arcs = list(itertools.permutations(data.variables, 2))
    picks = rng.choice(len(arcs), size=4, replace=False)
    black = [arcs[i] for i in picks[:3]]
    white = [arcs[picks[3]]]
    allowed = [
        g for g in DAGS4
        if not set(black) & set(g.edges) and set(white) <= set(g.edges)
    ]
    found = exact_search(scorer=scorer, black_list=black, white_list=white)
    assert not set(black) & set(found.edges)
    assert set(white) <= set(found.edges)
    assert scorer.total(found) == pytest.approx(max(scorer.total(g) for g in allowed))


def test_log_likelihood_optimum_is_the_empirical_joint() -> None:
    """Under the bare log-likelihood a complete DAG is optimal: total = Σ N_x log(N_x / N)
    over the full joint table, and every pair of variables is adjacent."""
    data = four_variable_data(11, 300)
    scorer = Scorer(data, "ll")
    found = exact_search(scorer=scorer)
    joint = count_many(data, [data.variables])[0]
    n = joint.sum()
    assert scorer.total(found) == pytest.approx(float(xlogy(joint, joint / n).sum()))
    assert found.num_edges == 6


def test_recovers_a_v_structure() -> None:
    """a → c ← b is identifiable: the optimum must be that DAG exactly (no equivalent one)."""
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 2, 5000), rng.integers(0, 2, 5000)
    c = np.where(rng.random(5000) < 0.1, rng.integers(0, 3, 5000), a + b)  # not XOR: a, c depend
    found = exact_search({"a": a, "b": b, "c": c})
    assert set(found.edges) == {("a", "c"), ("b", "c")}


@pytest.mark.parametrize("score", ["bic", "bdeu"])
def test_recovers_red_blue_up_to_equivalence(score: str) -> None:
    bn = examples.red_blue_network()
    assert shd(exact_search(sample(bn, 20_000, 0), score=score), bn) == 0


def test_independent_variables_give_no_edge() -> None:
    rng = np.random.default_rng(1)
    data = {v: rng.integers(0, 3, 2000) for v in "abcde"}
    assert exact_search(data).num_edges == 0


# ----------------------------------------------------------------------------------------------
# batching and reuse
# ----------------------------------------------------------------------------------------------
def test_counts_every_family_in_one_pass() -> None:
    """One data pass for all n·Σ_k C(n−1, k) families (max_parents K)."""
    source = PassCounter(four_variable_data(2, 100).select(["a", "b", "c", "d"]))
    scorer = Scorer(source, "bic")
    exact_search(scorer=scorer, max_parents=2)
    assert source.passes == 1
    assert scorer.evaluations == 4 * sum(math.comb(3, k) for k in range(3))
    exact_search(scorer=scorer, max_parents=2)  # all cached: no second pass
    assert source.passes == 1


def test_batches_split_when_tables_pass_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    data = four_variable_data(5, 300)
    expected = exact_search(data, score="bdeu")
    source = PassCounter(data)
    monkeypatch.setattr(exact, "_BATCH_BYTES", 64)  # a few tables per call
    found = exact_search(source, score="bdeu")
    assert source.passes > 1
    assert found == expected


def test_small_and_empty_inputs() -> None:
    assert exact_search({"a": [0, 1, 1, 0]}).edges == []
    assert exact_search(Dataset((), {}, np.zeros((3, 0), dtype=int))).nodes == ()


# ----------------------------------------------------------------------------------------------
# refusals
# ----------------------------------------------------------------------------------------------
def test_rejects_bad_constraints() -> None:
    data = four_variable_data(0, 50)
    with pytest.raises(ModelError, match="directed cycle"):
        exact_search(data, white_list=[("a", "b"), ("b", "c"), ("c", "a")])
    with pytest.raises(ModelError, match="both required and forbidden"):
        exact_search(data, white_list=[("a", "b")], black_list=[("a", "b")])
    with pytest.raises(ModelError, match="over max_parents"):
        exact_search(data, white_list=[("a", "c"), ("b", "c")], max_parents=1)
    with pytest.raises(ModelError, match="names 'z', which is not in the data"):
        exact_search(data, black_list=[("z", "a")])
    with pytest.raises(ModelError, match="self-loop"):
        exact_search(data, black_list=[("a", "a")])
    with pytest.raises(ModelError, match="max_parents"):
        exact_search(data, max_parents=-1)
    with pytest.raises(TypeError, match="data or a scorer"):
        exact_search()


def test_refuses_too_many_variables_before_allocating() -> None:
    n = exact.MAX_EXACT_VARIABLES + 1
    data = Dataset(tuple(f"x{i}" for i in range(n)), {f"x{i}": ("0", "1") for i in range(n)},
                   np.zeros((4, n), dtype=int))
    with pytest.raises(ModelError, match=r"GiB.*hill climbing"):
        exact_search(data, max_parents=1)


def test_refuses_when_scoring_would_take_too_long() -> None:
    n = 20
    data = Dataset(tuple(f"x{i}" for i in range(n)), {f"x{i}": ("0", "1", "2") for i in range(n)},
                   np.zeros((4, n), dtype=int))
    with pytest.raises(ModelError, match=r"10,485,760 parent sets.*lower max_parents"):
        exact_search(data)


# ----------------------------------------------------------------------------------------------
# a real network
# ----------------------------------------------------------------------------------------------
def test_alarm_subnetwork_beats_the_truth_and_random_dags() -> None:
    """On alarm's first 10 variables the optimum scores at least the true structure and any
    random DAG, and with enough data it is the truth's equivalence class."""
    bn = read_bif(shared_data("bnlearn", "alarm.bif.gz"))
    names = list(bn.variables[:10])
    data = sample(bn, 20_000, 3).select(names)
    scorer = Scorer(data, "bic")
    found = exact_search(scorer=scorer, max_parents=3)
    truth = DAG(names, [(p, v) for p, v in as_dag(bn).edges if p in names and v in names])
    assert scorer.total(found) >= scorer.total(truth) - 1e-9
    rng = np.random.default_rng(0)
    for _ in range(50):
        order = rng.permutation(names)
        arcs = [(order[i], order[j]) for i in range(10) for j in range(i + 1, 10)
                if rng.random() < 0.2]
        assert scorer.total(found) >= scorer.total(DAG(names, arcs))
    assert shd(found, truth) <= 1
