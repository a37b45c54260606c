"""The watermark's error-correcting code: first-order Reed–Muller codes RM(1, m), soft-decoded.

RM(1, m) sends m + 1 bits in 2^m chips with minimum distance 2^(m-1): RM(1, 7) carries a byte
in 128 chips and corrects any 31 flipped chips (hard decisions), more with soft values. Its
maximum-likelihood soft decoder is one fast Hadamard transform (the codewords are the rows of
a Hadamard matrix and their negatives), which also scores how much a chip vector looks like a
codeword at all — the watermark uses that score to find a cropped image's alignment.
Chips that were lost (punctured) enter the decoder as 0: no evidence either way.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "bits_to_bytes",
    "bytes_to_bits",
    "hadamard_transform",
    "rm_decode",
    "rm_encode",
]


def bytes_to_bits(data: bytes) -> np.ndarray:
    """Bits of `data`, most significant first, as uint8 0/1."""
    return np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))


def bits_to_bytes(bits: np.ndarray) -> bytes:
    """Inverse of `bytes_to_bits` (the bit count must be a multiple of 8)."""
    b = np.asarray(bits, dtype=np.uint8)
    if b.ndim != 1 or b.size % 8 or ((b != 0) & (b != 1)).any():
        raise ValueError(f"bits must be a 1-D 0/1 array whose length is a multiple of 8, got {b}")
    return np.packbits(b).tobytes()


def _parity_table(m: int) -> np.ndarray:
    """(2^m, 2^m) 0/1 table of a·x mod 2 — the linear part of every RM(1, m) codeword."""
    n = 1 << m
    a = np.arange(n)[:, None] & np.arange(n)[None, :]
    parity = np.zeros((n, n), dtype=np.uint8)
    for bit in range(m):
        parity ^= ((a >> bit) & 1).astype(np.uint8)
    return parity


def rm_encode(info: np.ndarray, m: int) -> np.ndarray:
    """RM(1, m) codewords of (..., m + 1) info bits [a0, a1..am] -> (..., 2^m) 0/1 chips.

    Chip x is a0 ⊕ (a·x), where a = Σ a_i 2^(i-1) is the linear part's index.
    """
    bits = np.asarray(info, dtype=np.int64)
    if bits.shape[-1] != m + 1 or ((bits != 0) & (bits != 1)).any():
        raise ValueError(f"info must end in an axis of {m + 1} 0/1 bits, got shape {bits.shape}")
    index = (bits[..., 1:] << np.arange(m)).sum(axis=-1)
    return (_parity_table(m)[index] ^ bits[..., :1]).astype(np.uint8)


@functools.lru_cache(maxsize=8)
def _hadamard_matrix(n: int) -> np.ndarray:
    """The ±1 Sylvester–Hadamard matrix of order n (symmetric)."""
    h = np.ones((1, 1), dtype=np.float32)
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


def hadamard_transform(x: np.ndarray) -> np.ndarray:
    """Unnormalised Walsh–Hadamard transform over the last axis (length a power of two).

    One matrix product (BLAS) for up to 256 chips, the O(n log n) butterflies beyond.
    """
    y = np.asarray(x, dtype=np.float32)
    n = y.shape[-1]
    if n & (n - 1):
        raise ValueError(f"the last axis must have a power-of-two length, got {n}")
    if n <= 256:
        return y @ _hadamard_matrix(n)
    lead = y.shape[:-1]
    h = 1
    while h < n:
        y = y.reshape(*lead, n // (2 * h), 2, h)
        a, b = y[..., 0, :], y[..., 1, :]
        y = np.stack((a + b, a - b), axis=-2)
        h *= 2
    return y.reshape(*lead, n)


def rm_decode(soft: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood soft decoding of RM(1, m).

    `soft` (..., 2^m): positive values favour chip 0, negative chip 1, 0 = erased.
    Returns the info bits (..., m + 1) and the score (...,): the best codeword's correlation
    with the chips divided by Σ|soft| (1 = every chip agrees, near 0 for noise).
    """
    s = np.asarray(soft)
    if s.shape[-1] != 1 << m:
        raise ValueError(f"soft values must end in an axis of {1 << m} chips, got {s.shape}")
    spectrum = hadamard_transform(s)
    index = np.abs(spectrum).argmax(axis=-1)
    best = np.take_along_axis(spectrum, index[..., None], axis=-1)[..., 0]
    linear = (index[..., None] >> np.arange(m)) & 1
    info = np.concatenate([(best < 0)[..., None].astype(np.int64), linear], axis=-1)
    total = np.abs(s).sum(axis=-1)
    score = np.abs(best) / np.where(total > 0, total, 1.0)
    return info.astype(np.uint8), score
