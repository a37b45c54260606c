"""Virtual evidence, expected statistics and exact posterior sampling against enumeration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from genlab.pgm import examples
from genlab.pgm.errors import ModelError, ZeroEvidenceError
from genlab.pgm.inference import ExactInference
from genlab.pgm.testing import bayesian_networks, brute_joint, evidence_for, factor_graphs

# derandomized: a χ² test at p > 1e-4 over random examples fails by chance once in a while,
# and shrinking then hunts for such a seed; fixed examples keep CI deterministic
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _soft_joint(model, evidence, likelihood) -> np.ndarray:
    """The clamped joint times each likelihood vector along its variable's axis."""
    fg = model.to_factor_graph()
    joint = brute_joint(model, evidence)
    for v, vec in likelihood.items():
        shape = [1] * joint.ndim
        shape[fg.variables.index(v)] = fg.cards[v]
        joint = joint * np.asarray(vec).reshape(shape)
    return joint


def _random_likelihood(model, rng, evidence) -> dict[str, np.ndarray]:
    fg = model.to_factor_graph()
    free = [v for v in fg.variables if v not in evidence]
    chosen = rng.choice(len(free), size=rng.integers(0, len(free) + 1), replace=False)
    out = {}
    for j in chosen:
        v = free[j]
        vec = rng.random(fg.cards[v]) * (rng.random(fg.cards[v]) > 0.2)
        out[v] = vec
    return out


@SETTINGS
@given(model=factor_graphs(), seed=st.integers(0, 2**31))
def test_soft_evidence_log_partition_and_marginals(model, seed) -> None:
    rng = np.random.default_rng(seed)
    evidence = evidence_for(model, rng)
    likelihood = _random_likelihood(model, rng, evidence)
    joint = _soft_joint(model, evidence, likelihood)
    eng = ExactInference(model)
    total = joint.sum()
    if total <= 0:
        with pytest.raises(ZeroEvidenceError):
            eng.marginals(evidence, likelihood=likelihood)
        assert np.isneginf(eng.log_partition(evidence, likelihood=likelihood))
        return
    assert eng.log_partition(evidence, likelihood=likelihood) == pytest.approx(
        np.log(total), rel=1e-10, abs=1e-10
    )
    got = eng.marginals(evidence, likelihood=likelihood)
    fg = model.to_factor_graph()
    for i, v in enumerate(fg.variables):
        want = joint.sum(axis=tuple(a for a in range(joint.ndim) if a != i)) / total
        np.testing.assert_allclose(got[v], want, rtol=1e-9, atol=1e-12)


def test_one_hot_likelihood_equals_hard_evidence() -> None:
    bn = examples.red_blue_network()
    eng = ExactInference(bn)
    hard = eng.marginals({"X1": "red", "X4": "blue"})
    soft = eng.marginals(likelihood={"X1": [1.0, 0.0], "X4": [0.0, 1.0]})
    for v in bn.variables:
        np.testing.assert_allclose(soft[v], hard[v], rtol=1e-12)
    assert eng.log_partition(likelihood={"X1": [1, 0], "X4": [0, 1]}) == pytest.approx(
        eng.log_partition({"X1": "red", "X4": "blue"}), rel=1e-12
    )


def test_batched_likelihood_rows_match_one_at_a_time() -> None:
    bn = examples.red_blue_network()
    eng = ExactInference(bn)
    rng = np.random.default_rng(3)
    lik = {"X2": rng.random((7, 2)), "X5": rng.random((7, 2))}
    batched = eng.marginals({"X1": "blue"}, likelihood=lik)
    logs = eng.log_partition({"X1": "blue"}, likelihood=lik)
    for n in range(7):
        row = {v: a[n] for v, a in lik.items()}
        one = eng.marginals({"X1": "blue"}, likelihood=row)
        for v in bn.variables:
            np.testing.assert_allclose(batched[v][n], one[v], rtol=1e-12)
        assert logs[n] == pytest.approx(eng.log_partition({"X1": "blue"}, likelihood=row))


def test_likelihood_is_validated() -> None:
    eng = ExactInference(examples.red_blue_network())
    with pytest.raises(ModelError, match="shape"):
        eng.marginals(likelihood={"X1": [1.0, 0.0, 0.0]})
    with pytest.raises(ModelError, match="non-negative"):
        eng.marginals(likelihood={"X1": [1.0, -1.0]})
    with pytest.raises(ModelError, match="unknown variable"):
        eng.marginals(likelihood={"nope": [1.0, 1.0]})
    with pytest.raises(ModelError, match="both hard evidence and a likelihood"):
        eng.marginals({"X1": "red"}, likelihood={"X1": [1.0, 1.0]})
    with pytest.raises(ModelError, match="rows"):
        eng.marginals(likelihood={"X1": np.ones((3, 2)), "X2": np.ones((4, 2))})


