"""Losses against closed forms, penalties against a linear critic with a known gradient."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.gan.losses import LOSSES, PENALTIES, gradient_penalty, r1_penalty

REAL = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
FAKE = torch.tensor([-3.0, 0.0, 1.5], dtype=torch.float64)


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_minimax_is_algorithm_1() -> None:
    # D ascends mean log D(x) + mean log(1 − D(G(z))); the loss it minimises is the negative.
    objective = _mean([math.log(_sigmoid(r)) for r in REAL.tolist()]) + _mean(
        [math.log(1 - _sigmoid(f)) for f in FAKE.tolist()])
    assert LOSSES["minimax"].d(REAL, FAKE).item() == pytest.approx(-objective, rel=1e-12)
    # G descends mean log(1 − D(G(z))).
    expected_g = _mean([math.log(1 - _sigmoid(f)) for f in FAKE.tolist()])
    assert LOSSES["minimax"].g(FAKE).item() == pytest.approx(expected_g, rel=1e-12)


def test_value_at_the_optimum_is_log4() -> None:
    # D(x) = 1/2 everywhere (logit 0): V(D, G) = −log 4 (Goodfellow et al., Theorem 1).
    zeros = torch.zeros(5, dtype=torch.float64)
    assert LOSSES["minimax"].d(zeros, zeros).item() == pytest.approx(math.log(4), rel=1e-12)


def test_nonsaturating_generator() -> None:
    expected = _mean([-math.log(_sigmoid(f)) for f in FAKE.tolist()])
    assert LOSSES["nonsaturating"].g(FAKE).item() == pytest.approx(expected, rel=1e-12)
    assert LOSSES["nonsaturating"].d is LOSSES["minimax"].d


def test_saturating_loss_has_vanishing_gradient_when_d_rejects() -> None:
    fake = torch.tensor([-10.0], requires_grad=True)
    LOSSES["minimax"].g(fake).backward()
    saturating = fake.grad.abs().item()
    fake.grad = None
    LOSSES["nonsaturating"].g(fake).backward()
    assert saturating < 1e-4 < fake.grad.abs().item()


def test_extreme_logits_stay_finite() -> None:
    big = torch.tensor([1e4, -1e4])
    for loss in LOSSES.values():
        assert torch.isfinite(loss.d(big, -big)) and torch.isfinite(loss.g(big))


def test_hinge_and_lsgan_closed_forms() -> None:
    hinge_d = _mean([max(0, 1 - r) for r in REAL.tolist()]) + _mean(
        [max(0, 1 + f) for f in FAKE.tolist()])
    assert LOSSES["hinge"].d(REAL, FAKE).item() == pytest.approx(hinge_d)
    assert LOSSES["hinge"].g(FAKE).item() == pytest.approx(-_mean(FAKE.tolist()))
    ls_d = 0.5 * _mean([(r - 1) ** 2 for r in REAL.tolist()]) + 0.5 * _mean(
        [f**2 for f in FAKE.tolist()])
    assert LOSSES["lsgan"].d(REAL, FAKE).item() == pytest.approx(ls_d)
    assert LOSSES["lsgan"].g(FAKE).item() == pytest.approx(
        0.5 * _mean([(f - 1) ** 2 for f in FAKE.tolist()]))


def test_patch_logits_average_like_per_sample_logits() -> None:
    patches = torch.randn(2, 1, 3, 3)
    for loss in LOSSES.values():
        assert loss.g(patches).item() == pytest.approx(loss.g(patches.flatten()).item())


def test_penalties_on_a_linear_critic() -> None:
    w = torch.tensor([3.0, 4.0])  # ‖∇D‖ = 5 everywhere

    def critic(x: torch.Tensor) -> torch.Tensor:
        return x @ w

    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    assert r1_penalty(critic, real, fake).item() == pytest.approx(25.0)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(16.0)
    assert set(PENALTIES) == {"r1", "gp"}


def test_penalty_is_differentiable_in_the_critic() -> None:
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    r1_penalty(lambda x: x @ w, torch.randn(4, 2), torch.randn(4, 2)).backward()
    assert torch.allclose(w.grad, 2 * w.detach())  # ∂‖w‖²/∂w
