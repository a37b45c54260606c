"""DDP under torchrun: 2 gloo processes on the CPU train one model and resume exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genlab.gan.checkpoint import read_checkpoint

ARGS = ["--data", "digits", "--img-size", "16", "--width", "8", "--batch-size", "16",
        "--conditional", "--ema", "0.9", "--no-progress", "--threads", "1", "--precision", "fp32"]


def _torchrun(out: Path, steps: int, *extra: str) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "genlab.cli.main", "gan", "train", *ARGS, "--steps", str(steps),
           "--out", str(out), *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


@pytest.mark.slow
def test_two_gloo_processes_stay_in_sync_and_resume_exactly(tmp_path: Path) -> None:
    _torchrun(tmp_path / "a", 6, "--checkpoint-every", "3")
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    # ranks draw different data and noise, so equal weights mean gradients were all-reduced
    assert summary["world"] == 2 and summary["replicas_in_sync"] is True
    tensors, meta = read_checkpoint(tmp_path / "a")
    assert meta["world"] == 2 and meta["step"] == 6
    assert {"rng.noise.0", "rng.noise.1"} <= set(tensors)
    assert not torch.equal(tensors["rng.noise.0"], tensors["rng.noise.1"])  # per-rank seeds
    assert meta["state"]["cursor"] == 6 * 16  # each rank walks its half of the epoch
    # resume a copy of the run from its step-3 checkpoint: it must reach the same step 6
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "checkpoints" / "step-00000006.safetensors").unlink()
    _torchrun(tmp_path / "b", 6, "--resume")
    resumed, again = read_checkpoint(tmp_path / "b")
    assert again["step"] == 6
    assert [k for k in tensors if not torch.equal(tensors[k], resumed[k])] == []


NAN_ON_RANK_1 = """
import dataclasses, os, sys
from genlab.gan import losses
from genlab.gan.train import TrainConfig, TrainingDiverged, train
good, calls = losses.LOSSES["nonsaturating"], {"n": 0}
def g_loss(fake):
    calls["n"] += 1
    return good.g(fake) * (float("nan") if os.environ["RANK"] == "1" and calls["n"] > 3 else 1.0)
losses.LOSSES["nonsaturating"] = dataclasses.replace(good, g=g_loss)
try:
    train(TrainConfig(data="digits", img_size=16, width=8, batch_size=16, steps=10,
                      checkpoint_every=2, out=sys.argv[1], progress=False, sample_every=0,
                      threads=1, precision="fp32"))
except TrainingDiverged as err:
    print(f"rank {os.environ['RANK']} stopped: {err}", flush=True)
    sys.exit(3)
"""


@pytest.mark.slow
def test_a_nan_on_one_rank_stops_every_rank(tmp_path: Path) -> None:
    script = tmp_path / "nan_on_rank_1.py"
    script.write_text(NAN_ON_RANK_1)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(script), str(tmp_path / "run")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)  # no hang
    assert done.returncode != 0
    for rank in (0, 1):
        assert f"rank {rank} stopped: training diverged at step 3" in done.stdout, done.stdout
    assert "generator loss is nan on rank 1" in done.stdout
    assert "generator loss is not finite on rank 1" in done.stdout  # rank 0's own view
    assert (tmp_path / "run" / "checkpoints" / "step-00000002.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("penalty", ["r1", "gp"])
def test_penalties_train_in_sync_under_ddp(tmp_path: Path, penalty: str) -> None:
    _torchrun(tmp_path, 3, "--penalty", penalty)  # double backward through the DDP wrapper
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["replicas_in_sync"] is True


@pytest.mark.slow
def test_image_task_under_ddp_keeps_replicas_in_sync(tmp_path: Path) -> None:
    """The paired game (G's D-step forward reused by the G step) all-reduces G and D."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "genlab.cli.main", "image", "train", "inpaint", "--data", "digits", "--crop",
           "16", "--width", "4", "--depth", "2", "--batch-size", "8", "--steps", "4",
           "--l1-warmup", "1", "--no-progress", "--threads", "1", "--precision", "fp32",
           "--out", str(tmp_path / "run")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["world"] == 2 and summary["replicas_in_sync"] is True
    tensors, meta = read_checkpoint(tmp_path / "run")
    assert meta["step"] == 4 and tensors["opt_d.0.step"].item() == 3.0


@pytest.mark.slow
def test_text_to_image_under_two_gloo_processes(tmp_path: Path) -> None:
    """The text game under DDP: every rank embeds the same captions, draws its own."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "genlab.cli.main", "text2img", "train", "--data", "mnist-captions", "--width",
           "8", "--batch-size", "8", "--threads", "1", "--no-progress", "--steps", "4",
           "--sample-every", "2", "--out", str(tmp_path / "t")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    summary = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert summary["world"] == 2 and summary["replicas_in_sync"] is True
    assert (tmp_path / "t" / "samples" / "step-00000004.png").is_file()
