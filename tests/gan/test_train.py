"""Algorithm 1 mechanics, exact resume, the divergence guard and failure warnings."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import pytest
import torch

from genlab.gan import losses
from genlab.gan.checkpoint import list_checkpoints, load_generator, read_checkpoint
from genlab.gan.config import TrainConfig, resolve_config
from genlab.gan.data import load_dataset
from genlab.gan.distributed import Dist
from genlab.gan.monitor import FailureWatch, TrainingDiverged, TrainingWarning
from genlab.gan.nets import DCGANGenerator
from genlab.gan.sample import latent
from genlab.gan.train import (
    Batches,
    LoopState,
    _build,
    d_step,
    ema_decay,
    ema_step,
    g_step,
    lr_factor,
    recalibrate_batch_norm,
    train,
)

TINY = {"data": "digits", "img_size": 16, "width": 8, "batch_size": 16, "precision": "fp32",
        "progress": False, "sample_every": 0, "threads": 1}


def _parts(tmp_path: Path, **overrides: object):  # the (Parts, Batches, GanData) of a tiny run
    config = TrainConfig(out=str(tmp_path), **{**TINY, **overrides})
    data = load_dataset("digits", 16)
    config = resolve_config(config, data, torch.device("cpu"))
    parts = _build(config, data, Dist(), torch.device("cpu"))
    batches = Batches(data, 16, Dist(), 0, torch.device("cpu"), False, LoopState(),
                      use_labels=parts.num_classes > 0)
    return parts, batches, data


def test_discriminator_steps_reduce_its_loss_on_a_fixed_batch(tmp_path: Path) -> None:
    parts, batches, data = _parts(tmp_path, lr_d=1e-3)
    real = data.x[:64]
    with torch.no_grad():
        fake = parts.g(torch.randn(64, parts.g.z_dim, generator=torch.Generator().manual_seed(1)))

    def fixed_loss() -> float:  # D in training mode, as Algorithm 1 evaluates it
        with torch.no_grad():
            return parts.loss.d(parts.d(real), parts.d(fake)).item()

    before = fixed_loss()
    for _ in range(15):
        d_step(parts, batches, 0)
    assert fixed_loss() < 0.5 * before


def test_generator_step_freezes_d_and_k_d_steps_per_g_step(tmp_path: Path) -> None:
    parts, batches, _ = _parts(tmp_path)
    d_before = [p.detach().clone() for p in parts.d.parameters()]
    g_before = [p.detach().clone() for p in parts.g.parameters()]
    g_step(parts, batches, 0)
    assert all(torch.equal(a, b) for a, b in zip(d_before, parts.d.parameters(), strict=True))
    assert all(p.grad is None for p in parts.d.parameters())
    assert all(p.requires_grad for p in parts.d.parameters())  # unfrozen again
    assert any(not torch.equal(a, b) for a, b in zip(g_before, parts.g.parameters(), strict=True))

    run = train(TrainConfig(out=str(tmp_path / "k3"), steps=4, d_steps=3, **TINY))
    tensors, meta = read_checkpoint(run)
    assert meta["step"] == 4
    assert tensors["opt_d.0.step"].item() == 12.0  # k = 3 D updates per G update
    assert tensors["opt_g.0.step"].item() == 4.0
    assert meta["state"]["cursor"] == 12 * 16  # each D step drew a fresh minibatch of m


def test_resume_continues_bit_identically(tmp_path: Path) -> None:
    kw = {**TINY, "conditional": True, "ema": 0.9, "loss": "hinge", "d_steps": 2,
          "sample_every": 3, "augment": "color,translation,cutout"}
    straight = train(TrainConfig(out=str(tmp_path / "a"), steps=8, **kw))
    train(TrainConfig(out=str(tmp_path / "b"), steps=5, **kw))
    resumed = train(TrainConfig(out=str(tmp_path / "b"), steps=8, resume=True, **kw))
    ta, ma = read_checkpoint(straight)
    tb, mb = read_checkpoint(resumed)
    assert ma["step"] == mb["step"] == 8 and ma["state"] == {**mb["state"],
                                                             "seconds": ma["state"]["seconds"]}
    assert set(ta) == set(tb)
    assert [k for k in ta if not torch.equal(ta[k], tb[k])] == []
    assert ma["optimizers"] == mb["optimizers"]  # same learning rates and betas
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in lines if "d_loss" in json.loads(line)]
    assert steps == [5, 8]  # logged at the end of each invocation, counter continued


def test_resume_refuses_a_different_run_and_fresh_runs_refuse_old_folders(tmp_path: Path) -> None:
    train(TrainConfig(out=str(tmp_path), steps=1, **TINY))
    with pytest.raises(ValueError, match="--resume"):
        train(TrainConfig(out=str(tmp_path), steps=2, **TINY))
    with pytest.raises(ValueError, match=r"trained with data='digits'.*data='ring8'"):
        train(TrainConfig(out=str(tmp_path), steps=2, resume=True, **{**TINY, "data": "ring8"}))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    good = losses.LOSSES["nonsaturating"]

    def g_loss_that_explodes(fake: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        return good.g(fake) * (float("nan") if calls["n"] > 3 else 1.0)

    monkeypatch.setitem(losses.LOSSES, "nonsaturating",
                        dataclasses.replace(good, g=g_loss_that_explodes))
    with pytest.raises(TrainingDiverged, match=r"step 3: the generator loss is nan.*step-00000002"):
        train(TrainConfig(out=str(tmp_path), steps=10, checkpoint_every=2, **TINY))
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000002.safetensors"]
    generator, _ = load_generator(tmp_path)
    assert all(torch.isfinite(p).all() for p in generator.parameters())


def test_warning_when_d_wins() -> None:
    watch = FailureWatch(window=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(10):
            watch.losses(step, d_loss=0.001, g_loss=1.0 + step)
    assert [w.category for w in caught] == [TrainingWarning]
    assert "discriminator loss" in str(caught[0].message)
    balanced = FailureWatch(window=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for step in range(20):
            balanced.losses(step, d_loss=1.3, g_loss=0.7 + step)


def test_warning_on_collapse_after_diversity() -> None:
    watch = FailureWatch()
    real = torch.randn(32, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ratio, _ = watch.diversity(0, torch.zeros(32, 8), real)  # untrained G: not a collapse
        assert ratio == 0.0
        watch.diversity(1, torch.randn(32, 8), real)
    with pytest.warns(TrainingWarning, match="collapsed"):
        watch.diversity(2, torch.ones(32, 8) + 1e-3 * torch.randn(32, 8), real)


@pytest.mark.parametrize(
    ("overrides", "expect"),
    [
        ({"loss": "minimax", "optimizer": "sgd", "lr_g": 0.01, "lr_d": 0.01}, "SGD"),
        ({"loss": "lsgan", "penalty": "r1", "penalty_weight": 1.0}, "Adam"),
        ({"loss": "hinge", "penalty": "gp", "conditional": True}, "Adam"),
        ({"model": "dcgan-patch", "conditional": True}, "Adam"),
        ({"precision": "bf16", "channels_last": True}, "Adam"),
    ],
)
def test_every_loss_penalty_optimizer_and_model_trains(
    tmp_path: Path, overrides: dict[str, object], expect: str
) -> None:
    run = train(TrainConfig(out=str(tmp_path), steps=2, **{**TINY, **overrides}))
    tensors, meta = read_checkpoint(run)
    assert meta["step"] == 2 and meta["config"]["precision"] == overrides.get("precision", "fp32")
    assert all(torch.isfinite(t).all() for k, t in tensors.items() if not k.startswith("rng."))
    groups = meta["optimizers"]["g"]["param_groups"][0]
    assert ("momentum" in groups and groups["momentum"] == 0.5) == (expect == "SGD")
    if expect == "SGD":
        assert any(k.endswith("momentum_buffer") for k in tensors)  # resumable SGD state
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(math.isfinite(r["d_loss"]) for r in records if "d_loss" in r)


def test_defaults_follow_the_data(tmp_path: Path) -> None:
    cpu, digits = torch.device("cpu"), load_dataset("digits")
    images = resolve_config(TrainConfig(data="digits"), digits, cpu)
    assert (images.model, images.batch_size, images.lr_g, images.betas, images.ema) == (
        "dcgan", 64, 2e-4, (0.5, 0.999), 0.0)
    mnist = resolve_config(TrainConfig(data="mnist"), digits, cpu)  # defaults keyed by name
    assert (mnist.lr_g, mnist.lr_d, mnist.ema, mnist.ema_rampup) == (2e-3, 2e-3, 0.999, 0.2)
    flags = resolve_config(TrainConfig(data="mnist", lr_g=1e-4, ema=0.0), digits, cpu)
    assert (flags.lr_g, flags.lr_d, flags.ema) == (1e-4, 2e-3, 0.0)  # flags win
    assert (images.img_size, images.img_channels, images.loss) == (32, 1, "nonsaturating")
    assert (images.width, images.channels_last) == (32, True)  # narrow at 32 px
    big = resolve_config(TrainConfig(img_size=64), load_dataset("digits", 64), cpu)
    assert big.width == 64
    points = resolve_config(TrainConfig(data="ring8"), load_dataset("ring8"), cpu)
    assert (points.model, points.img_size, points.channels_last) == ("mlp", 0, False)
    assert resolve_config(TrainConfig(precision="fp32"), digits, cpu).precision == "fp32"
    with pytest.raises(ValueError, match="does not fit dataset 'ring8'"):
        resolve_config(TrainConfig(data="ring8", model="dcgan"), load_dataset("ring8"), cpu)
    with pytest.raises(ValueError, match="loss must be auto or one of"):
        TrainConfig(loss="wasserstein")
    with pytest.raises(ValueError, match="give a budget"):
        train(TrainConfig(out=str(tmp_path)))


def test_collapse_within_classes_is_seen_by_per_class_groups() -> None:
    real = [torch.randn(8, 4) + 5 * c for c in range(3)]
    one_per_class = [torch.full((8, 4), 5.0 * c) + 1e-4 * torch.randn(8, 4) for c in range(3)]
    pooled, _ = FailureWatch().diversity(0, torch.cat(one_per_class), torch.cat(real))
    grouped, _ = FailureWatch().diversity(0, one_per_class, real)
    assert pooled > 0.5 and grouped < 0.01  # pooled spread hides the per-class collapse


def test_lr_decay_falls_linearly_over_the_last_part_of_the_budget() -> None:
    config = TrainConfig(steps=100, lr_decay=0.5)
    assert [lr_factor(config, s, 0.0) for s in (0, 50, 75, 90, 100)] == [1.0, 1.0, 0.5,
                                                                         pytest.approx(0.2), 0.0]
    assert lr_factor(TrainConfig(steps=100, lr_decay=0.0), 99, 0.0) == 1.0
    timed = TrainConfig(minutes=2.0, lr_decay=1.0)  # a wall-clock budget decays with time
    assert lr_factor(timed, 10**6, 30.0) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="lr_decay"):
        TrainConfig(lr_decay=1.5)


def test_resume_after_a_kill_continues_the_decay_bit_identically(tmp_path: Path) -> None:
    kw = {**TINY, "lr_decay": 1.0, "steps": 8, "checkpoint_every": 5}
    straight = train(TrainConfig(out=str(tmp_path / "a"), **kw))
    killed = tmp_path / "b"  # as if killed after the checkpoint at step 5
    (killed / "checkpoints").mkdir(parents=True)
    first = list_checkpoints(straight)[0]
    (killed / "checkpoints" / first.name).write_bytes(first.read_bytes())
    resumed = train(TrainConfig(out=str(killed), resume=True, **kw))
    ta, ma = read_checkpoint(straight)
    tb, mb = read_checkpoint(resumed)
    assert [k for k in ta if not torch.equal(ta[k], tb[k])] == []
    lrs = [g["lr"] for g in ma["optimizers"]["g"]["param_groups"]]
    assert lrs == [g["lr"] for g in mb["optimizers"]["g"]["param_groups"]]
    assert lrs == [pytest.approx(2e-4 * 1 / 8)]  # the rate of the last step, 7 of 8


def test_batch_norm_statistics_are_re_estimated_for_the_ema_weights(tmp_path: Path) -> None:
    g = DCGANGenerator(z_dim=8, img_size=16, img_channels=1, width=8)
    recalibrate_batch_norm(g, seed=5, batches=4, batch_size=32)
    rng = torch.Generator().manual_seed(5)
    with torch.no_grad():  # the same noise through the layer before the first batch norm
        outs = [g.net[0](latent(g, 32, rng)[:, :, None, None]) for _ in range(4)]
    mean = torch.stack([o.mean(dim=(0, 2, 3)) for o in outs]).mean(0)
    var = torch.stack([o.var(dim=(0, 2, 3)) for o in outs]).mean(0)  # unbiased, per batch
    norm = g.net[1]
    assert torch.allclose(norm.running_mean, mean, atol=1e-6)
    assert torch.allclose(norm.running_var, var, rtol=1e-5)
    assert norm.momentum == 0.1 and g.training  # settings restored
    run = train(TrainConfig(out=str(tmp_path), steps=3, ema=0.9, **TINY))
    tensors, _ = read_checkpoint(run)  # the saved EMA carries its own statistics, not G's
    assert not torch.equal(tensors["ema.net.1.running_mean"], tensors["g.net.1.running_mean"])


def test_ema_ramp_up_caps_the_half_life_at_a_fraction_of_the_steps(tmp_path: Path) -> None:
    config = TrainConfig(ema=0.999, ema_rampup=0.05)
    assert ema_decay(config, 1000) == pytest.approx(0.5 ** (1 / 50))  # half-life 50 steps
    assert ema_decay(config, 20_000) == 0.999  # 0.05 * 20k = 1,000 > 693 steps of 0.999
    assert ema_decay(config, 0) == 0.0
    assert ema_decay(dataclasses.replace(config, ema_rampup=0.0), 10) == 0.999
    parts, _, _ = _parts(tmp_path, ema=0.999, ema_rampup=0.05)
    assert parts.ema is not None
    with torch.no_grad():
        for p in parts.g.parameters():
            p.add_(1.0)
    ema_step(parts, 1)  # decay 0.5 ** 20: the EMA becomes (almost exactly) G
    for average, current in zip(parts.ema.parameters(), parts.g.parameters(), strict=True):
        assert torch.allclose(average, current, atol=1e-5)
