"""Language-model checkpoints: safetensors tensors + JSON metadata, written atomically.

The layout and helpers are the GAN checkpoints' (genlab.gan.checkpoint: `step-N.safetensors`
under `checkpoints/`, `module_tensors`, `optimizer_tensors`, ...); only the format tag differs
("genlab-seq-checkpoint"), so a GAN run and an LM run cannot be mistaken for each other.
Tensors: `model.*`, `opt.*`, `rng.torch`, `state.hidden.*` (the carried BPTT state); metadata
"genlab": config, alphabet, step, loop position and seconds trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genlab.gan import checkpoint as gan_checkpoint
from genlab.gan.checkpoint import latest_checkpoint

__all__ = ["FORMAT", "read_checkpoint", "write_checkpoint"]

FORMAT = "genlab-seq-checkpoint"


def write_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Atomically write tensors + JSON metadata under the language-model format tag."""
    return gan_checkpoint.write_checkpoint(path, tensors, meta, kind=FORMAT)


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], Path]:
    """(tensors, metadata, file) of a checkpoint file or of a run folder's newest checkpoint."""
    source = latest_checkpoint(path)
    tensors, meta = gan_checkpoint.read_checkpoint(source, kind=FORMAT,
                                                   label="language-model")
    return tensors, meta, source
