"""Restoration metrics against scikit-image and hand-computed values; baselines on images
whose right answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from genlab.gan.tasks import metrics as M
from genlab.gan.tasks.baselines import BASELINES, lanczos_from_low
from genlab.gan.tasks.degrade import Colorize, Inpaint, SuperResolution, Uncrop, side_mask


def _image(seed: int = 0, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.5 + 0.3 * np.sin(6 * x), 0.4 + 0.3 * y, 0.3 + 0.2 * x * y], axis=-1)
    return np.clip(base + 0.05 * rng.standard_normal(base.shape), 0, 1)


def test_psnr_and_ssim_match_scikit_image() -> None:
    a, b = _image(0), _image(1)
    assert M.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=1.0), 1e-12)
    expected = structural_similarity(a, b, data_range=1.0, channel_axis=-1, gaussian_weights=True,
                                     sigma=1.5, use_sample_covariance=False)
    assert M.ssim(a, b) == pytest.approx(expected, 1e-12)
    assert M.ssim(a, a) == pytest.approx(1.0)
    assert M.psnr(a, a) == math.inf


def test_luma_psnr_is_the_sr_convention() -> None:
    a = _image(0)
    b = np.clip(a + 10 / 255, 0, 1)  # every channel up by 10 levels (almost nowhere clipped)
    y = lambda im: 16 + 65.481 * im[..., 0] + 128.553 * im[..., 1] + 24.966 * im[..., 2]  # noqa
    mse = ((y(a)[4:-4, 4:-4] - y(b)[4:-4, 4:-4]) ** 2).mean()
    assert M.psnr_y(a, b, shave=4) == pytest.approx(10 * math.log10(255 ** 2 / mse), 1e-10)
    assert 0.0 < M.ssim_y(a, b, 4) <= 1.0


def test_hole_metrics_and_seam() -> None:
    truth = _image(0)
    mask = np.zeros(truth.shape[:2], bool)
    mask[10:30, 12:40] = True
    out = truth.copy()
    out[mask] += 0.1  # a fill that is right up to a constant offset of 0.1
    assert M.hole_psnr(out, truth, mask) == pytest.approx(20.0, 1e-9)  # 10·log10(1 / 0.01)
    # every jump across the border is off by exactly 0.1: the same 20 dB
    assert M.seam_psnr(out, truth, mask) == pytest.approx(20.0, 1e-9)
    assert M.seam_psnr(truth, truth, mask) == math.inf
    assert M.hole_ssim(truth, truth, mask) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="border"):
        M.seam_psnr(out, truth, np.ones_like(mask))


def test_colour_metrics() -> None:
    truth = _image(0)
    grey = np.repeat(truth.mean(-1, keepdims=True), 3, axis=-1)
    assert M.chroma_ratio(grey, truth) == pytest.approx(0.0, abs=1e-3)
    assert M.chroma_ratio(truth, truth) == pytest.approx(1.0)
    assert M.colour_error(truth, truth) == 0.0
    assert M.colourfulness(grey) == pytest.approx(0.0, abs=1e-9)
    red = np.zeros((4, 4, 3))
    red[..., 0] = 1.0  # rg = 255, yb = 127.5 everywhere: σ = 0, μ = hypot(255, 127.5)
    assert M.colourfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))


def _batch(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() * 2 - 1


def test_super_resolution_baselines_keep_a_constant_image() -> None:
    flat = torch.full((1, 3, 32, 32), 0.2)
    task = SuperResolution(4)
    degraded = task.degrade(flat, torch.Generator())
    for name, fn in BASELINES["superres"].items():
        assert torch.allclose(fn(task, degraded), flat, atol=1e-5), name
    low = torch.rand(1, 1, 8, 8) * 2 - 1
    assert lanczos_from_low(low, 2).shape == (1, 1, 16, 16)


def test_inpainting_baselines_on_known_answers() -> None:
    y, x = np.mgrid[0:32, 0:32] / 32
    ramp = np.stack([0.2 + 0.5 * x, 0.3 + 0.4 * y, 0.5 + 0.2 * (x - y)], axis=-1)
    mask = np.zeros((32, 32), bool)
    mask[8:20, 10:22] = True
    task = Inpaint()
    degraded = task.with_mask(_batch(ramp), torch.from_numpy(mask)[None, None].float())
    out = BASELINES["inpaint"]["biharmonic"](task, degraded)
    # a linear ramp is biharmonic: the fill reproduces it
    assert torch.allclose(out, _batch(ramp), atol=2e-3)
    filled = BASELINES["inpaint"]["mean fill"](task, degraded)[0].permute(1, 2, 0).numpy()
    known_mean = (ramp * 2 - 1)[~mask].mean(axis=0)
    assert np.allclose(filled[mask], known_mean, atol=1e-6)
    assert np.allclose(filled[~mask], (ramp * 2 - 1)[~mask], atol=1e-6)


def test_uncropping_baselines_reflect_and_extend() -> None:
    rng = np.random.default_rng(0)
    half = rng.random((16, 8, 3))
    mirrored = np.concatenate([half, half[:, ::-1][:, 1:], half[:, :1]], axis=1)  # 16 × 16
    task = Uncrop("right", 0.25)
    mask = side_mask(1, 16, 16, "right", 0.25)
    degraded = task.with_mask(_batch(mirrored), mask)
    out = BASELINES["uncrop"]["reflect"](task, degraded)[0].permute(1, 2, 0).numpy()
    expected = np.pad(mirrored[:, :12], ((0, 0), (0, 4), (0, 0)), mode="reflect") * 2 - 1
    assert np.allclose(out, expected, atol=1e-6)
    edge = BASELINES["uncrop"]["edge"](task, degraded)[0].permute(1, 2, 0).numpy()
    assert np.allclose(edge[:, 12:], np.repeat(edge[:, 11:12], 4, axis=1))


def test_grey_baseline_is_the_input() -> None:
    task = Colorize()
    clean = _batch(_image(0))
    degraded = task.degrade(clean, torch.Generator())
    out = BASELINES["colorize"]["grey"](task, degraded)
    assert M.chroma_ratio(M.to_unit(out)[0], M.to_unit(clean)[0]) < 0.01
