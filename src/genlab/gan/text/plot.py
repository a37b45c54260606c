"""Pictures of text-to-image results: captions (rows, written beside them) × samples."""

from __future__ import annotations

from pathlib import Path

import torch

from genlab.gan.sample import make_grid

__all__ = ["save_caption_grid"]


def save_caption_grid(images: torch.Tensor, captions: list[str], path: Path,
                      marks: list[str] | None = None) -> Path:
    """(R, K, C, H, W) images in [-1, 1] -> PNG with one row per caption, the caption (and an
    optional mark such as "held out") written on the left."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, per_row = images.shape[:2]
    if len(captions) != rows:
        raise ValueError(f"{rows} rows of images but {len(captions)} captions")
    size = images.shape[-1]
    fig, axes = plt.subplots(rows, 1, figsize=(2.6 + per_row * size / 40, rows * size / 40 + 0.3),
                             squeeze=False)
    for r, ax in enumerate(axes[:, 0]):
        ax.imshow(make_grid(images[r], per_row))
        ax.set_xticks([])
        ax.set_yticks([])
        label = captions[r] + (f"\n({marks[r]})" if marks and marks[r] else "")
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.tight_layout()
    fig.subplots_adjust(left=max(fig.subplotpars.left, 2.4 / fig.get_figwidth()))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return path
