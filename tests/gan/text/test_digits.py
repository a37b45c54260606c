"""MNIST captions: measured stroke thickness and slant, their terciles, captions and cache."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genlab.gan.text import digits as D
from genlab.gan.text.captioned import CaptionedData, attribute_accuracy


@pytest.fixture(scope="module")
def real() -> CaptionedData:
    return D.make_digit_captions()


def _shear(x: torch.Tensor, k: float) -> torch.Tensor:
    """Shift each row by round(k · (centre − y)) px: k > 0 moves the top right (leans right)."""
    n, _, h, w = x.shape
    shift = np.round(k * ((h - 1) / 2 - np.arange(h))).astype(np.int64)  # (H,)
    source = (np.arange(w)[None, :] - shift[:, None]) % w  # (H, W) column each pixel comes from
    index = torch.from_numpy(np.broadcast_to(source, (n, 1, h, w)).copy())
    return torch.gather(x, 3, index)


def test_layout_and_determinism(real: CaptionedData) -> None:
    assert real.name == "mnist-captions" and real.x.shape == (5000, 1, 32, 32)
    assert real.attributes == ("digit", "thickness", "slant")
    assert not real.held_out.any()
    again = D.make_digit_captions(seed=1)
    assert torch.equal(again.x, real.x) and np.array_equal(again.values, real.values)
    assert again.captions == real.captions
    assert all(real.canonical(i) == D.captions_for(real.values[i])[0] for i in range(0, 5000, 97))


def test_remeasuring_reproduces_the_captions(real: CaptionedData) -> None:
    style = D.fit_style(real.x, real.values[:, 0])
    read = D.read_digits_style(real.x, real.values[:, 0], style)
    assert np.array_equal(read, real.values[:, 1:])
    assert attribute_accuracy(read, real.values[:, 1:]) == {
        "thickness": 1.0, "slant": 1.0, "all": 1.0}
    for i in range(0, 5000, 250):  # every caption parses back to the stored values
        for caption in real.captions[i]:
            assert D.parse_digit_caption(caption).tolist() == real.values[i].tolist(), caption


def test_terciles_are_balanced_per_digit(real: CaptionedData) -> None:
    for digit in range(10):
        rows = real.values[:, 0] == digit
        for j in (1, 2):
            counts = np.bincount(real.values[rows, j], minlength=3)
            assert counts.min() >= 160 and counts.max() <= 175, (digit, j, counts)


def test_thickening_and_shearing_move_the_measures(real: CaptionedData) -> None:
    x = real.x[::10]
    thickness, slant = D.measure_digits(x)
    dilated = F.max_pool2d(x, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-x, 2, stride=1, padding=0)  # thinner (and one pixel smaller)
    assert (D.measure_digits(dilated)[0] > thickness).mean() > 0.95
    assert (D.measure_digits(eroded)[0] < thickness).mean() > 0.95
    assert (D.measure_digits(_shear(x, 0.4))[1] > slant + 0.2).mean() > 0.95
    assert (D.measure_digits(_shear(x, -0.4))[1] < slant - 0.2).mean() > 0.95
    style = D.fit_style(real.x, real.values[:, 0])
    digits = real.values[::10, 0]
    assert (D.read_digits_style(dilated, digits, style)[:, 0] == 2).mean() > 0.8
    assert (D.read_digits_style(_shear(x, 0.6), digits, style)[:, 1] == 2).mean() > 0.8
    assert (D.read_digits_style(_shear(x, -0.6), digits, style)[:, 1] == 0).mean() > 0.8


def test_blank_and_bad_input() -> None:
    thickness, slant = D.measure_digits(-np.ones((2, 1, 32, 32), np.float32))
    assert thickness.tolist() == [0.0, 0.0] and slant.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="grey"):
        D.measure_digits(np.zeros((2, 3, 32, 32), np.float32))
    with pytest.raises(ValueError, match="no images of digit"):
        D.fit_style(np.zeros((3, 1, 32, 32), np.float32), np.array([0, 1, 2]))


def test_canonical_captions() -> None:
    def canonical(digit: int, thickness: str, slant: str) -> str:
        row = [digit, D.CHOICES["thickness"].index(thickness), D.CHOICES["slant"].index(slant)]
        return D.captions_for(np.array(row))[0]

    assert canonical(7, "medium", "upright") == "a handwritten seven"
    assert canonical(7, "thick", "slanted left") == "a thick seven slanted left"
    assert canonical(7, "thin", "upright") == "a thin seven"
    assert canonical(7, "medium", "slanted right") == "a seven slanted right"
    assert canonical(8, "medium", "slanted left") == "an eight slanted left"


def test_every_caption_parses_back() -> None:
    for combo in itertools.product(range(10), range(3), range(3)):
        captions = D.captions_for(np.array(combo))
        assert len(set(captions)) == len(captions) >= 4
        for caption in captions:
            assert D.parse_digit_caption(caption).tolist() == list(combo), caption


def test_parse_conventions() -> None:
    assert D.parse_digit_caption("a thick 7").tolist() == [7, 2, 1]
    assert D.parse_digit_caption("something upright").tolist() == [-1, 1, 1]
    assert D.parse_digit_caption("Thin, leaning RIGHT: nine").tolist() == [9, 0, 2]
    with pytest.raises(ValueError, match="more than one thickness"):
        D.parse_digit_caption("a thin thick two")


def test_cache_round_trip(real: CaptionedData, tmp_path) -> None:
    first = D.load_digit_captions(cache_dir=tmp_path)
    assert list((tmp_path / "datasets").glob("mnist-captions-*.npz"))
    second = D.load_digit_captions(cache_dir=tmp_path)
    for loaded in (first, second):
        assert torch.equal(loaded.x, real.x)
        assert np.array_equal(loaded.values, real.values) and loaded.captions == real.captions
    style = D.real_style(tmp_path)
    assert np.array_equal(D.read_digits_style(second.x, second.values[:, 0], style),
                          real.values[:, 1:])
