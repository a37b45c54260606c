"""Peers for the UAI 2014 problems: toulbar2 for MAP, pyAgrum for MAR (and, where it can, PR).

Each function takes a UAI model path (evidence from ``path + ".evid"`` when that file exists)
and a wall-clock budget in seconds, runs in the current process, never raises (failures come
back as ``status == "error: ..."``) and imports its peer lazily, so genlab never depends on it.

* ``toulbar2_map`` reads the model with toulbar2's own UAI reader (costs -ln(ψ / max ψ) scaled by
  toulbar2's NormFactor ≈ 1e7) and applies the evidence through ``Option.evidence_file``.
  toulbar2's ``timeLimit`` is a CPU-time (ITIMER_VIRTUAL) limit in whole seconds, so a tiny
  helper process sends toulbar2's timer signal (SIGVTALRM) at the wall-clock deadline instead.
* ``pyagrum_marginals`` turns the Markov network into an equivalent Bayesian network (see
  ``_to_bayes_net``) and runs pyAgrum's LoopyBeliefPropagation or GibbsSampling on it. pyAgrum
  finds Gibbs' first sample by drawing until one is consistent with the evidence (seconds on
  these nets, sometimes "No sample with a positive probability found"), which can overrun the
  budget; its burn-in, also unchecked against the time limit, is set to 0.
* ``pyagrum_log10_z`` reports "not available": none of pyAgrum's approximate engines has
  ``evidenceProbability()`` (only the exact LazyPropagation / ShaferShenoyInference do).

    python benchmarks/uai_peers.py      # the demo at the bottom
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["pyagrum_log10_z", "pyagrum_marginals", "toulbar2_map"]

MAX_CPT_ENTRIES = 20_000_000  # a converted factor whose CPT is larger is "too large"
APPROXIMATE_ENGINES = (
    "LoopyBeliefPropagation", "GibbsSampling", "ImportanceSampling", "WeightedSampling",
    "MonteCarloSampling", "LoopyGibbsSampling", "LoopyImportanceSampling",
    "LoopyMonteCarloSampling", "LoopyWeightedSampling",
)
# Sent by the helper process at the wall-clock deadline: toulbar2's timeOut handler (installed
# by Solver.timer) catches SIGVTALRM and makes the search stop with its best solution so far.
_ALARM = (
    "import os, signal, sys, time\n"
    "time.sleep(max(0.0, float(sys.argv[1]) - time.time()))\n"
    "if os.getppid() == int(sys.argv[2]):\n"
    "    os.kill(int(sys.argv[2]), signal.SIGVTALRM)\n"
)


def _error(exc: BaseException) -> str:
    return f"error: {type(exc).__name__}: {exc}"


def _evidence_path(path: str) -> str | None:
    evid = f"{path}.evid"
    return evid if os.path.exists(evid) else None


def _fflush_c() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Send file descriptors 1 and 2 (C and C++ output too) to /dev/null for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    _fflush_c()
    saved = (os.dup(1), os.dup(2))
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _fflush_c()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


# ---------------------------------------------------------------------------------------------
# toulbar2: MAP


def toulbar2_map(path: str, seconds: float) -> dict[str, Any]:
    """MAP (MPE) of the UAI model at `path` given its evidence, by toulbar2 within `seconds`.

    Returns {"assignment": one state per variable in UAI order or None, "proven": optimality
    proved, "seconds", "status", "log_score": genlab's ln Π ψ of the assignment (evidence
    merged in), "toulbar2_log_score": the same from toulbar2's integer cost}.
    """
    t0 = time.perf_counter()
    out: dict[str, Any] = {"assignment": None, "proven": False, "seconds": 0.0, "status": ""}
    try:
        out.update(_toulbar2_solve(path, float(seconds), t0))
    except Exception as exc:
        out["status"] = _error(exc)
    out["seconds"] = out.get("seconds") or time.perf_counter() - t0
    if out["assignment"] is not None and not out["status"].startswith("error"):
        with contextlib.suppress(Exception):
            out.update(_check_map(path, out))
    return out


def _toulbar2_solve(path: str, seconds: float, t0: float) -> dict[str, Any]:
    import pytoulbar2

    if not os.path.exists(path):
        return {"status": f"error: no file {path}"}
    infeasible = {"proven": True, "status": "infeasible: every assignment has probability 0"}
    with _quiet():
        # toulbar2's options are thread-local and set by init() (run at import, in whichever
        # thread imported it): reset them to the defaults here, in this thread.
        pytoulbar2.pytb2.init()
        cfn = pytoulbar2.CFN(verbose=-1)
        # toulbar2 would also try path + ".evid" by itself; name it (or /dev/null: none).
        cfn.Option.evidence_file = _evidence_path(path) or os.devnull
        try:
            cfn.Read(path)  # a zero factor or impossible evidence: Contradiction
        except cfn.Contradiction:
            return {**infeasible, "seconds": time.perf_counter() - t0}
        norm = float(cfn.Option.NormFactor)
        shift = float(cfn.Option.markov_log)  # Σ ln max ψ over the MARKOV factors
        remaining = seconds - (time.perf_counter() - t0)
        if remaining <= 0:
            return {"status": "timeout: reading the model used the budget"}
        result = _solve_by_wall_clock(cfn, remaining)
        dual = float(cfn.GetDDualBound())
    elapsed = time.perf_counter() - t0
    fired = elapsed >= seconds - 0.01  # the search ran to the deadline
    if result is None:
        if fired:
            return {"seconds": elapsed, "status": "timeout: no solution found"}
        return {**infeasible, "seconds": elapsed}
    values, cost, _count = result
    cost = float(cost)
    # Before the deadline toulbar2 stops only once it has proved optimality (or on a Ctrl-C,
    # which its handler takes during the search); a dual bound equal to the cost is a proof.
    proven = not fired or dual >= cost - 0.5
    status = "optimal" if proven else "timeout"
    return {"assignment": [int(v) for v in values], "proven": proven, "seconds": elapsed,
            "status": status, "toulbar2_log_score": shift - cost / norm,
            "toulbar2_cost": cost, "toulbar2_dual_bound": dual}


def _solve_by_wall_clock(cfn: Any, seconds: float) -> Any:
    """cfn.Solve(), stopped at a wall-clock deadline `seconds` from now."""
    watched = (signal.SIGINT, signal.SIGVTALRM)  # toulbar2's Solver.timer takes both
    main = threading.current_thread() is threading.main_thread()
    before = {s: signal.getsignal(s) for s in watched} if main else {}
    # CPU-time timer as a backstop; this also installs toulbar2's handler for SIGVTALRM.
    cfn.CFN.timer(max(1, math.ceil(seconds) + 1))
    helper = subprocess.Popen(
        [sys.executable, "-c", _ALARM, repr(time.time() + seconds), str(os.getpid())],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        result = cfn.Solve()  # timeLimit=0: keep the timer set above
    finally:
        if helper.poll() is None:
            helper.kill()
        helper.wait()  # after this no SIGVTALRM can come
        cfn.CFN.timerStop()
        for sig, handler in before.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    return result


def _check_map(path: str, out: dict[str, Any]) -> dict[str, Any]:
    """genlab's log score of the assignment, and whether it kept the evidence."""
    from genlab.pgm.uai_tasks import load_uai_problem

    model, evidence = load_uai_problem(path)
    states = out["assignment"]
    if len(states) != len(model.variables):
        return {"status": f"error: {len(states)} states for {len(model.variables)} variables"}
    assignment = {v: int(s) for v, s in zip(model.variables, states, strict=True)}
    broken = [v for v, s in evidence.items() if assignment[v] != s]
    assignment.update(evidence)
    extra: dict[str, Any] = {"log_score": model.log_score(assignment)}
    if broken:
        extra["status"] = f"error: evidence not applied to {len(broken)} variables"
    return extra


