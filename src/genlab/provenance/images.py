"""Reading and writing the images provenance works on: PNG/JPEG files, folders, and the .npy
arrays `genlab gan sample` writes ((n, C, H, W) floats in [-1, 1]).

Everything comes back as uint8 pixels, (H, W) for grey and (H, W, 3) for colour, because a
watermark or a detector sees what a file holds after quantisation, not the generator's floats.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

__all__ = [
    "IMAGE_SUFFIXES",
    "from_unit",
    "read_image",
    "read_images",
    "to_unit",
    "write_image",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def from_unit(images: np.ndarray) -> np.ndarray:
    """Floats in [-1, 1], (n, C, H, W) with C = 1 or 3, to uint8 (n, H, W) or (n, H, W, 3)."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must be (n, 1 or 3, H, W) in [-1, 1], got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    pixels = np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return pixels[:, 0] if x.shape[1] == 1 else pixels.transpose(0, 2, 3, 1)


def to_unit(pixels: np.ndarray) -> np.ndarray:
    """uint8 (n, H, W) or (n, H, W, 3) to float32 (n, C, H, W) in [-1, 1] (the GANs' range)."""
    x = np.asarray(pixels)
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] == 3:
        x = x.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"pixels must be (n, H, W) or (n, H, W, 3), got shape {x.shape}")
    return (x.astype(np.float32) / 127.5 - 1.0).copy()


def read_image(path: Path | str) -> np.ndarray:
    """One image file as uint8 (H, W) if it is grey, else (H, W, 3); alpha is dropped."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"image {path} does not exist")
    try:
        with Image.open(path) as img:
            img.load()
            grey = img.mode in ("1", "L", "LA", "I", "I;16", "F")
            return np.asarray(img.convert("L" if grey else "RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"cannot read image {path}: {err}") from err


def _read_npy(path: Path) -> list[np.ndarray]:
    """A `gan sample` array: (n, C, H, W) or (C, H, W) floats in [-1, 1]; never unpickled."""
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ValueError(f"cannot read {path} as a numpy array: {err}") from err
    if x.ndim == 3:
        x = x[None]
    try:
        return list(from_unit(x))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def read_images(path: Path | str) -> tuple[list[np.ndarray], list[str]]:
    """Images and their names from a folder (recursively, sorted), one image file or an .npy.

    Returns uint8 arrays as `read_image` does; an .npy's images are named `file.npy[i]`.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(f for f in path.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {path}")
        return [read_image(f) for f in files], [str(f.relative_to(path)) for f in files]
    if path.suffix.lower() == ".npy":
        images = _read_npy(path)
        return images, [f"{path.name}[{i}]" for i in range(len(images))]
    return [read_image(path)], [path.name]


def write_image(path: Path | str, pixels: np.ndarray) -> None:
    """Write uint8 (H, W) or (H, W, 3) pixels to a lossless file (PNG by its suffix), atomically."""
    from PIL import Image

    from genlab._atomic import atomic_write_bytes

    x = np.asarray(pixels)
    if x.dtype != np.uint8 or x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[-1] != 3):
        raise ValueError(f"pixels must be uint8 (H, W) or (H, W, 3), got {x.dtype} {x.shape}")
    path = Path(path)
    buffer = io.BytesIO()
    Image.fromarray(x).save(buffer, format=Image.registered_extensions().get(
        path.suffix.lower(), "PNG"))
    atomic_write_bytes(path, buffer.getvalue())
