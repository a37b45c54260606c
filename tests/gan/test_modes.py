"""The 2-D mixtures: the default MLP GAN (R1 penalty, EMA of G) finds every mode of ring8 and
grid25 under the VEEGAN / PacGAN protocol; its 2-D defaults can be switched off explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genlab.gan.checkpoint import list_checkpoints, load_generator, read_checkpoint
from genlab.gan.config import resolve_config
from genlab.gan.data import load_dataset, mixture_modes, mixture_std
from genlab.gan.metrics import coverage_of_modes
from genlab.gan.sample import sample
from genlab.gan.train import TrainConfig, train


def _mode_stats(data: str, out: Path, steps: int) -> dict[str, float]:
    """Train the defaults for `data` (seed 0) and score 2,500 samples of the EMA generator."""
    run = train(TrainConfig(data=data, out=str(out), steps=steps, progress=False,
                            sample_every=0, seed=0))
    generator, config = load_generator(run)
    assert (config["model"], config["penalty"]) == ("mlp", "r1")
    assert (config["ema"], config["ema_rampup"]) == (0.999 if data == "grid25" else 0.99, 0.05)
    points = sample(generator, 2500, seed=1)  # the VEEGAN / PacGAN protocol: 2,500 samples
    return coverage_of_modes(points.double().numpy(), mixture_modes(data), mixture_std(data))


def test_points_default_to_r1_and_ema_which_can_be_switched_off(tmp_path: Path) -> None:
    cpu, ring = torch.device("cpu"), load_dataset("ring8")
    points = resolve_config(TrainConfig(data="ring8"), ring, cpu)
    assert (points.penalty, points.penalty_weight, points.ema) == ("r1", 1.0, 0.99)
    grid = resolve_config(TrainConfig(data="grid25"), load_dataset("grid25"), cpu)
    assert (grid.penalty, grid.penalty_weight, grid.ema) == ("r1", 0.1, 0.999)  # DATA_DEFAULTS
    assert resolve_config(TrainConfig(data="grid25", penalty_weight=1.0),
                          load_dataset("grid25"), cpu).penalty_weight == 1.0  # flags still win
    assert points.lr_decay == 0.0  # constant rates: a decay hurt short budgets (6k steps)
    images = resolve_config(TrainConfig(data="digits"), load_dataset("digits"), cpu)
    assert (images.penalty, images.ema, images.lr_decay) == ("none", 0.0, 0.0)
    plain = resolve_config(TrainConfig(data="ring8", penalty="none", ema=0.0), ring, cpu)
    assert (plain.penalty, plain.ema) == ("none", 0.0)
    # a penalty other than the data's default gets the usual weight (WGAN-GP's 10)
    assert resolve_config(TrainConfig(data="ring8", penalty="gp"), ring, cpu).penalty_weight == 10
    run = train(TrainConfig(data="ring8", out=str(tmp_path), steps=2, ema=0.0, progress=False,
                            sample_every=0))
    tensors, meta = read_checkpoint(list_checkpoints(run)[-1])
    assert meta["config"]["ema"] == 0.0 and not any(k.startswith("ema.") for k in tensors)


@pytest.mark.slow
def test_ring8_reaches_all_eight_modes(tmp_path: Path) -> None:
    # seed 0 measured 8/8, 86.9% high quality, reverse KL 0.0013 at 6,000 steps
    stats = _mode_stats("ring8", tmp_path, steps=6000)
    assert stats["modes_captured"] == 8
    assert stats["high_quality_fraction"] > 0.8


@pytest.mark.slow
def test_grid25_reaches_all_twenty_five_modes(tmp_path: Path) -> None:
    # seed 0 measured 25/25, 77.9% high quality, reverse KL 0.015 at 6,000 steps (the
    # defaults before grid25's R1 weight 0.1 and ramped EMA 0.999: 63.5%, 0.034)
    stats = _mode_stats("grid25", tmp_path, steps=6000)
    assert stats["modes_captured"] == 25
    assert stats["high_quality_fraction"] > 0.7
    assert stats["reverse_kl"] < 0.05
