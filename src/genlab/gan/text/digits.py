"""The "mnist-captions" set: the 5,000 embedded MNIST digits with captions of digit and style.

Style is measured on the pixels, not labelled by anyone: thickness = 2 · ink / total variation
(area over half the perimeter, i.e. the mean stroke width in pixels, independent of how long
the strokes are) and slant = −mu11 / mu02 (the shear of the ink distribution: pixels of x per
pixel of height, positive when the top leans right; image y points down, hence the sign).
Each measure is cut into terciles per digit on the real data (`DigitStyle`), so "thick" means
thick for that digit, and generated images are categorised with the real data's cut points.

Caption convention: every caption states the digit; an omitted thickness means "medium" and
an omitted slant means "upright" (`parse_digit_caption` follows it), so every caption fixes all
three attributes. The canonical caption is "a {thickness} {digit} {slant}" with the medium and
upright words left out ("an eight" before a vowel), or "a handwritten {digit}" when both are
left out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genlab.gan.text.captioned import DIGIT_ATTRIBUTES, CaptionedData, cached

__all__ = [
    "ATTRIBUTES",
    "CHOICES",
    "DigitStyle",
    "captions_for",
    "fit_style",
    "load_digit_captions",
    "make_digit_captions",
    "measure_digits",
    "parse_digit_caption",
    "read_digits_style",
    "real_style",
]

ATTRIBUTES = DIGIT_ATTRIBUTES  # ("digit", "thickness", "slant")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CHOICES: dict[str, tuple[str, ...]] = {
    "digit": DIGIT_WORDS,
    "thickness": ("thin", "medium", "thick"),
    "slant": ("slanted left", "upright", "slanted right"),
}
MEDIUM, UPRIGHT = 1, 1  # the category indices a caption may leave unsaid


# --- measuring and categorising style -----------------------------------------------------


def _ink(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, H, W) float64 ink in [0, 1] from (N, 1, H, W) images in [-1, 1]."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    images = np.asarray(images, np.float64)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"images must be (N, 1, H, W) grey in [-1, 1], got {images.shape}")
    return np.clip((images[:, 0] + 1) / 2, 0, 1)


def measure_digits(images: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(thickness, slant) per image, each (N,) float64; see the module docstring.

    thickness = 2 · Σ ink / (Σ |Δx ink| + Σ |Δy ink|), the mean stroke width in pixels;
    slant = −mu11 / mu02 of the ink, x-pixels per y-pixel, positive when the top leans right.
    A blank image measures (0, 0).
    """
    ink = _ink(images)
    _, h, w = ink.shape
    mass = ink.sum(axis=(1, 2))
    variation = np.abs(np.diff(ink, axis=1)).sum(axis=(1, 2))
    variation += np.abs(np.diff(ink, axis=2)).sum(axis=(1, 2))
    thickness = np.where(variation > 0, 2 * mass / np.maximum(variation, 1e-12), 0.0)
    ys, xs = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
    total = np.maximum(mass, 1e-12)
    row_mass, col_mass = ink.sum(axis=2), ink.sum(axis=1)
    cy, cx = row_mass @ ys / total, col_mass @ xs / total
    dy = ys[None, :] - cy[:, None]  # (N, H)
    dx = xs[None, :] - cx[:, None]  # (N, W)
    mu02 = (row_mass * dy**2).sum(axis=1)
    mu11 = np.einsum("nhw,nh,nw->n", ink, dy, dx)
    slant = np.where(mu02 > 0, -mu11 / np.maximum(mu02, 1e-12), 0.0)
    return thickness, slant


@dataclass(frozen=True)
class DigitStyle:
    """Per-digit tercile cut points of thickness and slant, fitted on real digits."""

    thickness_cuts: np.ndarray  # (10, 2): a digit d is thin ≤ [d, 0] < medium ≤ [d, 1] < thick
    slant_cuts: np.ndarray  # (10, 2): slanted left ≤ [d, 0] < upright ≤ [d, 1] < slanted right

    def categorise(self, thickness: np.ndarray, slant: np.ndarray,
                   digits: np.ndarray) -> np.ndarray:
        """(N, 2) int64 (thickness, slant) category indices, each cut by its digit's terciles."""
        digits = np.asarray(digits, np.int64).reshape(-1)
        thickness, slant = np.asarray(thickness).reshape(-1), np.asarray(slant).reshape(-1)
        if not len(digits) == len(thickness) == len(slant):
            raise ValueError(f"thickness, slant and digits must have one entry per image, got "
                             f"{len(thickness)}, {len(slant)}, {len(digits)}")
        if len(digits) and (digits.min() < 0 or digits.max() > 9):
            raise ValueError("digits must lie in 0..9")
        t_cuts, s_cuts = self.thickness_cuts[digits], self.slant_cuts[digits]
        thick = (thickness > t_cuts[:, 0]).astype(np.int64) + (thickness > t_cuts[:, 1])
        lean = (slant > s_cuts[:, 0]).astype(np.int64) + (slant > s_cuts[:, 1])
        return np.stack([thick, lean], axis=1)


def fit_style(x: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray) -> DigitStyle:
    """The per-digit terciles of the measured thickness and slant of real digits `x`."""
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels, np.int64)
    thickness, slant = measure_digits(x)
    if len(labels) != len(thickness):
        raise ValueError(f"{len(thickness)} images but {len(labels)} labels")
    missing = sorted(set(range(10)) - set(labels.tolist()))
    if missing:
        raise ValueError(f"cannot fit style cut points: no images of digit(s) {missing}")
    q = [1 / 3, 2 / 3]
    t_cuts = np.stack([np.quantile(thickness[labels == d], q) for d in range(10)])
    s_cuts = np.stack([np.quantile(slant[labels == d], q) for d in range(10)])
    return DigitStyle(t_cuts, s_cuts)


