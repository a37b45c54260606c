"""`genlab pgm sample|fit|learn|loglik`: data in and out of graphical models.

Data files are CSV: one column per variable, states by name, empty / ? / NA for a missing cell.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from genlab.cli.pgm import EVIDENCE_OPT, MODEL_ARG, _evidence, _fail, _load, app, console

DATA_ARG = typer.Argument(..., help="CSV data: a column per variable, states by name.",
                          show_default=False)
JSON_OPT = typer.Option(False, "--json", help="Print one JSON object (for other programs).")


def _read_data(path: Path, chunksize: int | None, weights: str | None = None) -> Any:
    """The CSV as a DataFrame, or as chunks read on every pass (`--chunksize`; the weights
    column then travels with each chunk)."""
    from genlab.pgm.io.csv import read_csv
    from genlab.pgm.learning.sources import csv_chunks

    if not path.exists():
        console.print(f"[red]error:[/] no such data file: {path}")
        raise typer.Exit(2)
    try:
        return csv_chunks(path, chunksize, weights=weights) if chunksize else read_csv(path)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None


def _latent(pairs: list[str] | None) -> dict[str, int]:
    out = {}
    for pair in pairs or []:
        name, sep, card = pair.partition("=")
        if not sep or not name or not card.strip().isdigit() or int(card) < 1:
            raise typer.BadParameter(f"--latent must look like H=2, got {pair!r}")
        out[name.strip()] = int(card)
    return out


def _bar(label: str, quiet: bool) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}[/]"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
        console=console, transient=True, disable=quiet,
    )


@app.command()
def sample(
    model: Path = MODEL_ARG,
    n: int = typer.Option(..., "-n", help="Number of rows to draw.", min=0),
    evidence: list[str] | None = EVIDENCE_OPT,
    method: str = typer.Option(
        "exact", help="exact (posterior, through the contraction; forward when there is no "
        "evidence), forward (ancestral, no evidence), lw (likelihood weighting: adds a weight "
        "column), gibbs (any factor graph)."
    ),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same rows."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV file to write (atomically)."),
    burn_in: int = typer.Option(200, help="gibbs: sweeps dropped before keeping samples."),
    thin: int = typer.Option(1, help="gibbs: keep every THIN-th sweep."),
) -> None:
    """Draw rows from a model, optionally given evidence, into a CSV file."""
    from genlab.pgm.io.csv import write_csv
    from genlab.pgm.sampling import sample as draw

    m = _load(model)
    ev = _evidence(evidence, None)
    options = {"burn_in": burn_in, "thin": thin} if method == "gibbs" else {}
    t0 = time.perf_counter()
    try:
        result = draw(m, n, ev, method=method, seed=seed, as_codes=method == "lw", **options)
    except (ValueError, MemoryError) as exc:
        raise _fail(exc) from None
    weighted = result if method == "lw" else None
    write_csv(weighted.frame() if weighted is not None else result, out)
    seconds = time.perf_counter() - t0
    console.print(f"{n} rows ({method}) in {seconds:.2f} s → {out}")
    if weighted is not None and n:
        console.print(f"effective sample size {weighted.effective_sample_size:.1f} of {n}")


@app.command()
def fit(
    model: Path = MODEL_ARG,
    data: Path = DATA_ARG,
    out: Path = typer.Option(..., "--out", "-o", help="BIF file for the fitted network."),
    prior: str = typer.Option("mle", help="mle, bdeu, k2 (Dirichlet pseudo-counts)."),
    ess: float = typer.Option(1.0, "--ess", help="bdeu: equivalent sample size."),
    missing: str = typer.Option(
        "em", help="em (expectation-maximisation), drop (complete rows only), available "
        "(each family on the rows observing it)."
    ),
    latent: list[str] | None = typer.Option(
        None, "--latent", help="A variable of MODEL absent from the data, as H=2 (repeatable)."
    ),
    weights: str | None = typer.Option(None, help="Column of row weights."),
    max_iter: int = typer.Option(100, help="EM: most iterations."),
    tol: float = typer.Option(1e-6, help="EM: stop when the objective gains less than this, "
                              "relative."),
    restarts: int = typer.Option(0, help="EM: extra random starts (best one kept)."),
    seed: int = typer.Option(0, help="EM: seed of the random starts."),
    chunksize: int | None = typer.Option(
        None, help="Read the CSV this many rows at a time (out of core; not with EM)."
    ),
    json_out: bool = JSON_OPT,
) -> None:
    """Learn the CPTs of MODEL's structure from DATA (MODEL's own CPTs are ignored)."""
    from genlab.pgm.io import write_bif
    from genlab.pgm.learning.parameters import em, log_likelihood
    from genlab.pgm.learning.parameters import fit as fit_params

    m = _load(model)
    if type(m).__name__ != "BayesianNetwork":
        console.print("[red]error:[/] fit needs a Bayesian network (a .bif file)")
        raise typer.Exit(2)
    rows = _read_data(data, chunksize, weights)
    hidden = _latent(latent)
    options: dict[str, Any] = {"prior": prior, "equivalent_sample_size": ess,
                               "weights": None if chunksize else weights,
                               "latent": hidden or None}
    t0 = time.perf_counter()
    report: dict[str, Any] = {}
    try:
        needs_em = bool(hidden) or (not chunksize and bool(rows.isna().to_numpy().any()))
        if not needs_em or missing != "em":
            fitted = fit_params(m, rows, missing=missing, **options)
        else:
            with _bar("EM", json_out) as bar:
                task = bar.add_task("em", total=max_iter, info="")

                def step(it: int, ll: float) -> None:
                    bar.update(task, completed=it, info=f"log-lik {ll:.6g}")

                result = em(m, rows, max_iter=max_iter, tol=tol, restarts=restarts, seed=seed,
                            callback=step, **options)
            fitted = result.network
            report.update(iterations=result.iterations, converged=result.converged,
                          log_likelihood=result.log_likelihood, restart=result.restart)
    except (ValueError, MemoryError) as exc:
        raise _fail(exc) from None
    write_bif(fitted, out)
    report.update(seconds=time.perf_counter() - t0, out=str(out),
                  variables=len(fitted.variables))
    if "log_likelihood" not in report and not chunksize:
        report["log_likelihood"] = log_likelihood(fitted, rows, weights=weights)
    if json_out:
        typer.echo(json.dumps(report))
        return
    console.print(f"fitted {len(fitted.variables)} CPTs in {report['seconds']:.2f} s → {out}")
    if "iterations" in report:
        state = "converged" if report["converged"] else "stopped at max_iter"
        console.print(f"EM: {report['iterations']} iterations, {state}")
    if "log_likelihood" in report:
        console.print(f"log-likelihood of the data: {report['log_likelihood']:.6g}")


@app.command()
def loglik(
    model: Path = MODEL_ARG,
    data: Path = DATA_ARG,
    weights: str | None = typer.Option(None, help="Column of row weights."),
    json_out: bool = JSON_OPT,
) -> None:
    """Log-likelihood of DATA under MODEL: total and mean per row (rows with missing cells
    count the probability of what they observe)."""
    import numpy as np

    from genlab.pgm.learning.data import as_dataset
    from genlab.pgm.learning.parameters import log_likelihood

    m = _load(model)
    rows = _read_data(data, None)
    try:
        dataset = as_dataset(rows, m, weights=weights)  # names a bad weight's line
        per_row = log_likelihood(m, dataset, per_row=True)
    except (ValueError, MemoryError) as exc:
        raise _fail(exc) from None
    w = np.ones(len(per_row)) if dataset.weights is None else dataset.weights
    possible = np.isfinite(per_row) | (w == 0)
    total = float((w * per_row)[w > 0].sum())
    mean = total / float(w.sum()) if w.sum() > 0 else math.nan
    report = {"rows": len(per_row), "log_likelihood": total if math.isfinite(total) else None,
              "mean_per_row": mean if math.isfinite(mean) else None,
              "impossible_rows": int((~possible).sum())}
    if json_out:
        typer.echo(json.dumps(report))  # −inf (an impossible row) is written as null
        return
    table = Table(show_header=False, title=f"{model.name} on {data.name}")
    table.add_row("rows", str(len(per_row)))
    table.add_row("log-likelihood", f"{total:.6g}")
    table.add_row("mean per row", f"{mean:.6g}")
    if report["impossible_rows"]:
        table.add_row("impossible rows",
                      f"{report['impossible_rows']} (probability 0 under the model)")
    console.print(table)

def _arcs(pairs: list[str] | None, what: str) -> list[tuple[str, str]]:
    out = []
    for pair in pairs or []:
        a, sep, b = pair.partition("->")
        if not sep or not a.strip() or not b.strip():
            raise typer.BadParameter(f"{what} arcs look like A->B, got {pair!r}")
        out.append((a.strip(), b.strip()))
    return out


def _picture_path(out: Path) -> Path:
    """LEARNED.bif(.gz) → LEARNED.comparison.png beside it."""
    name = out.name
    for suffix in (".gz", ".bif"):
        name = name.removesuffix(suffix)
    return out.with_name(f"{name}.comparison.png")


@app.command()
def learn(
    data: Path = DATA_ARG,
    out: Path = typer.Option(..., "--out", "-o", help="BIF file for the learned network."),
    method: str = typer.Option(
        "tabu", help="tabu (hill climbing with a tabu list; the default), hc (plain hill "
        "climbing), pc (PC-stable), chow-liu, tan (needs --class-variable), exact (dynamic "
        "programming, up to ~20 variables)."
    ),
    score: str = typer.Option("bic", help="bic, aic, bdeu, k2 (score-based methods)."),
    ess: float = typer.Option(1.0, "--ess", help="bdeu: equivalent sample size."),
    max_parents: int | None = typer.Option(None, help="Most parents per variable (pc: largest "
                                           "conditioning set)."),
    black: list[str] | None = typer.Option(None, "--black", help="Forbidden arc A->B "
                                           "(repeatable)."),
    white: list[str] | None = typer.Option(None, "--white", help="Required arc A->B "
                                           "(repeatable)."),
    restarts: int = typer.Option(0, help="hc/tabu: random restarts (seeded by --seed)."),
    seed: int = typer.Option(0, help="Seed of the restarts."),
    alpha: float = typer.Option(0.05, help="pc: significance level of the tests."),
    test: str = typer.Option("g2", help="pc: g2 or chi2."),
    root: str | None = typer.Option(None, help="chow-liu/tan: root of the tree."),
    class_variable: str | None = typer.Option(None, help="tan: the class variable."),
    prior: str = typer.Option("mle", help="CPTs: mle, bdeu, k2."),
    truth: Path | None = typer.Option(
        None, help="The true network (.bif): print the SHD against its CPDAG and the arcs that "
        "differ, and draw LEARNED.comparison.png."
    ),
    chunksize: int | None = typer.Option(None, help="Read the CSV this many rows at a time."),
    json_out: bool = JSON_OPT,
) -> None:
    """Learn a network's structure and CPTs from DATA."""
    from genlab.pgm.io import write_bif
    from genlab.pgm.learning.graph import compare_graphs
    from genlab.pgm.learning.learn import learn as learn_network

    rows = _read_data(data, chunksize)
    true_bn = _load(truth) if truth is not None else None
    with Progress(TextColumn("[bold]searching[/]"), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), console=console, transient=True,
                  disable=json_out) as bar:
        task = bar.add_task("search", total=None, info="")

        def step(it: int, value: float) -> None:
            bar.update(task, info=f"move {it}, score {value:.6g}")

        try:
            result = learn_network(
                rows, method, score=score, ess=ess, max_parents=max_parents,
                black_list=_arcs(black, "--black"), white_list=_arcs(white, "--white"),
                restarts=restarts, seed=seed, alpha=alpha, test=test, root=root,
                class_variable=class_variable, prior=prior, callback=step,
            )
        except (ValueError, MemoryError) as exc:
            raise _fail(exc) from None
    write_bif(result.network, out)
    report: dict[str, Any] = {
        "method": method, "variables": len(result.dag.nodes), "arcs": result.dag.num_edges,
        "score": result.score, "score_name": score, "seconds": result.seconds, "out": str(out),
        "notes": result.notes,
    }
    if true_bn is not None:
        try:
            diff = compare_graphs(result.cpdag, true_bn)
        except ValueError as exc:
            raise _fail(exc) from None
        from genlab.pgm.learning.plot import draw_comparison

        picture = _picture_path(out)
        draw_comparison(result.cpdag, true_bn, picture,
                        title=f"{method} on {data.name} vs {truth.name}")  # type: ignore[union-attr]
        report.update(shd=diff.shd, missing=[list(a) for a in diff.missing],
                      extra=[list(a) for a in diff.extra],
                      reversed=[list(a) for a in diff.reversed],
                      misoriented=[list(a) for a in diff.misoriented],
                      precision=diff.precision, recall=diff.recall, picture=str(picture))
    if json_out:
        typer.echo(json.dumps(report))
        return
    console.print(f"{method}: {result.dag.num_edges} arcs over {len(result.dag.nodes)} "
                  f"variables in {result.seconds:.2f} s → {out}")
    if not math.isnan(result.score):
        console.print(f"{score.upper()} score {result.score:.6g}")
    for note in result.notes:
        console.print(f"note: {note}")
    if true_bn is not None:
        console.print(f"SHD against the true CPDAG: [bold]{report['shd']}[/] (skeleton precision "
                      f"{report['precision']:.2f}, recall {report['recall']:.2f})")
        for line in diff.lines():
            console.print(f"  {line}")
        console.print(f"picture: {report['picture']}")
