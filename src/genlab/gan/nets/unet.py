"""U-Net generator for image-to-image tasks (Ronneberger et al. 2015; pix2pix's G): an encoder
of stride-2 convolutions, a decoder of upsample + convolution, and a skip connection from every
encoder level to the decoder level of the same size, so fine detail need not pass the bottleneck.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["UNetGenerator"]


def _norm(channels: int) -> nn.GroupNorm:
    """Group normalisation: per image, so training and evaluation behave the same (no batch
    statistics), and it keeps activations bounded (without it, on MNIST inpainting the deep
    levels grew to ~10⁴, tanh saturated at black and G stopped learning)."""
    return nn.GroupNorm(max(1, min(8, channels // 4)), channels)


def _block(in_ch: int, out_ch: int) -> nn.Sequential:
    """(3×3 convolution, group norm, LeakyReLU(0.2)) twice."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, 1, 1), _norm(out_ch), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, 1, 1), _norm(out_ch), nn.LeakyReLU(0.2, inplace=True),
    )


class UNetGenerator(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, H, W) in [-1, 1] (tanh), any H and W;
    every convolution but the head is group-normalised.

    `depth` halvings (the input is reflect-padded to a multiple of 2^depth and the output
    cropped back); level i has width·2^min(i, 3) channels. Upsampling is nearest-neighbour
    then a convolution: no transposed convolutions, so no checkerboard artefacts.
    """

    def __init__(self, in_channels: int, out_channels: int, width: int = 32,
                 depth: int = 4) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.width, self.depth = width, depth
        # the generator contract of genlab.gan.sample (a paired G takes an image, not noise)
        self.z_dim, self.num_classes = 0, 0
        chans = [width * 2 ** min(i, 3) for i in range(depth + 1)]
        self.stem = _block(in_channels, chans[0])
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1), _norm(chans[i + 1]),
                          nn.LeakyReLU(0.2, inplace=True), _block(chans[i + 1], chans[i + 1]))
            for i in range(depth))
        self.up = nn.ModuleList(
            nn.Conv2d(chans[i + 1], chans[i], 3, 1, 1) for i in reversed(range(depth)))
        self.merge = nn.ModuleList(_block(2 * chans[i], chans[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], out_channels, 1)
        # PyTorch's default initialisation (the norms rescale anyway). A zero head starts G at
        # "no change": the bicubic image for super-resolution's residual, grey in a hole.
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def multiple(self) -> int:
        """Input sides are padded to a multiple of this (2^depth)."""
        return 2 ** self.depth

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The restored output for input x; `labels` must be None (kept for the G contract)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"input must have shape (B, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        if labels is not None:
            raise ValueError("a U-Net generator takes no labels")
        h, w = x.shape[-2:]
        m = self.multiple
        pad_h, pad_w = (-h) % m, (-w) % m
        if pad_h or pad_w:
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        skips = [self.stem(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up, merge in zip(self.up, self.merge, strict=True):
            skip = skips.pop()
            y = up(F.interpolate(y, size=skip.shape[-2:], mode="nearest"))
            y = merge(torch.cat([F.leaky_relu(y, 0.2), skip], dim=1))
        return torch.tanh(self.head(y))[..., :h, :w]
