"""DCGAN (Radford et al. 2016): a generator of stride-2 transposed convolutions and its mirror
discriminator, both optionally class-conditional (`num_classes > 0`)."""

from __future__ import annotations

import math

import torch
from torch import nn

from genlab.gan.nets.conditioning import LabelProjection, check_images, check_labels

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "dcgan_init"]


def _check_size(img_size: int) -> int:
    """Number of stride-2 layers between 4×4 and `img_size` (a power of two ≥ 8)."""
    if img_size < 8 or img_size & (img_size - 1):
        raise ValueError(f"img_size must be a power of two >= 8, got {img_size}")
    return int(math.log2(img_size)) - 2


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02), batch-norm scale ~ N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z ~ N(0, σ²I) -> image in [-1, 1]: project to 4×4, then stride-2 transposed convs.

    At img_size=64 there are four stride-2 transposed convolutions (width·8 -> ·4 -> ·2 -> ·1
    -> img_channels), as in the DCGAN paper. Conditional: a label embedding is appended to z.
    It is small (embed_dim=10) on purpose: with 50 dimensions G learned to ignore z and drew
    one image per class on MNIST (5 of 5 two-minute runs); with 10 the samples stay diverse.

    >>> DCGANGenerator(img_size=32, img_channels=1)(torch.randn(2, 100)).shape
    torch.Size([2, 1, 32, 32])
    """

    def __init__(
        self,
        z_dim: int = 100,
        img_size: int = 64,
        img_channels: int = 3,
        width: int = 64,
        num_classes: int = 0,
        embed_dim: int = 10,
        z_std: float = 1.0,
    ) -> None:
        super().__init__()
        n_up = _check_size(img_size)
        if img_channels not in (1, 3):
            raise ValueError(f"img_channels must be 1 or 3, got {img_channels}")
        if z_std <= 0:
            raise ValueError(f"z_std must be positive, got {z_std}")
        self.z_dim, self.img_size, self.img_channels = z_dim, img_size, img_channels
        self.num_classes, self.z_std = num_classes, float(z_std)
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        in_dim = z_dim + (embed_dim if num_classes else 0)
        channels = width * 2 ** (n_up - 1)
        layers: list[nn.Module] = [  # (B, in_dim, 1, 1) -> (B, channels, 4, 4)
            nn.ConvTranspose2d(in_dim, channels, 4, 1, 0, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        ]
        for _ in range(n_up - 1):  # each doubles H and W, halves the channels
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels // 2),
                nn.ReLU(inplace=True),
            ]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, img_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, z_dim) noise [+ (B,) labels] -> (B, C, H, W) images in [-1, 1]."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (B, {self.z_dim}), got {tuple(z.shape)}")
        check_labels(labels, self.num_classes, z.shape[0])
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels).to(z.dtype)], dim=1)
        return self.net(z[:, :, None, None])  # (B, C, H, W)


class DCGANDiscriminator(nn.Module):
    """Image -> one logit (real = 1, fake = 0): stride-2 convs down to 4×4, then a 4×4 conv.

    Conditional: a projection term <embed(y), Σ_hw features> is added to the logit.
    """

    def __init__(
        self,
        img_size: int = 64,
        img_channels: int = 3,
        width: int = 64,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        n_down = _check_size(img_size)
        self.img_size, self.img_channels, self.num_classes = img_size, img_channels, num_classes
        channels = width
        layers: list[nn.Module] = [
            nn.Conv2d(img_channels, channels, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for _ in range(n_down - 1):  # each halves H and W, doubles the channels
            layers += [
                nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(channels * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels *= 2
        self.features = nn.Sequential(*layers)  # (B, channels, 4, 4)
        self.head = nn.Conv2d(channels, 1, 4, 1, 0, bias=False)
        self.project = LabelProjection(num_classes, channels) if num_classes else None
        dcgan_init(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W) images [+ (B,) labels] -> (B,) logits."""
        check_images(x, self.img_channels, self.img_size)
        check_labels(labels, self.num_classes, x.shape[0])
        h = self.features(x)
        logits = self.head(h).flatten()  # (B,)
        if self.project is not None:
            logits = logits + self.project(h.sum(dim=(2, 3)), labels).to(logits.dtype)
        return logits
