"""TrainConfig: every knob of a GAN training run, JSON-serialisable, with per-data defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch

from genlab.gan.augment import parse_policy
from genlab.gan.data import GanData, is_text_data
from genlab.gan.defaults import DATA_DEFAULTS, KIND_DEFAULTS, PENALTY_WEIGHT, TASK_DEFAULTS
from genlab.gan.losses import LOSSES, PENALTIES
from genlab.gan.nets import ARCHITECTURES, Architecture

__all__ = [
    "ARCH_KEYS",
    "DATA_DEFAULTS",
    "KIND_DEFAULTS",
    "TEXT_ENCODERS",
    "TrainConfig",
    "bf16_supported",
    "resolve_config",
    "resolve_device",
]

TEXT_ENCODERS = ("builtin", "minilm")  # the built-in dual encoder; MiniLM (extra `text`)

# Fields that define the networks and the game; a resumed run must not change them.
ARCH_KEYS = ("data", "model", "conditional", "z_dim", "z_std", "img_size", "img_channels",
             "width", "loss", "penalty", "optimizer", "d_steps", "batch_size", "ema", "ema_rampup",
             "augment", "task", "scale", "l1_weight", "adversarial", "depth",
             "l1_warmup", "text_encoder", "text_dim", "mismatch", "interpolation",
             "match_weight", "diversity_weight", "watermark_key", "watermark_message",
             "watermark_weight", "watermark_margin", "watermark_anchor", "watermark_source",
             "watermark_reader")


@dataclass(frozen=True)
class TrainConfig:
    """A GAN training run (Goodfellow et al.'s Algorithm 1 with `d_steps` = k).

    None / "auto" / 0 mean "the default for this data" (see KIND_DEFAULTS): DCGAN of width 32
    at 32 px (64 above), channels_last, batch 64, Adam 2e-4 (0.5, 0.999), no penalty, no EMA
    for images (mnist: Adam 2e-3 and an EMA of G, see DATA_DEFAULTS); the MLP pair with an R1
    penalty and an EMA of G for ring8 / grid25.
    """

    data: str = "mnist"
    out: str = "runs/gan"
    # image-to-image (pix2pix): a task of genlab.gan.tasks.degrade; "" is a noise-to-image GAN
    task: str = ""
    scale: int = 4  # superres: the up-sampling factor
    l1_weight: float = 100.0  # λ of G's λ·L1 term (pix2pix's 100)
    adversarial: bool = True  # False: the L1-only regression ablation (no D)
    # generator steps on λ·L1 alone before D plays (SRGAN's pre-trained G); None: the task's
    l1_warmup: int | None = None
    depth: int = 0  # U-Net halvings (0: 4 for crops above 32 px, else 3)
    # text-to-image (data shapes or mnist-captions): the sentence encoder, builtin or minilm
    text_encoder: str = "builtin"
    text_dim: int = 0  # the sentence embedding's size (set from the encoder)
    mismatch: bool = True  # the matching-aware D term (False: the ablation without it)
    interpolation: float = 0.25  # share of G's batch drawn from interpolated captions (GAN-INT)
    # weight of G's caption-matching loss under the frozen built-in encoder (AttnGAN's DAMSM);
    # None: the data kind's default (0 with minilm, which has no image tower)
    match_weight: float | None = None
    # weight of MSGAN's mode-seeking term (Mao et al. 2019): two z, one caption, images must
    # differ; shapes, 500 steps: 0.02 lifts diversity 0.19 -> 1.17 but costs shape accuracy
    # (94% -> 64% all-right), so it is off by default
    diversity_weight: float = 0.0
    # a keyed watermark G learns to write into every sample (genlab.provenance.marked: Stable
    # Signature's idea played on this loop, G anchored to its source, D not playing); "" = none
    watermark_key: str = ""
    watermark_message: str = ""
    watermark_weight: float = 0.0
    watermark_margin: float = 0.0  # how far read statistics are pushed past zero; 0 = the
    # reader's default (genlab.provenance.marked.DEFAULT_MARGINS)
    watermark_anchor: float = 0.0  # weight of the MSE to the source generator
    watermark_source: str = ""  # the checkpoint the marked generator starts from
    # the quiet-subspace reader's file (relative to `out` unless absolute); "" = the Fourier
    # sign readout, which needs no file
    watermark_reader: str = ""
    model: str = "auto"
    conditional: bool = False
    loss: str = "auto"  # nonsaturating for noise GANs, lsgan for image tasks
    penalty: str = "auto"
    penalty_weight: float | None = None
    d_steps: int = 1
    steps: int | None = None
    minutes: float | None = None
    batch_size: int | None = None
    optimizer: str = "adam"
    lr_g: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] | None = None
    momentum: float = 0.5
    z_dim: int = 0
    z_std: float = 1.0
    width: int = 0
    img_size: int = 0
    img_channels: int = 0
    ema: float | None = None
    ema_rampup: float | None = None  # the EMA's half-life is at most this fraction of the steps
    lr_decay: float | None = None
    augment: str = "auto"  # DiffAugment policy: comma-separated color, translation, cutout
    precision: str = "auto"
    channels_last: bool | None = None
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    resume: bool = False
    checkpoint_every: int = 0
    checkpoint_minutes: float = 1.0
    keep_checkpoints: int = 3
    sample_every: int = 500
    log_every: int = 10
    progress: bool = True

    def __post_init__(self) -> None:
        checks = [
            (self.loss == "auto" or self.loss in LOSSES,
             f"loss must be auto or one of {', '.join(LOSSES)}, got {self.loss!r}"),
            (self.penalty in ("auto", "none", *PENALTIES),
             f"penalty must be auto, none, {', '.join(PENALTIES)}; got {self.penalty!r}"),
            (self.model == "auto" or self.model in ARCHITECTURES,
             f"model must be auto or one of {', '.join(ARCHITECTURES)}, got {self.model!r}"),
            (self.optimizer in ("adam", "sgd"),
             f"optimizer must be adam or sgd, got {self.optimizer!r}"),
            (self.precision in ("auto", "bf16", "fp32"),
             f"precision must be auto, bf16 or fp32, got {self.precision!r}"),
            (self.d_steps >= 1, f"d_steps must be >= 1, got {self.d_steps}"),
            (self.steps is None or self.steps >= 0, f"steps must be >= 0, got {self.steps}"),
            (self.minutes is None or self.minutes > 0, f"minutes must be > 0, got {self.minutes}"),
            (self.batch_size is None or self.batch_size >= 2,
             f"batch_size must be >= 2, got {self.batch_size}"),
            (self.ema is None or 0.0 <= self.ema < 1.0,
             f"ema must be a decay in [0, 1), got {self.ema}"),
            (self.ema_rampup is None or self.ema_rampup >= 0.0,
             f"ema_rampup must be >= 0, got {self.ema_rampup}"),
            (self.lr_decay is None or 0.0 <= self.lr_decay <= 1.0,
             f"lr_decay must be a fraction of the budget in [0, 1], got {self.lr_decay}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if self.task:
            from genlab.gan.tasks.degrade import TASKS

            if self.task not in TASKS:
                raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
            if self.scale < 2:
                raise ValueError(f"scale must be >= 2, got {self.scale}")
            if self.l1_weight < 0:
                raise ValueError(f"l1_weight must be >= 0, got {self.l1_weight}")
            if self.l1_warmup is not None and self.l1_warmup < 0:
                raise ValueError(f"l1_warmup must be >= 0 steps, got {self.l1_warmup}")
            if not self.adversarial and self.l1_weight <= 0:
                raise ValueError("the L1-only mode (adversarial=False) needs l1_weight > 0")
        if self.augment != "auto":
            parse_policy(self.augment)  # raises on an unknown name
        if self.text_encoder not in TEXT_ENCODERS:
            raise ValueError(f"text_encoder must be one of {', '.join(TEXT_ENCODERS)}, got "
                             f"{self.text_encoder!r}")
        if self.watermark_key and (self.task or self.watermark_weight <= 0):
            raise ValueError("a watermarked generator needs a noise GAN (no task) and "
                             f"watermark_weight > 0, got task={self.task!r}, "
                             f"watermark_weight={self.watermark_weight}")
        if self.diversity_weight < 0:
            raise ValueError(f"diversity_weight must be >= 0, got {self.diversity_weight}")
        if not 0.0 <= self.interpolation <= 1.0:
            raise ValueError(f"interpolation must be a share of G's batch in [0, 1], got "
                             f"{self.interpolation}")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (tuples become lists)."""
        out = asdict(self)
        if out["betas"] is not None:
            out["betas"] = list(out["betas"])
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of to_json; keys that are not TrainConfig fields are ignored."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if kwargs.get("betas") is not None:
            kwargs["betas"] = tuple(kwargs["betas"])
        return cls(**kwargs)

    def architecture(self, num_classes: int) -> Architecture:
        """The networks of a resolved config."""
        return Architecture(self.model, self.z_dim, self.img_size, self.img_channels,
                            self.width, num_classes, self.z_std, self.task, self.depth,
                            self.text_dim)


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast is fast here: CUDA with bf16, or a CPU with oneDNN bf16 (AMX)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    mkldnn = torch.backends.mkldnn.is_available()
    return bool(mkldnn and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> this rank's CUDA device when present, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        return torch.device("cuda", local_rank)
    return torch.device(name)


def _default_width(kind: dict[str, Any], data: GanData) -> int:
    """The data kind's network width; narrower for images of at most `small_size` pixels."""
    if data.is_points or int(data.x.shape[-1]) > kind["small_size"]:
        return int(kind["width"])
    return int(kind["small_width"])


def resolve_config(config: TrainConfig, data: GanData, device: torch.device) -> TrainConfig:
    """Fill every 'auto' field from the data and KIND_DEFAULTS; the result is what gets saved."""
    if config.task:
        return _resolve_paired(config, data, device)
    text = is_text_data(config.data)
    if text and config.conditional:
        raise ValueError(f"{config.data!r} conditions on captions, not on class labels")
    if text and config.text_dim < 1:
        raise ValueError("a text-to-image run needs its sentence embedding size (text_dim)")
    kind = {**KIND_DEFAULTS["text" if text else "points" if data.is_points else "images"],
            **DATA_DEFAULTS.get(config.data, {})}
    model = kind["model"] if config.model == "auto" else config.model
    if text != (model == "text-dcgan"):
        raise ValueError(f"model {model!r} does not fit dataset {config.data!r} (text-dcgan "
                         "is the text-to-image model, for captioned data only)")
    if data.is_points != (model == "mlp"):
        raise ValueError(f"model {model!r} does not fit dataset {config.data!r} "
                         f"({'2-D points' if data.is_points else 'images'})")
    if config.conditional and data.num_classes == 0:
        raise ValueError(f"dataset {config.data!r} has no labels: cannot train a conditional GAN")
    augment = kind["augment"] if config.augment == "auto" else config.augment
    if data.is_points and parse_policy(augment):
        raise ValueError(f"augment={augment!r} transforms images; dataset {config.data!r} is "
                         "2-D points (use augment='none')")
    precision = config.precision
    if precision == "auto":
        precision = "bf16" if bf16_supported(device) and not data.is_points else "fp32"
    penalty = kind["penalty"] if config.penalty == "auto" else config.penalty
    penalty_weight = config.penalty_weight
    if penalty_weight is None:
        penalty_weight = kind["penalty_weight"] if penalty == kind["penalty"] else PENALTY_WEIGHT
    channels_last = config.channels_last
    if channels_last is None:  # faster for convolutions everywhere it was measured (fp32 CPU 1.28x)
        channels_last = not data.is_points
    return replace(
        config,
        model=model,
        loss=kind["loss"] if config.loss == "auto" else config.loss,
        batch_size=config.batch_size or kind["batch_size"],
        lr_g=config.lr_g or kind["lr_g"],
        lr_d=config.lr_d or kind["lr_d"],
        betas=config.betas or kind["betas"],
        penalty=penalty,
        penalty_weight=penalty_weight,
        ema=kind["ema"] if config.ema is None else config.ema,
        ema_rampup=kind["ema_rampup"] if config.ema_rampup is None else config.ema_rampup,
        lr_decay=kind["lr_decay"] if config.lr_decay is None else config.lr_decay,
        augment=augment,
        z_dim=config.z_dim or kind["z_dim"],
        width=config.width or _default_width(kind, data),
        img_size=0 if data.is_points else int(data.x.shape[-1]),
        img_channels=0 if data.is_points else int(data.x.shape[1]),
        precision=precision,
        channels_last=bool(channels_last),
    )


def _resolve_paired(config: TrainConfig, data: GanData, device: torch.device) -> TrainConfig:
    """The 'auto' fields of an image-to-image run: a U-Net G and a PatchGAN D judging pairs."""
    kind = KIND_DEFAULTS["paired"]
    model = kind["model"] if config.model == "auto" else config.model
    if model != "unet":
        raise ValueError(f"image task {config.task!r} trains the unet model, not {model!r}")
    if config.conditional:
        raise ValueError("an image task is conditioned on its input image, not on class labels")
    augment = kind["augment"] if config.augment == "auto" else config.augment
    if parse_policy(augment):
        raise ValueError("augment transforms D's input but not its condition image: an image "
                         "task takes augment='none'")
    size = int(data.x.shape[-1])
    precision = config.precision
    if precision == "auto":
        precision = "bf16" if bf16_supported(device) else "fp32"
    penalty = kind["penalty"] if config.penalty == "auto" else config.penalty
    channels_last = True if config.channels_last is None else config.channels_last
    return replace(
        config, model=model, batch_size=config.batch_size or kind["batch_size"],
        loss=kind["loss"] if config.loss == "auto" else config.loss,
        l1_warmup=TASK_DEFAULTS.get(config.task, {}).get("l1_warmup", 0)
        if config.l1_warmup is None else config.l1_warmup,
        lr_g=config.lr_g or kind["lr_g"], lr_d=config.lr_d or kind["lr_d"],
        betas=config.betas or kind["betas"], penalty=penalty,
        penalty_weight=PENALTY_WEIGHT if config.penalty_weight is None else config.penalty_weight,
        ema=kind["ema"] if config.ema is None else config.ema,
        ema_rampup=kind["ema_rampup"] if config.ema_rampup is None else config.ema_rampup,
        lr_decay=kind["lr_decay"] if config.lr_decay is None else config.lr_decay,
        augment=augment, z_dim=0, width=config.width or kind["width"],
        depth=config.depth or (4 if size > 32 else 3), img_size=size,
        img_channels=int(data.x.shape[1]), precision=precision,
        channels_last=bool(channels_last))
