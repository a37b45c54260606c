"""The "shapes" world: one filled, coloured shape on black, captioned, and read back by rules.

Each 64×64 RGB image shows one shape (circle, square, upward triangle or plus-sign cross) in one
of six colours, small (≈14 px) or large (≈30 px), centred near one of five positions, rendered
with 4×4 supersampling so edges are soft. Every caption states all four attributes. Four
(colour, shape) pairs are held out of training to test compositional generalisation.

`read_shapes` recovers the attributes from pixels without any learned model (colour from the
foreground's chromaticity, size and shape from row/column extents, fill ratio and vertical
skew, position from the centroid), so generated images can be scored against their captions.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import torch

from genlab.gan.text.captioned import SHAPE_ATTRIBUTES, CaptionedData, cached, from_uint8

__all__ = [
    "ATTRIBUTES",
    "CENTRES",
    "CHOICES",
    "COLOURS",
    "HELD_OUT_PAIRS",
    "IMG_SIZE",
    "SIZES",
    "caption_values",
    "captions_for",
    "load_shapes",
    "make_shapes",
    "parse_caption",
    "read_shapes",
    "render_shapes",
]

IMG_SIZE = 64
ATTRIBUTES = SHAPE_ATTRIBUTES  # ("size", "colour", "shape", "position")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 200, 60), "blue": (50, 90, 230),
    "yellow": (235, 210, 40), "magenta": (210, 50, 200), "cyan": (40, 200, 210),
}
SIZES = {"small": 14, "large": 30}  # nominal width in pixels (jittered by ±1)
CENTRES = {"top left": (16, 16), "top right": (48, 16), "bottom left": (16, 48),
           "bottom right": (48, 48), "center": (32, 32)}  # (x, y), jittered by ±2
CHOICES: dict[str, tuple[str, ...]] = {
    "size": tuple(SIZES), "colour": tuple(COLOURS),
    "shape": ("circle", "square", "triangle", "cross"), "position": tuple(CENTRES),
}
HELD_OUT_PAIRS = (("red", "triangle"), ("green", "cross"), ("blue", "circle"),
                  ("yellow", "square"))
TEMPLATES = (  # the canonical caption first, then the paraphrases
    "a {size} {colour} {shape} at the {position}",
    "a {colour} {shape}, {size}, in the {position}",
    "{size} {colour} {shape} in the {position}",
    "the {position} has a {size} {colour} {shape}",
    "a {shape} that is {colour} and {size}, {position}",
    "a {size} {shape} coloured {colour} at the {position}",
)

SUPERSAMPLE = 4  # subpixels per pixel along each axis
POSITION_JITTER = 2
SIZE_JITTER = 1
FG_THRESHOLD = 0.35  # a pixel is foreground when its brightest channel (in [0, 1]) exceeds this
COVERAGE_FLOOR = 0.15  # brightness mapped to zero coverage (ignores a dim, noisy background)
BOX_MARGIN = 3  # px added around the eroded foreground's bounding box
MIN_PIXELS = 12  # fewer foreground pixels: no shape (read as -1)
MAX_FRACTION = 0.4  # more of the image in foreground: not one shape on black (read as -1)
COLOUR_TOLERANCE = 0.15  # squared chromaticity distance beyond which the colour is undecided
LARGE_ABOVE = (SIZES["small"] + SIZES["large"]) / 2
TRIANGLE_SKEW = -0.28  # vertical skewness below this: mass piled at the bottom (triangle ≈ −0.57)
CROSS_BELOW, SQUARE_ABOVE = 0.67, 0.89  # fill ratio: cross 5/9, circle π/4, square 1

_PALETTE = np.array(list(COLOURS.values()), np.float64) / 255.0  # (6, 3)
_CHROMA = _PALETTE / _PALETTE.max(axis=1, keepdims=True)
_CENTRE_XY = np.array(list(CENTRES.values()), np.float64)  # (5, 2)
_WORDS = {"small": ("size", 0), "large": ("size", 1), "big": ("size", 1),
          **{c: ("colour", i) for i, c in enumerate(COLOURS)},
          **{s: ("shape", i) for i, s in enumerate(CHOICES["shape"])}}


# --- captions -----------------------------------------------------------------------------


def _check_values(values: np.ndarray) -> np.ndarray:
    """values as an int64 (N, 4) array, or a ValueError naming what is wrong."""
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[None]
    if values.ndim != 2 or values.shape[1] != len(ATTRIBUTES):
        raise ValueError(f"values must be (N, {len(ATTRIBUTES)}) in the order {ATTRIBUTES}, "
                         f"got shape {values.shape}")
    sizes = np.array([len(CHOICES[a]) for a in ATTRIBUTES])
    if (values < 0).any() or (values >= sizes).any():
        raise ValueError(f"value indices must lie in [0, {sizes.tolist()}) per attribute")
    return values.astype(np.int64)


def captions_for(values: np.ndarray) -> tuple[str, ...]:
    """Every caption of one (4,) value combination: the canonical one first, then paraphrases."""
    (row,) = _check_values(values)
    words = {a: CHOICES[a][v] for a, v in zip(ATTRIBUTES, row, strict=True)}
    return tuple(t.format(**words) for t in TEMPLATES)


def parse_caption(text: str) -> dict[str, str]:
    """The attribute values `text` states (lowercase keyword matching); unstated ones are absent.

    Position needs both words ("top left", "bottom right", ...) or one of "center", "centre",
    "middle". A caption naming two different values of one attribute raises ValueError.
    """
    tokens = re.findall(r"[a-z]+", text.lower())
    found: dict[str, set[int]] = {a: set() for a in ATTRIBUTES}
    for token in tokens:
        if token in _WORDS:
            attribute, index = _WORDS[token]
            found[attribute].add(index)
    vertical = {t for t in tokens if t in ("top", "bottom")}
    horizontal = {t for t in tokens if t in ("left", "right")}
    positions = CHOICES["position"]
    if len(vertical) == 1 and len(horizontal) == 1:
        found["position"].add(positions.index(f"{vertical.pop()} {horizontal.pop()}"))
    elif len(vertical) > 1 or len(horizontal) > 1:
        raise ValueError(f"caption {text!r} names more than one position")
    if {"center", "centre", "middle"} & set(tokens):
        found["position"].add(positions.index("center"))
    stated = {}
    for attribute, indices in found.items():
        if len(indices) > 1:
            names = sorted(CHOICES[attribute][i] for i in indices)
            raise ValueError(f"caption {text!r} names more than one {attribute}: {names}")
        if indices:
            stated[attribute] = CHOICES[attribute][indices.pop()]
    return stated


def caption_values(text: str) -> np.ndarray:
    """The (4,) int64 attribute indices `text` states, -1 for each attribute it leaves out."""
    stated = parse_caption(text)
    return np.array([CHOICES[a].index(stated[a]) if a in stated else -1 for a in ATTRIBUTES],
                    np.int64)


# --- rendering ----------------------------------------------------------------------------


def _inside(shape: str, dx: np.ndarray, dy: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Whether offsets (dx, dy) from the centre fall inside `shape` of half-width `half`."""
    ax, ay = np.abs(dx), np.abs(dy)
    if shape == "circle":
        return dx * dx + dy * dy <= half * half
    box = (ax <= half) & (ay <= half)
    if shape == "square":
        return box
    if shape == "triangle":  # apex at the top (smaller y), base at the bottom
        return box & (ax <= (dy + half) / 2)
    return box & (np.minimum(ax, ay) <= half / 3)  # cross: arms one third of the width


