"""Attribution of generated images to training images: exact nearest neighbours and a picture.

Distances are Euclidean, in one of two spaces: raw pixels (the (C, H, W) floats in [-1, 1],
flattened) or the penultimate-layer features of the LeNet that genlab's FID uses. The search
is brute force in chunks, so it is exact (a few thousand training images × a few thousand
samples is small).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from genlab.gan.metrics import _as_features, _pairwise_distances, _same_dim

if TYPE_CHECKING:
    from genlab.gan.classifier import LeNet

__all__ = [
    "SPACES",
    "Neighbours",
    "embed",
    "nearest_grid",
    "nearest_neighbours",
]

SPACES = ("pixels", "lenet")  # where distances are measured
_CHUNK = 512  # query rows compared with the whole reference set at once


@dataclass(frozen=True)
class Neighbours:
    """The k nearest reference rows of each query row, nearest first."""

    indices: NDArray[np.int64]  # (n_queries, k) rows of the reference set
    distances: NDArray[np.float64]  # (n_queries, k) Euclidean distances, ascending


def nearest_neighbours(queries: ArrayLike, reference: ArrayLike, k: int = 1) -> Neighbours:
    """Exact k nearest rows of `reference` (N, D) for each row of `queries` (n, D), by L2.

    Ties are broken by the lower reference index, so the answer is deterministic.
    """
    q = _as_features("queries", queries, 1)
    r = _as_features("reference", reference, 1)
    _same_dim(q, r, ("queries", "reference"))
    if not 1 <= k <= r.shape[0]:
        raise ValueError(f"k must lie in [1, {r.shape[0]}] (the reference set's size), got {k}")
    indices = np.empty((q.shape[0], k), dtype=np.int64)
    distances = np.empty((q.shape[0], k))
    for start in range(0, q.shape[0], _CHUNK):
        d = _pairwise_distances(q[start:start + _CHUNK], r)
        # argmin and the stable sort keep the lower index first among equal distances
        order = (d.argmin(axis=1)[:, None] if k == 1
                 else np.argsort(d, axis=1, kind="stable")[:, :k])
        indices[start:start + _CHUNK] = order
        distances[start:start + _CHUNK] = np.take_along_axis(d, order, axis=1)
    return Neighbours(indices, distances)


def _lenet_for(img_size: int, img_channels: int, data: str | None) -> LeNet:
    """The cached LeNet whose features FID uses: MNIST's for grey images unless `data` says."""
    from genlab.gan.classifier import ClassifierConfig, load_or_train_classifier

    name = data or ("mnist" if img_channels == 1 else None)
    if name is None:
        raise ValueError("LeNet features of colour images need the labelled data set the "
                         "LeNet is trained on (lenet_data)")
    trained = load_or_train_classifier(ClassifierConfig(data=name, img_size=img_size),
                                       progress=False)
    if trained.model.img_channels != img_channels:
        raise ValueError(f"the LeNet of {name!r} reads {trained.model.img_channels}-channel "
                         f"images, these have {img_channels}")
    return trained.model


@torch.no_grad()
def embed(images: torch.Tensor, space: str = "pixels", lenet_data: str | None = None,
          batch_size: int = 500) -> NDArray[np.float64]:
    """(N, C, H, W) images in [-1, 1] as (N, D) float64 rows of the distance space `space`.

    pixels: the flattened image (D = C·H·W); lenet: LeNet features (D = 128) of the cached
    LeNet trained on `lenet_data` (default mnist for grey images, the one FID uses).
    """
    if space not in SPACES:
        raise ValueError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError("images must be a (N, C, H, W) tensor, got "
                         f"{getattr(images, 'shape', type(images))}")
    if space == "pixels":
        return images.detach().reshape(images.shape[0], -1).double().numpy()
    model = _lenet_for(images.shape[-1], images.shape[1], lenet_data).eval()
    out = [model.features(images[s:s + batch_size].float())
           for s in range(0, images.shape[0], batch_size)]
    return torch.cat(out).double().numpy() if out else np.empty((0, model.feature_dim))


def nearest_grid(generated: torch.Tensor, train: torch.Tensor, neighbours: Neighbours,
                 path: Path | str, scale: int = 2) -> Path:
    """PNG with one row per generated image: the image, then its k nearest training images.

    A grey bar separates the generated column from the neighbours (nearest first).
    """
    from PIL import Image

    from genlab.gan.sample import _atomic_image_save, make_grid

    if generated.ndim != 4 or train.ndim != 4 or generated.shape[1:] != train.shape[1:]:
        raise ValueError(f"generated {tuple(generated.shape)} and train {tuple(train.shape)} "
                         "must be image batches of the same (C, H, W)")
    n, k = neighbours.indices.shape
    if n != generated.shape[0]:
        raise ValueError(f"neighbours has {n} rows, generated has {generated.shape[0]} images")
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    rows = [torch.cat([generated[i:i + 1], train[torch.from_numpy(neighbours.indices[i])]])
            for i in range(n)]
    grid = make_grid(torch.cat(rows), nrow=k + 1)
    width = generated.shape[-1] + 2  # one tile and its padding
    bar = np.full((grid.shape[0], 4, 3), 160, dtype=np.uint8)
    picture = np.concatenate([grid[:, :width + 1], bar, grid[:, width + 1:]], axis=1)
    image = Image.fromarray(picture)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale),
                             Image.Resampling.NEAREST)
    return _atomic_image_save(image, Path(path))
