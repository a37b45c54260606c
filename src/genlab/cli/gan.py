"""`genlab gan ...`: GAN commands (train, sample, interpolate, eval)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="GANs: train DCGAN / conditional DCGAN by Algorithm 1, sample, interpolate, evaluate.",
    no_args_is_help=True,
)
