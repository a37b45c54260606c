"""Use and measure a trained image-task run: restore images, and the held-out table of the
model against every classical baseline (and other runs, e.g. the L1-only ablation)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genlab.gan.checkpoint import load_generator
from genlab.gan.classifier import ClassifierConfig
from genlab.gan.game import PairedGame
from genlab.gan.sample import save_grid
from genlab.gan.tasks import metrics as M
from genlab.gan.tasks.baselines import BASELINES
from genlab.gan.tasks.degrade import (
    SIDES,
    Colorize,
    Degraded,
    ImageTask,
    MaskedTask,
    SuperResolution,
    get_task,
    rectangle_mask,
    side_mask,
)
from genlab.gan.tasks.photos import task_data

__all__ = ["EvalReport", "ImageModel", "evaluate", "load_image_model"]


@dataclass
class ImageModel:
    """A trained image-task generator with its run's config."""

    generator: nn.Module
    config: dict[str, Any]
    task: ImageTask
    path: Path

    @property
    def game(self) -> PairedGame:
        return PairedGame(self.task, 0.0, True)

    @property
    def label(self) -> str:
        mode = "GAN + L1" if self.config.get("adversarial", True) else "L1 only"
        return f"genlab {mode}"

    def restore(self, degraded: Degraded, batch_size: int = 32) -> torch.Tensor:
        """Restored images for a degraded batch, in chunks (float32, CPU, [-1, 1])."""
        out = []
        for start in range(0, degraded.g_input.shape[0], batch_size):
            part = _slice(degraded, slice(start, start + batch_size))
            out.append(self.game.restore(self.generator, part).cpu())
        return torch.cat(out)

    def apply(self, image: torch.Tensor, mask: torch.Tensor | None = None, side: str = "right",
              amount: float = 0.25) -> torch.Tensor:
        """Restore one (C, H, W) image in [-1, 1]: super-resolve it, fill the mask's holes,
        colour it, or extend it by `amount` of its size on `side`."""
        channels = int(self.config["img_channels"])
        image = _channels(image, channels)[None]
        task = self.task
        if isinstance(task, SuperResolution):
            degraded = task.from_low(image)
        elif isinstance(task, Colorize):
            degraded = task.from_lightness(task.lightness(image))
        elif task.name == "inpaint":
            if mask is None:
                raise ValueError("inpainting needs a mask (white = the pixels to fill)")
            if mask.shape[-2:] != image.shape[-2:]:
                raise ValueError(f"the mask is {tuple(mask.shape[-2:])} pixels but the image "
                                 f"is {tuple(image.shape[-2:])}")
            assert isinstance(task, MaskedTask)
            degraded = task.with_mask(image, (mask.reshape(1, 1, *mask.shape[-2:]) > 0).float())
        else:
            assert isinstance(task, MaskedTask)
            degraded = task.with_mask(*extend_canvas(image, side, amount))
        return self.restore(degraded)[0]


def _slice(degraded: Degraded, rows: slice) -> Degraded:
    def cut(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[rows]

    return Degraded(degraded.g_input[rows], degraded.cond[rows], cut(degraded.mask),
                    degraded.view[rows], cut(degraded.low))


def _channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """(C, H, W) with the model's channel count (grey repeated to RGB, RGB averaged to grey)."""
    if image.ndim != 3:
        raise ValueError(f"an image must be (C, H, W), got {tuple(image.shape)}")
    if image.shape[0] == channels:
        return image
    if channels == 3 and image.shape[0] == 1:
        return image.expand(3, -1, -1)
    if channels == 1:
        return image.mean(0, keepdim=True)
    raise ValueError(f"the model takes {channels}-channel images, got {image.shape[0]}")


def extend_canvas(image: torch.Tensor, side: str, amount: float
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """A (1, C, H, W) image grown by `amount` of its size on `side`, and the mask of the new
    strip (the canvas there is 0 until the model fills it)."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {', '.join(SIDES)}, got {side!r}")
    if not 0 < amount <= 1:
        raise ValueError(f"amount must lie in (0, 1], got {amount}")
    _, c, h, w = image.shape
    horizontal = side in ("left", "right")
    k = max(1, round(amount * (w if horizontal else h)))
    canvas = torch.zeros(1, c, h + (0 if horizontal else k), w + (k if horizontal else 0))
    H, W = canvas.shape[-2:]
    top = k if side == "top" else 0
    left = k if side == "left" else 0
    canvas[..., top:top + h, left:left + w] = image
    fraction = k / (W if horizontal else H)
    return canvas, side_mask(1, H, W, side, fraction)


def load_image_model(path: Path) -> ImageModel:
    """The generator (EMA copy if kept) of an image-task run folder or checkpoint."""
    generator, config = load_generator(Path(path))
    if not config.get("task"):
        raise ValueError(f"{path} is a noise-to-image GAN run, not an image-task run: use "
                         "genlab gan sample")
    task = get_task(config["task"], int(config.get("scale", 4)))
    return ImageModel(generator, config, task, Path(path))


def eval_degraded(task: ImageTask, clean: torch.Tensor, seed: int, amount: float = 0.25
                  ) -> Degraded:
    """The fixed held-out inputs: holes of exactly 25% of the image (one rectangle) for
    inpainting; `amount` missing from each side in turn for uncropping."""
    rng = torch.Generator().manual_seed(seed)
    n, _, h, w = clean.shape
    if task.name == "inpaint":
        assert isinstance(task, MaskedTask)
        return task.with_mask(clean, rectangle_mask(n, h, w, rng, (0.25, 0.25)))
    if task.name == "uncrop":
        assert isinstance(task, MaskedTask)
        masks = torch.cat([side_mask(1, h, w, SIDES[i % 4], amount) for i in range(n)])
        return task.with_mask(clean, masks)
    return task.degrade(clean, rng)


def _scores(task: ImageTask, out: np.ndarray, truth: np.ndarray, mask: np.ndarray | None,
            shave: int) -> dict[str, float]:
    """The task's metrics of one restored image."""
    if isinstance(task, SuperResolution):
        return {"Y-PSNR": M.psnr_y(out, truth, shave), "Y-SSIM": M.ssim_y(out, truth, shave)}
    if isinstance(task, Colorize):
        return {"chroma ratio": M.chroma_ratio(out, truth), "ΔE": M.colour_error(out, truth),
                "colourfulness": M.colourfulness(out), "PSNR": M.psnr(out, truth),
                "SSIM": M.ssim(out, truth)}
    assert mask is not None  # squared errors: pooled over the test set, then in dB (below)
    return {"hole PSNR": M.hole_mse(out, truth, mask), "hole SSIM": M.hole_ssim(out, truth, mask),
            "seam PSNR": M.seam_mse(out, truth, mask), "PSNR": M.mse(out, truth)}


POOLED = ("hole PSNR", "seam PSNR", "PSNR")  # of masked tasks: dB of the mean squared error


@dataclass
class EvalReport:
    """Mean held-out metrics per method (rows), the goals' inputs, and the picture."""

    task: str
    data: str
    images: int
    size: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    picture: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "data": self.data, "images": self.images, "size": self.size,
                "rows": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                          for k, v in r.items()} for r in self.rows],
                "picture": None if self.picture is None else str(self.picture)}


