"""Language-model checkpoints: safetensors tensors + JSON metadata, written atomically.

The layout and helpers are the GAN checkpoints' (genlab.gan.checkpoint: `step-N.safetensors`
under `checkpoints/`, `module_tensors`, `optimizer_tensors`, ...); only the format tag differs
("genlab-seq-checkpoint"), so a GAN run and an LM run cannot be mistaken for each other.
Tensors: `model.*`, `opt.*`, `rng.torch`, `state.hidden.*` (the carried BPTT state); metadata
"genlab": config, alphabet, step, loop position and seconds trained.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from genlab._atomic import atomic_write_bytes
from genlab._version import __version__
from genlab.gan.checkpoint import (
    CheckpointError,
    checkpoint_path,
    latest_checkpoint,
    list_checkpoints,
    load_module,
    load_optimizer,
    module_tensors,
    optimizer_tensors,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "checkpoint_path",
    "latest_checkpoint",
    "list_checkpoints",
    "load_module",
    "load_optimizer",
    "module_tensors",
    "optimizer_tensors",
    "read_checkpoint",
    "write_checkpoint",
]

FORMAT = "genlab-seq-checkpoint"
FORMAT_VERSION = 1


def write_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Atomically write tensors + JSON metadata (temporary file, fsync, rename)."""
    from safetensors.torch import save

    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "genlab_version": __version__}
    data = save(tensors, metadata={"genlab": json.dumps({**header, **meta})})
    return atomic_write_bytes(path, data)


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], Path]:
    """(tensors, metadata, file) of a checkpoint file or of a run folder's newest checkpoint."""
    from safetensors import SafetensorError, safe_open

    path = latest_checkpoint(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("genlab")
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a readable safetensors checkpoint (truncated or corrupt?): {err}"
        ) from err
    try:
        meta = json.loads(raw) if raw is not None else {}
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: checkpoint metadata is not valid JSON: {err}") from err
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a genlab language-model checkpoint (format "
                              f"{meta.get('format')!r}, expected {FORMAT!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {meta['format_version']}; this genlab "
            f"({__version__}) reads up to {FORMAT_VERSION}: upgrade genlab"
        )
    return tensors, meta, path
