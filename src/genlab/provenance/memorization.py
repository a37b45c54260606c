"""Does a generator copy its training images? Two published tests, run on a GAN's samples.

- Carlini et al. 2023 ("Extracting Training Data from Diffusion Models", §5.1): a sample x̂ is
  memorized when ℓ2(x̂, nn₁) < α · mean_{y ∈ S} ℓ2(x̂, y), S its n = 50 nearest training images
  (nn₁ included) and α = 0.5, i.e. ℓ = ℓ2(x̂, nn₁) / (α · mean_S ℓ2(x̂, y)) < 1: it is much
  closer to one training image than to the others near it. (n = 50, α = 0.5 and the form of ℓ
  are the paper's CIFAR-10 definition; the cut-off ℓ < 1 follows a public re-implementation,
  the paper's full text was not at hand.) The memorization rate is the fraction flagged.
- Meehan, Chaudhuri & Dasgupta 2020 ("A Non-Parametric Test to Detect Data-Copying in
  Generative Models"), the three-sample test C_T: partition space into cells by k-means on the
  training set; in each cell compare, by a Mann-Whitney U test turned into a z-score Z_U, the
  distances to the nearest training image (of that cell) of the generated samples with those
  of held-out real images; C_T averages Z_U over the cells holding at least τ generated samples
  (τ = 20, so the normal approximation of U holds), weighted by the held-out share of each
  cell. C_T ≪ 0: generated samples lie closer to the training set than fresh data does
  (data-copying); ≈ 0: no difference; ≫ 0: underfitting.

Both work on any (N, D) rows; `score_run` feeds them a run's samples, its training set and a
held-out set, in pixel or LeNet-feature space (see genlab.provenance.nearest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from genlab.gan.metrics import _as_features, _same_dim
from genlab.provenance.nearest import SPACES, embed, nearest_grid, nearest_neighbours

__all__ = [
    "ALPHA",
    "MIN_GENERATED",
    "N_NEIGHBOURS",
    "SAME_IMAGE_RMS",
    "CopyingTest",
    "RunSets",
    "data_copying_test",
    "default_cells",
    "heldout_set",
    "mann_whitney_z",
    "memorization_rate",
    "memorization_scores",
    "nearest_grid_for_run",
    "run_sets",
    "score_run",
]

ALPHA = 0.5  # Carlini et al.'s α: memorized when d(nn₁) < α · mean distance to the n nearest
N_NEIGHBOURS = 50  # Carlini et al.'s n
MIN_GENERATED = 20  # Meehan et al.'s τ as a count: cells with fewer generated samples are skipped
# Two images count as the same when their RMS pixel difference (in [-1, 1]) is below this:
# 1% of the range, which absorbs PNG round trips and resampling round-off
SAME_IMAGE_RMS = 0.02


def memorization_scores(generated: ArrayLike, train: ArrayLike,
                        n_neighbours: int = N_NEIGHBOURS) -> NDArray[np.float64]:
    """Carlini et al.'s ratio ℓ2(x̂, nn₁) / mean_{y ∈ S} ℓ2(x̂, y) for each generated row.

    S is the `n_neighbours` nearest training rows (capped at the training set's size), nn₁
    included, so the ratio lies in [0, 1]; 0 is an exact copy. A sample whose n nearest are
    all at distance 0 scores 0.
    """
    return _carlini(generated, train, n_neighbours)[0]


def _carlini(generated: ArrayLike, train: ArrayLike, n_neighbours: int
             ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(Carlini et al.'s ratios, distance to the nearest training row) of each generated row:
    one neighbour search gives both."""
    g, t = _as_features("generated", generated, 1), _as_features("train", train, 2)
    _same_dim(g, t, ("generated", "train"))
    if n_neighbours < 2:
        raise ValueError(f"n_neighbours must be >= 2, got {n_neighbours}")
    found = nearest_neighbours(g, t, k=min(n_neighbours, t.shape[0])).distances
    mean = found.mean(axis=1)
    return np.divide(found[:, 0], mean, out=np.zeros_like(mean), where=mean > 0), found[:, 0]


def memorization_rate(generated: ArrayLike, train: ArrayLike, alpha: float = ALPHA,
                      n_neighbours: int = N_NEIGHBOURS) -> float:
    """Fraction of generated rows Carlini et al. call memorized: score < `alpha`."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    return float((memorization_scores(generated, train, n_neighbours) < alpha).mean())


def mann_whitney_z(generated: ArrayLike, heldout: ArrayLike) -> float:
    """Z-scored Mann-Whitney U of two 1-D samples (Meehan et al.'s Z_U).

    U counts the pairs (generated, held-out) with the generated value larger (ties ½), so
    Z_U = (U − mn/2) / √(mn(m+n+1)/12) is negative when the generated values are smaller.
    """
    from scipy.stats import rankdata

    q = np.asarray(generated, dtype=np.float64).ravel()
    p = np.asarray(heldout, dtype=np.float64).ravel()
    if q.size == 0 or p.size == 0:
        raise ValueError(f"both samples must be non-empty, got {q.size} and {p.size} values")
    if not (np.isfinite(q).all() and np.isfinite(p).all()):
        raise ValueError("samples contain NaN or infinite values")
    m, n = q.size, p.size
    ranks = rankdata(np.concatenate([q, p]))  # average ranks for ties
    u = ranks[:m].sum() - m * (m + 1) / 2.0
    return float((u - m * n / 2.0) / math.sqrt(m * n * (m + n + 1) / 12.0))


@dataclass(frozen=True)
class CopyingTest:
    """Meehan et al.'s C_T and what it is made of, cell by cell."""

    c_t: float
    z_u: NDArray[np.float64]  # (k,) Z_U of each cell; NaN where the cell is not used
    heldout_share: NDArray[np.float64]  # (k,) P_n(π): held-out rows in the cell / n
    generated_share: NDArray[np.float64]  # (k,) Q_m(π)
    used: NDArray[np.bool_]  # (k,) cells in Π_τ (enough generated rows, some held-out rows)
    nn_generated: NDArray[np.float64]  # (m,) distance of each generated row to its cell's train
    nn_heldout: NDArray[np.float64]  # (n,) the same for the held-out rows

    @property
    def cells(self) -> int:
        """Number of k-means cells."""
        return int(self.z_u.size)

    @property
    def cells_used(self) -> int:
        """Number of cells that entered C_T."""
        return int(self.used.sum())


def default_cells(n_train: int, n_heldout: int) -> int:
    """k for the k-means partition: at most 20, with ≥ 5 training and ≥ 20 held-out rows per
    cell on average (so Z_U has held-out rows to compare with in most cells)."""
    return max(1, min(20, n_train // 5, n_heldout // 20))


def data_copying_test(train: ArrayLike, heldout: ArrayLike, generated: ArrayLike,
                      cells: int | None = None, min_generated: int = MIN_GENERATED,
                      seed: int = 0) -> CopyingTest:
    """Meehan et al.'s C_T(P_n, Q_m) of generated rows Q_m against held-out rows P_n.

    Cells: k-means (k = `cells`, default `default_cells`) on the training rows T; every row
    goes to its nearest centre. In a cell π, L(x) is the distance from x to the nearest
    training row of π, and Z_U(π) compares L over Q_m ∩ π with L over P_n ∩ π. C_T is the
    P_n(π)-weighted mean of Z_U over the cells with at least `min_generated` generated rows
    and at least one held-out row. Raises ValueError when no cell qualifies.
    """
    from sklearn.cluster import KMeans

    t = _as_features("train", train, 2)
    p = _as_features("heldout", heldout, 1)
    q = _as_features("generated", generated, 1)
    _same_dim(t, p, ("train", "heldout"))
    _same_dim(t, q, ("train", "generated"))
    k = default_cells(t.shape[0], p.shape[0]) if cells is None else cells
    if not 1 <= k <= t.shape[0]:
        raise ValueError(f"cells must lie in [1, {t.shape[0]}] (the training rows), got {k}")
    if min_generated < 1:
        raise ValueError(f"min_generated must be >= 1, got {min_generated}")
    kmeans = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(t)
    t_cell, p_cell, q_cell = kmeans.labels_, kmeans.predict(p), kmeans.predict(q)
    z_u = np.full(k, np.nan)
    nn_p, nn_q = np.full(p.shape[0], np.nan), np.full(q.shape[0], np.nan)
    p_share = np.bincount(p_cell, minlength=k) / p.shape[0]
    q_count = np.bincount(q_cell, minlength=k)
    used = np.zeros(k, dtype=bool)
    for c in range(k):
        t_in, p_in, q_in = t[t_cell == c], p_cell == c, q_cell == c
        if t_in.shape[0] == 0:  # k-means leaves no centre empty, but a tie could
            continue
        if p_in.any():
            nn_p[p_in] = nearest_neighbours(p[p_in], t_in).distances[:, 0]
        if q_in.any():
            nn_q[q_in] = nearest_neighbours(q[q_in], t_in).distances[:, 0]
        if q_count[c] >= min_generated and p_in.any():
            used[c] = True
            z_u[c] = mann_whitney_z(nn_q[q_in], nn_p[p_in])
    if not used.any():
        raise ValueError(
            f"no cell holds {min_generated} generated and one held-out row (k = {k} cells, "
            f"{q.shape[0]} generated rows): draw more samples or use fewer cells")
    c_t = float((p_share[used] * z_u[used]).sum() / p_share[used].sum())
    return CopyingTest(c_t, z_u, p_share, q_count / q.shape[0], used, nn_q, nn_p)


# ---------------------------------------------------------------------------------------------
# a run's training set, held-out set and samples


@dataclass(frozen=True)
class RunSets:
    """What the tests of one run compare: its generator, training images and held-out images."""

    generator: torch.nn.Module
    config: dict[str, Any]
    train: torch.Tensor  # (N, C, H, W) in [-1, 1]
    heldout: torch.Tensor | None  # (M, C, H, W), None when not asked for
    heldout_source: str  # how the held-out set was obtained


def _match_rows(a: torch.Tensor, b: torch.Tensor) -> NDArray[np.bool_]:
    """For each image of `a`, whether `b` holds the same image (RMS difference < SAME_IMAGE_RMS)."""
    fa, fb = a.reshape(a.shape[0], -1).double().numpy(), b.reshape(b.shape[0], -1).double().numpy()
    d = nearest_neighbours(fa, fb).distances[:, 0]
    return d / math.sqrt(fa.shape[1]) < SAME_IMAGE_RMS


def heldout_set(data: str, img_size: int, img_channels: int, heldout: str = "auto",
                train: torch.Tensor | None = None) -> tuple[torch.Tensor, str]:
    """Held-out real images (N, C, H, W) for a run trained on `data`, and a description.

    heldout: "mnist-rest" = the embedded MNIST-5k digits not in the training folder `data`
    (the folder's images are matched to MNIST's 32-px digits, 28 px padded by 2, which is how
    `load_dataset("mnist")` gives them; returned at `img_size`); a folder path = its images
    (class sub-folders allowed), none of which may be in the training set (`train`, loaded
    from `data` when not given); "auto" = mnist-rest when the training folder is cut from
    MNIST-5k, else an error asking for a folder.
    """
    from genlab.gan.data import load_dataset, load_image_folder

    if heldout in ("auto", "mnist-rest"):
        ask = "pass a folder of held-out images (heldout=FOLDER, --heldout FOLDER)"
        if data == "mnist":
            raise ValueError(f"no held-out set: the run trained on all of MNIST-5k, so "
                             f"mnist-rest is empty; {ask}")
        if not Path(data).is_dir() or img_channels != 1:
            raise ValueError(f"no held-out set: the run trained on {data!r}, not on a folder "
                             f"of grey MNIST-5k digits, so mnist-rest does not apply; {ask}")
        folder, mnist = load_image_folder(Path(data), 32, 1).x, load_dataset("mnist", 32).x
        in_mnist = _match_rows(folder, mnist)
        if in_mnist.mean() < 0.9:
            raise ValueError(
                f"no held-out set: only {in_mnist.mean():.0%} of the training folder {data} "
                f"are MNIST-5k digits (32 px, as load_dataset('mnist') gives them), so "
                f"mnist-rest does not apply; {ask}")
        rest = ~_match_rows(mnist, folder)
        if not rest.any():
            raise ValueError(f"no held-out set: the training folder holds every MNIST-5k "
                             f"digit, so mnist-rest is empty; {ask}")
        images = load_dataset("mnist", img_size).x[torch.from_numpy(rest)]
        return images, f"mnist-rest ({images.shape[0]} MNIST-5k digits not trained on)"
    path = Path(heldout)
    if not path.is_dir():
        raise ValueError(f"heldout must be auto, mnist-rest or a folder of images; {heldout!r} "
                         "is none of these")
    images = load_image_folder(path, img_size, img_channels).x
    if train is None:
        train = load_dataset(data, img_size, img_channels).x
    overlap = _match_rows(images, train)
    if overlap.any():
        raise ValueError(f"held-out folder {path}: {int(overlap.sum())} of its {len(overlap)} "
                         "images are also in the training set")
    return images, f"{path} ({images.shape[0]} images)"


def run_sets(run: Path | str, heldout: str | None = "auto") -> RunSets:
    """Generator, training images and (unless heldout is None) held-out images of a GAN run."""
    from genlab.gan.checkpoint import load_generator
    from genlab.gan.data import is_point_data, is_text_data, load_dataset

    generator, config = load_generator(Path(run))
    data = str(config.get("data", ""))
    if config.get("task") or is_point_data(data) or is_text_data(data):
        raise ValueError(f"{run}: provenance needs a noise-to-image GAN run, this one trained "
                         f"on {data!r}{' for ' + config['task'] if config.get('task') else ''}")
    size, channels = int(config["img_size"]), int(config.get("img_channels") or 3)
    train = load_dataset(data, size, channels).x
    if heldout is None:
        return RunSets(generator, config, train, None, "")
    images, source = heldout_set(data, size, channels, heldout, train)
    return RunSets(generator, config, train, images, source)


def score_run(run: Path | str, n: int = 2000, heldout: str = "auto", space: str = "pixels",
              seed: int = 0, alpha: float = ALPHA, n_neighbours: int = N_NEIGHBOURS,
              cells: int | None = None, min_generated: int = MIN_GENERATED) -> dict[str, Any]:
    """Memorization rate and C_T of `n` samples of a run, in `space` (pixels or lenet).

    Returns a JSON-ready dict: memorization_rate, c_t, counts, cells, median distances to the
    nearest training image of the generated and held-out images, and the settings used.
    """
    from genlab.gan.sample import sample

    if space not in SPACES:
        raise ValueError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    sets = run_sets(run, heldout)
    assert sets.heldout is not None
    images = sample(sets.generator, n, seed=seed).clamp(-1, 1)
    g, t, p = embed(images, space), embed(sets.train, space), embed(sets.heldout, space)
    scores, nn_g = _carlini(g, t, n_neighbours)
    test = data_copying_test(t, p, g, cells=cells, min_generated=min_generated, seed=seed)
    nn_p = nearest_neighbours(p, t).distances[:, 0]
    return {
        "run": str(run), "space": space, "n_samples": n, "n_train": int(t.shape[0]),
        "n_heldout": int(p.shape[0]), "heldout": sets.heldout_source, "seed": seed,
        "memorization_rate": float((scores < alpha).mean()),
        "median_memorization_score": float(np.median(scores)),
        "alpha": alpha, "n_neighbours": n_neighbours,
        "c_t": test.c_t, "cells": test.cells, "cells_used": test.cells_used,
        "min_generated": min_generated,
        "median_nn_distance_generated": float(np.median(nn_g)),
        "median_nn_distance_heldout": float(np.median(nn_p)),
    }


def nearest_grid_for_run(run: Path | str, out: Path | str, n: int = 16, k: int = 5,
                         space: str = "pixels", seed: int = 0, scale: int = 2) -> Path:
    """Picture of `n` samples of a run, each followed by its `k` nearest training images."""
    from genlab.gan.sample import sample

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    sets = run_sets(run, heldout=None)
    images = sample(sets.generator, n, seed=seed).clamp(-1, 1)
    found = nearest_neighbours(embed(images, space), embed(sets.train, space), k=k)
    return nearest_grid(images, sets.train, found, out, scale=scale)
