"""The tour's learning section: it learns the lecture's network back and runs EM."""

from __future__ import annotations

import re


def test_tour_section_learns_the_red_blue_network(tmp_path) -> None:
    from genlab.pgm.learning.tour import tour_section
    from genlab.tour import TourContext

    ctx = TourContext(run_dir=tmp_path, fast=True)
    text = tour_section(ctx)
    assert "structural Hamming distance is **0**" in text  # 1,000 rows suffice at seed 0
    assert {p.name for p in ctx.outputs} == {"learned_vs_true.png", "em_log_likelihood.png"}
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in ctx.outputs)
    errors = [float(x) for x in re.findall(r"(?:MLE|EM|only) (\d\.\d{3})", text)]
    assert len(errors) == 3 and max(errors[:2]) < 0.1
    assert "converged" in text
