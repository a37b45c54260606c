"""Goodfellow et al.'s Algorithm 1: k discriminator steps per generator step, as a short loop
of named steps (d_step, g_step, ema_step, snapshot, save) around self-describing checkpoints.

Launched by `torchrun --nproc_per_node=N` it runs DDP: each rank draws its own share of every
epoch (DistributedSampler) with its own noise seed; rank 0 logs, samples and checkpoints.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DistributedSampler

from genlab.gan.augment import DiffAugment
from genlab.gan.checkpoint import (
    checkpoint_path,
    list_checkpoints,
    load_module,
    load_optimizer,
    module_tensors,
    optimizer_tensors,
    prune_checkpoints,
    read_checkpoint,
    write_checkpoint,
)
from genlab.gan.config import ARCH_KEYS, TrainConfig, resolve_config, resolve_device
from genlab.gan.data import GanData, is_text_data, load_dataset, mixture_modes
from genlab.gan.distributed import Dist, setup_distributed
from genlab.gan.game import NoiseGame, PairedGame, TextGame
from genlab.gan.losses import LOSSES, PENALTIES, GanLoss, matching_aware_d
from genlab.gan.monitor import FailureWatch, MetricsLog, TrainingDiverged, progress_bar
from genlab.gan.nets import build_pair
from genlab.gan.sample import Conditions, generate, latent, sample, save_grid, save_points

__all__ = ["LoopState", "TrainConfig", "TrainingDiverged", "merge_resumed", "train"]


@dataclass
class LoopState:
    """Where the loop is: generator steps done, epoch and position in it, training seconds."""

    step: int = 0
    epoch: int = 0
    cursor: int = 0
    seconds: float = 0.0


class Batches:
    """Minibatches of m real samples in epoch order from a DistributedSampler (1 rank or N).

    The order is a function of (seed, epoch), so (epoch, cursor) in a checkpoint replays it.
    """

    def __init__(self, data: GanData, m: int, dist: Dist, seed: int, device: torch.device,
                 channels_last: bool, state: LoopState, use_labels: bool) -> None:
        if len(data.x) < m * dist.world:
            raise ValueError(f"dataset {data.name!r} has {len(data.x)} samples, fewer than one "
                             f"batch of {m} per process")
        self.x = data.x.to(device)
        self.labels = data.labels.to(device) if use_labels and data.labels is not None else None
        self.m, self.channels_last, self.state = m, channels_last, state
        indices: Any = range(len(data.x))  # the sampler only needs len()
        self.sampler: DistributedSampler[int] = DistributedSampler(
            indices, num_replicas=dist.world, rank=dist.rank, shuffle=True, seed=seed,
            drop_last=True)
        self._order = self._epoch_order()

    def _epoch_order(self) -> torch.Tensor:
        self.sampler.set_epoch(self.state.epoch)
        return torch.tensor(list(iter(self.sampler)), dtype=torch.int64)

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next m samples (and labels); a new shuffled epoch when this one runs out."""
        if self.state.cursor + self.m > len(self._order):
            self.state.epoch, self.state.cursor = self.state.epoch + 1, 0
            self._order = self._epoch_order()
        idx = self._order[self.state.cursor:self.state.cursor + self.m].to(self.x.device)
        self.state.cursor += self.m
        x = self.x[idx]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, None if self.labels is None else self.labels[idx]


@dataclass
class Parts:
    """Everything the named steps act on."""

    config: TrainConfig
    num_classes: int
    g: nn.Module
    d: nn.Module
    g_train: nn.Module  # g, or its DDP wrapper
    d_train: nn.Module  # d, or its DDP wrapper
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    loss: GanLoss
    noise: torch.Generator
    device: torch.device
    ema: nn.Module | None = None
    dist: Dist = field(default_factory=Dist)
    # what D sees of real and fake images; the empty policy passes them through as they are
    augment: DiffAugment = field(default_factory=lambda: DiffAugment("none", torch.Generator()))
    # what is played: noise to image (optionally class-conditional), image to image, or
    # text to image
    game: NoiseGame | PairedGame | TextGame = field(default_factory=NoiseGame)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast when the config asks for it, else nothing."""
        if self.config.precision != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def fake_inputs(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fresh noise z ~ N(0, σ²I) (and uniform labels when conditional) for m samples."""
        m = self.config.batch_size or 0
        z = latent(self.g, m, self.noise).to(self.device)
        if not self.num_classes:
            return z, None
        return z, torch.randint(0, self.num_classes, (m,), generator=self.noise).to(self.device)


