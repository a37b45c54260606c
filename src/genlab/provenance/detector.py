"""Real-versus-generated detection of small grey images (MNIST-size), two ways.

* `spectral`: logistic regression on the features of `genlab.provenance.features` (DCT log
  spectrum of image and noise residual, radial power spectrum; Frank et al. 2020, Durall et
  al. 2020), standardised.
* `cnn`: a small all-convolutional network over the image with global pooling,
  trained with random blur / JPEG / resize-and-back augmentation of both classes, which
  Wang et al. 2020 ("CNN-generated images are surprisingly easy to spot... for now") found
  to make a detector generalise to unseen generators and survive post-processing.

`kind="auto"` picks `AUTO_KIND`, the better of the two on benchmarks/fake_detection.py. Files
hold no pickle: a CNN is safetensors with JSON metadata, a spectral model is plain JSON.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genlab.gan.checkpoint import load_module
from genlab.provenance.features import grey_batch, grey_batch_of_size, spectral_features
from genlab.provenance.images import from_unit, to_unit

__all__ = [
    "AUTO_KIND",
    "KINDS",
    "Detector",
    "ForensicNet",
    "anneal",
    "budget_spent",
    "check_meta",
    "fit_logistic",
    "jpeg_copies",
    "load_detector",
    "meta_size",
    "net_input",
    "random_blur_resize",
    "random_degrade",
    "read_safetensors",
    "train_detector",
    "with_dark_channel",
]

FORMAT = "genlab-fake-detector"
FORMAT_VERSION = 1
KINDS = ("auto", "cnn", "spectral")
# benchmarks/fake_detection.py (real MNIST vs dcgan seed 0; 9 unseen zoo generators): CNN
# seen AP 1.000, mean unseen AP 0.982, unseen AP after JPEG 75 0.838; spectral 0.864, 0.867,
# 0.762. The CNN wins everywhere but on lsgan after JPEG, so auto = cnn.
AUTO_KIND = "cnn"


class ForensicNet(nn.Module):
    """Small all-convolutional classifier: two 3×3 layers at full resolution (early
    down-sampling would wash out pixel-level traces), then two stride-2 stages, mean + max
    global pooling and a linear head, so any image size works."""

    def __init__(self, outputs: int = 1, width: int = 8, in_channels: int = 2) -> None:
        super().__init__()
        if outputs < 1 or width < 1 or in_channels < 1:
            raise ValueError(f"outputs, width and in_channels must be >= 1, got "
                             f"{outputs}, {width}, {in_channels}")
        w = width
        act = nn.LeakyReLU(0.2)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1), act,
            nn.Conv2d(w, w, 3, padding=1), act,
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), act,
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), act,
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), act,
            nn.Conv2d(4 * w, 4 * w, 3, padding=1), act,
        )
        self.head = nn.Linear(8 * w, outputs)
        self.outputs, self.width, self.in_channels = outputs, width, in_channels

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 8·width) pooled features: the mean and the max of the last maps."""
        h = self.features(x)
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def net_input(pixels: np.ndarray) -> torch.Tensor:
    """uint8 (n, H, W) to float32 (n, 1, H, W) in [-1, 1] (what the augmentation works on)."""
    return torch.from_numpy(to_unit(pixels))


def with_dark_channel(x: torch.Tensor) -> torch.Tensor:
    """(n, 1, H, W) in [-1, 1] to (n, 2, H, W): the image and a log-stretched copy,
    log(1 + v) / log(256) for pixel value v, which lifts the faint near-black values a
    generator's tanh leaves in the background (v = 1..5 become 0.13..0.32) to a scale the
    network sees at once."""
    v = ((x + 1) * 127.5).clamp(0, 255)
    return torch.cat([x, 2 * torch.log1p(v) / np.log(256.0) - 1], dim=1)


def jpeg_copies(pixels: np.ndarray, rng: np.random.Generator, low: int = 50) -> np.ndarray:
    """One JPEG round trip of every uint8 (H, W) image at a quality ~ U(low, 100)."""
    from genlab.provenance.attacks import jpeg

    qualities = rng.integers(low, 101, len(pixels))
    return np.stack([jpeg(img, int(q)) for img, q in zip(pixels, qualities, strict=True)])


