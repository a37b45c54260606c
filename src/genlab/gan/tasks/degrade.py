"""The image-to-image tasks as degradations of clean images (applied on the fly, seeded).

Every task maps a clean batch (B, C, H, W) in [-1, 1] to a `Degraded` pair — what the
generator sees and what the discriminator is conditioned on — and maps the generator's raw
output back to a restored image (`assemble`): a residual over the bicubic up-sampling
(superres), a residual over a smooth fill of the holes that keeps every known pixel
(inpaint, uncrop), the input's exact lightness with predicted chroma (colorize).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from genlab.gan.tasks.color import lab_to_rgb, rgb_to_lab

__all__ = ["SIDES", "TASKS", "Colorize", "Degraded", "ImageTask", "Inpaint", "SuperResolution",
           "Uncrop", "get_task", "harmonic_fill", "rectangle_mask", "side_mask", "stroke_mask"]

SIDES = ("left", "right", "top", "bottom")
AB_SCALE = 110.0  # a and b of sRGB colours lie within ±110; G's tanh output is scaled by it


@dataclass(frozen=True)
class Degraded:
    """A degraded batch: `g_input` for G (with a mask channel where there are holes), the
    condition image `cond` that D judges the output against, the holes (1 = to fill), and a
    picture of the input for grids (the input as a user would see it, at the output's size);
    super-resolution keeps the low-resolution image itself too."""

    g_input: torch.Tensor
    cond: torch.Tensor
    mask: torch.Tensor | None
    view: torch.Tensor
    low: torch.Tensor | None = None


class ImageTask:
    """A degradation and its inverse map. Subclasses set `name` and the channel counts."""

    name = ""

    def check(self, clean: torch.Tensor) -> None:
        """Raise when a clean batch cannot be degraded by this task."""
        if clean.ndim != 4:
            raise ValueError(f"{self.name}: images must be (B, C, H, W), got {tuple(clean.shape)}")

    def g_in_channels(self, channels: int) -> int:
        return channels

    def g_out_channels(self, channels: int) -> int:
        return channels

    def degrade(self, clean: torch.Tensor, rng: torch.Generator) -> Degraded:
        raise NotImplementedError

    def assemble(self, degraded: Degraded, g_out: torch.Tensor) -> torch.Tensor:
        """The restored image (B, C, H, W), [-1, 1] up to the residual's overshoot."""
        raise NotImplementedError


def _rand(rng: torch.Generator, n: int = 1) -> torch.Tensor:
    return torch.rand(n, generator=rng, dtype=torch.float64)


def bicubic(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize, antialiased when shrinking (as PIL and MATLAB's imresize)."""
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=shrink)


class SuperResolution(ImageTask):
    """×scale super-resolution: the input is the antialiased bicubic down-sampling; G sees its
    bicubic up-sampling and predicts a residual over it."""

    name = "superres"

    def __init__(self, scale: int = 4) -> None:
        if scale < 2:
            raise ValueError(f"superres: scale must be >= 2, got {scale}")
        self.scale = scale

    def check(self, clean: torch.Tensor) -> None:
        super().check(clean)
        h, w = clean.shape[-2:]
        if h % self.scale or w % self.scale:
            raise ValueError(f"superres ×{self.scale}: image sides must be multiples of "
                             f"{self.scale}, got {h}×{w}")

    def downsample(self, clean: torch.Tensor) -> torch.Tensor:
        """The low-resolution image, 1/scale of each side."""
        self.check(clean)
        h, w = clean.shape[-2:]
        return bicubic(clean, (h // self.scale, w // self.scale)).clamp(-1, 1)

    def from_low(self, low: torch.Tensor) -> Degraded:
        """The pair for a given low-resolution image (what `apply` starts from)."""
        up = bicubic(low, (low.shape[-2] * self.scale, low.shape[-1] * self.scale)).clamp(-1, 1)
        return Degraded(up, up, None, up, low)

    def degrade(self, clean: torch.Tensor, rng: torch.Generator) -> Degraded:
        return self.from_low(self.downsample(clean))

    def assemble(self, degraded: Degraded, g_out: torch.Tensor) -> torch.Tensor:
        return degraded.g_input + g_out


def rectangle_mask(n: int, h: int, w: int, rng: torch.Generator, area: tuple[float, float]
                   ) -> torch.Tensor:
    """(n, 1, h, w) masks, each one axis-aligned rectangle covering a random fraction in
    `area` of the image, aspect ratio in [1/2, 2], placed uniformly at random."""
    masks = torch.zeros(n, 1, h, w)
    for i in range(n):
        fraction = area[0] + (area[1] - area[0]) * float(_rand(rng))
        aspect = 2.0 ** (2 * float(_rand(rng)) - 1)
        rh = max(1, min(h, round(math.sqrt(fraction * h * w * aspect))))
        rw = max(1, min(w, round(fraction * h * w / rh)))
        top = int(_rand(rng) * (h - rh + 1))
        left = int(_rand(rng) * (w - rw + 1))
        masks[i, :, top:top + rh, left:left + rw] = 1.0
    return masks


def stroke_mask(n: int, h: int, w: int, rng: torch.Generator, strokes: int = 4) -> torch.Tensor:
    """(n, 1, h, w) free-form masks: a few thick random polylines (as in DeepFill v2)."""
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64),
                            torch.arange(w, dtype=torch.float64), indexing="ij")
    masks = torch.zeros(n, 1, h, w)
    side = min(h, w)
    for i in range(n):
        hit = torch.zeros(h, w, dtype=torch.bool)
        for _ in range(1 + int(_rand(rng) * strokes)):
            y, x = float(_rand(rng)) * h, float(_rand(rng)) * w
            radius = side * (0.03 + 0.05 * float(_rand(rng)))
            for _ in range(2 + int(_rand(rng) * 4)):
                angle = 2 * math.pi * float(_rand(rng))
                length = side * (0.1 + 0.3 * float(_rand(rng)))
                y2 = min(max(y + length * math.sin(angle), 0.0), h - 1.0)
                x2 = min(max(x + length * math.cos(angle), 0.0), w - 1.0)
                # distance of every pixel to the segment (y, x) -> (y2, x2)
                dy, dx = y2 - y, x2 - x
                t = ((ys - y) * dy + (xs - x) * dx) / max(dy * dy + dx * dx, 1e-9)
                t = t.clamp(0.0, 1.0)
                hit |= (ys - y - t * dy) ** 2 + (xs - x - t * dx) ** 2 <= radius ** 2
                y, x = y2, x2
        masks[i, 0] = hit.float()
    return masks


def side_mask(n: int, h: int, w: int, side: str, amount: float) -> torch.Tensor:
    """(n, 1, h, w) masks covering `amount` of the image from one side."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {', '.join(SIDES)}, got {side!r}")
    if not 0.0 < amount < 1.0:
        raise ValueError(f"amount must lie in (0, 1), got {amount}")
    masks = torch.zeros(n, 1, h, w)
    k = max(1, round(amount * (w if side in ("left", "right") else h)))
    region = {"left": (slice(None), slice(0, k)), "right": (slice(None), slice(w - k, w)),
              "top": (slice(0, k), slice(None)), "bottom": (slice(h - k, h), slice(None))}[side]
    masks[:, :, region[0], region[1]] = 1.0
    return masks


def _relax(fill: torch.Tensor, known: torch.Tensor, weight: torch.Tensor, sweeps: int
           ) -> torch.Tensor:
    """Jacobi sweeps of Laplace's equation: each pixel moves to its 4-neighbour mean, held to
    `known` in proportion to `weight` (1 = a known pixel, fixed)."""
    for _ in range(sweeps):
        p = F.pad(fill, (1, 1, 1, 1), mode="replicate")
        neighbours = (p[..., :-2, 1:-1] + p[..., 2:, 1:-1]
                      + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]) / 4
        fill = weight * known + (1 - weight) * neighbours
    return fill


def harmonic_fill(image: torch.Tensor, mask: torch.Tensor, sweeps: int = 8) -> torch.Tensor:
    """The holes (mask 1) filled smoothly from their borders: a multigrid solve of Laplace's
    equation (push-pull pyramid of the known pixels, `sweeps` Jacobi sweeps per level on the
    way up). Known pixels are returned exactly. About as good as biharmonic inpainting at a
    hundredth of its cost, so G can learn a residual over it on every training batch."""
    known = 1 - mask.to(image.dtype)
    sums, weights = [image * known], [known]
    while min(sums[-1].shape[-2:]) > 2:  # push: pool the known pixels and their weights
        sums.append(F.avg_pool2d(sums[-1], 2, ceil_mode=True))
        weights.append(F.avg_pool2d(weights[-1], 2, ceil_mode=True))
    coarsest = weights[-1]
    overall = sums[-1].sum((-2, -1), keepdim=True) / \
        coarsest.sum((-2, -1), keepdim=True).clamp_min(1e-12)
    fill = torch.where(coarsest > 0, sums[-1] / coarsest.clamp_min(1e-12), overall)
    for total, weight in zip(reversed(sums[:-1]), reversed(weights[:-1]), strict=True):  # pull
        mean = total / weight.clamp_min(1e-12)
        up = F.interpolate(fill, size=total.shape[-2:], mode="bilinear", align_corners=False)
        fill = _relax(weight * mean + (1 - weight) * up, mean, weight, sweeps)
    return image * known + fill * (1 - known)


class MaskedTask(ImageTask):
    """Holes to fill: G sees the image with its holes filled smoothly (`harmonic_fill`) plus
    the mask (as ±1) and predicts a residual over that fill; the output keeps every known
    pixel; D judges that composite against the same input."""

    def g_in_channels(self, channels: int) -> int:
        return channels + 1

    def masks(self, clean: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def with_mask(self, image: torch.Tensor, mask: torch.Tensor) -> Degraded:
        """The pair for an image and its holes (1 = fill)."""
        if mask.shape != (image.shape[0], 1, *image.shape[2:]):
            raise ValueError(f"mask must have shape ({image.shape[0]}, 1, {image.shape[2]}, "
                             f"{image.shape[3]}), got {tuple(mask.shape)}")
        mask = mask.to(image.dtype)
        known = image * (1 - mask)
        g_input = torch.cat([harmonic_fill(image, mask), 2 * mask - 1], dim=1)
        return Degraded(g_input, g_input, mask, known)

    @staticmethod
    def filled(degraded: Degraded) -> torch.Tensor:
        """The smooth fill G starts from (the first channels of its input)."""
        return degraded.g_input[:, :-1]

    def degrade(self, clean: torch.Tensor, rng: torch.Generator) -> Degraded:
        self.check(clean)
        return self.with_mask(clean, self.masks(clean, rng).to(clean.device))

    def assemble(self, degraded: Degraded, g_out: torch.Tensor) -> torch.Tensor:
        assert degraded.mask is not None
        return self.filled(degraded) + degraded.mask * g_out


class Inpaint(MaskedTask):
    """Random rectangles (10–40% of the image) or free-form strokes, half of each."""

    name = "inpaint"

    def __init__(self, area: tuple[float, float] = (0.1, 0.4)) -> None:
        self.area = area

    def masks(self, clean: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        n, _, h, w = clean.shape
        rect = rectangle_mask(n, h, w, rng, self.area)
        strokes = stroke_mask(n, h, w, rng)
        use_rect = (_rand(rng, n) < 0.5).to(rect.dtype)[:, None, None, None]
        return use_rect * rect + (1 - use_rect) * strokes


class Uncrop(MaskedTask):
    """One side missing: a random side, a random 20–50% of the image (training); a fixed side
    and amount for evaluation and `apply`."""

    name = "uncrop"

    def __init__(self, side: str | None = None, amount: float | None = None) -> None:
        self.side, self.amount = side, amount

    def masks(self, clean: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        n, _, h, w = clean.shape
        out = []
        for _ in range(n):
            side = self.side or SIDES[int(_rand(rng) * 4)]
            amount = self.amount or 0.2 + 0.3 * float(_rand(rng))
            out.append(side_mask(1, h, w, side, amount))
        return torch.cat(out)


class Colorize(ImageTask):
    """Lightness -> chroma in Lab: G sees L (scaled to [-1, 1]) and predicts a, b (tanh × 110);
    the output has the input's L exactly, before the sRGB gamut clip."""

    name = "colorize"

    def check(self, clean: torch.Tensor) -> None:
        super().check(clean)
        if clean.shape[1] != 3:
            raise ValueError(f"colorize needs colour (3-channel) images, got {clean.shape[1]} "
                             "channel(s)")

    def g_in_channels(self, channels: int) -> int:
        return 1

    def g_out_channels(self, channels: int) -> int:
        return 2

    def lightness(self, clean: torch.Tensor) -> torch.Tensor:
        """L of sRGB images in [-1, 1], scaled to [-1, 1] (L / 50 − 1)."""
        self.check(clean)
        return rgb_to_lab((clean.float() + 1) / 2)[:, :1] / 50.0 - 1.0

    def from_lightness(self, lightness: torch.Tensor) -> Degraded:
        grey = self.lab_image(lightness, torch.zeros_like(lightness).expand(-1, 2, -1, -1))
        return Degraded(lightness, lightness, None, grey)

    def lab_image(self, lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """sRGB in [-1, 1] from scaled L and a, b in units of AB_SCALE."""
        lab = torch.cat([(lightness.float() + 1) * 50.0, ab.float() * AB_SCALE], dim=1)
        return lab_to_rgb(lab) * 2 - 1

    def degrade(self, clean: torch.Tensor, rng: torch.Generator) -> Degraded:
        return self.from_lightness(self.lightness(clean))

    def assemble(self, degraded: Degraded, g_out: torch.Tensor) -> torch.Tensor:
        return self.lab_image(degraded.g_input, g_out).to(g_out.dtype)


TASKS = ("superres", "inpaint", "colorize", "uncrop")


def get_task(name: str, scale: int = 4, side: str | None = None,
             amount: float | None = None) -> ImageTask:
    """The task called `name` (superres takes `scale`; uncrop an optional fixed side/amount)."""
    if name == "superres":
        return SuperResolution(scale)
    if name == "inpaint":
        return Inpaint()
    if name == "colorize":
        return Colorize()
    if name == "uncrop":
        return Uncrop(side, amount)
    raise ValueError(f"unknown image task {name!r}; known: {', '.join(TASKS)}")
