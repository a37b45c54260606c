"""genlab vs pgmpy vs pyAgrum on learning Bayesian networks from data (bnlearn networks).

Every library gets the SAME rows, forward-sampled from the true network with a fixed seed:
genlab a DataFrame of state names (what users pass), pgmpy and pyAgrum the same rows under the
neutral names of their converters (benchmarks/pgm_vs_peers.py). Times are CPU seconds with one
thread everywhere (pyAgrum setNumberOfThreads(1), BLAS limited), as in pgm_vs_peers.py.

Sections (--sections):
  fit        MLE and BDeu (ess 1) CPTs for the true structure; max |CPT − pgmpy's| (pyAgrum's
             MLE carries a 1e-10 smoothing prior: it refuses unseen parent configurations).
  em         alarm, n = 10^4, 20% of cells missing completely at random: EM to a relative
             tolerance of 1e-4 (pyAgrum BNLearner.useEM); final log-likelihood of the observed
             data (computed by genlab for both networks), time, largest CPT error vs the truth.
             pgmpy's EM cannot take missing cells (pgmpy#2445), so it is not run.
  sampling   forward sampling of --sample-rows rows to a DataFrame: rows/s.
  structure  asia / child / insurance / alarm × n × seeds: SHD against the true CPDAG and time;
             genlab hill climbing, tabu search (BIC) and PC-stable vs pgmpy HillClimbSearch
             (bic-d) and PC, pyAgrum greedy hill climbing and MIIC, all on the same rows with
             the columns in a seeded random order (benchmarks/_structure_bench.py).

Reproduce: python benchmarks/pgm_learning_vs_peers.py [--sections fit em sampling structure]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgm_vs_peers import DATA, clock, to_pgmpy, to_pyagrum

from genlab.pgm import BayesianNetwork, read_bif
from genlab.pgm.learning.data import to_frame
from genlab.pgm.learning.parameters import em, fit, log_likelihood
from genlab.pgm.sampling import sample


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, float]:
    """(result, best CPU seconds of `repeat` runs): later runs skip first-touch page faults."""
    best = math.inf
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        best = min(best, clock() - t0)
    return out, best


def neutral(bn: BayesianNetwork, codes: np.ndarray, name: dict[str, str]) -> pd.DataFrame:
    """The rows under the converters' neutral names, states as int codes (−1 → NaN)."""
    return pd.DataFrame({name[v]: codes[:, j] for j, v in enumerate(bn.variables)})


def from_pgmpy(model: Any, bn: BayesianNetwork, name: dict[str, str]) -> dict[str, np.ndarray]:
    """pgmpy's CPTs as genlab-shaped tables (*parents in genlab's order, card)."""
    out = {}
    for v in bn.variables:
        cpd = model.get_cpds(name[v])
        shape = [len(cpd.state_names[u]) for u in cpd.variables]
        values = cpd.get_values().reshape(shape)  # (child, *evidence in cpd order)
        for axis, u in enumerate(cpd.variables):  # states back to index order
            order = np.argsort([int(s) for s in cpd.state_names[u]])
            values = np.take(values, order, axis=axis)
        ours = [name[p] for p in bn.parents(v)] + [name[v]]
        out[v] = np.transpose(values, [cpd.variables.index(u) for u in ours])
    return out


def from_pyagrum(g: Any, bn: BayesianNetwork, name: dict[str, str]) -> BayesianNetwork:
    """A pyAgrum network's CPTs back into a genlab network with bn's structure and states."""
    from genlab.pgm.models.bayesian_network import CPT

    cpts = []
    for v in bn.variables:
        pot = g.cpt(name[v])
        axes = list(reversed(pot.names))  # toarray's axes: the first name varies fastest
        ours = [name[p] for p in bn.parents(v)] + [name[v]]
        table = np.transpose(pot.toarray(), [axes.index(u) for u in ours]).astype(np.float64)
        cpts.append(CPT(v, table / table.sum(axis=-1, keepdims=True), bn.parents(v)))
    return BayesianNetwork(cpts, states=bn.states, name=bn.name)