@SETTINGS
@given(model=bayesian_networks(max_vars=6), seed=st.integers(0, 2**31))
def test_expected_statistics_match_enumeration(model, seed) -> None:
    """Σ_n w_n P(family | e_n) for rows with different missing cells (soft evidence) and
    hard evidence on a fixed column — EM's E-step."""
    rng = np.random.default_rng(seed)
    fg = model.to_factor_graph()
    rows = model.sample(9, seed=rng)
    mask = rng.random(rows.shape) < 0.35
    mask[:, 0] = False  # the first variable is observed in every row: hard evidence
    weights = rng.random(9) + 0.1
    names = model.variables  # the sample's column order
    first = names[0]
    soft = {}
    for j, v in enumerate(names[1:], start=1):
        lik = np.zeros((9, fg.cards[v]))
        lik[np.arange(9), rows[:, j]] = 1.0
        lik[mask[:, j]] = 1.0
        soft[v] = lik
    eng = ExactInference(model)
    tables, log_z = eng.expected_statistics(
        {first: rows[:, 0]}, likelihood=soft, weights=weights
    )
    want = [np.zeros(f.table.shape) for f in fg.factors]
    for n in range(9):
        row_lik = {v: a[n] for v, a in soft.items()}
        joint = _soft_joint(model, {first: int(rows[n, 0])}, row_lik)
        assert log_z[n] == pytest.approx(np.log(joint.sum()), rel=1e-10, abs=1e-10)
        post = joint / joint.sum()
        for k, f in enumerate(fg.factors):
            axes = [fg.variables.index(v) for v in f.variables]
            rest = tuple(a for a in range(post.ndim) if a not in axes)
            marg = post.sum(axis=rest)
            marg = np.transpose(marg, np.argsort(np.argsort(axes)))
            want[k] += weights[n] * marg
    for got, exp in zip(tables, want, strict=True):
        np.testing.assert_allclose(got, exp, rtol=1e-9, atol=1e-12)


def test_expected_statistics_of_complete_rows_are_counts() -> None:
    bn = examples.red_blue_network()
    rows = bn.sample(500, seed=1)
    eng = ExactInference(bn)
    tables, _ = eng.expected_statistics(rows, columns=bn.variables)
    fg = bn.to_factor_graph()
    for f, table in zip(fg.factors, tables, strict=True):
        idx = [bn.variables.index(v) for v in f.variables]
        counts = np.zeros(f.table.shape)
        np.add.at(counts, tuple(rows[:, i] for i in idx), 1.0)
        np.testing.assert_array_equal(table, counts)


@SETTINGS
@given(model=factor_graphs(max_vars=5, zeros=False), seed=st.integers(0, 2**31))
def test_exact_samples_follow_the_posterior(model, seed) -> None:
    """The joint frequencies of 4,000 exact samples pass a χ² test against the posterior."""
    rng = np.random.default_rng(seed)
    evidence = evidence_for(model, rng, max_observed=2)
    joint = brute_joint(model, evidence)
    p = (joint / joint.sum()).reshape(-1)
    draws = ExactInference(model).sample(4000, evidence, seed=seed)
    fg = model.to_factor_graph()
    codes = np.ravel_multi_index(draws.T, [fg.cards[v] for v in fg.variables])
    freq = np.bincount(codes, minlength=p.size)
    assert np.all(freq[p == 0] == 0)  # never an impossible configuration
    support = p > 0
    if support.sum() > 1:
        expected = 4000 * p[support]
        stat = ((freq[support] - expected) ** 2 / expected).sum()
        assert stats.chi2.sf(stat, support.sum() - 1) > 1e-4


def test_sampling_is_seeded_and_batched_rows_get_their_own_evidence() -> None:
    bn = examples.red_blue_network()
    eng = ExactInference(bn)
    a = eng.sample(50, {"X4": "blue"}, seed=7)
    b = eng.sample(50, {"X4": "blue"}, seed=7)
    np.testing.assert_array_equal(a, b)
    assert np.all(a[:, bn.to_factor_graph().variables.index("X4")] == 1)
    rows = np.array([[0], [1], [0], [1]] * 25)
    drawn = eng.sample(evidence=rows, columns=["X5"], seed=0)
    assert drawn.shape == (100, 5)
    order = bn.to_factor_graph().variables  # the engine's columns
    np.testing.assert_array_equal(drawn[:, order.index("X5")], rows[:, 0])


def test_sampling_a_rare_posterior_needs_no_rejection() -> None:
    """P(X4=blue, X5=blue, X2=red) is small; every one of 20,000 samples matches it and the
    frequency of X1 matches the exact posterior."""
    bn = examples.red_blue_network()
    eng = ExactInference(bn)
    evidence = {"X4": "blue", "X5": "blue", "X2": "red"}
    draws = eng.sample(20_000, evidence, seed=0)
    post = eng.marginals(evidence)["X1"]
    freq = np.bincount(draws[:, 0], minlength=2) / 20_000
    assert abs(freq[0] - post[0]) < 4 * np.sqrt(post[0] * post[1] / 20_000)