def _optimizer(
    config: TrainConfig, params: Iterator[nn.Parameter], lr: float
) -> torch.optim.Optimizer:
    """Adam (DCGAN: β = (0.5, 0.999)) or SGD with momentum (as in Goodfellow et al.)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum)
    return torch.optim.Adam(params, lr=lr, betas=config.betas or (0.5, 0.999))


def _finite(value: float, what: str, step: int, parts: Parts) -> float:
    """Stop with a clear message on NaN/Inf, before the bad loss touches any weight; under
    DDP every rank stops together when any rank sees it."""
    bad = parts.dist.bad_ranks(not math.isfinite(value))
    if bad:
        found = list_checkpoints(Path(parts.config.out))
        kept = f"the last good checkpoint is {found[-1]}" if found else "no checkpoint was written"
        where = f" on rank {', '.join(map(str, bad))}" if parts.dist.enabled else ""
        raise TrainingDiverged(
            f"training diverged at step {step}: the {what} loss is "
            f"{'not finite' if math.isfinite(value) else value}{where}; stopped before "
            f"updating the weights with it, and {kept}. Try a lower learning rate, "
            "--precision fp32, or an R1 penalty."
        )
    return value


def d_step(parts: Parts, batches: Batches, step: int) -> float:
    """One ascent step of D on log D(x) + log(1 − D(G(z))) (or the chosen loss) + penalty."""
    real, real_cond, fake, fake_cond = parts.game.d_batch(parts, batches)
    wrong_cond = parts.game.wrong_condition()
    real, fake = parts.augment(real), parts.augment(fake)
    with parts.autocast():
        real_logits = parts.d_train(real, real_cond)
        fake_logits = parts.d_train(fake, fake_cond)
        # matching-aware (text): a real image with the wrong text is fake too
        wrong_logits = None if wrong_cond is None else parts.d_train(real, wrong_cond)
    if wrong_logits is None:
        loss = parts.loss.d(real_logits.float(), fake_logits.float())
    else:
        loss = matching_aware_d(parts.loss.d, real_logits.float(), fake_logits.float(),
                                wrong_logits.float())
    config = parts.config
    if config.penalty != "none":
        def critic(x: torch.Tensor) -> torch.Tensor:
            return parts.d_train(x, real_cond)

        weight = config.penalty_weight or 0.0
        loss = loss + weight * PENALTIES[config.penalty](critic, real, fake.float())
    value = _finite(loss.item(), "discriminator", step, parts)
    parts.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    parts.opt_d.step()
    return value


def adversarial_now(parts: Parts, step: int) -> bool:
    """Whether D plays at generator step `step`: always in a GAN; in an image task unless it
    is the L1-only ablation or still in its L1 warm-up (SRGAN's pre-trained G)."""
    return parts.game.adversarial and step >= (parts.config.l1_warmup or 0)


def g_step(parts: Parts, batches: Batches, step: int) -> float:
    """One descent step of G on its loss of D(G(z)) (D's parameters frozen) plus the game's
    extra terms; the L1-only ablation (and an L1 warm-up) of an image task has no D term."""
    fake, cond, extra = parts.game.g_batch(parts, batches)
    if adversarial_now(parts, step):
        parts.d.requires_grad_(False)
        try:
            with parts.autocast():
                logits = parts.d(parts.augment(fake), cond)
        finally:
            parts.d.requires_grad_(True)
        loss = parts.loss.g(logits.float())
        loss = loss if extra is None else loss + extra
    else:
        assert extra is not None
        loss = extra
    value = _finite(loss.item(), "generator", step, parts)
    parts.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    parts.opt_g.step()
    return value


def lr_factor(config: TrainConfig, step: int, elapsed: float) -> float:
    """Multiplier of the base learning rates: 1, then a linear fall to 0 over the last
    `lr_decay` fraction of the budget (generator steps, or this invocation's minutes)."""
    decay = config.lr_decay or 0.0
    if decay <= 0.0:
        return 1.0
    progress = 0.0
    if config.steps:
        progress = step / config.steps
    if config.minutes:
        progress = max(progress, elapsed / (60 * config.minutes))
    return min(1.0, max(0.0, (1.0 - progress) / decay))


def set_learning_rates(parts: Parts, factor: float) -> None:
    """Scale both optimizers' learning rates to `factor` times the configured ones."""
    for opt, base in ((parts.opt_g, parts.config.lr_g), (parts.opt_d, parts.config.lr_d)):
        for group in opt.param_groups:
            group["lr"] = (base or 0.0) * factor


def ema_decay(config: TrainConfig, step: int) -> float:
    """The EMA decay after `step` generator steps: config.ema, lowered early in training so the
    average's half-life is at most `ema_rampup` of the steps done (StyleGAN2-ADA's ramp-up).

    Without it a slow EMA (0.999) lags a still-moving G in short runs: grid25 at 6k steps kept
    23/25 modes, where the same run with the ramp-up keeps all 25.
    """
    decay, rampup = config.ema or 0.0, config.ema_rampup or 0.0
    if rampup <= 0.0 or decay <= 0.0:
        return decay
    return min(decay, 0.5 ** (1.0 / (rampup * step))) if step > 0 else 0.0


@torch.no_grad()
def ema_step(parts: Parts, step: int) -> None:
    """EMA of G's weights after generator step `step` (decay `ema_decay`); buffers
    (batch-norm statistics) are copied."""
    if parts.ema is None:
        return
    decay = ema_decay(parts.config, step)
    for target, source in zip(parts.ema.parameters(), parts.g.parameters(), strict=True):
        target.lerp_(source, 1.0 - decay)
    for buffer, value in zip(parts.ema.buffers(), parts.g.buffers(), strict=True):
        buffer.copy_(value)


@torch.no_grad()
def recalibrate_batch_norm(generator: nn.Module, seed: int, batches: int = 16,
                           batch_size: int = 64, conditions: Conditions | None = None) -> None:
    """Re-estimate the batch-norm running statistics of `generator` for its own weights.

    The EMA copy averages G's weights but `ema_step` copies G's statistics, which belong to
    G's weights, not the average (EMA 0.999 on MNIST: FID 63.5 with copied statistics, 45.1
    re-estimated). Uses its own seeded noise, so the training noise stream is untouched.
    `conditions(n, rng)` gives G's condition when sample() cannot draw it (text embeddings).
    """
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    was_training = generator.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    generator.train()
    try:  # G runs in batches of batch_size: one statistics update per batch
        cond = None if conditions is None else conditions(
            batches * batch_size, torch.Generator().manual_seed(seed + 1))
        if cond is None:
            sample(generator, batches * batch_size, seed=seed, batch_size=batch_size)
        else:
            z = latent(generator, len(cond), torch.Generator().manual_seed(seed))
            generate(generator, z, cond, batch_size=batch_size)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        generator.train(was_training)


def settle_ema(parts: Parts) -> None:
    """Before the EMA copy is read (saved or sampled), give it batch-norm statistics of its
    own weights; fixed noise, so a resumed run settles it identically."""
    if parts.ema is not None:
        recalibrate_batch_norm(parts.ema, parts.config.seed + 104_729,
                               conditions=parts.game.conditions)


def _fixed_inputs(config: TrainConfig, g: nn.Module, num_classes: int, n: int
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The fixed noise batch for snapshots (one row per class when conditional)."""
    rng = torch.Generator().manual_seed(config.seed + 7919)
    if num_classes:
        per_class = max(1, n // num_classes) if config.model == "mlp" else 8
        labels = torch.arange(num_classes).repeat_interleave(per_class)
        return latent(g, len(labels), rng), labels
    return latent(g, n, rng), None


def snapshot(parts: Parts, run_dir: Path, step: int, data: GanData, watch: FailureWatch,
             log: MetricsLog) -> Path:
    """Samples of the (EMA) generator on the fixed noise batch -> samples/step-N.png; checks
    their diversity against real data. An image task shows input / output / truth rows."""
    settle_ema(parts)
    generator = parts.ema if parts.ema is not None else parts.g
    if isinstance(parts.game, PairedGame):
        return _paired_snapshot(parts.game, generator, run_dir / "samples" / f"step-{step:08d}.png",
                                data, parts.config.seed)
    if isinstance(parts.game, TextGame):
        return _text_snapshot(parts.game, generator, run_dir / "samples" / f"step-{step:08d}.png",
                              parts.config.seed)
    points = data.is_points
    z, labels = _fixed_inputs(parts.config, generator, parts.num_classes, 2500 if points else 64)
    was_training = generator.training
    generator.eval()
    fake = generate(generator, z, labels)
    generator.train(was_training)
    path = run_dir / "samples" / f"step-{step:08d}.png"
    if points:
        save_points(fake, path, mixture_modes(data.name), title=f"step {step}")
    else:
        save_grid(fake, path, nrow=8)
    order = torch.randperm(len(data.x), generator=torch.Generator().manual_seed(0))
    real = data.x[order]
    if labels is not None and data.labels is not None and not points:  # within each class
        real_labels = data.labels[order]
        ratio, message = watch.diversity(
            step, [fake[labels == c] for c in range(parts.num_classes)],
            [real[real_labels == c][:8] for c in range(parts.num_classes)])
    else:
        ratio, message = watch.diversity(step, fake[:64], real[:64])
    log.write({"step": step, "diversity": ratio, **({"warning": message} if message else {})})
    return path


def _paired_snapshot(game: PairedGame, generator: nn.Module, path: Path, data: GanData,
                     seed: int) -> Path:
    """Rows: 8 fixed training crops degraded with a fixed seed, G's restorations, the truth."""
    clean = data.x[torch.randperm(len(data.x), generator=torch.Generator().manual_seed(0))[:8]]
    device = next(generator.parameters()).device
    degraded = game.task.degrade(clean.to(device), torch.Generator().manual_seed(seed + 7919))
    was_training = generator.training
    generator.eval()
    restored = game.restore(generator, degraded).cpu()
    generator.train(was_training)
    return save_grid(torch.cat([degraded.view.float().cpu().clamp(-1, 1), restored, clean]),
                     path, nrow=8)


def _text_snapshot(game: TextGame, generator: nn.Module, path: Path, seed: int) -> Path:
    """Rows: 8 fixed training captions; columns: 8 fixed noise vectors."""
    captions = game.conditions(8, torch.Generator().manual_seed(seed + 7919))
    z = latent(generator, 64, torch.Generator().manual_seed(seed + 7920))
    was_training = generator.training
    generator.eval()
    fake = generate(generator, z, captions.cpu().repeat_interleave(8, dim=0))
    generator.train(was_training)
    return save_grid(fake, path, nrow=8)


def save(parts: Parts, state: LoopState, run_dir: Path, dist: Dist) -> Path | None:
    """Checkpoint (rank 0 writes; every rank contributes its noise RNG state)."""
    noise_states = dist.gather(parts.noise.get_state())
    if not dist.main:
        return None
    tensors = {**module_tensors("g", parts.g), **module_tensors("d", parts.d)}
    settle_ema(parts)
    if parts.ema is not None:
        tensors.update(module_tensors("ema", parts.ema))
    opt_g, groups_g = optimizer_tensors("opt_g", parts.opt_g)
    opt_d, groups_d = optimizer_tensors("opt_d", parts.opt_d)
    tensors.update(opt_g | opt_d)
    tensors.update({f"rng.noise.{r}": s for r, s in enumerate(noise_states)})
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {
        "config": {**parts.config.to_json(), "num_classes": parts.num_classes},
        "step": state.step,
        "state": {"epoch": state.epoch, "cursor": state.cursor, "seconds": state.seconds},
        "optimizers": {"g": groups_g, "d": groups_d},
        "world": dist.world,
    }
    path = write_checkpoint(checkpoint_path(run_dir, state.step), tensors, meta)
    prune_checkpoints(run_dir, parts.config.keep_checkpoints)
    return path


def _restore(parts: Parts, state: LoopState, tensors: dict[str, torch.Tensor],
             meta: dict[str, Any], source: Path, dist: Dist) -> None:
    """Put weights, optimizer moments, RNG and loop position back exactly as saved."""
    load_module(parts.g, "g", tensors, source)
    load_module(parts.d, "d", tensors, source)
    if parts.ema is not None:
        load_module(parts.ema, "ema", tensors, source)
    load_optimizer(parts.opt_g, "opt_g", tensors, meta["optimizers"]["g"], source)
    load_optimizer(parts.opt_d, "opt_d", tensors, meta["optimizers"]["d"], source)
    noise = tensors.get(f"rng.noise.{dist.rank}")
    if noise is not None:
        parts.noise.set_state(noise)
    torch.set_rng_state(tensors["rng.torch"])
    state.step = int(meta["step"])
    state.epoch, state.cursor = int(meta["state"]["epoch"]), int(meta["state"]["cursor"])
    state.seconds = float(meta["state"]["seconds"])


def merge_resumed(config: Any, saved: Any, default: Any, fixed: Sequence[str],
                  kept: Sequence[str], source: Path, unset: tuple[Any, ...] = ()) -> Any:
    """A resumed run's config (GAN or LM loop): `saved` — the run as stored — with this
    invocation's `kept` fields (budget, logging). A `fixed` field this invocation sets (not its
    `default` nor one of `unset`) to another value than the run's is an error naming the run."""
    for key in fixed:
        asked, had = getattr(config, key), getattr(saved, key)
        if asked != getattr(default, key) and asked not in unset and asked != had:
            raise ValueError(f"--resume: {source} was trained with {key}={had!r}, but this run "
                             f"asks for {key}={asked!r} (what a run trains is fixed for it; "
                             "use a new --out to change it)")
    return replace(saved, **{k: getattr(config, k) for k in kept})


RESUME_KEEPS = ("out", "steps", "minutes", "device", "threads", "resume", "checkpoint_every",
                "checkpoint_minutes", "keep_checkpoints", "sample_every", "log_every",
                "progress")  # what a GAN resume takes from the invocation, not the run


def _build(config: TrainConfig, data: GanData, dist: Dist, device: torch.device,
           game: NoiseGame | PairedGame | TextGame | None = None) -> Parts:
    """Networks, optimizers and noise RNG for a resolved config."""
    torch.manual_seed(config.seed)  # network initialisation: identical on every rank
    num_classes = data.num_classes if config.conditional else 0
    g, d = build_pair(config.architecture(num_classes))
    g, d = g.to(device), d.to(device)
    if config.channels_last:
        channels_last = torch.channels_last
        g = g.to(memory_format=channels_last)  # type: ignore[call-overload]
        d = d.to(memory_format=channels_last)  # type: ignore[call-overload]
    g_train, d_train = g, d
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        g_train, d_train = DDP(g, device_ids=ids), DDP(d, device_ids=ids)
    ema = copy.deepcopy(g).requires_grad_(False) if (config.ema or 0.0) > 0 else None
    noise = torch.Generator().manual_seed(config.seed * 1000 + dist.rank + 1)
    return Parts(
        config=config, num_classes=num_classes, g=g, d=d, g_train=g_train, d_train=d_train,
        opt_g=_optimizer(config, g.parameters(), config.lr_g or 0.0),
        opt_d=_optimizer(config, d.parameters(), config.lr_d or 0.0),
        loss=LOSSES[config.loss],
        noise=noise, device=device, ema=ema, dist=dist,
        augment=DiffAugment(config.augment, noise), game=game or NoiseGame(),
    )


def _setup_game(config: TrainConfig, resumed: bool, dist: Dist
                ) -> tuple[TrainConfig, GanData, NoiseGame | PairedGame | TextGame]:
    """The training set and the game a config plays: captioned images and their sentence
    embeddings, an image task's clean crops and pairs, or a GAN data set and noise."""
    if is_text_data(config.data):
        from genlab.gan.text.training import text_setup

        return text_setup(config, resumed, write=dist.main)
    if not config.task:
        data = load_dataset(config.data, config.img_size or None, config.img_channels or 3)
        if config.watermark_key:
            from genlab.provenance.marked import WatermarkGame

            return config, data, WatermarkGame.from_config(config, data)
        return config, data, NoiseGame()
    from genlab.gan.tasks.degrade import get_task
    from genlab.gan.tasks.photos import task_data

    size = config.img_size or (32 if config.data in ("mnist", "digits") else 64)
    data = task_data(config.data, "train", size, config.img_channels or 3, seed=config.seed)
    game = PairedGame(get_task(config.task, config.scale), config.l1_weight, config.adversarial)
    return config, data, game


def _prepare(config: TrainConfig, dist: Dist) -> tuple[TrainConfig, dict[str, Any] | None]:
    """Resolve resume: the stored config and checkpoint, or a fresh start in an empty folder."""
    run_dir = Path(config.out)
    found = list_checkpoints(run_dir)
    if found and not config.resume:
        raise ValueError(f"{run_dir} already holds checkpoints: pass --resume to continue that "
                         "run, or choose another --out")
    if not (found and config.resume):
        return config, None
    tensors, meta = read_checkpoint(found[-1])
    merged = merge_resumed(config, TrainConfig.from_json(meta["config"]), TrainConfig(),
                           ARCH_KEYS, RESUME_KEEPS, found[-1], unset=(None, "auto", 0))
    return merged, {"tensors": tensors, "meta": meta, "source": found[-1]}


def _threads(config: TrainConfig, points: bool) -> int:
    """Intra-op threads: the config's; 1 for the tiny 2-D MLPs (thread hand-offs cost more
    than their arithmetic, ~9× slower on a busy 2-core box); else cores per local rank."""
    if config.threads:
        return config.threads
    if points:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def _progress(config: TrainConfig, dist: Dist) -> Any:
    """A rich progress bar (losses, img/s, ETA) on rank 0, or a do-nothing stand-in."""
    return progress_bar("GAN", config.progress and dist.main)


def train(config: TrainConfig) -> Path:
    """Train a GAN by Algorithm 1 and return its run folder (checkpoints, samples, metrics).

    Stops after `config.steps` generator steps (a total, counted across resumes) or
    `config.minutes` of this invocation, whichever comes first; `config.lr_decay` lowers the
    learning rates linearly to 0 over the last part of that budget. Raises TrainingDiverged on
    NaN/Inf losses, leaving the last good checkpoint in place.
    """
    if config.steps is None and config.minutes is None:
        raise ValueError("give a budget: steps (generator steps) or minutes")
    device = resolve_device(config.device, int(os.environ.get("LOCAL_RANK", "0")))
    dist = setup_distributed(device)
    threads = torch.get_num_threads()
    try:
        return _run(config, dist, device)
    finally:
        torch.set_num_threads(threads)  # the loop's thread count is not a lasting side effect
        dist.close()


def _run(config: TrainConfig, dist: Dist, device: torch.device) -> Path:
    """The body of train(): set up, loop over the named steps, checkpoint at the end."""
    run_dir = Path(config.out)
    config, resumed = _prepare(config, dist)
    config, data, game = _setup_game(config, resumed is not None, dist)
    config = resolve_config(config, data, device)
    torch.set_num_threads(_threads(config, data.is_points))
    if isinstance(game, TextGame):
        game = game.to(device)
    parts = _build(config, data, dist, device, game)
    state = LoopState()
    if resumed is not None:
        _restore(parts, state, resumed["tensors"], resumed["meta"], resumed["source"], dist)
    batches = Batches(data, config.batch_size or 64, dist, config.seed, device,
                      bool(config.channels_last), state,
                      use_labels=parts.num_classes > 0 or isinstance(game, TextGame))
    if dist.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(
            {**config.to_json(), "num_classes": parts.num_classes, "world": dist.world}, indent=2))
    log, watch = MetricsLog(run_dir, enabled=dist.main), FailureWatch()
    start, last_ckpt, first_step = time.perf_counter(), time.perf_counter(), state.step
    deadline = None if config.minutes is None else start + 60 * config.minutes
    window = {"d": 0.0, "g": 0.0, "n": 0, "t": time.perf_counter()}
    total = config.steps if config.steps is not None else None
    with _progress(config, dist) as bar:
        task = bar.add_task(f"{config.data}/{config.model}", stats="",
                            total=total if total is not None else 60 * (config.minutes or 0),
                            completed=state.step if total is not None else 0)
        while True:
            now = time.perf_counter()
            stop = (total is not None and state.step >= total) or (
                deadline is not None and now >= deadline)
            due = config.checkpoint_every and state.step % config.checkpoint_every == 0
            timed = now - last_ckpt >= 60 * config.checkpoint_minutes
            stop, ckpt = dist.agree([stop, bool(due or timed) and state.step > first_step])
            if ckpt and not stop:
                save(parts, state, run_dir, dist)
                last_ckpt = time.perf_counter()
            if stop:
                break
            if dist.main and config.sample_every and state.step % config.sample_every == 0:
                snapshot(parts, run_dir, state.step, data, watch, log)
            t0 = time.perf_counter()
            set_learning_rates(parts, lr_factor(config, state.step, t0 - start))
            playing = adversarial_now(parts, state.step)
            d_loss = sum(d_step(parts, batches, state.step) for _ in range(config.d_steps)
                         ) / config.d_steps if playing else 0.0
            g_loss = g_step(parts, batches, state.step)
            state.step += 1
            ema_step(parts, state.step)
            state.seconds += time.perf_counter() - t0
            window["d"] += d_loss
            window["g"] += g_loss
            window["n"] += 1
            message = watch.losses(state.step, d_loss, g_loss) if playing else None
            if message and dist.main:
                log.write({"step": state.step, "warning": message})
            if state.step % config.log_every == 0 or state.step == total:
                _log_window(window, state, config, dist, log, bar, task, start, total)
        save(parts, state, run_dir, dist)
        if dist.main:
            snapshot(parts, run_dir, state.step, data, watch, log)
    _summary(parts, state, run_dir, dist, first_step, time.perf_counter() - start)
    log.close()
    return run_dir


def _log_window(window: dict[str, float], state: LoopState, config: TrainConfig, dist: Dist,
                log: MetricsLog, bar: Any, task: Any, start: float, total: int | None) -> None:
    """Write the averaged losses and throughput of the last few steps; refresh the bar."""
    now = time.perf_counter()
    n = window["n"]
    img_s = n * (config.batch_size or 0) * dist.world / max(now - window["t"], 1e-9)
    record = {"step": state.step, "epoch": state.epoch, "d_loss": window["d"] / n,
              "g_loss": window["g"] / n, "img_per_s": img_s, "seconds": state.seconds}
    log.write(record)
    stats = (f"step {state.step}  D {record['d_loss']:.3f}  G {record['g_loss']:.3f}  "
             f"{img_s:.0f} img/s")
    bar.update(task, completed=state.step if total is not None else now - start, stats=stats)
    window.update({"d": 0.0, "g": 0.0, "n": 0, "t": now})


def _summary(parts: Parts, state: LoopState, run_dir: Path, dist: Dist, first_step: int,
             wall: float) -> None:
    """summary.json: steps, time, throughput, and whether all DDP replicas hold equal weights."""
    checksum = torch.stack([p.detach().double().sum().cpu() for p in parts.g.parameters()])
    copies = dist.gather(checksum)
    if not dist.main:
        return
    steps = state.step - first_step
    summary = {
        "steps": state.step, "steps_this_run": steps, "wall_seconds": wall,
        "img_per_s": steps * (parts.config.batch_size or 0) * dist.world / max(wall, 1e-9),
        "world": dist.world, "precision": parts.config.precision,
        "channels_last": parts.config.channels_last,
        "replicas_in_sync": all(torch.equal(c, copies[0]) for c in copies),
        "checkpoint": str(list_checkpoints(run_dir)[-1]) if list_checkpoints(run_dir) else None,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
