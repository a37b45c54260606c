"""MarkovChain: closed forms, agreement with the exact engine, fitting, sparse counts, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from genlab.pgm import log_partition, map_assignment, marginals
from genlab.pgm.errors import ModelError
from genlab.pgm.models.markov import MarkovChain


def two_state(a: float, b: float) -> MarkovChain:
    return MarkovChain([[1 - a, a], [b, 1 - b]], initial=[1.0, 0.0], states=["s", "t"])


def random_chain(order: int, n_states: int, seed: int) -> MarkovChain:
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.ones(n_states), size=(n_states,) * order)
    initial = rng.dirichlet(np.ones(n_states**order)).reshape((n_states,) * order)
    return MarkovChain(table, initial)


def test_two_state_stationary_and_n_step_closed_form() -> None:
    a, b = 0.2, 0.45
    chain = two_state(a, b)
    np.testing.assert_allclose(chain.stationary(), np.array([b, a]) / (a + b))
    for n in (0, 1, 2, 7):
        lam = (1 - a - b) ** n
        expected = (np.array([[b, a], [b, a]]) + lam * np.array([[a, -a], [-b, b]])) / (a + b)
        np.testing.assert_allclose(chain.n_step(n), expected, atol=1e-12)
    # started in state 0: p(x_t) is row 0 of P^(t-1)
    np.testing.assert_allclose(chain.marginal(5), chain.n_step(4)[0])


@pytest.mark.parametrize("order,n_states", [(1, 3), (2, 3), (3, 2)])
def test_exact_engine_agrees_with_closed_forms(order: int, n_states: int) -> None:
    chain = random_chain(order, n_states, seed=order * 10 + n_states)
    length = order + 4
    graph = chain.to_factor_graph(length)
    assert abs(float(log_partition(graph))) < 1e-10  # a directed model: Z = 1
    engine_marginals = marginals(graph)
    for t in range(1, length + 1):
        np.testing.assert_allclose(engine_marginals[f"x{t}"], chain.marginal(t), atol=1e-10)
    seq = chain.sample(length, seed=3)[0]
    evidence = {f"x{t + 1}": int(s) for t, s in enumerate(seq)}
    assert float(log_partition(graph, evidence)) == pytest.approx(chain.log_likelihood(seq))
    # MAP of the engine = the best sequence by brute force over the closed-form likelihood
    best = max(itertools.product(range(n_states), repeat=length),
               key=lambda x: chain.log_likelihood(np.array(x)))
    result = map_assignment(graph)
    assert tuple(result.assignment[f"x{t}"] for t in range(1, length + 1)) == best
    assert result.log_probability == pytest.approx(chain.log_likelihood(np.array(best)))


def test_order_two_stationary_is_the_limit_of_n_step() -> None:
    chain = random_chain(2, 3, seed=5)
    pi = chain.stationary()  # joint of two consecutive states
    assert pi.shape == (3, 3)
    assert pi.sum() == pytest.approx(1.0)
    lifted = chain.lifted()
    np.testing.assert_allclose(pi.reshape(-1) @ lifted, pi.reshape(-1), atol=1e-12)
    # aperiodic and irreducible: every row of the n-step table tends to the one-state marginal
    limit = chain.n_step(200).reshape(-1, 3)
    np.testing.assert_allclose(limit, np.tile(pi.sum(axis=0), (9, 1)), atol=1e-9)


def test_log_likelihood_is_the_sum_of_the_conditionals() -> None:
    chain = random_chain(2, 3, seed=1)
    x = np.array([0, 2, 1, 1, 0, 2, 2])
    by_hand = np.log(chain.initial[0, 2]) + sum(
        np.log(chain.transition[x[t - 2], x[t - 1], x[t]]) for t in range(2, len(x)))
    assert chain.log_likelihood(x) == pytest.approx(by_hand)
    assert np.sum(chain.log_conditionals(x)) == pytest.approx(by_hand)
    steps = [chain.next_distribution(x[t - 2 : t][None])[0, x[t]] for t in range(2, len(x))]
    assert np.sum(chain.log_conditionals(x)[2:]) == pytest.approx(np.sum(np.log(steps)))


def test_fit_recovers_the_table_from_many_samples() -> None:
    truth = random_chain(1, 3, seed=2)
    data = truth.sample(3000, n=20, seed=11)
    fitted = MarkovChain.fit(list(data), order=1, states=3, alpha=0.0)
    np.testing.assert_allclose(fitted.transition, truth.transition, atol=0.02)
    truth2 = random_chain(2, 2, seed=4)
    fitted2 = MarkovChain.fit(list(truth2.sample(3000, n=20, seed=1)), order=2, states=2)
    np.testing.assert_allclose(fitted2.transition, truth2.transition, atol=0.02)


def test_add_alpha_is_the_dirichlet_posterior_mean() -> None:
    chain = MarkovChain.fit(["abab", "abba"], order=1, alpha=0.5)
    assert chain.states == ("a", "b")
    # transitions: a->b 3 times, b->a 2 times, b->b once
    np.testing.assert_allclose(chain.transition, [[0.5 / 4, 3.5 / 4], [2.5 / 4, 1.5 / 4]])
    assert chain.log_likelihood("ab") == pytest.approx(np.log(4.5 / 9) + np.log(3.5 / 4))


@pytest.mark.parametrize("smoothing", ["add-alpha", "kneser-ney"])
def test_fitted_chain_is_a_distribution(smoothing: str) -> None:
    """Rows of the densified table sum to 1, and the sparse scores equal the dense ones."""
    rng = np.random.default_rng(0)
    data = [rng.integers(0, 4, size=n) ** 2 % 4 for n in (30, 50, 7)]  # 3 of 4 states seen
    chain = MarkovChain.fit(data, order=3, states=4, alpha=0.1, smoothing=smoothing)
    np.testing.assert_allclose(chain.transition.sum(axis=-1), 1.0, atol=1e-12)
    assert chain.initial.sum() == pytest.approx(1.0)
    assert chain.transition.min() > 0  # smoothing leaves no zero
    x = np.array([1, 0, 3, 2, 1, 1, 0])
    dense = MarkovChain(chain.transition, chain.initial)
    assert chain.log_likelihood(x) == pytest.approx(dense.log_likelihood(x))
    graph = chain.to_factor_graph(len(x))
    evidence = {f"x{t + 1}": int(s) for t, s in enumerate(x)}
    assert float(log_partition(graph, evidence)) == pytest.approx(chain.log_likelihood(x))


def test_sparse_high_order_chain_scores_and_samples_but_refuses_dense_queries() -> None:
    rng = np.random.default_rng(1)
    text = rng.integers(0, 100, size=5000)
    chain = MarkovChain.fit([text], order=5, states=100, smoothing="kneser-ney")
    held_out = rng.integers(0, 100, size=200)
    log_p = chain.log_conditionals(held_out)
    assert np.all(np.isfinite(log_p)) and np.all(log_p < 0)
    probs = chain.next_distribution(held_out[:5][None])
    assert probs.sum() == pytest.approx(1.0)
    a, b = chain.sample(40, n=3, seed=7), chain.sample(40, n=3, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 40) and a.max() < 100
    for query in (lambda: chain.transition, lambda: chain.stationary(),
                  lambda: chain.to_factor_graph(6), lambda: chain.n_step(2)):
        with pytest.raises(ModelError, match="dense entries"):
            query()


def test_sampling_is_seeded_and_follows_the_prompt() -> None:
    chain = two_state(0.3, 0.6)
    np.testing.assert_array_equal(chain.sample(30, n=4, seed=2), chain.sample(30, n=4, seed=2))
    assert not np.array_equal(chain.sample(30, n=4, seed=2), chain.sample(30, n=4, seed=3))
    out = chain.sample(10, n=2, seed=0, prompt=["t", "t", "s"])
    np.testing.assert_array_equal(out[:, :3], [[1, 1, 0], [1, 1, 0]])
    assert chain.decode(out[0, :3]) == ["t", "t", "s"]
    frequencies = np.bincount(chain.sample(400, n=50, seed=1).ravel(), minlength=2) / 20_000
    np.testing.assert_allclose(frequencies, chain.stationary(), atol=0.02)


def test_reducible_chain_has_no_unique_stationary_distribution() -> None:
    chain = MarkovChain([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.25, 0.25]])
    with pytest.raises(ModelError, match="reducible with 2 closed classes"):
        chain.stationary()
    # one closed class plus a transient state: unique, zero on the transient state
    absorbing = MarkovChain([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(absorbing.stationary(), [1.0, 0.0])


def test_periodic_chain_has_a_stationary_distribution_but_no_limit() -> None:
    chain = MarkovChain([[0.0, 1.0], [1.0, 0.0]], initial=[1.0, 0.0])
    np.testing.assert_allclose(chain.stationary(), [0.5, 0.5])
    np.testing.assert_allclose(chain.marginal(10), [0.0, 1.0])
    np.testing.assert_allclose(chain.marginal(11), [1.0, 0.0])


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: MarkovChain([[0.5, 0.4], [0.5, 0.5]]), "not stochastic.*sums to 0.9"),
        (lambda: MarkovChain([[1.5, -0.5], [0.5, 0.5]]), "non-negative"),
        (lambda: MarkovChain([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]), "shape"),
        (lambda: MarkovChain([[1.0, 0.0], [0.0, 1.0]], initial=[0.2, 0.2]), "initial"),
        (lambda: MarkovChain.fit(["abc"], alpha=-1.0), "alpha"),
        (lambda: MarkovChain.fit(["abc"], order=0), "order"),
        (lambda: MarkovChain.fit(["abcd", "ab"], order=3), r"sequences\[1\].*shorter"),
        (lambda: MarkovChain.fit(["abc"], smoothing="magic"), "smoothing"),
        (lambda: MarkovChain.fit([[0, 1, 5]], states=3), "integer codes in 0..2"),
        (lambda: MarkovChain.fit(["abc"]).log_likelihood("abz"), "unknown state 'z'"),
        (lambda: MarkovChain.fit(["abc"], order=2).log_likelihood("a"), "shorter than the order"),
    ],
)
def test_bad_input_names_what_is_wrong(build, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        build()


def test_smoothed_reuses_the_counts() -> None:
    data = ["abcabcbbca", "cabbac"]
    kn = MarkovChain.fit(data, order=2, smoothing="kneser-ney")
    for alpha in (0.0, 0.5):
        refit = MarkovChain.fit(data, order=2, alpha=alpha)
        np.testing.assert_allclose(kn.smoothed("add-alpha", alpha).transition, refit.transition)
    assert kn.smoothed("add-alpha", 0.5).smoothed("kneser-ney").log_likelihood("abca") == (
        pytest.approx(kn.log_likelihood("abca")))
    with pytest.raises(ModelError, match="fitted"):
        MarkovChain([[1.0]]).smoothed(alpha=1.0)


def test_integer_state_names_are_read_as_names() -> None:
    chain = MarkovChain.fit([np.array([3, 7, 9, 3, 7, 7])], alpha=0.0)
    assert chain.states == (3, 7, 9)
    assert chain.log_likelihood(np.array([3, 7])) == pytest.approx(chain.log_likelihood([3, 7]))
    assert chain.transition[0, 1] == pytest.approx(1.0)  # 3 is always followed by 7
    named = MarkovChain.fit(["abcab"])
    assert named.log_likelihood(np.array([0, 1])) == pytest.approx(named.log_likelihood("ab"))


def test_docstring_examples_run() -> None:
    import doctest

    from genlab.pgm.models import markov

    result = doctest.testmod(markov)
    assert result.attempted > 0 and result.failed == 0


def test_lower_order_counts_from_the_top_order_equal_counting_each_window() -> None:
    """fit counts the longest windows once and derives each shorter order from them plus the
    sequences' first windows: the counts must be those of counting every window directly."""
    from collections import Counter

    rng = np.random.default_rng(8)
    order, states = 4, 3
    seqs = [rng.integers(0, states, int(n)) for n in rng.integers(order, 30, 40)]
    seqs.append(np.zeros(order, dtype=np.int64))  # exactly the order long: no top window
    chain = MarkovChain.fit(seqs, order=order, states=states)
    for width in range(1, order + 2):
        direct = Counter(tuple(int(v) for v in s[i:i + width])
                         for s in seqs for i in range(len(s) - width + 1))
        table = chain._raw[width - 1]
        got = {}
        for key, count in zip(table.keys.tolist(), table.counts.tolist(), strict=True):
            digits = []
            for _ in range(width):
                key, digit = divmod(key, states)
                digits.append(digit)
            got[tuple(reversed(digits))] = count
        assert got == dict(direct), width
