"""Hill climbing and tabu search: recovery of small structures, local and global optimality
(checked against independent enumeration), black/white lists, max_parents, seeds."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.data import Dataset, as_dataset
from genlab.pgm.learning.graph import DAG, shd
from genlab.pgm.learning.scores import Scorer
from genlab.pgm.learning.search import REL_TOL, SearchResult, hill_climb, tabu_search
from tests.conftest import shared_data


# ----------------------------------------------------------------------------------------------
# data and independent oracles
# ----------------------------------------------------------------------------------------------
def _noisy(x: np.ndarray, flip: float, rng: np.random.Generator) -> np.ndarray:
    return x ^ (rng.random(x.shape[0]) < flip)


def _structures(n: int = 5000, seed: int = 0) -> dict[str, tuple[dict[str, np.ndarray], DAG]]:
    """Samples of a chain, a fork and a collider over a, b, c (binary), with the true DAGs."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    b = _noisy(a, 0.2, rng)
    chain = {"a": a, "b": b, "c": _noisy(b, 0.2, rng)}
    root = rng.integers(0, 2, n)
    fork = {"a": _noisy(root, 0.2, rng), "b": root, "c": _noisy(root, 0.2, rng)}
    x, y = rng.integers(0, 2, n), rng.integers(0, 2, n)
    collider = {"a": x, "b": y, "c": _noisy(x | y, 0.1, rng)}
    nodes = ("a", "b", "c")
    return {
        "chain": (chain, DAG(nodes, [("a", "b"), ("b", "c")])),
        "fork": (fork, DAG(nodes, [("b", "a"), ("b", "c")])),
        "collider": (collider, DAG(nodes, [("a", "c"), ("b", "c")])),
    }


def _diamond(n: int = 3000, seed: int = 0) -> Dataset:
    """a → b, a → c, b → d ← c: binary and ternary variables with clear dependencies."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    b = _noisy(a, 0.2, rng)
    c = np.where(a == 1, rng.integers(0, 3, n), rng.choice(3, n, p=[0.7, 0.2, 0.1]))
    d = _noisy(b & (c > 0), 0.15, rng)
    return as_dataset({"a": a, "b": b, "c": c, "d": d})


def _parity(n: int = 4000, seed: int = 0) -> Dataset:
    """Parity-like dependencies (c ≈ a + b mod 2, d ≈ c + a mod 2): single moves mislead, so
    plain hill climbing stops in a local optimum of this sample."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    b = rng.integers(0, 3, n)
    c = _noisy((a + b) % 2, 0.15, rng)
    d = np.where(rng.random(n) < 0.8, (c + a) % 2, rng.integers(0, 2, n))
    return as_dataset({"a": a, "b": b, "c": c, "d": d})


def _six(n: int = 3000, seed: int = 1) -> Dataset:
    """A denser 6-variable sample whose hill climbing makes adds, deletes and reversals."""
    rng = np.random.default_rng(seed)
    x0 = rng.integers(0, 3, n)
    x1 = _noisy(x0 % 2, 0.25, rng)
    x2 = (x0 + x1 + (rng.random(n) < 0.3)) % 3
    x3 = _noisy(x1 & (x2 > 0), 0.2, rng)
    x4 = _noisy(x3 ^ (x0 == 2), 0.3, rng)
    x5 = _noisy(x2 == 1, 0.35, rng)
    return as_dataset({f"x{i}": x for i, x in enumerate((x0, x1, x2, x3, x4, x5))})


def _edit(dag: DAG, kind: str, a: str, b: str) -> DAG | None:
    """The DAG after one move, or None when the move makes a cycle."""
    edges = [e for e in dag.edges if e != (a, b)]
    if kind == "add":
        edges.append((a, b))
    elif kind == "reverse":
        edges.append((b, a))
    try:
        return DAG(dag.nodes, edges)
    except ModelError:
        return None


def _neighbours(dag: DAG) -> Iterator[tuple[str, str, str, DAG]]:
    """Every DAG one add, delete or reverse away (enumerated directly, not via the search)."""
    edges = set(dag.edges)
    for a, b in itertools.permutations(dag.nodes, 2):
        if (a, b) in edges:
            kinds = ("delete", "reverse")
        elif (b, a) in edges:
            continue
        else:
            kinds = ("add",)
        for kind in kinds:
            g = _edit(dag, kind, a, b)
            if g is not None:
                yield kind, a, b, g


