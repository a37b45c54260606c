"""Chow–Liu trees and TAN: mutual information by hand, maximum likelihood over every spanning
tree (enumerated), recovery of tree-structured networks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pytest

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.counts import count
from genlab.pgm.learning.data import Dataset, as_dataset
from genlab.pgm.learning.graph import DAG
from genlab.pgm.learning.scores import Scorer
from genlab.pgm.learning.tree import chow_liu, mutual_information, mutual_information_matrix, tan
from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork
from tests.pgm.learning.helpers import PassCounter

Pair = tuple[str, str]


def noisy_copy_network(parents: dict[str, list[str]], cards: dict[str, int]) -> BayesianNetwork:
    """Each child copies (its parents' state sum) mod its card with probability 0.7, else is
    uniform: every arc carries clear information, and ties are unlikely."""
    cpts = []
    for v, ps in parents.items():
        shape = [cards[p] for p in ps] + [cards[v]]
        table = np.full(shape, 0.3 / cards[v])
        for config in itertools.product(*(range(cards[p]) for p in ps)):
            table[(*config, sum(config) % cards[v])] += 0.7
        cpts.append(CPT(v, table, ps))
    return BayesianNetwork(cpts, states={v: [str(i) for i in range(c)] for v, c in cards.items()})


def sample(bn: BayesianNetwork, n: int, seed: int) -> Dataset:
    return as_dataset(bn.sample(n, seed), bn, variables=bn.variables)


def skeleton(edges: Sequence[Pair]) -> set[frozenset[str]]:
    return {frozenset(e) for e in edges}


def spanning_trees(names: Sequence[str]) -> list[list[Pair]]:
    """Every spanning tree: every (V − 1)-subset of the pairs that connects all nodes."""
    pairs = list(itertools.combinations(names, 2))
    trees = []
    for chosen in itertools.combinations(pairs, len(names) - 1):
        reached, frontier = {names[0]}, [names[0]]
        while frontier:
            a = frontier.pop()
            for x, y in chosen:
                for u, w in ((x, y), (y, x)):
                    if u == a and w not in reached:
                        reached.add(w)
                        frontier.append(w)
        if len(reached) == len(names):
            trees.append(list(chosen))
    return trees


def forests(names: Sequence[str]) -> list[list[Pair]]:
    """Every forest: every subset of the pairs without a cycle."""
    pairs = list(itertools.combinations(names, 2))
    out = []
    for k in range(len(names)):
        for chosen in itertools.combinations(pairs, k):
            root = {v: v for v in names}

            def find(v: str, root: dict[str, str] = root) -> str:
                while root[v] != v:
                    v = root[v]
                return v

            ok = True
            for a, b in chosen:
                ra, rb = find(a), find(b)
                if ra == rb:
                    ok = False
                    break
                root[rb] = ra
            if ok:
                out.append(list(chosen))
    return out


def oriented(names: Sequence[str], edges: Sequence[Pair], root: str) -> DAG:
    """Undirected tree/forest edges as arcs away from `root` (each other component from its
    first node)."""
    arcs, seen = [], set()
    for start in [root, *names]:
        if start in seen:
            continue
        seen.add(start)
        frontier = [start]
        while frontier:
            a = frontier.pop()
            for x, y in edges:
                for u, w in ((x, y), (y, x)):
                    if u == a and w not in seen:
                        seen.add(w)
                        arcs.append((u, w))
                        frontier.append(w)
    return DAG(names, arcs)


# ----------------------------------------------------------------------------------------------
# mutual information
# ----------------------------------------------------------------------------------------------
def test_mutual_information_by_hand() -> None:
    # one fair bit copied: log 2; independent margins: 0
    assert mutual_information([[5, 0], [0, 5]]) == pytest.approx(np.log(2))
    assert mutual_information([[1, 2], [2, 4]]) == pytest.approx(0.0, abs=1e-15)
    # [[3, 1], [1, 3]] / 8, margins ½: 2·(3/8) log((3/8)/(1/4)) + 2·(1/8) log((1/8)/(1/4))
    assert mutual_information([[3, 1], [1, 3]]) == pytest.approx(
        0.75 * np.log(1.5) + 0.25 * np.log(0.5)
    )
    # a 2×3 table: N = 10, p(a) = (.4, .6), p(b) = (.3, .3, .4)
    table = np.array([[2, 2, 0], [1, 1, 4]])
    p = table / 10
    by_hand = sum(
        p[i, j] * np.log(p[i, j] / (p[i].sum() * p[:, j].sum()))
        for i in range(2) for j in range(3) if p[i, j] > 0
    )
    assert mutual_information(table) == pytest.approx(by_hand)
    assert mutual_information(table.T) == pytest.approx(by_hand)


def test_conditional_mutual_information_by_hand() -> None:
    """I(A; B | C) = Σ_c p(c) I(A; B | C = c); slices independent ⇒ 0 even when the
    marginal MI is not."""
    copy, indep = np.array([[5.0, 0.0], [0.0, 5.0]]), np.array([[1.0, 2.0], [2.0, 4.0]])
    assert mutual_information(np.stack([copy, indep])) == pytest.approx(10 / 19 * np.log(2))
    hi, lo = np.outer([0.8, 0.2], [0.8, 0.2]) * 100, np.outer([0.2, 0.8], [0.2, 0.8]) * 100
    assert mutual_information(np.stack([hi, lo])) == pytest.approx(0.0, abs=1e-12)
    # the pooled table [[68, 32], [32, 68]] / 200 with margins ½
    assert mutual_information(hi + lo) == pytest.approx(0.68 * np.log(1.36) + 0.32 * np.log(0.64))
    assert mutual_information(np.zeros((2, 2))) == 0.0
    with pytest.raises(ModelError, match="≥ 2 axes"):
        mutual_information([1, 2])


def test_mutual_information_matrix_against_entropies() -> None:
    """I(a; b) = H(a) + H(b) − H(a, b), the entropies from np.unique on the raw columns."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 400)
    columns = {"a": a, "b": (a + rng.integers(0, 2, 400)) % 3, "c": rng.integers(0, 2, 400)}

    def entropy(*cols: np.ndarray) -> float:
        _, n = np.unique(np.stack(cols, axis=1), axis=0, return_counts=True)
        p = n / n.sum()
        return float(-(p * np.log(p)).sum())

    names, matrix = mutual_information_matrix(columns)
    assert names == ("a", "b", "c")
    for i, j in itertools.combinations(range(3), 2):
        x, y = columns[names[i]], columns[names[j]]
        assert matrix[i, j] == pytest.approx(entropy(x) + entropy(y) - entropy(x, y))
        assert matrix[j, i] == matrix[i, j]
    assert np.all(np.diag(matrix) == 0)
    names, given = mutual_information_matrix(columns, given="c")
    assert names == ("a", "b")
    assert given[0, 1] == pytest.approx(
        mutual_information(count(as_dataset(columns), ["c", "a", "b"]))
    )


# ----------------------------------------------------------------------------------------------
# Chow–Liu
# ----------------------------------------------------------------------------------------------
TREE = {"a": [], "b": ["a"], "c": ["a"], "d": ["b"], "e": ["b"], "f": ["c"], "g": ["f"]}
CARDS = {"a": 2, "b": 3, "c": 2, "d": 2, "e": 3, "f": 2, "g": 3}


def test_chow_liu_recovers_a_tree_network() -> None:
    bn = noisy_copy_network(TREE, CARDS)
    learned = chow_liu(sample(bn, 20_000, 0))
    assert skeleton(learned.edges) == skeleton(bn.edges)


def test_chow_liu_orients_away_from_the_root() -> None:
    bn = noisy_copy_network(TREE, CARDS)
    data = sample(bn, 5_000, 1)
    for root in ("a", "e", "g"):
        learned = chow_liu(data, root=root)
        assert learned.parents(root) == ()
        assert all(len(learned.parents(v)) == 1 for v in learned.nodes if v != root)
    assert chow_liu(data).parents("a") == ()  # default root: the first variable


@pytest.mark.parametrize("seed", range(3))
def test_chow_liu_is_the_maximum_likelihood_tree(seed: int) -> None:
    """Its log-likelihood is ≥ that of every spanning tree (all 125 on 5 nodes)."""
    rng = np.random.default_rng(seed)
    names = ["a", "b", "c", "d", "e"]
    parents = {v: [p for p in names[:i] if rng.random() < 0.5][:2] for i, v in enumerate(names)}
    bn = noisy_copy_network(parents, {v: int(rng.integers(2, 4)) for v in names})
    scorer = Scorer(sample(bn, 300, seed), "ll")
    trees = spanning_trees(names)
    assert len(trees) == 5 ** 3  # Cayley: n^(n−2)
    best = max(scorer.total(oriented(names, t, "a")) for t in trees)
    assert scorer.total(chow_liu(scorer.data)) == pytest.approx(best)
    # orientation does not change the likelihood of a tree (every orientation is Markov
    # equivalent): the root is free
    assert scorer.total(chow_liu(scorer.data, root="d")) == pytest.approx(best)


@pytest.mark.parametrize("score", ["bic", "bdeu", "aic"])
def test_score_weights_give_the_best_forest(score: str) -> None:
    """With a score as weights the result is the best-scoring forest (all 38 on 4 nodes), and
    an independent variable stays alone."""
    rng = np.random.default_rng(4)
    a = rng.integers(0, 2, 600)
    columns = {
        "a": a,
        "b": np.where(rng.random(600) < 0.3, rng.integers(0, 2, 600), a),
        "c": rng.integers(0, 3, 600),  # independent of everything
        "d": np.where(rng.random(600) < 0.6, rng.integers(0, 2, 600), a),
    }
    scorer = Scorer(as_dataset(columns), score)
    found = chow_liu(columns, weights=score)
    all_forests = forests(list(columns))
    assert len(all_forests) == 38
    best = max(scorer.total(oriented(list(columns), f, "a")) for f in all_forests)
    assert scorer.total(found) == pytest.approx(best)
    if score != "aic":  # AIC's light penalty may keep a chance dependence
        assert found.parents("c") == () and found.children("c") == ()


def test_chow_liu_counts_all_pairs_in_one_pass() -> None:
    source = PassCounter(sample(noisy_copy_network(TREE, CARDS), 500, 2))
    chow_liu(source)
    tan(source, "a")
    assert source.passes == 2


def test_chow_liu_small_inputs_and_errors() -> None:
    assert chow_liu({"a": [0, 1]}).edges == []
    assert chow_liu(Dataset((), {}, np.zeros((2, 0), dtype=int))).nodes == ()
    with pytest.raises(ModelError, match="root 'z'"):
        chow_liu({"a": [0, 1], "b": [1, 0]}, root="z")
    with pytest.raises(ModelError, match="unknown tree weights"):
        chow_liu({"a": [0, 1], "b": [1, 0]}, weights="k2")


# ----------------------------------------------------------------------------------------------
# TAN
# ----------------------------------------------------------------------------------------------
TAN_TRUTH = {"y": [], "a": ["y"], "b": ["y", "a"], "c": ["y", "a"], "d": ["y", "c"]}
TAN_CARDS = {"y": 2, "a": 3, "b": 2, "c": 3, "d": 2}


def test_tan_structure_and_recovery() -> None:
    bn = noisy_copy_network(TAN_TRUTH, TAN_CARDS)
    learned = tan(sample(bn, 20_000, 0), "y")
    features = ["a", "b", "c", "d"]
    assert learned.parents("y") == ()
    assert all("y" in learned.parents(f) for f in features)
    feature_arcs = [(p, v) for p, v in learned.edges if p != "y"]
    assert len(feature_arcs) == len(features) - 1
    assert skeleton(feature_arcs) == skeleton([("a", "b"), ("a", "c"), ("c", "d")])
    assert learned.parents("a") == ("y",)  # the default root: the first feature
    assert tan(sample(bn, 2_000, 1), "y", root="d").parents("d") == ("y",)


@pytest.mark.parametrize("seed", range(3))
def test_tan_maximises_the_likelihood_among_tan_structures(seed: int) -> None:
    """All 16 feature trees on 4 features, each with the class as a parent of every feature."""
    rng = np.random.default_rng(seed)
    names = ["y", "a", "b", "c", "d"]
    parents = {v: ([] if v == "y" else ["y"]) + [p for p in names[1:i] if rng.random() < 0.4][:1]
               for i, v in enumerate(names)}
    bn = noisy_copy_network(parents, {v: int(rng.integers(2, 4)) for v in names})
    scorer = Scorer(sample(bn, 400, seed), "ll")
    features = names[1:]
    best = -np.inf
    for tree in spanning_trees(features):
        arcs = oriented(features, tree, "a").edges + [("y", f) for f in features]
        best = max(best, scorer.total(DAG(names, arcs)))
    assert scorer.total(tan(scorer.data, "y")) == pytest.approx(best)


def test_tan_errors() -> None:
    data = {"y": [0, 1, 1], "a": [0, 1, 0], "b": [1, 1, 0]}
    with pytest.raises(ModelError, match="class variable 'z'"):
        tan(data, "z")
    with pytest.raises(ModelError, match="root 'y'"):
        tan(data, "y", root="y")
    assert tan({"y": [0, 1]}, "y").edges == []
