"""`genlab pgm gaussian ...`: linear-Gaussian networks in JSON (query, fit, sample).

The model file is {"nodes": [{"name", "parents", "weights", "bias", "variance"}, ...]}; data
files are CSV with one numeric column per variable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from genlab.cli.pgm import _fail, console
from genlab.cli.pgm import app as pgm_app

if TYPE_CHECKING:
    from genlab.pgm.models.gaussian import LinearGaussianBayesianNetwork

app = typer.Typer(
    help="Linear-Gaussian Bayesian networks (JSON): exact posterior queries, least-squares "
    "fitting from CSV, sampling.",
    no_args_is_help=True,
)
pgm_app.add_typer(app, name="gaussian")

GAUSSIAN_MODEL_ARG = typer.Argument(
    ..., help='Network JSON: {"nodes": [{"name", "parents", "weights", "bias", "variance"}]}.',
    show_default=False,
)


def _load(path: Path) -> LinearGaussianBayesianNetwork:
    from genlab.pgm.io.gaussian_json import read_gaussian_json

    try:
        return read_gaussian_json(path)
    except ValueError as exc:
        raise _fail(exc, 2) from None


def _numeric_evidence(pairs: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for pair in pairs or []:
        var, sep, value = pair.partition("=")
        try:
            number = float(value) if sep and var.strip() else None
        except ValueError:
            number = None
        if number is None:
            raise typer.BadParameter(f"evidence must look like VAR=NUMBER, got {pair!r}")
        out[var.strip()] = number
    return out


@app.command()
def query(
    model: Path = GAUSSIAN_MODEL_ARG,
    evidence: list[str] | None = typer.Option(
        None, "--evidence-var", "-e", help="Observed variable as VAR=VALUE (repeatable)."),
    variables: list[str] | None = typer.Option(
        None, "--query", "-q", help="Variable to report (repeatable; default: every unobserved)."),
    as_json: bool = typer.Option(
        False, "--json", help='Print {"variables", "mean", "covariance"} as JSON.'),
) -> None:
    """Posterior mean and covariance of the unobserved variables given the evidence."""
    net = _load(model)
    try:
        post = net.query(variables or None, _numeric_evidence(evidence))
    except ValueError as exc:
        raise _fail(exc) from None
    if as_json:
        print(json.dumps(post.to_dict()))
        return
    table = Table(title="posterior" if evidence else "prior")
    table.add_column("variable")
    table.add_column("mean", justify="right")
    table.add_column("std", justify="right")
    for v, m, s in zip(post.variables, post.mean, post.std, strict=True):
        table.add_row(v, f"{m:.6g}", f"{s:.6g}")
    console.print(table)
    if len(post.variables) > 1:
        cov = Table(title="covariance")
        cov.add_column("")
        for v in post.variables:
            cov.add_column(v, justify="right")
        for v, row in zip(post.variables, post.covariance, strict=True):
            cov.add_row(v, *(f"{x:.4g}" for x in row))
        console.print(cov)


@app.command()
def fit(
    model: Path = GAUSSIAN_MODEL_ARG,
    data: Path = typer.Argument(..., help="CSV with one numeric column per variable.",
                                show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the fitted JSON."),
    variance: str = typer.Option(
        "mle", help="Residual variance: mle (÷ n) or unbiased (÷ n − parents − 1)."),
) -> None:
    """Keep MODEL's structure, fit every node by least squares on DATA, write the result."""
    from genlab.pgm.io import read_csv
    from genlab.pgm.io.gaussian_json import write_gaussian_json

    net = _load(model)
    try:
        fitted = net.fit(read_csv(data), variance=variance)
    except ValueError as exc:
        raise _fail(exc) from None
    write_gaussian_json(fitted, out)
    console.print(f"fitted {len(fitted)} nodes on {data} → {out}")


@app.command()
def sample(
    model: Path = GAUSSIAN_MODEL_ARG,
    n: int = typer.Option(1000, "-n", min=0, help="Number of rows."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV to write."),
    evidence: list[str] | None = typer.Option(
        None, "--evidence-var", "-e", help="Condition on VAR=VALUE (exact posterior draws)."),
    seed: int | None = typer.Option(None, help="Random seed."),
) -> None:
    """Draw N rows (ancestral sampling, or exact draws from the posterior given -e)."""
    from genlab._atomic import atomic_write_bytes

    net = _load(model)
    try:
        rows = net.sample(n, _numeric_evidence(evidence) or None, seed=seed)
    except ValueError as exc:
        raise _fail(exc) from None
    atomic_write_bytes(out, rows.to_csv(index=False, float_format="%.17g").encode())
    console.print(f"{n} rows → {out}")


@app.command()
def learn(
    data: Path = typer.Argument(..., help="CSV with one numeric column per variable.",
                                show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the learned JSON."),
    score: str = typer.Option("bic-g", help="Structure score: bic-g, aic-g or ll-g."),
    max_parents: int | None = typer.Option(None, help="Most parents per node."),
    seed: int | None = typer.Option(None, help="Seed of the search's random restarts."),
) -> None:
    """Learn structure (tabu search on a Gaussian score) and parameters from DATA."""
    from genlab.pgm.io import read_csv
    from genlab.pgm.io.gaussian_json import write_gaussian_json
    from genlab.pgm.learning.gaussian import learn_gaussian

    try:
        net, result = learn_gaussian(read_csv(data), score=score, max_parents=max_parents,
                                     seed=seed)
    except ValueError as exc:
        raise _fail(exc) from None
    write_gaussian_json(net, out)
    console.print(f"{len(net)} nodes, {net.dag.num_edges} arcs, {score} = {result.score:.6g}"
                  f" → {out}")
