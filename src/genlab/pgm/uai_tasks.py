"""UAI-competition tasks (PR, MAR, MAP) on a model file: solve, and check against a reference.

Shared by `genlab pgm solve`, the UAI 2014 tests and the benchmark, so all three mean the same
thing by "solved": PR equal to the reference's log10 Z to the precision it is printed with
(~6 significant digits), every marginal within 1e-5, and a MAP assignment whose log score is
at least the reference assignment's (some references come from approximate solvers).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genlab.pgm.inference import ExactInference
from genlab.pgm.models.factor_graph import FactorGraph

__all__ = ["UAIAnswer", "UAICheck", "check_uai_result", "load_uai_problem", "solve_uai"]

TASKS = ("PR", "MAR", "MAP")
PR_REL_TOL = 1e-5  # references print ~6 significant digits
MAR_ABS_TOL = 1e-5


def load_uai_problem(
    path: str | os.PathLike[str], evidence: str | os.PathLike[str] | None = None
) -> tuple[FactorGraph, dict[str, int]]:
    """The model and its evidence (X.uai.evid beside the model when `evidence` is None)."""
    from genlab.pgm.io import read_uai, read_uai_evidence

    model = read_uai(path)
    evid_path = Path(evidence) if evidence is not None else Path(f"{os.fspath(path)}.evid")
    ev = read_uai_evidence(evid_path) if evid_path.exists() else {}
    return model, ev


METHODS = ("auto", "exact", "search", "ilp", "approximate")


@dataclass(frozen=True)
class UAIAnswer:
    """A solved task in UAI form — PR: log10 Z (float); MAR: one marginal per variable in
    index order; MAP: one state per variable in index order — and how much to trust it:
    `exact` (for MAP: proven optimal), the method, why `auto` approximated, the report."""

    task: str
    value: Any
    exact: bool
    method: str
    why: str = ""
    report: Any = None
    log_score: float | None = None  # MAP: log Π ψ at the assignment
    bound: float | None = None  # MAP: an upper bound on the optimal log score, when known

    @property
    def label(self) -> str:
        """One line: exact / proven optimal, or approximate with the convergence report."""
        if self.exact:
            return "proven optimal" if self.task == "MAP" else "exact"
        detail = self.report.describe() if self.report is not None else self.method
        if self.bound is not None and self.log_score is not None and math.isfinite(self.bound):
            return (f"bounded: log score {self.log_score:.6g}, optimum ≤ {self.bound:.6g} "
                    f"(gap {self.bound - self.log_score:.4g}; {detail})")
        return f"approximate ({detail})"


def solve_uai(engine: ExactInference, task: str, evidence: dict[str, int],
              method: str = "auto", time_limit: float | None = None) -> UAIAnswer:
    """Answer a UAI task: `exact` contracts (and fails when the plan does not fit),
    `approximate` runs loopy BP (MAP: max-product BP and local search), `auto` contracts when
    the plan fits and approximates otherwise, saying why."""
    from genlab.pgm import approximate as approx

    task = task.upper()
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    options = {} if time_limit is None else {"time_limit": float(time_limit)}
    variables = engine.graph.variables
    if method in ("search", "ilp") and task != "MAP":
        raise ValueError(f"method {method!r} (a search for the optimum) answers MAP only")
    names = {"exact": "contract" if task == "MAP" else "exact", "search": "search", "ilp": "ilp",
             "approximate": "approximate" if task == "MAP" else "loopy", "auto": "auto"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", approx.ApproximationWarning)
        if task == "PR":
            log_z = approx.log_partition(engine, evidence, None, names[method], options)
            value: Any = float(log_z) / math.log(10)
            exact, used, report = log_z.exact, log_z.method, log_z.report
        elif task == "MAR":
            post = approx.marginals(engine, evidence, None, names[method], options)
            value = [post[v] for v in variables]
            exact, used, report = post.exact, post.method, post.report
        else:
            best = approx.map_assignment(engine, evidence, None, names[method], options)
            value = np.array([best.assignment[v] for v in variables], dtype=np.intp)
            exact, used, report = best.exact, best.method, best.report
            score = float(best.log_probability)
            bound = None if best.bound is None else float(best.bound)
    why = "; ".join(str(w.message) for w in caught
                    if issubclass(w.category, approx.ApproximationWarning))
    if task != "MAP":
        return UAIAnswer(task, value, exact, used, why, report)
    return UAIAnswer(task, value, exact, used, why, report, score, bound)


@dataclass(frozen=True)
class UAICheck:
    """Whether a result matches the reference, and by how much it differs."""

    ok: bool
    detail: str


def check_uai_result(
    task: str, got: Any, reference: Any, model: FactorGraph, evidence: dict[str, int]
) -> UAICheck:
    """Compare a solved task with a reference solution (see module docstring for the rules)."""
    task = task.upper()
    if task == "PR":
        ref = float(reference)
        if math.isinf(ref) or math.isinf(got):
            return UAICheck(got == ref, f"log10 Z = {got} vs reference {ref}")
        diff = abs(got - ref)
        ok = diff <= PR_REL_TOL * max(1.0, abs(ref))
        return UAICheck(ok, f"log10 Z = {got:.8g} vs reference {ref:.8g} (|Δ| = {diff:.2g})")
    if task == "MAR":
        if len(got) != len(reference):
            return UAICheck(False, f"{len(got)} marginals vs {len(reference)} in the reference")
        worst, where = 0.0, -1
        for i, (p, q) in enumerate(zip(got, reference, strict=True)):
            if len(p) != len(q):
                return UAICheck(False, f"variable {i}: {len(p)} states vs {len(q)}")
            d = float(np.max(np.abs(np.asarray(p) - np.asarray(q))))
            if d > worst:
                worst, where = d, i
        return UAICheck(worst <= MAR_ABS_TOL, f"max |Δ marginal| = {worst:.2g} (variable {where})")
    if task == "MAP":

        def score(states: Any) -> float:
            assignment = {v: int(s) for v, s in zip(model.variables, states, strict=True)}
            assignment.update(evidence)
            return model.log_score(assignment)

        mine, theirs = score(got), score(reference)
        ok = mine >= theirs - 1e-6 * max(1.0, abs(theirs))
        return UAICheck(ok, f"log score {mine:.8g} vs reference assignment {theirs:.8g}")
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")
