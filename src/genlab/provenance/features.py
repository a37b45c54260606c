"""Forensic features of grey images shared by the fake detector and the attributor.

Generators leave traces that image content hides: a high-pass noise residual shows the
periodic patterns of up-sampling layers (Marra et al. 2019, "Do GANs leave artificial
fingerprints?"), the 2-D DCT log spectrum shows them as peaks (Frank et al. 2020), and the
azimuthally averaged power spectrum shows a generator's missing or excess high frequencies
(Durall et al. 2020). Everything is numpy/scipy, batched over (n, H, W).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genlab.provenance.watermark import LUMA

__all__ = [
    "as_float",
    "dark_stretch",
    "dct_spectrum",
    "grey_batch",
    "grey_batch_of_size",
    "noise_residual",
    "radial_spectrum",
    "spectral_features",
]

EPS = 1e-6  # floor under magnitudes before the log (a flat image has zero AC energy)


def grey_batch(images: np.ndarray | Sequence[np.ndarray], name: str = "images") -> np.ndarray:
    """uint8 (n, H, W) from a uint8 (n, H, W) / (n, H, W, 3) array or a list of (H, W[, 3])
    images (colour becomes grey by ITU-R 601 luma); all images must share one size."""
    if isinstance(images, np.ndarray):
        items = list(images) if images.ndim in (3, 4) else None
        if items is None:
            raise ValueError(f"{name} must be (n, H, W) or (n, H, W, 3), got shape {images.shape}")
    else:
        items = list(images)
    if not items:
        raise ValueError(f"{name} is empty")
    out: list[np.ndarray] = []
    for i, image in enumerate(items):
        x = np.asarray(image)
        if x.dtype != np.uint8:
            raise ValueError(f"{name}[{i}] must be uint8 pixels, got {x.dtype}")
        if x.ndim == 3 and x.shape[-1] == 3:
            x = np.rint(x @ LUMA).clip(0, 255).astype(np.uint8)
        if x.ndim != 2:
            raise ValueError(f"{name}[{i}] must be (H, W) or (H, W, 3), got shape {x.shape}")
        if x.shape != np.shape(out[0] if out else x):
            raise ValueError(f"{name} mix sizes: {name}[0] is {out[0].shape}, "
                             f"{name}[{i}] is {x.shape}")
        out.append(x)
    return np.stack(out)


def grey_batch_of_size(images: np.ndarray | Sequence[np.ndarray], size: tuple[int, int],
                       model: str) -> np.ndarray:
    """`grey_batch`, refusing images of another size than the `model` was trained on."""
    x = grey_batch(images)
    if x.shape[1:] != tuple(size):
        raise ValueError(f"images are {x.shape[1]}×{x.shape[2]} but this {model} was trained "
                         f"on {size[0]}×{size[1]}")
    return x


def as_float(images: np.ndarray) -> np.ndarray:
    """float64 (n, H, W): uint8 pixels scaled to [0, 1]; floats are taken as they are."""
    x = np.asarray(images)
    if x.ndim != 3:
        raise ValueError(f"images must be (n, H, W), got shape {x.shape}")
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"images must be uint8 or float, got {x.dtype}")
    if not np.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    return x.astype(np.float64)


def noise_residual(images: np.ndarray, method: str = "median", size: int = 3,
                   sigma: float = 1.0) -> np.ndarray:
    """The image minus a denoised copy of itself (n, H, W): `median` (size × size median
    filter) or `gaussian` (std `sigma`); content largely cancels, a generator's noise stays."""
    from scipy import ndimage

    x = as_float(images)
    if method == "median":
        if size < 2:
            raise ValueError(f"size must be >= 2, got {size}")
        smooth = ndimage.median_filter(x, size=(1, size, size), mode="reflect")
    elif method == "gaussian":
        if sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        smooth = ndimage.gaussian_filter(x, sigma=(0, sigma, sigma), mode="reflect")
    else:
        raise ValueError(f"method must be median or gaussian, got {method!r}")
    return x - smooth


def dct_spectrum(images: np.ndarray) -> np.ndarray:
    """log |DCT-II| (orthonormal, 2-D) of each image, (n, H, W): low frequencies top-left."""
    from scipy.fft import dctn

    x = as_float(images)
    return np.log(np.abs(dctn(x, type=2, axes=(1, 2), norm="ortho")) + EPS)


def radial_spectrum(images: np.ndarray, bins: int | None = None) -> np.ndarray:
    """Azimuthally averaged log power spectrum (n, bins): the mean of log |FFT|² over rings of
    equal radius about the centred zero frequency; bins defaults to min(H, W) // 2 + 1."""
    x = as_float(images)
    h, w = x.shape[1:]
    bins = min(h, w) // 2 + 1 if bins is None else bins
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    power = np.abs(np.fft.fftshift(np.fft.fft2(x), axes=(1, 2))) ** 2
    logp = np.log(power + EPS).reshape(len(x), -1)
    yy, xx = np.indices((h, w))
    radius = np.hypot(yy - h // 2, xx - w // 2) / (min(h, w) / 2)  # 1 = the Nyquist ring
    ring = np.minimum((radius * (bins - 1) + 0.5).astype(int), bins - 1).reshape(-1)
    counts = np.bincount(ring, minlength=bins).astype(np.float64)
    sums = np.stack([np.bincount(ring, weights=row, minlength=bins) for row in logp])
    return sums / np.maximum(counts, 1.0)


def dark_stretch(images: np.ndarray) -> np.ndarray:
    """log(1 + v) / log(256) of pixel values v (uint8 or floats on the 0..255 scale): lifts
    the faint near-black values generators leave where real digits are exactly 0."""
    x = np.asarray(images)
    v = x.astype(np.float64) if x.dtype == np.uint8 else as_float(x) * 255.0
    return np.log1p(np.clip(v, 0, 255)) / np.log(256.0)


def spectral_features(images: np.ndarray) -> np.ndarray:
    """(n, 2·H·W + bins) vectors: the DCT log spectrum and the radial spectrum of the
    dark-stretched image, and the DCT log spectrum of the median noise residual (where
    up-sampling peaks stand out). uint8 input."""
    x = np.asarray(images)
    n = len(x)
    s = dark_stretch(x)
    return np.concatenate([
        dct_spectrum(s).reshape(n, -1),
        radial_spectrum(s),
        dct_spectrum(noise_residual(x)).reshape(n, -1),
    ], axis=1)