def evaluate(run: Path, others: list[Path] | None = None, images: int = 0, size: int = 0,
             seed: int = 0, amount: float = 0.25, picture: Path | None = None,
             classifier: ClassifierConfig | None = None, cache_dir: Path | None = None
             ) -> EvalReport:
    """The held-out table of `run` (and `others`, e.g. the L1-only run of the same task)
    against the task's baselines, on crops of photos the model never saw (or the LeNet judge's
    held-out digits, whose restorations are also read by the judge: `classifier` is its
    recipe, cached under `cache_dir`)."""
    model = load_image_model(run)
    models = [model, *(load_image_model(p) for p in others or [])]
    for other in models[1:]:
        if other.config["task"] != model.config["task"]:
            raise ValueError(f"{other.path} trains {other.config['task']}, not "
                             f"{model.config['task']}")
    config, task = model.config, model.task
    digits = config["data"] in ("mnist", "digits")
    test = task_data(config["data"], "test", size or (int(config["img_size"]) if digits else 0),
                     int(config["img_channels"]), count=images or (0 if digits else 24),
                     seed=seed)
    size = int(test.x.shape[-1])
    clean = test.x if not images or not digits else test.x[:images]
    degraded = eval_degraded(task, clean, seed + 1, amount)
    outputs: dict[str, torch.Tensor] = {
        name: fn(task, degraded).clamp(-1, 1) for name, fn in BASELINES[task.name].items()}
    for m in models:
        label = m.label if m.label not in outputs else f"{m.label} ({m.path.name})"
        outputs[label] = m.restore(degraded)
    truth = M.to_unit(clean)
    masks = None if degraded.mask is None else degraded.mask[:, 0].numpy() > 0.5
    shave = task.scale if isinstance(task, SuperResolution) else 0
    judge = _judge(classifier, cache_dir) if digits and test.labels is not None else None
    report = EvalReport(task.name, config["data"], len(clean), size)
    for name, out in outputs.items():
        unit = M.to_unit(out)
        per_image = [_scores(task, unit[i], truth[i], None if masks is None else masks[i], shave)
                     for i in range(len(unit))]
        row: dict[str, Any] = {"method": name}
        pooled = isinstance(task, MaskedTask)  # a hole on blank background can be exact
        for key in per_image[0]:
            value = float(np.mean([s[key] for s in per_image]))
            row[key] = M.decibels(value) if pooled and key in POOLED else value
        if judge is not None:
            assert test.labels is not None
            predicted = judge(out).argmax(1)
            row["LeNet accuracy"] = float((predicted == test.labels[:len(out)].numpy()).mean())
        report.rows.append(row)
    if judge is not None:
        assert test.labels is not None
        report.rows.append({"method": "truth (clean)", "LeNet accuracy": float(
            (judge(clean).argmax(1) == test.labels[:len(clean)].numpy()).mean())})
    if picture is not None:
        shown = min(6, len(clean))
        view = degraded.view.float().clamp(-1, 1)
        if isinstance(task, SuperResolution) and degraded.low is not None:  # nearest: pixels
            view = torch.nn.functional.interpolate(degraded.low, scale_factor=task.scale,
                                                   mode="nearest")
        rows = [view[:shown], *(o[:shown] for o in outputs.values()), clean[:shown]]
        report.picture = save_grid(torch.cat(rows), picture, nrow=shown)
    return report


def _judge(config: ClassifierConfig | None, cache_dir: Path | None) -> Any:
    """The cached LeNet (trained once on the non-held-out MNIST digits) as a function."""
    from genlab.gan.classifier import classify, load_or_train_classifier

    lenet = load_or_train_classifier(config, cache_dir, progress=False).model

    def probabilities(images: torch.Tensor) -> np.ndarray:
        return classify(lenet, images.float())[1]

    return probabilities
