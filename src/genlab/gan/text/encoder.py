"""The built-in sentence encoder: a dual encoder (a word GRU and a small CNN) trained jointly by
a contrastive loss so captions and the images they describe land close together (Reed et
al.'s pre-trained joint embedding, CLIP's symmetric loss).

It serves twice, trained separately each time: the generator's text encoder (frozen during GAN
training, on the training images only) and the evaluator's judge for R-precision (another
seed, on every combination). Trained encoders are cached under `cache_root()/text-encoders`
as safetensors + JSON, written atomically; a run folder keeps its own copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
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
from genlab.gan.text.captioned import CaptionedData
from genlab.gan.text.vocab import Vocabulary

__all__ = [
    "DualEncoder",
    "EncoderConfig",
    "load_encoder",
    "load_or_train_encoder",
    "save_encoder",
    "train_encoder",
]

ENCODER_VERSION = 1  # bump when the towers or the recipe change: old cache entries then miss


@dataclass(frozen=True)
class EncoderConfig:
    """The dual encoder's recipe (all of it goes into the cache key)."""

    dim: int = 128  # sentence embedding size
    word_dim: int = 64
    hidden: int = 128
    steps: int = 150  # 150 (32 s on 2 cores): every shapes image retrieves its own caption
    # among all 240 combinations, held-out ones included (300 steps: the same)
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 0


