"""Image edits a watermark should survive: JPEG, rescaling, cropping, noise, blur, tone changes,
small rotations and their combinations, as pure functions on uint8 pixels.

Images are uint8 (H, W) grey or (H, W, 3) colour and come back as uint8 of the same layout.
Every attack keeps the size except `crop_border`, which returns the central part (a crop as a
user makes it, not resized back). `ATTACKS` names the fixed settings the provenance benchmark
runs; `psnr` measures how far an image moved.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "ATTACKS",
    "Attack",
    "blur",
    "brightness",
    "chain",
    "contrast",
    "crop_border",
    "gaussian_noise",
    "jpeg",
    "psnr",
    "resize_and_back",
    "rotate",
]

Attack = Callable[[np.ndarray], np.ndarray]


def _check(img: np.ndarray, name: str = "img") -> np.ndarray:
    """The image as a uint8 (H, W) or (H, W, 3) array, else ValueError."""
    x = np.asarray(img)
    if x.dtype != np.uint8 or x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[-1] != 3):
        raise ValueError(f"{name} must be uint8 (H, W) or (H, W, 3), got {x.dtype} {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} is empty: shape {x.shape}")
    return x


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """Floats on the 0..255 scale rounded and clipped to uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _pil(img: np.ndarray) -> Image.Image:
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(img))


def _positive(value: float, name: str) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB (peak 255) between two uint8 images of one shape; +inf when they are equal.

    (genlab.gan.tasks.metrics.psnr works on [0, 1] floats and pulls in torch; this module
    stays numpy-only.)
    """
    x, y = _check(a, "a"), _check(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must have one shape, got {x.shape} and {y.shape}")
    mse = float(np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at `quality` (1..100, PIL's scale, 4:2:0 chroma for colour) and decode,
    in memory."""
    from PIL import Image

    x = _check(img)
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) \
            or not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be an integer in 1..100, got {quality!r}")
    buffer = io.BytesIO()
    _pil(x).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("L" if x.ndim == 2 else "RGB"), dtype=np.uint8).copy()


def resize_and_back(img: np.ndarray, factor: float) -> np.ndarray:
    """Resize by `factor` (0.5 halves, 2 doubles) and back to the original size, both bicubic
    (PIL's resize widens the kernel when shrinking, so the downscale is antialiased)."""
    from PIL import Image

    x = _check(img)
    f = _positive(factor, "factor")
    h, w = x.shape[:2]
    small = (round(w * f), round(h * f))
    if min(small) < 1:
        raise ValueError(f"factor {factor} shrinks a {h}×{w} image to nothing")
    resized = _pil(x).resize(small, Image.Resampling.BICUBIC)
    return np.asarray(resized.resize((w, h), Image.Resampling.BICUBIC), dtype=np.uint8).copy()


def crop_border(img: np.ndarray, fraction: float) -> np.ndarray:
    """Keep the central part: cut round(fraction/2 · H) rows from the top and as many from the
    bottom, and likewise round(fraction/2 · W) columns on each side (crop10 of 256 px keeps
    230 px). The result is smaller, NOT resized back; its pixels are the original's exactly."""
    x = _check(img)
    f = float(fraction)
    if not math.isfinite(f) or not 0 <= f < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")
    h, w = x.shape[:2]
    top, left = round(h * f / 2), round(w * f / 2)
    if h - 2 * top < 1 or w - 2 * left < 1:
        raise ValueError(f"fraction {fraction} leaves nothing of a {h}×{w} image")
    return x[top:h - top, left:w - left].copy()