# ---------------------------------------------------------------------------------------------
# pyAgrum: the Markov network as a Bayesian network


@dataclass
class _Converted:
    """A Markov network (given its evidence) as a BN whose evidence makes its posterior."""

    bn: Any = None
    node_of: dict[str, str] = field(default_factory=dict)  # unobserved variable → node name
    evidence: dict[str, int] = field(default_factory=dict)  # factor node → 1
    log10_const: float = 0.0  # log10 Z = log10 P(evidence in bn) + log10_const
    problem: str = ""  # non-empty: no BN (status to report)


def _to_bayes_net(model: Any, evidence: dict[str, int]) -> _Converted:
    """Reduce every factor by the evidence (observed variables get no node); give each
    unobserved variable a root node whose prior is its unary factors' product, normalized
    (uniform when it has none); give every other non-constant factor ψ a binary child F of its
    scope with P(F=1 | s) = ψ(s) / max ψ. Then P(x | all F=1) is the network's posterior and
    Z = P(all F=1) · Π max ψ · Π_v Σ_x u_v(x) (u_v: product of v's unary factors, 1 if none).
    """
    import pyagrum as gum

    conv = _Converted()
    unary: dict[str, np.ndarray] = {}
    tables: list[tuple[tuple[str, ...], np.ndarray]] = []
    for k, factor in enumerate(model.factors):
        reduced = factor.reduce(evidence)
        table = np.asarray(reduced.table, dtype=np.float64)
        top = float(table.max()) if table.size else 0.0
        if top <= 0.0:
            conv.problem = f"inconsistent: factor {k} is 0 everywhere given the evidence"
            return conv
        conv.log10_const += math.log10(top)
        table = table / top
        if not reduced.variables or float(table.min()) == 1.0:
            continue  # a constant: only Z sees it
        if len(reduced.variables) == 1:
            v = reduced.variables[0]
            unary[v] = unary[v] * table if v in unary else table
            continue
        entries = 2 * table.size
        if entries > MAX_CPT_ENTRIES:
            conv.problem = (f"too large: factor {k} over {len(reduced.variables)} variables "
                            f"needs a CPT of {entries:.3g} entries")
            return conv
        tables.append((reduced.variables, table))

    bn = gum.BayesNet("uai")
    for v in model.variables:
        if v in evidence:
            continue
        card = model.card(v)
        prior = unary.get(v, np.ones(card))
        total = float(prior.sum())
        if total <= 0.0:
            conv.problem = f"inconsistent: variable {v} has no state of nonzero weight"
            return conv
        conv.log10_const += math.log10(total)
        name = f"x{v}"
        bn.add(gum.RangeVariable(name, "", 0, card - 1))
        bn.cpt(name).fillWith(np.ascontiguousarray(prior / total))
        conv.node_of[v] = name
    for k, (scope, table) in enumerate(tables):
        name = f"f{k}"
        bn.add(gum.RangeVariable(name, "", 0, 1))
        for v in scope:
            bn.addArc(conv.node_of[v], name)
        cpt = bn.cpt(name)
        joint = np.stack([1.0 - table, table], axis=-1)  # axes: scope..., F
        axis_of = {conv.node_of[v]: i for i, v in enumerate(scope)} | {name: len(scope)}
        order = [axis_of[n] for n in reversed(cpt.names)]  # pyAgrum: first name varies fastest
        cpt.fillWith(np.ascontiguousarray(joint.transpose(order)))
        conv.evidence[name] = 1
    conv.bn = bn
    return conv


