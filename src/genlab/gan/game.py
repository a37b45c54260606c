"""What Algorithm 1 plays: the batch D compares, what G is conditioned on, extra loss terms.

The loop in `genlab.gan.train` is written once; a game supplies its batches. `NoiseGame` is
the GAN of Goodfellow et al. (optionally class-conditional): G(z, y) against real (x, y).
`PairedGame` is pix2pix: G restores a degraded image, D judges (restored, input) against
(clean, input), and G's loss adds λ·L1 to the clean image (or is only that, as an ablation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # the loop's containers; imported for types only (no cycle at run time)
    from genlab.gan.tasks.degrade import Degraded, ImageTask
    from genlab.gan.train import Batches, Parts

__all__ = ["NoiseGame", "PairedGame"]

Condition = Any  # class labels (B,), a condition image (B, C, H, W), or None


class NoiseGame:
    """Noise to image: fresh z (and uniformly drawn labels when conditional) every step."""

    adversarial = True

    def d_batch(self, parts: Parts, batches: Batches
                ) -> tuple[torch.Tensor, Condition, torch.Tensor, Condition]:
        """(real, its condition, fake, its condition) for one discriminator step."""
        real, real_labels = batches.next()
        z, fake_labels = parts.fake_inputs()
        with torch.no_grad(), parts.autocast():
            fake = parts.g(z, fake_labels)
        return real, real_labels, fake, fake_labels

    def g_batch(self, parts: Parts, batches: Batches
                ) -> tuple[torch.Tensor, Condition, torch.Tensor | None]:
        """(fake with gradients to G, its condition, extra loss or None) for one G step."""
        z, fake_labels = parts.fake_inputs()
        with parts.autocast():
            fake = parts.g_train(z, fake_labels)
        return fake, fake_labels, None


class PairedGame:
    """Image to image (pix2pix): clean batches degraded on the fly with the run's noise RNG
    (so a resumed run draws the same masks), G's output assembled into the restored image.

    As in pix2pix, the G step reuses the batch and the forward pass of the D step before it
    (one G forward per step instead of two); without a D step (L1-only, warm-up) or with
    k > 1 D steps, G draws its own batch.
    """

    def __init__(self, task: ImageTask, l1_weight: float, adversarial: bool) -> None:
        self.task, self.l1_weight, self.adversarial = task, l1_weight, adversarial
        self._pending: tuple[torch.Tensor, Degraded, torch.Tensor] | None = None

    def degraded(self, parts: Parts, batches: Batches) -> tuple[torch.Tensor, Degraded]:
        clean, _ = batches.next()
        return clean, self.task.degrade(clean, parts.noise)

    def d_batch(self, parts: Parts, batches: Batches
                ) -> tuple[torch.Tensor, Condition, torch.Tensor, Condition]:
        clean, degraded = self.degraded(parts, batches)
        if parts.config.d_steps > 1:  # k > 1 D steps: G draws its own batch, as in Algorithm 1
            with torch.no_grad(), parts.autocast():
                fake = self.task.assemble(degraded, parts.g(degraded.g_input))
            return clean, degraded.cond, fake, degraded.cond
        with parts.autocast():
            fake = self.task.assemble(degraded, parts.g_train(degraded.g_input))
        self._pending = (clean, degraded, fake)  # the next G step's batch and forward pass
        return clean, degraded.cond, fake.detach(), degraded.cond

    def g_batch(self, parts: Parts, batches: Batches
                ) -> tuple[torch.Tensor, Condition, torch.Tensor | None]:
        if self._pending is not None:
            (clean, degraded, fake), self._pending = self._pending, None
        else:
            clean, degraded = self.degraded(parts, batches)
            with parts.autocast():
                fake = self.task.assemble(degraded, parts.g_train(degraded.g_input))
        l1 = (fake.float() - clean.float()).abs().mean()
        return fake, degraded.cond, self.l1_weight * l1

    @torch.no_grad()
    def restore(self, generator: torch.nn.Module, degraded: Degraded) -> torch.Tensor:
        """The restored images (float32, clamped to [-1, 1]) for a degraded batch."""
        out = self.task.assemble(degraded, generator(degraded.g_input).float())
        return out.float().clamp(-1, 1)
