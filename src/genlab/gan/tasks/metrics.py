"""Image-restoration metrics that need no downloaded weights (numpy + scikit-image).

Images are (H, W, C) float arrays in [0, 1]; masks are (H, W) booleans, True = a filled hole.
"""

from __future__ import annotations

import numpy as np
import torch

from genlab.gan.tasks.color import luma, rgb_to_lab

__all__ = ["chroma", "chroma_ratio", "colour_error", "colourfulness", "decibels", "hole_mse",
           "hole_psnr", "hole_ssim", "mse", "psnr", "psnr_y", "seam_mse", "seam_psnr", "ssim",
           "ssim_y", "to_unit"]

Array = np.ndarray


def to_unit(images: torch.Tensor) -> Array:
    """(B, C, H, W) tensors in [-1, 1] -> (B, H, W, C) float64 arrays in [0, 1]."""
    return ((images.detach().double().cpu().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()


def _mse_db(mse: float, peak: float) -> float:
    return float("inf") if mse == 0 else float(10 * np.log10(peak ** 2 / mse))


def decibels(mse: float) -> float:
    """PSNR (peak 1) of a mean squared error: +inf for 0."""
    return _mse_db(mse, 1.0)


def mse(out: Array, truth: Array, mask: Array | None = None) -> float:
    """Mean squared error over all pixels, or over the pixels where `mask` is True."""
    diff = (np.asarray(out, np.float64) - np.asarray(truth, np.float64)) ** 2
    if mask is not None:
        diff = diff[np.asarray(mask, bool)]
    return float(diff.mean())


def psnr(out: Array, truth: Array, mask: Array | None = None) -> float:
    """PSNR in dB (peak 1) over all pixels, or over the pixels where `mask` is True."""
    return decibels(mse(out, truth, mask))


def _y(image: Array) -> Array:
    """BT.601 luma in [16, 235] of an (H, W, 3) image (grey images are their own luma)."""
    if image.shape[-1] == 1:
        return 16.0 + 219.0 * image[..., 0]
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return luma(t)[0, 0].numpy()


def _shave(image: Array, border: int) -> Array:
    return image[border:-border, border:-border] if border else image


def psnr_y(out: Array, truth: Array, shave: int = 0) -> float:
    """PSNR of the luma channel (0–255 scale), `shave` border pixels dropped: the convention of
    the super-resolution literature (Set5 / Set14 tables)."""
    a, b = _shave(_y(out), shave), _shave(_y(truth), shave)
    return _mse_db(float(((a - b) ** 2).mean()), 255.0)


def _ssim(a: Array, b: Array, data_range: float, full: bool = False,
          channel_axis: int | None = None) -> tuple[float, Array] | float:
    from skimage.metrics import structural_similarity

    # Wang et al. 2004: an 11×11 Gaussian window of σ 1.5, population covariances
    return structural_similarity(a, b, data_range=data_range, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, full=full,
                                 channel_axis=channel_axis)


def ssim(out: Array, truth: Array) -> float:
    """SSIM (Wang et al. settings) over all channels."""
    return float(_ssim(out, truth, 1.0, channel_axis=-1))  # type: ignore[arg-type]


def ssim_y(out: Array, truth: Array, shave: int = 0) -> float:
    """SSIM of the luma channel, border shaved (super-resolution's convention)."""
    return float(_ssim(_shave(_y(out), shave), _shave(_y(truth), shave), 255.0))  # type: ignore


def hole_mse(out: Array, truth: Array, mask: Array) -> float:
    """Mean squared error over the filled pixels only."""
    return mse(out, truth, mask)


def hole_psnr(out: Array, truth: Array, mask: Array) -> float:
    """PSNR over the filled pixels only."""
    return psnr(out, truth, mask)


def hole_ssim(out: Array, truth: Array, mask: Array) -> float:
    """Mean of the SSIM map over the filled pixels."""
    _, full = _ssim(out, truth, 1.0, full=True, channel_axis=-1)  # type: ignore[misc]
    return float(full.mean(axis=-1)[np.asarray(mask, bool)].mean())


def seam_psnr(out: Array, truth: Array, mask: Array) -> float:
    """How well the fill continues the image across the hole's border: PSNR (peak 1) of the
    jumps between every hole pixel and its known 4-neighbour, against the true image's jumps.
    A visible seam is a jump the truth does not have; higher is better."""
    return decibels(seam_mse(out, truth, mask))


def seam_mse(out: Array, truth: Array, mask: Array) -> float:
    """The mean squared error behind `seam_psnr`."""
    mask = np.asarray(mask, bool)
    errors = []
    for axis in (0, 1):
        inside = np.take(mask, np.arange(1, mask.shape[axis]), axis=axis)
        before = np.take(mask, np.arange(0, mask.shape[axis] - 1), axis=axis)
        border = inside != before  # pixel pairs straddling the hole's edge
        jump_out = np.diff(out, axis=axis)[border]
        jump_true = np.diff(truth, axis=axis)[border]
        errors.append((jump_out - jump_true) ** 2)
    diff = np.concatenate([e.ravel() for e in errors])
    if diff.size == 0:
        raise ValueError("seam_psnr: the mask has no border inside the image")
    return float(diff.mean())


def _lab(image: Array) -> Array:
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float64)).permute(2, 0, 1)[None]
    return rgb_to_lab(t)[0].permute(1, 2, 0).numpy()


def chroma(image: Array) -> float:
    """Mean CIE chroma sqrt(a² + b²) of an sRGB image."""
    lab = _lab(image)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def chroma_ratio(out: Array, truth: Array) -> float:
    """Mean chroma of the output over the truth's: < 1 is desaturated, 0 is grey."""
    reference = chroma(truth)
    return chroma(out) / reference if reference > 0 else float("nan")


def colour_error(out: Array, truth: Array) -> float:
    """Mean CIE76 ΔE (Euclidean distance in Lab) between output and truth."""
    return float(np.linalg.norm(_lab(out) - _lab(truth), axis=-1).mean())


def colourfulness(image: Array) -> float:
    """Hasler & Süsstrunk's colourfulness (0–255 scale): σ_rgyb + 0.3 μ_rgyb."""
    r, g, b = (255.0 * image[..., i] for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
