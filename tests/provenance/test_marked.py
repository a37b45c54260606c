"""Watermarked generators: the differentiable reader equals `detect`'s sign readout, the sign
readout's p-values are calibrated, and the fine-tuning runs (and resumes) on the one loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import binom, kstest

from genlab.gan.checkpoint import load_generator, read_checkpoint
from genlab.gan.config import TrainConfig
from genlab.gan.train import train
from genlab.provenance import watermark as wm
from genlab.provenance.images import from_unit, to_unit
from genlab.provenance.marked import ChipReader, watermark_generator

TINY = {"data": "digits", "img_size": 32, "width": 8, "batch_size": 16, "precision": "fp32",
        "progress": False, "sample_every": 0, "threads": 1}


def _numpy_statistics(pixels: np.ndarray, key: str) -> np.ndarray:
    """The sign readout's 32 statistics as `detect` computes them."""
    x = wm._as_pixels(pixels)
    luma = wm._luma(x)
    plan = wm.sign_plan(key, *luma.shape)
    y = wm._real(wm._coefficients(wm._fold(luma, plan.tile), plan.band))
    y = y / wm._ring_gain(luma, plan.band)
    return (plan.signs * y[plan.coords]).sum(axis=1) / np.sqrt(plan.coords.shape[1])


@pytest.mark.parametrize("shape", [(32, 32), (28, 28), (64, 80, 3)])
def test_reader_equals_the_numpy_readout(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    reader = ChipReader("k", "gl14", shape[0], shape[1], margin=1.0)
    images = torch.from_numpy(to_unit(pixels[None]))
    np.testing.assert_allclose(reader(images)[0].numpy(), _numpy_statistics(pixels, "k"),
                               rtol=1e-4, atol=1e-4)


def test_an_image_pushed_by_the_reader_is_detected_with_its_message() -> None:
    digits = load_digits(8)
    reader = ChipReader("gen-key", "gl14", 32, 32, margin=1.0)
    x = torch.from_numpy(to_unit(digits)).requires_grad_(True)
    start = x.detach().clone()
    opt = torch.optim.Adam([x], lr=0.01)
    for _ in range(150):
        loss = reader.loss(x, reference=start)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(-1, 1)
    marked = from_unit(x.detach().numpy())
    for image in marked:
        found = wm.detect(image, "gen-key", readout="sign", message="gl14")
        assert found.detected and found.message == "gl14"
        assert found.bits == "".join(map(str, wm.payload_bits("gl14")))
        assert not wm.detect(image, "other", readout="sign", message="gl14").detected


def load_digits(n: int) -> np.ndarray:
    from genlab.gan.data import load_dataset

    return from_unit(load_dataset("mnist").x[:n].numpy())  # (n, 32, 32) uint8


def test_sign_readout_p_values_are_uniform_on_clean_digits() -> None:
    digits = load_digits(400)
    rng = np.random.default_rng(5)
    found = [wm.detect(d, f"key-{i}", readout="sign", message="gl14")
             for i, d in enumerate(digits)]
    k = np.array([f.header_matches for f in found])
    randomised = binom.sf(k, 32, 0.5) + rng.random(len(k)) * binom.pmf(k, 32, 0.5)
    assert kstest(randomised, "uniform").pvalue > 1e-3
    assert not any(f.detected for f in found)


def test_sign_readout_needs_the_message() -> None:
    with pytest.raises(ValueError, match="message"):
        wm.detect(load_digits(1)[0], "k", readout="sign")
    with pytest.raises(ValueError, match="readout"):
        wm.detect(load_digits(1)[0], "k", readout="nope")


def test_watermark_generator_runs_on_the_loop_and_resumes(tmp_path: Path) -> None:
    source = train(TrainConfig(out=str(tmp_path / "gan"), steps=3, **TINY))
    out = watermark_generator(source, tmp_path / "marked", "k", "gl14", steps=2,
                              progress=False)
    tensors, meta = read_checkpoint(out)
    assert meta["step"] == 5
    config = meta["config"]
    assert (config["watermark_key"], config["watermark_message"]) == ("k", "gl14")
    assert Path(config["watermark_source"]).exists() and config["ema"] == 0.0
    assert not any(name.startswith("ema.") for name in tensors)
    resumed = train(TrainConfig(out=str(out), steps=6, resume=True, progress=False))
    assert read_checkpoint(resumed)[1]["step"] == 6
    generator, _ = load_generator(resumed)
    assert generator(torch.randn(2, generator.z_dim), None).shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="already holds"):
        watermark_generator(source, out, "k", "gl14", steps=1, progress=False)
    with pytest.raises(ValueError, match="4 bytes"):
        watermark_generator(source, tmp_path / "x", "k", "too long", steps=1, progress=False)
