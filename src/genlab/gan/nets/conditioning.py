"""Label conditioning shared by the networks: checks, embeddings and the projection term."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LabelProjection", "check_images", "check_labels"]


def check_images(x: torch.Tensor, img_channels: int, img_size: int | None) -> None:
    """Raise a clear error unless x is (B, img_channels, img_size, img_size) (any size if None)."""
    size = "H, W" if img_size is None else f"{img_size}, {img_size}"
    ok = x.ndim == 4 and x.shape[1] == img_channels
    if img_size is not None:
        ok = ok and tuple(x.shape[2:]) == (img_size, img_size)
    if not ok:
        raise ValueError(
            f"images must have shape (B, {img_channels}, {size}), got {tuple(x.shape)}"
        )


def check_labels(labels: torch.Tensor | None, num_classes: int, batch: int) -> None:
    """Raise a clear error when labels are missing, extra, mis-shaped or out of range."""
    if num_classes == 0:
        if labels is not None:
            raise ValueError("labels were given to an unconditional network (num_classes=0)")
        return
    if labels is None:
        raise ValueError(f"this network is conditional (num_classes={num_classes}): pass labels")
    if labels.shape != (batch,):
        raise ValueError(f"labels must have shape ({batch},), got {tuple(labels.shape)}")
    if labels.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"labels must be integer (int64), got {labels.dtype}")
    if batch and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}], got min {int(labels.min())} "
            f"max {int(labels.max())}"
        )


class LabelProjection(nn.Module):
    """Projection discriminator term <embed(y), h> (Miyato & Koyama 2018) on pooled features."""

    def __init__(self, num_classes: int, features: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, F) features, (B,) labels -> (B,) projection logits."""
        return (self.embed(labels) * h).sum(dim=1)