def _load_converted(path: str) -> tuple[Any, dict[str, int], _Converted]:
    from genlab.pgm.uai_tasks import load_uai_problem

    model, evidence = load_uai_problem(path)
    return model, evidence, _to_bayes_net(model, evidence)


def pyagrum_marginals(path: str, seconds: float, method: str) -> dict[str, Any]:
    """Posterior marginals of the UAI model at `path` by pyAgrum's loopy BP (`method="lbp"`)
    or Gibbs sampling (`"gibbs"`) on the converted BN, stopped after `seconds` (wall clock,
    conversion included). Returns {"marginals": one array per variable in UAI order (observed
    ones one-hot) or None, "seconds", "status", "iterations"}."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {"marginals": None, "seconds": 0.0, "status": ""}
    try:
        out.update(_pyagrum_marginals(path, float(seconds), method, t0))
    except Exception as exc:
        out["status"] = _error(exc)
    out["seconds"] = time.perf_counter() - t0
    return out


def _engine(gum: Any, conv: _Converted, method: str, seconds: float) -> Any:
    """A pyAgrum engine on the converted BN with its evidence, stopping after `seconds`."""
    if method == "lbp":
        ie = gum.LoopyBeliefPropagation(conv.bn)
        ie.setMaxIter(1_000_000_000)  # default 100; stop on pyAgrum's epsilon/rate or time
    else:
        ie = gum.GibbsSampling(conv.bn)
        ie.setEpsilon(1e-9)  # sample until the time is up (the defaults stop within seconds)
        ie.setMinEpsilonRate(1e-12)
        ie.setMaxIter(2_000_000_000)
        # pyAgrum's burn-in (300 draws of half the nodes each) is not checked against the
        # time limit (25 s on linkage_14), and a burn-in b also puts the first convergence
        # test after b samples (b = 1: it stops on one sample). So none: every sample counts.
        ie.setBurnIn(0)
    ie.setMaxTime(max(seconds, 1e-3))
    ie.setVerbosity(False)
    if conv.evidence:
        ie.setEvidence(conv.evidence)
    return ie


def _pyagrum_marginals(path: str, seconds: float, method: str, t0: float) -> dict[str, Any]:
    if method not in ("lbp", "gibbs"):
        return {"status": f"error: method must be 'lbp' or 'gibbs', got {method!r}"}
    import pyagrum as gum

    gum.setNumberOfThreads(1)
    model, evidence, conv = _load_converted(path)
    if conv.problem:
        return {"status": conv.problem}
    remaining = seconds - (time.perf_counter() - t0)
    if remaining <= 0:
        return {"status": "timeout: converting the model used the budget"}
    ie = _engine(gum, conv, method, remaining)
    with _quiet():
        ie.makeInference()
    marginals: list[np.ndarray] = []
    for v in model.variables:
        if v in evidence:
            onehot = np.zeros(model.card(v))
            onehot[evidence[v]] = 1.0
            marginals.append(onehot)
        else:
            marginals.append(np.asarray(ie.posterior(conv.node_of[v]).toarray(), dtype=float))
    if not all(np.all(np.isfinite(p)) for p in marginals):
        return {"status": f"error: non-finite marginals ({ie.messageApproximationScheme()})"}
    return {"marginals": marginals, "iterations": int(ie.nbrIterations()),
            "status": f"ok: {ie.messageApproximationScheme()}"}


def pyagrum_log10_z(path: str, seconds: float) -> dict[str, Any]:
    """log10 Z of the UAI model at `path` (with its evidence) from an approximate pyAgrum
    engine's P(evidence) on the converted BN, if one offers it. Returns {"log10_Z" or None,
    "seconds", "status"}; in pyAgrum 3.3 none does, so the status says "not available"."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {"log10_Z": None, "seconds": 0.0, "status": ""}
    try:
        import pyagrum as gum

        able = [name for name in APPROXIMATE_ENGINES
                if hasattr(getattr(gum, name, None), "evidenceProbability")]
        if not able:
            exact = [name for name in ("LazyPropagation", "ShaferShenoyInference")
                     if hasattr(getattr(gum, name, None), "evidenceProbability")]
            out["status"] = (
                f"not available: in pyAgrum {gum.__version__} no approximate engine "
                f"({', '.join(APPROXIMATE_ENGINES)}) has evidenceProbability(); only the exact "
                f"{' and '.join(exact) or 'none'} do"
            )
        else:
            out.update(_evidence_log10_z(path, float(seconds), able[0], t0))
    except Exception as exc:
        out["status"] = _error(exc)
    out["seconds"] = time.perf_counter() - t0
    return out


