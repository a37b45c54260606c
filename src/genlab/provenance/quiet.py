"""The quiet-subspace reader of a watermarked generator: read the mark where the source
generator's own samples hardly vary, so that writing it costs the generator the least.

A fixed reader must overcome each sample's content on every statistic it reads: the energy
a fine-tuned generator spends on the mark, and the quality it loses, grows with the content's
variance along the reader's directions. The Fourier sign readout (`watermark.sign_plan`) reads
the upper half of the spectrum, where digit strokes are loud; bit accuracy 0.94 cost FID ×1.6
there, against 1.000 at FID ×1.05 here (benchmarks/marked_generator.py). This reader uses:

- **The quietest directions.** The eigenvectors of smallest eigenvalue of C + C_jpeg, where C
  is the covariance of the source generator's samples (grey levels) and C_jpeg that of JPEG's
  error on them, with a faint noise added as a stand-in for a marked sample: a mark must
  survive JPEG 75, so directions JPEG destroys count as loud. `eigh` of a symmetric matrix;
  nothing is inverted.
- **Centred statistics.** Coefficients are read around the samples' mean image, so the
  generator needs to push each statistic by the margin only, not against whatever the mean
  image projects on it (measured: without centring, one of the 32 bits never flipped).
- **The key.** Payload bit j is the sign of a key-signed sum of `per` basis coefficients (a
  `SignPlan`, as the Fourier readout): for any image that does not depend on the key, the 32
  read bits are independent fair coins, so k agreeing bits have the exact p-value
  P(Binomial(32, ½) ≥ k), and a wrong key reads noise.

The basis belongs to the marked generator (its run folder's `watermark_reader.safetensors`,
numpy safetensors, no pickle); the key and the message are not stored in it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genlab.provenance.watermark import PAYLOAD_BITS, SignPlan, _seed

__all__ = ["DEFAULT_DIMS", "MAX_PIXELS", "QUIET_FILE", "QuietBasis", "fit_quiet_basis",
           "load_quiet"]

QUIET_FILE = "watermark_reader.safetensors"  # in a marked generator's run folder
# basis size: 8 coefficients a bit. Measured on a MNIST DCGAN with an ideal additive mark
# (host-informed, no fine-tuning): FID ×1.02 on the 256 quietest, ×1.4 on the 768 quietest
DEFAULT_DIMS = 256
MAX_PIXELS = 64 * 64  # the covariance is pixels × pixels: 64×64 is 4096² (eigh in seconds)
FIT_NOISE = 3.0  # grey levels of noise on the samples whose JPEG error is measured
_FORMAT = "genlab-quiet-reader"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class QuietBasis:
    """Where a marked generator writes: `dims` orthonormal directions of its H×W luma and the
    mean image they are read around (grey levels 0..255)."""

    mean: np.ndarray  # (H·W,) float64
    basis: np.ndarray  # (dims, H·W) float64, orthonormal rows
    height: int
    width: int

    @property
    def dims(self) -> int:
        return int(self.basis.shape[0])

    def coefficients(self, luma: np.ndarray) -> np.ndarray:
        """(..., dims) coefficients of (..., H, W) luma in grey levels, around the mean."""
        luma = np.asarray(luma, dtype=np.float64)
        if luma.shape[-2:] != (self.height, self.width):
            raise ValueError(f"this reader was fitted on {self.width}×{self.height} images, "
                             f"got {luma.shape[-1]}×{luma.shape[-2]}")
        flat = luma.reshape(*luma.shape[:-2], self.height * self.width)
        return (flat - self.mean) @ self.basis.T

    def plan(self, key: str) -> SignPlan:
        """Which coefficients (and signs) each of the 32 payload bits sums, for `key`."""
        if not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty string")
        return _quiet_plan(key, self.dims)

    def save(self, path: Path | str) -> Path:
        """Write atomically as numpy safetensors with JSON metadata (no pickle)."""
        from safetensors.numpy import save

        from genlab._atomic import atomic_write_bytes

        meta = {"format": _FORMAT, "format_version": _FORMAT_VERSION,
                "size": [self.height, self.width]}
        data = save({"mean": self.mean, "basis": self.basis},
                    metadata={"genlab": json.dumps(meta)})
        return atomic_write_bytes(path, data)


@functools.lru_cache(maxsize=64)
def _quiet_plan(key: str, dims: int) -> SignPlan:
    """A key's layout on a `dims`-direction basis, drawn once (`detect` reads a folder image
    by image), as `watermark.sign_plan` is for the Fourier readout."""
    rng = _seed(key + "/quiet", dims)
    per = dims // PAYLOAD_BITS
    coords = rng.permutation(dims)[:PAYLOAD_BITS * per].reshape(PAYLOAD_BITS, per)
    return SignPlan(0, coords, rng.choice([-1.0, 1.0], size=coords.shape))


def load_quiet(path: Path | str) -> QuietBasis:
    """The reader of a marked generator: its run folder or the reader file itself."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if path.is_dir():
        path = path / QUIET_FILE
    if not path.exists():
        raise ValueError(f"{path} does not exist: give a run folder made by `genlab provenance "
                         "mark` (reader quiet) or its watermark_reader.safetensors")
    try:
        with safe_open(str(path), framework="np") as handle:
            meta: dict[str, Any] = json.loads((handle.metadata() or {})["genlab"])
            mean, basis = handle.get_tensor("mean"), handle.get_tensor("basis")
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError, ValueError) as err:
        raise ValueError(f"{path} is not a genlab watermark reader: {err}") from err
    if meta.get("format") != _FORMAT:
        raise ValueError(f"{path} is a {meta.get('format')!r} file, not a watermark reader")
    height, width = (int(s) for s in meta["size"])
    pixels = height * width
    if mean.shape != (pixels,) or basis.ndim != 2 or basis.shape[1] != pixels \
            or basis.shape[0] < PAYLOAD_BITS or not np.isfinite(basis).all():
        raise ValueError(f"{path}: mean {mean.shape} and basis {basis.shape} do not fit "
                         f"{width}×{height} images with at least {PAYLOAD_BITS} directions")
    return QuietBasis(mean.astype(np.float64), basis.astype(np.float64), height, width)