# ----------------------------------------------------------------------------------------------
def bench_fit(net: str, n: int, args: argparse.Namespace) -> list[dict]:
    import pyagrum as gum
    from pgmpy.parameter_estimator import DiscreteBayesianEstimator, DiscreteMLE

    bn = read_bif(DATA / f"{net}.bif.gz")
    codes = bn.sample(n, seed=args.seed)
    frame = to_frame(codes, bn.variables, bn.states)
    g, name = to_pyagrum(bn)
    model, _ = to_pgmpy(bn)
    rows = neutral(bn, codes, name)
    agrum_rows = rows.astype(str)
    state_names = {name[v]: list(range(bn.cards[v])) for v in bn.variables}
    out = []
    for prior in ("mle", "bdeu"):
        ours, t_ours = timed(lambda p=prior: fit(bn, frame, prior=p), args.repeat)
        _, t_codes = timed(lambda p=prior: fit(bn, codes, prior=p), args.repeat)
        row = {"net": net, "n": n, "prior": prior, "genlab": t_ours, "genlab codes": t_codes}
        if n <= args.pgmpy_fit_max:
            estimator = (DiscreteMLE(state_names=state_names) if prior == "mle" else
                         DiscreteBayesianEstimator(state_names=state_names, prior_type="BDeu",
                                                   equivalent_sample_size=1))
            _, row["pgmpy"] = timed(lambda e=estimator: model.fit(rows, estimator=e), args.repeat)
            theirs = from_pgmpy(model, bn, name)
            row["max |Δ| pgmpy"] = max(
                float(np.abs(ours.cpt(v).table - theirs[v]).max()) for v in bn.variables
            )

        def agrum(p: str = prior) -> Any:
            learner = gum.BNLearner(agrum_rows, g)
            learner.setNumberOfThreads(1)
            if p == "bdeu":
                learner.useBDeuPrior(1.0)
            else:  # pyAgrum refuses plain MLE when a parent configuration is never seen
                learner.useSmoothingPrior(1e-10)
            return learner.learnParameters(g.dag())

        learned, row["pyAgrum"] = timed(agrum, args.repeat)
        row["max |Δ| pyAgrum"] = max(
            float(np.abs(ours.cpt(v).table - from_pyagrum(learned, bn, name).cpt(v).table).max())
            for v in bn.variables
        )
        out.append(row)
    return out


def cpt_errors(learned: BayesianNetwork, truth: BayesianNetwork, frame: pd.DataFrame) -> dict:
    """Largest |Δθ| over all CPT cells, and the mean total-variation distance of the CPT rows
    weighted by how often each parent configuration occurs in the complete rows (rare rows,
    learned from a handful of cases, dominate the max but not this)."""
    from genlab.pgm.learning.counts import count
    from genlab.pgm.learning.data import as_dataset

    data = as_dataset(frame.dropna(), truth)
    worst, tv = 0.0, []
    for v in truth.variables:
        diff = np.abs(learned.cpt(v).table - truth.cpt(v).table)
        worst = max(worst, float(diff.max()))
        parents = truth.parents(v)
        w = count(data, parents).reshape(-1) if parents else np.ones(1)
        rows = 0.5 * diff.reshape(-1, diff.shape[-1]).sum(axis=1)
        tv.append(float((w * rows).sum() / w.sum()))
    return {"max |Δθ|": worst, "mean TV": float(np.mean(tv))}


def bench_em(args: argparse.Namespace) -> list[dict]:
    import pyagrum as gum

    bn = read_bif(DATA / "alarm.bif.gz")
    codes = bn.sample(args.em_rows, seed=args.seed)
    full = to_frame(codes, bn.variables, bn.states)
    holes = np.random.default_rng(args.seed).random(codes.shape) < 0.2
    codes[holes] = -1
    frame = to_frame(codes, bn.variables, bn.states)
    out = []
    for tol in sorted({args.em_tol, 1e-6}, reverse=True):
        result, seconds = timed(lambda t=tol: em(bn, frame, tol=t, max_iter=args.em_max_iter))
        out.append({"library": "genlab", "tol": tol, "seconds": seconds,
                    "iterations": result.iterations,
                    "log-likelihood": log_likelihood(result.network, frame),
                    **cpt_errors(result.network, bn, full)})
    if not args.no_pyagrum_em:
        g, name = to_pyagrum(bn)
        path = Path(args.tmp) / "em_rows.csv"
        rows = neutral(bn, codes, name).astype(str).replace("-1", "?")
        rows.to_csv(path, index=False)

        def agrum() -> Any:
            learner = gum.BNLearner(str(path), g, ["?"])
            learner.setNumberOfThreads(1)
            learner.useSmoothingPrior(1e-5)
            learner.useEM(args.em_tol)
            if args.em_max_iter:
                learner.EMsetMaxIter(args.em_max_iter)
            learned = learner.learnParameters(g.dag(), False)  # take_into_account_score
            return learned, learner.EMnbrIterations()

        (learned, iterations), seconds = timed(agrum)
        theirs = from_pyagrum(learned, bn, name)
        out.append({"library": "pyAgrum", "tol": args.em_tol, "seconds": seconds,
                    "iterations": iterations, "log-likelihood": log_likelihood(theirs, frame),
                    **cpt_errors(theirs, bn, full)})
    return out


