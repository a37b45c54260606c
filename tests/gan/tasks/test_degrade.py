"""Degradations are exact where they should be; the U-Net and the paired PatchGAN."""

from __future__ import annotations

import pytest
import torch

from genlab.gan.nets import PatchGANDiscriminator, UNetGenerator
from genlab.gan.tasks.color import lab_to_rgb, rgb_to_lab
from genlab.gan.tasks.degrade import (
    AB_SCALE,
    Colorize,
    Inpaint,
    SuperResolution,
    Uncrop,
    get_task,
    harmonic_fill,
    rectangle_mask,
    side_mask,
    stroke_mask,
)
from genlab.gan.tasks.photos import load_photo, random_crops


def _photos(n: int = 4, size: int = 32) -> torch.Tensor:
    return random_crops([load_photo("astronaut"), load_photo("coffee")], n, size, seed=0)


def test_masks_leave_every_known_pixel_untouched() -> None:
    clean = _photos()
    for task in (Inpaint(), Uncrop()):
        degraded = task.degrade(clean, torch.Generator().manual_seed(1))
        assert degraded.mask is not None
        known = degraded.mask == 0
        noise = torch.rand_like(clean) * 2 - 1  # whatever G outputs
        out = task.assemble(degraded, noise)
        assert torch.equal(out.masked_select(known.expand_as(out)),
                           clean.masked_select(known.expand_as(clean)))
        holes = (degraded.mask == 1).expand_as(out)
        start = task.filled(degraded)
        assert torch.equal(out[holes], (start + noise)[holes])  # a residual over the fill
        assert torch.equal(degraded.g_input[:, 3:], 2 * degraded.mask - 1)
        assert 0 < float(degraded.mask.mean()) < 1
        # G never sees what is missing: change every hidden pixel, its input stays the same
        scrambled = torch.where(holes, -clean, clean)
        again = task.with_mask(scrambled, degraded.mask)
        assert torch.equal(again.g_input, degraded.g_input)


def test_harmonic_fill_solves_laplace_inside_the_holes() -> None:
    y, x = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
    ramp = (0.6 * x - 0.3 * y).expand(2, 3, 64, 64).clone()  # linear, hence harmonic
    mask = torch.zeros(2, 1, 64, 64)
    mask[:, :, 20:44, 16:40] = 1
    assert (harmonic_fill(ramp, mask) - ramp).abs().max() < 2e-3
    assert (harmonic_fill(ramp, mask, sweeps=64) - ramp).abs().max() < 1e-6
    constant = torch.full((1, 1, 33, 47), 0.25)  # odd sides: the pyramid pads
    holes = stroke_mask(1, 33, 47, torch.Generator().manual_seed(2))
    assert torch.allclose(harmonic_fill(constant, holes), constant, atol=1e-6)
    clean = _photos()  # the maximum principle: the fill stays within the known pixels' range
    holes = rectangle_mask(4, 32, 32, torch.Generator().manual_seed(3), (0.3, 0.3))
    filled = harmonic_fill(clean, holes)
    known = (holes == 0).expand_as(clean)
    for i in range(4):
        assert torch.equal(filled[i][known[i]], clean[i][known[i]])
        seen = clean[i][known[i]]
        assert seen.min() - 1e-6 <= filled[i].min() and filled[i].max() <= seen.max() + 1e-6


def test_mask_shapes_are_what_was_asked() -> None:
    rng = torch.Generator().manual_seed(0)
    rect = rectangle_mask(50, 64, 64, rng, (0.25, 0.25))
    assert torch.allclose(rect.mean(dim=(1, 2, 3)), torch.full((50,), 0.25), atol=0.02)
    for side, region in (("left", (slice(None), slice(0, 16))), ("right", (slice(None),
                         slice(48, 64))), ("top", (slice(0, 16), slice(None))),
                         ("bottom", (slice(48, 64), slice(None)))):
        m = side_mask(1, 64, 64, side, 0.25)[0, 0]
        assert m.sum() == 64 * 16 and torch.all(m[region] == 1)
    strokes = stroke_mask(20, 64, 64, rng)
    assert set(strokes.unique().tolist()) <= {0.0, 1.0} and 0 < strokes.mean() < 0.6
    a = stroke_mask(3, 32, 32, torch.Generator().manual_seed(5))
    assert torch.equal(a, stroke_mask(3, 32, 32, torch.Generator().manual_seed(5)))  # seeded
    with pytest.raises(ValueError, match="side"):
        side_mask(1, 8, 8, "middle", 0.25)