def _evidence_log10_z(path: str, seconds: float, engine: str, t0: float) -> dict[str, Any]:
    """log10 Z from `engine`'s evidenceProbability() on the converted BN (also used with the
    exact LazyPropagation to check the conversion)."""
    import pyagrum as gum

    gum.setNumberOfThreads(1)
    _model, _evidence, conv = _load_converted(path)
    if conv.problem.startswith("inconsistent"):
        return {"log10_Z": -math.inf, "status": conv.problem}
    if conv.problem:
        return {"status": conv.problem}
    ie = getattr(gum, engine)(conv.bn)
    if hasattr(ie, "setMaxTime"):
        ie.setMaxTime(max(seconds - (time.perf_counter() - t0), 1e-3))
    if conv.evidence:
        ie.setEvidence(conv.evidence)
    with _quiet():
        ie.makeInference()
        p_e = float(ie.evidenceProbability()) if conv.evidence else 1.0
    log10_z = math.log10(p_e) + conv.log10_const if p_e > 0 else -math.inf
    return {"log10_Z": log10_z, "status": f"ok: {engine}"}


# ---------------------------------------------------------------------------------------------
# demo


def _hellinger(got: list[np.ndarray], ref: list[np.ndarray], observed: set[int]) -> float:
    dists = [math.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(np.clip(p, 0, None) * q)))))
             for i, (p, q) in enumerate(zip(got, ref, strict=True)) if i not in observed]
    return float(np.mean(dists)) if dists else 0.0


