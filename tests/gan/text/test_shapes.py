"""The shapes world: rendering, captions, the rule-based read-back and the dataset cache."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genlab.gan.text import shapes as S
from genlab.gan.text.captioned import CaptionedData, attribute_accuracy


@pytest.fixture(scope="module")
def small() -> CaptionedData:
    """8 images of each of the 240 combinations (1,920 images)."""
    return S.make_shapes(per_combination=8, seed=0)


def _values(size: str, colour: str, shape: str, position: str) -> np.ndarray:
    words = {"size": size, "colour": colour, "shape": shape, "position": position}
    return np.array([S.CHOICES[a].index(words[a]) for a in S.ATTRIBUTES], np.int64)


def test_counts_and_layout(small: CaptionedData) -> None:
    assert small.x.shape == (240 * 8, 3, 64, 64) and small.x.dtype == torch.float32
    assert float(small.x.min()) == -1.0 and float(small.x.max()) <= 1.0
    combos, counts = np.unique(small.values, axis=0, return_counts=True)
    assert len(combos) == 6 * 4 * 2 * 5 and (counts == 8).all()
    assert small.attributes == ("size", "colour", "shape", "position")
    assert all(len(c) >= 5 and c[0] == small.canonical(i) for i, c in enumerate(small.captions))


def test_deterministic_from_seed() -> None:
    a, b, c = (S.make_shapes(per_combination=1, seed=s) for s in (3, 3, 4))
    assert torch.equal(a.x, b.x) and np.array_equal(a.values, b.values)
    assert a.captions == b.captions
    assert not torch.equal(a.x, c.x)  # another seed jitters differently


def test_held_out_marks_exactly_the_pairs(small: CaptionedData) -> None:
    colour = np.array(S.CHOICES["colour"])[small.values[:, 1]]
    shape = np.array(S.CHOICES["shape"])[small.values[:, 2]]
    pairs = set(zip(colour[small.held_out], shape[small.held_out], strict=True))
    assert pairs == set(S.HELD_OUT_PAIRS)
    assert small.held_out.sum() == 4 * 2 * 5 * 8
    train = small.subset(~small.held_out)
    for attribute in ("colour", "shape"):  # every value still appears in training
        j = S.ATTRIBUTES.index(attribute)
        assert set(train.values[:, j]) == set(range(len(S.CHOICES[attribute])))


def test_canonical_captions() -> None:
    assert S.captions_for(_values("small", "red", "circle", "top left"))[0] == (
        "a small red circle at the top left")
    assert S.captions_for(_values("large", "cyan", "cross", "center"))[0] == (
        "a large cyan cross at the center")
    assert S.captions_for(_values("small", "magenta", "triangle", "bottom right"))[0] == (
        "a small magenta triangle at the bottom right")
    with pytest.raises(ValueError, match="values must be"):
        S.captions_for(np.array([0, 1, 2]))


def test_every_caption_parses_back() -> None:
    for combo in itertools.product(*(range(len(S.CHOICES[a])) for a in S.ATTRIBUTES)):
        for caption in S.captions_for(np.array(combo)):
            assert S.caption_values(caption).tolist() == list(combo), caption


def test_parse_partial_and_contradictory() -> None:
    assert S.parse_caption("A big Green square in the middle") == {
        "size": "large", "colour": "green", "shape": "square", "position": "center"}
    assert S.caption_values("something blue").tolist() == [-1, 2, -1, -1]
    assert S.caption_values("a circle at the top").tolist() == [-1, -1, 0, -1]
    with pytest.raises(ValueError, match="more than one colour"):
        S.parse_caption("a red and blue circle")


def test_pixels_by_hand() -> None:
    image = S.render_shapes(_values("large", "red", "square", "center"),
                            np.random.default_rng(0))[0]
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert tuple(image[32, 32]) == (220, 40, 40)
    assert tuple(image[0, 0]) == (0, 0, 0) and tuple(image[63, 63]) == (0, 0, 0)
    tri = S.render_shapes(_values("large", "green", "triangle", "center"),
                          np.random.default_rng(0))[0].max(axis=2)
    rows = (tri > 100).sum(axis=1)
    lit = np.flatnonzero(rows)
    assert rows[lit[-1] - 1] > 4 * rows[lit[0] + 1]  # apex at the top, base at the bottom
    edges = (tri > 0) & (tri < 200)
    assert edges.any()  # antialiased: partly covered pixels at the edge


def test_read_back_real_data_exactly(small: CaptionedData) -> None:
    read = S.read_shapes(small.x)
    scores = attribute_accuracy(read, small.values)
    assert scores == {"size": 1.0, "colour": 1.0, "shape": 1.0, "position": 1.0, "all": 1.0}
    assert np.array_equal(S.read_shapes(small.x[:50].numpy()), read[:50])  # numpy input too


def test_read_back_survives_blur_and_noise(small: CaptionedData) -> None:
    rows = slice(None, None, 4)
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    kernel = (kernel[:, None] * kernel[None])[None, None].repeat(3, 1, 1, 1)
    blurred = F.conv2d(F.pad(small.x[rows], (2, 2, 2, 2), value=-1.0), kernel, groups=3)
    noisy = (blurred + 0.1 * torch.randn(blurred.shape, generator=torch.Generator().manual_seed(0))
             ).clamp(-1, 1)
    scores = attribute_accuracy(S.read_shapes(noisy), small.values[rows])
    assert scores["all"] >= 0.98, scores


def test_noise_and_blank_read_as_nothing(small: CaptionedData) -> None:
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, (400, 3, 64, 64)).astype(np.float32)
    blank = -np.ones((50, 3, 64, 64), np.float32)
    for images, truth in ((noise, small.values[:400]), (blank, small.values[:50])):
        scores = attribute_accuracy(S.read_shapes(images), truth)
        assert scores["all"] < 0.05, scores
    assert (S.read_shapes(blank) == -1).all()


def test_read_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="RGB"):
        S.read_shapes(np.zeros((2, 1, 64, 64), np.float32))
    assert S.read_shapes(np.zeros((0, 3, 64, 64), np.float32)).shape == (0, 4)


def test_subset(small: CaptionedData) -> None:
    part = small.subset(np.array([5, 0, 7]))
    assert torch.equal(part.x, small.x[[5, 0, 7]])
    assert part.captions == (small.captions[5], small.captions[0], small.captions[7])
    with pytest.raises(ValueError, match="bool mask"):
        small.subset(np.ones(3, bool))


def test_attribute_accuracy_counts_undecided_as_wrong() -> None:
    truth = np.array([[0, 1, 2, 3], [1, 1, 1, 1]])
    read = np.array([[0, 1, 2, 3], [-1, 1, 0, 1]])
    assert attribute_accuracy(read, truth) == {
        "size": 0.5, "colour": 1.0, "shape": 0.5, "position": 1.0, "all": 0.5}
    with pytest.raises(ValueError, match="equal"):
        attribute_accuracy(read, truth[:1])


def test_cache_round_trip_and_corrupt_entry(tmp_path) -> None:
    fresh = S.make_shapes(per_combination=1, seed=5)
    first = S.load_shapes(per_combination=1, seed=5, cache_dir=tmp_path)
    (npz,) = (tmp_path / "datasets").glob("shapes-*.npz")
    again = S.load_shapes(per_combination=1, seed=5, cache_dir=tmp_path)
    for loaded in (first, again):
        assert torch.equal(loaded.x, fresh.x) and loaded.x.dtype == fresh.x.dtype
        assert np.array_equal(loaded.values, fresh.values)
        assert np.array_equal(loaded.held_out, fresh.held_out)
        assert loaded.captions == fresh.captions and loaded.choices == fresh.choices
        assert loaded.attributes == fresh.attributes and loaded.name == fresh.name
    other = S.load_shapes(per_combination=1, seed=6, cache_dir=tmp_path)
    assert not torch.equal(other.x, fresh.x)  # another key, another entry
    npz.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable cached dataset"):
        rebuilt = S.load_shapes(per_combination=1, seed=5, cache_dir=tmp_path)
    assert torch.equal(rebuilt.x, fresh.x)
    with warnings.catch_warnings():  # the rebuilt entry was written back and now reads cleanly
        warnings.simplefilter("error")
        assert torch.equal(S.load_shapes(per_combination=1, seed=5, cache_dir=tmp_path).x,
                           fresh.x)
