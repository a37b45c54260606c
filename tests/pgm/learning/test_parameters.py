"""Parameter learning: MLE = hand counts, priors by formula, EM against brute-force EM."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from genlab.pgm import BayesianNetwork, examples
from genlab.pgm.errors import ModelError
from genlab.pgm.learning import counts as counts_module
from genlab.pgm.learning.data import to_frame
from genlab.pgm.learning.parameters import em, fit, log_likelihood, skeleton
from genlab.pgm.testing import brute_joint

SMALL = pd.DataFrame(
    {
        "rain": ["yes", "yes", "no", "no", "no", "yes", "no"],
        "wet": ["yes", "yes", "no", "yes", "no", "no", "no"],
    }
)


def _frame(bn: BayesianNetwork, n: int, seed: int) -> pd.DataFrame:
    return to_frame(bn.sample(n, seed=seed), bn.variables, bn.states).astype(object)


def test_mle_equals_hand_counts() -> None:
    learned = fit({"rain": [], "wet": ["rain"]}, SMALL)
    assert learned.states["rain"] == ("no", "yes")  # sorted from the data
    np.testing.assert_allclose(learned.cpt("rain").table, [4 / 7, 3 / 7])
    # rain=no: wet yes 1 of 4; rain=yes: wet yes 2 of 3
    np.testing.assert_allclose(learned.cpt("wet").table, [[3 / 4, 1 / 4], [1 / 3, 2 / 3]])


def test_states_fixed_by_the_model_and_unseen_parent_rows_are_uniform() -> None:
    structure = BayesianNetwork.from_structure(
        {"rain": [], "wet": ["rain"]}, states={"rain": ["yes", "no", "maybe"], "wet": ["no", "yes"]}
    )
    learned = structure.fit(SMALL)
    np.testing.assert_allclose(learned.cpt("rain").table, [3 / 7, 4 / 7, 0.0])
    np.testing.assert_allclose(learned.cpt("wet").table[2], [0.5, 0.5])  # never seen


def test_bdeu_and_k2_pseudo_counts_by_formula() -> None:
    ess = 6.0
    bdeu = fit({"rain": [], "wet": ["rain"]}, SMALL, prior="bdeu", equivalent_sample_size=ess)
    # wet | rain: q = 2 parent rows, r = 2 states -> α = ess / 4 per cell
    a = ess / 4
    np.testing.assert_allclose(
        bdeu.cpt("wet").table, [[(3 + a) / (4 + 2 * a), (1 + a) / (4 + 2 * a)],
                                [(1 + a) / (3 + 2 * a), (2 + a) / (3 + 2 * a)]]
    )
    np.testing.assert_allclose(bdeu.cpt("rain").table, [(4 + 3) / (7 + 6), (3 + 3) / (7 + 6)])
    k2 = fit({"rain": [], "wet": ["rain"]}, SMALL, prior="k2")
    np.testing.assert_allclose(k2.cpt("wet").table, [[4 / 6, 2 / 6], [2 / 5, 3 / 5]])
    custom = fit({"rain": [], "wet": ["rain"]}, SMALL, prior="dirichlet",
                 pseudo_counts={"rain": [1.0, 3.0]})
    np.testing.assert_allclose(custom.cpt("rain").table, [5 / 11, 6 / 11])


def test_weights_equal_repeated_rows() -> None:
    weights = np.array([1, 2, 3, 1, 1, 2, 1])
    weighted = fit({"rain": [], "wet": ["rain"]}, SMALL, weights=weights)
    repeated = fit({"rain": [], "wet": ["rain"]}, SMALL.loc[SMALL.index.repeat(weights)])
    for v in ("rain", "wet"):
        np.testing.assert_allclose(weighted.cpt(v).table, repeated.cpt(v).table)
    by_column = fit({"rain": [], "wet": ["rain"]}, SMALL.assign(w=weights), weights="w")
    np.testing.assert_allclose(by_column.cpt("wet").table, repeated.cpt("wet").table)


def test_int_codes_and_dataframes_give_the_same_network() -> None:
    bn = examples.red_blue_network()
    codes = bn.sample(3000, seed=4)
    a = fit(bn, codes)
    b = fit(bn, to_frame(codes, bn.variables, bn.states))
    assert a == b


def test_drop_and_available_case() -> None:
    data = SMALL.copy()
    data.loc[0, "wet"] = np.nan
    data.loc[2, "rain"] = np.nan
    drop = fit({"rain": [], "wet": ["rain"]}, data, missing="drop")
    np.testing.assert_allclose(drop.cpt("rain").table, [3 / 5, 2 / 5])
    available = fit({"rain": [], "wet": ["rain"]}, data, missing="available")
    np.testing.assert_allclose(available.cpt("rain").table, [3 / 6, 3 / 6])
    np.testing.assert_allclose(available.cpt("wet").table, [[2 / 3, 1 / 3], [1 / 2, 1 / 2]])


# ----------------------------------------------------------------------------------------------
# EM
# ----------------------------------------------------------------------------------------------
def _brute_em_step(bn: BayesianNetwork, rows: np.ndarray) -> BayesianNetwork:
    """One EM step by enumerating every completion of every row (rows: codes, −1 missing)."""
    fg = bn.to_factor_graph()
    position = [fg.variables.index(v) for v in bn.variables]
    counts = {v: np.zeros(bn.cpt(v).table.shape) for v in bn.variables}
    for row in rows:
        evidence = {v: int(s) for v, s in zip(bn.variables, row, strict=True) if s >= 0}
        joint = brute_joint(bn, evidence)
        post = joint / joint.sum()
        for v in bn.variables:
            family = [position[bn.variables.index(u)] for u in (*bn.parents(v), v)]
            rest = tuple(a for a in range(post.ndim) if a not in family)
            marg = np.transpose(post.sum(axis=rest), np.argsort(np.argsort(family)))
            counts[v] += marg
    tables = {v: c / c.sum(axis=-1, keepdims=True) for v, c in counts.items()}
    from genlab.pgm.models.bayesian_network import CPT

    return BayesianNetwork([CPT(v, tables[v], bn.parents(v)) for v in bn.variables],
                           states=bn.states)


@pytest.mark.parametrize("estep", ["soft", "patterns"])
def test_em_matches_brute_force_em(estep: str) -> None:
    truth = examples.red_blue_network()
    rng = np.random.default_rng(0)
    rows = truth.sample(60, seed=rng)
    rows[rng.random(rows.shape) < 0.3] = -1
    start = skeleton(truth)
    start = BayesianNetwork(  # an asymmetric start shared by both
        [type(truth.cpt(v))(v, rng.dirichlet(np.ones(2), size=truth.cpt(v).table.shape[:-1]
                                              or None).reshape(truth.cpt(v).table.shape),
                            truth.parents(v)) for v in truth.variables],
        states=truth.states,
    )
    result = em(truth, rows, init=start, max_iter=3, tol=0.0, estep=estep)
    want = start
    for _ in range(result.iterations):
        want = _brute_em_step(want, rows)
    assert result.iterations == 3
    for v in truth.variables:
        np.testing.assert_allclose(result.network.cpt(v).table, want.cpt(v).table, rtol=1e-10)


def test_em_log_likelihood_is_monotone_and_reported_for_the_returned_network() -> None:
    truth = examples.red_blue_network()
    data = _frame(truth, 4000, 1)
    mask = np.random.default_rng(1).random(data.shape) < 0.3
    data = data.mask(mask)
    seen = []
    result = em(truth, data, tol=1e-10, max_iter=40, callback=lambda i, ll: seen.append(ll))
    lls = np.array(result.log_likelihoods)
    assert np.all(np.diff(lls) >= -1e-9 * abs(lls[-1]))
    assert seen == result.log_likelihoods[1:]
    assert result.log_likelihood == pytest.approx(log_likelihood(result.network, data), rel=1e-12)
    # with a prior, the penalised objective is what rises
    bdeu = em(truth, data, prior="bdeu", equivalent_sample_size=5, tol=1e-10, max_iter=40)
    obj = np.array(bdeu.objectives)
    assert np.all(np.diff(obj) >= -1e-9 * abs(obj[-1]))


def test_em_recovers_known_cpts_with_20_percent_missing() -> None:
    truth = examples.red_blue_network()
    data = _frame(truth, 40_000, 2)
    data = data.mask(np.random.default_rng(2).random(data.shape) < 0.2)
    learned = fit(truth, data)  # missing="em" is the default
    worst = max(np.abs(learned.cpt(v).table - truth.cpt(v).table).max() for v in truth.variables)
    assert worst < 0.02


def test_em_with_a_latent_variable_leaves_the_uniform_start() -> None:
    """pgmpy#1542: symmetric starts stay uniform. Here the latent parent of two observed
    children is learned from seeded asymmetric starts and explains their dependence."""
    h = BayesianNetwork.from_structure(
        {"H": [], "A": ["H"], "B": ["H"], "C": ["H"]},
        states={"H": ["0", "1"], "A": ["a0", "a1"], "B": ["b0", "b1"], "C": ["c0", "c1"]},
    )
    from genlab.pgm.models.bayesian_network import CPT

    truth = BayesianNetwork(
        [CPT("H", [0.3, 0.7]), CPT("A", [[0.9, 0.1], [0.2, 0.8]], ["H"]),
         CPT("B", [[0.85, 0.15], [0.1, 0.9]], ["H"]), CPT("C", [[0.7, 0.3], [0.25, 0.75]], ["H"])],
        states=h.states,
    )
    data = _frame(truth, 20_000, 5).drop(columns=["H"])
    result = em(h, data, latent={"H": 2}, restarts=2, seed=0)
    learned = result.network
    p_h = learned.cpt("H").table
    # label switching: align the latent states to the truth by A's CPT
    order = [0, 1] if learned.cpt("A").table[0, 0] > learned.cpt("A").table[1, 0] else [1, 0]
    np.testing.assert_allclose(p_h[order], [0.3, 0.7], atol=0.03)
    np.testing.assert_allclose(learned.cpt("A").table[order], truth.cpt("A").table, atol=0.03)
    again = em(h, data, latent={"H": 2}, restarts=2, seed=0)
    assert again.network == learned  # seeded
    assert len(result.restart_objectives) == 3


def test_latent_needs_em_and_all_missing_columns_are_refused() -> None:
    with pytest.raises(ModelError, match="latent"):
        fit({"H": [], "A": ["H"]}, pd.DataFrame({"A": ["x", "y"]}), latent={"H": 2},
            missing="drop")
    with pytest.raises(ModelError, match="no observed value"):
        fit({"H": [], "A": ["H"]}, pd.DataFrame({"A": ["x", "y"], "H": [np.nan, np.nan]}))


# ----------------------------------------------------------------------------------------------
# log-likelihood
# ----------------------------------------------------------------------------------------------
def test_log_likelihood_complete_and_incomplete_rows_against_enumeration() -> None:
    bn = examples.red_blue_network()
    rows = bn.sample(30, seed=8)
    rows[np.random.default_rng(8).random(rows.shape) < 0.4] = -1
    per_row = log_likelihood(bn, rows, per_row=True)
    for n, row in enumerate(rows):
        evidence = {v: int(s) for v, s in zip(bn.variables, row, strict=True) if s >= 0}
        want = np.log(brute_joint(bn, evidence).sum())
        assert per_row[n] == pytest.approx(want, rel=1e-12)
    assert log_likelihood(bn, rows) == pytest.approx(per_row.sum())
    weights = np.arange(30) / 10
    assert log_likelihood(bn, rows, weights=weights) == pytest.approx((weights * per_row).sum())


def test_impossible_rows_have_minus_infinity() -> None:
    from genlab.pgm.models.bayesian_network import CPT

    bn = BayesianNetwork([CPT("a", [1.0, 0.0]), CPT("b", [[0.5, 0.5], [0.5, 0.5]], ["a"])])
    got = log_likelihood(bn, np.array([[1, 0], [0, 1], [1, -1]]), per_row=True)
    assert np.isneginf(got[0]) and np.isneginf(got[2]) and got[1] == pytest.approx(np.log(0.5))


# ----------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------
def test_bad_data_is_named() -> None:
    bn = examples.red_blue_network()
    data = _frame(bn, 10, 0)
    data.loc[4, "X3"] = "green"
    with pytest.raises(ModelError, match=r"'X3'.*'green'.*row 4"):
        fit(bn, data)
    with pytest.raises(ModelError, match=r"lacks the model's column\(s\) \['X5'\]"):
        fit(bn, _frame(bn, 10, 0).drop(columns=["X5"]))
    with pytest.raises(ModelError, match=r"column\(s\) the model lacks: \['extra'\]"):
        fit(bn, _frame(bn, 10, 0).assign(extra=1))
    with pytest.raises(ModelError, match="weights must be numeric"):
        fit(bn, _frame(bn, 10, 0), weights=["a"] * 10)
    with pytest.raises(ModelError, match="non-negative"):
        fit(bn, _frame(bn, 10, 0), weights=-np.ones(10))
    with pytest.raises(ModelError, match="unknown prior"):
        fit(bn, _frame(bn, 10, 0), prior="laplace")
    with pytest.raises(ModelError, match="missing must be"):
        fit(bn, _frame(bn, 10, 0), missing="ignore")


def test_a_family_too_large_is_refused_before_allocating(monkeypatch) -> None:
    monkeypatch.setattr(counts_module, "MAX_TABLE_BYTES", 64)
    with pytest.raises(ModelError, match=r"over \('a', 'b', 'c'\) would have 32 entries.*budget"):
        fit({"a": [], "b": [], "c": ["a", "b"]},
            pd.DataFrame({"a": list("wxyz"), "b": list("wxyz"), "c": list("ab") * 2}))


def test_fit_then_query_and_state_order_of_ints() -> None:
    """Integer states sort numerically (10 after 9), whatever their text."""
    data = pd.DataFrame({"n": [10, 9, 2, 10], "m": ["1", "10", "2", "9"]})
    learned = fit({"n": [], "m": []}, data)
    assert learned.states["n"] == ("2", "9", "10")
    assert learned.states["m"] == ("1", "2", "9", "10")
    assert list(itertools.accumulate(learned.cpt("n").table))[-1] == pytest.approx(1.0)


def test_int_codes_follow_the_network_variable_order() -> None:
    """bn.sample's columns are bn.variables; on alarm that order is not the factor graph's, and
    a model-given array must be read in the network's order (a regression)."""
    from genlab.pgm import read_bif
    from genlab.pgm.learning.data import as_dataset
    from tests.conftest import shared_data

    bn = read_bif(shared_data("bnlearn", "alarm.bif.gz"))
    assert bn.variables != bn.to_factor_graph().variables
    codes = bn.sample(300, seed=0)
    data = as_dataset(codes, bn)
    assert data.variables == bn.variables
    np.testing.assert_array_equal(data.codes, codes)


