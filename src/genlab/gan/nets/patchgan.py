"""PatchGAN discriminator (Isola et al. 2017, pix2pix's NLayerDiscriminator): one logit per
overlapping image patch; the patch is 70×70 pixels at n_layers=3."""

from __future__ import annotations

import torch
from torch import nn

from genlab.gan.nets.conditioning import check_images, check_labels
from genlab.gan.nets.dcgan import dcgan_init

__all__ = ["PatchGANDiscriminator", "patch_layers", "receptive_field"]


def patch_layers(n_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of every convolution of an n_layers PatchGAN, input to output."""
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def receptive_field(n_layers: int = 3) -> int:
    """Side in pixels of the input patch that one output logit sees (70 at n_layers=3).

    >>> receptive_field(3)
    70
    """
    field = 1
    for kernel, stride in reversed(patch_layers(n_layers)):
        field = field * stride + (kernel - stride)
    return field


class PatchGANDiscriminator(nn.Module):
    """(B, C, H, W) -> (B, 1, H', W') patch logits (real = 1, fake = 0).

    Conditional (`num_classes > 0`): the one-hot label is concatenated to the input as
    `num_classes` constant channels (a concatenation discriminator). Paired (`cond_channels >
    0`, pix2pix): the condition is an image of that many channels, concatenated to x, so D
    judges (input, output) pairs.
    """

    def __init__(
        self,
        img_channels: int = 3,
        width: int = 64,
        n_layers: int = 3,
        num_classes: int = 0,
        cond_channels: int = 0,
    ) -> None:
        super().__init__()
        if num_classes and cond_channels:
            raise ValueError("a PatchGAN is conditioned on labels or on an image, not both")
        self.img_channels, self.num_classes, self.n_layers = img_channels, num_classes, n_layers
        self.cond_channels = cond_channels
        specs = patch_layers(n_layers)
        in_ch = img_channels + num_classes + cond_channels
        layers: list[nn.Module] = []
        mult = 1
        for i, (kernel, stride) in enumerate(specs[:-1]):
            out_ch = width * mult
            layers.append(nn.Conv2d(in_ch, out_ch, kernel, stride, 1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch, mult = out_ch, min(mult * 2, 8)
        kernel, stride = specs[-1]
        layers.append(nn.Conv2d(in_ch, 1, kernel, stride, 1))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W) images [+ (B,) labels, or the (B, cond_channels, H, W) condition image
        when paired] -> (B, 1, H', W') logits, one per patch."""
        check_images(x, self.img_channels, None)
        if self.cond_channels:
            if labels is None or labels.shape != (x.shape[0], self.cond_channels, *x.shape[2:]):
                got = None if labels is None else tuple(labels.shape)
                raise ValueError(f"this PatchGAN judges pairs: pass the condition image of shape "
                                 f"({x.shape[0]}, {self.cond_channels}, {x.shape[2]}, "
                                 f"{x.shape[3]}), got {got}")
            return self.net(torch.cat([x, labels.to(x.dtype)], dim=1))
        check_labels(labels, self.num_classes, x.shape[0])
        if labels is not None:
            onehot = nn.functional.one_hot(labels, self.num_classes).to(x.dtype)  # (B, K)
            x = torch.cat([x, onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        return self.net(x)
