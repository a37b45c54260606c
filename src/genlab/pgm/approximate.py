"""What `method="auto"` does when the exact contraction does not fit, and how results say so.

`marginals`, `log_partition` and `map_assignment` (genlab.pgm.inference) contract exactly when
the plan fits the memory and time budget and otherwise fall back to loopy BP — never silently:
an `ApproximationWarning` is issued and the result carries `exact=False`, the method and the
convergence report.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.conditioned import clamped_bp
from genlab.pgm.errors import ZeroEvidenceError
from genlab.pgm.inference import ExactInference, MapResult, batched_evidence
from genlab.pgm.loopy import BPResult, loopy_bp
from genlab.pgm.models.factor_graph import FactorGraph

__all__ = ["MAX_LOG2_FLOPS", "ApproximationWarning", "LogZ", "Marginals", "evidence_rows",
           "too_wide"]

MAX_LOG2_FLOPS = 38.0  # an exact plan past ~2.7e11 operations takes minutes: approximate
# operations per second of the contraction on one core, measured on UAI 2014 problems here
# (sum-product runs as BLAS; max-product with backtracking is ~10× slower per operation):
# with a time limit, `auto` does not start a contraction it cannot finish in time
RATE = {"sum": 1e9, "max": 1e8}


class ApproximationWarning(UserWarning):
    """An exact answer was out of reach, so an approximate one was returned."""


class Marginals(dict):  # type: ignore[type-arg]
    """Per-variable marginals (a dict, as before) that also say how they were computed:
    `exact`, `method` ("contract", "loopy", "gibbs") and, for loopy BP, its `report`."""

    def __init__(self, values: Mapping[str, np.ndarray], *, exact: bool, method: str,
                 report: Any = None) -> None:
        super().__init__(values)
        self.exact, self.method, self.report = exact, method, report


class LogZ(float):
    """log Z (a float, as before) that also says how it was computed; `interval` is a
    confidence interval where the method gives one (importance sampling)."""

    exact: bool
    method: str
    report: Any  # BPReport (loopy) or ImportanceReport (importance sampling)
    interval: tuple[float, float] | None

    def __new__(cls, value: float, *, exact: bool, method: str,
                report: Any = None,
                interval: tuple[float, float] | None = None) -> LogZ:
        out = super().__new__(cls, value)
        out.exact, out.method, out.report, out.interval = exact, method, report, interval
        return out


FALLBACKS = {  # what `auto` switches to: how the warning names it, and what it promises
    "loopy": ("loopy BP", "approximately: the result has exact=False and a convergence report"),
    "search": ("branch-and-bound search",
               "exact only if the search finishes: the result's `exact` and `bound` say"),
}


def warn_approximate(what: str, reason: str, method: str) -> None:
    """The one place `auto` announces a switch away from the exact contraction."""
    name, outcome = FALLBACKS[method]
    warnings.warn(f"{what}: {reason}; answering by {name} ({outcome})",
                  ApproximationWarning, stacklevel=3)


def evidence_rows(graph: FactorGraph, evidence: Any, columns: Sequence[str] | None
                  ) -> list[dict[str, int]]:
    """Evidence (one dict, or any batched form the exact engine takes) as a list of
    {variable: state index} rows."""
    if not batched_evidence(evidence):
        return [graph.encode_evidence(evidence)]
    names, rows = graph.encode_evidence_rows(evidence, columns)
    return [dict(zip(names, map(int, row), strict=True)) for row in rows]


def too_wide(engine: ExactInference, evidence: Any, columns: Sequence[str] | None,
             what: str, time_limit: float | None = None) -> str | None:
    """Why the exact contraction of this query does not fit (None when it does): its memory
    for one evidence row against the engine's budget, or its operation count. A quick
    min-fill plan decides hopeless cases first (the thorough planners can take minutes on
    them); only a near miss is planned thoroughly."""
    names = list(evidence_rows(engine.graph, evidence, columns)[0]) if evidence is not None \
        else []

    def verdict(eng: ExactInference, slack: float) -> str | None:
        plan = eng.plan(names)
        need = eng.bytes_per_row(names, what)
        if need > slack * engine.max_memory:
            return (f"the exact plan needs about {need / 2**30:.3g} GiB ({plan.describe()}), "
                    f"over the budget of {engine.max_memory / 2**30:.3g} GiB")
        if plan.log2_flops > MAX_LOG2_FLOPS + math.log2(slack):
            return f"the exact plan needs 2^{plan.log2_flops:.1f} operations ({plan.describe()})"
        rate = RATE["max" if what == "map_assignment" else "sum"]
        if time_limit is not None and 2.0 ** plan.log2_flops / rate > slack * time_limit:
            return (f"the exact plan's 2^{plan.log2_flops:.1f} operations would take about "
                    f"{2.0 ** plan.log2_flops / rate:.0f} s, over the {time_limit:g} s limit")
        return None

    hopeless = verdict(ExactInference(engine.graph, "min-fill", engine.max_memory), 256.0)
    return hopeless if hopeless is not None else verdict(engine, 1.0)


def _choose(engine: ExactInference, evidence: Any, columns: Sequence[str] | None, what: str,
            method: str, methods: tuple[str, ...], exact_name: str, fallback: str,
            options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The method that will answer — `auto` becomes the exact one, or `fallback` with a
    warning when the exact plan is too wide — and `options` with its time limit less what
    choosing took (the planner can spend seconds on a near miss)."""
    if method not in methods:
        raise ValueError(f"{what}: method must be one of {', '.join(methods)}; got {method!r}")
    if method != "auto":
        return method, options
    t0 = time.perf_counter()
    limit = options.get("time_limit")
    reason = too_wide(engine, evidence, columns, what, limit)
    if limit is not None:
        left = float(limit) - (time.perf_counter() - t0)
        options = dict(options, time_limit=max(0.05 * float(limit), left))
    if reason is None:
        return exact_name, options
    warn_approximate(what, reason, fallback)
    return fallback, options


