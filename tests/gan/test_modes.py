"""The 2-D ring of 8 Gaussians: a short CPU run of the default MLP GAN finds every mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from genlab.gan.checkpoint import load_generator
from genlab.gan.data import mixture_modes, mixture_std
from genlab.gan.metrics import coverage_of_modes
from genlab.gan.sample import sample
from genlab.gan.train import TrainConfig, train


@pytest.mark.slow
def test_ring8_reaches_all_eight_modes(tmp_path: Path) -> None:
    # defaults for ring8: MLP pair, batch 256, Adam 1e-3 (0.5, 0.999), non-saturating loss
    run = train(TrainConfig(data="ring8", out=str(tmp_path), steps=1500, progress=False,
                            sample_every=0, seed=0))
    generator, config = load_generator(run)
    assert config["model"] == "mlp"
    points = sample(generator, 2500, seed=1)  # the VEEGAN / PacGAN protocol: 2,500 samples
    stats = coverage_of_modes(points.double().numpy(), mixture_modes("ring8"),
                              mixture_std("ring8"))
    assert stats["modes_captured"] == 8
    assert stats["high_quality_fraction"] > 0.3
