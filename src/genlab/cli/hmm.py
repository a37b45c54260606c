"""`genlab hmm fit|score|decode|sample`: hidden Markov models on sequence CSV files.

HMM.json: {"kind": "categorical", "symbols": [...], "start": [...], "transition": [[...]],
"emission": [[...]]} or {"kind": "gaussian", "covariance_type": "diag"|"full", "start",
"transition", "means", "covariances"} (rows = hidden states).
DATA.csv: columns `sequence` (an id) and `obs` (a symbol or a number; empty = missing), rows in
time order; multivariate Gaussian data use obs_0, obs_1, ... instead of obs.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from genlab.pgm.io.hmm_sequences import SequenceTable
    from genlab.pgm.models.hmm import HiddenMarkovModel

app = typer.Typer(
    help="Hidden Markov models: fit by Baum–Welch (missing values allowed), score, decode "
    "(Viterbi) and sample.\n\n"
    "Models are JSON with keys kind, start, transition (rows = hidden states) and either "
    "symbols + emission (kind \"categorical\") or covariance_type (\"diag\" or \"full\") + "
    "means + covariances (kind \"gaussian\").\n\n"
    "Data are CSV with columns `sequence` (an id) and `obs` (a symbol or a number; an empty "
    "cell is missing), rows in time order; multivariate Gaussian data use obs_0, obs_1, ...",
    no_args_is_help=True,
)
console = Console()

MODEL_ARG = typer.Argument(..., help="HMM as JSON (see `genlab hmm --help`).",
                           show_default=False)
DATA_ARG = typer.Argument(..., help="CSV with columns `sequence` and `obs` (or obs_0, obs_1, "
                          "...), rows in time order; an empty obs is missing.",
                          show_default=False)


def _fail(exc: Exception, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/] {exc}", soft_wrap=True)
    return typer.Exit(code)


def _model(path: Path) -> HiddenMarkovModel:
    from genlab.pgm.io.hmm_json import read_hmm_json

    try:
        return read_hmm_json(path)
    except (OSError, ValueError) as exc:
        raise _fail(exc, 2) from None


def _table(path: Path) -> SequenceTable:
    from genlab.pgm.io.hmm_sequences import read_sequences

    try:
        return read_sequences(path)
    except (OSError, ValueError) as exc:
        raise _fail(exc, 2) from None


def _observations(table: SequenceTable, model: HiddenMarkovModel) -> Any:
    """The table's sequences encoded for `model` (errors name the file line)."""
    try:
        return model.prepare(table.sequences(model.kind))
    except ValueError as exc:
        raise _fail(table.locate(exc)) from None


