"""Self-describing GAN checkpoints: one safetensors file per snapshot, no pickled code.

A checkpoint holds the tensors of G, D, the EMA of G (if kept), both optimizers' state and the
RNG states, under the prefixes `g.`, `d.`, `ema.`, `opt_g.`, `opt_d.`, `rng.`; its metadata
entry "genlab" is JSON with the run's config, the step, the genlab version and the loop state.
Files are written to a temporary name and renamed, so a kill never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genlab._atomic import atomic_write_bytes
from genlab._version import __version__
from genlab.gan.nets import Architecture, build_pair

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "architecture_of",
    "checkpoint_path",
    "latest_checkpoint",
    "list_checkpoints",
    "load_generator",
    "load_module",
    "load_optimizer",
    "module_tensors",
    "optimizer_tensors",
    "prune_checkpoints",
    "read_checkpoint",
    "write_checkpoint",
]

FORMAT = "genlab-gan-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"^step-(\d+)\.safetensors$")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, from another format, or does not fit the model."""


def checkpoint_path(run_dir: Path, step: int) -> Path:
    """Where the checkpoint of `step` lives inside a run folder."""
    return Path(run_dir) / "checkpoints" / f"step-{step:08d}.safetensors"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """The run folder's checkpoint files, oldest step first."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints of a run (keep ≤ 0: delete none)."""
    if keep > 0:
        for old in list_checkpoints(run_dir)[:-keep]:
            old.unlink(missing_ok=True)


def latest_checkpoint(path: Path) -> Path:
    """`path` itself if it is a file, else the newest checkpoint of the run folder `path`."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.exists():
        raise CheckpointError(f"checkpoint or run folder {path} does not exist")
    found = list_checkpoints(path)
    if not found:
        raise CheckpointError(f"no checkpoints (checkpoints/step-*.safetensors) in {path}")
    return found[-1]


def module_tensors(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    """A module's parameters and buffers as contiguous CPU tensors named `prefix.key`."""
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def load_module(
    module: nn.Module, prefix: str, tensors: dict[str, torch.Tensor], source: Path
) -> None:
    """Load `prefix.*` tensors into `module`, naming missing, extra or mis-shaped entries."""
    stored = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    shapes = [f"{k}: checkpoint {tuple(stored[k].shape)} vs model {tuple(v.shape)}"
              for k, v in expected.items() if k in stored and stored[k].shape != v.shape]
    if missing or extra or shapes:
        parts = [f"missing {missing[:5]}" if missing else "",
                 f"unexpected {extra[:5]}" if extra else "",
                 f"shape mismatch {shapes[:5]}" if shapes else ""]
        raise CheckpointError(
            f"{source}: '{prefix}' weights do not fit this model: "
            + "; ".join(p for p in parts if p)
        )
    module.load_state_dict(stored)


def optimizer_tensors(
    prefix: str, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's per-parameter state as tensors, and its param groups as JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{key}"] = value.detach().cpu().contiguous()
            elif value is not None:
                raise TypeError(f"cannot store optimizer state {key}={value!r}")
    return tensors, {"param_groups": state["param_groups"]}


def load_optimizer(
    optimizer: torch.optim.Optimizer,
    prefix: str,
    tensors: dict[str, torch.Tensor],
    groups: dict[str, Any],
    source: Path,
) -> None:
    """Restore an optimizer saved by `optimizer_tensors` (same parameter order)."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            index, key = name[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups["param_groups"]})
    except (ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(f"{source}: optimizer state '{prefix}' does not fit: {err}") from err


def write_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                     kind: str = FORMAT) -> Path:
    """Atomically write tensors + JSON metadata (genlab._atomic: temporary file, fsync, rename);
    `kind` tags the format (a GAN run and a language-model run cannot be mistaken)."""
    from safetensors.torch import save

    header = {"format": kind, "format_version": FORMAT_VERSION, "genlab_version": __version__}
    data = save(tensors, metadata={"genlab": json.dumps({**header, **meta})})
    return atomic_write_bytes(path, data)


def read_checkpoint(path: Path, kind: str = FORMAT, label: str = "GAN"
                    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, metadata) of a checkpoint file or of a run folder's newest checkpoint, which
    must carry the format tag `kind`; `label` names the kind in error messages."""
    from safetensors import SafetensorError, safe_open

    what = f"genlab {label} checkpoint"
    path = latest_checkpoint(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("genlab")
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a readable safetensors checkpoint (truncated or corrupt?): {err}"
        ) from err
    if raw is None:
        raise CheckpointError(f"{path} is a safetensors file but not a {what}")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: checkpoint metadata is not valid JSON: {err}") from err
    if meta.get("format") != kind:
        raise CheckpointError(f"{path} is not a {what} (format {meta.get('format')!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {meta['format_version']}; this genlab "
            f"({__version__}) reads up to {FORMAT_VERSION}: upgrade genlab"
        )
    return tensors, meta


def architecture_of(config: dict[str, Any]) -> Architecture:
    """The Architecture recorded in a run's config."""
    fields = Architecture.__dataclass_fields__
    return Architecture(**{k: config[k] for k in fields if k in config})


def load_generator(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    """(generator in eval mode, run config) from a checkpoint file or a run folder.

    The generator is the EMA copy when the run kept one.
    """
    tensors, meta = read_checkpoint(path)
    source = latest_checkpoint(path)
    config = dict(meta["config"])
    generator, _ = build_pair(architecture_of(config))
    prefix = "ema" if any(k.startswith("ema.") for k in tensors) else "g"
    load_module(generator, prefix, tensors, source)
    return generator.eval(), config