def _coverage(shape: str, cx: np.ndarray, cy: np.ndarray, width: np.ndarray, window: int,
              x0: np.ndarray, y0: np.ndarray) -> np.ndarray:
    """(n, window, window) fraction of each pixel inside the shape, by 4×4 supersampling."""
    sub = (np.arange(window * SUPERSAMPLE) + 0.5) / SUPERSAMPLE  # subpixel centres, window units
    dx = (x0 - cx)[:, None, None] + sub[None, None, :]
    dy = (y0 - cy)[:, None, None] + sub[None, :, None]
    inside = _inside(shape, dx, dy, (width / 2)[:, None, None]).view(np.uint8)
    n, s = len(cx), SUPERSAMPLE
    hits = inside.reshape(n, window, s, window, s).sum(axis=(2, 4), dtype=np.uint8)
    return hits.astype(np.float32) / (s * s)


def render_shapes(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, 64, 64, 3) uint8 images of the (N, 4) value rows, with jittered size and position.

    Width jitters by ±1 px and the centre by ±2 px (integers), then the centre is clipped so
    the shape stays inside the frame. Draws from `rng` in a fixed order (deterministic).
    """
    values = _check_values(values)
    n = len(values)
    base_width = np.array([SIZES[s] for s in CHOICES["size"]])[values[:, 0]]
    width = base_width + rng.integers(-SIZE_JITTER, SIZE_JITTER + 1, n)
    centre = _CENTRE_XY[values[:, 3]] + rng.integers(-POSITION_JITTER, POSITION_JITTER + 1, (n, 2))
    half = np.ceil(width / 2)[:, None]
    centre = np.clip(centre, half, IMG_SIZE - half)
    margin = SIZES["large"] // 2 + 2 * SIZE_JITTER + 2
    window = 2 * margin
    pad = margin  # canvas padding so every window lies inside the canvas
    canvas = np.zeros((n, IMG_SIZE + 2 * pad, IMG_SIZE + 2 * pad), np.float32)
    origin = np.round(centre).astype(np.int64) - margin  # window's top-left, image coordinates
    rows = np.arange(window)
    for index, shape in enumerate(CHOICES["shape"]):
        for chunk in np.array_split(np.flatnonzero(values[:, 2] == index), 1 + n // 256):
            if not len(chunk):
                continue
            cover = _coverage(shape, centre[chunk, 0], centre[chunk, 1], width[chunk], window,
                              origin[chunk, 0].astype(np.float64),
                              origin[chunk, 1].astype(np.float64))
            yy = (origin[chunk, 1] + pad)[:, None, None] + rows[None, :, None]
            xx = (origin[chunk, 0] + pad)[:, None, None] + rows[None, None, :]
            canvas[chunk[:, None, None], yy, xx] = cover
    cover = canvas[:, pad:pad + IMG_SIZE, pad:pad + IMG_SIZE]
    colour = np.array(list(COLOURS.values()), np.float32)[values[:, 1]]  # (N, 3) in 0..255
    return np.round(cover[..., None] * colour[:, None, None, :]).astype(np.uint8)


def make_shapes(per_combination: int = 25, seed: int = 0) -> CaptionedData:
    """Every (size, colour, shape, position) combination `per_combination` times, from `seed`.

    Rows come grouped by combination in itertools.product order over ATTRIBUTES; `held_out`
    marks the images whose (colour, shape) is one of HELD_OUT_PAIRS.
    """
    if per_combination < 1:
        raise ValueError(f"per_combination must be at least 1, got {per_combination}")
    combos = np.array(list(itertools.product(*(range(len(CHOICES[a])) for a in ATTRIBUTES))),
                      np.int64)
    values = np.repeat(combos, per_combination, axis=0)
    images = render_shapes(values, np.random.default_rng(seed))
    held = {(CHOICES["colour"].index(c), CHOICES["shape"].index(s)) for c, s in HELD_OUT_PAIRS}
    held_out = np.array([(c, s) in held for c, s in values[:, 1:3]], bool)
    captions = [captions_for(row) for row in combos]
    return CaptionedData(
        "shapes", from_uint8(images.transpose(0, 3, 1, 2)), ATTRIBUTES, dict(CHOICES), values,
        tuple(captions[i] for i in np.repeat(np.arange(len(combos)), per_combination)), held_out)


def load_shapes(per_combination: int = 25, seed: int = 0,
                cache_dir: Path | None = None) -> CaptionedData:
    """`make_shapes(per_combination, seed)`, cached on disk after the first build."""
    return cached("shapes", {"per_combination": per_combination, "seed": seed},
                  lambda: make_shapes(per_combination, seed), cache_dir)


# --- the non-learned read-back ------------------------------------------------------------


def _unit_images(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, 3, H, W) images in [-1, 1] as float32 numpy in [0, 1]."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().float().numpy()
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (N, 3, H, W) RGB in [-1, 1], got {images.shape}")
    return np.clip((images + 1) / 2, 0, 1)


def _box3(v: np.ndarray) -> np.ndarray:
    """The 3×3 box average of (..., H, W) images (zero padding at the border)."""
    p = np.pad(v, [(0, 0)] * (v.ndim - 2) + [(1, 1), (1, 1)])
    rows = p[..., :-2, :] + p[..., 1:-1, :] + p[..., 2:, :]
    return (rows[..., :-2] + rows[..., 1:-1] + rows[..., 2:]) / 9


def _shape_box(fg: np.ndarray) -> np.ndarray:
    """(n, H, W) mask of the foreground's bounding box, grown by BOX_MARGIN px.

    The box is taken after a 3×3 erosion, which removes isolated speckles (falling back to the
    raw foreground when erosion leaves nothing), so scattered noise does not stretch it.
    """
    p = np.pad(fg, [(0, 0), (1, 1), (1, 1)])
    rows = p[:, :-2, :] & p[:, 1:-1, :] & p[:, 2:, :]
    core = rows[:, :, :-2] & rows[:, :, 1:-1] & rows[:, :, 2:]
    core = np.where(core.any(axis=(1, 2))[:, None, None], core, fg)
    h, w = fg.shape[1:]
    in_row = core.sum(axis=2) > 0  # (n, H)
    in_col = core.sum(axis=1) > 0  # (n, W)
    top = in_row.argmax(axis=1) - BOX_MARGIN
    bottom = h - 1 - in_row[:, ::-1].argmax(axis=1) + BOX_MARGIN
    left = in_col.argmax(axis=1) - BOX_MARGIN
    right = w - 1 - in_col[:, ::-1].argmax(axis=1) + BOX_MARGIN
    ys, xs = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    return ((ys >= top[:, None, None]) & (ys <= bottom[:, None, None])
            & (xs >= left[:, None, None]) & (xs <= right[:, None, None]))


def _read_chunk(v: np.ndarray) -> np.ndarray:
    """The (n, 4) read-back of (n, 3, H, W) images in [0, 1]; see `read_shapes`."""
    h, w = v.shape[2:]
    v = _box3(v)  # averages noise down by 3; the features below hardly change under blur
    bright = v.max(axis=1)  # (n, H, W)
    fg = bright > FG_THRESHOLD
    count = fg.sum(axis=(1, 2))
    mean_rgb = np.einsum("nchw,nhw->nc", v, fg.astype(np.float32)) / np.maximum(count, 1)[:, None]
    chroma = mean_rgb / np.maximum(mean_rgb.max(axis=1, keepdims=True), 1e-6)
    dist = ((chroma[:, None, :] - _CHROMA[None]) ** 2).sum(axis=2)  # (n, 6)
    colour = dist.argmin(axis=1)
    # Coverage: brightness relative to the read colour's full brightness, above a dim floor.
    peak = _PALETTE.max(axis=1)[colour][:, None, None]
    cover = np.clip((bright - COVERAGE_FLOOR) / (peak - COVERAGE_FLOOR), 0, 1)
    cover *= _shape_box(fg)  # ignore whatever lies outside the shape's (speckle-free) box
    area = cover.sum(axis=(1, 2))
    width = cover.sum(axis=2).max(axis=1)  # the widest row
    height = cover.sum(axis=1).max(axis=1)  # the tallest column
    row_mass, col_mass = cover.sum(axis=2), cover.sum(axis=1)  # (n, H), (n, W)
    ys, xs = np.arange(h, dtype=np.float64) + 0.5, np.arange(w, dtype=np.float64) + 0.5
    total = np.maximum(area, 1e-6)
    cy, cx = row_mass @ ys / total, col_mass @ xs / total
    dy = ys[None] - cy[:, None]
    var = np.maximum((row_mass * dy**2).sum(axis=1) / total, 1e-6)
    skew = (row_mass * dy**3).sum(axis=1) / total / var**1.5
    fill = area / np.maximum(width * height, 1e-6)
    shape = np.where(fill < CROSS_BELOW, 3, np.where(fill < SQUARE_ABOVE, 0, 1))
    shape = np.where(skew < TRIANGLE_SKEW, 2, shape)
    size = (np.maximum(width, height) > LARGE_ABOVE).astype(np.int64)
    position = ((np.stack([cx, cy], 1)[:, None] - _CENTRE_XY[None]) ** 2).sum(2).argmin(1)
    read = np.stack([size, np.where(dist.min(1) > COLOUR_TOLERANCE, -1, colour), shape,
                     position], axis=1).astype(np.int64)
    no_shape = (count < MIN_PIXELS) | (count > MAX_FRACTION * h * w)
    read[no_shape] = -1
    return read


def read_shapes(images: torch.Tensor | np.ndarray, batch: int = 512) -> np.ndarray:
    """(N, 4) attribute indices (ATTRIBUTES order) read from (N, 3, 64, 64) images in [-1, 1].

    No learned model: foreground = pixels whose brightest channel exceeds FG_THRESHOLD; colour =
    the palette entry nearest the foreground's mean chromaticity (-1 when none is near); size =
    the widest row / tallest column of brightness-weighted coverage; shape = triangle when the
    vertical mass is skewed to the bottom, else by fill ratio area / (width · height); position =
    the centre nearest the coverage centroid. A row is all -1 when there is (almost) no
    foreground or too much of it to be one shape on black (blank or noise images).
    """
    v = _unit_images(images)
    if v.shape[0] == 0:
        return np.zeros((0, len(ATTRIBUTES)), np.int64)
    return np.concatenate([_read_chunk(v[i:i + batch]) for i in range(0, len(v), batch)])
