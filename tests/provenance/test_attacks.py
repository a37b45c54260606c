"""The attacks do what they say: sizes, dtypes, closed forms and PIL/scipy semantics."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from genlab.provenance import attacks as A


def _smooth(h: int = 64, w: int = 64, colour: bool = True) -> np.ndarray:
    """A smooth image (low frequencies only) in 40..215, so no attack clips it."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = 127.5 + 60 * np.sin(2 * np.pi * x) * np.cos(np.pi * y) + 25 * (x - y)
    if not colour:
        return np.rint(base).astype(np.uint8)
    return np.rint(np.stack([base, base[::-1], base[:, ::-1]], axis=-1)).astype(np.uint8)


def _textured(h: int = 64, w: int = 64, colour: bool = True, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3) if colour else (h, w)).astype(np.uint8)


@pytest.mark.parametrize("name", list(A.ATTACKS))
@pytest.mark.parametrize("colour", [False, True])
def test_every_attack_keeps_dtype_and_size(name: str, colour: bool) -> None:
    img = _textured(40, 52, colour)
    out = A.ATTACKS[name](img)
    assert out.dtype == np.uint8
    assert out.ndim == img.ndim
    if name.startswith("crop"):
        frac = 0.10 if name.startswith("crop10") else 0.25
        assert out.shape[:2] == (40 - 2 * round(40 * frac / 2), 52 - 2 * round(52 * frac / 2))
    else:
        assert out.shape == img.shape
    assert np.array_equal(img, _textured(40, 52, colour)), "attacks must not edit their input"


def test_registry_names() -> None:
    assert set(A.ATTACKS) == {
        "none", "jpeg90", "jpeg75", "jpeg50", "resize0.5", "resize2", "crop10", "crop25",
        "noise5", "noise10", "blur1", "brightness+20", "brightness-20", "contrast+20",
        "contrast-20", "rotate2", "jpeg75+resize0.5", "crop10+jpeg75", "noise5+jpeg75"}
    img = _textured()
    assert np.array_equal(A.ATTACKS["none"](img), img)


def test_psnr_closed_form() -> None:
    a = np.full((8, 8), 100, np.uint8)
    b = a.copy()
    assert A.psnr(a, b) == float("inf")
    b[0, 0] = 110  # MSE = 100 / 64
    assert A.psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / (100 / 64)))
    with pytest.raises(ValueError, match="one shape"):
        A.psnr(a, np.zeros((8, 9), np.uint8))


@pytest.mark.parametrize("colour", [False, True])
def test_jpeg_quality_is_monotone_in_psnr(colour: bool) -> None:
    from skimage import data

    img = data.astronaut()[100:228, 150:278] if colour else data.camera()[100:228, 150:278]
    scores = [A.psnr(A.jpeg(img, q), img) for q in (30, 50, 75, 90, 98)]
    assert all(a < b for a, b in itertools.pairwise(scores)), scores
    assert scores[-1] > 38


def test_resize_factor_2_is_nearly_lossless_on_smooth_images() -> None:
    img = _smooth(96, 80)
    assert A.psnr(A.resize_and_back(img, 2.0), img) > 45
    # halving loses more than doubling, even on a smooth image
    assert A.psnr(A.resize_and_back(img, 0.5), img) < A.psnr(A.resize_and_back(img, 2.0), img)
    # on noise, halving destroys most of the detail (antialiased: the result is much smoother)
    noisy = _textured(64, 64)
    assert A.psnr(A.resize_and_back(noisy, 0.5), noisy) < 15


def test_crop_keeps_the_centre_pixels_exactly() -> None:
    img = _textured(256, 200)
    out = A.crop_border(img, 0.10)
    assert out.shape == (230, 180, 3)  # 13 rows and 10 columns cut from each side
    assert np.array_equal(out, img[13:243, 10:190])
    assert np.array_equal(A.crop_border(img, 0.0), img)
    assert A.crop_border(img, 0.25).shape == (192, 150, 3)


