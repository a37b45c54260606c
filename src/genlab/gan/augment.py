"""Random image augmentations, differentiable with respect to the images.

`DiffAugment` (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training") shows both real and generated images to D through the same random augmentation,
so D cannot memorise a small training set while G still gets gradients through it. The same
`translate` also augments the LeNet classifier's training images.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["AUGMENTATIONS", "DiffAugment", "parse_policy", "translate"]


def translate(x: torch.Tensor, max_shift: float, gen: torch.Generator,
              whole_pixels: bool = False) -> torch.Tensor:
    """Shift each image by its own random offset of at most `max_shift` pixels per axis;
    uncovered pixels become black (-1). Whole-pixel shifts copy pixels, others interpolate."""
    if max_shift <= 0:
        return x
    b, _, h, w = x.shape
    offsets = (torch.rand(b, 2, generator=gen) * 2 - 1) * max_shift
    if whole_pixels:
        offsets = offsets.round()
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = offsets * 2 / torch.tensor([w, h])
    grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False).to(x.device, x.dtype)
    mode = "nearest" if whole_pixels else "bilinear"
    return F.grid_sample(x + 1, grid, mode=mode, align_corners=False, padding_mode="zeros") - 1


def _uniform(x: torch.Tensor, gen: torch.Generator, low: float, high: float) -> torch.Tensor:
    """One U(low, high) draw per image, shaped (B, 1, 1, 1) to broadcast over it."""
    u = torch.rand(x.shape[0], 1, 1, 1, generator=gen)
    return (low + (high - low) * u).to(x.device, x.dtype)


def _color(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """DiffAugment's colour: brightness ±0.5 and contrast ×[0.5, 1.5] on [-1, 1] images, and
    saturation ×[0, 2] when the images have three channels."""
    x = x + _uniform(x, gen, -0.5, 0.5)  # brightness 0.25 on [0, 1] is 0.5 on [-1, 1]
    if x.shape[1] == 3:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * _uniform(x, gen, 0.0, 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x, gen, 0.5, 1.5) + mean


def _translation(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """DiffAugment's translation: whole-pixel shifts of up to 1/8 of the image size."""
    return translate(x, x.shape[-1] / 8, gen, whole_pixels=True)


def _cutout(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """DiffAugment's cutout: a square of half the image size at a random place is set to 0."""
    b, _, h, w = x.shape
    size_h, size_w = h // 2, w // 2
    top = torch.randint(0, h - size_h + 1, (b, 1, 1), generator=gen)
    left = torch.randint(0, w - size_w + 1, (b, 1, 1), generator=gen)
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * (~inside).unsqueeze(1).to(x.device, x.dtype)


AUGMENTATIONS: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "color": _color,
    "translation": _translation,
    "cutout": _cutout,
}


def parse_policy(policy: str) -> tuple[str, ...]:
    """'translation,cutout' -> ('translation', 'cutout'); 'none' or '' -> ()."""
    names = tuple(n for n in (p.strip() for p in policy.split(",")) if n and n != "none")
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(map(repr, unknown))}: choose from "
                         f"{', '.join(AUGMENTATIONS)} (comma-separated) or none")
    return names


class DiffAugment:
    """The augmentations of a policy, applied in order, drawing from one seeded generator
    (the training noise stream, so a resumed run augments identically)."""

    def __init__(self, policy: str, gen: torch.Generator) -> None:
        self.names = parse_policy(policy)
        self.gen = gen

    def __bool__(self) -> bool:
        return bool(self.names)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.names:
            x = AUGMENTATIONS[name](x, self.gen)
        return x
