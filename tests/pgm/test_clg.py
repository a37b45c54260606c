"""Conditional linear-Gaussian networks: closed forms by hand, Monte Carlo, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from genlab.pgm import CPT, BayesianNetwork, ModelError, examples
from genlab.pgm.models.clg import CLGNode, ConditionalLinearGaussianNetwork

P_D = np.array([0.3, 0.7])
P_E_GIVEN_D = np.array([[0.9, 0.1], [0.2, 0.8]])


@pytest.fixture()
def net() -> ConditionalLinearGaussianNetwork:
    """D → E (discrete); x1 | D ~ N(μ_D, v_D); x2 | x1, D ~ N(w_D x1 + b_D, u_D)."""
    discrete = BayesianNetwork(
        [CPT("D", {(): dict(zip("ab", P_D, strict=True))}),
         CPT("E", {"a": list(P_E_GIVEN_D[0]), "b": list(P_E_GIVEN_D[1])}, parents=["D"])],
        states={"D": ["a", "b"], "E": ["lo", "hi"]})
    x1 = CLGNode("x1", ("D",), (), np.zeros((2, 0)), [0.0, 2.0], [1.0, 0.5])
    x2 = CLGNode("x2", ("D",), ("x1",), [[1.5], [-1.0]], [0.5, 1.0], [0.3, 0.2])
    return ConditionalLinearGaussianNetwork(discrete, [x1, x2])


# per D: mean and variance of x2, cov(x1, x2)
M1, V1 = np.array([0.0, 2.0]), np.array([1.0, 0.5])
W, B, U = np.array([1.5, -1.0]), np.array([0.5, 1.0]), np.array([0.3, 0.2])
M2, V2, C12 = W * M1 + B, W ** 2 * V1 + U, W * V1


def test_switch_posterior_and_mixture_by_hand(net):
    post = net.query(None, {"x2": 0.7})
    like = norm(M2, np.sqrt(V2)).pdf(0.7)
    weights = P_D * like / (P_D * like).sum()
    np.testing.assert_allclose(post.discrete["D"], weights, rtol=1e-12)
    np.testing.assert_allclose(post.discrete["E"], weights @ P_E_GIVEN_D, rtol=1e-12)
    assert post.log_evidence == pytest.approx(np.log((P_D * like).sum()), rel=1e-12)
    # each component: x1 | x2, D by the textbook formula; the mixture's moments
    means = M1 + C12 / V2 * (0.7 - M2)
    variances = V1 - C12 ** 2 / V2
    for k in range(2):
        assert post.components[k].mean[0] == pytest.approx(means[k])
        assert post.components[k].covariance[0, 0] == pytest.approx(variances[k])
    mean = weights @ means
    assert post.mean[0] == pytest.approx(mean)
    assert post.covariance[0, 0] == pytest.approx(weights @ (variances + means ** 2) - mean ** 2)
    x = np.linspace(-3, 4, 7)
    want = sum(w * norm(m, np.sqrt(v)).pdf(x) for w, m, v in zip(weights, means, variances,
                                                                  strict=True))
    np.testing.assert_allclose(post.density("x1", x), want, rtol=1e-12)


def test_discrete_evidence_reaches_the_switch(net):
    post = net.query(["D", "x1"], {"E": "hi", "x2": 0.7})
    prior = P_D * P_E_GIVEN_D[:, 1]
    like = norm(M2, np.sqrt(V2)).pdf(0.7)
    np.testing.assert_allclose(post.discrete["D"], prior * like / (prior * like).sum())
    observed = net.query(["x1"], {"D": "b"})
    assert observed.weights.tolist() == [1.0]
    assert observed.mean[0] == pytest.approx(2.0)


def test_prior_moments_match_sampling(net):
    post = net.query(["x1", "x2"])
    rows = net.sample(200_000, seed=0)
    x = rows[["x1", "x2"]].to_numpy()
    np.testing.assert_allclose(x.mean(axis=0), post.mean, atol=0.02)
    np.testing.assert_allclose(np.cov(x.T), post.covariance, atol=0.05)
    assert (rows["D"] == "b").mean() == pytest.approx(0.7, abs=0.005)


def test_without_switches_it_is_the_gaussian_network():
    lecture = examples.gaussian_network(mu1=1.0)
    nodes = [CLGNode(c.name, (), c.parents, c.weights, c.bias, c.variance) for c in lecture.cpds]
    coin = BayesianNetwork([CPT("C", {(): {"h": 0.5, "t": 0.5}})], states={"C": ["h", "t"]})
    hybrid = ConditionalLinearGaussianNetwork(coin, nodes)
    post = hybrid.query(["x1", "x2", "C"], {"x4": 3.0})
    want = lecture.query(["x1", "x2"], {"x4": 3.0})
    np.testing.assert_allclose(post.mean, want.mean)
    np.testing.assert_allclose(post.covariance, want.covariance)
    np.testing.assert_allclose(post.discrete["C"], [0.5, 0.5])


def test_errors(net):
    with pytest.raises(ModelError, match="no state 'c'"):
        net.query(None, {"D": "c"})
    with pytest.raises(ModelError, match="unknown variable"):
        net.query(None, {"zz": 1.0})
    with pytest.raises(ModelError, match="both queried and observed"):
        net.query(["x2"], {"x2": 1.0})
    with pytest.raises(ModelError, match="bias has shape"):
        bad = CLGNode("x3", ("D",), (), np.zeros((2, 0)), [0.0], [1.0, 1.0])
        ConditionalLinearGaussianNetwork(net.discrete, [bad])
    with pytest.raises(ModelError, match="variance"):
        ConditionalLinearGaussianNetwork(
            net.discrete, [CLGNode("x3", ("D",), (), np.zeros((2, 0)), [0, 0], [1.0, -1.0])])
