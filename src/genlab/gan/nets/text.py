"""Text-conditional DCGAN pair (GAN-INT-CLS, Reed et al. 2016, with DF-GAN's deep fusion).

The condition is a sentence embedding (B, text_dim). G compresses it, appends it to z, and
also modulates every up-sampling block with it (a text-predicted scale and shift after each
batch norm: DF-GAN's "deep fusion", so colour and shape reach every resolution). D reduces the
image to 4×4 features, tiles the compressed text over them and judges the pair with a 4×4
convolution, which sees where things are — a pooled projection term would not.
"""

from __future__ import annotations

import torch
from torch import nn

from genlab.gan.nets.conditioning import check_images
from genlab.gan.nets.dcgan import _check_size, dcgan_init

__all__ = ["TextDiscriminator", "TextGenerator", "check_text"]

COMPRESSED = 128  # Reed et al. compress the sentence embedding to 128 numbers before use


def check_text(text: torch.Tensor | None, text_dim: int, batch: int) -> torch.Tensor:
    """The text embeddings, or a clear error when missing or mis-shaped."""
    if text is None:
        raise ValueError("this network is text-conditional: pass sentence embeddings (B, "
                         f"{text_dim})")
    if text.shape != (batch, text_dim):
        raise ValueError(f"text embeddings must have shape ({batch}, {text_dim}), got "
                         f"{tuple(text.shape)}")
    if not text.is_floating_point():
        raise TypeError(f"text embeddings must be floating point, got {text.dtype}")
    return text


class _Fusion(nn.Module):
    """Batch norm without its own affine, then a text-predicted scale and shift."""

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.affine = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.affine.weight)  # starts as plain batch norm
        nn.init.zeros_(self.affine.bias)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.affine(cond).to(h.dtype)[:, :, None, None].chunk(2, dim=1)
        return self.norm(h) * (1 + gamma) + beta


class TextGenerator(nn.Module):
    """(z, text embedding) -> image in [-1, 1]: DCGAN's transposed convolutions with the
    text fused into every block.

    >>> TextGenerator(16, 32, 3, 8, text_dim=6)(torch.randn(2, 16), torch.randn(2, 6)).shape
    torch.Size([2, 3, 32, 32])
    """

    num_classes = 0  # the sampling contract: conditioned on text, not on class labels

    def __init__(self, z_dim: int = 100, img_size: int = 64, img_channels: int = 3,
                 width: int = 32, text_dim: int = 128, z_std: float = 1.0) -> None:
        super().__init__()
        n_up = _check_size(img_size)
        if img_channels not in (1, 3):
            raise ValueError(f"img_channels must be 1 or 3, got {img_channels}")
        if text_dim < 1:
            raise ValueError(f"text_dim must be >= 1, got {text_dim}")
        self.z_dim, self.img_size, self.img_channels = z_dim, img_size, img_channels
        self.text_dim, self.z_std = text_dim, float(z_std)
        self.compress = nn.Sequential(nn.Linear(text_dim, COMPRESSED), nn.LeakyReLU(0.2))
        channels = width * 2 ** (n_up - 1)
        self.stem = nn.ConvTranspose2d(z_dim + COMPRESSED, channels, 4, 1, 0, bias=False)
        self.ups = nn.ModuleList()
        self.fusions = nn.ModuleList([_Fusion(channels, COMPRESSED)])
        for _ in range(n_up - 1):  # each doubles H and W, halves the channels
            self.ups.append(nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False))
            channels //= 2
            self.fusions.append(_Fusion(channels, COMPRESSED))
        self.to_image = nn.ConvTranspose2d(channels, img_channels, 4, 2, 1, bias=False)
        dcgan_init(self)
        for fusion in self.fusions:  # dcgan_init drew them; fusion starts as plain batch norm
            nn.init.zeros_(fusion.affine.weight)

    def forward(self, z: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        """(B, z_dim) noise, (B, text_dim) sentence embeddings -> (B, C, H, W) images."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (B, {self.z_dim}), got {tuple(z.shape)}")
        cond = self.compress(check_text(text, self.text_dim, z.shape[0]).to(z.dtype))
        h = self.stem(torch.cat([z, cond.to(z.dtype)], dim=1)[:, :, None, None])
        h = torch.relu(self.fusions[0](h, cond))
        for up, fusion in zip(self.ups, self.fusions[1:], strict=True):
            h = torch.relu(fusion(up(h), cond))
        return torch.tanh(self.to_image(h))


class TextDiscriminator(nn.Module):
    """(image, text embedding) -> one logit: is this a real image that shows this text?"""

    num_classes = 0

    def __init__(self, img_size: int = 64, img_channels: int = 3, width: int = 32,
                 text_dim: int = 128) -> None:
        super().__init__()
        n_down = _check_size(img_size)
        self.img_size, self.img_channels, self.text_dim = img_size, img_channels, text_dim
        channels = width
        layers: list[nn.Module] = [nn.Conv2d(img_channels, channels, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(n_down - 1):  # each halves H and W, doubles the channels
            layers += [nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(channels * 2), nn.LeakyReLU(0.2, inplace=True)]
            channels *= 2
        self.features = nn.Sequential(*layers)  # (B, channels, 4, 4)
        self.compress = nn.Sequential(nn.Linear(text_dim, COMPRESSED), nn.LeakyReLU(0.2))
        self.joint = nn.Sequential(
            nn.Conv2d(channels + COMPRESSED, channels, 1, bias=False),
            nn.BatchNorm2d(channels), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(channels, 1, 4, 1, 0, bias=False))
        dcgan_init(self)

    def forward(self, x: torch.Tensor, text: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W) images, (B, text_dim) sentence embeddings -> (B,) logits."""
        check_images(x, self.img_channels, self.img_size)
        h = self.features(x)
        cond = self.compress(check_text(text, self.text_dim, x.shape[0]).to(h.dtype))
        tiled = cond[:, :, None, None].expand(-1, -1, *h.shape[2:])
        return self.joint(torch.cat([h, tiled], dim=1)).flatten()