def test_fit_with_a_latent_variable_through_the_python_api() -> None:
    truth = examples.red_blue_network()
    rows = _frame(truth, 3000, 6).drop(columns=["X3"])
    learned = fit(truth, rows, latent={"X3": 2}, seed=1)
    assert learned.states["X3"] == ("red", "blue")  # a bare cardinality keeps the names
    assert truth.fit(rows, latent={"X3": 2}, seed=1) == learned


def test_em_init_is_aligned_by_name_and_checked() -> None:
    truth = examples.red_blue_network()
    data = _frame(truth, 2000, 7).mask(np.random.default_rng(7).random((2000, 5)) < 0.2)
    from genlab.pgm.models.bayesian_network import CPT

    # the truth with X4's parents listed the other way and every state list reversed
    flipped = BayesianNetwork(
        [CPT(v, np.flip(np.transpose(truth.cpt(v).table,
                                     (1, 0, 2) if v == "X4" else range(truth.cpt(v).table.ndim))),
             tuple(reversed(truth.parents(v)))) for v in truth.variables],
        states={v: tuple(reversed(s)) for v, s in truth.states.items()},
    )
    a = em(truth, data, init=truth, max_iter=3, tol=0.0)
    b = em(truth, data, init=flipped, max_iter=3, tol=0.0)
    assert a.log_likelihoods[0] == pytest.approx(b.log_likelihoods[0], rel=1e-12)
    for v in truth.variables:
        np.testing.assert_allclose(a.network.cpt(v).table, b.network.cpt(v).table, rtol=1e-10)
    other = BayesianNetwork.from_structure({v: [] for v in truth.variables}, truth.states)
    with pytest.raises(ModelError, match="init gives 'X2' the parents"):
        em(truth, data, init=other)


def test_rows_of_weight_zero_change_nothing() -> None:
    from genlab.pgm.models.bayesian_network import CPT

    bn = BayesianNetwork([CPT("a", [1.0, 0.0]), CPT("b", [[0.5, 0.5], [0.5, 0.5]], ["a"])])
    rows = np.array([[0, 0], [0, 1], [1, -1], [0, -1]])  # row 2 is impossible
    assert log_likelihood(bn, rows, weights=[1, 1, 0, 1]) == pytest.approx(2 * np.log(0.5))
    result = em(bn, rows, weights=[1, 1, 0, 1])
    assert np.all(np.isfinite(result.objectives)) and result.converged
    kept = em(bn, rows[[0, 1, 3]])
    np.testing.assert_allclose(result.network.cpt("b").table, kept.network.cpt("b").table)


def test_columns_without_any_observed_value_are_named() -> None:
    data = pd.DataFrame({"a": ["x", "y", "x"], "b": [np.nan] * 3})
    from genlab.pgm.learning import learn

    with pytest.raises(ModelError, match="column 'b' has no observed value"):
        learn(data)
    with pytest.raises(ModelError, match="column 'b' has no observed value"):
        fit({"a": [], "b": ["a"]}, np.array([[0, -1], [1, -1]]))
