"""What Algorithm 1 plays: the batch D compares, what G is conditioned on, extra loss terms.

The loop in `genlab.gan.train` is written once; a game supplies its batches. `NoiseGame` is
the GAN of Goodfellow et al. (optionally class-conditional): G(z, y) against real (x, y).
`PairedGame` is pix2pix: G restores a degraded image, D judges (restored, input) against
(clean, input), and G's loss adds λ·L1 to the clean image (or is only that, as an ablation).
`TextGame` is GAN-INT-CLS: G(z, sentence) against real (image, one of its captions), with a
matching-aware D that also calls a real image with the wrong caption fake, and G also drawing
from interpolated sentences.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from genlab.gan.sample import latent

if TYPE_CHECKING:  # the loop's containers; imported for types only (no cycle at run time)
    from genlab.gan.tasks.degrade import Degraded, ImageTask
    from genlab.gan.text.bank import CaptionBank
    from genlab.gan.train import Batches, Parts

__all__ = ["Game", "NoiseGame", "PairedGame", "TextGame"]

Condition = Any  # class labels (B,), a condition image (B, C, H, W), or None


class Game:
    """The hooks every game answers; by default no matching-aware term and no condition that
    sampling cannot draw itself."""

    def wrong_condition(self) -> Condition:
        """Conditions D must call fake on real images (None: D only compares real with fake)."""
        return None

    def conditions(self, n: int, rng: torch.Generator) -> Condition:
        """G's condition for n samples drawn outside training (None: sample() draws labels)."""
        return None


class NoiseGame(Game):
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


class PairedGame(Game):
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


class TextGame(Game):
    """Text to image (GAN-INT-CLS, Reed et al. 2016) on a bank of frozen sentence embeddings.

    D's step: real images with one of their captions (drawn with the run's noise RNG, so a
    resumed run draws the same), G's images for the same captions, and — the matching-aware
    term — the real images with captions of other attribute combinations, which D must call
    fake. G's step: captions of random training images, plus a share `interpolation` of
    midpoints between two captions' embeddings (GAN-INT), which have no real image but must
    still fool D. With a `guide` (the frozen image tower of the dual encoder the captions
    were embedded with), G's loss adds `match_weight` · (1 − cos(guide(G(z, t)), t)) on the
    captions that have real images: AttnGAN's DAMSM term, a direct push towards images the
    encoder matches to their caption. With `diversity_weight` the captions come in pairs and
    MSGAN's mode-seeking term λ / (mean|G(z1, t) − G(z2, t)| / mean|z1 − z2|) keeps G from
    drawing one image per caption.
    """

    adversarial = True

    def __init__(self, bank: CaptionBank, mismatch: bool = True, interpolation: float = 0.25,
                 guide: torch.nn.Module | None = None, match_weight: float = 0.0,
                 diversity_weight: float = 0.0) -> None:
        if not 0.0 <= interpolation <= 1.0:
            raise ValueError(f"interpolation must be a share of the batch in [0, 1], got "
                             f"{interpolation}")
        if match_weight > 0 and guide is None:
            raise ValueError("a caption-matching loss needs the encoder's image tower")
        self.bank, self.mismatch, self.interpolation = bank, mismatch, interpolation
        self.guide = None if guide is None else guide.eval().requires_grad_(False)
        self.match_weight, self.diversity_weight = match_weight, diversity_weight
        self._wrong: torch.Tensor | None = None

    def to(self, device: torch.device) -> TextGame:
        self.bank = self.bank.to(device)
        if self.guide is not None:
            self.guide = self.guide.to(device)
        return self

    def d_batch(self, parts: Parts, batches: Batches
                ) -> tuple[torch.Tensor, Condition, torch.Tensor, Condition]:
        real, rows = batches.next()
        assert rows is not None  # text batches carry each image's row in the caption bank
        text = self.bank.draw(rows, parts.noise)
        self._wrong = self.bank.mismatched(rows, parts.noise) if self.mismatch else None
        z = latent(parts.g, len(rows), parts.noise).to(parts.device)
        with torch.no_grad(), parts.autocast():
            fake = parts.g(z, text)
        return real, text, fake, text

    def wrong_condition(self) -> Condition:
        """Captions that do not describe the last D batch's real images (None: ablation)."""
        wrong, self._wrong = self._wrong, None
        return wrong

    def g_batch(self, parts: Parts, batches: Batches
                ) -> tuple[torch.Tensor, Condition, torch.Tensor | None]:
        m = parts.config.batch_size or 0
        text = self.conditions(m, parts.noise)
        half = m // 2
        if self.diversity_weight > 0:  # pairs: the second half repeats the first's captions
            text = torch.cat([text[:half], text[:half], text[2 * half:]])
        k = round(m * self.interpolation)
        if k:
            other = self.conditions(k, parts.noise)
            text = torch.cat([text, 0.5 * (text[:k] + other)])
        z = latent(parts.g, len(text), parts.noise).to(parts.device)
        with parts.autocast():
            fake = parts.g_train(z, text)
        extra = None
        if self.guide is not None and self.match_weight > 0:
            with parts.autocast():
                seen = torch.nn.functional.normalize(self.guide(fake[:m]).float(), dim=1)
            extra = self.match_weight * (1.0 - (seen * text[:m]).sum(1).mean())
        if self.diversity_weight > 0:  # MSGAN: images of one caption must move with z
            moved = (fake[:half] - fake[half:2 * half]).float().abs().mean((1, 2, 3))
            apart = (z[:half] - z[half:2 * half]).abs().mean(1)
            seeking = self.diversity_weight / ((moved / apart).mean() + 1e-5)
            extra = seeking if extra is None else extra + seeking
        return fake, text, extra

    def conditions(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """Sentence embeddings of one random caption of each of n random training images."""
        rows = torch.randint(0, self.bank.images, (n,), generator=rng)
        return self.bank.draw(rows, rng)
