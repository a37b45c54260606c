"""The captioned-image container shared by the text-to-image datasets, its cache and scoring.

A `CaptionedData` holds images, the attribute values each caption states (as indices into a
fixed tuple of choices per attribute), the captions themselves (canonical first) and which
images belong to combinations held out of training. `cached` stores one on disk under
``cache_root()/datasets`` (npz without pickle + JSON, written atomically) so it is built once.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab._atomic import atomic_write_bytes
from genlab.gan.classifier import cache_root

__all__ = [
    "DATA_VERSION",
    "DIGIT_ATTRIBUTES",
    "SHAPE_ATTRIBUTES",
    "CaptionedData",
    "attribute_accuracy",
    "cached",
    "from_uint8",
]

DATA_VERSION = 1  # bump when a dataset's images, values or captions change: old entries then miss
SHAPE_ATTRIBUTES = ("size", "colour", "shape", "position")
DIGIT_ATTRIBUTES = ("digit", "thickness", "slant")
_DEFAULT_NAMES = {4: SHAPE_ATTRIBUTES, 3: DIGIT_ATTRIBUTES, 2: DIGIT_ATTRIBUTES[1:]}


@dataclass(frozen=True)
class CaptionedData:
    """Captioned images with the attribute values each caption states."""

    name: str
    x: torch.Tensor
    attributes: tuple[str, ...]
    choices: dict[str, tuple[str, ...]]
    values: np.ndarray
    captions: tuple[tuple[str, ...], ...]
    held_out: np.ndarray

    def __post_init__(self) -> None:
        """Check that every field agrees on the number of images and attributes."""
        n = self.x.shape[0] if self.x.ndim == 4 else -1
        if n < 0:
            raise ValueError(f"{self.name}: x must be (N, C, H, W), got {tuple(self.x.shape)}")
        if set(self.choices) != set(self.attributes):
            raise ValueError(f"{self.name}: choices {sorted(self.choices)} do not match "
                             f"attributes {list(self.attributes)}")
        if self.values.shape != (n, len(self.attributes)) or self.values.dtype != np.int64:
            raise ValueError(f"{self.name}: values must be int64 ({n}, {len(self.attributes)}), "
                             f"got {self.values.dtype} {self.values.shape}")
        sizes = np.array([len(self.choices[a]) for a in self.attributes])
        if n and ((self.values < 0).any() or (self.values >= sizes).any()):
            raise ValueError(f"{self.name}: a value index lies outside its attribute's choices")
        if len(self.captions) != n or any(not c for c in self.captions):
            raise ValueError(f"{self.name}: need a non-empty caption tuple for each of {n} images")
        if self.held_out.shape != (n,) or self.held_out.dtype != np.bool_:
            raise ValueError(f"{self.name}: held_out must be bool ({n},), "
                             f"got {self.held_out.dtype} {self.held_out.shape}")

    def __len__(self) -> int:
        """The number of images."""
        return int(self.x.shape[0])

    def subset(self, rows: np.ndarray) -> CaptionedData:
        """The images picked by `rows` (a bool mask of length N or integer indices)."""
        rows = np.asarray(rows)
        if rows.dtype == np.bool_:
            if rows.shape != (len(self),):
                raise ValueError(f"a bool mask must have shape ({len(self)},), got {rows.shape}")
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64).reshape(-1)
        return CaptionedData(
            self.name, self.x[torch.from_numpy(rows)], self.attributes, self.choices,
            self.values[rows], tuple(self.captions[i] for i in rows), self.held_out[rows])

    def canonical(self, i: int) -> str:
        """The canonical caption of image `i` (the first of its captions)."""
        return self.captions[i][0]


def from_uint8(images: np.ndarray) -> torch.Tensor:
    """uint8 images (0..255) as float32 in [-1, 1]: the one conversion every dataset here uses."""
    return torch.from_numpy(np.ascontiguousarray(images)).float() / 127.5 - 1.0


def _to_uint8(x: torch.Tensor) -> np.ndarray | None:
    """x as uint8 when `from_uint8` gives back exactly x, else None (then floats are stored)."""
    u8 = ((x.detach().cpu().double() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    return u8 if torch.equal(from_uint8(u8), x.detach().cpu().float()) else None


def attribute_accuracy(
    read: np.ndarray, truth: np.ndarray, attributes: Sequence[str] | None = None
) -> dict[str, float]:
    """Per-attribute accuracy of `read` against `truth` plus "all" (every attribute right).

    Both are (N, A) attribute indices; a read of -1 (undecided) counts as wrong. `attributes`
    names the columns; by default 4 columns are the shapes' attributes, 3 the digits' and 2 the
    digits' (thickness, slant) style read-back.
    """
    read, truth = np.asarray(read), np.asarray(truth)
    if read.shape != truth.shape or read.ndim != 2:
        raise ValueError(f"read and truth must be equal (N, A) arrays, got {read.shape} "
                         f"and {truth.shape}")
    names = tuple(attributes) if attributes is not None else _DEFAULT_NAMES.get(read.shape[1])
    if names is None or len(names) != read.shape[1]:
        raise ValueError(f"need {read.shape[1]} attribute names, got {names}")
    if read.shape[0] == 0:
        raise ValueError("cannot score an empty read-back")
    right = (read == truth) & (read >= 0)
    scores = {name: float(right[:, j].mean()) for j, name in enumerate(names)}
    scores["all"] = float(right.all(axis=1).mean())
    return scores


def _key_hash(name: str, key: dict[str, Any]) -> str:
    """16 hex digits of SHA-256 over the name, DATA_VERSION and the build settings."""
    blob = json.dumps({"name": name, "data_version": DATA_VERSION, **key}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _encode(data: CaptionedData, full_key: str) -> tuple[bytes, bytes]:
    """The npz (arrays) and JSON (names, choices, distinct caption tuples) bytes of `data`."""
    u8 = _to_uint8(data.x)
    distinct: dict[tuple[str, ...], int] = {}
    index = np.array([distinct.setdefault(c, len(distinct)) for c in data.captions], np.int64)
    x = u8 if u8 is not None else data.x.detach().cpu().float().numpy()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=x, values=data.values, held_out=data.held_out,
                        caption_index=index)
    meta = {"key": full_key, "data_version": DATA_VERSION, "name": data.name,
            "x_encoding": "uint8" if u8 is not None else "float32",
            "attributes": list(data.attributes),
            "choices": {a: list(v) for a, v in data.choices.items()},
            "caption_sets": [list(c) for c in distinct]}
    return buffer.getvalue(), json.dumps(meta).encode()


def _decode(npz: Path, meta_path: Path, full_key: str) -> CaptionedData | None:
    """The cached data, None when absent or stale; raises on an unreadable entry."""
    if not (npz.is_file() and meta_path.is_file()):
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("key") != full_key:
        return None
    with np.load(npz, allow_pickle=False) as arrays:
        x, values = arrays["x"], arrays["values"]
        held_out, index = arrays["held_out"], arrays["caption_index"]
    encoding = meta["x_encoding"]
    if encoding not in ("uint8", "float32") or x.dtype != np.dtype(encoding):
        raise ValueError(f"x stored as {x.dtype}, metadata says {encoding}")
    sets = [tuple(c) for c in meta["caption_sets"]]
    return CaptionedData(
        meta["name"], from_uint8(x) if encoding == "uint8" else torch.from_numpy(x),
        tuple(meta["attributes"]), {a: tuple(v) for a, v in meta["choices"].items()},
        values, tuple(sets[i] for i in index), held_out)


def cached(
    name: str,
    key: dict[str, Any],
    build: Callable[[], CaptionedData],
    cache_dir: Path | None = None,
) -> CaptionedData:
    """`build()`'s data, stored on first use under <cache>/datasets/{name}-{hash}.npz + .json.

    The hash covers `name`, DATA_VERSION and `key` (the build settings, JSON-serialisable).
    Images that are exact uint8 levels are stored as uint8, others as float32, so a cached
    load is bit-identical to a fresh build. An unreadable entry is rebuilt with a warning.
    """
    full_key = _key_hash(name, key)
    stem = Path(cache_dir or cache_root()) / "datasets" / f"{name}-{full_key}"
    npz, meta = stem.with_suffix(".npz"), stem.with_suffix(".json")
    try:
        if (data := _decode(npz, meta, full_key)) is not None:
            return data
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as err:
        warnings.warn(f"{npz}: unreadable cached dataset ({err}); building it again",
                      stacklevel=2)
    data = build()
    arrays, info = _encode(data, full_key)
    atomic_write_bytes(npz, arrays)
    atomic_write_bytes(meta, info)  # last: marks the entry complete
    return data
