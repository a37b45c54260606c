"""Sampling: frequencies against exact answers (χ² at fixed seeds), seeds, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from genlab.pgm import examples, marginals, query
from genlab.pgm.errors import ModelError, ZeroEvidenceError
from genlab.pgm.sampling import likelihood_weighting, sample
from genlab.pgm.testing import brute_joint


def _chi2_pvalue(codes: np.ndarray, cards: list[int], p: np.ndarray) -> float:
    flat = np.ravel_multi_index(codes.T, cards)
    freq = np.bincount(flat, minlength=p.size)
    assert np.all(freq[p.reshape(-1) == 0] == 0)
    keep = p.reshape(-1) > 0
    expected = len(codes) * p.reshape(-1)[keep]
    stat = ((freq[keep] - expected) ** 2 / expected).sum()
    return float(stats.chi2.sf(stat, keep.sum() - 1))


def test_forward_samples_follow_the_joint() -> None:
    bn = examples.red_blue_network()
    codes = sample(bn, 40_000, seed=0, as_codes=True)
    joint = brute_joint(bn)  # axes in the factor graph's order
    fg = bn.to_factor_graph()
    joint = np.transpose(joint, [fg.variables.index(v) for v in bn.variables])
    assert _chi2_pvalue(codes, [2] * 5, joint / joint.sum()) > 1e-3


def test_frames_carry_state_names_and_seeds_repeat() -> None:
    bn = examples.red_blue_network()
    a = sample(bn, 100, seed=3)
    assert list(a.columns) == list(bn.variables)
    assert set(a["X1"].unique()) <= {"red", "blue"}
    assert a.equals(sample(bn, 100, seed=3))
    assert not a.equals(sample(bn, 100, seed=4))
    np.testing.assert_array_equal(bn.sample(50, seed=1), bn.sample(50, seed=1))


def test_exact_conditional_samples_match_query() -> None:
    bn = examples.red_blue_network()
    evidence = {"X4": "blue", "X5": "red"}
    rows = sample(bn, 30_000, evidence, seed=1, as_codes=True)
    cols = [bn.variables.index(v) for v in ("X1", "X2", "X3")]
    assert np.all(rows[:, bn.variables.index("X4")] == 1)
    table = query(bn, ["X1", "X2", "X3"], evidence).table
    assert _chi2_pvalue(rows[:, cols], [2, 2, 2], table) > 1e-3


def test_likelihood_weighting_estimates_posterior_and_evidence() -> None:
    bn = examples.red_blue_network()
    evidence = {"X4": "blue", "X5": "blue"}
    result = likelihood_weighting(bn, 50_000, evidence, seed=2)
    assert result.weights.sum() == pytest.approx(1.0)
    assert result.effective_sample_size == pytest.approx(1 / np.square(result.weights).sum())
    assert 0 < result.effective_sample_size <= 50_000
    x3 = result.codes[:, bn.variables.index("X3")]
    estimate = result.weights[x3 == 0].sum()
    exact = marginals(bn, evidence)["X3"][0]
    assert abs(estimate - exact) < 4 / np.sqrt(result.effective_sample_size)
    log_pe = np.log(brute_joint(bn, evidence).sum())
    assert result.log_evidence == pytest.approx(log_pe, abs=0.03)
    frame = sample(bn, 10, evidence, method="lw", seed=2)
    assert "weight" in frame.columns and set(frame["X4"]) == {"blue"}


def test_gibbs_on_a_markov_network_with_and_without_evidence() -> None:
    fg = examples.food_factor_graph()
    rows = sample(fg, 20_000, method="gibbs", seed=0, as_codes=True, burn_in=100, chains=200)
    exact = query(fg, ["first", "second"]).table
    freq = np.bincount(np.ravel_multi_index(rows.T, (4, 4)), minlength=16) / len(rows)
    assert np.abs(freq - exact.reshape(-1)).max() < 0.02
    given = sample(fg, 10_000, {"first": "tuna"}, method="gibbs", seed=1, as_codes=True)
    assert np.all(given[:, 0] == 3)
    want = query(fg, ["second"], {"first": "tuna"}).table
    got = np.bincount(given[:, 1], minlength=4) / len(given)
    assert np.abs(got - want).max() < 0.02


def test_gibbs_on_a_network_with_evidence_matches_exact_marginals() -> None:
    bn = examples.red_blue_network()
    evidence = {"X4": "red"}
    rows = sample(bn, 20_000, evidence, method="gibbs", seed=5, as_codes=True, thin=2)
    exact = marginals(bn, evidence)
    for j, v in enumerate(bn.variables):
        got = np.bincount(rows[:, j], minlength=2) / len(rows)
        assert np.abs(got - exact[v]).max() < 0.02


def test_bad_requests() -> None:
    bn = examples.red_blue_network()
    with pytest.raises(ModelError, match="takes no evidence"):
        sample(bn, 5, {"X1": "red"}, method="forward")
    with pytest.raises(ModelError, match="unknown sampling method"):
        sample(bn, 5, method="rejection")
    with pytest.raises(ModelError, match="needs a Bayesian network"):
        sample(examples.food_factor_graph(), 5, method="lw")
    with pytest.raises(ModelError, match="unknown state"):
        sample(bn, 5, {"X1": "green"})
    from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork

    certain = BayesianNetwork([CPT("a", [1.0, 0.0])])
    with pytest.raises(ZeroEvidenceError):
        sample(certain, 5, {"a": 1})
    with pytest.raises(ZeroEvidenceError):
        likelihood_weighting(certain, 5, {"a": 1})


def test_columns_follow_the_network_order_when_the_graph_order_differs() -> None:
    """A network whose CPTs are listed children first: bn.variables (topological) differs
    from its factor graph's order, and every method must still label columns right."""
    from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork

    bn = BayesianNetwork(
        [CPT("b", [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], ["a"]), CPT("a", [0.3, 0.7])],
        states={"b": ["b0", "b1", "b2"], "a": ["a0", "a1"]},
    )
    assert bn.variables != bn.to_factor_graph().variables
    for method, evidence in (("exact", {"b": "b2"}), ("gibbs", {"b": "b2"}), ("lw", {"b": "b2"}),
                             ("exact", None), ("forward", None)):
        rows = sample(bn, 200, evidence, method=method, seed=0)
        assert list(rows.columns[:2]) == ["a", "b"]
        if method == "lw":  # likelihood weighting keeps impossible draws with weight 0
            rows = rows[rows["weight"] > 0]
        pairs = set(zip(rows["a"], rows["b"], strict=True))
        assert pairs <= {("a0", "b0"), ("a1", "b2")}, (method, pairs)
