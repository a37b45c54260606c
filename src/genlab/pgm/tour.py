"""The PGM part of `genlab tour`: the lecture's worked examples, answered by the engine."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from genlab.pgm.examples import food_factor_graph, red_blue_network
from genlab.pgm.inference import engine, log_partition, map_assignment, marginals, query
from genlab.tour import markdown_table

if TYPE_CHECKING:
    from genlab.tour import TourContext

__all__ = ["tour_section"]


def _red_blue(ctx: TourContext) -> str:
    bn = red_blue_network()
    evidence = {"X1": "red", "X3": "blue", "X4": "blue"}
    joint = query(bn, ["X2", "X5"], evidence)
    rows = [
        [f"X2={a}", f"X5={b}", f"{joint.table[i, j]:.4f}"]
        for i, a in enumerate(bn.states["X2"])
        for j, b in enumerate(bn.states["X5"])
    ]
    best = map_assignment(bn, evidence)
    plan = engine(bn).plan(list(evidence), ["X2", "X5"])
    posterior = marginals(bn, evidence)
    prior = marginals(bn)
    _plot_marginals(ctx, bn.variables, prior, posterior)
    named = ", ".join(f"{v}={s}" for v, s in best.named().items())
    return (
        "**Directed model** X1 → X2, (X2, X3) → X4, X3 → X5 with the lecture's CPTs.\n\n"
        f"P(e) = P(X1=red, X3=blue, X4=blue) = {math.exp(log_partition(bn, evidence)):.4f}\n\n"
        "P(X2, X5 | X1=red, X3=blue, X4=blue):\n\n"
        + markdown_table(["X2", "X5", "probability"], rows)
        + f"\n\nMAP (joint, max-product): {named}, "
        f"P(x*, e) = {math.exp(best.log_probability):.5f}\n\n"
        f"Contraction plan for that query: {plan.describe()}\n\n"
        "Prior vs posterior marginals: `marginals_red_blue.png`"
    )


def _plot_marginals(
    ctx: TourContext, variables: tuple[str, ...], prior: dict, posterior: dict
) -> None:
    from matplotlib.figure import Figure  # no pyplot: no global backend switch

    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    x = np.arange(len(variables))
    ax.bar(x - 0.2, [prior[v][0] for v in variables], 0.4, label="prior")
    ax.bar(x + 0.2, [posterior[v][0] for v in variables], 0.4, label="given X1=r, X3=b, X4=b")
    ax.set_xticks(x, variables)
    ax.set_ylabel("P(red)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ctx.output("marginals_red_blue.png"), dpi=120)


def _food() -> str:
    fg = food_factor_graph()
    z = math.exp(log_partition(fg))
    joint = query(fg, ["first", "second"])
    tuna, ice_cream = 3, 2
    best = map_assignment(fg).named()
    second_given_tuna = query(fg, ["second"], {"first": "tuna"}).table
    rows = [[f, f"{p:.4f}"] for f, p in zip(fg.states["second"], second_given_tuna, strict=True)]
    return (
        "**Undirected model** (food factor graph): two unary tables and one pairwise table.\n\n"
        f"Z = {z:.2f}\n\n"
        f"P(first=tuna, second=ice cream) = 6·7·0.1 / Z = {joint.table[tuna, ice_cream]:.6f}\n\n"
        f"MAP: first = {best['first']}, second = {best['second']}\n\n"
        "P(second | first = tuna):\n\n" + markdown_table(["second", "probability"], rows)
    )


def tour_section(ctx: TourContext) -> str:
    """The lecture's red/blue Bayesian network and food factor graph, answered exactly."""
    return _red_blue(ctx) + "\n\n" + _food()
