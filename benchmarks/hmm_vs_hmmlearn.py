"""genlab's HiddenMarkovModel vs hmmlearn (and pomegranate when installed), one thread.

Protocol of HiddenMarkovModels.jl's benchmark: K = 2..10 states, T = 100, 50 sequences, 5
Baum–Welch iterations, identical initial parameters in every library. Emissions: categorical
(8 symbols) and Gaussian with diagonal covariance (3 dimensions). Reported: the log-likelihood
after Baum–Welch in each library (must agree to 1e-8 relative) and the best-of-R CPU time of
forward–backward (posteriors), Viterbi and 5 Baum–Welch iterations, with ratios
hmmlearn / genlab (> 1: genlab is faster). hmmlearn runs both of its implementations ("log",
its default, and "scaling") and the faster one is reported.

Then many short sequences (10,000 of T = 10..20), where genlab's packed batch axis should win
≥ 10× (best of --short-repeat, 3 by default like the table above; 1 times a single cold call),
and the exact engine on the lowered factor graph (batched evidence rows) against the dedicated
scan, on the same posteriors; and the numpy floor of Viterbi (one reduction and one argmax a
step on arrays of the right shape: the per-call overhead a compiled loop does not pay).
A summary gives the min and geometric-mean ratio per column.

Every library gets the same input: the sequences concatenated plus their lengths (hmmlearn's
X, lengths); genlab validates, encodes and packs them inside each timed call.

Reproduce: python benchmarks/hmm_vs_hmmlearn.py [--quick] (it sets the thread variables)
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

from genlab.pgm.models.hmm import HiddenMarkovModel
from genlab.pgm.models.hmm_fit import baum_welch

M_SYMBOLS = 8
DIM = 3


def make_case(kind: str, k: int, n: int, lengths: np.ndarray, seed: int
              ) -> tuple[HiddenMarkovModel, HiddenMarkovModel, list[np.ndarray]]:
    """(true model, initial model, sequences): data drawn from a random true model; the
    initial parameters are another random draw (the same for every library)."""
    rng = np.random.default_rng(seed)

    def random_model() -> HiddenMarkovModel:
        start = rng.dirichlet(np.ones(k))
        trans = rng.dirichlet(np.ones(k), size=k)
        if kind == "categorical":
            return HiddenMarkovModel.categorical(start, trans,
                                                 rng.dirichlet(np.ones(M_SYMBOLS), size=k))
        return HiddenMarkovModel.gaussian(start, trans, rng.normal(scale=2.0, size=(k, DIM)),
                                          rng.uniform(0.5, 2.0, size=(k, DIM)), "diag")

    truth, init = random_model(), random_model()
    drawn = truth.sample(n, lengths, seed=seed + 1)
    if kind == "categorical":
        seqs = [np.asarray(o).astype(np.int64) for o in drawn.observations]  # symbols "0".."7"
    else:
        seqs = [np.asarray(o, dtype=np.float64) for o in drawn.observations]
    return truth, init, seqs


def hmmlearn_model(kind: str, init: HiddenMarkovModel, implementation: str, n_iter: int) -> Any:
    from hmmlearn import hmm

    common = {"n_components": init.n_states, "init_params": "", "n_iter": n_iter,
              "tol": -np.inf, "implementation": implementation}
    if kind == "categorical":
        m = hmm.CategoricalHMM(params="ste", n_features=M_SYMBOLS, **common)
        m.emissionprob_ = init.emission.probabilities.copy()  # type: ignore[attr-defined]
    else:
        m = hmm.GaussianHMM(covariance_type="diag", params="stmc", **common)
        m.means_ = init.emission.means.copy()  # type: ignore[attr-defined]
        m.covars_ = init.emission.covariances.copy()  # type: ignore[attr-defined]
    m.startprob_ = init.start.copy()
    m.transmat_ = init.transition.copy()
    return m


def run_hmmlearn(kind: str, init: HiddenMarkovModel, seqs: list[np.ndarray], n_iter: int,
                 repeat: int) -> dict[str, Any]:
    """Times of hmmlearn's faster implementation, its fitted log-likelihood and iterations."""
    x = np.concatenate(seqs)
    x = x.reshape(-1, 1) if kind == "categorical" else x
    lengths = [len(s) for s in seqs]
    best: dict[str, Any] | None = None
    for implementation in ("log", "scaling"):
        m = hmmlearn_model(kind, init, implementation, n_iter)
        _, t_fb = timed(lambda m=m: m.score_samples(x, lengths), repeat)
        _, t_vit = timed(lambda m=m: m.decode(x, lengths, algorithm="viterbi"), repeat)

        def fit(implementation: str = implementation) -> Any:
            fresh = hmmlearn_model(kind, init, implementation, n_iter)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return fresh.fit(x, lengths)

        fitted, t_bw = timed(fit, repeat)
        row = {"fb": t_fb, "viterbi": t_vit, "bw": t_bw, "impl": implementation,
               "loglik": float(fitted.score(x, lengths)), "iters": fitted.monitor_.iter}
        if best is None or t_fb + t_vit + t_bw < best["fb"] + best["viterbi"] + best["bw"]:
            best = row
    assert best is not None
    return best


