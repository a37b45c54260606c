"""A generator whose every sample carries a key: Stable Signature's idea on genlab's one loop.

Fernandez et al. 2023 fine-tune a generator until a fixed watermark decoder reads a chosen
message in everything it makes. Here G learns `weight` · a hinge that pushes each of 32 read
statistics to its message bit's side of zero (the "sign" readout: a smooth generator cannot
put every sample on the post-hoc mark's quantisation lattice, but it can push statistics to a
side) plus `anchor` · the MSE to the frozen source generator on the same noise; D does not
play (real images carry no mark, so a D would teach G to remove it). Two fixed readers, both
written in torch with gradients and tested equal to `watermark.detect`'s numpy readout:

- `QuietReader` (the default): the source generator's quietest directions
  (`genlab.provenance.quiet`), fitted on its samples before fine-tuning and stored in the
  run folder. Measured on a MNIST DCGAN (margin 16): bit accuracy 1.000 (0.999 after
  JPEG 75) at FID ×1.05.
- `ChipReader`: the upper half of the Fourier band, in units of the sample's ring energy;
  needs no file, but bit accuracy 0.94 cost FID ×1.6 (content is loud there).

The samples pass through uint8 rounding and, half of the time, JPEG (straight-through: the
attack forward, identity backward) so the mark survives both. `watermark_generator` starts
from a trained run (its EMA generator) and continues it in a new run folder: checkpoints,
exact resume, EMA and the NaN guard come from `genlab.gan.train`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from genlab.gan.game import Condition, NoiseGame
from genlab.provenance.quiet import (
    DEFAULT_DIMS,
    QUIET_FILE,
    QuietBasis,
    fit_quiet_basis,
    load_quiet,
)
from genlab.provenance.watermark import (
    _GAIN_FLOOR,
    LUMA,
    SignPlan,
    payload_bits,
    ring_bins,
    sign_plan,
)

if TYPE_CHECKING:
    from genlab.gan.config import TrainConfig
    from genlab.gan.data import GanData
    from genlab.gan.train import Batches, Parts

__all__ = ["DEFAULT_MARGINS", "READERS", "ChipReader", "QuietReader", "WatermarkGame",
           "measure_marked", "watermark_generator"]

READERS = ("quiet", "fourier")  # the quiet subspace (stored with the run); the Fourier band
# how far each read statistic is pushed past zero: grey levels (quiet), ring units (fourier)
DEFAULT_MARGINS = {"quiet": 16.0, "fourier": 2.0}
DEFAULT_ANCHOR = 10.0  # weight of the MSE to the source generator
QUIET_SAMPLES = 4  # source samples per pixel the quiet basis is fitted on (4,096 at 32 px)


def _luma(images: torch.Tensor) -> torch.Tensor:
    """(B, H, W) luma in grey levels 0..255 of (B, C, H, W) images in [-1, 1]."""
    pixels = (images.float() + 1.0) * 127.5
    if pixels.shape[1] == 1:
        return pixels[:, 0]
    weights = torch.tensor(LUMA, device=pixels.device, dtype=pixels.dtype).view(1, 3, 1, 1)
    return (pixels * weights).sum(1)


class _SignReader(nn.Module):
    """A fixed reader of 32 statistics whose signs are the payload bits: key-signed sums of
    a plan's coefficients (`coefficients`, per reader). `loss` is their mean hinge: how far
    each is short of `margin` on its message bit's side, in units of `unit` (0 = every bit
    reads right with room)."""

    def __init__(self, plan: SignPlan, message: str, margin: float, unit: float = 1.0
                 ) -> None:
        super().__init__()
        self.margin, self.unit = float(margin), float(unit)
        polarity = 1.0 - 2.0 * payload_bits(message)  # +1: the statistic must be positive
        self.register_buffer("polarity", torch.from_numpy(polarity).float())
        self.register_buffer("coords", torch.from_numpy(plan.coords))
        self.register_buffer("signs", torch.from_numpy(plan.signs).float())

    def coefficients(self, images: torch.Tensor, reference: torch.Tensor | None
                     ) -> torch.Tensor:
        """(B, dims) the coordinates the plan's statistics sum (each reader its own)."""
        raise NotImplementedError

    def forward(self, images: torch.Tensor, reference: torch.Tensor | None = None
                ) -> torch.Tensor:
        """(B, 32) the key-signed statistics whose signs are the read bits (negative = 1)."""
        y = self.coefficients(images, reference)[:, self.coords]  # (B, 32, per)
        return (y * self.signs).sum(-1) / np.sqrt(self.coords.shape[1])

    def loss(self, images: torch.Tensor, reference: torch.Tensor | None = None
             ) -> torch.Tensor:
        """Mean hinge of the statistics of (B, C, H, W) images in [-1, 1]."""
        shortfall = self.margin - self.polarity * self(images, reference)
        return torch.relu(shortfall).mean() / self.unit


