"""Sampling is reproducible; lerp/slerp geometry; grid layout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from genlab.gan.nets import DCGANGenerator, MLPGenerator
from genlab.gan.sample import interpolate, lerp, make_grid, sample, slerp


def test_sample_is_reproducible_and_labelled() -> None:
    g = DCGANGenerator(z_dim=8, img_size=16, img_channels=1, width=8, num_classes=3).eval()
    a, b = sample(g, 5, seed=4), sample(g, 5, seed=4)
    assert a.shape == (5, 1, 16, 16) and a.dtype == torch.float32 and torch.equal(a, b)
    assert not torch.equal(a, sample(g, 5, seed=5))
    twos = sample(g, 4, labels=[2, 2, 2, 2], seed=1)
    assert torch.equal(twos, sample(g, 4, labels=[2, 2, 2, 2], seed=1))
    ones = sample(g, 4, labels=[1, 1, 1, 1], seed=1)  # same noise, another class
    assert not torch.allclose(twos, ones)
    g.embed.weight.data[1] = g.embed.weight.data[2]  # classes 1 and 2 made identical
    assert torch.equal(sample(g, 4, labels=[1, 1, 1, 1], seed=1), twos)
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        sample(g, 4, labels=[1, 2], seed=0)


def test_sample_uses_the_generator_sigma() -> None:
    g = MLPGenerator(z_dim=64, z_std=3.0)
    g.out.weight.data.zero_()
    g.out.bias.data.zero_()
    g.body = torch.nn.Identity()
    g.out = torch.nn.Linear(64, 2, bias=False)
    g.out.weight.data = torch.eye(2, 64)
    points = sample(g, 4000, seed=0)  # the first two noise coordinates
    assert points.std().item() == pytest.approx(3.0, rel=0.05)


def test_lerp_and_slerp_end_points_and_norms() -> None:
    a, b = torch.randn(3, 16), torch.randn(3, 16)
    t = torch.linspace(0, 1, 5)
    for path in (lerp(a, b, t), slerp(a, b, t)):
        assert path.shape == (5, 3, 16)
        assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    e1, e2 = torch.eye(2)[:1], torch.eye(2)[1:]
    mid = slerp(e1, e2, torch.tensor([0.5]))[0]
    assert torch.allclose(mid, torch.tensor([[1.0, 1.0]]) / math.sqrt(2))  # on the circle
    assert torch.allclose(lerp(e1, e2, torch.tensor([0.5]))[0], torch.tensor([[0.5, 0.5]]))
    same = slerp(e1, e1, t)  # parallel end points: no division by zero
    assert torch.isfinite(same).all() and torch.allclose(same, e1.expand(5, 1, 2))


def test_interpolate_rows_keep_their_label() -> None:
    g = DCGANGenerator(z_dim=8, img_size=16, img_channels=1, width=8, num_classes=4).eval()
    path = interpolate(g, rows=2, steps=5, method="linear", seed=0,
                       labels=torch.tensor([1, 3]))
    assert path.shape == (2, 5, 1, 16, 16)
    again = interpolate(g, rows=2, steps=5, method="linear", seed=0,
                        labels=torch.tensor([1, 3]))
    assert torch.equal(path, again)
    with pytest.raises(ValueError, match="unknown interpolation"):
        interpolate(g, method="cubic")


def test_make_grid_places_images_row_major() -> None:
    images = -torch.ones(5, 1, 2, 2)
    images[3] = 1.0  # the 4th image: row 1, column 0 with nrow=3
    grid = make_grid(images, nrow=3, padding=1)
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 1, 3) and grid.dtype == np.uint8
    assert (grid[4:6, 1:3] == 255).all() and (grid[1:3, 1:3] == 0).all()
    assert (grid[4:6, 7:9] == 255).all()  # the empty 6th slot stays background (white)
