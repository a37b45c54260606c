"""Reed–Muller RM(1, m): round trips, the promised error correction, the Hadamard transform."""

from __future__ import annotations

import numpy as np
import pytest

from genlab.provenance.codes import (
    bits_to_bytes,
    bytes_to_bits,
    hadamard_transform,
    rm_decode,
    rm_encode,
)


def test_bytes_bits_round_trip() -> None:
    data = bytes(range(256))
    assert bits_to_bytes(bytes_to_bits(data)) == data
    assert bytes_to_bits(b"\x80").tolist() == [1, 0, 0, 0, 0, 0, 0, 0]


def test_hadamard_matches_the_explicit_matrix() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 8, 128, 512):  # 512 takes the butterfly path
        h = np.array([[(-1) ** bin(i & j).count("1") for j in range(n)] for i in range(n)])
        x = rng.normal(size=(3, n))
        np.testing.assert_allclose(hadamard_transform(x), x @ h, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("m", [3, 5, 7])
def test_rm_corrects_every_pattern_of_fewer_than_d_over_2_flips(m: int) -> None:
    n, flips = 1 << m, (1 << (m - 2)) - 1  # d = 2^(m-1): corrects 2^(m-2) - 1 errors
    rng = np.random.default_rng(m)
    info = rng.integers(0, 2, (300, m + 1))
    received = rm_encode(info, m).copy()
    for row in received:
        row[rng.choice(n, flips, replace=False)] ^= 1
    decoded, score = rm_decode(1.0 - 2.0 * received, m)
    np.testing.assert_array_equal(decoded, info)
    assert np.allclose(score, (n - 2 * flips) / n)


def test_rm_codewords_have_the_designed_minimum_distance() -> None:
    m = 5
    info = np.array([[int(b) for b in np.binary_repr(i, m + 1)] for i in range(1 << (m + 1))])
    words = rm_encode(info, m).astype(int)
    distances = (words[:, None, :] != words[None, :, :]).sum(-1)
    assert distances[~np.eye(len(words), dtype=bool)].min() == 1 << (m - 1)


def test_erased_chips_count_as_no_evidence() -> None:
    rng = np.random.default_rng(1)
    info = rng.integers(0, 2, (200, 8))
    soft = 1.0 - 2.0 * rm_encode(info, 7)
    soft[:, rng.permutation(128)[:100]] = 0.0  # 28 chips left still identify the byte here
    decoded, score = rm_decode(soft, 7)
    assert (decoded == info).all(axis=1).mean() > 0.95
    assert np.allclose(score[(decoded == info).all(axis=1)], 1.0)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="info"):
        rm_encode(np.zeros((2, 4)), 7)
    with pytest.raises(ValueError, match="chips"):
        rm_decode(np.zeros(100), 7)
    with pytest.raises(ValueError, match="power-of-two"):
        hadamard_transform(np.zeros(6))
    with pytest.raises(ValueError, match="multiple of 8"):
        bits_to_bytes(np.zeros(7))
