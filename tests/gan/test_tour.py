"""The GAN tour section in fast mode writes its grid (one row per digit), strip and GIF."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from rich.console import Console

from genlab.gan.tour import tour_section
from genlab.tour import TourContext


def test_fast_tour_section_writes_its_pictures(tmp_path: Path) -> None:
    ctx = TourContext(run_dir=tmp_path, fast=True, console=Console(quiet=True))
    text = tour_section(ctx)
    assert {p.name for p in ctx.outputs} == {
        "gan_samples.png", "gan_interpolation.png", "gan_interpolation.gif"}
    with Image.open(tmp_path / "gan_samples.png") as grid:  # 10 × 10 cells of 32 px + 2 px, ×2
        assert grid.size == (2 * (10 * 34 + 2), 2 * (10 * 34 + 2))
    with Image.open(tmp_path / "gan_interpolation.gif") as gif:
        assert gif.n_frames == 2 * 10 - 2
    assert "4 generator steps" in text and "skipped in fast mode" in text
    assert (tmp_path / "gan-mnist" / "checkpoints" / "step-00000004.safetensors").is_file()
