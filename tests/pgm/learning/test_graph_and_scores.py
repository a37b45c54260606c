"""DAGs, CPDAGs, SHD on hand examples; scores against hand computation and Markov
equivalence."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from genlab.pgm import examples
from genlab.pgm.errors import ModelError
from genlab.pgm.learning import DAG, PDAG, Scorer, as_dataset, compare_graphs, cpdag, shd
from genlab.pgm.learning.graph import meek_rules
from genlab.pgm.learning.scores import family_score


def _pdag(nodes, directed=(), undirected=()) -> PDAG:
    return PDAG(tuple(nodes), frozenset(directed), frozenset(frozenset(e) for e in undirected))


# ----------------------------------------------------------------------------------------------
# DAG and CPDAG
# ----------------------------------------------------------------------------------------------
def test_dag_validates() -> None:
    with pytest.raises(ModelError, match="directed cycle"):
        DAG("abc", [("a", "b"), ("b", "c"), ("c", "a")])
    with pytest.raises(ModelError, match="unknown node 'z'"):
        DAG("ab", [("a", "z")])
    with pytest.raises(ModelError, match="self-loop"):
        DAG("ab", [("a", "a")])
    g = DAG("dcba", [("a", "b"), ("b", "c"), ("a", "d")])
    assert g.topological_order() == ("a", "d", "b", "c")
    assert g == DAG("abcd", [("a", "d"), ("b", "c"), ("a", "b")])


def test_cpdag_of_hand_examples() -> None:
    chain = DAG("abc", [("a", "b"), ("b", "c")])
    assert cpdag(chain) == _pdag("abc", undirected=[("a", "b"), ("b", "c")])
    collider = DAG("abc", [("a", "c"), ("b", "c")])
    assert cpdag(collider) == _pdag("abc", directed=[("a", "c"), ("b", "c")])
    # a → c ← b, c → d: Meek R1 orients c → d
    tail = DAG("abcd", [("a", "c"), ("b", "c"), ("c", "d")])
    assert cpdag(tail) == _pdag("abcd", directed=[("a", "c"), ("b", "c"), ("c", "d")])
    # the red/blue network: the v-structure at X4 only
    got = examples.red_blue_network().dag.to_cpdag()
    assert got.directed == {("X2", "X4"), ("X3", "X4")}
    assert got.undirected == {frozenset(("X1", "X2")), frozenset(("X3", "X5"))}


def test_meek_rules_two_and_three() -> None:
    # R2: a → b → c with a — c orients a → c
    r2 = meek_rules("abc", [("a", "b"), ("b", "c")], [("a", "c")])
    assert ("a", "c") in r2.directed
    # R3: a — b, a — c → b, a — d → b, c and d not adjacent  ⇒  a → b
    r3 = meek_rules("abcd", [("c", "b"), ("d", "b")], [("a", "b"), ("a", "c"), ("a", "d")])
    assert ("a", "b") in r3.directed
    assert frozenset(("a", "c")) in r3.undirected


def test_meek_rules_never_close_a_cycle_on_inconsistent_input() -> None:
    """PC under sampling error can hand Meek colliders no DAG has. Here R1 (p → a — b, p and b
    not adjacent) would orient a → b although b → q → a: that would close a cycle, so the
    edge is left to R2, which orients b → a. (Found on alarm, 10⁴ rows: PC's result could not
    be turned into a DAG.)"""
    got = meek_rules("abpq", [("p", "a"), ("b", "q"), ("q", "a")], [("a", "b")])
    assert ("b", "a") in got.directed and ("a", "b") not in got.directed
    DAG("abpq", got.directed)  # acyclic
    # when no rule may orient it, the edge stays undirected
    alone = meek_rules("abpq", [("p", "a"), ("b", "q"), ("q", "a")], [])
    assert alone.undirected == frozenset()


def test_cpdag_extension_is_in_the_class() -> None:
    rng = np.random.default_rng(0)
    names = [f"v{i}" for i in range(7)]
    for _ in range(30):
        arcs = [(names[i], names[j]) for i in range(7) for j in range(i + 1, 7)
                if rng.random() < 0.35]
        dag = DAG(names, arcs)
        back = cpdag(dag).to_dag()
        assert cpdag(back) == cpdag(dag)


def test_shd_hand_examples() -> None:
    truth = DAG("abcd", [("a", "c"), ("b", "c"), ("c", "d")])
    assert shd(truth, truth) == 0
    # c → d is compelled (Meek R1); reversed, it makes new v-structures at c: one reversal
    flipped = DAG("abcd", [("a", "c"), ("b", "c"), ("d", "c")])
    diff = compare_graphs(flipped, truth)
    assert diff.reversed == (("d", "c"),) and diff.shd == 1
    missing = DAG("abcd", [("a", "c"), ("c", "d")])
    d2 = compare_graphs(missing, truth)
    # b — c missing; a → c → d is now a chain: its arcs become undirected (2 misoriented)
    assert d2.missing == (("b", "c"),) and d2.shd == 3
    extra = DAG("abcd", [("a", "c"), ("b", "c"), ("c", "d"), ("a", "d")])
    d3 = compare_graphs(extra, truth)
    assert d3.extra == (("a", "d"),) and d3.shd >= 1
    assert shd(extra, truth, cpdag=False) == 1  # as DAGs: one extra arc, nothing else
    equivalent = DAG("abcd", [("b", "a")])
    assert shd(equivalent, DAG("abcd", [("a", "b")])) == 0
    assert shd(equivalent, DAG("abcd", [("a", "b")]), cpdag=False) == 1
    with pytest.raises(ModelError, match="different nodes"):
        shd(DAG("ab"), DAG("abc"))


def test_comparison_precision_and_recall() -> None:
    truth = DAG("abcd", [("a", "b"), ("b", "c"), ("c", "d")])
    learned = DAG("abcd", [("a", "b"), ("b", "c"), ("a", "d")])
    diff = compare_graphs(learned, truth)
    assert diff.true_positives == 2 and diff.precision == pytest.approx(2 / 3)
    assert diff.recall == pytest.approx(2 / 3)
    assert any("extra" in line for line in diff.lines())


# ----------------------------------------------------------------------------------------------
# scores
# ----------------------------------------------------------------------------------------------
TABLE = np.array([[3.0, 1.0], [1.0, 2.0]])  # counts (parent state, child state)


def test_family_scores_by_hand() -> None:
    ll = 3 * math.log(3 / 4) + 1 * math.log(1 / 4) + 1 * math.log(1 / 3) + 2 * math.log(2 / 3)
    assert family_score(TABLE, "ll") == pytest.approx(ll)
    assert family_score(TABLE, "bic") == pytest.approx(ll - 0.5 * math.log(7) * 2)
    assert family_score(TABLE, "aic") == pytest.approx(ll - 2)
    lg = math.lgamma
    k2 = sum(lg(2) - lg(2 + row.sum()) + sum(lg(1 + x) for x in row) for row in TABLE)
    assert family_score(TABLE, "k2") == pytest.approx(k2)
    a = 4.0 / 4  # ess 4 over q r = 4 cells
    bdeu = sum(lg(2 * a) - lg(2 * a + row.sum()) + sum(lg(a + x) - lg(a) for x in row)
               for row in TABLE)
    assert family_score(TABLE, "bdeu", ess=4.0) == pytest.approx(bdeu)
    with pytest.raises(ModelError, match="unknown score"):
        family_score(TABLE, "mdl")


@pytest.mark.parametrize("score", ["bic", "aic", "bdeu", "ll"])
def test_markov_equivalent_dags_score_the_same(score: str) -> None:
    """BIC, AIC, BDeu (and the likelihood) are score-equivalent: every DAG of one class gets
    the same total. K2 is not (it is not a BDe score)."""
    bn = examples.red_blue_network()
    data = as_dataset(bn.sample(2000, seed=3), bn)
    scorer = Scorer(data, score, ess=5.0)
    totals = {}
    for flips in itertools.product([False, True], repeat=2):  # X1 — X2 and X3 — X5 either way
        arcs = [("X2", "X4"), ("X3", "X4")]
        arcs.append(("X2", "X1") if flips[0] else ("X1", "X2"))
        arcs.append(("X5", "X3") if flips[1] else ("X3", "X5"))
        totals[flips] = scorer.total(DAG(bn.variables, arcs))
    first = next(iter(totals.values()))
    assert all(t == pytest.approx(first, rel=1e-12) for t in totals.values())
    # and a DAG outside the class scores differently
    other = DAG(bn.variables, [("X4", "X2"), ("X4", "X3"), ("X1", "X2"), ("X3", "X5")])
    assert scorer.total(other) != pytest.approx(first, rel=1e-9)


def test_scorer_caches_and_counts_shared_tables_once() -> None:
    bn = examples.red_blue_network()
    scorer = Scorer(as_dataset(bn.sample(500, seed=1), bn), "bic")
    a, b = scorer.local_many([("X1", ("X2",)), ("X2", ("X1",))])
    assert scorer.evaluations == 2
    assert scorer.local("X1", ["X2"]) == a and scorer.evaluations == 2  # cached
    assert a + scorer.local("X2", ()) == pytest.approx(b + scorer.local("X1", ()))


def test_likelihood_scores_average_over_missing_cells() -> None:
    """With missing cells a family's table is rescaled to all rows (node-average likelihood):
    its BIC equals the complete-data formula on the scaled counts; BDeu keeps raw counts."""
    data = as_dataset({"a": [0, 1, 1, 0, 1, 0, 1, 1], "b": [0, 1, 1, 1, None, None, 1, 0]})
    table = np.array([[1.0, 1.0], [1.0, 3.0]])  # (a, b) over the 6 rows observing b
    assert Scorer(data, "bic").local("b", ["a"]) == pytest.approx(
        family_score(table * 8 / 6, "bic"))
    assert Scorer(data, "bdeu").local("b", ["a"]) == pytest.approx(family_score(table, "bdeu"))
    # complete columns are untouched
    assert Scorer(data, "bic").local("a", []) == pytest.approx(
        family_score(np.array([3.0, 5.0]), "bic"))


def test_dataset_codes_out_of_range_are_refused_before_narrowing() -> None:
    from genlab.pgm.learning import Dataset

    states = {"a": ("x", "y"), "b": ("p", "q")}
    with pytest.raises(ModelError, match="column 'b' has the code 2 at row 0"):
        Dataset(("a", "b"), states, [[0, 2], [1, 1]])
    with pytest.raises(ModelError, match="code 300"):  # would wrap to 44 in int8
        Dataset(("a", "b"), states, [[0, 0], [300, 1]])
    with pytest.raises(ModelError, match="code -2"):
        Dataset(("a", "b"), states, [[0, -2]])


def test_integer_like_state_names_sort_the_same_everywhere() -> None:
    import pandas as pd

    from genlab.pgm.learning import ChunkedSource

    frame = pd.DataFrame({"a": ["1", "01", "2", "002"]})
    memory = as_dataset(frame).states["a"]
    chunked = ChunkedSource([frame.iloc[:2], frame.iloc[2:]]).states["a"]
    assert memory == chunked == ("01", "1", "002", "2")


def test_continuous_columns_are_refused_with_their_row() -> None:
    with pytest.raises(ModelError, match=r"column 'a' holds the non-integer number 2\.5 at row 1"):
        as_dataset({"a": [1.0, 2.5, 3.0]})
