"""A trained text-to-image run: its generator and sentence encoder, to sample images for a
caption and to walk between two captions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genlab.gan.checkpoint import latest_checkpoint, load_generator
from genlab.gan.data import is_text_data
from genlab.gan.sample import generate, latent
from genlab.gan.text.bank import SentenceEncoder

__all__ = ["TextModel", "load_text_model"]


@dataclass
class TextModel:
    """G (the EMA copy if kept) and the encoder its captions were embedded with."""

    generator: nn.Module
    encoder: SentenceEncoder
    config: dict[str, Any]
    path: Path

    def embed(self, captions: list[str]) -> torch.Tensor:
        """(n, text_dim) sentence embeddings; an unknown word raises a clear error."""
        return self.encoder.embed_text(list(captions)).float()

    def sample(self, captions: str | list[str], n: int = 16, seed: int = 0) -> torch.Tensor:
        """n images (float32, CPU, [-1, 1]) per caption, caption-major; same seed, same images."""
        captions = [captions] if isinstance(captions, str) else list(captions)
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        text = self.embed(captions).repeat_interleave(n, dim=0)
        z = latent(self.generator, len(text), torch.Generator().manual_seed(seed))
        return generate(self.generator, z, text).clamp(-1, 1)

    def interpolate(self, first: str, second: str, steps: int = 8, rows: int = 1,
                    seed: int = 0) -> torch.Tensor:
        """(rows, steps, C, H, W): each row keeps one z while the sentence embedding moves in a
        straight line from `first` to `second` (GAN-INT's interpolation, drawn)."""
        if steps < 2 or rows < 1:
            raise ValueError(f"need steps >= 2 and rows >= 1, got steps={steps}, rows={rows}")
        a, b = self.embed([first, second])
        t = torch.linspace(0, 1, steps)[:, None]
        path = ((1 - t) * a + t * b).repeat(rows, 1)  # (rows * steps, dim)
        z = latent(self.generator, rows, torch.Generator().manual_seed(seed))
        out = generate(self.generator, z.repeat_interleave(steps, dim=0), path).clamp(-1, 1)
        return out.reshape(rows, steps, *out.shape[1:])


def load_text_model(path: Path) -> TextModel:
    """The text-to-image model of a run folder (or one of its checkpoints)."""
    from genlab.gan.text.training import load_run_encoder

    generator, config = load_generator(Path(path))
    if not is_text_data(str(config.get("data", ""))):
        raise ValueError(f"{path} is not a text-to-image run (data {config.get('data')!r}): use "
                         "genlab gan sample")
    run_dir = latest_checkpoint(Path(path)).parent.parent
    encoder = load_run_encoder(run_dir, str(config.get("text_encoder", "builtin")))
    return TextModel(generator, encoder, config, Path(path))