def bench_sampling(net: str, args: argparse.Namespace) -> dict:
    import pyagrum as gum
    from pgmpy.sampling import BayesianModelSampling

    bn = read_bif(DATA / f"{net}.bif.gz")
    n = args.sample_rows
    _, t_ours = timed(lambda: sample(bn, n, seed=args.seed))
    row = {"net": net, "rows": n, "genlab rows/s": n / t_ours}
    g, _ = to_pyagrum(bn)

    k = min(n, args.pyagrum_sample_rows)  # rows/s measured on fewer rows where it is slow

    def agrum() -> Any:
        gen = gum.BNDatabaseGenerator(g)
        gen.drawSamples(k)
        return gen.to_pandas()

    _, t_agrum = timed(agrum)
    row["pyAgrum rows/s"] = k / t_agrum
    row["pyAgrum rows"] = k
    model, _ = to_pgmpy(bn)
    m = min(n, args.pgmpy_sample_rows if net == "alarm" else args.pgmpy_sample_rows // 10)
    _, t_pgmpy = timed(lambda: BayesianModelSampling(model).forward_sample(
        size=m, show_progress=False, seed=args.seed))
    row["pgmpy rows/s"] = m / t_pgmpy
    row["pgmpy rows"] = m
    return row


# ----------------------------------------------------------------------------------------------
def markdown(rows: list[dict], columns: list[str]) -> str:
    def cell(x: Any) -> str:
        if isinstance(x, float):
            if math.isnan(x):
                return "—"
            return f"{x:.3g}" if abs(x) < 1e4 else f"{x:,.0f}"
        return str(x)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, float("nan"))) for c in columns) + " |"
              for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", nargs="*", default=["fit", "em", "sampling", "structure"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (fit)")
    parser.add_argument("--fit-networks", nargs="*", default=["alarm", "munin1"])
    parser.add_argument("--fit-rows", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--pgmpy-fit-max", type=int, default=1_000_000)
    parser.add_argument("--em-rows", type=int, default=10_000)
    parser.add_argument("--em-tol", type=float, default=1e-4)
    parser.add_argument("--em-max-iter", type=int, default=100)
    parser.add_argument("--no-pyagrum-em", action="store_true")
    parser.add_argument("--sample-networks", nargs="*", default=["alarm", "munin"])
    parser.add_argument("--sample-rows", type=int, default=1_000_000)
    parser.add_argument("--pgmpy-sample-rows", type=int, default=100_000)
    parser.add_argument("--pyagrum-sample-rows", type=int, default=100_000)
    parser.add_argument("--structure-networks", nargs="*",
                        default=["asia", "child", "insurance", "alarm"])
    parser.add_argument("--structure-rows", nargs="*", type=int, default=[1000, 10_000, 100_000])
    parser.add_argument("--structure-seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--structure-methods", nargs="*",
                        default=["genlab hc", "genlab tabu", "genlab pc", "pgmpy hc", "pgmpy pc",
                                 "pyAgrum ghc", "pyAgrum miic"],
                        help="methods to run (the others are reported as skipped)")
    parser.add_argument("--pgmpy-timeout", type=float, default=300.0,
                        help="skip pgmpy's larger n for a network once one run took this long")
    parser.add_argument("--tmp", default="/tmp")
    args = parser.parse_args()

    import pyagrum as gum
    from threadpoolctl import threadpool_limits

    gum.setNumberOfThreads(1)
    threadpool_limits(1)
    print(f"# genlab learning benchmark ({time.strftime('%Y-%m-%d %H:%M')}, CPU s, 1 thread)\n")
    if "fit" in args.sections:
        rows = [r for net in args.fit_networks for n in args.fit_rows
                for r in bench_fit(net, n, args)]
        for r in rows:
            for peer in ("pgmpy", "pyAgrum"):
                if peer in r:
                    r[f"× {peer}"] = r[peer] / r["genlab"]
        print("## fit (CPTs for the true structure)\n")
        print(markdown(rows, ["net", "n", "prior", "genlab", "genlab codes", "pgmpy", "× pgmpy",
                              "pyAgrum", "× pyAgrum", "max |Δ| pgmpy", "max |Δ| pyAgrum"]))
        print(flush=True)
    if "em" in args.sections:
        rows = bench_em(args)
        print(f"## EM, alarm, n = {args.em_rows}, 20% MCAR (relative tolerance as pyAgrum's)\n")
        print(markdown(rows, ["library", "tol", "seconds", "iterations", "log-likelihood",
                              "max |Δθ|", "mean TV"]))
        agrum = [r for r in rows if r["library"] == "pyAgrum"]
        if agrum:
            ref = agrum[0]
            for r in rows[:-1]:
                gain = r["log-likelihood"] - ref["log-likelihood"]
                print(f"\ngenlab tol {r['tol']:g}: × {ref['seconds'] / r['seconds']:.0f} faster, "
                      f"log-likelihood {gain:+.3f} against pyAgrum's")
        print(flush=True)
    if "sampling" in args.sections:
        rows = [bench_sampling(net, args) for net in args.sample_networks]
        for r in rows:
            r["× pgmpy"] = r["genlab rows/s"] / r["pgmpy rows/s"]
            r["× pyAgrum"] = r["genlab rows/s"] / r["pyAgrum rows/s"]
        print("## forward sampling to a DataFrame\n")
        print(markdown(rows, ["net", "rows", "genlab rows/s", "pgmpy rows/s", "pgmpy rows",
                              "× pgmpy", "pyAgrum rows/s", "pyAgrum rows", "× pyAgrum"]))
        print(flush=True)
    if "structure" in args.sections:
        from _structure_bench import run_structure

        run_structure(args, markdown, timed)


if __name__ == "__main__":
    main()