SCHEDULE = "residual"  # on the UAI 2014 MAR problems exact cannot do, residual updates beat
# synchronous ones on 5 of 8 (linkage_17: Hellinger error 0.038 against 0.050) and tie on the rest
LOG_Z_SCHEDULE = "synchronous"  # but an unconverged residual run ends on a mix of fresh and
# stale messages whose Bethe energy can be far off (prob001.pddl: |Δ log10 Z| 15.2, not 3.4)
DAMPINGS = (0.5, 0.9)  # loopy graphs can have several BP fixed points; heavier damping finds
# others (DBN_11, synchronous: Hellinger error 0.72 at 0.5, 0.20 at 0.9)


def best_bp(graph: FactorGraph, evidence: Mapping[str, Any] | None, options: dict[str, Any]
            ) -> BPResult:
    """Sum-product BP (residual schedule unless `schedule` is given); unless `damping` is
    given, run with each of DAMPINGS (sharing the time limit) and keep the converged fixed
    point with the largest Bethe log Z — the lowest Bethe free energy, which BP's stable
    fixed points are local minima of; when none converges, the most damped run, whose
    beliefs are averaged over its iterations."""
    options = {"schedule": SCHEDULE, **options}
    if "damping" in options:
        return loopy_bp(graph, evidence, mode="sum", **options)
    share = dict(options)
    if options.get("time_limit") is not None:
        share["time_limit"] = float(options["time_limit"]) / len(DAMPINGS)
    runs = [loopy_bp(graph, evidence, mode="sum", damping=d, **share) for d in DAMPINGS]
    converged = [r for r in runs if r.report.converged]
    if not converged:  # no fixed point to compare: the most damped run's averaged beliefs
        return runs[-1]  # (linkage_13: Hellinger error 0.074, against 0.095 at 0.5)
    best = converged[0]
    for run in converged[1:]:  # a heavier damping wins only with a clearly lower free energy
        if run.log_partition > best.log_partition + 1e-6 * max(1.0, abs(best.log_partition)):
            best = run
    return best


MARGINAL_METHODS = ("auto", "exact", "loopy", "gibbs")
LOG_Z_METHODS = ("auto", "exact", "loopy", "importance")


@dataclass(frozen=True)
class GibbsReport:
    """A Gibbs run behind marginals: chains, sweeps averaged, seconds."""

    chains: int
    sweeps: int
    seconds: float

    def describe(self) -> str:
        return (f"Gibbs sampling: {self.chains} chains, {self.sweeps} sweeps averaged "
                f"(Rao-Blackwellised), {self.seconds:.2f} s")


def _one_row_marginals(graph: FactorGraph, row: dict[str, int], method: str,
                       options: dict[str, Any]) -> tuple[dict[str, np.ndarray], Any]:
    if method == "gibbs":
        from genlab.pgm.sampling import gibbs_marginals

        t0 = time.perf_counter()
        values, sweeps = gibbs_marginals(graph, row, **options)
        return values, GibbsReport(int(options.get("chains", 64)), sweeps,
                                   time.perf_counter() - t0)
    result = clamped_bp(graph, row, options, best_bp)
    return result.marginals, result.report


