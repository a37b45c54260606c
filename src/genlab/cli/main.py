"""Entry point of the `genlab` command: pgm, gan, image, text2img, provenance, hmm, seq, tour."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from genlab._version import __version__
from genlab.cli.gan import app as gan_app
from genlab.cli.hmm import app as hmm_app
from genlab.cli.image import app as image_app
from genlab.cli.pgm import app as pgm_app
from genlab.cli.provenance import app as provenance_app
from genlab.cli.seq import app as seq_app
from genlab.cli.text2img import app as text2img_app

app = typer.Typer(
    name="genlab",
    help="Generative models: graphical models with exact inference, HMMs and language models, "
    "GANs, image tasks and text to image, and the provenance of generated images.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
app.add_typer(pgm_app, name="pgm")
app.add_typer(gan_app, name="gan")
app.add_typer(image_app, name="image")
app.add_typer(hmm_app, name="hmm")
app.add_typer(seq_app, name="seq")
app.add_typer(text2img_app, name="text2img")
app.add_typer(provenance_app, name="provenance")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"genlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """genlab: learn p_θ(x) ≈ p*(x), then sample and query it."""


@app.command()
def tour(
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Run folder (default: runs/tour-<timestamp>)."
    ),
    fast: bool = typer.Option(
        False, "--fast", help="Tiny budgets everywhere (seconds, for tests and smoke checks)."
    ),
    seed: int = typer.Option(0, help="Random seed for every section."),
    only: list[str] | None = typer.Option(
        None, "--only", help="Run only sections whose title contains this text (repeatable)."
    ),
) -> None:
    """Walk through what genlab does, writing a report and pictures into a run folder."""
    from genlab.tour import run_tour

    console = Console()
    result = run_tour(out, fast=fast, seed=seed, console=console, only=only)
    console.rule("done")
    console.print(f"Tour finished in {result.seconds:.1f} s. Outputs in [bold]{result.run_dir}[/]:")
    for path in result.outputs:
        console.print(f"  {path}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