def test_colorize_keeps_lightness_exactly_and_true_chroma_gives_back_the_image() -> None:
    clean = _photos()
    task = Colorize()
    degraded = task.degrade(clean, torch.Generator())
    lab = rgb_to_lab((clean.double() + 1) / 2)
    assert torch.allclose((degraded.g_input.double() + 1) * 50, lab[:, :1], atol=1e-4)
    grey = rgb_to_lab((degraded.view.double() + 1) / 2)
    assert torch.allclose(grey[:, 1:], torch.zeros_like(grey[:, 1:]), atol=0.05)  # no colour
    assert torch.allclose(grey[:, :1], lab[:, :1], atol=0.05)  # the same lightness
    restored = task.assemble(degraded, (lab[:, 1:] / AB_SCALE).float())
    assert torch.allclose(restored, clean, atol=1e-3)
    with pytest.raises(ValueError, match="colour"):
        task.degrade(clean[:, :1], torch.Generator())


def test_lab_round_trip_and_reference_colours() -> None:
    rgb = torch.rand(2, 3, 5, 7, dtype=torch.float64)
    assert torch.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-6)
    white = rgb_to_lab(torch.ones(1, 3, 1, 1, dtype=torch.float64))[0, :, 0, 0]
    assert torch.allclose(white, torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64), atol=1e-3)
    red = rgb_to_lab(torch.tensor([1.0, 0, 0], dtype=torch.float64)[None, :, None, None])
    assert torch.allclose(red[0, :, 0, 0], torch.tensor([53.24, 80.09, 67.20],
                                                        dtype=torch.float64), atol=0.05)


def test_superres_downsamples_by_the_scale_and_a_zero_residual_is_bicubic() -> None:
    clean = _photos(size=32)
    task = SuperResolution(4)
    degraded = task.degrade(clean, torch.Generator())
    assert degraded.low is not None and degraded.low.shape[-2:] == (8, 8)
    assert degraded.g_input.shape == clean.shape
    assert torch.equal(task.assemble(degraded, torch.zeros_like(clean)), degraded.g_input)
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(task.downsample(flat), torch.full((1, 3, 4, 4), 0.3), atol=1e-6)
    with pytest.raises(ValueError, match="multiples of 4"):
        task.degrade(torch.zeros(1, 3, 30, 32), torch.Generator())
    with pytest.raises(ValueError, match="unknown image task"):
        get_task("deblur")


@pytest.mark.parametrize("shape", [(1, 1, 32, 32), (2, 3, 17, 23), (1, 4, 64, 40),
                                   (1, 3, 5, 9)])
def test_unet_keeps_every_size(shape: tuple[int, int, int, int]) -> None:
    g = UNetGenerator(shape[1], 2, width=4, depth=3)
    torch.nn.init.normal_(g.head.weight)
    out = g(torch.randn(shape))
    assert out.shape == (shape[0], 2, *shape[2:])
    assert out.abs().max() <= 1
    assert torch.all(UNetGenerator(shape[1], 2, 4, 3)(torch.randn(shape)) == 0)  # zero head
    with pytest.raises(ValueError, match="shape"):
        g(torch.randn(1, shape[1] + 1, 8, 8))


def test_unet_skip_connections_carry_fine_detail() -> None:
    """A one-pixel change moves the output at that pixel through the full-resolution skip."""
    torch.manual_seed(0)
    g = UNetGenerator(1, 1, width=4, depth=3)
    torch.nn.init.normal_(g.head.weight)
    x = torch.zeros(1, 1, 16, 16)
    y = x.clone()
    y[..., 5, 7] = 1.0
    diff = (g(y) - g(x)).abs()[0, 0]
    assert (diff[5, 7] > 0 and diff[0, 0] == 0) or diff[5, 7] >= diff.max() * 0.1


def test_patchgan_judges_pairs() -> None:
    d = PatchGANDiscriminator(3, 8, 2, cond_channels=4)
    x, cond = torch.randn(2, 3, 32, 32), torch.randn(2, 4, 32, 32)
    logits = d(x, cond)
    assert logits.shape[:2] == (2, 1)
    assert not torch.allclose(logits, d(x, torch.randn(2, 4, 32, 32)))  # it looks at the input
    with pytest.raises(ValueError, match="condition image"):
        d(x)
    with pytest.raises(ValueError, match="condition image"):
        d(x, torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="not both"):
        PatchGANDiscriminator(3, 8, 2, num_classes=10, cond_channels=4)