def marginals(engine: ExactInference, evidence: Any, columns: Sequence[str] | None,
              method: str, options: dict[str, Any]) -> Marginals:
    """Marginals by the exact contraction, loopy BP (`options` go to `LoopyBP`) or Gibbs
    sampling (`options` go to `gibbs_marginals`)."""
    method, options = _choose(engine, evidence, columns, "marginals", method, MARGINAL_METHODS,
                              "exact", "loopy", options)
    if method == "exact":
        return Marginals(engine.marginals(evidence, columns=columns), exact=True,
                         method="exact")
    results = [_one_row_marginals(engine.graph, row, method, options)
               for row in evidence_rows(engine.graph, evidence, columns)]
    report = results[0][1] if len(results) == 1 else \
        max((r for _, r in results), key=lambda r: getattr(r, "residual", 0.0))
    if not batched_evidence(evidence):
        return Marginals(results[0][0], exact=False, method=method, report=report)
    stacked = {v: np.stack([r[v] for r, _ in results]) for v in engine.graph.variables}
    return Marginals(stacked, exact=False, method=method, report=report)


def log_partition(engine: ExactInference, evidence: Any, columns: Sequence[str] | None,
                  method: str, options: dict[str, Any]) -> Any:
    """log Z by the exact contraction, the Bethe free energy of loopy BP, or importance
    sampling with BP's beliefs as the proposal (with a 95% confidence interval)."""
    method, options = _choose(engine, evidence, columns, "log_partition", method, LOG_Z_METHODS,
                              "exact", "loopy", options)
    if method == "exact":
        value = engine.log_partition(evidence, columns=columns)
        return value if batched_evidence(evidence) else LogZ(value, exact=True, method="exact")
    estimate = _bethe_log_z if method == "loopy" else _importance_log_z
    answers = [estimate(engine.graph, row, options)
               for row in evidence_rows(engine.graph, evidence, columns)]
    if batched_evidence(evidence):
        return np.array([float(a) for a in answers])
    return answers[0]


def _importance_log_z(graph: FactorGraph, evidence: dict[str, int], options: dict[str, Any]
                      ) -> LogZ:
    from genlab.pgm.importance import importance_log_partition

    value, interval, report = importance_log_partition(graph, evidence, **options)
    return LogZ(value, exact=False, method="importance", report=report, interval=interval)


def _bethe_log_z(graph: FactorGraph, evidence: dict[str, int], options: dict[str, Any]) -> LogZ:
    """The Bethe log Z; BP's zeros are sound (it only removes unsupported states), so a
    contradiction it finds proves Z = 0 and that answer is exact."""
    try:
        result = clamped_bp(graph, evidence, {"schedule": LOG_Z_SCHEDULE, **options}, best_bp,
                            for_log_z=True)
    except ZeroEvidenceError:
        return LogZ(-np.inf, exact=True, method="loopy")
    return LogZ(result.log_partition, exact=False, method="loopy", report=result.report)


MAP_METHODS = ("auto", "contract", "search", "ilp", "approximate")


def map_assignment(engine: ExactInference, evidence: Any, columns: Sequence[str] | None,
                   method: str, options: dict[str, Any]) -> MapResult:
    """MAP by the exact max-product contraction, by search (the integer program, then branch
    and bound from the approximate answer: exact when either proves it), by the integer
    program alone, or by max-product BP + local search."""
    from genlab.pgm.ilp import ilp_map
    from genlab.pgm.mpe import approximate_map, searched_map

    method, options = _choose(engine, evidence, columns, "map_assignment", method, MAP_METHODS,
                              "contract", "search", options)
    if method == "contract":
        return engine.map_assignment(evidence, columns=columns)
    graph = engine.graph
    solvers: dict[str, Callable[..., Any]] = {"search": searched_map, "ilp": ilp_map,
                                              "approximate": approximate_map}
    solve = solvers[method]
    results = [solve(graph, row, **options) for row in evidence_rows(graph, evidence, columns)]
    if not batched_evidence(evidence):
        return results[0]
    assignment = {v: np.array([r.assignment[v] for r in results]) for v in graph.variables}
    return MapResult(assignment, np.array([r.log_probability for r in results]), graph.states,
                     exact=all(r.exact for r in results), method=method,
                     bound=np.array([r.bound if r.bound is not None else np.nan
                                     for r in results]),
                     report=[r.report for r in results])