class QuietReader(_SignReader):
    """The quiet-subspace readout (`watermark.detect(..., readout="sign", reader=basis)`) in
    torch: 32 key-signed sums of the basis coefficients, in grey levels. The hinge is in
    units of the margin, so `weight` means the same as for `ChipReader`."""

    def __init__(self, basis: QuietBasis, key: str, message: str, margin: float) -> None:
        super().__init__(basis.plan(key), message, margin, unit=margin)
        self.register_buffer("mean", torch.from_numpy(basis.mean).float())
        self.register_buffer("basis", torch.from_numpy(basis.basis).float())

    def coefficients(self, images: torch.Tensor, reference: torch.Tensor | None = None
                     ) -> torch.Tensor:
        """(B, dims) basis coefficients around the mean image; `reference` is not used."""
        return (_luma(images).flatten(1) - self.mean) @ self.basis.T


class ChipReader(_SignReader):
    """The Fourier sign readout of images in [-1, 1], differentiably (`watermark.detect(...,
    readout="sign")` in torch, tested equal to it): 32 key-signed statistics of the upper
    half of the tile's spectrum, in units of the ring energy.

    Training passes the source generator's image as `reference` (the unit's image): measured
    in its own units, G could meet the margins by emptying the band (the unit would shrink).
    """

    def __init__(self, key: str, message: str, height: int, width: int, margin: float) -> None:
        plan = sign_plan(key, height, width)
        super().__init__(plan, message, margin)
        band = plan.band
        self.tile, self.height, self.width = band.tile, height, width
        self.register_buffer("rows", torch.from_numpy(band.rows))
        self.register_buffer("cols", torch.from_numpy(band.cols))
        bins = ring_bins(height, width, band)  # the full-resolution spectrum's rings
        self.register_buffer("ring", torch.from_numpy(bins.ring.ravel()))
        self.register_buffer("ring_weight", torch.from_numpy(bins.weight.ravel()).float())
        self.register_buffer("radii", torch.from_numpy(np.array(band.radii)))
        self.register_buffer("coord_ring", torch.from_numpy(band.rings))
        self.register_buffer("ring_count", torch.from_numpy(bins.counts).float())

    def _fold(self, luma: torch.Tensor) -> torch.Tensor:
        """(B, T, T): mean of the mean-removed luma over pixels congruent modulo the tile."""
        b, h, w = luma.shape
        t = self.tile
        hp, wp = -(-h // t) * t, -(-w // t) * t
        centred = luma - luma.mean(dim=(1, 2), keepdim=True)
        padded = torch.nn.functional.pad(centred, (0, wp - w, 0, hp - h))
        count = torch.nn.functional.pad(torch.ones(1, h, w, device=luma.device),
                                        (0, wp - w, 0, hp - h))
        total = padded.view(b, hp // t, t, wp // t, t).sum(dim=(1, 3))
        n = count.view(1, hp // t, t, wp // t, t).sum(dim=(1, 3))
        return total / n.clamp(min=1.0)

    def _gain(self, luma: torch.Tensor) -> torch.Tensor:
        """(B, coords): RMS of the full image's spectrum on each coordinate's ring."""
        centred = luma - luma.mean(dim=(1, 2), keepdim=True)
        power = torch.fft.rfft2(centred, norm="ortho").abs().square().flatten(1)
        sums = torch.zeros(luma.shape[0], int(self.ring.max()) + 1, device=luma.device)
        sums = sums.index_add(1, self.ring, power * self.ring_weight)
        rms = (sums[:, self.radii] / self.ring_count).sqrt().clamp(min=_GAIN_FLOOR)
        return rms[:, self.coord_ring]

    def coefficients(self, images: torch.Tensor, reference: torch.Tensor | None = None
                     ) -> torch.Tensor:
        """(B, dims) the band's coordinates of (B, C, H, W) images in [-1, 1], in units of
        the ring energy of `reference` (default: of the images themselves, as `detect`)."""
        luma = _luma(images)
        spectrum = torch.fft.rfft2(self._fold(luma), norm="ortho")[:, self.rows, self.cols]
        real = np.sqrt(2.0) * torch.cat([spectrum.real, spectrum.imag], dim=1)
        unit = self._gain(luma if reference is None else _luma(reference))
        return real / unit


def _straight_through_jpeg(images: torch.Tensor, quality: int, rng: np.random.Generator
                           ) -> torch.Tensor:
    """Round to uint8 and, for a random half of the batch, JPEG-compress: the attack in the
    forward pass, the identity in the backward pass."""
    from genlab.provenance.attacks import jpeg

    pixels = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round()
    attacked = pixels.clone()
    channels = pixels.shape[1]
    for i in np.flatnonzero(rng.random(pixels.shape[0]) < 0.5):
        array = pixels[i].permute(1, 2, 0).cpu().numpy().astype(np.uint8)
        back = jpeg(array[..., 0] if channels == 1 else array, quality)
        attacked[i] = torch.from_numpy(back.astype(np.float32).reshape(array.shape)).permute(
            2, 0, 1).to(pixels.device)
    target = attacked / 127.5 - 1.0
    return images + (target - images).detach()


class WatermarkGame(NoiseGame):
    """Stable Signature on the loop: G learns to make every sample read as the key's message
    while staying close to the frozen source generator on the same noise (D does not play:
    real images carry no mark, so a D would teach G to remove it)."""

    adversarial = False

    def __init__(self, reader: _SignReader, weight: float, anchor: nn.Module,
                 anchor_weight: float, jpeg_quality: int = 75, seed: int = 0) -> None:
        self.reader = reader
        self.weight = weight
        self.anchor = anchor.eval().requires_grad_(False)
        self.anchor_weight = anchor_weight
        self.jpeg_quality = jpeg_quality
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_config(cls, config: TrainConfig, data: GanData) -> WatermarkGame:
        """The game a run's watermark fields describe, for its image size."""
        from genlab.gan.checkpoint import load_generator

        if not config.watermark_source:
            raise ValueError("a watermarked generator needs watermark_source: the run whose "
                             "generator it starts from and stays close to")
        anchor, _ = load_generator(Path(config.watermark_source))
        height, width = (int(s) for s in data.x.shape[-2:])
        key, message = config.watermark_key, config.watermark_message
        reader: _SignReader
        if config.watermark_reader:
            path = Path(config.watermark_reader)
            basis = load_quiet(path if path.is_absolute() else Path(config.out) / path)
            if (basis.height, basis.width) != (height, width):
                raise ValueError(f"the watermark reader was fitted on {basis.width}×"
                                 f"{basis.height} images, the run makes {width}×{height}")
            reader = QuietReader(basis, key, message,
                                 config.watermark_margin or DEFAULT_MARGINS["quiet"])
        else:
            reader = ChipReader(key, message, height, width,
                                config.watermark_margin or DEFAULT_MARGINS["fourier"])
        return cls(reader, config.watermark_weight, anchor,
                   config.watermark_anchor, seed=config.seed)

    def g_batch(self, parts: Parts, batches: Batches
                ) -> tuple[torch.Tensor, Condition, torch.Tensor | None]:
        """G's samples, and its loss: weight · hinge of the read bits (after uint8 rounding
        and, for half the batch, JPEG) + anchor_weight · MSE to the source generator."""
        z, labels = parts.fake_inputs()
        with parts.autocast():
            fake = parts.g_train(z, labels)
        self.reader = self.reader.to(fake.device)
        self.anchor = self.anchor.to(fake.device)
        with torch.no_grad():
            target = self.anchor(z, labels).float()
        attacked = _straight_through_jpeg(fake.float(), self.jpeg_quality, self.rng)
        extra = (self.weight * self.reader.loss(attacked, reference=target)
                 + self.anchor_weight * (fake.float() - target).square().mean())
        return fake, labels, extra


def _fit_reader(source: Path, out: Path, dims: int) -> str:
    """Fit the quiet basis on the source generator's samples and store it in `out`; the
    file name the run's config keeps (relative to the run folder, so the folder can move)."""
    from genlab.gan.checkpoint import load_generator
    from genlab.gan.sample import sample

    generator, _ = load_generator(source)
    probe = sample(generator, 1)
    height, width = (int(s) for s in probe.shape[-2:])
    n, chunk = QUIET_SAMPLES * height * width, 1024
    luma = torch.cat([_luma(sample(generator, min(chunk, n - start), seed=start + 1)).round()
                      for start in range(0, n, chunk)])
    fit_quiet_basis(luma.numpy(), dims=dims).save(Path(out) / QUIET_FILE)
    return QUIET_FILE


def watermark_generator(run: Path, out: Path, key: str, message: str, steps: int = 600,
                        weight: float = 1.0, anchor: float = DEFAULT_ANCHOR,
                        margin: float = 0.0, lr: float = 2e-4,
                        minutes: float | None = None, progress: bool = True,
                        reader: str = "quiet", dims: int = DEFAULT_DIMS) -> Path:
    """Continue a trained noise-GAN run in `out`, teaching G to write `key` and `message`.

    G starts from the run's EMA weights (the generator its samples come from), and so does
    the frozen anchor it stays close to; the new run keeps no EMA (the fine-tuning is short
    and the anchor already keeps it smooth) and fine-tunes at `lr`. `reader` "quiet" first
    fits its basis (`dims` directions) on the source's samples and stores it in `out`;
    margin 0 is the reader's default (`DEFAULT_MARGINS`). Returns `out`.
    """
    from genlab.gan.checkpoint import (
        checkpoint_path,
        latest_checkpoint,
        list_checkpoints,
        read_checkpoint,
        write_checkpoint,
    )
    from genlab.gan.config import TrainConfig
    from genlab.gan.train import train
    from genlab.provenance.watermark import payload_bytes

    payload_bytes(message)  # validate before any work
    if not key:
        raise ValueError("key must be a non-empty string")
    if reader not in READERS:
        raise ValueError(f"reader must be one of {', '.join(READERS)}, got {reader!r}")
    if list_checkpoints(Path(out)):
        raise ValueError(f"{out} already holds checkpoints: choose another folder "
                         "(or continue it with genlab gan train --resume)")
    source = latest_checkpoint(Path(run))
    tensors, meta = read_checkpoint(source)
    stored: dict[str, Any] = dict(meta["config"])
    if stored.get("task") or stored.get("data") in ("shapes", "mnist-captions"):
        raise ValueError(f"{run} is not a noise GAN (task or text-to-image run): only DCGAN / "
                         "conditional DCGAN runs can be watermarked this way")
    if any(k.startswith("ema.") for k in tensors):
        for name in [k for k in tensors if k.startswith("g.")]:
            tensors[name] = tensors["ema." + name[2:]].clone()
        tensors = {k: v for k, v in tensors.items() if not k.startswith("ema.")}
    reader_file = _fit_reader(source, Path(out), dims) if reader == "quiet" else ""
    stored.update(watermark_key=key, watermark_message=message, watermark_weight=weight,
                  watermark_margin=margin, watermark_anchor=anchor,
                  watermark_source=str(source.resolve()), watermark_reader=reader_file,
                  ema=0.0, lr_g=lr, lr_d=lr, out=str(out))
    done = int(meta["step"])
    write_checkpoint(checkpoint_path(Path(out), done), tensors, {**meta, "config": stored})
    config = replace(TrainConfig.from_json(stored), out=str(out), resume=True,
                     steps=done + steps, minutes=minutes, progress=progress)
    return train(config)


def measure_marked(generator: nn.Module, key: str, message: str, n: int = 256, seed: int = 0,
                   jpeg_quality: int = 75, reader: QuietBasis | None = None,
                   source: nn.Module | None = None) -> dict[str, float]:
    """Bit accuracy and detection rate of `key` in n quantised samples, clean and after JPEG,
    read on `reader`'s quiet subspace (None: the Fourier band).

    Also the same for a different key (its detection rate is the false-positive rate) and,
    given the `source` generator, the PSNR of the samples against its samples of the same
    noise (how far fine-tuning moved them, mark included).
    """
    from genlab.gan.sample import sample
    from genlab.provenance.attacks import jpeg, psnr
    from genlab.provenance.images import from_unit
    from genlab.provenance.watermark import detect, payload_bits

    pixels = from_unit(sample(generator, n, seed=seed).numpy())
    want = payload_bits(message)
    out: dict[str, float] = {"samples": float(n)}
    for name, attack in (("clean", None), (f"jpeg{jpeg_quality}", jpeg_quality)):
        found = [detect(p if attack is None else jpeg(p, attack), key, readout="sign",
                        message=message, reader=reader) for p in pixels]
        bits = np.array([[int(b) for b in f.bits] for f in found])
        out[f"{name}_bit_accuracy"] = float((bits == want).mean())
        out[f"{name}_detected"] = float(np.mean([f.detected for f in found]))
    if source is not None:
        before = from_unit(sample(source, n, seed=seed).numpy())
        out["psnr_vs_source"] = psnr(pixels.reshape(-1, pixels.shape[-1]),
                                     before.reshape(-1, before.shape[-1]))
    out["other_key_detected"] = float(np.mean(
        [detect(p, key + "/other", readout="sign", message=message, reader=reader).detected
         for p in pixels]))
    return out
