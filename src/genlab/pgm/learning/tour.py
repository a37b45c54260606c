"""The learning part of `genlab tour`: sample the red/blue network, learn it back, then EM."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from genlab.pgm.examples import red_blue_network
from genlab.pgm.learning.graph import compare_graphs
from genlab.pgm.learning.learn import learn
from genlab.pgm.learning.parameters import em, fit
from genlab.pgm.sampling import sample
from genlab.tour import markdown_table

if TYPE_CHECKING:
    from genlab.pgm.models.bayesian_network import BayesianNetwork
    from genlab.tour import TourContext

__all__ = ["tour_section"]


def _cpt_rows(truth: BayesianNetwork, *learned: BayesianNetwork) -> list[list[str]]:
    """One row per CPT entry P(v = first state | parents): the truth, then each estimate."""
    rows = []
    for v in truth.variables:
        table = truth.cpt(v).table
        parents = truth.parents(v)
        for index in np.ndindex(*table.shape[:-1]):
            given = ", ".join(f"{p}={truth.states[p][i]}" for p, i in zip(parents, index,
                                                                           strict=True))
            label = f"P({v}={truth.states[v][0]}" + (f" \\| {given})" if given else ")")
            cells = [f"{table[index][0]:.3f}"]
            cells += [f"{m.cpt(v).table[index][0]:.3f}" for m in learned]
            rows.append([label, *cells])
    return rows


def _worst(truth: BayesianNetwork, learned: BayesianNetwork) -> float:
    return max(float(np.abs(learned.cpt(v).table - truth.cpt(v).table).max())
               for v in truth.variables)


def _plot_em(ctx: TourContext, log_likelihoods: list[float], reference: float) -> None:
    from matplotlib.figure import Figure  # no pyplot: no global backend switch

    fig = Figure(figsize=(5, 3))
    ax = fig.add_subplot()
    ax.plot(range(len(log_likelihoods)), log_likelihoods, marker="o", label="EM")
    ax.axhline(reference, color="grey", linestyle="--", label="true network")
    ax.set_xlabel("iteration")
    ax.set_ylabel("log-likelihood of the observed cells")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ctx.output("em_log_likelihood.png"), dpi=120)


def tour_section(ctx: TourContext) -> str:
    """Learn → query → sample, on the lecture's network: structure and CPTs from 5,000 sampled
    rows, then EM with a fifth of the cells blanked."""
    from genlab.pgm.learning.parameters import log_likelihood
    from genlab.pgm.learning.plot import draw_comparison

    truth = red_blue_network()
    n = 1000 if ctx.fast else 5000
    t0 = time.perf_counter()
    rows = sample(truth, n, seed=ctx.seed)
    result = learn(rows)  # tabu search with BIC, then MLE CPTs
    diff = compare_graphs(result.cpdag, truth)
    draw_comparison(result.cpdag, truth, ctx.output("learned_vs_true.png"),
                    title=f"learned from {n} rows (tabu, BIC) vs the lecture's network")
    on_truth = fit(truth, rows)  # the CPTs of the true structure, for the table
    learned_arcs = ", ".join(f"{a} → {b}" for a, b in result.dag.edges)
    differences = "; ".join(diff.lines()) or "none"
    t_learn = time.perf_counter() - t0

    rng = np.random.default_rng(ctx.seed)
    blanked = rows.astype(object).mask(rng.random(rows.shape) < 0.2)
    t1 = time.perf_counter()
    fitted = em(truth, blanked, tol=1e-8)
    t_em = time.perf_counter() - t1
    reference = log_likelihood(truth, blanked)
    _plot_em(ctx, fitted.log_likelihoods, reference)
    complete_rows = int((~blanked.isna().any(axis=1)).sum())
    dropped = fit(truth, blanked, missing="drop")
    return (
        f"**Learn.** {n} rows forward-sampled from the red/blue network "
        f"(`genlab pgm sample`), then `learn(rows)`: tabu search over DAGs with the BIC score "
        f"and maximum-likelihood CPTs, {result.seconds:.2f} s. Learned arcs: {learned_arcs}. "
        f"Against the true CPDAG (X2 → X4 ← X3, X1 — X2, X3 — X5) the structural Hamming "
        f"distance is **{diff.shd}** (differences: {differences}); the picture is "
        "`learned_vs_true.png`. The arcs X1 → X2 and X3 → X5 cannot be told from their "
        "reverses by any data: only the v-structure at X4 is identifiable.\n\n"
        "**Recovered CPTs** (true structure, MLE from the same rows; EM from the rows with 20% "
        "of the cells blanked; complete rows only):\n\n"
        + markdown_table(["entry", "true", f"MLE, {n} rows", "EM, 20% blanked",
                  f"{complete_rows} complete rows"],
                 _cpt_rows(truth, on_truth, fitted.network, dropped))
        + f"\n\nLargest error: MLE {_worst(truth, on_truth):.3f}, EM "
        f"{_worst(truth, fitted.network):.3f}, complete rows only "
        f"{_worst(truth, dropped):.3f}.\n\n"
        f"**EM.** {int(blanked.isna().to_numpy().sum())} of {blanked.size} cells blanked "
        f"completely at random; only {complete_rows} rows stay complete. EM's E-step is one "
        "batched contraction per iteration (each row's observed cells as one-hot likelihood "
        f"vectors): {fitted.iterations} iterations, {t_em:.2f} s, "
        f"{'converged' if fitted.converged else 'stopped at the iteration limit'}; the "
        f"log-likelihood of the observed cells rose from {fitted.log_likelihoods[0]:.1f} to "
        f"{fitted.log_likelihood:.1f} (the true network scores {reference:.1f}) — "
        "`em_log_likelihood.png`.\n\n"
        f"_Budget: {t_learn + t_em:.1f} s. More rows shrink every error like 1/√n: at 50,000 "
        "rows the largest MLE error is 0.005–0.007 (5 seeds measured)._"
    )