def run_genlab(init: HiddenMarkovModel, seqs: list[np.ndarray], n_iter: int, repeat: int
               ) -> dict[str, Any]:
    """genlab on hmmlearn's input (X, lengths), validated and packed inside every timed call;
    posteriors and paths come back per sequence (list-like views of one array)."""
    x, lengths = np.concatenate(seqs), [len(s) for s in seqs]
    _, t_fb = timed(lambda: init.posteriors(init.prepare(x, lengths)), repeat)
    _, t_vit = timed(lambda: init.viterbi(init.prepare(x, lengths)), repeat)
    fitted, t_bw = timed(lambda: baum_welch(init, init.prepare(x, lengths), max_iter=n_iter,
                                            tol=-np.inf), repeat)
    return {"fb": t_fb, "viterbi": t_vit, "bw": t_bw, "loglik": fitted.log_likelihood,
            "loglik0": fitted.monitor.history[0], "iters": fitted.monitor.iterations - 1}


def run_pomegranate(kind: str, init: HiddenMarkovModel, seqs: list[np.ndarray], n_iter: int,
                    repeat: int) -> dict[str, Any] | None:
    """pomegranate v1 (torch, float32): equal-length sequences only, no Viterbi. Its EM also
    learns end probabilities (a different model), so only the log-likelihood at the initial
    parameters is compared (at float32 precision)."""
    try:
        import torch
        from pomegranate.distributions import Categorical, Normal
        from pomegranate.hmm import DenseHMM
    except ImportError:
        return None
    if len({len(s) for s in seqs}) != 1:
        return None
    torch.set_num_threads(1)

    def f32(a: np.ndarray) -> Any:
        return torch.tensor(a, dtype=torch.float32)

    def model() -> Any:
        if kind == "categorical":
            dists = [Categorical(torch.tensor(p[None], dtype=torch.float32))
                     for p in init.emission.probabilities]  # type: ignore[attr-defined]
        else:
            em = init.emission
            dists = [Normal(f32(em.means[j]), f32(em.covariances[j]),  # type: ignore[attr-defined]
                            covariance_type="diag") for j in range(init.n_states)]
        # ends = 1 (log 0): no end factor, so the likelihood is the same model's
        return DenseHMM(dists, edges=f32(init.transition), starts=f32(init.start),
                        ends=f32(np.ones(init.n_states)), max_iter=n_iter, tol=0.0,
                        verbose=False)

    x = torch.tensor(np.stack(seqs)) if kind == "categorical" else f32(np.stack(seqs))
    x = x[..., None] if kind == "categorical" else x
    m = model()
    _, t_fb = timed(lambda: m.forward_backward(x), repeat)

    def fit() -> Any:
        fresh = model()
        fresh.fit(x)
        return fresh

    _, t_bw = timed(fit, repeat)
    return {"fb": t_fb, "bw": t_bw, "loglik0": float(m.log_probability(x).sum())}


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b > 0 else "–"


Ratios = dict[tuple[str, str], list[float]]  # (rows, column) -> hmmlearn / genlab per case


def record(ratios: Ratios, rows: str, g: dict[str, Any], h: dict[str, Any]) -> None:
    """Keep this case's three ratios for the summary."""
    for column in ("fb", "viterbi", "bw"):
        ratios.setdefault((rows, column), []).append(h[column] / g[column])


