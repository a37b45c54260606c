"""Classical restorations each task is measured against (no learning).

Every baseline maps a degraded batch (and the task) to restored (B, C, H, W) in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from genlab.gan.tasks.degrade import Degraded, ImageTask, MaskedTask, SuperResolution

__all__ = ["BASELINES", "bicubic_up", "biharmonic", "harmonic", "lanczos_up", "mean_fill",
           "pad_fill"]

Baseline = Callable[[ImageTask, Degraded], torch.Tensor]


def bicubic_up(task: ImageTask, degraded: Degraded) -> torch.Tensor:
    """The bicubic up-sampling (what G's residual is added to)."""
    return degraded.g_input.float()


def lanczos_up(task: ImageTask, degraded: Degraded) -> torch.Tensor:
    """PIL's Lanczos (a = 3) up-sampling of the low-resolution image."""
    assert isinstance(task, SuperResolution) and degraded.low is not None
    return lanczos_from_low(degraded.low, task.scale)


def lanczos_from_low(low: torch.Tensor, scale: int) -> torch.Tensor:
    """Lanczos ×scale of (B, C, h, w) in [-1, 1], channel by channel in float (PIL mode F)."""
    from PIL import Image

    out = torch.empty(low.shape[0], low.shape[1], low.shape[2] * scale, low.shape[3] * scale)
    for i in range(low.shape[0]):
        for c in range(low.shape[1]):
            img = Image.fromarray(low[i, c].float().cpu().numpy(), mode="F")
            big = img.resize((low.shape[3] * scale, low.shape[2] * scale),
                             Image.Resampling.LANCZOS)
            out[i, c] = torch.from_numpy(np.array(big))
    return out.clamp(-1, 1)


def _masked(degraded: Degraded) -> tuple[np.ndarray, np.ndarray]:
    assert degraded.mask is not None, "this baseline fills holes"
    image = degraded.view.detach().float().cpu().permute(0, 2, 3, 1).numpy()
    return image, degraded.mask.detach().cpu().numpy()[:, 0] > 0.5


def biharmonic(task: ImageTask, degraded: Degraded) -> torch.Tensor:
    """scikit-image's biharmonic inpainting (`inpaint_biharmonic`), image by image."""
    from skimage.restoration import inpaint_biharmonic

    images, masks = _masked(degraded)
    out = [inpaint_biharmonic(im, m, channel_axis=-1) for im, m in zip(images, masks, strict=True)]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float().clamp(-1, 1)


def harmonic(task: ImageTask, degraded: Degraded) -> torch.Tensor:
    """genlab's multigrid harmonic fill: the starting point G's residual is added to, shown
    so the table says what the learned part adds."""
    return MaskedTask.filled(degraded).float()


def mean_fill(task: ImageTask, degraded: Degraded) -> torch.Tensor:
    """Every hole pixel set to its image's mean known colour."""
    images, masks = _masked(degraded)
    out = images.copy()
    for im, m in zip(out, masks, strict=True):
        im[m] = im[~m].mean(axis=0) if (~m).any() else 0.0
    return torch.from_numpy(out).permute(0, 3, 1, 2).float()


def pad_fill(mode: str) -> Baseline:
    """Uncropping by padding the known rectangle out to the full size (numpy's `mode`:
    reflect, edge, symmetric)."""

    def fill(task: ImageTask, degraded: Degraded) -> torch.Tensor:
        images, masks = _masked(degraded)
        out = images.copy()
        for im, m in zip(out, masks, strict=True):
            rows, cols = np.flatnonzero(~m.all(axis=1)), np.flatnonzero(~m.all(axis=0))
            if rows.size == 0 or cols.size == 0:
                continue
            top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            known = im[top:bottom, left:right]
            pads = ((top, im.shape[0] - bottom), (left, im.shape[1] - right), (0, 0))
            if mode == "reflect":  # numpy's reflect needs pads shorter than the known part
                pads = tuple((min(a, n - 1), min(b, n - 1)) for (a, b), n in
                             zip(pads, (*known.shape[:2], 2), strict=True))
            padded = np.pad(known, pads, mode=mode)  # type: ignore[call-overload]
            im[:padded.shape[0], :padded.shape[1]] = padded if padded.shape == im.shape else \
                np.pad(padded, [(0, im.shape[0] - padded.shape[0]),
                                (0, im.shape[1] - padded.shape[1]), (0, 0)], mode="edge")
        return torch.from_numpy(out).permute(0, 3, 1, 2).float()

    return fill


def grey(task: ImageTask, degraded: Degraded) -> torch.Tensor:
    """Colorization's trivial answer: the input's lightness with no colour."""
    return degraded.view.float()


BASELINES: dict[str, dict[str, Baseline]] = {
    "superres": {"bicubic": bicubic_up, "lanczos": lanczos_up},
    "inpaint": {"biharmonic": biharmonic, "mean fill": mean_fill, "harmonic (G's start)": harmonic},
    "colorize": {"grey": grey},
    "uncrop": {"reflect": pad_fill("reflect"), "edge": pad_fill("edge"),
               "harmonic (G's start)": harmonic},
}
