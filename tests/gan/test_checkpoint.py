"""Checkpoints: round trip, clear errors for corrupt or mismatched files, kill-safe training."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from genlab.gan.checkpoint import (
    CheckpointError,
    checkpoint_path,
    latest_checkpoint,
    list_checkpoints,
    load_generator,
    load_module,
    prune_checkpoints,
    read_checkpoint,
    write_checkpoint,
)
from genlab.gan.nets import DCGANGenerator
from genlab.gan.train import TrainConfig, train

TINY = {"data": "digits", "img_size": 16, "width": 8, "batch_size": 16, "precision": "fp32",
        "progress": False, "sample_every": 0, "threads": 1}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-step conditional run with an EMA generator."""
    out = tmp_path_factory.mktemp("run")
    return train(TrainConfig(out=str(out), steps=3, conditional=True, ema=0.5, **TINY))


def test_load_generator_from_folder_or_file(run: Path) -> None:
    generator, config = load_generator(run)
    assert not generator.training
    for key in ("data", "num_classes", "z_dim", "img_size", "img_channels", "model"):
        assert key in config
    assert (config["data"], config["num_classes"], config["img_size"]) == ("digits", 10, 16)
    tensors, meta = read_checkpoint(run)
    ema = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
    assert ema and all(torch.equal(generator.state_dict()[k], v) for k, v in ema.items())
    same, _ = load_generator(latest_checkpoint(run))
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(),
                                                 same.state_dict().values(), strict=True))
    assert meta["genlab_version"] and meta["format_version"] == 1 and meta["step"] == 3


def test_truncated_and_garbage_files_name_the_file(run: Path, tmp_path: Path) -> None:
    blob = latest_checkpoint(run).read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.safetensors is not a readable"):
        load_generator(cut)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match=r"junk\.safetensors"):
        read_checkpoint(junk)


def test_foreign_and_future_files(tmp_path: Path) -> None:
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(CheckpointError, match="not a genlab GAN checkpoint"):
        read_checkpoint(plain)
    future = tmp_path / "future.safetensors"
    save_file({"w": torch.zeros(2)}, str(future), metadata={"genlab": json.dumps(
        {"format": "genlab-gan-checkpoint", "format_version": 99})})
    with pytest.raises(CheckpointError, match="format 99"):
        read_checkpoint(future)
    with pytest.raises(CheckpointError, match="no checkpoints"):
        load_generator(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_generator(tmp_path / "missing")


def test_mismatched_weights_say_which(run: Path) -> None:
    tensors, _ = read_checkpoint(run)
    wider = DCGANGenerator(z_dim=100, img_size=16, img_channels=1, width=16, num_classes=10)
    with pytest.raises(CheckpointError, match=r"shape mismatch .*net\.0\.weight"):
        load_module(wider, "g", tensors, Path("ckpt"))
    unconditional = DCGANGenerator(z_dim=100, img_size=16, img_channels=1, width=8)
    with pytest.raises(CheckpointError, match=r"unexpected \['embed\.weight'\]"):
        load_module(unconditional, "g", tensors, Path("ckpt"))


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints" / "step-00000001.safetensors"
    write_checkpoint(path, {"x": torch.ones(3)}, {"config": {}, "step": 1})
    (path.parent / ".step-00000002.safetensors.tmp").write_bytes(b"half")  # a killed write
    assert list_checkpoints(tmp_path) == [path]
    assert sorted(p.name for p in path.parent.iterdir()) == [
        ".step-00000002.safetensors.tmp", "step-00000001.safetensors"]


@pytest.mark.slow
def test_killed_training_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = ("from genlab.gan.train import TrainConfig, train; "
            f"train(TrainConfig(out={str(out)!r}, steps=100000, checkpoint_every=5, **{TINY!r}))")
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.time() + 120
        while len(list_checkpoints(out)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    saved = list_checkpoints(out)
    assert saved, "no checkpoint appeared within 120 s"
    _, meta = read_checkpoint(out)  # the newest file is complete, whenever the kill came
    step = meta["step"]
    assert step % 5 == 0 and step > 0
    resumed = train(TrainConfig(out=str(out), steps=step + 2, resume=True, **TINY))
    _, after = read_checkpoint(resumed)
    assert after["step"] == step + 2


def test_prune_keeps_the_newest_and_zero_keeps_all(tmp_path: Path) -> None:
    for step in (5, 40, 7, 100):  # numeric order, not the names' text order
        write_checkpoint(checkpoint_path(tmp_path, step), {"w": torch.zeros(1)}, {"step": step})
    prune_checkpoints(tmp_path, 0)
    assert len(list_checkpoints(tmp_path)) == 4
    prune_checkpoints(tmp_path, 2)
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        checkpoint_path(tmp_path, 40).name, checkpoint_path(tmp_path, 100).name]