def _demo() -> None:
    from pathlib import Path

    from genlab.pgm.io import read_uai_result
    from genlab.pgm.uai_tasks import load_uai_problem

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "uai2014"
    map_path = str(data / "MAP" / "Promedas_71.uai")
    res = toulbar2_map(map_path, 20.0)
    model, evidence = load_uai_problem(map_path)
    _, ref_states = read_uai_result(map_path + ".MAP")
    ref = {v: int(s) for v, s in zip(model.variables, ref_states, strict=True)} | evidence
    print(f"toulbar2 MAP {Path(map_path).name}: {res['status']}, proven={res['proven']}, "
          f"{res['seconds']:.2f} s, log score {res.get('log_score')} "
          f"(toulbar2's {res.get('toulbar2_log_score')}; reference {model.log_score(ref)})")

    mar_path = str(data / "MAR" / "linkage_14.uai")
    model, evidence = load_uai_problem(mar_path)
    _, ref_marginals = read_uai_result(mar_path + ".MAR")
    observed = {i for i, v in enumerate(model.variables) if v in evidence}
    for method in ("lbp", "gibbs"):
        res = pyagrum_marginals(mar_path, 20.0, method)
        score = ("-" if res["marginals"] is None
                 else f"{_hellinger(res['marginals'], ref_marginals, observed):.4g}")
        print(f"pyAgrum {method} MAR {Path(mar_path).name}: {res['status']}, "
              f"{res['seconds']:.2f} s, {res.get('iterations')} iterations, "
              f"mean Hellinger {score}")

    pr_path = str(data / "PR" / "linkage_14.uai")
    res = pyagrum_log10_z(pr_path, 20.0)
    _, ref_z = read_uai_result(pr_path + ".PR")
    print(f"pyAgrum PR {Path(pr_path).name}: log10 Z {res['log10_Z']} vs reference {ref_z} "
          f"({res['status']}, {res['seconds']:.2f} s)")


if __name__ == "__main__":
    _demo()
