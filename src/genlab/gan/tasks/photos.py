"""Clean images for the image tasks, split by source image into training and held-out sets.

Photos ship inside installed packages (no downloads): scikit-image's sample photos,
scikit-learn's china and flower, matplotlib's grace_hopper. Training draws a fixed, seeded pool
of random crops from the training photos; evaluation uses crops of the held-out photos only, so
no photo is on both sides. MNIST uses the LeNet judge's own held-out digits; a folder of the
user's images is split by file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from genlab.gan.data import IMAGE_SUFFIXES, GanData, load_dataset

__all__ = ["PHOTOS_TEST", "PHOTOS_TRAIN", "load_photo", "read_image", "save_image", "task_data",
           "texture"]

# the stereo motorcycle pair shows one scene: both train. chelsea == skimage's `cat`: test.
PHOTOS_TRAIN = ("astronaut", "coffee", "rocket", "motorcycle_left", "motorcycle_right",
                "hubble_deep_field", "immunohistochemistry", "china", "retina")
PHOTOS_TEST = ("chelsea", "flower", "grace_hopper")
TEXTURES = ("brick", "grass", "gravel")


def _skimage(name: str) -> np.ndarray:
    import skimage.data

    if name.startswith("motorcycle_"):
        left, right, _ = skimage.data.stereo_motorcycle()
        return left if name.endswith("left") else right
    return getattr(skimage.data, name)()


def _sklearn(name: str) -> np.ndarray:
    from sklearn.datasets import load_sample_image

    return load_sample_image(f"{name}.jpg")


def _matplotlib(name: str) -> np.ndarray:
    import matplotlib.cbook
    from PIL import Image

    with matplotlib.cbook.get_sample_data(f"{name}.jpg") as f, Image.open(f) as img:
        return np.asarray(img.convert("RGB"))


_SOURCES: dict[str, Callable[[str], np.ndarray]] = {
    **{n: _skimage for n in ("astronaut", "coffee", "rocket", "motorcycle_left",
                             "motorcycle_right", "hubble_deep_field", "immunohistochemistry",
                             "retina", "chelsea", *TEXTURES)},
    "china": _sklearn, "flower": _sklearn, "grace_hopper": _matplotlib,
}


@functools.lru_cache(maxsize=32)
def load_photo(name: str) -> torch.Tensor:
    """A shipped photo by name as (3, H, W) float32 in [-1, 1] (grey textures are repeated)."""
    if name not in _SOURCES:
        raise ValueError(f"unknown photo {name!r}; known: {', '.join(_SOURCES)}")
    array = np.asarray(_SOURCES[name](name))
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    image = torch.from_numpy(array[..., :3].astype(np.float32)).permute(2, 0, 1)
    return (image / 127.5 - 1.0).contiguous()


def texture(name: str) -> torch.Tensor:
    """One of the shipped textures (brick, grass, gravel): style images that work offline."""
    if name not in TEXTURES:
        raise ValueError(f"unknown texture {name!r}; known: {', '.join(TEXTURES)}")
    return load_photo(name)


def read_image(path: Path, channels: int = 3) -> torch.Tensor:
    """An image file as (C, H, W) float32 in [-1, 1]; the error names the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.float32)
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"cannot read image {path}: {err}") from err
    array = array.reshape(*array.shape[:2], -1)
    return torch.from_numpy(array).permute(2, 0, 1) / 127.5 - 1.0


def random_crops(images: list[torch.Tensor], n: int, size: int, seed: int) -> torch.Tensor:
    """n crops of size × size, each from an image drawn in proportion to its area (so every
    region of every photo is equally likely), at a uniformly random position; half flipped."""
    usable = [im for im in images if min(im.shape[-2:]) >= size]
    if not usable:
        raise ValueError(f"no image is at least {size}×{size} pixels")
    rng = np.random.default_rng(seed)
    areas = np.array([im.shape[-2] * im.shape[-1] for im in usable], dtype=np.float64)
    picks = rng.choice(len(usable), size=n, p=areas / areas.sum())
    out = torch.empty(n, usable[0].shape[0], size, size)
    for i, k in enumerate(picks):
        im = usable[k]
        top = int(rng.integers(0, im.shape[-2] - size + 1))
        left = int(rng.integers(0, im.shape[-1] - size + 1))
        crop = im[:, top:top + size, left:left + size]
        out[i] = crop.flip(-1) if rng.random() < 0.5 else crop
    return out


def _folder_split(path: Path, channels: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """A folder's images, every fifth file (sorted by name) held out; at least one of each."""
    files = sorted(f for f in path.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 2:
        raise ValueError(f"{path}: the image tasks need at least 2 images (one to train on, one "
                         f"held out), found {len(files)}")
    test = set(files[4::5]) or {files[-1]}
    images = {f: read_image(f, channels) for f in files}
    return ([images[f] for f in files if f not in test], [images[f] for f in files if f in test])


def task_data(name: str, split: str, size: int, channels: int = 3, count: int = 0,
              seed: int = 0) -> GanData:
    """Clean images for an image task: `split` "train" (a pool of `count` random crops, default
    3,072) or "test" (`count` crops of the held-out images, default 24); MNIST gives its
    digits (test: the LeNet judge's held-out digits, with labels). `size` 0: 128 px, or the
    largest multiple of 16 that every image holds when one is smaller."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {split!r}")
    if name in ("mnist", "digits"):
        return _digit_split(name, split, size)
    if name == "photos":
        names = PHOTOS_TRAIN if split == "train" else PHOTOS_TEST
        images = [load_photo(n) for n in names]
        if channels == 1:
            images = [im.mean(0, keepdim=True) for im in images]
    elif Path(name).is_dir():
        train, test = _folder_split(Path(name), channels)
        images = train if split == "train" else test
    else:
        raise ValueError(f"unknown data {name!r} for an image task: use photos, mnist or a "
                         "folder of images")
    count = count or (3072 if split == "train" else 24)
    if size <= 0:
        size = max(16, min(128, *(min(im.shape[-2:]) for im in images)) // 16 * 16)
    crops = random_crops(images, count, size, seed + (0 if split == "train" else 7919))
    return GanData(crops.contiguous(), None, 0, name)


def _digit_split(name: str, split: str, size: int) -> GanData:
    """The digits the LeNet judge was not trained on are the test split; the rest train."""
    from genlab.gan.classifier import ClassifierConfig, stratified_split

    data = load_dataset(name, size)
    judge = ClassifierConfig()
    assert data.labels is not None
    train, test = stratified_split(data.labels.numpy(), judge.holdout, judge.seed)
    rows = torch.from_numpy(train if split == "train" else test)
    return GanData(data.x[rows].contiguous(), data.labels[rows], data.num_classes, name,
                   data.class_names)


def save_image(image: torch.Tensor, path: Path) -> Path:
    """Write a (C, H, W) image in [-1, 1] as an 8-bit PNG/JPEG, atomically."""
    from PIL import Image

    from genlab.gan.sample import _atomic_image_save

    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"an image to save must be (1 or 3, H, W), got {tuple(image.shape)}")
    array = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte()
    array = array.permute(1, 2, 0).numpy()
    pil = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    return _atomic_image_save(pil, Path(path))
