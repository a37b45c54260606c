"""Watching a GAN train: metrics log (JSONL, TensorBoard if installed), failure warnings."""

from __future__ import annotations

import json
import warnings
from collections import deque
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "FailureWatch",
    "MetricsLog",
    "TrainingDiverged",
    "TrainingWarning",
    "mean_distance",
    "progress_bar",
]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; training stopped before updating any weights with it."""


class TrainingWarning(UserWarning):
    """A usual sign of GAN failure: D winning outright, or collapsed sample diversity."""


def mean_distance(x: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance between the rows of x flattened (a diversity score)."""
    flat = x.detach().float().flatten(1)
    n = flat.shape[0]
    if n < 2:
        return 0.0
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1)))


class FailureWatch:
    """Warns once per kind: D's loss near 0 while G's climbs; fixed-noise samples collapsing."""

    def __init__(self, window: int = 100, d_floor: float = 0.01, collapse: float = 0.1) -> None:
        self.window, self.d_floor, self.collapse = window, d_floor, collapse
        self.d_hist: deque[float] = deque(maxlen=2 * window)
        self.g_hist: deque[float] = deque(maxlen=2 * window)
        self.warned: set[str] = set()
        self.best_diversity = 0.0

    def _warn(self, kind: str, message: str) -> str | None:
        if kind in self.warned:
            return None
        self.warned.add(kind)
        warnings.warn(message, TrainingWarning, stacklevel=3)
        return message

    def losses(self, step: int, d_loss: float, g_loss: float) -> str | None:
        """Record one step's losses; a message if D has won (its loss ≈ 0, G's loss rising)."""
        self.d_hist.append(d_loss)
        self.g_hist.append(g_loss)
        if len(self.d_hist) < 2 * self.window:
            return None
        recent_d = sum(list(self.d_hist)[self.window:]) / self.window
        g = list(self.g_hist)
        rising = sum(g[self.window:]) > sum(g[:self.window])
        if recent_d < self.d_floor and rising:
            return self._warn(
                "d_wins",
                f"step {step}: discriminator loss {recent_d:.4f} ≈ 0 while the generator loss "
                "climbs — D has won and G gets no useful gradient (try the non-saturating or "
                "hinge loss, a lower D learning rate, or an R1 penalty)",
            )
        return None

    def diversity(
        self, step: int, fake: torch.Tensor | list[torch.Tensor],
        real: torch.Tensor | list[torch.Tensor],
    ) -> tuple[float, str | None]:
        """Ratio of fixed-noise sample spread to real-data spread; a message if it collapsed.

        Lists are per-class groups (conditional G): spread is then measured within each class,
        where a conditional G collapses. An untrained G is not diverse yet, so only a fall
        (below `collapse` after having reached twice that) counts as collapse.
        """
        fakes = fake if isinstance(fake, list) else [fake]
        reals = real if isinstance(real, list) else [real]
        spread = sum(mean_distance(f) for f in fakes) / len(fakes)
        ratio = spread / max(sum(mean_distance(r) for r in reals) / len(reals), 1e-12)
        self.best_diversity = max(self.best_diversity, ratio)
        if ratio < self.collapse and self.best_diversity >= 2 * self.collapse:
            return ratio, self._warn(
                "collapse",
                f"step {step}: samples on the fixed noise batch have collapsed (their mean "
                f"pairwise distance is {ratio:.1%} of the real data's) — mode collapse",
            )
        return ratio, None


class MetricsLog:
    """Appends one JSON object per line to metrics.jsonl; mirrors scalars to TensorBoard."""

    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self.enabled = enabled
        self.board: Any = None
        if enabled:
            try:  # optional: only when the tensorboard package is installed
                from torch.utils.tensorboard import SummaryWriter

                self.board = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))
            except ImportError:
                self.board = None

    def write(self, record: dict[str, Any]) -> None:
        """Append a record (needs a 'step'); numbers also go to TensorBoard."""
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.board is not None:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.board.add_scalar(key, value, record["step"])

    def close(self) -> None:
        """Flush TensorBoard."""
        if self.board is not None:
            self.board.close()


def progress_bar(label: str, enabled: bool = True) -> Any:
    """The training loops' rich progress bar (percentage, elapsed, ETA and a `stats` field
    the loop fills with losses and throughput), or a disabled one."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(f"[bold]{label}[/] {{task.description}}"), BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[stats]}"), disable=not enabled,
    )
