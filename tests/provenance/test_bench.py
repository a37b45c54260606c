"""The attack table's numbers on a stand-in watermark whose every answer is known in advance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.stats import binom

from genlab.provenance import bench as B

PAYLOAD = np.array([1, 0, 1, 1, 0, 0, 1, 0] * 4)  # 16 ones


@dataclass
class _Read:
    bits: str
    detected: bool | None


def _lsb_embed(img: np.ndarray, key: str, message: object) -> np.ndarray:
    """Write PAYLOAD into the least significant bit of the first 32 values."""
    out = img.copy()
    flat = out.reshape(-1)
    flat[:32] = (flat[:32] & 0xFE) | PAYLOAD
    return out


def _lsb_decode(img: np.ndarray, key: str) -> _Read:
    if min(img.shape[:2]) < 8:
        raise ValueError("too small")
    bits = img.reshape(-1)[:32] & 1
    return _Read("".join(map(str, bits)), detected=bool(key == "k" and (bits == PAYLOAD).all()))


def _flip(n: int) -> Callable[[np.ndarray], np.ndarray]:
    """An attack flipping the LSB of the first n payload values."""
    def attack(img: np.ndarray) -> np.ndarray:
        out = img.copy()
        out.reshape(-1)[:n] ^= 1
        return out
    return attack


def _images(n: int = 3) -> list[np.ndarray]:
    return [np.full((16, 16), 100, np.uint8) for _ in range(n)]


def test_known_message_threshold() -> None:
    assert B.known_message_threshold(32, 1e-6) == 30
    assert binom.sf(30 - 1, 32, 0.5) <= 1e-6 < binom.sf(29 - 1, 32, 0.5)
    assert B.known_message_threshold(8, 0.01) == 8  # 1/256 <= 0.01 < 9/256
    assert B.known_message_threshold(8, 0.05) == 7
    with pytest.raises(ValueError):
        B.known_message_threshold(32, 0.0)


def test_table_numbers_on_a_known_stand_in() -> None:
    attacks = {"none": lambda x: x.copy(), "flip2": _flip(2), "flip3": _flip(3),
               "shrink": lambda x: x[:4, :4].copy()}
    rows = B.attack_table(_images(), "k", "gl14", attacks=attacks, embed=_lsb_embed,
                          decode=_lsb_decode, expected=PAYLOAD, unmarked=True)
    by = {r["attack"]: r for r in rows}
    assert [r["attack"] for r in rows] == ["unmarked", "none", "flip2", "flip3", "shrink"]
    # 100 is even: marking adds 1 to the 16 one-bits of 256 values
    expected_psnr = 10 * np.log10(255 ** 2 / (16 / 256))
    for name in ("none", "flip2", "flip3", "shrink"):
        assert by[name]["psnr_db"] == pytest.approx(expected_psnr)
        assert by[name]["images"] == 3
    assert by["none"]["bit_accuracy"] == 1.0
    assert by["none"]["tpr_keyed"] == 1.0 and by["none"]["tpr_known_message"] == 1.0
    assert by["flip2"]["bit_accuracy"] == pytest.approx(30 / 32)
    assert by["flip2"]["tpr_known_message"] == 1.0  # 30 right: at the threshold
    assert by["flip2"]["tpr_keyed"] == 0.0  # the stand-in's detector wants all 32
    assert by["flip3"]["bit_accuracy"] == pytest.approx(29 / 32)
    assert by["flip3"]["tpr_known_message"] == 0.0
    # the decoder refuses 4×4 images: a miss, counted as refused
    assert by["shrink"]["refused"] == 3 and by["shrink"]["bit_accuracy"] is None
    assert by["shrink"]["tpr_known_message"] == 0.0 and by["shrink"]["tpr_keyed"] == 0.0
    assert by["shrink"]["attack_psnr_db"] is None  # the size changed
    # unmarked images read all-zero LSBs: right where the payload is 0, never detected
    assert by["unmarked"]["bit_accuracy"] == pytest.approx(16 / 32)
    assert by["unmarked"]["tpr_keyed"] == 0.0 and by["unmarked"]["tpr_known_message"] == 0.0
    assert by["unmarked"]["psnr_db"] is None
    assert by["none"]["attack_psnr_db"] == float("inf")
    assert by["flip2"]["attack_psnr_db"] == pytest.approx(10 * np.log10(255 ** 2 / (2 / 256)))


def test_accuracy_is_a_mean_over_images() -> None:
    images = _images(2)
    flips = iter([0, 4])  # image 1 intact, image 2 with 4 flipped bits

    def attack(img: np.ndarray) -> np.ndarray:
        return _flip(next(flips))(img)

    (row,) = B.attack_table(images, "k", "m", attacks={"mixed": attack}, embed=_lsb_embed,
                            decode=_lsb_decode, expected=PAYLOAD)
    assert row["bit_accuracy"] == pytest.approx((1 + 28 / 32) / 2)
    assert row["tpr_known_message"] == 0.5 and row["tpr_keyed"] == 0.5


def test_bits_only_decoder_has_no_keyed_column() -> None:
    def bits_only(img: np.ndarray, key: str) -> object:
        return type("R", (), {"bits": img.reshape(-1)[:32] & 1})()

    rows = B.attack_table(_images(1), "k", "m", attacks=["none", "jpeg90"], embed=_lsb_embed,
                          decode=bits_only, expected=PAYLOAD)
    assert [r["tpr_keyed"] for r in rows] == [None, None]
    assert rows[0]["bit_accuracy"] == 1.0


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown attacks"):
        B.attack_table(_images(1), "k", "m", attacks=["jpeg1"], embed=_lsb_embed,
                       decode=_lsb_decode, expected=PAYLOAD)
    with pytest.raises(ValueError, match="empty"):
        B.attack_table([], "k", "m", embed=_lsb_embed, decode=_lsb_decode, expected=PAYLOAD)
    with pytest.raises(ValueError, match="bits"):
        B.attack_table(_images(1), "k", "m", attacks=["none"], embed=_lsb_embed,
                       decode=lambda img, key: _Read("01", None), expected=PAYLOAD)
    with pytest.raises(ValueError, match="embed returned"):
        B.attack_table(_images(1), "k", "m", attacks=["none"],
                       embed=lambda img, key, m: img[:4], decode=_lsb_decode, expected=PAYLOAD)


def test_format_table() -> None:
    rows = B.attack_table(_images(1), "k", "m",
                          attacks={"none": lambda x: x.copy(), "shrink": lambda x: x[:4, :4]},
                          embed=_lsb_embed, decode=_lsb_decode, expected=PAYLOAD)
    text = B.format_table(rows)
    lines = text.splitlines()
    assert lines[0].startswith("| attack | bit accuracy |")
    assert lines[2].startswith("| none | 1.000 | 1.00 | 1.00 |")
    assert "| shrink | fails (refuses) |" in lines[3]
    assert all(line.count("|") == 9 for line in lines)


def test_bench_images_are_deterministic_crops() -> None:
    a = B.bench_images(sizes=(64, 300), per_size=3, seed=5)
    b = B.bench_images(sizes=(64, 300), per_size=3, seed=5)
    c = B.bench_images(sizes=(64,), per_size=3, seed=6, mnist=False)
    assert list(a) == ["64", "300", "mnist"] and list(c) == ["64"]
    for name, size in (("64", 64), ("300", 300), ("mnist", 28)):
        assert len(a[name]) == 3
        for x, y in zip(a[name], b[name], strict=True):
            assert x.dtype == np.uint8 and x.shape[:2] == (size, size)
            assert np.array_equal(x, y)
    assert not all(np.array_equal(x, y) for x, y in zip(a["64"], c["64"], strict=True))
    # crops are pieces of real photographs: textured, not flat
    assert all(x.astype(float).std() > 2 for x in a["64"])
    digits = a["mnist"]
    assert all(d.ndim == 2 and d.min() == 0 and d.max() > 200 for d in digits)
    assert all((d[:2] == 0).all() for d in digits), "real 28 px MNIST: a blank top margin"


def test_bench_images_colour_filter() -> None:
    colour = B.bench_images(sizes=(128,), per_size=4, colour=True, mnist=False)["128"]
    grey = B.bench_images(sizes=(128,), per_size=4, colour=False, mnist=False)["128"]
    assert all(x.ndim == 3 and x.shape[-1] == 3 for x in colour)
    assert all(x.ndim == 2 for x in grey)
    with pytest.raises(ValueError, match="no shipped photograph"):
        B.bench_images(sizes=(5000,), per_size=1)
    with pytest.raises(ValueError, match="per_size"):
        B.bench_images(per_size=0)


def test_default_scheme_is_genlab_watermark() -> None:
    images = B.bench_images(sizes=(64,), per_size=1, mnist=False)["64"]
    rows = B.attack_table(images, "bench-key", "gl14", attacks=["none"], unmarked=False)
    assert rows[0]["bit_accuracy"] == 1.0 and rows[0]["tpr_keyed"] == 1.0
    assert rows[0]["tpr_known_message"] == 1.0
    assert 30 < rows[0]["psnr_db"] < 60
