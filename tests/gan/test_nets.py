"""Network shapes for every model, size and conditioning; PatchGAN's receptive field."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genlab.gan.nets import (
    ARCHITECTURES,
    Architecture,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    PatchGANDiscriminator,
    build_pair,
    receptive_field,
)


@pytest.mark.parametrize("img_size", [16, 32, 64])
@pytest.mark.parametrize("img_channels", [1, 3])
@pytest.mark.parametrize("num_classes", [0, 10])
def test_dcgan_shapes(img_size: int, img_channels: int, num_classes: int) -> None:
    g = DCGANGenerator(z_dim=12, img_size=img_size, img_channels=img_channels, width=8,
                       num_classes=num_classes)
    d = DCGANDiscriminator(img_size=img_size, img_channels=img_channels, width=8,
                           num_classes=num_classes)
    labels = torch.tensor([0, 9, 3]) if num_classes else None
    x = g(torch.randn(3, 12), labels)
    assert x.shape == (3, img_channels, img_size, img_size)
    assert x.abs().max() <= 1.0  # tanh output
    assert d(x, labels).shape == (3,)
    assert (g.z_dim, g.num_classes) == (12, num_classes)


def test_dcgan_64_has_four_stride2_transposed_convs_ending_in_rgb() -> None:
    g = DCGANGenerator(img_size=64)
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    strided = [m for m in convs if m.stride == (2, 2)]
    assert len(strided) == 4
    assert [m.out_channels for m in strided] == [256, 128, 64, 3]
    assert convs[0].stride == (1, 1) and convs[0].out_channels == 512  # project to 4×4


def test_z_std_is_kept_and_validated() -> None:
    assert DCGANGenerator(img_size=32, z_std=0.5).z_std == 0.5
    with pytest.raises(ValueError, match="z_std"):
        DCGANGenerator(z_std=0.0)
    with pytest.raises(ValueError, match="power of two"):
        DCGANGenerator(img_size=48)


def test_label_errors_are_clear() -> None:
    g = DCGANGenerator(img_size=16, width=8, num_classes=4)
    with pytest.raises(ValueError, match="conditional"):
        g(torch.randn(2, 100))
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        g(torch.randn(2, 100), torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="unconditional"):
        DCGANGenerator(img_size=16, width=8)(torch.randn(2, 100), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\(B, 1, 16, 16\)"):
        DCGANDiscriminator(img_size=16, img_channels=1, width=8)(torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match=r"z must have shape \(B, 100\)"):
        g(torch.randn(2, 99), torch.tensor([0, 1]))


@pytest.mark.parametrize("num_classes", [0, 5])
def test_patchgan_one_logit_per_patch(num_classes: int) -> None:
    d = PatchGANDiscriminator(img_channels=3, width=8, n_layers=3, num_classes=num_classes)
    labels = torch.tensor([1, 4]) if num_classes else None
    assert d(torch.randn(2, 3, 256, 256), labels).shape == (2, 1, 30, 30)  # pix2pix's 30×30
    assert d(torch.randn(2, 3, 70, 70), labels).shape == (2, 1, 6, 6)


def test_receptive_field_formula_and_brute_force() -> None:
    assert [receptive_field(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]
    # brute force: which input pixels move one central output logit?
    d = PatchGANDiscriminator(img_channels=1, width=4, n_layers=3).eval()
    x = torch.randn(1, 1, 160, 160, requires_grad=True)
    out = d(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    assert int(rows.max() - rows.min() + 1) == 70
    assert int(cols.max() - cols.min() + 1) == 70


@pytest.mark.parametrize("num_classes", [0, 8])
def test_mlp_pair_shapes(num_classes: int) -> None:
    g, d = MLPGenerator(z_dim=4, num_classes=num_classes), MLPDiscriminator(num_classes=num_classes)
    labels = torch.tensor([0, 7, 2]) if num_classes else None
    points = g(torch.randn(3, 4), labels)
    assert points.shape == (3, 2)
    assert d(points, labels).shape == (3,)


def test_registry_builds_the_image_task_pair() -> None:
    """unet: G maps the task's input channels to its output; D judges (image, input) pairs."""
    g, d = build_pair(Architecture(model="unet", img_size=32, img_channels=3, width=4,
                                   task="inpaint", depth=2))
    x = torch.randn(2, 4, 32, 32)  # RGB with holes + the mask channel
    out = g(x)
    assert out.shape == (2, 3, 32, 32)
    assert torch.isfinite(d(out, x)).all()
    with pytest.raises(ValueError, match="give a task"):
        build_pair(Architecture(model="unet"))


@pytest.mark.parametrize("model", sorted(set(ARCHITECTURES) - {"unet", "text-dcgan"}))
def test_registry_builds_every_noise_architecture(model: str) -> None:
    arch = Architecture(model=model, z_dim=8, img_size=32, img_channels=1, width=8, num_classes=3)
    g, d = build_pair(arch)
    labels = torch.tensor([0, 2])
    fake = g(torch.randn(2, 8), labels)
    logits = d(fake, labels)
    assert logits.shape[0] == 2 and torch.isfinite(logits).all()
    with pytest.raises(ValueError, match="known: "):
        build_pair(Architecture(model="nope"))