# --- captions -----------------------------------------------------------------------------


def captions_for(values: np.ndarray) -> tuple[str, ...]:
    """Every caption of one (digit, thickness, slant) row: canonical first, then paraphrases."""
    row = np.asarray(values).reshape(-1)
    sizes = [len(CHOICES[a]) for a in ATTRIBUTES]
    if row.shape != (3,) or any(not 0 <= v < n for v, n in zip(row, sizes, strict=True)):
        raise ValueError(f"values must be (digit, thickness, slant) indices below {sizes}, "
                         f"got {row.tolist()}")
    digit, thickness, slant = (CHOICES[a][v] for a, v in zip(ATTRIBUTES, row, strict=True))
    thick_word = "" if row[1] == MEDIUM else f"{thickness} "  # medium goes unsaid
    slant_words = "" if row[2] == UPRIGHT else f" {slant}"  # upright goes unsaid
    canonical = (f"a handwritten {digit}" if not thick_word and not slant_words
                 else _article(f"{thick_word}{digit}{slant_words}"))
    return (
        canonical,
        f"a handwritten {digit} with {thickness} strokes, {slant}",
        f"the digit {digit}" + (f", {thickness}" if thick_word else "")
        + (f", {slant}" if slant_words else ""),
        f"{digit}, {slant}, written with {thickness} strokes",
        _article(f"{thick_word}{digit}, written by hand" + (f", {slant}" if slant_words else "")),
    )


def _article(phrase: str) -> str:
    """`phrase` after "a", or "an" before a vowel sound ("an eight")."""
    return f"an {phrase}" if phrase[0] in "aeiou" else f"a {phrase}"


_DIGIT_TOKENS = {**{w: i for i, w in enumerate(DIGIT_WORDS)}, **{str(i): i for i in range(10)}}
_THICK_TOKENS = {"thin": 0, "medium": 1, "thick": 2}


def parse_digit_caption(text: str) -> np.ndarray:
    """(3,) int64 (digit, thickness, slant) a caption states; digit -1 when it names none.

    Digits may be words ("seven") or numerals ("7"). Thickness: "thin", "medium", "thick", and
    unsaid means medium; slant: "left", "upright", "right" (e.g. "slanted left"), and unsaid
    means upright. A caption naming two values of one attribute raises ValueError.
    """
    tokens = re.findall(r"[a-z]+|\d+", text.lower())
    digits = {_DIGIT_TOKENS[t] for t in tokens if t in _DIGIT_TOKENS}
    thick = {_THICK_TOKENS[t] for t in tokens if t in _THICK_TOKENS}
    lean = {{"left": 0, "upright": 1, "right": 2}[t] for t in tokens
            if t in ("left", "upright", "right")}
    for name, found in (("digit", digits), ("thickness", thick), ("slant", lean)):
        if len(found) > 1:
            names = sorted(CHOICES[name][i] for i in found)
            raise ValueError(f"caption {text!r} names more than one {name}: {names}")
    return np.array([digits.pop() if digits else -1, thick.pop() if thick else MEDIUM,
                     lean.pop() if lean else UPRIGHT], np.int64)


# --- the data set -------------------------------------------------------------------------


def make_digit_captions(seed: int = 0) -> CaptionedData:
    """The 5,000 real 32×32 MNIST digits captioned with their digit and measured style.

    No image is changed and nothing is held out. `seed` is accepted for symmetry with
    `make_shapes`; nothing here is random, so every seed gives the same data.
    """
    from genlab.gan.data import load_dataset

    del seed
    data = load_dataset("mnist", 32)
    assert data.labels is not None  # the embedded MNIST is labelled
    digits = data.labels.numpy().astype(np.int64)
    style = fit_style(data.x, digits).categorise(*measure_digits(data.x), digits)
    values = np.concatenate([digits[:, None], style], axis=1)
    combos = {tuple(row): captions_for(np.array(row)) for row in np.unique(values, axis=0)}
    return CaptionedData(
        "mnist-captions", data.x, ATTRIBUTES, dict(CHOICES), values,
        tuple(combos[tuple(row)] for row in values), np.zeros(len(values), bool))


def load_digit_captions(cache_dir: Path | None = None) -> CaptionedData:
    """`make_digit_captions()`, cached on disk after the first build."""
    return cached("mnist-captions", {}, make_digit_captions, cache_dir)


@functools.lru_cache(maxsize=4)
def real_style(cache_dir: Path | None = None) -> DigitStyle:
    """The style cut points fitted on the real digits (the ones their captions were cut by)."""
    data = load_digit_captions(cache_dir)
    return fit_style(data.x, data.values[:, 0])


def read_digits_style(images: torch.Tensor | np.ndarray, digits: np.ndarray,
                      style: DigitStyle | None = None) -> np.ndarray:
    """(N, 2) int64 (thickness, slant) categories of images judged against `digits`' terciles.

    `digits` (N,) says whose cut points apply (the digit asked for, or the one a judge reads);
    `style` defaults to the real data's (`real_style()`).
    """
    style = style or real_style()
    return style.categorise(*measure_digits(images), np.asarray(digits))
