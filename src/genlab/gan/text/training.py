"""What a text-to-image run trains on: the captioned images of its data set (seen combinations
only), the sentence encoder (kept in the run folder so sampling embeds new captions the same
way), and the caption bank the matching-aware game draws from."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from genlab.gan.config import TrainConfig
from genlab.gan.data import GanData
from genlab.gan.defaults import KIND_DEFAULTS
from genlab.gan.game import TextGame
from genlab.gan.text.bank import SentenceEncoder, caption_bank
from genlab.gan.text.captioned import CaptionedData

__all__ = ["ENCODER_FILE", "captioned_data", "load_run_encoder", "text_setup"]

ENCODER_FILE = "text_encoder.safetensors"  # the run's own copy of the built-in encoder


def captioned_data(name: str, split: str = "train") -> CaptionedData:
    """A captioned set by name; split "train" drops the held-out combinations, "all" keeps them."""
    if split not in ("train", "all"):
        raise ValueError(f"split must be train or all, got {split!r}")
    if name == "shapes":
        from genlab.gan.text.shapes import load_shapes

        data = load_shapes()
    elif name == "mnist-captions":
        from genlab.gan.text.digits import load_digit_captions

        data = load_digit_captions()
    else:
        raise ValueError(f"unknown captioned data {name!r}; known: shapes, mnist-captions")
    return data.subset(~data.held_out) if split == "train" else data


def load_run_encoder(run_dir: Path, kind: str) -> SentenceEncoder:
    """The sentence encoder a run was trained with."""
    if kind == "minilm":
        from genlab.gan.text.minilm import MiniLMEncoder

        return MiniLMEncoder()
    from genlab.gan.text.encoder import load_encoder

    return load_encoder(Path(run_dir) / ENCODER_FILE)


def _encoder(config: TrainConfig, train: CaptionedData, resumed: bool, write: bool
             ) -> SentenceEncoder:
    """The run's encoder: its saved copy when resuming; else MiniLM, or the built-in dual
    encoder trained (or taken from the cache) on the training images and copied to the run."""
    run_dir = Path(config.out)
    if resumed or config.text_encoder == "minilm":
        return load_run_encoder(run_dir, config.text_encoder)
    from genlab.gan.text.encoder import EncoderConfig, load_or_train_encoder, save_encoder

    encoder = load_or_train_encoder(train, EncoderConfig(seed=config.seed),
                                    progress=config.progress and write)
    if write:
        save_encoder(encoder, run_dir / ENCODER_FILE, {"data": train.name,
                                                       "images": len(train.x)})
    return encoder


def text_setup(config: TrainConfig, resumed: bool, write: bool
               ) -> tuple[TrainConfig, GanData, TextGame]:
    """(config with text_dim, the training images, the matching-aware game)."""
    weight = config.match_weight
    if weight is None:
        weight = 0.0 if config.text_encoder == "minilm" else KIND_DEFAULTS["text"]["match_weight"]
    if weight > 0 and config.text_encoder == "minilm":
        raise ValueError("match_weight needs the built-in dual encoder's image tower; MiniLM "
                         "encodes text only (use match_weight=0)")
    train = captioned_data(config.data, "train")
    encoder = _encoder(config, train, resumed, write)
    bank = caption_bank(train, encoder)
    data = GanData(train.x, torch.arange(len(train.x)), 0, config.data)
    if config.text_dim and config.text_dim != bank.dim:
        raise ValueError(f"the run was trained with {config.text_dim}-d sentence embeddings but "
                         f"its encoder gives {bank.dim}")
    guide = getattr(encoder, "image", None) if weight > 0 else None
    game = TextGame(bank, mismatch=config.mismatch, interpolation=config.interpolation,
                    guide=guide, match_weight=weight,
                    diversity_weight=config.diversity_weight)
    return replace(config, text_dim=bank.dim, match_weight=weight), data, game

