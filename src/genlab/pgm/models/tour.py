"""The continuous and sequential part of `genlab tour`: the lecture's Gaussian network (prior and
posterior densities), a Markov chain against the exact engine, and an HMM decoded."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from genlab.pgm.examples import gaussian_network
from genlab.pgm.learning.gaussian import fit_gaussian
from genlab.pgm.models.hmm import HiddenMarkovModel
from genlab.pgm.models.hmm_emissions import CategoricalEmission
from genlab.pgm.models.hmm_fit import fit_hmm
from genlab.pgm.models.hmm_plot import draw_posterior
from genlab.pgm.models.markov import MarkovChain
from genlab.tour import markdown_table

if TYPE_CHECKING:
    from genlab.pgm.models.gaussian import GaussianDistribution
    from genlab.tour import TourContext

__all__ = ["tour_section"]

EVIDENCE = {"x4": 3.0}  # the lecture's network, observed at its collider


def _plot_densities(ctx: TourContext, prior: GaussianDistribution,
                    posterior: GaussianDistribution) -> None:
    from matplotlib.figure import Figure  # object API only: no global backend switch

    names = [v for v in prior.variables if v not in EVIDENCE]
    fig = Figure(figsize=(2.4 * (len(names) + 1), 2.6))
    for k, v in enumerate(names):
        ax = fig.add_subplot(1, len(names) + 1, k + 1)
        for dist, style, label in ((prior, "--", "prior"), (posterior, "-", "given x4 = 3")):
            mean, var = dist[v]
            x = np.linspace(-4, 6, 400)
            ax.plot(x, np.exp(-0.5 * (x - mean) ** 2 / var) / np.sqrt(2 * np.pi * var),
                    style, label=label)
        ax.set_title(v, fontsize=9)
        ax.set_yticks([])
        if k == 0:
            ax.legend(fontsize=7)
    # explaining away: the 2-sd ellipse of (x2, x3) before and after observing their child
    ax = fig.add_subplot(1, len(names) + 1, len(names) + 1)
    angle = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    for dist, style in ((prior, "--"), (posterior, "-")):
        pair = dist.marginal(["x2", "x3"])
        ellipse = pair.mean[:, None] + 2 * np.linalg.cholesky(pair.covariance) @ circle
        ax.plot(ellipse[0], ellipse[1], style)
    ax.set_xlabel("x2", fontsize=8)
    ax.set_ylabel("x3", fontsize=8)
    ax.set_title("(x2, x3): explaining away", fontsize=9)
    fig.tight_layout()
    fig.savefig(ctx.output("gaussian_network_densities.png"), dpi=120)


def _gaussian_part(ctx: TourContext) -> str:
    net = gaussian_network(mu1=1.0, mu3=0.0)
    prior = net.joint()
    posterior = net.query(None, EVIDENCE)
    _plot_densities(ctx, prior, posterior)
    rows = []
    for v in net.variables:
        p_mean, p_var = prior[v]
        if v in EVIDENCE:
            rows.append([v, f"{p_mean:.3f} ± {np.sqrt(p_var):.3f}", f"{EVIDENCE[v]} (observed)"])
            continue
        q_mean, q_var = posterior[v]
        rows.append([v, f"{p_mean:.3f} ± {np.sqrt(p_var):.3f}",
                     f"{q_mean:.3f} ± {np.sqrt(q_var):.3f}"])
    n = 2000 if ctx.fast else 20_000
    data = net.sample(n, seed=ctx.seed)
    t0 = time.perf_counter()
    fitted = fit_gaussian(net, data)
    fit_seconds = time.perf_counter() - t0
    worst = max(float(np.abs(np.subtract(a.weights, b.weights)).max(initial=0.0))
                for a, b in zip(net.cpds, fitted.cpds, strict=True))
    million = {"x4": np.linspace(-3, 6, 10**6)}
    t0 = time.perf_counter()
    batch = net.query(None, million)
    batch_seconds = time.perf_counter() - t0
    return (
        "The lecture's Gaussian network — x1 ~ N(1, 1), x2 ~ N(x1, 0.5²), x3 ~ N(0, 1), "
        "x4 ~ N(x2 + x3, 0.5²), x5 ~ N(x3, 0.75²) — as a `LinearGaussianBayesianNetwork`. "
        "Exact inference runs in information form (condition by slicing the precision, "
        "marginalise by a Schur complement, Cholesky solves). Observing the collider x4 = 3 "
        "moves x1, x2 and x3 (explaining away: their posterior covariance turns negative, "
        f"cov(x2, x3 | x4) = {posterior.marginal(['x2', 'x3']).covariance[0, 1]:.3f}) and x5 "
        "through x3:\n\n"
        + markdown_table(["variable", "prior mean ± sd", "posterior given x4 = 3"], rows)
        + "\n\nPrior (dashed) and posterior (solid) densities: `gaussian_network_densities.png`."
        f" Refitted from {n:,} samples by least squares on sufficient statistics in "
        f"{fit_seconds * 1000:.1f} ms (largest weight error {worst:.3f}); "
        f"{len(batch.mean):,} evidence rows answered in {batch_seconds:.2f} s — for one observed"
        " set the posterior mean is affine in the evidence, so the batch is one matrix product."
    )


def _markov_part(ctx: TourContext) -> str:
    """A three-state weather chain: closed forms against the exact engine on the lowered graph."""
    from genlab.pgm.inference import marginals

    chain = MarkovChain([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.2, 0.3, 0.5]],
                        initial=[1.0, 0.0, 0.0], states=["sunny", "cloudy", "rainy"])
    horizon = 12
    engine = marginals(chain.to_factor_graph(horizon), {"x3": "rainy"})
    closed = chain.n_step(horizon - 3)[2]  # p(x_12 | x_3 = rainy) = row of P^9
    rows = [[name, f"{chain.marginal(horizon)[i]:.4f}", f"{closed[i]:.4f}",
             f"{engine[f'x{horizon}'][i]:.4f}", f"{chain.stationary()[i]:.4f}"]
            for i, name in enumerate(chain.states or ())]
    return (
        "**Markov chain** — p(x₁..x_T) = p(x₁) Π p(x_t | x_{t−1}) is a directed model too. A "
        "three-state weather chain starting sunny: the closed forms (powers of the transition "
        f"matrix, the stationary distribution solving π = πP) against the exact engine on "
        f"`to_factor_graph({horizon})` with evidence x₃ = rainy, which is the same answer "
        "computed by one contraction:\n\n"
        + markdown_table(["state", f"p(x{horizon})", f"p(x{horizon} \\| x3 = rainy), P⁹",
                          "same, exact engine", "stationary π"], rows)
    )


def _casino() -> HiddenMarkovModel:
    """The occasionally dishonest casino: a fair die, and a loaded one that shows 6 half the
    time; the croupier switches dice rarely."""
    loaded = [0.1] * 5 + [0.5]
    return HiddenMarkovModel.categorical(
        [0.5, 0.5], [[0.95, 0.05], [0.1, 0.9]], [[1 / 6] * 6, loaded],
        symbols=[str(face) for face in range(1, 7)])


def _hmm_part(ctx: TourContext) -> str:
    truth = _casino()
    n, length = (20, 100) if ctx.fast else (100, 300)
    train = truth.sample(n, length, seed=ctx.seed)
    t0 = time.perf_counter()
    fitted = fit_hmm(train.observations, 2, restarts=2 if ctx.fast else 4, seed=ctx.seed,
                     max_iter=50 if ctx.fast else 200)
    fit_seconds = time.perf_counter() - t0
    model = fitted.model
    emission = model.emission
    assert isinstance(emission, CategoricalEmission)  # fit_hmm's default kind
    # the states of a fitted HMM are unlabelled: call "loaded" the one that shows more sixes
    six = emission.symbols.index("6")
    loaded = int(np.argmax(emission.probabilities[:, six]))
    shown = truth.sample(1, length, seed=ctx.seed + 1)
    sequence, states = shown.observations[0], shown.states[0]
    path = model.viterbi([sequence]).paths[0]
    agree = float(np.mean((path == loaded) == (states == 1)))
    truth_agree = float(np.mean(truth.viterbi([sequence]).paths[0] == states))
    posterior = model.posteriors([sequence])[0][:, loaded]
    draw_posterior(model, sequence, ctx.output("hmm_posterior.png"),
                   true_states=states if loaded == 1 else 1 - states,
                   title="dishonest casino: P(loaded die | rolls), Viterbi path, truth")
    rows = [["P(6 \\| loaded die)", "0.500", f"{emission.probabilities[loaded, six]:.3f}"],
            ["P(stay fair)", "0.950", f"{model.transition[1 - loaded, 1 - loaded]:.3f}"],
            ["P(stay loaded)", "0.900", f"{model.transition[loaded, loaded]:.3f}"],
            ["log-likelihood per roll", f"{truth.score(train.observations) / (n * length):.4f}",
             f"{fitted.log_likelihood / (n * length):.4f}"]]
    return (
        "**Hidden Markov model** — the occasionally dishonest casino (a fair die and one "
        f"loaded towards 6). Baum–Welch on {n} sampled sequences of {length} rolls "
        f"({fit_seconds:.1f} s, seeded restarts, scaled forward–backward over all sequences "
        "at once) recovers the parameters:\n\n"
        + markdown_table(["parameter", "truth", "fitted"], rows)
        + f"\n\nOn a fresh sequence the fitted model's Viterbi path names the die at "
        f"{agree:.0%} of rolls (the true model's: {truth_agree:.0%}); the posterior "
        f"P(loaded | rolls) averages {posterior[states == 1].mean():.2f} where the die was "
        f"loaded and {posterior[states == 0].mean():.2f} where it was fair: "
        "`hmm_posterior.png`. Missing rolls (NaN or empty) simply drop their emission factor; "
        "`genlab hmm fit|score|decode|sample` does the same from CSV files."
    )


def tour_section(ctx: TourContext) -> str:
    """Continuous and sequential directed models."""
    parts = [_gaussian_part(ctx), _markov_part(ctx), _hmm_part(ctx)]
    return "\n\n".join(parts)