def test_noise_std_matches_sigma() -> None:
    img = np.full((200, 200), 128, np.uint8)
    for sigma in (5.0, 10.0):
        diff = A.gaussian_noise(img, sigma, seed=3).astype(np.float64) - 128
        assert diff.std() == pytest.approx(sigma, rel=0.03)
        assert abs(diff.mean()) < 0.2
    assert np.array_equal(A.gaussian_noise(img, 5, seed=1), A.gaussian_noise(img, 5, seed=1))
    assert not np.array_equal(A.gaussian_noise(img, 5, seed=1), A.gaussian_noise(img, 5, seed=2))
    assert np.array_equal(A.gaussian_noise(img, 0.0), img)


def test_blur_smooths_and_keeps_the_mean() -> None:
    img = _textured(64, 64)
    out = A.blur(img, 1.0)
    assert out.astype(float).std() < 0.5 * img.astype(float).std()
    assert abs(out.astype(float).mean() - img.astype(float).mean()) < 1.0
    flat = np.full((16, 16, 3), 77, np.uint8)
    assert np.array_equal(A.blur(flat, 2.0), flat)


def test_brightness_scales_values() -> None:
    img = _smooth(colour=True)  # in 40..215: 1.2× may clip the top few values only
    for factor in (0.8, 1.2):
        out = A.brightness(img, factor).astype(np.float64)
        expect = np.clip(img * factor, 0, 255)
        assert np.abs(out - expect).max() <= 1.0
        assert out.mean() == pytest.approx(expect.mean(), abs=0.5)
    assert np.array_equal(A.brightness(img, 1.0), img)


def test_contrast_is_pil_semantics() -> None:
    img = _smooth(colour=False)
    mean = int(img.mean() + 0.5)
    for factor in (0.8, 1.2):
        out = A.contrast(img, factor).astype(np.float64)
        expect = np.clip(mean + factor * (img.astype(np.float64) - mean), 0, 255)
        assert np.abs(out - expect).max() <= 1.0
        # the spread scales by the factor
        assert out.std() == pytest.approx(factor * img.std(), rel=0.02)


def test_rotate_zero_is_identity_and_fills_corners() -> None:
    img = _textured(31, 47)
    assert np.array_equal(A.rotate(img, 0.0), img)
    assert np.array_equal(A.rotate(img, 360.0), img)
    bright = np.full((64, 64, 3), 200, np.uint8)
    out = A.rotate(bright, 10.0)
    assert out.shape == bright.shape
    assert out.min() == 200, "corners are filled from the image, not black"
    # a 180° rotation of a grey image flips both axes
    grey = _textured(20, 30, colour=False)
    assert np.array_equal(A.rotate(grey, 180.0), grey[::-1, ::-1])


def test_rotate_turns_counter_clockwise() -> None:
    img = np.zeros((41, 41), np.uint8)
    img[20, 30:40] = 255  # a bar to the right of the centre
    out = A.rotate(img, 90.0)
    assert out[1:11, 20].min() > 200  # now above the centre


def test_chain_applies_left_to_right() -> None:
    img = _textured(64, 64)
    both = A.chain(lambda x: A.crop_border(x, 0.5), lambda x: A.jpeg(x, 75))
    assert np.array_equal(both(img), A.jpeg(A.crop_border(img, 0.5), 75))
    assert np.array_equal(A.ATTACKS["crop10+jpeg75"](img), A.jpeg(A.crop_border(img, 0.1), 75))
    with pytest.raises(ValueError):
        A.chain()


@pytest.mark.parametrize("call", [
    lambda x: A.jpeg(x, 0),
    lambda x: A.jpeg(x, 101),
    lambda x: A.jpeg(x, 75.5),
    lambda x: A.resize_and_back(x, 0),
    lambda x: A.resize_and_back(x, -1),
    lambda x: A.resize_and_back(x, 0.001),
    lambda x: A.crop_border(x, 1.0),
    lambda x: A.crop_border(x, -0.1),
    lambda x: A.gaussian_noise(x, -1, 0),
    lambda x: A.blur(x, 0),
    lambda x: A.brightness(x, -0.5),
    lambda x: A.contrast(x, float("nan")),
    lambda x: A.rotate(x, float("inf")),
    lambda x: A.jpeg(x.astype(np.float32), 75),
    lambda x: A.blur(x[..., :2], 1.0),
    lambda x: A.psnr(x, x.astype(np.int16)),
])
def test_bad_arguments_raise(call: Callable[[np.ndarray], object]) -> None:
    with pytest.raises(ValueError):
        call(_textured(32, 32))
