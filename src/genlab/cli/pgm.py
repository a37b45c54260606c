"""`genlab pgm ...`: graphical-model commands (info, query, map, solve)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Graphical models: read BIF/UAI files, exact marginals, partition function, MAP.",
    no_args_is_help=True,
)
