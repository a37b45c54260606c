"""HiddenMarkovModel against brute-force enumeration and the exact engine on its factor graph;
Baum–Welch's monotone log-likelihood, missing data, sampling, recovery, JSON and bad input."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from genlab.pgm.errors import ModelError, ParseError, ZeroEvidenceError
from genlab.pgm.inference import ExactInference
from genlab.pgm.io.hmm_json import hmm_from_dict, hmm_to_dict, read_hmm_json, write_hmm_json
from genlab.pgm.models.hmm import HiddenMarkovModel, emission_log_shift
from genlab.pgm.models.hmm_emissions import ObservationError
from genlab.pgm.models.hmm_fit import baum_welch, fit_hmm

SYMBOLS = ("a", "b", "c")


def random_categorical(rng: np.random.Generator, k: int = 3, m: int = 3) -> HiddenMarkovModel:
    return HiddenMarkovModel.categorical(rng.dirichlet(np.ones(k)),
                                         rng.dirichlet(np.ones(k), size=k),
                                         rng.dirichlet(np.ones(m), size=k), SYMBOLS[:m])


def random_gaussian(rng: np.random.Generator, covariance_type: str, k: int = 2, d: int = 2,
                    prior: float = 1e-2) -> HiddenMarkovModel:
    means = rng.normal(scale=2.0, size=(k, d))
    if covariance_type == "diag":
        cov = rng.uniform(0.5, 2.0, size=(k, d))
    else:
        root = rng.normal(size=(k, d, d))
        cov = root @ np.transpose(root, (0, 2, 1)) + 0.5 * np.eye(d)
    return HiddenMarkovModel.gaussian(rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k), k),
                                      means, cov, covariance_type, prior)


def emission_log(model: HiddenMarkovModel, x: object, k: int) -> float:
    """log p(x | z = k) written out directly (0 for a missing observation)."""
    em = model.emission
    if model.kind == "categorical":
        if x is None:
            return 0.0
        return math.log(em.probabilities[k, em.symbols.index(x)])  # type: ignore[attr-defined]
    row = np.atleast_1d(np.asarray(x, dtype=float))
    seen = ~np.isnan(row)
    if not seen.any():
        return 0.0
    cov = em.covariances[k]  # type: ignore[attr-defined]
    cov = np.diag(cov) if em.covariance_type == "diag" else cov  # type: ignore[attr-defined]
    return float(multivariate_normal(em.means[k][seen], cov[np.ix_(seen, seen)]).logpdf(row[seen]))  # type: ignore[attr-defined]


def brute(model: HiddenMarkovModel, seq: list) -> tuple[float, np.ndarray, list[int], float]:
    """log P(x), posteriors, MAP path and its log P(path, x) by enumerating every path."""
    k, t = model.n_states, len(seq)
    log_e = np.array([[emission_log(model, x, s) for s in range(k)] for x in seq])
    paths = list(itertools.product(range(k), repeat=t))
    scores = np.empty(len(paths))
    for i, z in enumerate(paths):
        s = math.log(model.start[z[0]]) + log_e[0, z[0]]
        for j in range(1, t):
            s += math.log(model.transition[z[j - 1], z[j]]) + log_e[j, z[j]]
        scores[i] = s
    log_z = float(np.logaddexp.reduce(scores))
    weights = np.exp(scores - log_z)
    post = np.zeros((t, k))
    for w, z in zip(weights, paths, strict=True):
        post[np.arange(t), list(z)] += w
    best = int(scores.argmax())
    return log_z, post, list(paths[best]), float(scores[best])


def check_against_brute(model: HiddenMarkovModel, seqs: list[list]) -> None:
    log_lik = model.log_likelihood(seqs)
    posts = model.posteriors(seqs)
    decoded = model.viterbi(seqs)
    for i, seq in enumerate(seqs):
        log_z, post, path, log_p = brute(model, seq)
        assert log_lik[i] == pytest.approx(log_z, rel=1e-10, abs=1e-10)
        np.testing.assert_allclose(posts[i], post, atol=1e-10)
        assert decoded.paths[i].tolist() == path
        assert decoded.log_probability[i] == pytest.approx(log_p, rel=1e-10, abs=1e-10)


def test_categorical_matches_brute_force_with_missing_and_ragged_lengths() -> None:
    rng = np.random.default_rng(0)
    model = random_categorical(rng)
    seqs = [["a", "b", "c", "a", "b"], ["c"], ["b", None, "a", "c"], ["a", "a", None, None, "c"],
            ["b", "c"]]
    check_against_brute(model, seqs)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_gaussian_matches_brute_force(covariance_type: str) -> None:
    rng = np.random.default_rng(1)
    model = random_gaussian(rng, covariance_type, k=3, d=2)
    seqs = [rng.normal(size=(5, 2)), rng.normal(size=(2, 2)), rng.normal(size=(4, 2))]
    seqs[0][2] = np.nan  # a whole missing row
    if covariance_type == "diag":
        seqs[2][1, 0] = np.nan  # one missing coordinate: diag marginalises it
    check_against_brute(model, [list(s) for s in seqs])


def test_exact_engine_on_the_lowered_graph_agrees() -> None:
    rng = np.random.default_rng(2)
    model = random_categorical(rng, k=3, m=3)
    t = 6
    graph = model.to_factor_graph(t)
    assert graph.variables[:t] == tuple(f"z{i}" for i in range(t))
    eng = ExactInference(graph)
    seqs = [["a", "c", None, "b", "b", "a"], ["c", "c", "a", "b", "a", "c"]]
    posts = model.posteriors(seqs)
    decoded = model.viterbi(seqs)
    for seq, post, path, log_p in zip(seqs, posts, decoded.paths, decoded.log_probability,
                                      strict=True):
        evidence = {f"x{i}": x for i, x in enumerate(seq) if x is not None}
        assert eng.log_partition(evidence) == pytest.approx(model.log_likelihood([seq])[0],
                                                            rel=1e-10)
        m = eng.marginals(evidence)
        np.testing.assert_allclose(np.array([m[f"z{i}"] for i in range(t)]), post, atol=1e-10)
        # MAP over the hidden states alone: an unobserved x_t would be maximised too in the
        # T-step graph, so use the graph lowered with the sequence (missing steps: no factor)
        on_seq = ExactInference(model.to_factor_graph(sequence=seq))
        best = on_seq.map_assignment()
        assert [best.assignment[f"z{i}"] for i in range(t)] == path.tolist()
        assert best.log_probability + emission_log_shift(model, seq) == pytest.approx(
            log_p, rel=1e-10)
        if None not in seq:
            best = eng.map_assignment(evidence)
            assert [best.assignment[f"z{i}"] for i in range(t)] == path.tolist()
            assert best.log_probability == pytest.approx(log_p, rel=1e-10)
    # batched evidence rows (the engine's batch axis) give the same posteriors
    full = [list(rng.choice(SYMBOLS, size=t)) for _ in range(4)]
    rows = {f"x{i}": [s[i] for s in full] for i in range(t)}
    batched = eng.marginals(rows)
    for j, post in enumerate(model.posteriors(full)):
        np.testing.assert_allclose(np.array([batched[f"z{i}"][j] for i in range(t)]), post,
                                   atol=1e-10)


def test_gaussian_lowering_with_the_sequence() -> None:
    rng = np.random.default_rng(3)
    model = random_gaussian(rng, "full", k=3, d=2)
    seq = list(rng.normal(size=(5, 2)))
    seq[1] = np.array([np.nan, np.nan])
    graph = model.to_factor_graph(sequence=seq)
    eng = ExactInference(graph)
    log_z = eng.log_partition() + emission_log_shift(model, seq)
    assert log_z == pytest.approx(model.log_likelihood([seq])[0], rel=1e-10)
    m = eng.marginals()
    np.testing.assert_allclose(np.array([m[f"z{i}"] for i in range(5)]),
                               model.posteriors([seq])[0], atol=1e-10)
    assert [eng.map_assignment().assignment[f"z{i}"] for i in range(5)] == \
        model.viterbi([seq]).paths[0].tolist()


def test_missing_observations_equal_marginalising_them_out() -> None:
    rng = np.random.default_rng(4)
    model = random_categorical(rng)
    seq = ["b", None, "c", None, "a"]
    holes = [i for i, x in enumerate(seq) if x is None]
    completions = []
    for fill in itertools.product(SYMBOLS, repeat=len(holes)):
        full = list(seq)
        for i, s in zip(holes, fill, strict=True):
            full[i] = s
        completions.append(full)
    log_liks = model.log_likelihood(completions)
    assert model.log_likelihood([seq])[0] == pytest.approx(np.logaddexp.reduce(log_liks),
                                                           rel=1e-12)
    weights = np.exp(log_liks - np.logaddexp.reduce(log_liks))
    mixed = sum(w * p for w, p in zip(weights, model.posteriors(completions), strict=True))
    np.testing.assert_allclose(model.posteriors([seq])[0], mixed, atol=1e-12)


@pytest.mark.parametrize("kind", ["categorical", "diag", "full"])
def test_baum_welch_log_likelihood_never_decreases(kind: str) -> None:
    rng = np.random.default_rng(5)
    truth = random_categorical(rng) if kind == "categorical" else \
        random_gaussian(rng, kind, k=2, d=2, prior=0.0)
    drawn = truth.sample(20, rng.integers(3, 30, size=20), seed=6)
    data = [np.array(o, dtype=object if kind == "categorical" else float)
            for o in drawn.observations]
    for o in data[:5]:  # some missing observations
        o[1] = None if kind == "categorical" else np.nan
    start = random_categorical(rng) if kind == "categorical" else \
        random_gaussian(rng, kind, k=2, d=2, prior=0.0)
    fit = baum_welch(start, data, max_iter=40, tol=0.0)
    history = np.array(fit.monitor.history)
    assert len(history) >= 10
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
    assert fit.log_likelihood == pytest.approx(fit.model.score(data), rel=1e-12)


def test_monitor_stops_at_tolerance_and_max_iter() -> None:
    rng = np.random.default_rng(7)
    model = random_categorical(rng)
    data = model.sample(30, 20, seed=1).observations
    capped = baum_welch(model, data, max_iter=3, tol=0.0)
    assert capped.monitor.iterations == 4  # three E-steps + the returned model's score
    loose = baum_welch(model, data, max_iter=500, tol=1e-2)
    assert loose.monitor.converged and loose.monitor.iterations < 500
    assert loose.monitor.history[-1] - loose.monitor.history[-2] < 1e-2


def test_sampling_statistics() -> None:
    model = HiddenMarkovModel.categorical([0.2, 0.8], [[0.9, 0.1], [0.3, 0.7]],
                                          [[0.5, 0.4, 0.1], [0.1, 0.1, 0.8]], SYMBOLS)
    drawn = model.sample(4000, 25, seed=11)
    again = model.sample(4000, 25, seed=11)
    assert all(np.array_equal(a, b) for a, b in zip(drawn.states, again.states, strict=True))
    states = np.array(drawn.states)
    obs = np.array(drawn.observations)
    assert abs((states[:, 0] == 1).mean() - 0.8) < 0.02
    pairs = np.zeros((2, 2))
    np.add.at(pairs, (states[:, :-1].ravel(), states[:, 1:].ravel()), 1)
    np.testing.assert_allclose(pairs / pairs.sum(axis=1, keepdims=True), model.transition,
                               atol=0.01)
    for k in range(2):
        freq = [(obs[states == k] == s).mean() for s in SYMBOLS]
        np.testing.assert_allclose(freq, model.emission.probabilities[k], atol=0.01)  # type: ignore[attr-defined]
    gauss = HiddenMarkovModel.gaussian([1.0, 0.0], [[0.5, 0.5], [0.5, 0.5]],
                                       [[0.0, 0.0], [3.0, -1.0]],
                                       [[[1.0, 0.6], [0.6, 2.0]], [[0.5, 0.0], [0.0, 0.5]]])
    g = gauss.sample(2000, 20, seed=3)
    x, z = np.concatenate(g.observations), np.concatenate(g.states)
    np.testing.assert_allclose(np.cov(x[z == 0].T), gauss.emission.covariances[0], atol=0.1)  # type: ignore[attr-defined]
    np.testing.assert_allclose(x[z == 1].mean(axis=0), [3.0, -1.0], atol=0.05)


def _best_permutation(a: np.ndarray, b: np.ndarray) -> tuple[int, ...]:
    return min(itertools.permutations(range(len(a))), key=lambda p: np.abs(a[list(p)] - b).sum())


def test_fit_recovers_categorical_parameters() -> None:
    truth = HiddenMarkovModel.categorical([0.7, 0.3], [[0.85, 0.15], [0.2, 0.8]],
                                          [[0.7, 0.2, 0.1], [0.05, 0.25, 0.7]], SYMBOLS)
    data = truth.sample(300, 60, seed=1).observations
    fit = fit_hmm(data, 2, restarts=3, seed=0, tol=1e-6)
    em = fit.model.emission.probabilities  # type: ignore[attr-defined]
    perm = list(_best_permutation(em, truth.emission.probabilities))  # type: ignore[attr-defined]
    np.testing.assert_allclose(em[perm], truth.emission.probabilities, atol=0.04)  # type: ignore[attr-defined]
    np.testing.assert_allclose(fit.model.transition[np.ix_(perm, perm)], truth.transition,
                               atol=0.04)
    assert fit.model.emission.symbols == SYMBOLS  # type: ignore[attr-defined]


def test_fit_recovers_gaussian_parameters_and_restarts_are_seeded() -> None:
    truth = HiddenMarkovModel.gaussian([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]],
                                       [[-2.0], [2.0]], [[0.5], [1.0]], "diag")
    data = truth.sample(100, 50, seed=2).observations
    fit = fit_hmm(data, 2, kind="gaussian", covariance_type="diag", restarts=2, seed=5)
    again = fit_hmm(data, 2, kind="gaussian", covariance_type="diag", restarts=2, seed=5)
    assert fit.restarts == again.restarts
    means = fit.model.emission.means[:, 0]  # type: ignore[attr-defined]
    perm = list(np.argsort(means))
    np.testing.assert_allclose(means[perm], [-2.0, 2.0], atol=0.1)
    np.testing.assert_allclose(fit.model.emission.covariances[perm, 0], [0.5, 1.0], atol=0.1)  # type: ignore[attr-defined]
    np.testing.assert_allclose(fit.model.transition[np.ix_(perm, perm)], truth.transition,
                               atol=0.03)


@pytest.mark.parametrize("make", ["categorical", "diag", "full"])
def test_json_round_trip(tmp_path: Path, make: str) -> None:
    rng = np.random.default_rng(8)
    model = random_categorical(rng) if make == "categorical" else random_gaussian(rng, make)
    path = write_hmm_json(model, tmp_path / "m.json")
    back = read_hmm_json(path)
    assert hmm_to_dict(back) == hmm_to_dict(model)
    data = model.sample(3, 7, seed=0).observations
    np.testing.assert_array_equal(back.log_likelihood(data), model.log_likelihood(data))
    assert json.loads(path.read_text())["kind"] == model.kind


def test_json_errors_name_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "categorical",\n "start": [1.0,]\n}')
    with pytest.raises(ParseError, match=r"bad.json, line 2: invalid JSON"):
        read_hmm_json(bad)
    base = {"kind": "categorical", "symbols": ["a", "b"], "start": [0.5, 0.5],
            "transition": [[0.5, 0.5], [0.2, 0.7]], "emission": [[1, 0], [0, 1]]}
    bad.write_text(json.dumps(base))
    with pytest.raises(ParseError,
                       match=r"bad.json.*transition\[1\] is not stochastic: it sums to 0\.9"):
        read_hmm_json(bad)
    with pytest.raises(ModelError, match="unknown key"):
        hmm_from_dict({**base, "emmission": []})
    with pytest.raises(ModelError, match="kind"):
        hmm_from_dict({**base, "kind": "poisson"})


def test_bad_input_messages() -> None:
    model = HiddenMarkovModel.categorical([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]],
                                          [[0.5, 0.5], [0.5, 0.5]], ["a", "b"])
    with pytest.raises(ObservationError, match=r"sequence 1, step 2: unknown symbol 'z'"):
        model.log_likelihood([["a"], ["a", "b", "z"]])
    with pytest.raises(ModelError, match="sequence 0 is empty"):
        model.posteriors([[]])
    with pytest.raises(ModelError, match=r"emission\[1\] is not stochastic: it sums to"):
        HiddenMarkovModel.categorical([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]],
                                      [[0.5, 0.5], [0.5, 0.6]])
    with pytest.raises(ModelError, match="start has non-finite"):
        HiddenMarkovModel.categorical([np.nan, 1.0], [[0.5, 0.5], [0.5, 0.5]], [[1.0], [1.0]])
    with pytest.raises(ModelError, match=r"covariances\[1\] is not positive definite"):
        HiddenMarkovModel.gaussian([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.0, 0], [1, 1]],
                                   [np.eye(2), [[1.0, 2.0], [2.0, 1.0]]], "full")
    with pytest.raises(ModelError, match=r"covariances\[0\] is not positive definite"):
        HiddenMarkovModel.gaussian([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.0], [1]],
                                   [[0.0], [1.0]], "diag")
    gauss = HiddenMarkovModel.gaussian([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.0, 0], [1, 1]],
                                       [np.eye(2), np.eye(2)], "full")
    with pytest.raises(ObservationError, match=r"step 1: observation .* infinite"):
        gauss.log_likelihood([np.array([[0.0, 0.0], [np.inf, 1.0]])])
    with pytest.raises(ObservationError, match="some but not all"):
        gauss.log_likelihood([np.array([[0.0, np.nan]])])
    with pytest.raises(ModelError, match="length 1"):
        baum_welch(model, [["a"], ["b"]])
    with pytest.raises(ModelError, match="T >= 1"):
        model.to_factor_graph(0)
    with pytest.raises(ModelError, match="list of sequences"):
        model.log_likelihood(np.array(["a", "b"]))
    impossible = HiddenMarkovModel.categorical([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]],
                                               [[1.0, 0.0], [0.0, 1.0]], ["a", "b"])
    assert impossible.log_likelihood([["a", "b"], ["a"]])[0] == -np.inf
    with pytest.raises(ZeroEvidenceError, match=r"sequence\(s\) \[0\]"):
        impossible.posteriors([["a", "b"], ["a"]])


def test_batch_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(9)
    model = random_gaussian(rng, "diag", k=3, d=1)
    seqs = [rng.normal(size=n) for n in (7, 1, 12, 3, 12)]
    together = model.posteriors(seqs)
    paths = model.viterbi(seqs).paths
    for i, s in enumerate(seqs):
        np.testing.assert_allclose(together[i], model.posteriors([s])[0], atol=1e-12)
        assert paths[i].tolist() == model.viterbi([s]).paths[0].tolist()


def test_posterior_picture(tmp_path: Path) -> None:
    from genlab.pgm.models.hmm_plot import draw_posterior

    model = HiddenMarkovModel.gaussian([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[-1.0], [1.0]],
                                       [[0.5], [0.5]], "diag")
    drawn = model.sample(1, 40, seed=0)
    path = draw_posterior(model, drawn.observations[0], tmp_path / "post.png",
                          true_states=drawn.states[0])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_docstring_examples() -> None:
    import doctest

    from genlab.pgm.models import hmm

    assert doctest.testmod(hmm).failed == 0


def test_concatenated_input_equals_a_list_of_sequences() -> None:
    rng = np.random.default_rng(10)
    model = random_categorical(rng)
    drawn = model.sample(6, rng.integers(1, 9, size=6), seed=2)
    x = np.concatenate(drawn.observations)
    lengths = [len(o) for o in drawn.observations]
    batch = model.prepare(x, lengths)
    np.testing.assert_array_equal(model.log_likelihood(batch),
                                  model.log_likelihood(drawn.observations))
    with pytest.raises(ModelError, match="lengths add up to"):
        model.prepare(x, [*lengths, 1])
    bad = x.copy()
    bad[lengths[0] + 1] = "z"
    with pytest.raises(ObservationError, match="sequence 1, step 1"):
        model.prepare(bad, lengths)


def test_gaussian_observation_that_is_not_a_number() -> None:
    model = HiddenMarkovModel.gaussian([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]], [[0.0], [1.0]],
                                       [[1.0], [1.0]], "diag")
    with pytest.raises(ObservationError, match="sequence 1, step 2: observation is not a"):
        model.log_likelihood([[0.1, 0.2], [0.3, None, "x"]])
    # None is missing: a missing last step sums the transition row to one
    assert model.log_likelihood([[0.1, None]])[0] == pytest.approx(
        model.log_likelihood([[0.1]])[0], rel=1e-12)


def reference_viterbi(model: HiddenMarkovModel, seq: list) -> tuple[list[int], float]:
    """One sequence's MAP path by a plain log-space recursion (−inf allowed), first maximiser."""
    batch = model.prepare([seq])
    log_b = np.asarray(model.emission.log_likelihood(batch.flat))
    with np.errstate(divide="ignore"):
        log_a, log_s = np.log(model.transition), np.log(model.start)
    delta = log_s + log_b[0]
    back = []
    for t in range(1, len(log_b)):
        scores = delta[:, None] + log_a  # (previous, next)
        back.append(scores.argmax(axis=0))
        delta = scores.max(axis=0) + log_b[t]
    path = [int(delta.argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1], float(delta.max())


@pytest.mark.parametrize("k", [2, 4, 6, 9])
@pytest.mark.parametrize("equal", [True, False])
def test_viterbi_kernels_match_a_plain_recursion(k: int, equal: bool) -> None:
    """Every forward strategy (BLAS selection while finite, broadcast with −inf, pairwise or
    reduced max; equal or ragged lengths) gives the plain recursion's path and score."""
    rng = np.random.default_rng(20 + k)
    transition = rng.dirichlet(np.ones(k), size=k)
    models = [HiddenMarkovModel.categorical(rng.dirichlet(np.ones(k)), transition,
                                            rng.dirichlet(np.ones(3), size=k), SYMBOLS)]
    sparse = transition.copy()
    sparse[:, 0] = 0.0  # state 0 only at the start: log A has −inf, the broadcast path
    sparse /= sparse.sum(axis=1, keepdims=True)
    models.append(models[0].replace(transition=sparse))
    lengths = [9] * 7 if equal else [9, 1, 5, 9, 3, 7, 2]
    for model in models:
        seqs = [list(rng.choice(SYMBOLS, size=n)) for n in lengths]
        decoded = model.viterbi(seqs)
        for i, seq in enumerate(seqs):
            path, log_p = reference_viterbi(model, seq)
            assert decoded.paths[i].tolist() == path
            assert decoded.log_probability[i] == pytest.approx(log_p, rel=1e-12)


def test_forward_backward_survives_underflow_between_normalisations() -> None:
    """Switching states costs 1e-30 a step here, so α shrinks far below 1e-150 between the
    lazy normalisations: the kernel notices, normalises every step instead and stays exact."""
    from genlab.pgm.models import hmm_scan

    eps = 1e-30
    model = HiddenMarkovModel.gaussian([0.5, 0.5], [[1 - eps, eps], [eps, 1 - eps]],
                                       [[-1.0], [1.0]], [[0.01], [0.01]], "diag")
    seq = np.array([-1.0, 1.0] * 10)
    batch = model.prepare([seq, seq[:5]])
    b, _ = model.emission.scaled_likelihood(batch.packed)
    _, lazy_scale = hmm_scan._forward(batch.packing, model.start, model.transition, b,
                                      hmm_scan._RENORM_EVERY)
    assert lazy_scale.min() < hmm_scan._TINY  # the fallback really runs
    log_b = np.asarray(model.emission.log_likelihood(seq[:, None]))
    log_alpha = np.log(model.start) + log_b[0]
    for t in range(1, len(seq)):
        log_alpha = np.logaddexp.reduce(log_alpha[:, None] + np.log(model.transition),
                                        axis=0) + log_b[t]
    expected = float(np.logaddexp.reduce(log_alpha))
    assert model.log_likelihood(batch)[0] == pytest.approx(expected, rel=1e-12)
    post = model.posteriors(batch)
    np.testing.assert_allclose(post[0].sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(post[0].argmax(axis=1), (seq > 0).astype(int))


def test_results_per_sequence_are_a_lazy_list() -> None:
    rng = np.random.default_rng(11)
    model = random_categorical(rng)
    seqs = [list(rng.choice(SYMBOLS, size=n)) for n in (4, 1, 6)]
    paths = model.viterbi(seqs).paths
    posts = model.posteriors(seqs)
    assert len(paths) == 3 and [len(p) for p in paths] == [4, 1, 6]
    assert paths[-1].tolist() == paths[2].tolist() == list(paths)[2].tolist()
    assert [p.tolist() for p in paths[1:]] == [paths[1].tolist(), paths[2].tolist()]
    np.testing.assert_array_equal(np.concatenate(paths), paths.flat)
    assert posts[1].shape == (1, 3) and np.concatenate(posts).shape == (11, 3)
    with pytest.raises(IndexError):
        paths[3]


def test_start_vector_must_sum_to_one():
    """A 1-D distribution's sum is 0-d: checked too (it once slipped through)."""
    with pytest.raises(ModelError, match=r"start is not stochastic: it sums to 1\.1"):
        HiddenMarkovModel.categorical([0.5, 0.6], [[1, 0], [0, 1]], [[1, 0], [0, 1]])


def test_gzipped_json_round_trip(tmp_path):
    """write_hmm_json gzips a .gz name; read_hmm_json must read it back (it once could not)."""
    model = HiddenMarkovModel.categorical([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]],
                                          [[0.5, 0.5], [0.9, 0.1]], symbols=["H", "T"])
    back = read_hmm_json(write_hmm_json(model, tmp_path / "coin.json.gz"))
    assert hmm_to_dict(back) == hmm_to_dict(model)
