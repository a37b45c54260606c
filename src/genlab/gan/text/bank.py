"""The training captions as frozen sentence embeddings: every distinct caption is encoded once,
and each training image keeps the rows of its captions (canonical and paraphrases)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Protocol

import numpy as np
import torch

from genlab.gan.text.captioned import CaptionedData

__all__ = ["CaptionBank", "SentenceEncoder", "caption_bank"]


class SentenceEncoder(Protocol):
    """What the GAN needs of a text encoder: unit sentence embeddings of a fixed size."""

    @property
    def dim(self) -> int: ...

    def embed_text(self, captions: list[str]) -> torch.Tensor: ...


@dataclass(frozen=True)
class CaptionBank:
    """Embeddings (K, E) of K distinct captions; per image its caption rows (N, P), padded by
    repetition, and its combination id (N,) — equal ids mean the captions say the same; and,
    for drawing wrong captions every D step, the images sorted by combination (`by_combo`)
    with each combination's block start and size."""

    embeddings: torch.Tensor
    options: torch.Tensor
    counts: torch.Tensor
    combos: torch.Tensor
    by_combo: torch.Tensor
    block_start: torch.Tensor
    block_size: torch.Tensor

    @property
    def images(self) -> int:
        return int(self.options.shape[0])

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def to(self, device: torch.device) -> CaptionBank:
        return replace(self, **{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def draw(self, rows: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """One caption of each image in `rows`, chosen uniformly among its captions (B, E)."""
        rows = rows.to(self.options.device)
        pick = (torch.rand(len(rows), generator=rng).to(rows.device)
                * self.counts[rows]).long()
        return self.embeddings[self.options[rows, pick]]

    def mismatched(self, rows: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """For each image in `rows`, a caption of an image drawn uniformly among those whose
        attributes differ (images sorted by combination: skip the own combination's block)."""
        rows = rows.to(self.options.device)
        sizes, starts = self.block_size, self.block_start
        own = self.combos[rows]
        others = self.images - sizes[own]
        if bool((others == 0).any()):
            raise ValueError("every image says the same: no wrong caption to draw")
        u = (torch.rand(len(rows), generator=rng).to(rows.device) * others).long()
        index = torch.where(u < starts[own], u, u + sizes[own])
        return self.draw(self.by_combo[index], rng)

def caption_bank(data: CaptionedData, encoder: SentenceEncoder, batch_size: int = 512
                 ) -> CaptionBank:
    """Encode every distinct caption of `data` once and index each image's captions."""
    distinct = sorted({c for caps in data.captions for c in caps})
    where = {c: i for i, c in enumerate(distinct)}
    embeddings = torch.cat([encoder.embed_text(distinct[i:i + batch_size])
                            for i in range(0, len(distinct), batch_size)]).float()
    width = max(len(caps) for caps in data.captions)
    options = torch.tensor([[where[caps[j % len(caps)]] for j in range(width)]
                            for caps in data.captions], dtype=torch.int64)
    counts = torch.tensor([len(caps) for caps in data.captions], dtype=torch.int64)
    _, inverse = np.unique(np.asarray(data.values), axis=0, return_inverse=True)
    combos = torch.from_numpy(inverse.reshape(-1).astype(np.int64))
    sizes = torch.bincount(combos)
    return CaptionBank(embeddings, options, counts, combos, torch.argsort(combos, stable=True),
                       torch.cumsum(sizes, 0) - sizes, sizes)