def _all_dags(nodes: tuple[str, ...]) -> list[DAG]:
    """Every DAG on `nodes`: each unordered pair is absent, → or ←; cyclic choices dropped."""
    pairs = list(itertools.combinations(nodes, 2))
    out = []
    for choice in itertools.product(range(3), repeat=len(pairs)):
        edges = [(a, b) if k == 1 else (b, a) for (a, b), k in zip(pairs, choice, strict=True)
                 if k]
        with contextlib.suppress(ModelError):
            out.append(DAG(nodes, edges))
    return out


def _tol(result: SearchResult) -> float:
    return 10 * REL_TOL * max(1.0, abs(result.score))


# ----------------------------------------------------------------------------------------------
# recovery and scores
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["chain", "fork", "collider"])
@pytest.mark.parametrize("search", [hill_climb, tabu_search])
def test_recovers_small_structures(name: str, search) -> None:
    data, truth = _structures()[name]
    result = search(data)
    assert shd(result.dag, truth) == 0, result.dag.edges


@pytest.mark.parametrize("score", ["bic", "aic", "bdeu", "k2"])
def test_score_is_the_total_of_the_returned_dag(score: str) -> None:
    data = _six()
    for result in (hill_climb(data, score=score), tabu_search(data, score=score, restarts=2,
                                                             seed=0)):
        assert result.score == pytest.approx(Scorer(data, score).total(result.dag), rel=1e-12)


def test_trace_and_moves_describe_the_climb() -> None:
    data = _six()
    seen: list[tuple[int, float]] = []
    result = hill_climb(data, callback=lambda i, s: seen.append((i, s)))
    assert result.iterations == len(result.trace) == len(result.moves) == len(seen) > 3
    assert [i for i, _ in seen] == list(range(1, result.iterations + 1))
    assert result.trace[-1] == pytest.approx(result.score)
    assert all(b > a for a, b in itertools.pairwise(result.trace))  # every move improves
    assert {m.kind for m in result.moves} <= {"add", "delete", "reverse"}
    start = Scorer(data).total(DAG(data.variables))
    assert sum(m.delta for m in result.moves) == pytest.approx(result.score - start)
    assert result.evaluations > 0


def test_hill_climbing_ends_in_a_local_optimum() -> None:
    data = _six()
    result = hill_climb(data)
    scorer = Scorer(data)
    assert {m.kind for m in result.moves} >= {"add"}
    for kind, a, b, g in _neighbours(result.dag):
        assert scorer.total(g) <= result.score + _tol(result), (kind, a, b)


