"""The file-format part of `genlab tour`: write a network as BIF and UAI, read it back exactly,
and (when the bnlearn reference networks sit beside the checkout) time the BIF reader on them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genlab.pgm.examples import food_factor_graph, red_blue_network
from genlab.pgm.io.bif import bif_string, read_bif, write_bif
from genlab.pgm.io.uai import read_uai, read_uai_bayesian_network, write_uai

if TYPE_CHECKING:
    from genlab.tour import TourContext

__all__ = ["tour_section"]

BNLEARN = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "bnlearn"
FAST_NETWORKS = ("asia", "alarm", "child")


def _round_trips(ctx: TourContext) -> str:
    """Write the lecture's network (BIF, UAI) and factor graph (UAI); read each back."""
    bn = red_blue_network()
    write_bif(bn, bif_path := ctx.output("red_blue.bif"))
    write_uai(bn, uai_path := ctx.output("red_blue.uai"))
    write_uai(fg := food_factor_graph(), fg_path := ctx.output("food.uai"))
    again = read_uai_bayesian_network(uai_path)
    same_tables = all(
        np.array_equal(again.cpt(str(i)).table, bn.cpt(v).table) for i, v in enumerate(bn.variables)
    )
    food = read_uai(fg_path)
    same_food = [f.table.tolist() for f in food.factors] == [f.table.tolist() for f in fg.factors]
    return (
        f"The lecture's network written as `{bif_path.name}` and read back is "
        f"{'identical' if read_bif(bif_path) == bn else 'DIFFERENT'} (floats are written exactly); "
        f"as `{uai_path.name}` (BAYES, states by index) its CPTs come back "
        f"{'identical' if same_tables else 'DIFFERENT'}; the food factor graph as "
        f"`{fg_path.name}` (MARKOV) comes back {'identical' if same_food else 'DIFFERENT'}.\n\n"
        f"```\n{bif_string(bn).strip()}\n```\n"
    )


def _bnlearn_timings(ctx: TourContext) -> str:
    """Parse the bnlearn networks found beside the checkout; a table of sizes and times."""
    files = sorted(BNLEARN.glob("*.bif.gz"), key=lambda p: p.stat().st_size)
    if ctx.fast:
        files = [f for f in files if f.name.removesuffix(".bif.gz") in FAST_NETWORKS]
    if not files:
        return f"(The bnlearn networks were not found at `{BNLEARN}`; timing table skipped.)\n"
    rows = ["| network | variables | arcs | parse s |", "|---|---|---|---|"]
    for path in files:
        start = time.perf_counter()
        bn = read_bif(path)
        seconds = time.perf_counter() - start
        name = path.name.removesuffix(".bif.gz")
        rows.append(f"| {name} | {len(bn.variables)} | {len(bn.edges)} | {seconds:.3f} |")
    return "Reading the bnlearn BIF files (gzip handled by suffix):\n\n" + "\n".join(rows) + "\n"


def tour_section(ctx: TourContext) -> str:
    """Markdown for the tour: exact round trips, then reader timings when data is present."""
    return _round_trips(ctx) + "\n" + _bnlearn_timings(ctx)