def _gaussian_kernels(sigmas: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """(n, 1, 2r+1, 2r+1) normalised Gaussian kernels, one per sigma."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    g = torch.exp(-0.5 * (t[None] / sigmas[:, None]) ** 2)
    g = g / g.sum(1, keepdim=True)
    return (g[:, :, None] * g[:, None, :])[:, None]


def random_blur_resize(x: torch.Tensor, gen: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Batched (n, 1, H, W) [-1, 1] augmentation: blur (σ ~ U(0.1, 1.5)) with probability p/2,
    resize-and-back (bicubic, antialiased, factor ~ U(0.5, 1)) with p/2, then quantisation to
    uint8 levels: Wang et al. 2020's training augmentation scaled to 32-pixel digits."""
    n, _, h, w = x.shape
    blur = torch.rand(n, generator=gen) < p / 2
    sigmas = 0.1 + 1.4 * torch.rand(n, generator=gen)
    if blur.any():
        k = _gaussian_kernels(sigmas[blur])
        part = x[blur].transpose(0, 1)  # (1, m, H, W): one group per image
        part = nn.functional.pad(part, (3, 3, 3, 3), mode="reflect")
        x = x.clone()
        x[blur] = nn.functional.conv2d(part, k, groups=k.shape[0]).transpose(0, 1)
    resize = torch.rand(n, generator=gen) < p / 2
    factors = 0.5 + 0.5 * torch.rand(n, generator=gen)
    for size in sorted({max(1, round(float(f) * h)) for f in factors[resize]}):
        rows = resize & ((factors * h).round().clamp(min=1) == size)
        small = nn.functional.interpolate(x[rows], size=(size, max(1, round(size * w / h))),
                                          mode="bicubic", antialias=True, align_corners=False)
        x = x.clone()
        x[rows] = nn.functional.interpolate(small, size=(h, w), mode="bicubic",
                                            align_corners=False)
    return torch.round((x.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1


def random_degrade(pixels: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """uint8 (n, H, W) images each JPEG-compressed (quality ~ U(50, 100)) with probability p,
    then blurred / resized as `random_blur_resize` does."""
    pick = rng.random(len(pixels)) < p
    out = pixels.copy()
    if pick.any():
        out[pick] = jpeg_copies(pixels[pick], rng)
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    return from_unit(random_blur_resize(net_input(out), gen, p).numpy())


def budget_spent(step: int, steps: int | None, start: float, seconds: float) -> float:
    """The share of a training budget used: `step` of exactly `steps` when given, else the
    wall clock since `start` over `seconds` (≥ 1: stop)."""
    return step / steps if steps is not None else (time.perf_counter() - start) / seconds


def anneal(opt: torch.optim.Optimizer, lr: float, done: float) -> None:
    """Cosine learning-rate decay over the budget (`done` = `budget_spent`), down to 5% of
    `lr`: a short run ends converged, not mid-stride."""
    factor = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(max(done, 0.0), 1.0)))
    for group in opt.param_groups:
        group["lr"] = lr * factor


@dataclass
class Detector:
    """A trained real-vs-fake detector; `score` gives P(fake) per image."""

    kind: str
    size: tuple[int, int]
    net: ForensicNet | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    coef: np.ndarray | None = None
    intercept: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def score(self, images: np.ndarray | list[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """P(fake) per image (float64, n): uint8 (n, H, W) or a list of uint8 images of the
        training size (colour is made grey)."""
        x = grey_batch_of_size(images, self.size, "detector")
        if self.kind == "spectral":
            assert self.mean is not None and self.scale is not None and self.coef is not None
            z = (spectral_features(x) - self.mean) / self.scale
            return _sigmoid(z @ self.coef + self.intercept)
        assert self.net is not None
        self.net.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(x), batch_size):
                logits = self.net(with_dark_channel(net_input(x[start:start + batch_size])))[:, 0]
                out.append(torch.sigmoid(logits.double()).numpy())
        return np.concatenate(out)

    def save(self, path: Path | str) -> Path:
        """Write the detector atomically: safetensors + JSON metadata (cnn) or JSON (spectral)."""
        from genlab._atomic import atomic_write_bytes

        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": self.kind,
                "size": list(self.size), "info": self.info}
        if self.kind == "spectral":
            assert self.mean is not None and self.scale is not None and self.coef is not None
            meta |= {"mean": self.mean.tolist(), "scale": self.scale.tolist(),
                     "coef": self.coef.tolist(), "intercept": float(self.intercept)}
            return atomic_write_bytes(path, json.dumps(meta).encode())
        from genlab.gan.checkpoint import module_tensors, write_checkpoint

        assert self.net is not None
        meta |= {"width": self.net.width}
        return write_checkpoint(Path(path), module_tensors("net", self.net), meta, kind=FORMAT)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def load_detector(path: Path | str) -> Detector:
    """A detector written by `Detector.save` (never unpickles anything)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"detector file {path} does not exist")
    with path.open("rb") as handle:
        spectral = handle.read(1) == b"{"  # JSON; a safetensors file starts with its length
    if spectral:
        try:
            meta = json.loads(path.read_bytes())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not a genlab detector (bad JSON: {err})") from err
        check_meta(meta, path, FORMAT, FORMAT_VERSION)
        return Detector("spectral", meta_size(meta), None, np.asarray(meta["mean"], float),
                        np.asarray(meta["scale"], float), np.asarray(meta["coef"], float),
                        float(meta["intercept"]), dict(meta.get("info", {})))
    tensors, meta = read_safetensors(path)
    check_meta(meta, path, FORMAT, FORMAT_VERSION)
    net = ForensicNet(1, int(meta["width"]))
    load_module(net, "net", tensors, path)
    return Detector("cnn", meta_size(meta), net.eval(), info=dict(meta.get("info", {})))


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, genlab metadata) of a safetensors file, read once, else a ValueError naming it.

    The format tag is checked by the caller (`check_meta`), so each model kind names itself.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {})["genlab"])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError, RuntimeError) as err:
        raise ValueError(f"{path} is not a genlab model file: {err}") from err
    return tensors, meta


def check_meta(meta: dict[str, Any], path: Path, kind: str, version: int) -> None:
    """A model file's format tag and version, else a ValueError naming the file."""
    if meta.get("format") != kind:
        raise ValueError(f"{path} is not a {kind} file (format {meta.get('format')!r})")
    if int(meta.get("format_version", 0)) > version:
        raise ValueError(f"{path} has format version {meta['format_version']}; this genlab "
                         f"reads up to {version}")


def meta_size(meta: dict[str, Any]) -> tuple[int, int]:
    """The (height, width) a model file was trained on."""
    h, w = meta["size"]
    return int(h), int(w)


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float, balanced: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """L2 logistic regression (inverse strength `c`; multinomial for > 2 classes) on
    standardised features: (coef, intercept, mean, scale) — apply as ((x − mean) / scale) @
    coef.T + intercept. Constant features get scale 1."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-8] = 1.0
    model = LogisticRegression(C=c, max_iter=3000,
                               class_weight="balanced" if balanced else None)
    model.fit((x - mean) / scale, y)
    return model.coef_, model.intercept_, mean, scale


def _train_spectral(real: np.ndarray, fake: np.ndarray, seed: int, augment: bool,
                    c: float) -> Detector:
    rng = np.random.default_rng(seed)
    x = np.concatenate([real, fake])
    y = np.concatenate([np.zeros(len(real)), np.ones(len(fake))])
    if augment:  # a degraded copy of every image, so blur / JPEG alone do not say "real"
        x, y = np.concatenate([x, random_degrade(x, rng, p=1.0)]), np.concatenate([y, y])
    coef, intercept, mean, scale = fit_logistic(spectral_features(x), y, c, balanced=True)
    return Detector("spectral", real.shape[1:], mean=mean, scale=scale,
                    coef=coef[0].astype(np.float64), intercept=float(intercept[0]))


def _train_cnn(real: np.ndarray, fake: np.ndarray, seed: int, seconds: float,
               steps: int | None, augment: bool, width: int, batch_size: int) -> Detector:
    start, step = time.perf_counter(), 0  # the budget includes the JPEG pool below
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    images = np.concatenate([real, fake])
    labels = torch.cat([torch.zeros(len(real)), torch.ones(len(fake))])
    clean = net_input(images)
    jpegged = net_input(jpeg_copies(images, rng)) if augment else clean
    net = ForensicNet(1, width)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    half = batch_size // 2
    while (done := budget_spent(step, steps, start, seconds)) < 1:
        anneal(opt, 1e-3, done)
        idx = torch.cat([torch.randint(0, len(real), (half,), generator=gen),
                         torch.randint(len(real), len(images), (half,), generator=gen)])
        batch = clean[idx]
        if augment:  # Wang et al.: JPEG with probability 1/2, blur / resize 1/4 each
            use_jpeg = torch.rand(len(idx), generator=gen) < 0.5
            batch = torch.where(use_jpeg[:, None, None, None], jpegged[idx], batch)
            batch = random_blur_resize(batch, gen)
        logits = net(with_dark_channel(batch))[:, 0]
        loss = nn.functional.binary_cross_entropy_with_logits(logits, labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
    return Detector("cnn", real.shape[1:], net.eval(), info={"steps": step})


def train_detector(real: np.ndarray | list[np.ndarray], fake: np.ndarray | list[np.ndarray],
                   kind: str = "auto", seed: int = 0, seconds: float = 60.0,
                   steps: int | None = None, augment: bool = True, width: int = 8,
                   batch_size: int = 64, c: float = 0.005) -> Detector:
    """Fit a detector to uint8 real and fake images of one size (colour is made grey).

    kind: cnn, spectral or auto (= AUTO_KIND). The CNN trains for `seconds` of wall clock, or
    exactly `steps` steps when given (reproducible), on class-balanced minibatches; `c` is the
    spectral model's inverse L2 strength.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    real_x, fake_x = grey_batch(real, "real"), grey_batch(fake, "fake")
    if real_x.shape[1:] != fake_x.shape[1:]:
        raise ValueError(f"real images are {real_x.shape[1:]} but fake ones {fake_x.shape[1:]}")
    if min(real_x.shape[1:]) < 8:
        raise ValueError(f"images must be at least 8×8, got {real_x.shape[1:]}")
    if seconds <= 0 or (steps is not None and steps < 1):
        raise ValueError(f"seconds must be > 0 and steps >= 1, got {seconds}, {steps}")
    kind = AUTO_KIND if kind == "auto" else kind
    start = time.perf_counter()
    if kind == "spectral":
        detector = _train_spectral(real_x, fake_x, seed, augment, c)
    else:
        detector = _train_cnn(real_x, fake_x, seed, seconds, steps, augment, width, batch_size)
    detector.info |= {"seed": seed, "n_real": len(real_x), "n_fake": len(fake_x),
                      "augment": augment, "train_seconds": round(time.perf_counter() - start, 2)}
    return detector
