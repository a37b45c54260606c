"""genlab vs pyAgrum (LazyPropagation) vs pgmpy (VariableElimination) on the bnlearn networks.

All three answer the SAME model: pyAgrum's and pgmpy's networks are built from genlab's parsed
float64 CPTs under neutral names (pyAgrum's own BIF reader stores float32 and rejects some
bnlearn state names). Evidence: ~10% of the nodes, taken from a forward sample so P(e) > 0.

1. One query, all posterior marginals. genlab "cold" builds a new engine (planning included);
   "warm" reuses the plan cached for that evidence pattern (new values). pyAgrum "cold" is a
   fresh LazyPropagation; "warm" reuses the engine with new evidence. pgmpy: one
   VariableElimination engine, one query per unobserved variable (its query(..., joint=False)
   runs out of memory already on alarm), on networks up to --pgmpy-max nodes.
2. Batched: --rows evidence rows (same observed nodes, sampled values). genlab: ONE call with a
   batch axis. pyAgrum: its best loop (one engine, evidence changed per row, all posteriors),
   timed on a subset and reported as rows/s.

Times are CPU seconds of the process with every library on ONE thread (pyAgrum
setNumberOfThreads(1), BLAS via threadpoolctl): fair between the two, and stable when other jobs
load the machine. Prints a Markdown table with ratios (>1 means genlab is faster) and the
largest marginal difference from pyAgrum.
Reproduce: python benchmarks/pgm_vs_peers.py [--networks alarm ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from genlab.pgm import BayesianNetwork, ExactInference
from genlab.pgm.io import read_bif

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bnlearn"
ORDER = [
    "asia",
    "cancer",
    "earthquake",
    "survey",
    "sachs",
    "child",
    "insurance",
    "alarm",
    "water",
    "mildew",
    "barley",
    "hailfinder",
    "hepar2",
    "win95pts",
    "pathfinder",
    "andes",
    "pigs",
    "munin1",
    "link",
    "diabetes",
    "munin2",
    "munin3",
    "munin4",
    "munin",
]


def clock() -> float:
    """CPU seconds of this process: both sides run on one thread, so CPU time is the fair
    measure, and unlike wall time it barely moves when other jobs load the machine."""
    return time.process_time()


def best_time(fn: Callable[[], object], repeat: int, budget: float = 10.0) -> float:
    """Best CPU time of up to `repeat` runs (fewer when one run is long)."""
    best = float("inf")
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
        if time.perf_counter() - start > budget:
            break
    return best


def to_pyagrum(bn: BayesianNetwork) -> tuple[object, dict[str, str]]:
    import pyagrum as gum

    g = gum.BayesNet()
    name = {v: f"v{i}" for i, v in enumerate(bn.variables)}
    for v in bn.variables:
        g.add(gum.LabelizedVariable(name[v], name[v], [str(s) for s in range(bn.cards[v])]))
    for p, c in bn.edges:
        g.addArc(name[p], name[c])
    for v in bn.variables:
        cpt = bn.cpt(v)
        ours = [name[p] for p in cpt.parents] + [name[v]]
        pot = g.cpt(name[v])
        order = list(reversed(pot.names))  # pyAgrum: the first name varies fastest
        pot.fillWith(np.transpose(cpt.table, [ours.index(n) for n in order]).ravel().tolist())
    return g, name


def to_pgmpy(bn: BayesianNetwork) -> tuple[object, dict[str, str]]:
    from pgmpy.factors.discrete import TabularCPD

    try:
        from pgmpy.models import DiscreteBayesianNetwork as Model
    except ImportError:  # older pgmpy
        from pgmpy.models import BayesianNetwork as Model
    name = {v: f"v{i}" for i, v in enumerate(bn.variables)}
    model = Model([(name[p], name[c]) for p, c in bn.edges])
    model.add_nodes_from(name.values())
    for v in bn.variables:
        cpt = bn.cpt(v)
        values = cpt.table.reshape(
            -1, bn.cards[v]
        ).T  # (card, Π parent cards), first parent slowest
        model.add_cpds(
            TabularCPD(
                name[v],
                bn.cards[v],
                values,
                evidence=[name[p] for p in cpt.parents] or None,
                evidence_card=[bn.cards[p] for p in cpt.parents] or None,
            )
        )
    return model, name


def bench_network(net: str, args: argparse.Namespace) -> dict:
    import pyagrum as gum

    bn = read_bif(DATA / f"{net}.bif.gz")
    rng = np.random.default_rng(args.seed)
    n = len(bn.variables)
    observed = sorted(rng.choice(n, size=max(1, round(0.1 * n)), replace=False).tolist())
    obs_names = [bn.variables[i] for i in observed]
    samples = bn.sample(args.rows + 1, seed=args.seed)[:, observed]
    evidence = dict(zip(obs_names, map(int, samples[0]), strict=True))
    row: dict = {"network": net, "nodes": n, "observed": len(observed)}

    # genlab, one query
    def cold() -> object:
        return ExactInference(bn).marginals(evidence)

    row["genlab_cold"] = best_time(cold, args.repeat)
    engine = ExactInference(bn)
    ours = engine.marginals(evidence)
    row["plan"] = engine.plan(obs_names).describe()
    row["genlab_warm"] = best_time(lambda: engine.marginals(evidence), args.repeat)

    if args.no_peers:  # genlab alone (for networks where a peer does not finish)
        t0 = clock()
        engine.marginals(samples[1:], columns=obs_names)
        row["genlab_batch_s"] = clock() - t0
        row["genlab_rows_per_s"] = args.rows / row["genlab_batch_s"]
        return row

    # pyAgrum, one query
    g, gname = to_pyagrum(bn)
    gev = {gname[v]: s for v, s in evidence.items()}
    free = [v for v in bn.variables if v not in evidence]

    def agrum_cold() -> dict:
        ie = gum.LazyPropagation(g)
        ie.setEvidence(gev)
        ie.makeInference()
        return {v: ie.posterior(gname[v]).toarray() for v in free}

    try:
        theirs = agrum_cold()
        row["pyagrum_cold"] = best_time(agrum_cold, args.repeat)
        ie = gum.LazyPropagation(g)
        ie.setEvidence(gev)
        ie.makeInference()

        def agrum_warm(ev: dict = gev) -> None:
            ie.eraseAllEvidence()
            ie.setEvidence(ev)
            ie.makeInference()
            for v in free:
                ie.posterior(gname[v])

        row["pyagrum_warm"] = best_time(agrum_warm, args.repeat)
        row["max_diff"] = max(float(np.abs(ours[v] - theirs[v]).max()) for v in free)
    except Exception as exc:
        row["pyagrum_error"] = f"{type(exc).__name__}: {exc}"[:80]

    # pgmpy, one query
    if n <= args.pgmpy_max:
        from pgmpy.inference import VariableElimination

        model, pname = to_pgmpy(bn)
        ve = VariableElimination(model)
        pev = {pname[v]: s for v, s in evidence.items()}
        qvars = [pname[v] for v in free]
        try:
            # one query per variable: query(all, joint=False) asks for TiBs on alarm already
            row["pgmpy"] = best_time(
                lambda: [ve.query([q], evidence=pev, show_progress=False) for q in qvars],
                max(1, args.repeat // 3),
                budget=30.0,
            )
        except Exception as exc:
            row["pgmpy_error"] = f"{type(exc).__name__}: {exc}"[:80]

    # batched evidence
    rows = samples[1:]
    t0 = clock()
    batched = engine.marginals(rows, columns=obs_names)
    row["genlab_batch_s"] = clock() - t0
    row["genlab_rows_per_s"] = len(rows) / row["genlab_batch_s"]
    if "pyagrum_warm" in row:
        subset = rows[
            : max(5, min(len(rows), int(args.agrum_seconds / max(row["pyagrum_warm"], 1e-5))))
        ]
        t0 = clock()
        for r in subset:
            agrum_warm({gname[v]: int(s) for v, s in zip(obs_names, r, strict=True)})
        row["pyagrum_rows_per_s"] = len(subset) / (clock() - t0)
        check = {v: batched[v][0] for v in free}
        agrum_warm({gname[v]: int(s) for v, s in zip(obs_names, rows[0], strict=True)})
        row["batch_max_diff"] = max(
            float(np.abs(check[v] - ie.posterior(gname[v]).toarray()).max()) for v in free
        )
    return row


def fmt_ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e3:.2f}"


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a / b:.2f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="*", default=None)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-peers", action="store_true", help="time genlab alone")
    parser.add_argument("--pgmpy-max", type=int, default=80, help="largest network for pgmpy")
    parser.add_argument(
        "--agrum-seconds",
        type=float,
        default=5.0,
        help="time spent on pyAgrum's batch loop (rows/s extrapolated)",
    )
    args = parser.parse_args()
    import pyagrum as gum
    from threadpoolctl import threadpool_limits

    gum.setNumberOfThreads(1)  # one thread each: CPU time is then a fair clock
    threadpool_limits(1)
    if not DATA.exists():
        sys.exit(f"bnlearn networks not found at {DATA}")
    nets = args.networks or ORDER
    print(
        "| network | nodes | genlab cold ms | genlab warm ms | pyAgrum cold ms | pyAgrum warm ms "
        "| warm ratio | cold ratio | pgmpy ms | vs pgmpy | genlab batch rows/s | pyAgrum rows/s "
        "| batch ratio | max Δ |"
    )
    print("|" + "---|" * 14)
    results = []
    for net in nets:
        r = bench_network(net, args)
        results.append(r)
        print(
            f"| {net} | {r['nodes']} | {fmt_ms(r['genlab_cold'])} | {fmt_ms(r['genlab_warm'])} "
            f"| {fmt_ms(r.get('pyagrum_cold'))} | {fmt_ms(r.get('pyagrum_warm'))} "
            f"| {ratio(r.get('pyagrum_warm'), r['genlab_warm'])} "
            f"| {ratio(r.get('pyagrum_cold'), r['genlab_cold'])} "
            f"| {fmt_ms(r['pgmpy']) if 'pgmpy' in r else r.get('pgmpy_error', '-')} "
            f"| {ratio(r.get('pgmpy'), r['genlab_warm'])} "
            f"| {r['genlab_rows_per_s']:.0f} | {r.get('pyagrum_rows_per_s', float('nan')):.0f} "
            f"| {ratio(r['genlab_rows_per_s'], r.get('pyagrum_rows_per_s'))} "
            f"| {r.get('max_diff', r.get('pyagrum_error', '-'))} |",
            flush=True,
        )
    batch = [
        r["genlab_rows_per_s"] / r["pyagrum_rows_per_s"]
        for r in results
        if "pyagrum_rows_per_s" in r
    ]
    if batch:
        print(
            f"\nmedian batched throughput ratio (genlab / pyAgrum loop): "
            f"{statistics.median(batch):.1f}×"
        )
    print(
        f"load average: {os.getloadavg()[0]:.2f}; genlab plans: "
        + "; ".join(f"{r['network']} {r['plan']}" for r in results)
    )


if __name__ == "__main__":
    main()
