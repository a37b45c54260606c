"""The `structure` section of pgm_learning_vs_peers.py: structure learning vs pgmpy and pyAgrum.

For every network × n × seed, the rows are `bn.sample(n, seed)`, as a DataFrame of state names
(`to_frame`) whose columns are shuffled by a permutation seeded by the seed (`bn.variables` is
topological, which flatters any learner that breaks ties by column order). Every method sees
these same rows in this same column order:

- genlab: `learn(frame, "hc" | "tabu" | "pc")` on the categorical frame (what users pass);
  the timed call includes encoding the frame and fitting the CPTs.
- pgmpy: `HillClimbSearch(...).estimate(scoring_method="bic-d")` (tabu_length 100, no
  in-degree limit: its defaults) and `PC(...).estimate(variant="stable", ci_test="g_sq",
  significance_level=0.05, max_cond_vars=5 (its default), return_type="cpdag", n_jobs=1)`,
  both on `frame.astype(str)` (pgmpy's PC crashes on categories that never occur). Once one
  of a method's runs on a network takes more than --pgmpy-timeout CPU seconds, the remaining
  seeds of that n still run (so the cell has its median) but larger n are "skipped".
- pyAgrum: `BNLearner(csv)` with `useGreedyHillClimbing(); useScoreBIC(); learnDAG()`, and
  `useMIIC(); learnPDAG()` (MIIC's own mixed graph). The CSV of the same string frame is
  written outside the timing (BNLearner given a DataFrame writes such a CSV itself).

SHD (bnlearn's definition) is against the true CPDAG: a DAG is compared through its CPDAG, a
PDAG (genlab's, pgmpy's PC, MIIC's) as returned. Times are CPU seconds, one thread.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import traceback
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pgm_vs_peers import DATA

from genlab.pgm import read_bif
from genlab.pgm.learning import learn, shd
from genlab.pgm.learning.data import to_frame
from genlab.pgm.learning.graph import DAG, PDAG

METHODS = ("genlab hc", "genlab tabu", "genlab pc", "pgmpy hc", "pgmpy pc", "pyAgrum ghc",
           "pyAgrum miic")
PGMPY = ("pgmpy hc", "pgmpy pc")


def structure_rows(bn: Any, n: int, seed: int) -> pd.DataFrame:
    """n forward-sampled rows as categorical state names, columns in a seeded random order."""
    frame = to_frame(bn.sample(n, seed=seed), bn.variables, bn.states)
    order = np.random.default_rng(seed).permutation(len(bn.variables))
    return frame.iloc[:, order]


def peer_pdag(nodes: tuple[str, ...], arcs: Any, edges: Any) -> PDAG:
    """A genlab PDAG from arcs (a, b) and undirected pairs; an arc given both ways (or also
    as an undirected edge) counts as undirected."""
    undirected = {frozenset((str(a), str(b))) for a, b in edges}
    arcs = {(str(a), str(b)) for a, b in arcs}
    undirected |= {frozenset(e) for e in arcs if (e[1], e[0]) in arcs}
    directed = frozenset(e for e in arcs if frozenset(e) not in undirected)
    return PDAG(nodes, directed, frozenset(undirected))


def learners(nodes: tuple[str, ...]) -> dict[str, Callable[[pd.DataFrame, pd.DataFrame, str],
                                                         Any]]:
    """method → fn(categorical frame, string frame, csv path) → the learned DAG or PDAG."""
    import pyagrum as gum
    from pgmpy.estimators import PC, HillClimbSearch

    def genlab(method: str) -> Callable:
        return lambda frame, strings, csv: learn(frame, method).cpdag

    def pgmpy_hc(frame: pd.DataFrame, strings: pd.DataFrame, csv: str) -> DAG:
        dag = HillClimbSearch(strings).estimate(scoring_method="bic-d", show_progress=False)
        return DAG(nodes, dag.edges())

    def pgmpy_pc(frame: pd.DataFrame, strings: pd.DataFrame, csv: str) -> PDAG:
        pdag = PC(strings).estimate(variant="stable", ci_test="g_sq", significance_level=0.05,
                                    max_cond_vars=5, return_type="cpdag", show_progress=False,
                                    n_jobs=1)
        return peer_pdag(nodes, pdag.directed_edges, pdag.undirected_edges)

    def agrum(method: str) -> Callable:
        def run(frame: pd.DataFrame, strings: pd.DataFrame, csv: str) -> Any:
            learner = gum.BNLearner(csv)
            learner.setNumberOfThreads(1)
            name = learner.nameFromId
            if method == "ghc":
                learner.useGreedyHillClimbing()
                learner.useScoreBIC()
                return DAG(nodes, [(name(a), name(b)) for a, b in learner.learnDAG().arcs()])
            learner.useMIIC()
            graph = learner.learnPDAG()
            return peer_pdag(nodes, [(name(a), name(b)) for a, b in graph.arcs()],
                           [(name(a), name(b)) for a, b in graph.edges()])

        return run

    return {"genlab hc": genlab("hc"), "genlab tabu": genlab("tabu"), "genlab pc": genlab("pc"),
            "pgmpy hc": pgmpy_hc, "pgmpy pc": pgmpy_pc, "pyAgrum ghc": agrum("ghc"),
            "pyAgrum miic": agrum("miic")}


def bench_structure(args: argparse.Namespace, timed: Callable) -> list[dict]:
    """One record per net × n × seed × method: shd and seconds, or status skipped / error."""
    warnings.filterwarnings("ignore", module="pgmpy")
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("pgmpy").setLevel(logging.ERROR)
    csv = str(Path(args.tmp) / "structure_rows.csv")
    runs: list[dict] = []
    for i, net in enumerate(args.structure_networks):
        bn = read_bif(DATA / f"{net}.bif.gz")
        fns = learners(tuple(bn.variables))
        if i == 0:  # untimed warm-up: lazy imports and first-call set-up of every library
            frame = structure_rows(bn, 200, 0)
            frame.astype(str).to_csv(csv, index=False)
            for fn in fns.values():
                fn(frame, frame.astype(str), csv)
        slow: set[str] = set()  # pgmpy methods that took over --pgmpy-timeout on this network
        for n in args.structure_rows:
            skip = set(slow)
            for seed in args.structure_seeds:
                frame = structure_rows(bn, n, seed)
                strings = frame.astype(str)
                strings.to_csv(csv, index=False)
                for method in METHODS:
                    record: dict[str, Any] = {"net": net, "n": n, "seed": seed, "method": method}
                    runs.append(record)
                    if method in skip or method not in args.structure_methods:
                        record["status"] = "skipped"
                        continue
                    try:
                        graph, seconds = timed(partial(fns[method], frame, strings, csv))
                    except Exception as exc:  # a peer crashing is a result, not the end
                        record["status"] = f"error: {type(exc).__name__}: {exc}"
                        print(f"  {net} n={n} seed={seed} {method}: {record['status']}",
                              flush=True)
                        traceback.print_exc()
                        continue
                    record.update(status="ok", shd=shd(graph, bn), seconds=seconds)
                    if method in PGMPY and seconds > args.pgmpy_timeout:
                        slow.add(method)
                    print(f"  {net} n={n} seed={seed} {method}: SHD {record['shd']}, "
                          f"{seconds:.2f} s", flush=True)
            print(flush=True)
    return runs


def parse_progress(lines: list[str]) -> list[dict]:
    """The records of a run from its progress lines ("  net n=N seed=S method: SHD x, t s"),
    so interrupted runs can be merged and reported."""
    import re

    pattern = re.compile(r"^\s+(\S+) n=(\d+) seed=(\d+) (.+?): SHD (\d+), ([\d.]+) s$")
    runs = []
    for line in lines:
        m = pattern.match(line)
        if m:
            runs.append({"net": m[1], "n": int(m[2]), "seed": int(m[3]), "method": m[4],
                         "status": "ok", "shd": int(m[5]), "seconds": float(m[6])})
    return runs


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def report(runs: list[dict], args: argparse.Namespace, markdown: Callable) -> None:
    """The per-cell table with ratios, the headline medians and the per-method summary."""
    cells: dict[tuple[str, int], dict[str, list[dict]]] = {}
    for r in runs:
        cells.setdefault((r["net"], r["n"]), {}).setdefault(r["method"], []).append(r)
    rows, medians = [], {m: [] for m in METHODS}  # medians: each cell's median SHD per method
    ratio_hc, ratio_pc = [], []
    for (net, n), by_method in cells.items():
        row: dict[str, Any] = {"net": net, "n": n}
        secs = {}
        for m in METHODS:
            done = [r for r in by_method.get(m, []) if r["status"] == "ok"]
            statuses = {r["status"] for r in by_method.get(m, [])}
            if not done:
                row[m] = "skipped" if statuses == {"skipped"} else "error"
                continue
            shds = [r["shd"] for r in done]
            secs[m] = _median([r["seconds"] for r in done])
            medians[m].append(_median(shds))
            failed = len(by_method[m]) - len(done)
            row[m] = (f"{_median(shds):g} ({'/'.join(map(str, shds))}) {secs[m]:.3g}s"
                      + (f" [{failed} failed]" if failed else ""))
        if "pgmpy hc" in secs and "genlab tabu" in secs:
            row["pgmpy HC s / genlab tabu s"] = secs["pgmpy hc"] / secs["genlab tabu"]
            ratio_hc.append(row["pgmpy HC s / genlab tabu s"])
        if "pgmpy pc" in secs and "genlab pc" in secs:
            row["pgmpy PC s / genlab PC s"] = secs["pgmpy pc"] / secs["genlab pc"]
            ratio_pc.append(row["pgmpy PC s / genlab PC s"])
        rows.append(row)
    print("## structure learning: SHD vs the true CPDAG, CPU seconds (one thread)\n")
    print(f"Cells: median SHD (SHD of seeds {'/'.join(map(str, args.structure_seeds))}) median "
          "seconds. pgmpy PC: g_sq, max_cond_vars=5; genlab PC: G², no limit on the "
          "conditioning set.\n")
    print(markdown(rows, ["net", "n", *METHODS, "pgmpy HC s / genlab tabu s",
                          "pgmpy PC s / genlab PC s"]))
    print("\nmedian over cells of each method's median SHD: " + "; ".join(
        f"{m} {_median(medians[m]):g} ({len(medians[m])} cells)" for m in METHODS))
    peers = [m for m in METHODS if not m.startswith("genlab") and medians[m]]
    best = min(peers, key=lambda m: _median(medians[m]), default=None)
    if best is not None:
        for m in ("genlab tabu", "genlab hc"):
            ok = _median(medians[m]) <= _median(medians[best])
            print(f"{m} {_median(medians[m]):g} vs the best peer ({best}) "
                  f"{_median(medians[best]):g}: {'≤ ✓' if ok else '> ✗'}")
    for label, ratios in (("pgmpy HC s / genlab tabu s", ratio_hc),
                          ("pgmpy PC s / genlab PC s", ratio_pc)):
        if ratios:
            print(f"{label}: median × {_median(ratios):.0f}, smallest × {min(ratios):.1f} "
                  f"({len(ratios)} cells)")
    summary = []
    for m in METHODS:
        done = [r for r in runs if r["method"] == m and r["status"] == "ok"]
        summary.append({
            "method": m, "runs": len(done),
            "skipped": sum(r["method"] == m and r["status"] == "skipped" for r in runs),
            "errors": sum(r["method"] == m and r["status"].startswith("error") for r in runs),
            "median SHD": _median([float(r["shd"]) for r in done]),
            "total s": float(sum(r["seconds"] for r in done)),
        })
    print("\n### per method, over all runs\n")
    print(markdown(summary, ["method", "runs", "skipped", "errors", "median SHD", "total s"]))
    print(flush=True)


def run_structure(args: argparse.Namespace, markdown: Callable, timed: Callable) -> list[dict]:
    print(f"## structure: {' '.join(args.structure_networks)} × n "
          f"{' '.join(map(str, args.structure_rows))} × seeds "
          f"{' '.join(map(str, args.structure_seeds))} (progress)\n", flush=True)
    runs = bench_structure(args, timed)
    report(runs, args, markdown)
    return runs
