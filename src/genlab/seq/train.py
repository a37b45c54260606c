"""Training the character LM: truncated BPTT over contiguous chunks, Adam, gradient clipping.

The training text (begin-of-text, then the train split) is cut into `batch_size` contiguous
rows; step i reads the next `seq_len` columns of every row and carries the hidden state from
the previous step (detached), so gradients flow `seq_len` characters back while the state sees
the whole row. Checkpoints hold weights, Adam's moments, the torch RNG, the carried hidden state
and the loop position: a run resumed after a kill takes the same steps as one never stopped.
A non-finite loss raises TrainingDiverged before any weight is updated with it.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genlab.gan.checkpoint import (  # the shared checkpoint layout and tensor helpers
    checkpoint_path,
    list_checkpoints,
    load_module,
    load_optimizer,
    module_tensors,
    optimizer_tensors,
    prune_checkpoints,
)
from genlab.gan.monitor import MetricsLog, TrainingDiverged, progress_bar
from genlab.gan.train import LoopState, merge_resumed  # shared with the GAN loop
from genlab.seq.checkpoint import read_checkpoint, write_checkpoint
from genlab.seq.corpus import Alphabet, corpus_split
from genlab.seq.model import CharLM, Hidden, LMArchitecture, detach, log_conditionals

__all__ = [
    "ARCH_KEYS",
    "LMTrainConfig",
    "TrainingDiverged",
    "bits_per_char",
    "load_lm",
    "train",
]

ARCH_KEYS = ("cell", "embed_dim", "hidden_size", "num_layers", "dropout", "max_chars")


@dataclass(frozen=True)
class LMTrainConfig:
    """Everything a training run needs; architecture keys are fixed for the life of a run.

    Defaults are the measured choice for ~10 minutes of CPU (benchmarks/seq_bits_per_char.py):
    in 2-3 minute runs GRU-512 beat GRU-256/384 and an LSTM-512, and batch 32 × 64 characters
    beat 64 × 128 (more updates per second matter more than bigger batches at this budget);
    dropout 0.4 under-fits at this budget. A constant lr of 5e-3 for 5 minutes blew the loss up
    (1.9 -> 3.7 bits/char at step ~1100); 3e-3 decayed linearly over the whole budget is the
    default. `max_chars` > 0 trains on the first characters only.
    """

    out: str = "runs/seq"
    cell: str = "gru"
    embed_dim: int = 64
    hidden_size: int = 512
    num_layers: int = 1
    dropout: float = 0.2
    max_chars: int = 0
    seq_len: int = 64
    batch_size: int = 32
    lr: float = 3e-3
    lr_decay: float = 1.0  # lower the lr linearly to 5% over this last fraction of the budget
    clip: float = 1.0
    minutes: float | None = 10.0
    steps: int | None = None
    seed: int = 0
    threads: int = 0
    resume: bool = False
    checkpoint_minutes: float = 1.0
    keep_checkpoints: int = 2
    log_every: int = 20
    progress: bool = True

    def architecture(self, vocab_size: int) -> LMArchitecture:
        """The network this config builds for an alphabet of `vocab_size` symbols."""
        return LMArchitecture(vocab_size=vocab_size, cell=self.cell, embed_dim=self.embed_dim,
                              hidden_size=self.hidden_size, num_layers=self.num_layers,
                              dropout=self.dropout)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LMTrainConfig:
        """A config from its stored dict (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class Batches:
    """Contiguous (inputs, targets) chunks of shape (B, L) over the training stream."""

    def __init__(self, codes: np.ndarray, bos: int, batch_size: int, seq_len: int) -> None:
        stream = torch.as_tensor(np.concatenate([[bos], codes]), dtype=torch.long)
        cols = (len(stream) - 1) // batch_size
        if cols < 2:
            raise ValueError(f"{len(codes)} training characters are too few for batch_size "
                             f"{batch_size}")
        self.inputs = stream[: cols * batch_size].view(batch_size, cols)
        self.targets = stream[1 : cols * batch_size + 1].view(batch_size, cols)
        self.seq_len = seq_len

    def next(self, state: LoopState) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The chunk at the cursor, and whether it starts a new epoch (reset the state)."""
        fresh = state.cursor == 0
        end = min(state.cursor + self.seq_len, self.inputs.shape[1])
        chunk = self.inputs[:, state.cursor : end], self.targets[:, state.cursor : end]
        state.cursor = end
        if end >= self.inputs.shape[1]:
            state.epoch, state.cursor = state.epoch + 1, 0
        return chunk[0], chunk[1], fresh


@dataclass
class Parts:
    """The objects a run trains."""

    config: LMTrainConfig
    alphabet: Alphabet
    model: CharLM
    optimizer: torch.optim.Optimizer
    hidden: Hidden = None


def lr_factor(config: LMTrainConfig, step: int, elapsed: float) -> float:
    """1 until the last `lr_decay` of the budget, then linearly down to 0.05."""
    if config.steps is not None:
        progress = step / max(config.steps, 1)
    elif config.minutes:
        progress = elapsed / (60 * config.minutes)
    else:
        progress = 0.0
    if config.lr_decay <= 0 or progress < 1 - config.lr_decay:
        return 1.0
    return max(0.05, 0.05 + 0.95 * (1 - progress) / config.lr_decay)


def train_step(parts: Parts, inputs: torch.Tensor, targets: torch.Tensor, fresh: bool,
               step: int) -> float:
    """One truncated-BPTT step: forward from the carried state, clip, Adam; the mean loss."""
    if fresh:
        parts.hidden = None
    logits, hidden = parts.model(inputs, parts.hidden)  # (B, L, V)
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    value = float(loss.detach())
    if not math.isfinite(value):
        raise TrainingDiverged(f"step {step}: the loss is {value}; stopped before updating the "
                               "weights (the last checkpoint is intact) — lower --lr or --clip")
    parts.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(parts.model.parameters(), parts.config.clip)
    parts.optimizer.step()
    parts.hidden = detach(hidden)
    return value


def bits_per_char(model: CharLM, codes: np.ndarray) -> float:
    """−log2 p(text) / len(text): the held-out cost of the directed model, exactly."""
    return float(-np.sum(log_conditionals(model, codes)) / len(codes) / math.log(2))


def _hidden_tensors(hidden: Hidden) -> dict[str, torch.Tensor]:
    if hidden is None:
        return {}
    parts = hidden if isinstance(hidden, tuple) else (hidden,)
    return {f"state.hidden.{i}": h.contiguous() for i, h in enumerate(parts)}


def _hidden_from(tensors: dict[str, torch.Tensor], cell: str) -> Hidden:
    found = [tensors[k] for k in sorted(t for t in tensors if t.startswith("state.hidden."))]
    if not found:
        return None
    return tuple(found) if cell == "lstm" else found[0]


def save(parts: Parts, state: LoopState, run_dir: Path) -> Path:
    """Write a checkpoint of everything an exact resume needs; keep the newest few."""
    opt, groups = optimizer_tensors("opt", parts.optimizer)
    tensors = {**module_tensors("model", parts.model), **opt,
               **_hidden_tensors(parts.hidden), "rng.torch": torch.get_rng_state()}
    meta = {"config": asdict(parts.config), "alphabet": parts.alphabet.chars,
            "architecture": parts.model.arch.to_json(), "step": state.step,
            "state": {"epoch": state.epoch, "cursor": state.cursor, "seconds": state.seconds},
            "optimizer": groups}
    path = write_checkpoint(checkpoint_path(run_dir, state.step), tensors, meta)
    prune_checkpoints(run_dir, parts.config.keep_checkpoints)
    return path


def load_lm(path: str | os.PathLike[str]) -> tuple[CharLM, Alphabet, dict[str, Any]]:
    """(model in eval mode, alphabet, metadata) from a checkpoint file or a run folder."""
    tensors, meta, source = read_checkpoint(Path(path))
    model = CharLM(LMArchitecture(**meta["architecture"]))
    load_module(model, "model", tensors, source)
    return model.eval(), Alphabet(meta["alphabet"]), meta


RESUME_KEEPS = ("out", "steps", "minutes", "threads", "resume", "checkpoint_minutes",
                "keep_checkpoints", "log_every", "progress")  # the invocation's, not the run's


def _build(config: LMTrainConfig, resumed: tuple[dict, dict, Path] | None,
           state: LoopState) -> tuple[Parts, np.ndarray]:
    """Alphabet, network, optimizer (restored exactly when resuming) and the training codes."""
    text = corpus_split("train")
    if config.max_chars:
        text = text[: config.max_chars]
    alphabet = Alphabet.from_text(text) if resumed is None else Alphabet(resumed[1]["alphabet"])
    torch.manual_seed(config.seed)
    model = CharLM(config.architecture(alphabet.size))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    parts = Parts(config, alphabet, model, optimizer)
    if resumed is not None:
        tensors, meta, source = resumed
        load_module(model, "model", tensors, source)
        load_optimizer(optimizer, "opt", tensors, meta["optimizer"], source)
        torch.set_rng_state(tensors["rng.torch"])
        parts.hidden = _hidden_from(tensors, config.cell)
        state.step, state.seconds = int(meta["step"]), float(meta["state"]["seconds"])
        state.epoch, state.cursor = int(meta["state"]["epoch"]), int(meta["state"]["cursor"])
    return parts, alphabet.encode(text)


def _prepare(config: LMTrainConfig) -> tuple[LMTrainConfig, tuple[dict, dict, Path] | None]:
    """Resolve resume: the stored config and checkpoint, or a fresh start."""
    if config.steps is None and config.minutes is None:
        raise ValueError("give a budget: steps or minutes")
    found = list_checkpoints(Path(config.out))
    if found and not config.resume:
        raise ValueError(f"{config.out} already holds checkpoints: pass --resume to continue "
                         "that run, or choose another --out")
    if not found:
        return config, None
    resumed = read_checkpoint(found[-1])
    merged = merge_resumed(config, LMTrainConfig.from_json(resumed[1]["config"]),
                           LMTrainConfig(), ARCH_KEYS, RESUME_KEEPS, found[-1])
    return merged, resumed


def _progress(config: LMTrainConfig) -> Any:
    """A rich progress bar (loss, chars/s, ETA), or a disabled one."""
    return progress_bar("LM", config.progress)


def train(config: LMTrainConfig) -> Path:
    """Train (or resume) a character LM; returns the run folder.

    Stops after `config.steps` steps in total (across resumes) or `config.minutes` of this
    invocation, whichever comes first; writes checkpoints/, config.json, metrics.jsonl
    (loss per window) and summary.json (validation bits per character at the end). Resume is
    step-exact when the lr schedule follows `steps` (or lr_decay = 0); with only `minutes` the
    decay follows each invocation's wall clock, as in the GAN loop.
    """
    threads = torch.get_num_threads()
    try:
        return _run(config)
    finally:
        torch.set_num_threads(threads)  # the loop's thread count is not a lasting side effect


def _run(config: LMTrainConfig) -> Path:
    config, resumed = _prepare(config)
    if config.threads:
        torch.set_num_threads(config.threads)
    run_dir = Path(config.out)
    state = LoopState()
    parts, codes = _build(config, resumed, state)
    batches = Batches(codes, parts.model.bos, config.batch_size, config.seq_len)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(asdict(config), indent=2))
    log = MetricsLog(run_dir)  # metrics.jsonl (+ TensorBoard when installed), as GAN runs
    start = last_ckpt = time.perf_counter()
    deadline = None if config.minutes is None else start + 60 * config.minutes
    window, first_step, saved_at = [0.0, 0], state.step, -1
    parts.model.train()
    with _progress(config) as bar:
        task = bar.add_task(f"{config.cell}-{config.hidden_size}", stats="",
                            total=config.steps if config.steps is not None
                            else 60 * (config.minutes or 0),
                            completed=state.step if config.steps is not None else 0)
        while not ((config.steps is not None and state.step >= config.steps)
                   or (deadline is not None and time.perf_counter() >= deadline)):
            t0 = time.perf_counter()
            for group in parts.optimizer.param_groups:
                group["lr"] = config.lr * lr_factor(config, state.step, t0 - start)
            inputs, targets, fresh = batches.next(state)
            loss = train_step(parts, inputs, targets, fresh, state.step)
            state.step += 1
            state.seconds += time.perf_counter() - t0
            window[0] += loss
            window[1] += 1
            if state.step % config.log_every == 0:
                record = {"step": state.step, "epoch": state.epoch,
                          "loss_bits": window[0] / window[1] / math.log(2),
                          "seconds": state.seconds}
                log.write(record)
                done = state.step if config.steps is not None else time.perf_counter() - start
                bar.update(task, completed=done, stats=f"step {state.step}  "
                           f"{record['loss_bits']:.3f} bits/char (train)")
                window = [0.0, 0]
            if time.perf_counter() - last_ckpt >= 60 * config.checkpoint_minutes:
                checkpoint = save(parts, state, run_dir)
                last_ckpt = time.perf_counter()
                saved_at = state.step
        if saved_at != state.step:  # the timed save may just have written this very step
            checkpoint = save(parts, state, run_dir)
    val = bits_per_char(parts.model, parts.alphabet.encode(corpus_split("validation")))
    log.write({"step": state.step, "validation_bits_per_char": val})
    log.close()
    summary = {"steps": state.step, "steps_this_run": state.step - first_step,
               "epochs": state.epoch + state.cursor / batches.inputs.shape[1],
               "seconds_trained": state.seconds, "validation_bits_per_char": val,
               "checkpoint": str(checkpoint)}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return run_dir
