"""`genlab pgm ...`: graphical-model commands (info, query, map, solve).

MODEL is a .bif, .bif.gz or .uai path. Evidence is given as repeated `-e VAR=STATE` (a state
name or index) or, for UAI problems, as an evidence file (`--evidence F`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import numpy as np

    from genlab.pgm.factor import Factor
    from genlab.pgm.models import BayesianNetwork, FactorGraph

app = typer.Typer(
    help="Graphical models: read BIF/UAI files, exact marginals, partition function, MAP; "
    "sample data, fit CPTs, learn structure; linear-Gaussian networks (`gaussian`).",
    no_args_is_help=True,
)
console = Console()

MODEL_ARG = typer.Argument(..., help="Model file: .bif, .bif.gz or .uai.", show_default=False)
EVIDENCE_OPT = typer.Option(
    None, "--evidence-var", "-e", help="Observed variable as VAR=STATE (repeatable)."
)
EVIDENCE_FILE_OPT = typer.Option(None, "--evidence", help="UAI evidence file (N var val ...).")
PLANNER_OPT = typer.Option("auto", help="Contraction planner: auto, greedy, min-fill, ...")


def _load(model: Path) -> BayesianNetwork | FactorGraph:
    from genlab.pgm.io import load_model

    try:
        return load_model(model)
    except (OSError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None


def _evidence(pairs: list[str] | None, evidence_file: Path | None) -> dict[str, str]:
    """Evidence from `-e VAR=STATE` pairs and/or a UAI evidence file."""
    out: dict[str, str] = {}
    if evidence_file is not None:
        from genlab.pgm.io import read_uai_evidence

        try:  # a typo in the path must not mean "no evidence"
            ev = read_uai_evidence(evidence_file, missing_ok=False)
        except (OSError, ValueError) as exc:
            console.print(f"[red]error:[/] {exc}", soft_wrap=True)
            raise typer.Exit(2) from None
        out.update({k: str(v) for k, v in ev.items()})
    for pair in pairs or []:
        var, sep, state = pair.partition("=")
        if not sep or not var or not state:
            raise typer.BadParameter(f"evidence must look like VAR=STATE, got {pair!r}")
        out[var.strip()] = state.strip()
    return out


def _fail(exc: Exception, code: int = 1) -> typer.Exit:
    """Print the error unwrapped (file paths and lines stay whole) and exit with `code`."""
    console.print(f"[red]error:[/] {exc}", soft_wrap=True)
    return typer.Exit(code)


@app.command()
def info(model: Path = MODEL_ARG, planner: str = PLANNER_OPT) -> None:
    """Variables, states, factors and the cost of exact inference."""
    from genlab.pgm.inference import engine

    m = _load(model)
    fg = m.to_factor_graph()
    cards = list(fg.cards.values())
    t0 = time.perf_counter()
    plan = engine(m, planner).plan()
    seconds = time.perf_counter() - t0
    table = Table(title=f"{model.name}", show_header=False)
    table.add_row("kind", type(m).__name__)
    table.add_row("variables", str(len(fg.variables)))
    table.add_row("factors", str(len(fg.factors)))
    if hasattr(m, "edges"):
        table.add_row("edges", str(len(m.edges)))
    table.add_row("states per variable", f"{min(cards, default=0)}–{max(cards, default=0)}")
    table.add_row("largest factor", f"{max((f.table.size for f in fg.factors), default=0)} entries")
    table.add_row("exact contraction", plan.describe())
    table.add_row("planning time", f"{seconds * 1e3:.1f} ms")
    console.print(table)
    preview = ", ".join(fg.variables[:12]) + (" ..." if len(fg.variables) > 12 else "")
    console.print(f"variables: {preview}")


@app.command()
def query(
    model: Path = MODEL_ARG,
    evidence: list[str] | None = EVIDENCE_OPT,
    evidence_file: Path | None = EVIDENCE_FILE_OPT,
    variables: list[str] | None = typer.Option(
        None, "--query", "-q", help="Variable to report (repeatable; default: all)."
    ),
    joint: bool = typer.Option(False, help="Print the joint posterior over the -q variables."),
    planner: str = PLANNER_OPT,
) -> None:
    """Posterior marginals (or a joint posterior table) given the evidence."""
    from genlab.pgm.inference import engine

    m = _load(model)
    fg = m.to_factor_graph()
    ev = _evidence(evidence, evidence_file)
    eng = engine(m, planner)
    try:
        log_pe = eng.log_partition(ev)
        if joint:
            if not variables:
                raise typer.BadParameter("--joint needs the variables as -q VAR ...")
            factor = eng.query(variables, ev)
            _print_joint(fg, factor)
        else:
            post = eng.marginals(ev)
            for v in variables or [v for v in fg.variables if v not in ev]:
                if v not in post:
                    raise typer.BadParameter(f"unknown variable {v!r}")
                _print_marginal(fg, v, post[v])
    except (ValueError, MemoryError) as exc:
        raise _fail(exc) from None
    label = "log P(e)" if type(m).__name__ == "BayesianNetwork" else "log Z(e)"
    console.print(f"{label} = {log_pe:.6g}   (log10: {log_pe / math.log(10):.6g})")


def _print_marginal(fg: FactorGraph, variable: str, p: np.ndarray) -> None:
    table = Table(title=f"P({variable} | e)", title_justify="left")
    table.add_column("state")
    table.add_column("probability", justify="right")
    table.add_column("")
    for name, value in zip(fg.state_names(variable), p, strict=True):
        table.add_row(name, f"{value:.6f}", "█" * round(20 * value))
    console.print(table)


def _print_joint(fg: FactorGraph, factor: Factor) -> None:
    import itertools

    table = Table(title=f"P({', '.join(factor.variables)} | e)", title_justify="left")
    for v in factor.variables:
        table.add_column(v)
    table.add_column("probability", justify="right")
    names = [fg.state_names(v) for v in factor.variables]
    for index in itertools.product(*(range(c) for c in factor.cards)):
        row = [names[k][i] for k, i in enumerate(index)]
        table.add_row(*row, f"{factor.table[index]:.6f}")
    console.print(table)


@app.command("map")
def map_(
    model: Path = MODEL_ARG,
    evidence: list[str] | None = EVIDENCE_OPT,
    evidence_file: Path | None = EVIDENCE_FILE_OPT,
    planner: str = PLANNER_OPT,
) -> None:
    """The jointly most probable assignment (MPE) of the unobserved variables."""
    from genlab.pgm.inference import engine

    m = _load(model)
    ev = _evidence(evidence, evidence_file)
    try:
        result = engine(m, planner).map_assignment(ev)
    except (ValueError, MemoryError) as exc:
        raise _fail(exc) from None
    table = Table(title="MAP assignment", title_justify="left")
    table.add_column("variable")
    table.add_column("state")
    for v, s in result.named().items():
        table.add_row(v, str(s) + ("  (observed)" if v in ev else ""))
    console.print(table)
    console.print(f"log Π ψ(x*) = {result.log_probability:.6g}")


@app.command()
def solve(
    model: Path = MODEL_ARG,
    task: str = typer.Option(..., "--task", help="PR (log10 Z), MAR (marginals) or MAP."),
    evidence_file: Path | None = EVIDENCE_FILE_OPT,
    out: Path | None = typer.Option(None, "--out", "-o", help="Result file (default MODEL.TASK)."),
    method: str = typer.Option(
        "auto", help="auto: exact when the contraction fits the memory budget, else "
        "approximate (MAP: search, proven optimal when it finishes); exact: contraction only "
        "(fails when too wide); search: MAP by branch and cut on the integer program, then "
        "branch and bound; ilp: MAP by the integer program alone; approximate: loopy BP "
        "(MAP: max-product BP + local search)."),
    time_limit: float = typer.Option(
        60.0, "--time-limit", help="Seconds an approximate method may run."),
    planner: str = PLANNER_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the answer and its label as "
                                 "JSON (for other programs)."),
) -> None:
    """Solve a UAI-competition task, write the result file in the UAI format, and say whether
    the answer is exact (MAP: proven optimal) or approximate, with its convergence report."""
    import json

    from genlab.pgm.inference import engine
    from genlab.pgm.io import write_uai_result
    from genlab.pgm.uai_tasks import METHODS, solve_uai

    task = task.upper()
    if task not in ("PR", "MAR", "MAP"):
        raise typer.BadParameter(f"--task must be PR, MAR or MAP, got {task!r}")
    if method not in METHODS:
        raise typer.BadParameter(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    m = _load(model)
    ev = m.to_factor_graph().encode_evidence(_evidence(None, evidence_file))
    t0 = time.perf_counter()
    try:
        answer = solve_uai(engine(m, planner), task, ev, method, time_limit)
    except (ValueError, MemoryError) as exc:
        raise _fail(exc) from None
    seconds = time.perf_counter() - t0
    target = out or Path(f"{model.name}.{task}")
    write_uai_result(task, answer.value, target)
    if as_json:
        record = {"task": task, "file": str(target), "exact": answer.exact,
                  "method": answer.method, "label": answer.label, "why": answer.why,
                  "seconds": round(seconds, 4)}
        if task == "PR":
            record["log10_Z"] = answer.value
        if task == "MAP":
            record["log_score"] = answer.log_score
            record["bound"] = answer.bound
        report = answer.report
        if report is not None and hasattr(report, "converged"):  # built on a BP run
            convergence = {"iterations": report.iterations, "residual": report.residual,
                           "converged": report.converged}
            if hasattr(report, "clamped"):  # BP conditioned on a few variables
                convergence.update(clamped=list(report.clamped), pieces=report.pieces)
            record["convergence"] = convergence
        print(json.dumps(record))
        return
    if answer.why:
        console.print(f"[yellow]{answer.why}[/]", soft_wrap=True)
    console.print(f"{task}: {answer.label}", soft_wrap=True)
    console.print(f"solved in {seconds:.2f} s → {target}", soft_wrap=True)
    if task == "PR":
        console.print(f"log10 Z = {answer.value:.6f}")
    if task == "MAP":
        console.print(f"log score = {answer.log_score:.6f} (natural log of the assignment's "
                      "unnormalised probability)")


# the data commands (sample, fit, learn, loglik) and the linear-Gaussian group live in their
# own modules
from genlab.cli import pgm_gaussian, pgm_learn  # noqa: E402, F401
