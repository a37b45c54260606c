"""The image-task tour section in fast mode: a picture and a table row set per task."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from rich.console import Console

from genlab.gan.tasks.tour import tour_section
from genlab.tour import TourContext


def test_fast_image_tour_section_writes_a_picture_per_task(tmp_path: Path) -> None:
    ctx = TourContext(run_dir=tmp_path, fast=True, console=Console(quiet=True))
    text = tour_section(ctx)
    names = {p.name for p in ctx.outputs}
    assert names == {"image_superres.png", "image_inpaint.png", "image_colorize.png",
                     "image_uncrop.png", "style_transfer.png"}
    with Image.open(tmp_path / "image_inpaint.png") as grid:  # rows: input, 3 baselines
        assert grid.size == (4 * 66 + 2, 6 * 66 + 2)            # (biharmonic, mean, G's start),
                                                                # genlab, truth
    for task in ("superres", "inpaint", "colorize", "uncrop"):
        assert f"| {task} | genlab GAN + L1 |" in text
    assert "| superres | bicubic |" in text and "| inpaint | biharmonic |" in text