@pytest.mark.parametrize("score", ["bic", "bdeu"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_four_variables_reach_the_global_optimum(seed: int, score: str) -> None:
    data = _diamond(seed=seed)
    scorer = Scorer(data, score)
    dags = _all_dags(data.variables)
    assert len(dags) == 543
    best = max(dags, key=scorer.total)
    truth = DAG(("a", "b", "c", "d"), [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
    assert shd(best, truth) == 0
    for result in (hill_climb(data, score=score, restarts=5, seed=seed),
                   tabu_search(data, score=score)):
        assert result.score == pytest.approx(scorer.total(best), abs=_tol(result))
        assert shd(result.dag, truth) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_restarts_escape_a_deceptive_local_optimum(seed: int) -> None:
    data = _parity(seed=seed)
    scorer = Scorer(data)
    best = max(scorer.total(g) for g in _all_dags(data.variables))
    single = hill_climb(data)
    assert single.score < best - 1.0  # the plain climb is stuck (what makes the test useful)
    result = hill_climb(data, restarts=30, perturb=10, seed=seed)
    assert result.score == pytest.approx(best, abs=_tol(result))
    assert result.restarts >= 1


@pytest.mark.parametrize("name", ["chain", "fork", "collider"])
def test_three_variables_reach_the_global_optimum(name: str) -> None:
    data, _ = _structures(n=800, seed=3)[name]
    dataset = as_dataset(data)
    scorer = Scorer(dataset, "bdeu")
    dags = _all_dags(dataset.variables)
    assert len(dags) == 25
    best = max(scorer.total(g) for g in dags)
    result = tabu_search(dataset, score="bdeu", restarts=3, seed=0)
    assert result.score == pytest.approx(best, abs=_tol(result))


def test_tabu_returns_the_best_graph_it_saw() -> None:
    data = _six()
    result = tabu_search(data, tabu_length=5, max_no_improve=8)
    assert result.score == pytest.approx(max(result.trace))
    # it kept going after the first local optimum
    assert any(b <= a for a, b in itertools.pairwise(result.trace))


# ----------------------------------------------------------------------------------------------
# constraints
# ----------------------------------------------------------------------------------------------
def test_black_list_is_never_added() -> None:
    data, _ = _structures()["chain"]
    black = [("a", "b"), ("b", "a")]
    for result in (hill_climb(data, black_list=black, restarts=5, seed=0),
                   tabu_search(data, black_list=black, restarts=5, seed=0)):
        assert not {("a", "b"), ("b", "a")} & set(result.dag.edges)
        assert all((m.parent, m.child) not in black for m in result.moves
                   if m.kind.endswith("add"))


def test_black_list_forbids_a_reversal_into_it() -> None:
    data, _ = _structures()["chain"]
    result = hill_climb(data, start=DAG(("a", "b", "c"), [("a", "b")]), black_list=[("b", "a")],
                        restarts=5, seed=1)
    assert ("b", "a") not in result.dag.edges
    assert not any(m.kind.endswith("reverse") and (m.parent, m.child) == ("a", "b")
                   for m in result.moves)


def test_white_list_arcs_stay() -> None:
    data, _ = _structures()["fork"]
    white = [("a", "c")]  # not in the truth: the score would delete it
    for result in (hill_climb(data, white_list=white, restarts=5, seed=0),
                   tabu_search(data, white_list=white, restarts=5, seed=0)):
        assert ("a", "c") in result.dag.edges
        assert not any((m.parent, m.child) == ("a", "c") for m in result.moves
                       if not m.kind.endswith("add"))


def test_max_parents_is_respected() -> None:
    data, truth = _structures()["collider"]
    result = hill_climb(data, max_parents=1, restarts=5, seed=0)
    assert all(len(result.dag.parents(v)) <= 1 for v in result.dag.nodes)
    assert shd(result.dag, truth) > 0  # the collider needs two parents
    empty = tabu_search(data, max_parents=0)
    assert empty.dag.num_edges == 0


def test_lists_and_max_parents_on_a_local_optimum() -> None:
    data = _six()
    black = [("x0", "x1"), ("x2", "x0")]
    white = [("x5", "x4")]
    result = hill_climb(data, black_list=black, white_list=white, max_parents=2)
    assert ("x5", "x4") in result.dag.edges
    assert not set(black) & set(result.dag.edges)
    assert max(len(result.dag.parents(v)) for v in result.dag.nodes) <= 2
    scorer = Scorer(data)
    for kind, a, b, g in _neighbours(result.dag):
        legal = (
            not set(black) & set(g.edges) and set(white) <= set(g.edges)
            and max(len(g.parents(v)) for v in g.nodes) <= 2
        )
        if legal:
            assert scorer.total(g) <= result.score + _tol(result), (kind, a, b)


def test_start_dag_is_used() -> None:
    data, truth = _structures()["chain"]
    start = DAG(("a", "b", "c"), [("c", "a")])
    result = hill_climb(data, start=start)
    assert shd(result.dag, truth) == 0
    assert any(m.kind in ("delete", "reverse") and {m.parent, m.child} == {"a", "c"}
               for m in result.moves)


# ----------------------------------------------------------------------------------------------
# errors and determinism
# ----------------------------------------------------------------------------------------------
def test_cyclic_start_is_refused() -> None:
    data, _ = _structures()["chain"]
    with pytest.raises(ModelError, match="cycle"):
        hill_climb(data, start={"a": ["c"], "b": ["a"], "c": ["b"]})
    with pytest.raises(ModelError, match="cycle"):
        hill_climb(data, start=DAG(("a", "b", "c"), [("a", "b")]), white_list=[("b", "a")])


def test_bad_arguments_are_refused() -> None:
    data, _ = _structures()["chain"]
    with pytest.raises(ModelError, match="black-listed"):
        hill_climb(data, start=DAG(("a", "b", "c"), [("a", "b")]), black_list=[("a", "b")])
    with pytest.raises(ModelError, match="both the white and black"):
        hill_climb(data, white_list=[("a", "b")], black_list=[("a", "b")])
    with pytest.raises(ModelError, match="'z'"):
        hill_climb(data, black_list=[("a", "z")])
    with pytest.raises(ModelError, match="max_parents"):
        hill_climb(data, white_list=[("a", "c"), ("b", "c")], max_parents=1)
    with pytest.raises(ModelError, match="nodes differ"):
        hill_climb(data, start=DAG(("a", "b"), []))
    with pytest.raises(ModelError, match="max_no_improve"):
        tabu_search(data, max_no_improve=0)
    with pytest.raises(ModelError, match="needs `data`"):
        hill_climb()


def test_same_seed_same_dag() -> None:
    data = _six()
    runs = [tabu_search(data, restarts=4, perturb=3, seed=7) for _ in range(2)]
    assert runs[0].dag == runs[1].dag
    assert runs[0].moves == runs[1].moves
    assert runs[0].score == runs[1].score


def test_shared_scorer_and_missing_cells() -> None:
    data = _six()
    codes = np.array(data.codes, dtype=np.int64)
    codes[np.random.default_rng(0).random(codes.shape) < 0.05] = -1
    holey = Dataset(data.variables, data.states, codes)
    scorer = Scorer(holey)
    first = hill_climb(scorer=scorer)
    again = hill_climb(scorer=scorer)
    assert first.dag == again.dag
    assert again.evaluations < first.evaluations  # the cache carried over
    assert first.score == pytest.approx(Scorer(holey).total(first.dag))


def test_asia_local_optimum_and_recovery() -> None:
    from genlab.pgm import read_bif

    bn = read_bif(shared_data("bnlearn", "asia.bif.gz"))
    data = as_dataset(bn.sample(20_000, 0), bn, variables=bn.variables)
    result = hill_climb(data)
    scorer = Scorer(data)
    assert result.score == pytest.approx(scorer.total(result.dag))
    for kind, a, b, g in _neighbours(result.dag):
        assert scorer.total(g) <= result.score + _tol(result), (kind, a, b)
    assert shd(result.dag, bn) <= 2  # 'either' is deterministic: its arcs are hard to orient


def test_alarm_local_optimum_and_tabu() -> None:
    from genlab.pgm import read_bif

    bn = read_bif(shared_data("bnlearn", "alarm.bif.gz"))
    data = as_dataset(bn.sample(10_000, 0), bn, variables=bn.variables)
    scorer = Scorer(data)
    result = hill_climb(scorer=scorer, max_parents=4)
    assert result.score == pytest.approx(Scorer(data).total(result.dag))
    assert max(len(result.dag.parents(v)) for v in result.dag.nodes) <= 4
    for kind, a, b, g in _neighbours(result.dag):
        if max(len(g.parents(v)) for v in g.nodes) <= 4:
            assert scorer.total(g) <= result.score + _tol(result), (kind, a, b)
    tabu = tabu_search(scorer=scorer)
    assert tabu.score == pytest.approx(max(tabu.trace))
    assert shd(tabu.dag, bn) <= 35  # measured 20-28 over seeds (peers: 30-40)


def test_tabu_returns_the_best_graph_not_the_last_tie() -> None:
    """Zero-gain moves (arcs to a constant column) must not survive in the result."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 3000)
    data = as_dataset({"a": a, "b": a ^ (rng.random(3000) < 0.1), "c": rng.integers(0, 2, 3000),
                       "d": np.zeros(3000, dtype=int)})
    found = tabu_search(data)
    assert found.dag.num_edges == 1
    assert found.score == pytest.approx(hill_climb(data).score)