def fit_quiet_basis(luma: np.ndarray, dims: int = DEFAULT_DIMS,
                    jpeg_quality: int | None = 75, seed: int = 0) -> QuietBasis:
    """The `dims` quietest directions of (N, H, W) sample luma (grey levels 0..255).

    With `jpeg_quality`, JPEG's error covariance (on up to 1,000 samples plus N(0, 3²) noise)
    is added before the eigen-decomposition; None leaves the samples' covariance alone.
    """
    x = np.asarray(luma, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"luma must be (N, H, W), got shape {x.shape}")
    n, height, width = x.shape
    pixels = height * width
    if pixels > MAX_PIXELS:
        raise ValueError(f"{width}×{height} images have {pixels} pixels; the quiet reader "
                         f"handles up to {MAX_PIXELS} (64×64): use the fourier reader")
    if n < 2 * pixels:
        raise ValueError(f"need at least {2 * pixels} samples for a {pixels}-pixel covariance, "
                         f"got {n}")
    if not PAYLOAD_BITS <= dims <= pixels:
        raise ValueError(f"dims must be in [{PAYLOAD_BITS}, {pixels}], got {dims}")
    if not np.isfinite(x).all():
        raise ValueError("samples contain NaN or infinite values")
    flat = x.reshape(n, pixels)
    mean = flat.mean(0)
    covariance = np.cov(flat, rowvar=False)
    if jpeg_quality is not None:
        covariance += _jpeg_error_covariance(x[:1000], jpeg_quality, seed)
    _, vectors = np.linalg.eigh(covariance)  # ascending eigenvalues
    return QuietBasis(mean, np.ascontiguousarray(vectors[:, :dims].T), height, width)


def _jpeg_error_covariance(luma: np.ndarray, quality: int, seed: int) -> np.ndarray:
    """Covariance of JPEG's error on the samples with faint noise added (a flat black
    background compresses exactly, a marked one does not)."""
    from genlab.provenance.attacks import jpeg

    rng = np.random.default_rng(seed)
    noisy = np.clip(luma + rng.normal(0.0, FIT_NOISE, luma.shape), 0, 255)
    pixels = np.round(noisy).astype(np.uint8)
    error = np.stack([jpeg(p, quality).astype(np.float64) for p in pixels]) - noisy
    return np.cov(error.reshape(len(luma), -1), rowvar=False)
