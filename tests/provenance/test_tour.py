"""The provenance tour section in fast mode: files written, the mark found, the crop too."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from genlab.tour import run_tour


def test_provenance_section_fast(tmp_path: Path) -> None:
    result = run_tour(tmp_path / "tour", fast=True, only=["Provenance"],
                      console=Console(quiet=True))
    names = {p.name for p in result.outputs}
    assert {"provenance_marked.png", "provenance_mark_x20.png",
            "provenance_nearest.png"} <= names
    report = result.report.read_text()
    rows = {line.split("|")[1].strip(): line for line in report.splitlines()
            if line.startswith("| ") and "|" in line[2:]}
    assert "| yes |" in rows["marked"] and "'gl14'" in rows["marked"]
    assert "| yes |" in rows["marked, JPEG 75"]
    assert "| no |" in rows["unmarked"] and "| no |" in rows["marked, wrong key"]