def summary(ratios: Ratios) -> list[str]:
    """Min and geometric mean of each ratio column (> 1: genlab is faster)."""
    names = {"fb": "forward–backward", "viterbi": "Viterbi", "bw": "Baum–Welch ×5"}
    lines = ["| cases | algorithm | min ratio | geometric mean ratio |", "|---|---|---|---|"]
    for (rows, column), values in ratios.items():
        mean = math.exp(sum(math.log(v) for v in values) / len(values))
        lines.append(f"| {rows} | {names[column]} | {min(values):.2f}× | {mean:.2f}× |")
    return lines


def protocol(args: argparse.Namespace, ratios: Ratios) -> list[str]:
    lines = ["| emissions | K | genlab fb | hmmlearn fb | ratio | genlab Viterbi | hmmlearn "
             "Viterbi | ratio | genlab BW×5 | hmmlearn BW×5 | ratio | hmmlearn impl | "
             "log-lik genlab | rel. diff hmmlearn | pomegranate fb / BW×5 (rel. diff) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind in ("categorical", "gaussian"):
        for k in args.states:
            _, init, seqs = make_case(kind, k, args.sequences, np.full(args.sequences, args.length),
                                      seed=100 + k)
            g = run_genlab(init, seqs, args.iterations, args.repeat)
            h = run_hmmlearn(kind, init, seqs, args.iterations, args.repeat)
            assert h["iters"] == args.iterations == g["iters"], (h["iters"], g["iters"])
            rel = abs(g["loglik"] - h["loglik"]) / abs(h["loglik"])
            record(ratios, f"{kind}, T = {args.length}, {args.sequences} sequences", g, h)
            p = run_pomegranate(kind, init, seqs, args.iterations, args.repeat) \
                if args.pomegranate else None
            pom = "skipped" if p is None else (
                f"{p['fb'] * 1e3:.1f} ms / {p['bw'] * 1e3:.0f} ms "
                f"({abs(p['loglik0'] - g['loglik0']) / abs(g['loglik0']):.1e})")
            lines.append(
                f"| {kind} | {k} | {g['fb'] * 1e3:.2f} ms | {h['fb'] * 1e3:.2f} ms | "
                f"{ratio(h['fb'], g['fb'])} | {g['viterbi'] * 1e3:.2f} ms | "
                f"{h['viterbi'] * 1e3:.2f} ms | {ratio(h['viterbi'], g['viterbi'])} | "
                f"{g['bw'] * 1e3:.1f} ms | {h['bw'] * 1e3:.1f} ms | {ratio(h['bw'], g['bw'])} | "
                f"{h['impl']} | {g['loglik']:.10g} | {rel:.1e}{'' if rel < 1e-8 else ' FAIL'} | "
                f"{pom} |")
            print(lines[-1], flush=True)
    return lines


def many_short(args: argparse.Namespace, ratios: Ratios) -> list[str]:
    lines = ["| emissions | K | sequences (T) | genlab fb | hmmlearn fb | ratio | genlab "
             "Viterbi | hmmlearn Viterbi | ratio | genlab BW×5 | hmmlearn BW×5 | ratio | "
             "rel. diff |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    rng = np.random.default_rng(7)
    lengths = rng.integers(10, 21, size=args.short)
    for kind in ("categorical", "gaussian"):
        k = 4
        _, init, seqs = make_case(kind, k, args.short, lengths, seed=7)
        g = run_genlab(init, seqs, args.iterations, args.short_repeat)
        h = run_hmmlearn(kind, init, seqs, args.iterations, args.short_repeat)
        rel = abs(g["loglik"] - h["loglik"]) / abs(h["loglik"])
        record(ratios, f"{kind}, {args.short} short sequences", g, h)
        lines.append(
            f"| {kind} | {k} | {args.short} (10–20) | {g['fb'] * 1e3:.0f} ms | "
            f"{h['fb'] * 1e3:.0f} ms | {ratio(h['fb'], g['fb'])} | {g['viterbi'] * 1e3:.0f} ms | "
            f"{h['viterbi'] * 1e3:.0f} ms | {ratio(h['viterbi'], g['viterbi'])} | "
            f"{g['bw'] * 1e3:.0f} ms | {h['bw'] * 1e3:.0f} ms | {ratio(h['bw'], g['bw'])} | "
            f"{rel:.1e} |")
        print(lines[-1], flush=True)
    return lines


def numpy_floor(args: argparse.Namespace) -> list[str]:
    """The least a numpy Viterbi over N sequences pays at T steps: one reduction over the
    previous state and one argmax per step (forward and backtrack), on arrays of the right
    shape and nothing else — the per-call overhead a compiled loop does not have."""
    lines = ["| K | two numpy calls a step, T steps, nothing else |", "|---|---|"]
    rng = np.random.default_rng(0)
    n = args.sequences
    for k in args.states:
        block, into = rng.normal(size=(k, k, n)), np.empty((k, n))
        scores, chosen = rng.normal(size=(k, n)), np.empty(n, dtype=np.intp)

        def steps(block: np.ndarray = block, into: np.ndarray = into,
                  scores: np.ndarray = scores, chosen: np.ndarray = chosen) -> None:
            for _ in range(args.length):
                np.maximum.reduce(block, 0, None, into)
            for _ in range(args.length):
                scores.argmax(0, chosen)

        _, seconds = timed(steps, max(args.repeat, 10))
        lines.append(f"| {k} | {seconds * 1e3:.2f} ms |")
    return lines


def engine_vs_scan(args: argparse.Namespace) -> list[str]:
    """Posteriors of N equal-length categorical sequences: the exact engine on the lowered
    graph with N batched evidence rows vs the dedicated packed scan."""
    from genlab.pgm.inference import ExactInference

    k, t, n = 4, 20, args.engine_rows
    _, model, seqs = make_case("categorical", k, n, np.full(n, t), seed=3)
    eng = ExactInference(model.to_factor_graph(t))
    columns = [f"x{i}" for i in range(t)]
    rows = np.stack(seqs)
    eng.marginals(rows[:2], columns=columns)  # plan and compile once, outside the timing
    marg, t_engine = timed(lambda: eng.marginals(rows, columns=columns), args.repeat)
    posts, t_scan = timed(lambda: model.posteriors(seqs), args.repeat)
    err = max(float(np.abs(marg[f"z{i}"] - np.stack([p[i] for p in posts])).max())
              for i in range(t))
    line = (f"| posteriors, K={k}, T={t}, {n} sequences | engine {t_engine * 1e3:.0f} ms | "
            f"scan {t_scan * 1e3:.1f} ms | scan {ratio(t_engine, t_scan)} faster | "
            f"max |Δ| {err:.1e} |")
    print(line, flush=True)
    return ["| case | exact engine (batched rows) | packed scan | | agreement |",
            "|---|---|---|---|---|", line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, nargs="+", default=[2, 4, 6, 8, 10])
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--sequences", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--short", type=int, default=10_000)
    parser.add_argument("--short-repeat", type=int, default=3,
                        help="best of R for the short-sequence rows too (1: a single cold call, "
                             "where genlab also pays the page faults of its first large arrays)")
    parser.add_argument("--engine-rows", type=int, default=2000)
    parser.add_argument("--no-pomegranate", dest="pomegranate", action="store_false")
    parser.add_argument("--quick", action="store_true", help="K = 2 and 6 only, 2000 short.")
    args = parser.parse_args()
    if args.quick:
        args.states, args.short, args.repeat = [2, 6], 2000, 2
    t0 = time.perf_counter()
    out = ["## HiddenMarkovModels.jl protocol (T = 100, 50 sequences, 5 Baum–Welch "
           "iterations, one thread; CPU ms, best of "
           f"{args.repeat}; ratio = hmmlearn / genlab)", ""]
    ratios: Ratios = {}
    out += protocol(args, ratios)
    out += ["", f"## {args.short} short sequences (T = 10–20), K = 4, 5 iterations, best of "
            f"{args.short_repeat}", ""]
    out += many_short(args, ratios)
    out += ["", f"## The numpy floor of Viterbi ({args.sequences} sequences, T = {args.length})",
            ""]
    out += numpy_floor(args)
    out += ["", "## Exact engine on the lowered factor graph vs the dedicated scan", ""]
    out += engine_vs_scan(args)
    out += ["", "## Summary: hmmlearn / genlab over the cases above", ""]
    out += summary(ratios)
    print("\n" + "\n".join(out))
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
