"""A LeNet-style digit classifier trained by genlab itself: the feature extractor of FID/KID.

No Inception weights can be downloaded here, so sample quality on the embedded digit sets is
measured with a small LeNet trained on the same labelled images the GAN trains on (a
stratified part is held out to report its accuracy). The trained net and the real data's
features are cached per dataset, image size and training settings under
``$GENLAB_CACHE_DIR`` (default ``~/.cache/genlab``) as safetensors + JSON, written atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rich.progress import Progress
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from genlab._atomic import atomic_write_bytes
from genlab.gan.augment import translate
from genlab.gan.data import GanData, load_dataset

__all__ = [
    "ARCH_VERSION",
    "CONFIDENCE",
    "ClassifierConfig",
    "LeNet",
    "TrainedClassifier",
    "cache_root",
    "classify",
    "load_or_train_classifier",
    "stratified_split",
    "train_classifier",
]

CONFIDENCE = 0.9  # a prediction with top probability at least this counts as confident
ARCH_VERSION = 2  # bump when LeNet or the training recipe changes: old cache entries then miss


class LeNet(nn.Module):
    """Two 5×5 conv + max-pool stages and two linear layers; `features` is the penultimate layer."""

    def __init__(
        self, img_channels: int = 1, num_classes: int = 10, feature_dim: int = 128
    ) -> None:
        super().__init__()
        self.img_channels = img_channels
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        self.conv = nn.Sequential(
            nn.Conv2d(img_channels, 16, 5), nn.ReLU(), nn.MaxPool2d(2),  # (B, 16, 14, 14) at 32 px
            nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 5, 5)
            nn.AdaptiveAvgPool2d(5),  # other image sizes land on 5×5 too
        )
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(32 * 5 * 5, feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images in [-1, 1] -> (B, feature_dim) non-negative features."""
        return self.fc(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images in [-1, 1] -> (B, num_classes) logits."""
        return self.head(self.features(x))


@dataclass(frozen=True)
class ClassifierConfig:
    """What the cached classifier depends on (all of it goes into the cache key)."""

    data: str = "mnist"
    img_size: int = 32
    # 60 epochs: of 6/15/20/30/60 (seed 0) it scored best on every held-out measure of real
    # digits: accuracy 98.1% -> 99.0%, NLL 0.079 -> 0.046, ECE 0.011 -> 0.007, and the share
    # of real digits rated p >= 0.9 93.9% -> 98.3% (6 epochs left the judge under-confident).
    epochs: int = 60
    batch_size: int = 64
    lr: float = 2e-3
    holdout: float = 0.2  # stratified fraction held out to measure accuracy
    max_shift: float = 2.0  # random translation (pixels) used as augmentation
    seed: int = 0


@dataclass
class TrainedClassifier:
    """A trained LeNet (eval mode) with its held-out accuracy and the real data's features."""

    model: LeNet
    config: ClassifierConfig
    test_accuracy: float
    real_features: np.ndarray  # (N, D) float32 features of every real image
    real_mean: np.ndarray  # (D,) float64
    real_cov: np.ndarray  # (D, D) float64
    path: Path
    info: dict[str, Any]


def cache_root() -> Path:
    """The user cache folder: $GENLAB_CACHE_DIR, else ~/.cache/genlab."""
    return Path(os.environ.get("GENLAB_CACHE_DIR") or Path.home() / ".cache" / "genlab")


def stratified_split(
    labels: np.ndarray, holdout: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) indices with round(holdout · n_c) test rows from every class c."""
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must lie in (0, 1), got {holdout}")
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        test.append(rng.permutation(rows)[: round(holdout * len(rows))])
    test_idx = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(labels)), test_idx), test_idx


@torch.no_grad()
def classify(
    model: LeNet, images: torch.Tensor, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, D) float32 and class probabilities (N, K) float64 of images in [-1, 1]."""
    if images.ndim != 4 or images.shape[1] != model.img_channels:
        raise ValueError(
            f"expected images (N, {model.img_channels}, H, W), got {tuple(images.shape)}"
        )
    model.eval()
    feats, probs = [], []
    for start in range(0, images.shape[0], batch_size):
        f = model.features(images[start:start + batch_size].float())
        feats.append(f)
        probs.append(torch.softmax(model.head(f).double(), dim=1))
    return torch.cat(feats).numpy(), torch.cat(probs).numpy()


def train_classifier(
    data: GanData, config: ClassifierConfig, progress: bool = True
) -> tuple[LeNet, dict[str, float]]:
    """Train LeNet on the non-held-out rows of `data`; returns it (eval mode) and its held-out
    accuracy and share of real images classified with p >= CONFIDENCE (the reference point of
    the samples' confident fraction)."""
    if data.is_points or data.labels is None or data.num_classes < 2:
        raise ValueError(f"dataset {data.name!r} has no image labels: a classifier needs labelled "
                         "images with at least two classes")
    labels = data.labels.numpy()
    train_idx, test_idx = stratified_split(labels, config.holdout, config.seed)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = LeNet(data.x.shape[1], data.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps_per_epoch = -(-len(train_idx) // config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.epochs
                                                * steps_per_epoch)
    x_train, y_train = data.x[train_idx], data.labels[train_idx]
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"training LeNet on {data.name}", total=config.epochs * steps_per_epoch)
        model.train()
        for _epoch in range(config.epochs):
            order = torch.randperm(len(train_idx), generator=gen)
            for start in range(0, len(order), config.batch_size):
                batch = order[start:start + config.batch_size]
                loss = F.cross_entropy(model(translate(x_train[batch], config.max_shift, gen)),
                                       y_train[batch])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                bar.advance(task)
    model.eval()
    _, probs = classify(model, data.x[test_idx])
    return model, {"test_accuracy": float((probs.argmax(1) == labels[test_idx]).mean()),
                   "test_confident": float((probs.max(1) >= CONFIDENCE).mean())}


def _fingerprint(data: GanData) -> str:
    """SHA-256 of the images and labels, so a changed dataset never reuses a stale classifier."""
    h = hashlib.sha256(data.x.numpy().tobytes())
    if data.labels is not None:
        h.update(data.labels.numpy().tobytes())
    return h.hexdigest()


def _cache_key(config: ClassifierConfig, fingerprint: str) -> str:
    text = json.dumps({"arch": ARCH_VERSION, "config": dataclasses.asdict(config),
                       "data": fingerprint}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cache_paths(root: Path, config: ClassifierConfig, key: str) -> tuple[Path, Path]:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(config.data).name or "data")
    stem = root / "classifiers" / f"lenet-{slug}-{config.img_size}px-{key}"
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def _load_cached(weights: Path, meta: Path, config: ClassifierConfig, key: str
                 ) -> TrainedClassifier | None:
    """The cached entry, or None when it is missing, stale or unreadable."""
    if not (weights.is_file() and meta.is_file()):
        return None
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        if info.get("key") != key:
            return None
        tensors = load_file(weights)
        model = LeNet(info["img_channels"], info["num_classes"], info["feature_dim"])
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as err:
        warnings.warn(f"{weights}: unreadable cached classifier ({err}); training it again",
                      stacklevel=3)
        return None
    return TrainedClassifier(
        model.eval(), config, float(info["test_accuracy"]), tensors["real_features"].numpy(),
        tensors["real_mean"].numpy(), tensors["real_cov"].numpy(), weights, info)


def load_or_train_classifier(
    config: ClassifierConfig | None = None,
    cache_dir: Path | None = None,
    retrain: bool = False,
    progress: bool = True,
) -> TrainedClassifier:
    """The cached LeNet for `config` (trained and cached on first use, or when `retrain`).

    The cache key covers the architecture version, every field of `config` and a hash of the
    dataset, so a changed recipe or dataset trains a new classifier instead of reusing one.
    """
    config = config or ClassifierConfig()
    data = load_dataset(config.data, img_size=config.img_size)
    fingerprint = _fingerprint(data)
    key = _cache_key(config, fingerprint)
    weights, meta = _cache_paths(Path(cache_dir) if cache_dir else cache_root(), config, key)
    if not retrain and (cached := _load_cached(weights, meta, config, key)) is not None:
        return cached
    model, held_out = train_classifier(data, config, progress=progress)
    features, _ = classify(model, data.x)
    feats64 = features.astype(np.float64)
    mean, cov = feats64.mean(0), np.cov(feats64, rowvar=False)
    tensors = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    tensors.update(real_features=torch.from_numpy(features), real_mean=torch.from_numpy(mean),
                   real_cov=torch.from_numpy(cov))
    info = {"key": key, "arch_version": ARCH_VERSION, "config": dataclasses.asdict(config),
            "data_sha256": fingerprint, "img_channels": int(data.x.shape[1]),
            "num_classes": data.num_classes, "feature_dim": model.feature_dim,
            "num_real": int(data.x.shape[0]), **held_out,
            "note": "trained on the same images the GAN trains on, minus a stratified hold-out"}
    atomic_write_bytes(weights, save(tensors))
    atomic_write_bytes(meta, json.dumps(info, indent=2).encode())  # last: marks the entry complete
    return TrainedClassifier(model, config, held_out["test_accuracy"], features, mean, cov,
                             weights, info)