@app.command()
def fit(
    data: Path = DATA_ARG,
    states: int = typer.Option(..., "--states", "-k", min=1, help="Number of hidden states."),
    out: Path = typer.Option(..., "--out", "-o", help="JSON file for the fitted HMM."),
    kind: str = typer.Option("auto", help="auto (numbers → gaussian, else categorical), "
                             "categorical or gaussian."),
    covariance_type: str = typer.Option("diag", help="gaussian: diag or full."),
    restarts: int = typer.Option(3, min=1, help="Random starts; the best log-likelihood wins."),
    seed: int = typer.Option(0, help="Seed of the random starts: same seed, same model."),
    max_iter: int = typer.Option(200, min=1, help="Most Baum–Welch iterations per start."),
    tol: float = typer.Option(1e-4, min=0.0, help="Stop when an iteration gains less log-"
                              "likelihood than this."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Learn an HMM from DATA by Baum–Welch with seeded restarts, and write it as JSON."""
    from genlab.pgm.io.hmm_json import write_hmm_json
    from genlab.pgm.models.hmm_fit import fit_hmm

    table = _table(data)
    if kind == "auto":
        kind = "gaussian" if table.numeric() else "categorical"
    if kind not in ("categorical", "gaussian"):
        raise typer.BadParameter(f"--kind must be auto, categorical or gaussian, got {kind!r}")
    try:
        sequences = table.sequences(kind)
    except ValueError as exc:
        raise _fail(exc, 2) from None
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]Baum–Welch[/]"), BarColumn(),
                  TextColumn("start {task.fields[restart]}/" + str(restarts)),
                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                  console=console, transient=True, disable=quiet) as bar:
        task = bar.add_task("fit", total=restarts * max_iter, restart=1, info="")

        def step(restart: int, iteration: int, log_lik: float) -> None:
            bar.update(task, completed=restart * max_iter + iteration, restart=restart + 1,
                       info=f"log-lik {log_lik:.6g}")

        try:
            result = fit_hmm(sequences, states, kind=kind, covariance_type=covariance_type,
                             restarts=restarts, seed=seed, max_iter=max_iter, tol=tol,
                             callback=step)
        except ValueError as exc:
            raise _fail(table.locate(exc)) from None
    write_hmm_json(result.model, out)
    state = "converged" if result.monitor.converged else "stopped at --max-iter"
    console.print(f"{result.model!r}: log-likelihood {result.log_likelihood:.6g} after "
                  f"{result.monitor.iterations} iterations ({state}), "
                  f"{time.perf_counter() - t0:.2f} s → {out}")
    if restarts > 1:
        console.print("restarts: " + ", ".join(f"{v:.6g}" for v in result.restarts))


@app.command()
def score(
    model: Path = MODEL_ARG,
    data: Path = DATA_ARG,
    json_out: bool = typer.Option(False, "--json", help="Print {\"log_likelihood\": x, "
                                  "\"per_sequence\": [...]} (null for an impossible one)."),
) -> None:
    """Log-likelihood of DATA under the HMM (missing observations marginalised)."""
    hmm = _model(model)
    table = _table(data)
    per_sequence = hmm.log_likelihood(_observations(table, hmm))
    total = float(per_sequence.sum())
    if json_out:
        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        typer.echo(json.dumps({"log_likelihood": finite(total),
                               "per_sequence": [finite(float(x)) for x in per_sequence]}))
        return
    console.print(f"log-likelihood {total:.10g} ({len(per_sequence)} sequences, "
                  f"{int(table.frame.shape[0])} rows)")


@app.command()
def decode(
    model: Path = MODEL_ARG,
    data: Path = DATA_ARG,
    out: Path = typer.Option(..., "--out", "-o", help="CSV: DATA's rows plus `state` and "
                             "`log_probability`."),
) -> None:
    """Viterbi: the most probable hidden path of each sequence.

    Writes DATA's rows with two columns added: `state` (the path's state index) and
    `log_probability` (log P(path, sequence), repeated on the sequence's rows).
    """
    import numpy as np

    from genlab.pgm.io.csv import write_csv

    hmm = _model(model)
    table = _table(data)
    try:
        decoding = hmm.viterbi(_observations(table, hmm))
    except ValueError as exc:
        raise _fail(exc) from None
    frame = table.frame.copy()
    state = np.zeros(len(frame), dtype=np.intp)
    log_p = np.zeros(len(frame))
    for rows, path, lp in zip(table.rows, decoding.paths, decoding.log_probability,
                              strict=True):
        state[rows] = path
        log_p[rows] = lp
    frame["state"] = state
    frame["log_probability"] = [repr(float(x)) for x in log_p]
    write_csv(frame, out)
    console.print(f"decoded {len(table.rows)} sequences ({len(frame)} rows) → {out}")


@app.command()
def sample(
    model: Path = MODEL_ARG,
    n: int = typer.Option(..., "-n", min=0, help="Number of sequences."),
    length: int = typer.Option(..., "--length", "-t", min=1, help="Steps per sequence."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same data."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV: sequence, obs (or obs_0, ...), "
                             "hidden_state."),
) -> None:
    """Draw N sequences of LENGTH steps from the HMM (with their hidden states)."""
    from genlab.pgm.io.hmm_sequences import write_sequences

    hmm = _model(model)
    drawn = hmm.sample(n, length, seed=seed)
    write_sequences(out, drawn.observations, drawn.states)
    console.print(f"{n} sequences of {length} steps → {out}")
