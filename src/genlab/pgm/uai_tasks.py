"""UAI-competition tasks (PR, MAR, MAP) on a model file: solve, and check against a reference.

Shared by `genlab pgm solve`, the UAI 2014 tests and the benchmark, so all three mean the same
thing by "solved": PR equal to the reference's log10 Z to the precision it is printed with
(~6 significant digits), every marginal within 1e-5, and a MAP assignment whose log score is
at least the reference assignment's (some references come from approximate solvers).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genlab.pgm.inference import ExactInference
from genlab.pgm.models.factor_graph import FactorGraph

__all__ = ["UAICheck", "check_uai_result", "load_uai_problem", "solve_uai"]

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


def solve_uai(engine: ExactInference, task: str, evidence: dict[str, int]) -> Any:
    """The task's answer in UAI form: PR → log10 Z (float); MAR → one marginal per variable in
    index order; MAP → one state per variable in index order."""
    task = task.upper()
    variables = engine.graph.variables
    if task == "PR":
        return engine.log_partition(evidence) / math.log(10)
    if task == "MAR":
        post = engine.marginals(evidence)
        return [post[v] for v in variables]
    if task == "MAP":
        best = engine.map_assignment(evidence)
        return np.array([best.assignment[v] for v in variables], dtype=np.intp)
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


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
