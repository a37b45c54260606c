"""Sampling from a generator, latent interpolation (lerp / slerp), and saving pictures.

A generator is any module with integer `z_dim` and `num_classes` and `forward(z, labels)`;
its noise is z ~ N(0, σ²I) with σ = `generator.z_std` (1 when absent).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "Conditions",
    "generate",
    "interpolate",
    "latent",
    "lerp",
    "make_grid",
    "sample",
    "save_gif",
    "save_grid",
    "save_points",
    "slerp",
]


# G's conditions for n samples from a seeded RNG (labels, sentence embeddings) or None
Conditions = Callable[[int, torch.Generator], Any]


def _attr(generator: nn.Module, name: str) -> int:
    """An integer attribute of the generator contract (z_dim, num_classes)."""
    value: Any = getattr(generator, name)
    return int(value)


def _device(generator: nn.Module) -> torch.device:
    """Device of the generator's first parameter (CPU for a parameterless module)."""
    return next((p.device for p in generator.parameters()), torch.device("cpu"))


def latent(generator: nn.Module, n: int, rng: torch.Generator) -> torch.Tensor:
    """(n, z_dim) CPU noise z ~ N(0, σ²I) drawn from `rng`."""
    return torch.randn(n, _attr(generator, "z_dim"), generator=rng) * float(
        getattr(generator, "z_std", 1.0)
    )


@torch.no_grad()
def generate(
    generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
    batch_size: int = 256,
) -> torch.Tensor:
    """G(z, labels) in batches, as float32 on the CPU (whatever G's device and precision)."""
    device = _device(generator)
    out = []
    for start in range(0, z.shape[0], batch_size):
        zb = z[start:start + batch_size].to(device)
        lb = None if labels is None else labels[start:start + batch_size].to(device)
        out.append(generator(zb, lb).float().cpu())
    return torch.cat(out) if out else torch.empty(0)


def sample(
    generator: nn.Module,
    n: int,
    labels: torch.Tensor | list[int] | None = None,
    seed: int = 0,
    batch_size: int = 256,
) -> torch.Tensor:
    """n samples (float32, CPU, in [-1, 1] for images); labels None -> uniform random classes.

    Reproducible: the same seed gives the same noise and labels.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = torch.Generator().manual_seed(seed)
    z = latent(generator, n, rng)
    num_classes = _attr(generator, "num_classes")
    if labels is not None:
        labels = torch.as_tensor(labels, dtype=torch.int64)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    elif num_classes:
        labels = torch.randint(0, num_classes, (n,), generator=rng)
    return generate(generator, z, labels, batch_size)


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight line (1 − t)·a + t·b between rows of a and b, for each t -> (T, B, D)."""
    t = t.reshape(-1, 1, 1)
    return (1 - t) * a[None] + t * b[None]


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation along the great circle through a and b (White 2016) -> (T, B, D).

    Keeps the norm typical of Gaussian noise; falls back to lerp when a ∥ b.
    """
    a_unit = a / a.norm(dim=1, keepdim=True).clamp_min(1e-12)
    b_unit = b / b.norm(dim=1, keepdim=True).clamp_min(1e-12)
    omega = torch.arccos((a_unit * b_unit).sum(1).clamp(-1.0, 1.0))[None, :, None]  # (1, B, 1)
    t = t.reshape(-1, 1, 1)
    sin = torch.sin(omega)
    safe = sin.abs() > 1e-6
    sin = torch.where(safe, sin, torch.ones_like(sin))
    wa = torch.where(safe, torch.sin((1 - t) * omega) / sin, 1 - t)
    wb = torch.where(safe, torch.sin(t * omega) / sin, t)
    return wa * a[None] + wb * b[None]


INTERPOLATIONS = {"linear": lerp, "slerp": slerp}


def interpolate(
    generator: nn.Module,
    rows: int = 4,
    steps: int = 8,
    method: str = "slerp",
    seed: int = 0,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """(rows, steps, ...) samples along paths between `rows` pairs of random latent points.

    Conditional generators keep one label per row (random unless `labels` gives them).
    """
    if method not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {method!r}; known: {', '.join(INTERPOLATIONS)}")
    if rows < 1 or steps < 2:
        raise ValueError(f"need rows >= 1 and steps >= 2, got rows={rows}, steps={steps}")
    rng = torch.Generator().manual_seed(seed)
    a, b = latent(generator, rows, rng), latent(generator, rows, rng)
    z = INTERPOLATIONS[method](a, b, torch.linspace(0, 1, steps))  # (steps, rows, z_dim)
    z = z.transpose(0, 1).reshape(rows * steps, -1)
    if _attr(generator, "num_classes"):
        if labels is None:
            labels = torch.randint(0, _attr(generator, "num_classes"), (rows,), generator=rng)
        labels = torch.as_tensor(labels, dtype=torch.int64).repeat_interleave(steps)
    out = generate(generator, z, labels)
    return out.reshape(rows, steps, *out.shape[1:])


def make_grid(images: torch.Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """(N, C, H, W) images in [-1, 1] -> one (rows·H, nrow·W, 3) uint8 picture, row-major."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, 1 or 3, H, W), got {tuple(images.shape)}")
    n, c, h, w = images.shape
    nrow = max(1, min(nrow, n))
    ncol_rows = -(-n // nrow)
    pixels = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if c == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    grid = np.full((ncol_rows * (h + padding) + padding, nrow * (w + padding) + padding, 3),
                   255, dtype=np.uint8)
    for k in range(n):
        r, q = divmod(k, nrow)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[top:top + h, left:left + w] = pixels[k].permute(1, 2, 0).numpy()
    return grid


def _atomic_image_save(image: Any, path: Path, **kwargs: object) -> Path:
    """Save a PIL image through a temporary file and a rename (no half-written PNGs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    image.save(tmp, format=path.suffix.lstrip(".").upper().replace("JPG", "JPEG"), **kwargs)
    tmp.replace(path)
    return path


def save_grid(images: torch.Tensor, path: Path, nrow: int = 8, scale: int = 1) -> Path:
    """Write images (N, C, H, W) in [-1, 1] as a PNG grid with `nrow` per row."""
    from PIL import Image

    picture = Image.fromarray(make_grid(images, nrow))
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale),
                                 Image.Resampling.NEAREST)
    return _atomic_image_save(picture, path)


def save_gif(frames: torch.Tensor, path: Path, nrow: int = 8, ms_per_frame: int = 120) -> Path:
    """Animated GIF from (T, N, C, H, W): frame t is the grid of frames[t], played ping-pong."""
    from PIL import Image

    pictures = [Image.fromarray(make_grid(f, nrow)) for f in frames]
    pictures = pictures + pictures[-2:0:-1]
    return _atomic_image_save(pictures[0], path, save_all=True, append_images=pictures[1:],
                              duration=ms_per_frame, loop=0)


def save_points(
    points: torch.Tensor, path: Path, modes: np.ndarray | None = None, title: str = ""
) -> Path:
    """Scatter plot PNG of (N, 2) samples, with the true mixture modes as crosses if given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    xy = points.detach().float().cpu().numpy()
    ax.scatter(xy[:, 0], xy[:, 1], s=2, alpha=0.4, label="samples")
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], marker="x", c="red", s=30, label="modes")
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=7)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path