class TextTower(nn.Module):
    """Word embeddings, a bidirectional GRU, the mean over words, a linear map."""

    def __init__(self, vocab_size: int, word_dim: int, hidden: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.gru = nn.GRU(word_dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, dim)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) padded ids, (B,) lengths -> (B, dim)."""
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(ids), lengths.cpu(),
                                                   batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        mean = out.sum(1) / lengths.to(out.dtype)[:, None]
        return self.out(mean)


class ImageTower(nn.Module):
    """Four stride-2 convolutions, a 4×4 grid of features (so position counts), a linear map."""

    def __init__(self, img_channels: int, dim: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = img_channels
        for out in (width, 2 * width, 4 * width, 4 * width):
            layers += [nn.Conv2d(channels, out, 4, 2, 1), nn.BatchNorm2d(out),
                       nn.LeakyReLU(0.2, inplace=True)]
            channels = out
        self.conv = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.out = nn.Linear(16 * channels, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv(x))


class DualEncoder(nn.Module):
    """Captions and images into one unit-norm embedding space."""

    def __init__(self, vocab: Vocabulary, img_channels: int, config: EncoderConfig) -> None:
        super().__init__()
        self.vocab, self.img_channels, self.config = vocab, img_channels, config
        self.text = TextTower(len(vocab), config.word_dim, config.hidden, config.dim)
        self.image = ImageTower(img_channels, config.dim)
        self.log_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))  # CLIP's start

    @property
    def dim(self) -> int:
        return self.config.dim

    def encode_ids(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.text(ids, lengths), dim=1)

    @torch.no_grad()
    def embed_text(self, captions: list[str]) -> torch.Tensor:
        """(n, dim) unit sentence embeddings; unknown words raise UnknownWordError."""
        was = self.training
        self.eval()
        ids, lengths = self.vocab.batch(list(captions))
        out = self.encode_ids(ids, lengths)
        self.train(was)
        return out

    @torch.no_grad()
    def embed_images(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """(n, dim) unit image embeddings of (n, C, H, W) images in [-1, 1]."""
        was = self.training
        self.eval()
        out = torch.cat([F.normalize(self.image(images[i:i + batch_size].float()), dim=1)
                         for i in range(0, len(images), batch_size)])
        self.train(was)
        return out


def _contrastive(model: DualEncoder, images: torch.Tensor, ids: torch.Tensor,
                 lengths: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE where every pair with the same attribute values counts as a match."""
    img = F.normalize(model.image(images), dim=1)
    txt = model.encode_ids(ids, lengths)
    logits = model.log_scale.clamp(max=np.log(100.0)).exp() * img @ txt.T
    target = same / same.sum(1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def train_encoder(data: CaptionedData, config: EncoderConfig, progress: bool = True
                  ) -> DualEncoder:
    """Train the dual encoder on `data` (each step: a batch of images, one random caption of
    each); returns it in eval mode."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    vocab = Vocabulary.from_captions(c for caps in data.captions for c in caps)
    model = DualEncoder(vocab, int(data.x.shape[1]), config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.steps)
    distinct = sorted({c for caps in data.captions for c in caps})
    where = {c: i for i, c in enumerate(distinct)}
    all_ids, all_lengths = vocab.batch(distinct)
    values = torch.from_numpy(np.asarray(data.values))
    batch = min(config.batch_size, len(data.x))
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"training the text encoder on {data.name}", total=config.steps)
        model.train()
        for _ in range(config.steps):
            rows = rng.choice(len(data.x), batch, replace=False)
            picked = [where[data.captions[r][rng.integers(len(data.captions[r]))]] for r in rows]
            sel = torch.tensor(picked)
            lengths = all_lengths[sel]
            ids = all_ids[sel][:, :int(lengths.max())]
            v = values[torch.from_numpy(rows)]
            same = (v[:, None, :] == v[None, :, :]).all(-1).float()
            loss = _contrastive(model, data.x[torch.from_numpy(rows)], ids, lengths, same)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.advance(task)
    return model.eval()


def save_encoder(model: DualEncoder, path: Path, info: dict[str, Any] | None = None) -> Path:
    """Weights to `path` (.safetensors) and vocabulary + recipe to its .json, atomically (the
    JSON last: it marks the pair complete)."""
    path = Path(path)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(tensors))
    meta = {"version": ENCODER_VERSION, "words": list(model.vocab.words),
            "img_channels": model.img_channels, "config": dataclasses.asdict(model.config),
            **(info or {})}
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(meta, indent=2).encode())
    return path


def load_encoder(path: Path) -> DualEncoder:
    """A saved dual encoder (eval mode); a clear error names a missing or damaged file."""
    path = Path(path)
    meta_path = path.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        config = EncoderConfig(**meta["config"])
        model = DualEncoder(Vocabulary(tuple(meta["words"])), int(meta["img_channels"]), config)
        model.load_state_dict(load_file(path))
    except FileNotFoundError as err:
        raise ValueError(f"text encoder not found: {err.filename}") from err
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as err:
        raise ValueError(f"{path}: unreadable text encoder ({err})") from err
    return model.eval()


def _fingerprint(data: CaptionedData) -> str:
    """SHA-256 of the images, values and captions, so a changed dataset trains a new encoder."""
    h = hashlib.sha256(data.x.numpy().tobytes())
    h.update(np.ascontiguousarray(data.values).tobytes())
    h.update(json.dumps(data.captions).encode())
    return h.hexdigest()


def load_or_train_encoder(data: CaptionedData, config: EncoderConfig | None = None,
                          cache_dir: Path | None = None, progress: bool = True) -> DualEncoder:
    """The cached encoder of `data` and `config`, trained and cached on first use."""
    from genlab.gan.classifier import cache_root

    config = config or EncoderConfig()
    text = json.dumps({"version": ENCODER_VERSION, "config": dataclasses.asdict(config),
                       "data": _fingerprint(data)}, sort_keys=True)
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    root = Path(cache_dir) if cache_dir else cache_root()
    path = root / "text-encoders" / f"dual-{data.name}-{key}.safetensors"
    if path.is_file() and path.with_suffix(".json").is_file():
        try:
            return load_encoder(path)
        except ValueError as err:
            warnings.warn(f"{err}; training it again", stacklevel=2)
    model = train_encoder(data, config, progress=progress)
    save_encoder(model, path, {"key": key, "data": data.name, "images": len(data.x)})
    return model
