"""A small MLP generator/discriminator pair for 2-D point data (ring8, grid25)."""

from __future__ import annotations

import torch
from torch import nn

from genlab.gan.nets.conditioning import LabelProjection, check_labels

__all__ = ["MLPDiscriminator", "MLPGenerator"]


def _mlp(in_dim: int, width: int, depth: int) -> nn.Sequential:
    """`depth` hidden layers of `width` units with ReLU, starting from `in_dim`."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(in_dim if i == 0 else width, width), nn.ReLU()]
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """(B, z_dim) noise [+ (B,) labels] -> (B, 2) points (linear output: data may exceed ±1)."""

    def __init__(
        self,
        z_dim: int = 16,
        width: int = 128,
        depth: int = 3,
        num_classes: int = 0,
        z_std: float = 1.0,
        out_dim: int = 2,
    ) -> None:
        super().__init__()
        self.z_dim, self.num_classes, self.z_std, self.out_dim = z_dim, num_classes, z_std, out_dim
        self.embed = nn.Embedding(num_classes, width) if num_classes else None
        self.body = _mlp(z_dim + (width if num_classes else 0), width, depth)
        self.out = nn.Linear(width, out_dim)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, z_dim) [+ (B,)] -> (B, out_dim)."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (B, {self.z_dim}), got {tuple(z.shape)}")
        check_labels(labels, self.num_classes, z.shape[0])
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels).to(z.dtype)], dim=1)
        return self.out(self.body(z))


class MLPDiscriminator(nn.Module):
    """(B, 2) points [+ (B,) labels] -> (B,) logits; conditional by a projection term."""

    def __init__(
        self, width: int = 128, depth: int = 3, num_classes: int = 0, in_dim: int = 2
    ) -> None:
        super().__init__()
        self.num_classes, self.in_dim = num_classes, in_dim
        self.body = _mlp(in_dim, width, depth)
        self.head = nn.Linear(width, 1)
        self.project = LabelProjection(num_classes, width) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, in_dim) [+ (B,)] -> (B,) logits."""
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (B, {self.in_dim}), got {tuple(x.shape)}")
        check_labels(labels, self.num_classes, x.shape[0])
        h = self.body(x)
        logits = self.head(h).squeeze(1)
        if self.project is not None:
            logits = logits + self.project(h, labels)
        return logits
