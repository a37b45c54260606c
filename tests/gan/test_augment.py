"""DiffAugment: each augmentation does exactly what it says, stays differentiable, and D sees
only augmented images in training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genlab.gan.augment import AUGMENTATIONS, DiffAugment, parse_policy, translate
from genlab.gan.config import TrainConfig, resolve_config
from genlab.gan.data import load_dataset
from genlab.gan.distributed import Dist
from genlab.gan.train import Batches, LoopState, _build, d_step, g_step


def _images(n: int = 6, size: int = 16, channels: int = 1, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, size, size, generator=gen) * 2 - 1


def _shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x moved down by dy and right by dx whole pixels, uncovered pixels black (-1)."""
    out = torch.full_like(x, -1.0)
    h, w = x.shape[-2:]
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[..., max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_translation_moves_every_image_by_whole_pixels_up_to_an_eighth() -> None:
    x = _images(n=32)
    out = AUGMENTATIONS["translation"](x, torch.Generator().manual_seed(3))
    found = set()
    for image, moved in zip(x, out, strict=True):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.equal(_shifted(image, dy, dx), moved)]
        assert len(matches) == 1, "not a whole-pixel shift of at most 16/8 = 2 pixels"
        found.add(matches[0])
    assert len(found) > 5  # the shifts vary between images


def test_sub_pixel_translation_keeps_the_ink_and_pads_black() -> None:
    x = -torch.ones(4, 1, 16, 16)
    x[:, :, 6:10, 6:10] = 1.0  # a white square well inside the frame
    out = translate(x, 1.5, torch.Generator().manual_seed(0))
    assert torch.allclose((out + 1).sum(dim=(1, 2, 3)), (x + 1).sum(dim=(1, 2, 3)), atol=1e-4)
    assert not torch.equal(out, x)
    assert torch.equal(translate(x, 0.0, torch.Generator()), x)


def test_cutout_zeroes_one_half_size_square_and_keeps_the_rest() -> None:
    x = _images(n=16, size=12) * 0.5 + 0.5  # no exact zeros in the input
    out = AUGMENTATIONS["cutout"](x, torch.Generator().manual_seed(1))
    for image, cut in zip(x, out, strict=True):
        zero = cut[0] == 0
        rows, cols = zero.any(dim=1).nonzero().flatten(), zero.any(dim=0).nonzero().flatten()
        assert int(zero.sum()) == 36  # a 6 x 6 square ...
        assert rows.max() - rows.min() == 5 and cols.max() - cols.min() == 5  # ... in one piece
        assert torch.equal(cut[0][~zero], image[0][~zero])


def test_color_is_a_per_image_affine_map_within_the_published_ranges() -> None:
    x = _images(n=12)
    out = AUGMENTATIONS["color"](x, torch.Generator().manual_seed(2))
    for image, colored in zip(x.flatten(1), out.flatten(1), strict=True):
        design = torch.stack([image, torch.ones_like(image)], dim=1).double()
        scale, shift = torch.linalg.lstsq(design, colored.double().unsqueeze(1)).solution.flatten()
        assert torch.allclose(design @ torch.stack([scale, shift]), colored.double(), atol=1e-5)
        assert 0.5 <= scale <= 1.5  # contrast; brightness and the mean go into the shift


def test_augmentations_pass_gradients_and_repeat_with_the_same_seed() -> None:
    x = _images(n=4, channels=3).requires_grad_(True)
    augment = DiffAugment("color,translation,cutout", torch.Generator().manual_seed(5))
    augment(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    again = DiffAugment("color,translation,cutout", torch.Generator().manual_seed(5))
    other = DiffAugment("color,translation,cutout", torch.Generator().manual_seed(6))
    y = x.detach()
    assert torch.equal(again(y), DiffAugment("color,translation,cutout",
                                             torch.Generator().manual_seed(5))(y))
    assert not torch.equal(again(y), other(y))


def test_policies_parse_and_unknown_names_are_refused() -> None:
    assert parse_policy("translation, cutout") == ("translation", "cutout")
    assert parse_policy("none") == parse_policy("") == ()
    assert not DiffAugment("none", torch.Generator())
    with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
        parse_policy("translation,flip")
    with pytest.raises(ValueError, match="unknown augmentation"):
        TrainConfig(augment="rotate")
    with pytest.raises(ValueError, match="2-D points"):
        resolve_config(TrainConfig(data="ring8", augment="cutout"), load_dataset("ring8"),
                       torch.device("cpu"))


def test_discriminator_sees_only_augmented_images(tmp_path: Path) -> None:
    config = TrainConfig(data="digits", img_size=16, width=8, batch_size=16, precision="fp32",
                         out=str(tmp_path), augment="cutout", progress=False)
    data = load_dataset("digits", 16)
    config = resolve_config(config, data, torch.device("cpu"))
    parts = _build(config, data, Dist(), torch.device("cpu"))
    batches = Batches(data, 16, Dist(), 0, torch.device("cpu"), False, LoopState(), False)
    seen: list[torch.Tensor] = []
    parts.d.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    d_step(parts, batches, 0)
    g_step(parts, batches, 0)
    assert len(seen) == 3  # real and fake in the D step, fake in the G step
    for batch in seen:  # every image has its 8 x 8 square of exact zeros
        assert ((batch == 0).flatten(1).sum(dim=1) >= 64).all()
