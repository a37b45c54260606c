"""genlab vs pgmpy on linear-Gaussian Bayesian networks: fit, joint, posterior queries.

Random networks of 50 and 100 nodes (seeded DAGs, about two parents per node, weights
N(0, 0.5²), variances U(0.2, 2)); both libraries get the same DataFrame of forward samples.
pgmpy 1.1.2's `LinearGaussianBayesianNetwork` fits each node with sklearn's LinearRegression
(`LinearGaussianMLE(std_estimator="mle")`, so both use the maximum-likelihood variance), forms
the joint with `np.linalg.inv` and rounds it to 8 decimals, and answers evidence by
`predict_probability` (covariance-form solves). genlab fits from one pass of sufficient
statistics and answers in information form (see genlab.pgm.models.gaussian).

Rows of the table:
  fit            parameters from --rows samples; max |Δ| over weights, biases and std devs
  joint          joint mean and covariance; max |Δ|
  log-lik        total log-likelihood of the samples; relative Δ
  predict        posterior mean and covariance of the unobserved half given the observed half,
                 for 1, 100 and --rows evidence rows (one observed set); max |Δ|, and genlab's
                 distance from pgmpy's formula evaluated on genlab's unrounded joint; and the
                 user-facing `predict` of both (a DataFrame in, the filled DataFrame out)
  predict 10^6   the same for 10^6 evidence rows (genlab only unless --peer-million)

Times are CPU seconds (time.process_time) with BLAS on one thread, best of --repeat runs;
ratio = pgmpy / genlab (> 1: genlab faster).
Reproduce: python benchmarks/gaussian_vs_pgmpy.py [--nodes 50 100] [--rows 10000]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _one_thread import timed

# isort: split
import argparse
import math
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from genlab.pgm import GaussianCPD, LinearGaussianBayesianNetwork, fit_gaussian


def random_network(nodes: int, seed: int) -> LinearGaussianBayesianNetwork:
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(nodes)]
    cpds = []
    for i, name in enumerate(names):
        k = min(i, int(rng.poisson(2.0)))
        parents = tuple(names[j] for j in sorted(rng.choice(i, size=k, replace=False))) if k else ()
        cpds.append(GaussianCPD(name, parents, tuple(rng.normal(0, 0.5, k)), rng.normal(0, 1),
                                rng.uniform(0.2, 2.0)))
    return LinearGaussianBayesianNetwork(cpds)


def pgmpy_model(net: LinearGaussianBayesianNetwork) -> Any:
    from pgmpy.models import LinearGaussianBayesianNetwork as PgmpyLG

    model = PgmpyLG(net.dag.edges)
    model.add_nodes_from(net.variables)
    return model


def compare(nodes: int, rows: int, repeat: int, peer_million: bool) -> list[list[str]]:
    from pgmpy.parameter_estimator import LinearGaussianMLE

    truth = random_network(nodes, seed=nodes)
    data = truth.sample(rows, seed=1)
    out: list[list[str]] = []

    def row(task: str, ours: float, theirs: float | None, diff: str) -> None:
        ratio = f"{theirs / ours:.1f}×" if theirs is not None and ours > 0 else "—"
        peer = f"{theirs:.4f}" if theirs is not None else "—"
        out.append([f"{nodes}", task, f"{ours:.4f}", peer, ratio, diff])

    # fit
    ours_net, t_ours = timed(lambda: fit_gaussian(truth.dag, data), repeat)

    def peer_fit() -> Any:
        model = pgmpy_model(truth)
        return model.fit(data, estimator=LinearGaussianMLE(std_estimator="mle"))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer, t_peer = timed(peer_fit, repeat)
    diff = 0.0
    for cpd in ours_net.cpds:
        theirs = peer.get_cpds(cpd.name)
        order = [list(theirs.evidence).index(p) for p in cpd.parents]
        beta = np.asarray(theirs.beta, dtype=float)
        diff = max(diff, abs(beta[0] - cpd.bias), abs(theirs.std - math.sqrt(cpd.variance)),
                   *(abs(beta[1:][order] - np.asarray(cpd.weights))), 0.0)
    row("fit", t_ours, t_peer, f"{diff:.1e}")

    # joint (pgmpy orders variables topologically too, but maybe differently)
    joint, t_ours = timed(ours_net.joint, repeat)
    (mean, cov), t_peer = timed(peer.to_joint_gaussian, repeat)
    import networkx as nx

    peer_order = list(nx.topological_sort(peer))
    idx = [joint.variables.index(v) for v in peer_order]
    diff = max(np.abs(joint.mean[idx] - mean).max(),
               np.abs(joint.covariance[np.ix_(idx, idx)] - cov).max())
    row("joint", t_ours, t_peer, f"{diff:.1e} (pgmpy rounds to 1e-8)")

    # log-likelihood of the rows
    ll, t_ours = timed(lambda: float(ours_net.log_density(data).sum()), repeat)
    ll_peer, t_peer = timed(lambda: float(peer.log_likelihood(data)), repeat)
    row("log-lik", t_ours, t_peer, f"{abs(ll - ll_peer) / abs(ll):.1e} rel")

    # posterior of the second half given the first half; each call on a fresh network object,
    # so genlab factors J_QQ every time as pgmpy re-derives its joint every time; then again
    # with the factor genlab caches per observed set (plan once, query many)
    observed = list(ours_net.variables[: nodes // 2])
    unrounded = ours_net.joint()
    for count in (1, 100, rows):
        evidence = data[observed].iloc[:count]
        fresh_nets = iter([LinearGaussianBayesianNetwork(ours_net.cpds) for _ in range(repeat)])
        post, t_ours = timed(lambda e=evidence, f=fresh_nets: next(f).query(None, e), repeat)
        _, t_warm = timed(lambda e=evidence: ours_net.query(None, e), repeat)
        (names, mu, sigma), t_peer = timed(lambda e=evidence: peer.predict_probability(e),
                                           repeat)
        idx = [post.variables.index(v) for v in names]
        diff = max(np.abs(post.mean[:, idx] - mu).max(),
                   np.abs(post.covariance[np.ix_(idx, idx)] - sigma).max())
        # pgmpy's formula on genlab's unrounded joint: what is left is pgmpy's 1e-8 rounding
        q = [unrounded.variables.index(v) for v in names]
        e = [unrounded.variables.index(v) for v in observed]
        c = unrounded.covariance
        solve = np.linalg.solve(c[np.ix_(e, e)], (evidence.to_numpy() - unrounded.mean[e]).T)
        formula = unrounded.mean[q] + (c[np.ix_(q, e)] @ solve).T
        exact = np.abs(post.mean[:, idx] - formula).max()
        row(f"predict {count} rows", t_ours, t_peer,
            f"{diff:.1e} (vs the unrounded formula {exact:.0e})")
        row(f"predict {count} rows, factor cached", t_warm, t_peer, "same")
        if count == rows:
            # the floor of any method that forms the posterior means with one dense
            # (N, e) × (e, q) product (a gain computed beforehand, not timed): pgmpy / floor is
            # the most such a method can gain over pgmpy here
            values = evidence.to_numpy()
            gain = np.linalg.solve(c[np.ix_(e, e)], c[np.ix_(e, q)])  # (e, q), not timed
            _, t_floor = timed(lambda v=values, g=gain: v @ g, repeat)
            row(f"bare dense product ({count}×{len(e)})·({len(e)}×{len(q)}), no overhead",
                t_floor, t_peer, "the floor of a dense method")
        # the user-facing call of both: a DataFrame in, the filled-in DataFrame out
        filled, t_ours = timed(lambda e=evidence: ours_net.predict(e), repeat)
        theirs, t_peer = timed(lambda e=evidence: peer.predict(e), repeat)
        diff = np.abs(filled[list(theirs.columns)].to_numpy() - theirs.to_numpy()).max()
        row(f"predict() {count} rows, DataFrame out", t_ours, t_peer, f"{diff:.1e}")

    # 10^6 evidence rows
    million = pd.DataFrame(np.random.default_rng(2).normal(0, 1, (10**6, len(observed))),
                           columns=observed)
    fresh = LinearGaussianBayesianNetwork(ours_net.cpds)  # no cached factor: it is timed too
    post, t_ours = timed(lambda: fresh.query(None, million), 1)
    t_peer_m = None
    if peer_million:
        _, t_peer_m = timed(lambda: peer.predict_probability(million), 1)
    again = LinearGaussianBayesianNetwork(ours_net.cpds)
    t0 = time.perf_counter()
    again.query(None, million)
    row("predict 10^6 rows", t_ours, t_peer_m, f"wall {time.perf_counter() - t0:.3f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-million", action="store_true",
                        help="also time pgmpy on the 10^6 evidence rows")
    args = parser.parse_args()
    header = ["nodes", "task", "genlab s", "pgmpy s", "ratio", "max |Δ|"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for nodes in args.nodes:
        for r in compare(nodes, args.rows, args.repeat, args.peer_million):
            lines.append("| " + " | ".join(r) + " |")
            print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