def gaussian_noise(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Add i.i.d. N(0, sigma²) noise (pixel units, 0..255 scale), rounded and clipped."""
    x = _check(img)
    s = float(sigma)
    if not math.isfinite(s) or s < 0:
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
    noise = np.random.default_rng(seed).normal(0.0, s, size=x.shape)
    return _to_uint8(x.astype(np.float64) + noise)


def blur(img: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur of standard deviation `sigma` pixels over rows and columns (channels kept
    apart), borders reflected."""
    from scipy.ndimage import gaussian_filter

    x = _check(img)
    s = _positive(sigma, "sigma")
    sigmas = (s, s) if x.ndim == 2 else (s, s, 0.0)
    return _to_uint8(gaussian_filter(x.astype(np.float64), sigma=sigmas, mode="reflect"))


def _enhance(img: np.ndarray, factor: float, enhancer: str) -> np.ndarray:
    """One of PIL's ImageEnhance operations ("Brightness", "Contrast") at `factor`."""
    from PIL import ImageEnhance

    x = _check(img)
    f = float(factor)
    if not math.isfinite(f) or f < 0:
        raise ValueError(f"factor must be a finite number >= 0, got {factor!r}")
    operation = getattr(ImageEnhance, enhancer)(_pil(x))
    return np.asarray(operation.enhance(f), dtype=np.uint8).copy()


def brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """PIL's ImageEnhance.Brightness: every value times `factor`, clipped (1.2 = 20% brighter)."""
    return _enhance(img, factor, "Brightness")


def contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """PIL's ImageEnhance.Contrast: blend with the flat grey of the image's mean luma,
    mean + factor · (value − mean), clipped (1.2 = 20% more contrast)."""
    return _enhance(img, factor, "Contrast")


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate counter-clockwise by `degrees` about the centre, same size, bilinear; the corners
    that come from outside the image are filled by mirror reflection of it (no black
    triangles, which would make the edit easy to see)."""
    from scipy.ndimage import rotate as nd_rotate

    x = _check(img)
    d = float(degrees)
    if not math.isfinite(d):
        raise ValueError(f"degrees must be finite, got {degrees!r}")
    out = nd_rotate(x.astype(np.float64), d, axes=(1, 0), reshape=False, order=1,
                    mode="reflect")
    return _to_uint8(out)


def chain(*attacks: Attack) -> Attack:
    """One attack applying `attacks` left to right (jpeg after resize: chain(resize, jpeg))."""
    if not attacks or not all(callable(a) for a in attacks):
        raise ValueError("chain needs one or more callables")

    def run(img: np.ndarray) -> np.ndarray:
        for attack in attacks:
            img = attack(img)
        return img

    return run


def _identity(img: np.ndarray) -> np.ndarray:
    return _check(img).copy()


def _fixed(fn: Callable[..., np.ndarray], *args: float) -> Attack:
    """`fn` with its setting bound: a one-argument attack."""
    return lambda img: fn(img, *args)


ATTACKS: dict[str, Attack] = {
    "none": _identity,
    "jpeg90": _fixed(jpeg, 90),
    "jpeg75": _fixed(jpeg, 75),
    "jpeg50": _fixed(jpeg, 50),
    "resize0.5": _fixed(resize_and_back, 0.5),
    "resize2": _fixed(resize_and_back, 2.0),
    "crop10": _fixed(crop_border, 0.10),
    "crop25": _fixed(crop_border, 0.25),
    "noise5": _fixed(gaussian_noise, 5.0, 0),
    "noise10": _fixed(gaussian_noise, 10.0, 0),
    "blur1": _fixed(blur, 1.0),
    "brightness+20": _fixed(brightness, 1.2),
    "brightness-20": _fixed(brightness, 0.8),
    "contrast+20": _fixed(contrast, 1.2),
    "contrast-20": _fixed(contrast, 0.8),
    "rotate2": _fixed(rotate, 2.0),
    "jpeg75+resize0.5": chain(_fixed(jpeg, 75), _fixed(resize_and_back, 0.5)),
    "crop10+jpeg75": chain(_fixed(crop_border, 0.10), _fixed(jpeg, 75)),
    "noise5+jpeg75": chain(_fixed(gaussian_noise, 5.0, 0), _fixed(jpeg, 75)),
}
"""The benchmark's attacks by name; a combination applies its parts left to right (noise is
seeded, so every run sees the same noise)."""
