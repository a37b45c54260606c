"""Model attribution: which of N known generators made an image, or none of them.

Two models read an image's forensic channels from `genlab.provenance.features` (the
dark-stretched image and the median noise residual, where a generator's fingerprint lives;
Marra et al. 2019, Yu et al. 2019):

- `linear` (the default): a multinomial logistic regression on those channels pixel by pixel.
  A generator's fingerprint sits at fixed positions (faint background values, up-sampling
  and padding artefacts), which a linear map keeps and a pooled CNN throws away: on the
  provenance zoo it names 6 architectures with 0.97–0.99 accuracy where the CNN reaches
  0.79–0.86 (benchmarks/fake_detection.py).
- `cnn`: a small CNN (`genlab.provenance.detector.ForensicNet`) on the image and both channels.

The reject option ("none of these")
is calibrated on held-out samples of the known generators: an image is rejected when its
score falls below what `accept` (default 95%) of the known held-out images reach. Two scores:
`softmax` (the largest class probability) and `distance` (minus the smallest Mahalanobis
distance of the model's features — the CNN's pooled features, the linear model's logits — to a
class mean, shared covariance; Lee et al. 2018).
`distance` is the default: on benchmarks/fake_detection.py it rejects images of unseen
generators far more often than `softmax` does, which stays confident on them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.linalg import cho_factor, cho_solve
from torch import nn

from genlab.gan.checkpoint import load_module
from genlab.provenance.detector import (
    ForensicNet,
    budget_spent,
    check_meta,
    fit_logistic,
    meta_size,
    read_safetensors,
)
from genlab.provenance.features import (
    dark_stretch,
    grey_batch,
    grey_batch_of_size,
    noise_residual,
)
from genlab.provenance.images import to_unit

__all__ = ["KINDS", "REJECTS", "Attributor", "attribution_input", "load_attributor",
           "train_attributor"]

FORMAT = "genlab-attributor"
FORMAT_VERSION = 1
REJECTS = ("softmax", "distance", "none")
KINDS = ("linear", "cnn")
RESIDUAL_GAIN = 8.0  # median residuals of [0, 1] images are ~0.05: brought to the image's scale


def attribution_input(pixels: np.ndarray) -> torch.Tensor:
    """uint8 (n, H, W) to float32 (n, 3, H, W): the image in [-1, 1], its dark stretch in
    [-1, 1] and its median noise residual × RESIDUAL_GAIN."""
    x = to_unit(pixels)[:, 0]
    dark = 2 * dark_stretch(pixels).astype(np.float32) - 1
    res = noise_residual(pixels).astype(np.float32) * RESIDUAL_GAIN
    return torch.from_numpy(np.stack([x, dark, res], axis=1))


@dataclass
class _Linear:
    """The linear model: standardised forensic channels (`attribution_input` without the
    image itself) to class logits."""

    weights: np.ndarray  # (K, D)
    bias: np.ndarray  # (K,)
    centre: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)

    @staticmethod
    def inputs(pixels: np.ndarray) -> np.ndarray:
        """(n, 2·H·W) float64: the dark stretch and the noise residual, pixel by pixel."""
        return attribution_input(pixels)[:, 1:].flatten(1).double().numpy()

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        return ((self.inputs(pixels) - self.centre) / self.scale) @ self.weights.T + self.bias


def _train_linear(pixels: np.ndarray, labels: np.ndarray, c: float) -> _Linear:
    """Fit the multinomial logistic regression (L2, inverse strength `c`)."""
    weights, bias, centre, scale = fit_logistic(_Linear.inputs(pixels), labels, c)
    if weights.shape[0] == 1:  # two classes: sklearn keeps one row (the second class's logit)
        weights, bias = np.concatenate([-weights / 2, weights / 2]), np.array([-bias[0] / 2,
                                                                              bias[0] / 2])
    return _Linear(weights, bias, centre, scale)


@dataclass
class Attributor:
    """A trained attributor over `names`; `predict` gives a name or None (rejected)."""

    names: list[str]
    size: tuple[int, int]
    net: ForensicNet | None  # the cnn kind's network
    means: np.ndarray  # (K, d) class means of the features (pooled CNN features or logits)
    precision: np.ndarray  # (d, d) inverse of the shared within-class covariance
    # (by Cholesky solves)
    thresholds: dict[str, float]  # per reject score: accept when score >= threshold
    reject: str = "distance"
    info: dict[str, Any] = field(default_factory=dict)
    kind: str = "cnn"
    linear: _Linear | None = None  # the linear kind's model

    def _check(self, images: np.ndarray | list[np.ndarray]) -> np.ndarray:
        return grey_batch_of_size(images, self.size, "attributor")

    def _forward(self, x: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (n, K), features (n, d)) of checked uint8 images."""
        if self.linear is not None:
            from scipy.special import softmax

            logits = self.linear.logits(x)
            return softmax(logits, axis=1), logits
        assert self.net is not None
        self.net.eval()
        probs, feats = [], []
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                emb = self.net.embed(attribution_input(x[start:start + batch_size]))
                probs.append(torch.softmax(self.net.head(emb).double(), 1).numpy())
                feats.append(emb.double().numpy())
        return np.concatenate(probs), np.concatenate(feats)

    def _scores(self, probs: np.ndarray, feats: np.ndarray) -> dict[str, np.ndarray]:
        diff = feats[:, None, :] - self.means[None]  # (n, K, d)
        maha = np.einsum("nkd,de,nke->nk", diff, self.precision, diff)
        return {"softmax": probs.max(1), "distance": -np.sqrt(np.maximum(maha.min(1), 0))}

    def probabilities(self, images: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """(n, K) class probabilities, columns in the order of `names`."""
        return self._forward(self._check(images))[0]

    def scores(self, images: np.ndarray | list[np.ndarray]) -> dict[str, np.ndarray]:
        """Per reject score (softmax, distance) the (n,) confidence: higher = more known."""
        return self._scores(*self._forward(self._check(images)))

    def predict(self, images: np.ndarray | list[np.ndarray], reject: str | None = None
                ) -> list[str | None]:
        """The generator name per image, None where the `reject` score (default: this
        attributor's) is below its calibrated threshold; reject="none" never rejects."""
        reject = self.reject if reject is None else reject
        if reject not in REJECTS:
            raise ValueError(f"reject must be one of {', '.join(REJECTS)}, got {reject!r}")
        probs, feats = self._forward(self._check(images))
        best = probs.argmax(1)
        if reject == "none":
            return [self.names[i] for i in best]
        keep = self._scores(probs, feats)[reject] >= self.thresholds[reject]
        return [self.names[i] if k else None for i, k in zip(best, keep, strict=True)]

    def save(self, path: Path | str) -> Path:
        """Write the attributor atomically as safetensors with JSON metadata (no pickle)."""
        from genlab.gan.checkpoint import module_tensors, write_checkpoint

        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "names": self.names,
                "size": list(self.size), "kind": self.kind,
                "thresholds": self.thresholds, "reject": self.reject, "info": self.info}
        if self.linear is not None:
            tensors = {f"linear.{name}": torch.from_numpy(np.ascontiguousarray(value))
                       for name, value in vars(self.linear).items()}
        else:
            assert self.net is not None
            meta["width"] = self.net.width
            tensors = module_tensors("net", self.net)
        tensors["means"] = torch.from_numpy(np.ascontiguousarray(self.means))
        tensors["precision"] = torch.from_numpy(np.ascontiguousarray(self.precision))
        return write_checkpoint(Path(path), tensors, meta, kind=FORMAT)


