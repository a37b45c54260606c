"""Evaluate a generator offline: LeNet-feature metrics for digit images, mode statistics for 2-D.

Image data (mnist, digits, labelled folders): FID and KID on the cached LeNet's features,
precision/recall and density/coverage on the same features, the predicted-class histogram
and the fraction of confidently classified samples. 2-D mixtures (ring8, grid25): the
VEEGAN / PacGAN protocol on 2,500 samples.

Example:
    >>> metrics = evaluate_generator(generator, "ring8")  # doctest: +SKIP
    >>> print(format_table(metrics))  # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genlab.gan.classifier import (
    CONFIDENCE,
    ClassifierConfig,
    classify,
    load_or_train_classifier,
)
from genlab.gan.data import is_point_data, mixture_modes, mixture_std
from genlab.gan.metrics import (
    FEATURE_METRICS,
    coverage_of_modes,
    frechet_distance,
    gaussian_stats,
)
from genlab.gan.sample import sample

__all__ = [
    "CONFIDENCE",
    "IMAGE_SAMPLES",
    "POINT_SAMPLES",
    "evaluate_generator",
    "evaluate_images",
    "evaluate_points",
    "format_table",
]

IMAGE_SAMPLES = 5000  # as many as the real MNIST-5k set, so FID compares like with like
POINT_SAMPLES = 2500  # the VEEGAN / PacGAN protocol's sample count


def _finite(samples: torch.Tensor) -> torch.Tensor:
    """`samples`, or a ValueError when the generator produced NaN or infinite values."""
    bad = int((~torch.isfinite(samples)).any(dim=tuple(range(1, samples.ndim))).sum())
    if bad:
        raise ValueError(f"the generator produced NaN or infinite values in {bad} of "
                         f"{samples.shape[0]} samples")
    return samples


def evaluate_points(generator: nn.Module, data_name: str, n: int = POINT_SAMPLES,
                    seed: int = 0) -> dict[str, float]:
    """Mode statistics (modes captured, high-quality fraction, reverse KL) of n 2-D samples."""
    points = _finite(sample(generator, n, seed=seed))
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{data_name} needs a generator of (B, 2) points, got "
                         f"{tuple(points.shape)}")
    stats = coverage_of_modes(points.double().numpy(), mixture_modes(data_name),
                              mixture_std(data_name))
    return {"samples": float(n), **stats}


def _class_labels(generator: nn.Module, n: int, num_classes: int) -> torch.Tensor | None:
    """Balanced labels 0, 1, ..., K−1, 0, ... for a generator conditioned on the data's classes."""
    conditioned_on = int(getattr(generator, "num_classes", 0))
    if conditioned_on == 0:
        return None
    if conditioned_on != num_classes:
        raise ValueError(f"generator has {conditioned_on} classes, the data {num_classes}")
    return torch.arange(n) % num_classes


