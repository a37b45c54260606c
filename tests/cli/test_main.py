"""The `genlab` command: help, version and the tour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import genlab
from genlab.cli.main import app

runner = CliRunner()


def test_help_lists_the_three_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("pgm", "gan", "tour"):
        assert name in result.output


def test_version_matches_package() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"genlab {genlab.__version__}"


def test_console_script_is_installed() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "genlab.cli.main", "--version"],
        capture_output=True, text=True, check=True,
    )
    assert genlab.__version__ in out.stdout


def test_tour_fast_writes_report(tmp_path: Path) -> None:
    run_dir = tmp_path / "tour"
    result = runner.invoke(app, ["tour", "--fast", "--out", str(run_dir)])
    assert result.exit_code == 0, result.output
    report = run_dir / "report.md"
    assert report.is_file()
    text = report.read_text()
    assert text.startswith("# genlab tour")
    assert "genlab at a glance" in text
    assert str(run_dir) in result.output.replace("\n", "")


def test_import_genlab_does_not_import_torch() -> None:
    code = "import genlab, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_tour_overview_names_every_command_group(tmp_path: Path) -> None:
    """The tour's first section lists each command group `genlab --help` offers, so a new
    group cannot land without the overview saying it exists."""
    from genlab.tour import TourContext, _overview

    groups = [g.name for g in app.registered_groups]
    assert "provenance" in groups and "seq" in groups
    text = _overview(TourContext(run_dir=tmp_path, fast=True))
    for name in groups:
        assert f"`{name}`" in text, name
