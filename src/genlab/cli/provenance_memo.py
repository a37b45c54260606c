"""`genlab provenance nearest` and `genlab provenance memorization`: which training images a
GAN's samples come from, and whether it copies them (torch imported inside the commands)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from genlab.cli.gan import _fail, console

__all__ = ["memorization", "nearest", "register"]

RUN_HELP = "A GAN run folder (its latest checkpoint) or one checkpoint file."
SPACE_HELP = ("Distance space: pixels (raw [-1, 1] pixels) or lenet (features of the LeNet "
              "FID uses; MNIST's for grey images).")


def nearest(
    run: Path = typer.Argument(..., help=RUN_HELP),
    n: int = typer.Option(16, "--n", help="Generated images (one row each)."),
    k: int = typer.Option(5, "--k", help="Nearest training images shown per row."),
    space: str = typer.Option("pixels", help=SPACE_HELP),
    out: Path = typer.Option(Path("nn.png"), "--out", "-o", help="PNG to write."),
    seed: int = typer.Option(0, help="Seed of the samples' noise."),
) -> None:
    """Draw n samples and show each next to its k nearest training images (exact L2 search).

    Example: genlab provenance nearest runs/gan --n 16 --out nn.png
    """
    from genlab.provenance.memorization import nearest_grid_for_run

    if out.suffix.lower() != ".png":
        raise _fail(f"--out must end in .png, got {out}")
    if n < 1 or k < 1:
        raise _fail(f"--n and --k must be >= 1, got n={n}, k={k}")
    try:
        path = nearest_grid_for_run(run, out, n=n, k=k, space=space, seed=seed)
    except ValueError as err:
        raise _fail(str(err)) from err
    console.print(f"Wrote {n} samples and their {k} nearest training images ({space}) to "
                  f"[bold]{path}[/]")


def _json_safe(report: dict[str, Any]) -> dict[str, Any]:
    """NaN / inf become null so that the output is strict JSON."""
    return {key: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for key, v in report.items()}


def memorization(
    run: Path = typer.Argument(..., help=RUN_HELP),
    n: int = typer.Option(2000, "--n", help="Generated samples scored."),
    heldout: str = typer.Option(
        "auto", help="Held-out real images for C_T: mnist-rest (MNIST-5k digits not in the "
                     "training folder), a folder of images, or auto (mnist-rest when the "
                     "training set is cut from MNIST-5k, else an error)."),
    space: str = typer.Option("pixels", help=SPACE_HELP),
    alpha: float = typer.Option(0.5, help="Carlini et al.'s α: memorized when the nearest "
                                          "training image is closer than α × the mean distance "
                                          "to the 50 nearest."),
    cells: int = typer.Option(0, help="k-means cells of C_T (0 = at most 20, with >= 5 "
                                      "training and >= 20 held-out images per cell)."),
    seed: int = typer.Option(0, help="Seed of the samples and of k-means."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object, not a table."),
) -> None:
    """Memorization rate (Carlini et al. 2023) and the data-copying test C_T (Meehan et al.
    2020) of a GAN's samples against its training set and a held-out set.

    C_T << 0 (say below -3): samples lie closer to the training images than fresh real images
    do, i.e. the GAN copies; near 0: no sign of copying. Example:
    genlab provenance memorization runs/gan --heldout mnist-rest --json
    """
    from genlab.provenance.memorization import score_run

    if n < 2:
        raise _fail(f"--n must be >= 2, got {n}")
    if cells < 0:
        raise _fail(f"--cells must be >= 0, got {cells}")
    try:
        report = score_run(run, n=n, heldout=heldout, space=space, seed=seed, alpha=alpha,
                           cells=cells or None)
    except ValueError as err:
        raise _fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(_json_safe(report)))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{run} ({space})", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    table.add_row("memorization rate", f"{report['memorization_rate']:.3f}",
                  f"share of samples with d(nn1) < {alpha:g} × mean d(50 nearest)")
    table.add_row("C_T", f"{report['c_t']:.2f}", "≪ 0 copying, ≈ 0 none, ≫ 0 underfit")
    table.add_row("cells used", f"{report['cells_used']}/{report['cells']}",
                  f"k-means cells with >= {report['min_generated']} samples")
    table.add_row("median d(nn1)", f"{report['median_nn_distance_generated']:.3f}",
                  "samples to their nearest training image")
    table.add_row("median d(nn1) held-out", f"{report['median_nn_distance_heldout']:.3f}",
                  "held-out images to their nearest training image")
    table.add_row("samples / train / held-out",
                  f"{report['n_samples']} / {report['n_train']} / {report['n_heldout']}",
                  report["heldout"])
    Console().print(table)  # the result goes to stdout, messages to stderr


def register(app: typer.Typer) -> None:
    """Add `nearest` and `memorization` to the `genlab provenance` group."""
    app.command("nearest")(nearest)
    app.command("memorization")(memorization)