def evaluate_images(
    generator: nn.Module,
    data_name: str,
    n: int = IMAGE_SAMPLES,
    seed: int = 0,
    classifier: ClassifierConfig | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """FID, KID, precision/recall, density/coverage, class histogram and confidence of n images.

    The LeNet for `data_name` at the generator's image size is trained and cached on first use.
    """
    if n < 10:
        raise ValueError(f"need at least 10 samples for image metrics, got {n}")
    probe = _finite(sample(generator, 1, seed=seed))
    if probe.ndim != 4:
        raise ValueError(f"{data_name} needs a generator of images (B, C, H, W), got "
                         f"{tuple(probe.shape)}")
    img_size = int(probe.shape[-1])
    config = classifier or ClassifierConfig(data=data_name, img_size=img_size)
    if config.img_size != img_size or config.data != data_name:
        raise ValueError(f"classifier is for {config.data!r} at {config.img_size} px, the "
                         f"generator makes {img_size} px images of {data_name!r}")
    lenet = load_or_train_classifier(config, cache_dir=cache_dir, progress=progress)
    num_classes = lenet.model.num_classes
    labels = _class_labels(generator, n, num_classes)
    images = _finite(sample(generator, n, labels=labels, seed=seed))
    if images.shape[1] != lenet.model.img_channels:
        raise ValueError(f"generator makes {images.shape[1]}-channel images, {data_name} has "
                         f"{lenet.model.img_channels}")
    features, probs = classify(lenet.model, images)
    fake = features.astype(np.float64)
    real = lenet.real_features.astype(np.float64)
    metrics: dict[str, float] = {"samples": float(n), "classifier_accuracy": lenet.test_accuracy}
    # FID from the real statistics cached with the classifier; the other metrics need the rows
    metrics["fid"] = frechet_distance(lenet.real_mean, lenet.real_cov, *gaussian_stats(fake))
    for name, metric in FEATURE_METRICS.items():
        if name != "fid":
            metrics.update(metric(real, fake))
    predicted = probs.argmax(1)
    histogram = np.bincount(predicted, minlength=num_classes) / n
    metrics["confident_fraction"] = float((probs.max(1) >= CONFIDENCE).mean())
    metrics["classes_present"] = float((histogram > 0).sum())
    metrics["class_min"], metrics["class_max"] = float(histogram.min()), float(histogram.max())
    # the same judge on real held-out digits: how far the samples' figure could go
    metrics["classifier_confident"] = float(lenet.info["test_confident"])
    if labels is not None:
        metrics["label_accuracy"] = float((predicted == labels.numpy()).mean())
    metrics.update({f"class_{c}": float(f) for c, f in enumerate(histogram)})
    return metrics


def evaluate_generator(
    generator: nn.Module,
    data_name: str,
    n: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """All offline metrics for `generator` trained on `data_name` (n defaults per data kind)."""
    was_training = generator.training
    generator.eval()
    try:
        if is_point_data(data_name):
            return evaluate_points(generator, data_name, n or POINT_SAMPLES, seed)
        return evaluate_images(generator, data_name, n or IMAGE_SAMPLES, seed,
                               cache_dir=cache_dir, progress=progress)
    finally:
        generator.train(was_training)


# key -> (label, format) for the table; keys not listed are shown with their own name.
_ROWS: dict[str, tuple[str, str]] = {
    "samples": ("samples evaluated", "{:.0f}"),
    "fid": ("FID (LeNet features) ↓", "{:.3f}"),
    "kid": ("KID (LeNet features) ↓", "{:.5f}"),
    "kid_std": ("KID std over subsets", "{:.5f}"),
    "precision": ("precision (k=3) ↑", "{:.3f}"),
    "recall": ("recall (k=3) ↑", "{:.3f}"),
    "density": ("density (k=5)", "{:.3f}"),
    "coverage": ("coverage (k=5) ↑", "{:.3f}"),
    "confident_fraction": (f"confidently classified (p ≥ {CONFIDENCE}) ↑", "{:.1%}"),
    "label_accuracy": ("samples classified as their conditioning label ↑", "{:.1%}"),
    "classes_present": ("classes present", "{:.0f}"),
    "class_min": ("smallest class share", "{:.1%}"),
    "class_max": ("largest class share", "{:.1%}"),
    "classifier_accuracy": ("LeNet held-out accuracy (reference)", "{:.1%}"),
    "classifier_confident": (f"real held-out images classified with p ≥ {CONFIDENCE} "
                             "(reference)", "{:.1%}"),
    "modes_captured": ("modes captured ↑", "{:.0f}"),
    "modes_total": ("modes in the mixture", "{:.0f}"),
    "high_quality_fraction": ("high-quality samples (≤ 3 std) ↑", "{:.1%}"),
    "reverse_kl": ("reverse KL(modes ‖ uniform) ↓", "{:.4f}"),
}


def _format_value(value: float, fmt: str) -> str:
    return fmt.format(value) if math.isfinite(value) else str(value)


def format_table(metrics: dict[str, float]) -> str:
    """The metrics as a two-column Markdown table; the class histogram becomes one row."""
    lines = ["| metric | value |", "|---|---|"]
    classes = sorted((k for k in metrics if k.startswith("class_") and k[6:].isdigit()),
                     key=lambda k: int(k[6:]))
    for key, value in metrics.items():
        if key in classes:
            continue
        label, fmt = _ROWS.get(key, (key, "{:.4g}"))
        lines.append(f"| {label} | {_format_value(value, fmt)} |")
    if classes:
        shares = ", ".join(f"{k[6:]}: {metrics[k]:.1%}" for k in classes)
        lines.append(f"| class histogram | {shares} |")
    return "\n".join(lines)
