"""Architectures by name: an `Architecture` (flat, JSON-able) builds a (G, D) pair."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from genlab.gan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from genlab.gan.nets.mlp import MLPDiscriminator, MLPGenerator
from genlab.gan.nets.patchgan import PatchGANDiscriminator
from genlab.gan.nets.text import TextDiscriminator, TextGenerator
from genlab.gan.nets.unet import UNetGenerator

__all__ = ["ARCHITECTURES", "Architecture", "build_pair"]


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild a G/D pair; stored in every checkpoint's config."""

    model: str = "dcgan"
    z_dim: int = 100
    img_size: int = 32
    img_channels: int = 1
    width: int = 64
    num_classes: int = 0
    z_std: float = 1.0
    task: str = ""  # image-to-image task (unet): sets G's input / output channels
    depth: int = 0  # U-Net halvings
    text_dim: int = 0  # text-to-image: the sentence embedding's size


def _dcgan(a: Architecture) -> tuple[nn.Module, nn.Module]:
    g = DCGANGenerator(a.z_dim, a.img_size, a.img_channels, a.width, a.num_classes, z_std=a.z_std)
    return g, DCGANDiscriminator(a.img_size, a.img_channels, a.width, a.num_classes)


def _dcgan_patch(a: Architecture) -> tuple[nn.Module, nn.Module]:
    g = DCGANGenerator(a.z_dim, a.img_size, a.img_channels, a.width, a.num_classes, z_std=a.z_std)
    n_layers = 3 if a.img_size >= 64 else 2
    return g, PatchGANDiscriminator(a.img_channels, a.width, n_layers, a.num_classes)


def _mlp(a: Architecture) -> tuple[nn.Module, nn.Module]:
    g = MLPGenerator(a.z_dim, a.width, num_classes=a.num_classes, z_std=a.z_std)
    return g, MLPDiscriminator(a.width, num_classes=a.num_classes)


def _unet(a: Architecture) -> tuple[nn.Module, nn.Module]:
    """pix2pix: a U-Net G for the task's channels and a PatchGAN judging (output, input)."""
    from genlab.gan.tasks.degrade import get_task

    if not a.task:
        raise ValueError("the unet model is for image tasks: give a task")
    task = get_task(a.task)
    g_in = task.g_in_channels(a.img_channels)
    g = UNetGenerator(g_in, task.g_out_channels(a.img_channels), a.width, a.depth or 4)
    n_layers = 3 if a.img_size >= 64 else 2
    return g, PatchGANDiscriminator(a.img_channels, a.width, n_layers, cond_channels=g_in)


def _text_dcgan(a: Architecture) -> tuple[nn.Module, nn.Module]:
    """Text-to-image: G(z, sentence) and a matching-aware D(x, sentence)."""
    if a.text_dim < 1:
        raise ValueError("the text-dcgan model needs a sentence embedding size (text_dim)")
    g = TextGenerator(a.z_dim, a.img_size, a.img_channels, a.width, a.text_dim, a.z_std)
    return g, TextDiscriminator(a.img_size, a.img_channels, a.width, a.text_dim)


ARCHITECTURES: dict[str, Callable[[Architecture], tuple[nn.Module, nn.Module]]] = {
    "dcgan": _dcgan,
    "dcgan-patch": _dcgan_patch,
    "mlp": _mlp,
    "unet": _unet,
    "text-dcgan": _text_dcgan,
}


def build_pair(arch: Architecture) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) for `arch`; unknown names list the known ones."""
    if arch.model not in ARCHITECTURES:
        raise ValueError(f"unknown model {arch.model!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch.model](arch)
