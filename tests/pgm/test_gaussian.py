"""Linear-Gaussian networks: closed forms, textbook conditioning, Monte Carlo, fitting, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from genlab.pgm import (
    GaussianCPD,
    LinearGaussianBayesianNetwork,
    ModelError,
    ParseError,
    examples,
    fit_gaussian,
    learn_gaussian,
    read_gaussian_json,
    write_gaussian_json,
)
from genlab.pgm.learning import GaussianScorer, gaussian_statistics, shd, tabu_search
from genlab.pgm.models.gaussian import gain_pattern


def random_network(rng: np.random.Generator, n: int, density: float = 0.4
                   ) -> LinearGaussianBayesianNetwork:
    """A random DAG over x0..x{n-1} (names shuffled against the topological order)."""
    names = [f"v{i}" for i in rng.permutation(n)]
    cpds = []
    for i, name in enumerate(names):
        parents = tuple(p for p in names[:i] if rng.random() < density)
        cpds.append(GaussianCPD(name, parents, tuple(rng.normal(0, 1, len(parents))),
                                rng.normal(0, 2), rng.uniform(0.2, 2.0)))
    return LinearGaussianBayesianNetwork(cpds[::-1])  # declared children first


def textbook(mean, cov, q, e, x_e):
    """μ_q + Σ_qe Σ_ee⁻¹ (x_e − μ_e), Σ_qq − Σ_qe Σ_ee⁻¹ Σ_eq (the covariance-form formulas)."""
    s_qe = cov[np.ix_(q, e)]
    s_ee = cov[np.ix_(e, e)]
    m = mean[q] + s_qe @ np.linalg.solve(s_ee, x_e - mean[e])
    c = cov[np.ix_(q, q)] - s_qe @ np.linalg.solve(s_ee, s_qe.T)
    return m, c


# -- the lecture's network in closed form --------------------------------------------------------
def test_lecture_network_joint_by_hand():
    net = examples.gaussian_network(mu1=1.0, mu3=2.0, sigmas=(1.0, 0.5, 1.0, 0.5, 0.75))
    joint = net.joint()
    assert joint.variables == ("x1", "x2", "x3", "x4", "x5")
    # x2 = x1 + e2, x4 = x2 + x3 + e4, x5 = x3 + e5
    np.testing.assert_allclose(joint.mean, [1, 1, 2, 3, 2])
    v1, v2, v3, v4, v5 = 1.0, 0.25, 1.0, 0.25, 0.5625
    by_hand = np.array([
        [v1, v1, 0, v1, 0],
        [v1, v1 + v2, 0, v1 + v2, 0],
        [0, 0, v3, v3, v3],
        [v1, v1 + v2, v3, v1 + v2 + v3 + v4, v3],
        [0, 0, v3, v3, v3 + v5],
    ])
    np.testing.assert_allclose(joint.covariance, by_hand, atol=1e-14)
    # posterior of x1 given x2 = 2: precision 1/v1 + 1/v2 = 5, mean (1/v1·1 + 2/v2)/5 = 1.8
    post = net.query(["x1"], {"x2": 2.0})
    assert post.mean[0] == pytest.approx(1.8)
    assert post.covariance[0, 0] == pytest.approx(0.2)


def test_marginal_and_indexing():
    net = examples.gaussian_network()
    post = net.query(None, {"x4": 1.0})
    assert post.variables == ("x1", "x2", "x3", "x5")
    sub = post.marginal(["x5", "x1"])
    np.testing.assert_allclose(sub.covariance, post.covariance[np.ix_([3, 0], [3, 0])])
    _, var = post["x3"]
    assert var == pytest.approx(post.covariance[2, 2])
    with pytest.raises(ModelError, match="not in this distribution"):
        post.marginal(["x4"])


# -- conditioning: information form equals the covariance-form formulas --------------------------
@pytest.mark.parametrize("seed", range(6))
def test_conditioning_equals_textbook(seed):
    rng = np.random.default_rng(seed)
    net = random_network(rng, 8)
    joint = net.joint()
    order = list(rng.permutation(8))
    e, q = order[:3], order[3:6]  # two variables left out: marginalised by Schur complement
    names = net.variables
    x_e = rng.normal(0, 2, 3)
    post = net.query([names[i] for i in q], {names[i]: x for i, x in zip(e, x_e, strict=True)})
    m, c = textbook(joint.mean, joint.covariance, q, e, x_e)
    np.testing.assert_allclose(post.mean, m, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(post.covariance, c, rtol=1e-9, atol=1e-9)


def test_joint_matches_sampling_and_information_form():
    rng = np.random.default_rng(3)
    net = random_network(rng, 6)
    joint = net.joint()
    via_information = net.query(net.variables)
    np.testing.assert_allclose(via_information.mean, joint.mean, atol=1e-9)
    np.testing.assert_allclose(via_information.covariance, joint.covariance, atol=1e-9)
    x = net.sample(200_000, seed=1)[list(net.variables)].to_numpy()
    n = x.shape[0]
    se = np.sqrt(np.diag(joint.covariance) / n)
    assert np.all(np.abs(x.mean(axis=0) - joint.mean) < 5 * se)
    np.testing.assert_allclose(np.cov(x.T), joint.covariance, atol=0.05 * np.abs(
        joint.covariance).max())


def test_conditional_sampling_matches_posterior():
    net = examples.gaussian_network(mu1=1.0, mu3=-1.0)
    evidence = {"x4": 2.5, "x5": 0.0}
    post = net.query(None, evidence)
    draws = net.sample(100_000, evidence, seed=2)
    assert (draws["x4"] == 2.5).all() and (draws["x5"] == 0.0).all()
    x = draws[list(post.variables)].to_numpy()
    se = np.sqrt(np.diag(post.covariance) / len(x))
    assert np.all(np.abs(x.mean(axis=0) - post.mean) < 5 * se)
    np.testing.assert_allclose(np.cov(x.T), post.covariance, atol=0.02)


def test_batched_rows_equal_row_by_row():
    rng = np.random.default_rng(4)
    net = random_network(rng, 7)
    e = [*net.variables[:2], net.variables[5]]
    values = rng.normal(0, 1, (50, 3))
    batch = net.query(None, pd.DataFrame(values, columns=e))
    assert batch.mean.shape == (50, 4)
    for i in (0, 17, 49):
        one = net.query(None, dict(zip(e, values[i], strict=True)))
        np.testing.assert_allclose(batch.mean[i], one.mean, atol=1e-12)
        np.testing.assert_allclose(batch.covariance, one.covariance)
    as_arrays = net.query(None, {v: values[:, k] for k, v in enumerate(e)})
    np.testing.assert_allclose(as_arrays.mean, batch.mean)
    modes = net.map_assignment({v: values[:, k] for k, v in enumerate(e)})
    np.testing.assert_allclose(modes[net.variables[3]], batch.mean[:, 1])
    np.testing.assert_allclose(modes[e[0]], values[:, 0])


def chain_with_branch() -> LinearGaussianBayesianNetwork:
    """a → b → c → d and a → e: given {a, c} the query d depends on c only (d ⊥ a | c),
    b on both a and c, e on a only."""
    return LinearGaussianBayesianNetwork([
        GaussianCPD("a", (), (), 1.0, 1.0),
        GaussianCPD("b", ("a",), (0.8,), 0.0, 0.5),
        GaussianCPD("c", ("b",), (-1.2,), 0.3, 0.7),
        GaussianCPD("d", ("c",), (0.5,), -1.0, 0.4),
        GaussianCPD("e", ("a",), (2.0,), 0.0, 1.5),
    ])


def test_gain_pattern_keeps_exactly_the_d_connected_pairs():
    net = chain_with_branch()
    net.query(None, {"a": 0.0, "c": 0.0})
    affine = net._affine[(("b", "d", "e"), ("a", "c"))]
    pattern = gain_pattern(*affine.structure, affine.gain)
    expected = np.array([[True, True],    # b: a and c (its parent and its child)
                         [False, True],   # d: c only (d ⊥ a | c)
                         [True, False]])  # e: a only (e ⊥ c | a)
    np.testing.assert_array_equal(pattern, expected)
    np.testing.assert_array_equal(np.abs(affine.gain) > 1e-9, expected)  # what it drops is noise
    assert affine.sparse_gain is None  # 4 of 6 entries: not worth a sparse product


def long_chain(n: int = 20) -> LinearGaussianBayesianNetwork:
    """x0 → x1 → … → x{n-1} with varied weights."""
    return LinearGaussianBayesianNetwork(
        [GaussianCPD("x0", (), (), 0.5, 1.0)]
        + [GaussianCPD(f"x{i}", (f"x{i - 1}",), (0.9 - 0.07 * i,), 0.1 * i, 0.5 + 0.05 * i)
           for i in range(1, n)])


def test_many_rows_take_the_sparse_product_and_equal_the_textbook():
    net = long_chain()
    joint = net.joint()
    names = list(joint.variables)
    observed = [f"x{i}" for i in range(0, 20, 2)]  # each odd node sees its two neighbours
    rng = np.random.default_rng(11)
    values = rng.normal(0, 2, (3000, len(observed)))  # over the sparse-product threshold
    post = net.query(None, pd.DataFrame(values, columns=observed))
    (affine,) = net._affine.values()
    assert affine.sparse_gain is not None and affine.sparse_gain.nnz == 19  # 2 per row, x19: 1
    q = [names.index(v) for v in post.variables]
    e = [names.index(v) for v in observed]
    for i in (0, 1234, 2999):
        m, c = textbook(joint.mean, joint.covariance, q, e, values[i])
        np.testing.assert_allclose(post.mean[i], m, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(post.covariance, c, rtol=1e-10, atol=1e-10)
    dense = net.query(None, pd.DataFrame(values[:1000], columns=observed))  # under threshold
    np.testing.assert_allclose(post.mean[:1000], dense.mean, atol=1e-12)
    filled = net.predict(pd.DataFrame(values, columns=observed))
    np.testing.assert_allclose(filled[list(post.variables)].to_numpy(), post.mean, atol=1e-12)
    np.testing.assert_array_equal(filled[observed].to_numpy(), values)


def test_dense_gains_stay_dense():
    rng = np.random.default_rng(5)
    net = random_network(rng, 8, density=0.9)  # nearly complete: every pair depends
    e = list(net.variables[:4])
    net.query(None, pd.DataFrame(rng.normal(size=(2000, 4)), columns=e))
    (affine,) = net._affine.values()
    assert affine.sparse_gain is None


def test_map_is_posterior_mean():
    net = examples.gaussian_network()
    mode = net.map_assignment({"x4": 1.0})
    post = net.query(None, {"x4": 1.0})
    assert mode["x4"] == 1.0
    for v, m in zip(post.variables, post.mean, strict=True):
        assert mode[v] == pytest.approx(m)
    # the mode maximises the joint density: small moves lower it
    point = pd.DataFrame([mode])
    best = net.log_density(point)[0]
    for v in post.variables:
        moved = point.copy()
        moved[v] += 1e-3
        assert net.log_density(moved)[0] < best


# -- densities ----------------------------------------------------------------------------
def test_log_density_complete_and_missing():
    rng = np.random.default_rng(5)
    net = random_network(rng, 6)
    joint = net.joint()
    x = net.sample(20, seed=3)[list(net.variables)].to_numpy()
    np.testing.assert_allclose(
        net.log_density(x), multivariate_normal(joint.mean, joint.covariance).logpdf(x),
        rtol=1e-10)
    holes = x.copy()
    holes[0, [1, 4]] = np.nan
    holes[1, :] = np.nan
    holes[2, 0] = np.nan
    got = net.log_density(pd.DataFrame(holes, columns=net.variables))
    keep = [0, 2, 3, 5]
    want = multivariate_normal(joint.mean[keep], joint.covariance[np.ix_(keep, keep)]).logpdf(
        x[0, keep])
    assert got[0] == pytest.approx(want, rel=1e-10)
    assert got[1] == 0.0
    keep = [1, 2, 3, 4, 5]
    assert got[2] == pytest.approx(multivariate_normal(
        joint.mean[keep], joint.covariance[np.ix_(keep, keep)]).logpdf(x[2, keep]), rel=1e-10)
    np.testing.assert_allclose(got[3:], net.log_density(x[3:]))


def test_predict_fills_each_pattern_with_its_posterior_mean():
    net = examples.gaussian_network(mu1=0.5)
    frame = pd.DataFrame({"x1": [np.nan, 1.0, np.nan], "x2": [0.2, np.nan, np.nan],
                          "x4": [1.0, 2.0, np.nan]})
    filled = net.predict(frame)
    assert list(filled.columns) == list(net.variables)
    row0 = net.query(None, {"x2": 0.2, "x4": 1.0})
    for v, m in zip(row0.variables, row0.mean, strict=True):
        assert filled.loc[0, v] == pytest.approx(m)
    prior = net.joint()
    np.testing.assert_allclose(filled.loc[2].to_numpy(), prior.mean, atol=1e-12)
    assert filled.loc[1, "x1"] == 1.0


# -- learning ----------------------------------------------------------------------------
def test_fit_recovers_weights_and_matches_least_squares():
    truth = examples.gaussian_network(mu1=1.0, mu3=-2.0)
    data = truth.sample(50_000, seed=7)
    fitted = fit_gaussian(truth, data)
    for cpd, want in zip(fitted.cpds, truth.cpds, strict=True):
        np.testing.assert_allclose(cpd.weights, want.weights, atol=0.03)
        assert cpd.bias == pytest.approx(want.bias, abs=0.05)
        assert cpd.variance == pytest.approx(want.variance, rel=0.05)
    # exactly the least-squares solution (numpy lstsq on the raw rows)
    design = np.column_stack([np.ones(len(data)), data[["x2", "x3"]].to_numpy()])
    beta, *_ = np.linalg.lstsq(design, data["x4"].to_numpy(), rcond=None)
    x4 = fitted.cpd("x4")
    np.testing.assert_allclose([x4.bias, *x4.weights], beta, rtol=1e-9, atol=1e-9)
    resid = data["x4"].to_numpy() - design @ beta
    assert x4.variance == pytest.approx(resid.var(), rel=1e-9)
    unbiased = truth.fit(data, variance="unbiased").cpd("x4")
    assert unbiased.variance == pytest.approx(resid.var() * len(data) / (len(data) - 3))


def test_statistics_are_additive_over_chunks():
    data = examples.gaussian_network(mu1=1e6).sample(3000, seed=1)  # large means: Chan's update
    whole = gaussian_statistics(data)
    parts = gaussian_statistics([data.iloc[:1000], data.iloc[1000:1001], data.iloc[1001:]])
    assert parts.rows == whole.rows
    np.testing.assert_allclose(parts.mean, whole.mean, rtol=1e-12)
    np.testing.assert_allclose(parts.scatter, whole.scatter, rtol=1e-8)


def test_dask_frame_fits_like_pandas():
    dd = pytest.importorskip("dask.dataframe")
    truth = examples.gaussian_network()
    data = truth.sample(4000, seed=2)
    local = fit_gaussian(truth, data)
    distributed = fit_gaussian(truth, dd.from_pandas(data, npartitions=4))
    for a, b in zip(local.cpds, distributed.cpds, strict=True):
        np.testing.assert_allclose([a.bias, *a.weights, a.variance],
                                   [b.bias, *b.weights, b.variance], rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_structure_search_learns_the_lecture_network(seed):
    truth = examples.gaussian_network()
    data = truth.sample(20_000, seed=seed)
    learned, result = learn_gaussian(data)
    scorer = GaussianScorer(data)
    # the search reaches at least the true DAG's BIC; BIC's 1/2 log n penalty admits a spurious
    # arc with probability ~2e-3 per test, and sample 1 has one (x2 -> x3, partial r = 0.023)
    assert result.score >= scorer.total(truth.dag) - 1e-9
    assert shd(learned.dag, truth.dag) <= (0 if seed == 0 else 2)
    # the shared search takes the Gaussian score by name
    again = tabu_search(data, score="bic-g")
    assert again.score == pytest.approx(result.score)
    assert scorer.total(truth.dag) > scorer.total({v: () for v in truth.variables})


def test_bic_matches_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=400)
    b = 0.5 * a + rng.normal(size=400)
    s = GaussianScorer({"a": a, "b": b})
    beta = np.polyfit(a, b, 1)
    var = np.mean((b - np.polyval(beta, a)) ** 2)
    want = -200 * (np.log(2 * np.pi * var) + 1) - 0.5 * np.log(400) * 3
    assert s.local("b", ("a",)) == pytest.approx(want, rel=1e-10)


# -- files ----------------------------------------------------------------------------
def test_json_round_trip(tmp_path):
    net = examples.gaussian_network(mu1=0.3)
    path = write_gaussian_json(net, tmp_path / "g.json")
    spec = json.loads(path.read_text())
    assert spec["nodes"][1] == {"name": "x2", "parents": ["x1"], "weights": [1.0],
                                "bias": 0.0, "variance": 0.25}
    back = read_gaussian_json(path)
    assert back.cpds == net.cpds


def test_json_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"nodes": [\n  {"name": "a",}\n]}')
    with pytest.raises(ParseError, match=r"bad\.json, line 2"):
        read_gaussian_json(bad)
    neg = tmp_path / "neg.json"
    neg.write_text(json.dumps({"nodes": [{"name": "a", "variance": -1}]}))
    with pytest.raises(ParseError, match=r"neg\.json.*'a' has variance -1"):
        read_gaussian_json(neg)


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize(("cpds", "message"), [
    ([GaussianCPD("a", ("b",), (1.0,)), GaussianCPD("b", ("a",), (1.0,))], "cycle"),
    ([GaussianCPD("a", ("z",), (1.0,))], "unknown parents"),
    ([GaussianCPD("a"), GaussianCPD("a")], "defined twice"),
])
def test_invalid_networks(cpds, message):
    with pytest.raises(ModelError, match=message):
        LinearGaussianBayesianNetwork(cpds)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"variance": 0.0}, "positive"),
    ({"variance": float("nan")}, "positive"),
    ({"parents": ("b",), "weights": ()}, "1 parents"),
    ({"bias": float("inf")}, "non-finite"),
])
def test_invalid_nodes(kwargs, message):
    with pytest.raises(ModelError, match=message):
        GaussianCPD("a", **kwargs)


def test_bad_evidence_and_data():
    net = examples.gaussian_network()
    with pytest.raises(ModelError, match="unknown variables"):
        net.query(None, {"x9": 1.0})
    with pytest.raises(ModelError, match="both queried and observed"):
        net.query(["x1"], {"x1": 1.0})
    with pytest.raises(ModelError, match="NaN"):
        net.query(None, {"x1": float("nan")})
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    collinear = pd.DataFrame({"a": a, "b": 2 * a, "c": a + rng.normal(size=100)})
    with pytest.raises(ModelError, match=r"parents \['a', 'b'\] of 'c' are collinear"):
        fit_gaussian({"a": (), "b": (), "c": ("a", "b")}, collinear)
    with pytest.raises(ModelError, match="deterministic"):
        fit_gaussian({"a": (), "b": ("a",)}, collinear[["a", "b"]])
    text = pd.DataFrame({"a": ["1.0", "oops"], "b": ["2", "3"]})
    with pytest.raises(ModelError, match="'oops'"):
        fit_gaussian({"a": (), "b": ()}, text)


def test_gzipped_json_round_trip(tmp_path):
    net = examples.gaussian_network(mu1=0.3)
    back = read_gaussian_json(write_gaussian_json(net, tmp_path / "g.json.gz"))
    assert back.cpds == net.cpds


def test_batched_means_equal_the_textbook_on_random_networks_and_query_subsets():
    """Sparse or dense, with variables marginalised out (a query subset): 1,500 rows of random
    evidence on sparse random DAGs agree with the covariance-form formula."""
    rng = np.random.default_rng(0)
    sparse = 0
    for _ in range(20):
        n = int(rng.integers(5, 30))
        net = random_network(rng, n, density=1.5 / n)
        order = list(rng.permutation(net.variables))
        k = int(rng.integers(1, n))
        evidence, rest = order[:k], order[k:]
        query = rest[: int(rng.integers(1, len(rest) + 1))]
        x = rng.normal(0, 2, (1500, k))
        post = net.query(query, pd.DataFrame(x, columns=evidence))
        (affine,) = net._affine.values()
        sparse += affine.sparse_gain is not None
        joint = net.joint()
        at = {v: i for i, v in enumerate(joint.variables)}
        q, e = [at[v] for v in query], [at[v] for v in evidence]
        cov = joint.covariance
        expected = joint.mean[q] + (cov[np.ix_(q, e)] @ np.linalg.solve(
            cov[np.ix_(e, e)], (x - joint.mean[e]).T)).T
        np.testing.assert_allclose(post.mean, expected, rtol=1e-9, atol=1e-9)
    assert sparse >= 3  # the sparse path was taken on some of them