def load_attributor(path: Path | str) -> Attributor:
    """An attributor written by `Attributor.save` (never unpickles anything)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"attributor file {path} does not exist")
    tensors, meta = read_safetensors(path)
    check_meta(meta, path, FORMAT, FORMAT_VERSION)
    names = [str(n) for n in meta["names"]]
    kind = str(meta.get("kind", "cnn"))  # files written before the linear kind are CNNs
    if kind not in KINDS:
        raise ValueError(f"{path}: unknown attributor kind {kind!r}")
    net, linear = None, None
    if kind == "linear":
        try:
            linear = _Linear(*(tensors[f"linear.{name}"].double().numpy()
                               for name in ("weights", "bias", "centre", "scale")))
        except KeyError as err:
            raise ValueError(f"{path} is not a complete linear attributor: {err}") from err
    else:
        net = ForensicNet(len(names), int(meta["width"]), in_channels=3)
        load_module(net, "net", tensors, path)
        net.eval()
    return Attributor(names, meta_size(meta), net, tensors["means"].numpy(),
                      tensors["precision"].numpy(), {k: float(v) for k, v in
                                                     meta["thresholds"].items()},
                      str(meta["reject"]), dict(meta.get("info", {})), kind, linear)


def train_attributor(samples: Mapping[str, np.ndarray | list[np.ndarray]], seed: int = 0,
                     seconds: float = 60.0, steps: int | None = None, accept: float = 0.95,
                     holdout: float = 0.2, reject: str = "distance", width: int = 8,
                     batch_size: int = 64, kind: str = "linear", c: float = 0.05
                     ) -> Attributor:
    """Train on uint8 samples per generator name (two or more names, one image size; add real
    images under a name such as "real" to make them a class) and calibrate the reject option.

    `holdout` of each class is kept out of training; the reject thresholds are the (1 −
    accept) quantiles of the held-out scores. The linear kind is fitted to convergence
    (L2 strength 1/`c`); the cnn kind trains for `seconds`, or exactly `steps`.
    """
    if not isinstance(samples, Mapping) or len(samples) < 2:
        raise ValueError("samples must be a dict of two or more generator names to images")
    if not 0 < accept <= 1 or not 0 < holdout < 1:
        raise ValueError(f"accept must lie in (0, 1] and holdout in (0, 1), got {accept}, "
                         f"{holdout}")
    if reject not in REJECTS:
        raise ValueError(f"reject must be one of {', '.join(REJECTS)}, got {reject!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if seconds <= 0 or (steps is not None and steps < 1):
        raise ValueError(f"seconds must be > 0 and steps >= 1, got {seconds}, {steps}")
    names = [str(n) for n in samples]
    data = [grey_batch(samples[n], f"samples[{n!r}]") for n in samples]
    size = data[0].shape[1:]
    for name, x in zip(names, data, strict=True):
        if x.shape[1:] != size:
            raise ValueError(f"samples[{name!r}] are {x.shape[1:]}, samples[{names[0]!r}] {size}")
        if len(x) < 5:
            raise ValueError(f"samples[{name!r}] has {len(x)} images; need at least 5")
    rng = np.random.default_rng(seed)
    train_x, train_y, held_x, held_y = [], [], [], []
    for k, x in enumerate(data):
        order = rng.permutation(len(x))
        cut = max(1, round(holdout * len(x)))
        held_x.append(x[order[:cut]])
        train_x.append(x[order[cut:]])
        held_y += [k] * cut
        train_y += [k] * (len(x) - cut)
    train_pixels, held_pixels = np.concatenate(train_x), np.concatenate(held_x)
    start, step = time.perf_counter(), 0
    if kind == "linear":
        linear = _train_linear(train_pixels, np.asarray(train_y), c)
        attributor = Attributor(names, size, None, np.zeros((len(names), len(names))),
                                np.eye(len(names)), {}, reject, kind=kind, linear=linear)
    else:
        net, step = _train_cnn(train_pixels, train_y, len(names), seed, seconds, steps,
                               width, batch_size)
        attributor = Attributor(names, size, net, np.zeros((len(names), 8 * width)),
                                np.eye(8 * width), {}, reject)
    _, feats = attributor._forward(train_pixels)
    y = np.asarray(train_y)
    means = np.stack([feats[y == k].mean(0) for k in range(len(names))])
    centred = feats - means[y]
    cov = centred.T @ centred / len(feats)
    cov += 1e-3 * np.trace(cov) / len(cov) * np.eye(len(cov))  # shrinkage: never singular
    # the precision by Cholesky solves (the shrunk covariance is positive definite)
    attributor.means = means
    attributor.precision = cho_solve(cho_factor(cov, lower=True), np.eye(len(cov)))
    held_probs, held_feats = attributor._forward(held_pixels)
    scores = attributor._scores(held_probs, held_feats)
    attributor.thresholds = {k: float(np.quantile(v, 1 - accept)) for k, v in scores.items()}
    attributor.info = {"seed": seed, "kind": kind, "steps": step, "accept": accept,
                       "n_train": len(y), "n_held_out": len(held_y),
                       "held_out_accuracy": float(np.mean(
                           held_probs.argmax(1) == np.asarray(held_y))),
                       "train_seconds": round(time.perf_counter() - start, 2)}
    return attributor


def _train_cnn(pixels: np.ndarray, labels_list: list[int], classes: int, seed: int,
               seconds: float, steps: int | None, width: int, batch_size: int
               ) -> tuple[ForensicNet, int]:
    """The cnn kind: class-balanced minibatches for `seconds` or exactly `steps`."""
    inputs = attribution_input(pixels)
    labels = torch.tensor(labels_list)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = ForensicNet(classes, width, in_channels=3)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)  # constant: cosine decay (the
    # detector's) cost accuracy here (architectures 0.94 vs 0.98 at 3,000 steps)
    # class-balanced minibatches: every class as often, whatever its sample count
    weights = (1.0 / torch.bincount(labels).double())[labels]
    start, step = time.perf_counter(), 0
    net.train()
    while budget_spent(step, steps, start, seconds) < 1:
        idx = torch.multinomial(weights, batch_size, replacement=True, generator=gen)
        loss = nn.functional.cross_entropy(net(inputs[idx]), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
    return net.eval(), step
