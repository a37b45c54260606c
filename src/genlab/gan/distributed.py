"""DDP plumbing for `torchrun`: process-group set-up, rank-0 decisions, clean teardown."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Dist", "setup_distributed"]


@dataclass(frozen=True)
class Dist:
    """This process's place in the job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when launched by torchrun with more than one process."""
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0 logs, samples and writes checkpoints."""
        return self.rank == 0

    def agree(self, flags: list[bool]) -> list[bool]:
        """Rank 0's flags on every rank (e.g. 'stop', 'checkpoint now'), so all ranks act alike."""
        if not self.enabled:
            return flags
        buf = torch.tensor([int(f) for f in flags], dtype=torch.int64)
        dist.broadcast(buf, src=0)
        return [bool(v) for v in buf.tolist()]

    def bad_ranks(self, bad: bool) -> list[int]:
        """The ranks where `bad` holds, known on every rank: one rank's NaN stops all of them
        together instead of leaving the others waiting in the next all-reduce."""
        if not self.enabled:
            return [0] if bad else []
        flags = torch.zeros(self.world, dtype=torch.int64)
        flags[self.rank] = int(bad)
        dist.all_reduce(flags)
        return [r for r, f in enumerate(flags.tolist()) if f]

    def gather(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's copy of a same-shaped CPU tensor (just [tensor] when not distributed)."""
        if not self.enabled:
            return [tensor]
        out = [torch.empty_like(tensor) for _ in range(self.world)]
        dist.all_gather(out, tensor.contiguous())
        return out

    def close(self) -> None:
        """Tear down without gloo's exit-time abort: collect, barrier, destroy."""
        if self.enabled and dist.is_initialized():
            gc.collect()
            dist.barrier()
            dist.destroy_process_group()


def setup_distributed(device: torch.device) -> Dist:
    """Join the process group when torchrun set WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
