"""GAN losses as pure functions of discriminator logits, registered by name.

Each loss is a pair: `d(real_logits, fake_logits)` is what D minimises, `g(fake_logits)` what
G minimises. With D(x) = σ(logit), Algorithm 1's D ascends log D(x) + log(1 − D(G(z))), i.e.
minimises softplus(−real) + softplus(fake); its G descends log(1 − D(G(z))) = −softplus(fake).
Patch logits (B, 1, H', W') are averaged like per-sample logits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "LOSSES",
    "PENALTIES",
    "GanLoss",
    "gradient_penalty",
    "hinge_d",
    "hinge_g",
    "lsgan_d",
    "lsgan_g",
    "matching_aware_d",
    "minimax_d",
    "minimax_g",
    "nonsaturating_g",
    "r1_penalty",
]


def minimax_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """−E[log σ(real)] − E[log(1 − σ(fake))]: the negated objective D ascends in Algorithm 1."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def minimax_g(fake: torch.Tensor) -> torch.Tensor:
    """E[log(1 − σ(fake))]: the saturating generator loss exactly as in Algorithm 1."""
    return -F.softplus(fake).mean()


def nonsaturating_g(fake: torch.Tensor) -> torch.Tensor:
    """−E[log σ(fake)]: strong gradients early in training (Goodfellow et al. §3)."""
    return F.softplus(-fake).mean()


def hinge_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E[max(0, 1 − real)] + E[max(0, 1 + fake)] (Lim & Ye 2017; SAGAN)."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g(fake: torch.Tensor) -> torch.Tensor:
    """−E[fake]."""
    return -fake.mean()


def lsgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """½E[(real − 1)²] + ½E[fake²] (Mao et al. 2017, a=0, b=c=1; logits used as raw scores)."""
    return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()


def lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    """½E[(fake − 1)²]."""
    return 0.5 * ((fake - 1.0) ** 2).mean()


@dataclass(frozen=True)
class GanLoss:
    """A discriminator loss and a generator loss that belong together."""

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]


LOSSES: dict[str, GanLoss] = {
    "minimax": GanLoss(minimax_d, minimax_g),
    "nonsaturating": GanLoss(minimax_d, nonsaturating_g),
    "hinge": GanLoss(hinge_d, hinge_g),
    "lsgan": GanLoss(lsgan_d, lsgan_g),
}

def matching_aware_d(d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                     real: torch.Tensor, fake: torch.Tensor, wrong: torch.Tensor) -> torch.Tensor:
    """GAN-INT-CLS's D loss: (real image, right text) is real; (G's image, right text) and
    (real image, wrong text) are fake, each with half the weight — for minimax,
    −E log σ(real) − ½E log(1 − σ(fake)) − ½E log(1 − σ(wrong))."""
    if fake.shape != wrong.shape:
        raise ValueError(f"fake and wrong-text logits must have one shape, got "
                         f"{tuple(fake.shape)} and {tuple(wrong.shape)}")
    return d_loss(real, torch.cat([fake, wrong]))


Critic = Callable[[torch.Tensor], torch.Tensor]


def _input_grad(critic: Critic, x: torch.Tensor) -> torch.Tensor:
    """∂ Σ critic(x) / ∂x with a graph kept, so a penalty on it can be back-propagated."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).float().sum(), x, create_graph=True)
    return grad.flatten(1)


def r1_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E‖∇ₓD(x)‖² on real data (Mescheder et al. 2018); `fake` is unused."""
    del fake
    return _input_grad(critic, real).pow(2).sum(1).mean()


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E(‖∇D(x̂)‖ − 1)² at random points x̂ between real and fake (Gulrajani et al. 2017)."""
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    t = torch.rand(shape, device=real.device, dtype=real.dtype)
    mixed = t * real.detach() + (1 - t) * fake.detach()
    return (_input_grad(critic, mixed).norm(dim=1) - 1.0).pow(2).mean()


PENALTIES: dict[str, Callable[[Critic, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "r1": r1_penalty,
    "gp": gradient_penalty,
}
