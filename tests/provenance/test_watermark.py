"""The keyed watermark: round trips, wrong keys, calibrated p-values, fidelity, saturation."""

from __future__ import annotations

import functools
import io

import numpy as np
import pytest
from PIL import Image
from scipy.stats import binom, kstest

from genlab.provenance.watermark import (
    HEADER_BITS,
    detect,
    embed,
    message_text,
    payload_bits,
    payload_bytes,
    psnr,
)


@functools.lru_cache(maxsize=1)
def _photos() -> tuple[np.ndarray, ...]:
    import skimage.data as data

    return (data.astronaut(), data.coffee(), data.chelsea(), data.camera(), data.rocket())


def photo_crop(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random size×size crop of an embedded photo (colour or grey)."""
    photos = _photos()
    photo = photos[rng.integers(len(photos))]
    y = rng.integers(0, photo.shape[0] - size + 1)
    x = rng.integers(0, photo.shape[1] - size + 1)
    return np.ascontiguousarray(photo[y:y + size, x:x + size])


def mnist_digits(n: int) -> np.ndarray:
    from genlab.gan.data import _mnist_raw

    return _mnist_raw()[0][:n, 0].astype(np.uint8)  # (n, 28, 28), black background


def bit_accuracy(bits: str, message: str) -> float:
    return float((np.array([int(b) for b in bits]) == payload_bits(message)).mean())


def jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


@pytest.mark.parametrize("size", [64, 128, 256])
def test_round_trip_for_many_keys_and_messages(size: int) -> None:
    rng = np.random.default_rng(size)
    for i in range(6):
        key, message = f"key-{size}-{i}", ["gl14", "ab", "0badf00d", "é!", "", "zz9"][i]
        image = photo_crop(rng, size)
        marked = embed(image, key, message)
        assert marked.shape == image.shape and marked.dtype == np.uint8
        assert psnr(image, marked) >= 38.5
        found = detect(marked, key)
        assert found.detected and found.p_value < 1e-6
        assert found.bits == "".join(map(str, payload_bits(message)))
        assert found.message == message_text(payload_bytes(message))


def test_messages_map_to_32_bits() -> None:
    assert payload_bytes("gl14") == b"gl14"
    assert payload_bytes("0badf00d") == bytes.fromhex("0badf00d")
    assert payload_bytes(7) == b"\0\0\0\x07"
    assert message_text(b"ab\0\0") == "ab" and message_text(b"\x0b\xad\xf0\x0d") == "0badf00d"
    with pytest.raises(ValueError, match="at most 4 bytes"):
        payload_bytes("hello")
    with pytest.raises(ValueError, match="2\\^32"):
        payload_bytes(1 << 32)


def test_wrong_key_is_not_detected() -> None:
    rng = np.random.default_rng(1)
    for i in range(8):
        marked = embed(photo_crop(rng, 96), "right key", "gl14")
        assert detect(marked, "right key").detected
        assert not detect(marked, f"wrong key {i}").detected


def test_survives_jpeg75_on_photos() -> None:
    rng = np.random.default_rng(2)
    for _ in range(4):
        marked = embed(photo_crop(rng, 256), "k", "jpeg")
        found = detect(jpeg(marked, 75), "k")
        assert found.detected and bit_accuracy(found.bits, "jpeg") == 1.0


def test_clean_images_give_uniform_p_values() -> None:
    """Under "no watermark" the header bits are fair coins: p-values uniform, matches binomial."""
    rng = np.random.default_rng(3)
    found = [detect(photo_crop(rng, 64), f"clean-{i}") for i in range(60)]
    p_values = np.array([f.p_value for f in found])
    matches = np.array([f.header_matches for f in found])
    # the binomial p-value is discrete: randomise within its atom for an exact uniform law
    u = rng.random(len(found))
    randomised = binom.sf(matches, HEADER_BITS, 0.5) + u * binom.pmf(matches, HEADER_BITS, 0.5)
    assert kstest(randomised, "uniform").pvalue > 1e-3
    assert abs(matches.mean() - HEADER_BITS / 2) < 4 * np.sqrt(HEADER_BITS / 4 / len(found))
    assert (p_values >= 1e-6).all()


def test_false_positive_rate_on_many_small_images() -> None:
    """Thousands of clean digits and keys: at 1e-6 nothing is detected; at a loose threshold
    the rate stays at or under it (small images pay a Bonferroni factor: conservative)."""
    digits = mnist_digits(2000)
    found = [detect(d, f"fp-{i}", fpr=0.05) for i, d in enumerate(digits)]
    rate = np.mean([f.detected for f in found])
    assert rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / len(found))
    assert not any(f.p_value < 1e-6 for f in found)


@pytest.mark.slow
def test_false_positive_rate_matches_its_threshold_on_photos() -> None:
    rng = np.random.default_rng(4)
    found = [detect(photo_crop(rng, 64), f"fp-{i}", fpr=0.01) for i in range(2000)]
    rate = np.mean([f.detected for f in found])
    assert abs(rate - 0.01) < 4 * np.sqrt(0.01 * 0.99 / len(found))
    assert not any(f.p_value < 1e-6 for f in found)


def test_mnist_digit_keeps_its_black_background_and_key() -> None:
    """Saturated pixels: 0-valued background cannot go darker; the key is still found."""
    digits = mnist_digits(40)
    hits = wrong = 0
    for digit in digits:
        marked = embed(digit, "mnist", "d")
        assert psnr(digit, marked) >= 38.5
        assert marked[digit == 0].mean() < 3.0  # the background stays (nearly) black
        hits += detect(marked, "mnist").detected
        wrong += detect(marked, "another key").detected
    assert hits >= 36 and wrong == 0


def test_too_small_and_malformed_inputs_raise() -> None:
    with pytest.raises(ValueError, match="too small"):
        embed(np.zeros((16, 40), np.uint8), "k", "m")
    with pytest.raises(ValueError, match="uint8"):
        embed(np.zeros((64, 64)), "k", "m")
    with pytest.raises(ValueError, match="shape"):
        detect(np.zeros((64, 64, 4), np.uint8), "k")
    with pytest.raises(ValueError, match="key"):
        embed(np.zeros((64, 64), np.uint8), "", "m")


def test_flat_image_is_marked_and_found() -> None:
    flat = np.full((64, 64, 3), 200, np.uint8)
    marked = embed(flat, "k", "flat")
    assert psnr(flat, marked) >= 38.5
    assert detect(marked, "k").message == "flat"


def test_watermarked_digits_still_read_as_their_digit() -> None:
    """The LeNet judge (a weak one-epoch LeNet here, trained in seconds) reads a marked digit
    as it reads the original."""
    import torch

    from genlab.gan.classifier import ClassifierConfig, classify, load_or_train_classifier
    from genlab.gan.data import _mnist_raw
    from genlab.provenance.images import to_unit

    judge = load_or_train_classifier(ClassifierConfig(data="mnist", epochs=1), progress=False)
    raw, labels = _mnist_raw()
    pick = np.random.default_rng(6).choice(len(raw), 60, replace=False)
    digits = raw[pick, 0].astype(np.uint8)
    marked = np.stack([embed(d, "judge", "7") for d in digits])

    def read(pixels: np.ndarray) -> np.ndarray:
        padded = np.pad(pixels, ((0, 0), (2, 2), (2, 2)))  # 28 px -> LeNet's 32, as the data
        return classify(judge.model, torch.from_numpy(to_unit(padded)))[1].argmax(1)

    before, after = read(digits), read(marked)
    assert (after == before).mean() >= 0.95
    assert (after == labels[pick]).mean() >= (before == labels[pick]).mean() - 0.05
