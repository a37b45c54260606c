"""PC-stable: recovery of small structures, the lecture's CPDAG, order independence, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from genlab.pgm import CPT, BayesianNetwork, examples, read_bif
from genlab.pgm.errors import ModelError
from genlab.pgm.learning.data import Dataset, as_dataset
from genlab.pgm.learning.graph import DAG, cpdag, shd
from genlab.pgm.learning.pc import PCResult, pc
from tests.conftest import shared_data
from tests.pgm.learning.helpers import PassCounter

STRONG = [[0.85, 0.15], [0.2, 0.8]]  # p(child | parent): a clear dependence


def _network(parents: dict[str, list[str]]) -> BayesianNetwork:
    """Binary network with strong dependencies: each parent pushes the child towards state 1."""
    cpts = []
    for v, ps in parents.items():
        if not ps:
            cpts.append(CPT(v, np.array([0.5, 0.5])))
        elif len(ps) == 1:
            cpts.append(CPT(v, np.array(STRONG), parents=ps))
        else:  # two parents, additive effects: p(1) = 0.1, 0.5, 0.5, 0.9
            p1 = np.array([[0.1, 0.5], [0.5, 0.9]])
            cpts.append(CPT(v, np.stack([1 - p1, p1], axis=-1), parents=ps))
    return BayesianNetwork(cpts, cards={v: 2 for v in parents})


def _learn(bn: BayesianNetwork, n: int, seed: int = 0, **kwargs: object) -> PCResult:
    data = as_dataset(bn.sample(n, seed), bn, variables=bn.variables)
    return pc(data, **kwargs)  # type: ignore[arg-type]


def _pairs(*edges: str) -> frozenset[frozenset[str]]:
    return frozenset(frozenset(e) for e in edges)


def test_chain_gives_the_skeleton_undirected() -> None:
    r = _learn(_network({"a": [], "b": ["a"], "c": ["b"]}), 20000)
    assert r.pdag.directed == frozenset()
    assert r.pdag.undirected == _pairs("ab", "bc")
    assert r.separating_set("a", "c") == ("b",)
    assert r.separating_set("a", "b") is None


def test_fork_gives_the_skeleton_undirected() -> None:
    r = _learn(_network({"b": [], "a": ["b"], "c": ["b"]}), 20000)
    assert r.pdag.directed == frozenset()
    assert r.pdag.undirected == _pairs("ab", "bc")
    assert r.separating_set("a", "c") == ("b",)


def test_collider_gives_exactly_the_v_structure() -> None:
    r = _learn(_network({"a": [], "c": [], "b": ["a", "c"]}), 20000)
    assert r.pdag.directed == {("a", "b"), ("c", "b")}
    assert r.pdag.undirected == frozenset()
    assert r.separating_set("a", "c") == ()
    assert r.dag() == DAG(["a", "b", "c"], [("a", "b"), ("c", "b")])


def test_red_blue_network_cpdag_recovered_exactly() -> None:
    bn = examples.red_blue_network()
    r = _learn(bn, 50000)
    assert r.pdag.directed == {("X2", "X4"), ("X3", "X4")}
    assert r.pdag.undirected == _pairs(("X1", "X2"), ("X3", "X5"))
    assert shd(r.pdag, bn) == 0
    assert r.pdag == cpdag(bn)
    assert r.num_tests > 10 and r.max_level >= 1
    assert shd(r.dag(), bn) == 0  # a member of the class


@pytest.mark.parametrize("test", ["g2", "chi2"])
@pytest.mark.parametrize("stable", [True, False])
def test_variants_agree_on_an_easy_network(test: str, stable: bool) -> None:
    bn = examples.red_blue_network()
    assert shd(_learn(bn, 50000, test=test, stable=stable).pdag, bn) == 0


def _shuffled(data: Dataset, seed: int) -> Dataset:
    order = np.random.default_rng(seed).permutation(len(data.variables))
    return data.select([data.variables[i] for i in order])


def _same(a: PCResult, b: PCResult) -> None:
    assert a.pdag.directed == b.pdag.directed
    assert a.pdag.undirected == b.pdag.undirected
    assert a.sepsets == b.sepsets
    assert a.num_tests == b.num_tests


def test_pc_stable_ignores_the_column_order() -> None:
    bn = _network({"a": [], "b": ["a"], "c": [], "d": ["b", "c"], "e": ["d"], "f": ["c"]})
    data = as_dataset(bn.sample(3000, 4), bn, variables=bn.variables)
    first = pc(data)
    for seed in range(3):
        _same(first, pc(_shuffled(data, seed)))


def test_pc_stable_ignores_the_column_order_on_asia() -> None:
    bn = read_bif(shared_data("bnlearn", "asia.bif.gz"))
    data = as_dataset(bn.sample(2000, 1), bn, variables=bn.variables)
    first = pc(data)
    for seed in range(3):
        _same(first, pc(_shuffled(data, seed)))


def test_batched_rounds_give_the_same_result() -> None:
    bn = examples.red_blue_network()
    data = as_dataset(bn.sample(3000, 2), bn, variables=bn.variables)
    one, batched = pc(data), pc(data, tests_per_edge=1000)
    assert one.pdag == batched.pdag and one.sepsets == batched.sepsets
    assert batched.num_tests >= one.num_tests


def test_a_count_source_gets_one_pass_per_level() -> None:
    bn = examples.red_blue_network()
    data = as_dataset(bn.sample(20000, 5), bn, variables=bn.variables)
    source = PassCounter(data)
    r = pc(source)
    assert r.pdag == pc(data).pdag and r.sepsets == pc(data).sepsets
    assert source.passes == (r.max_level + 1) + 1  # the levels, then the colliders' tests


def _latent_confounder_data(conflict: str) -> PCResult:
    """a → b ← L → c ← d with L hidden: b and c stay adjacent and both a — b — c and
    b — c — d look like colliders, so the arcs on b — c conflict."""
    bn = _network({"a": [], "L": [], "d": [], "b": ["a", "L"], "c": ["L", "d"]})
    codes = bn.sample(30000, 3)
    keep = [bn.variables.index(v) for v in "abcd"]
    data = as_dataset(codes[:, keep], variables=list("abcd"))
    return pc(data, alpha=0.01, conflict=conflict)


def test_conflicting_colliders_dropped() -> None:
    r = _latent_confounder_data("drop")
    assert r.pdag.directed == frozenset()
    assert r.pdag.undirected == _pairs("ab", "bc", "cd")


def test_conflicting_colliders_priority_keeps_one() -> None:
    r = _latent_confounder_data("priority")
    assert r.pdag.skeleton == _pairs("ab", "bc", "cd")
    assert r.pdag.directed in ({("a", "b"), ("c", "b")}, {("b", "c"), ("d", "c")})
    assert len(r.pdag.undirected) == 1  # the losing collider's other edge
    assert _latent_confounder_data("priority").pdag == r.pdag


def test_unconfirmed_collider_is_not_placed() -> None:
    """A weak fork a ← z → c: at this size a ⊥ c holds marginally (sepset ()), which alone
    would make the false collider a → z ← c; but a ⊥ c | z holds too, so it is not confirmed."""
    weak = np.array([[0.6, 0.4], [0.4, 0.6]])
    bn = BayesianNetwork(
        [CPT("z", np.array([0.5, 0.5])), CPT("a", weak, parents=["z"]),
         CPT("c", weak, parents=["z"])],
        cards={"a": 2, "c": 2, "z": 2},
    )
    data = as_dataset(bn.sample(5000, 2), bn, variables=bn.variables)
    unconfirmed = pc(data, confirm_colliders=False)
    assert unconfirmed.separating_set("a", "c") == ()
    assert unconfirmed.pdag.directed == {("a", "z"), ("c", "z")}
    r = pc(data)
    assert r.pdag.directed == frozenset()
    assert r.pdag.undirected == _pairs("az", "cz")
    assert r.num_tests == unconfirmed.num_tests  # priority already made the one extra test


def test_max_cond_limits_the_levels() -> None:
    bn = _network({"a": [], "b": ["a"], "c": ["b"]})
    r = _learn(bn, 20000, max_cond=0)
    assert r.max_level == 0
    assert r.pdag.skeleton == _pairs("ab", "bc", "ac")  # a ⊥ c needs the set {b}


def test_accepts_a_frame() -> None:
    frame = {"a": ["x", "y"] * 500, "b": ["x", "y"] * 500, "c": ["p", "p", "q", "q"] * 250}
    r = pc(frame)
    assert r.pdag.skeleton == _pairs("ab")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": 0.0}, "alpha must lie strictly between 0 and 1"),
        ({"alpha": 1.0}, "alpha"),
        ({"alpha": -0.5}, "alpha"),
        ({"test": "fisher"}, "unknown independence test 'fisher'"),
        ({"conflict": "majority"}, "unknown conflict rule"),
        ({"max_cond": -1}, "max_cond"),
        ({"min_rows_per_df": -1.0}, "min_rows_per_df"),
        ({"tests_per_edge": 0}, "tests_per_edge"),
    ],
)
def test_bad_input(kwargs: dict[str, object], message: str) -> None:
    data = as_dataset({"a": [0, 1, 0, 1], "b": [0, 1, 1, 1]})
    with pytest.raises(ModelError, match=message):
        pc(data, **kwargs)  # type: ignore[arg-type]


@pytest.mark.slow
def test_alarm_close_to_the_true_cpdag() -> None:
    bn = read_bif(shared_data("bnlearn", "alarm.bif.gz"))
    r = _learn(bn, 10000)
    assert shd(r.pdag, bn) <= 8  # measured 4; causal-learn's PC-stable reaches 5
