"""The one training loop plays the paired game: it resumes bit-identically, the L1-only
ablation never touches D, and trained runs restore images through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genlab.cli.main import app
from genlab.gan.checkpoint import read_checkpoint
from genlab.gan.classifier import ClassifierConfig
from genlab.gan.tasks.photos import read_image, save_image
from genlab.gan.tasks.restore import evaluate, load_image_model
from genlab.gan.train import TrainConfig, train

TINY = {"data": "digits", "img_size": 16, "width": 4, "depth": 2, "batch_size": 8,
        "precision": "fp32", "progress": False, "sample_every": 0, "threads": 1}


@pytest.mark.parametrize("task", ["inpaint", "superres"])
def test_paired_training_resumes_bit_identically(tmp_path: Path, task: str) -> None:
    kw = {**TINY, "task": task, "scale": 2, "l1_warmup": 2, "sample_every": 3}
    straight = train(TrainConfig(out=str(tmp_path / "a"), steps=6, **kw))
    train(TrainConfig(out=str(tmp_path / "b"), steps=3, **kw))
    resumed = train(TrainConfig(out=str(tmp_path / "b"), steps=6, resume=True, **kw))
    ta, ma = read_checkpoint(straight)
    tb, mb = read_checkpoint(resumed)
    assert ma["step"] == mb["step"] == 6
    assert [k for k in ta if not torch.equal(ta[k], tb[k])] == []
    assert ta["opt_d.0.step"].item() == 4.0  # D plays from step 2 on (the L1 warm-up)
    assert ma["state"]["cursor"] == 6 * 8  # one batch per step: G reuses the D step's batch
    assert (tmp_path / "a" / "samples" / "step-00000003.png").exists()


def test_k_discriminator_steps_per_generator_step(tmp_path: Path) -> None:
    run = train(TrainConfig(out=str(tmp_path / "k2"), steps=3, task="inpaint", d_steps=2,
                            l1_warmup=0, **TINY))
    tensors, meta = read_checkpoint(run)
    assert tensors["opt_d.0.step"].item() == 6.0 and tensors["opt_g.0.step"].item() == 3.0
    assert meta["state"]["cursor"] == 3 * 3 * 8  # two D batches and a fresh G batch per step


def test_l1_only_ablation_never_updates_d(tmp_path: Path) -> None:
    kw = {**TINY, "data": str(_folder(tmp_path / "photos"))}
    run = train(TrainConfig(out=str(tmp_path / "run"), steps=3, task="colorize",
                            adversarial=False, **kw))
    tensors, meta = read_checkpoint(run)
    assert "opt_d.0.step" not in tensors or tensors["opt_d.0.step"].item() == 0.0
    assert tensors["opt_g.0.step"].item() == 3.0
    assert meta["config"]["adversarial"] is False


def _folder(path: Path, n: int = 3, size: int = 40) -> Path:
    """A folder of n small colour PNGs (smooth gradients with a square), made here."""
    path.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        image = np.stack([x, y, (x + y + i / n) % 1.0], axis=-1)
        image[10:20, 10 + i:20 + i] = [0.9, 0.1, 0.2]
        save_image(torch.from_numpy(image).permute(2, 0, 1).float() * 2 - 1, path / f"{i}.png")
    return path


def test_wrong_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="colour"):
        train(TrainConfig(out=str(tmp_path / "c"), steps=1, task="colorize", **TINY))
    with pytest.raises(ValueError, match="task must be one of"):
        TrainConfig(task="deblur")
    with pytest.raises(ValueError, match="augment"):
        train(TrainConfig(out=str(tmp_path / "d"), steps=1, task="inpaint", augment="cutout",
                          **TINY))
    with pytest.raises(ValueError, match="at least 2 images"):
        train(TrainConfig(out=str(tmp_path / "e"), steps=1, task="inpaint",
                          **{**TINY, "data": str(_folder(tmp_path / "one", n=1))}))


def test_cli_degrade_apply_eval_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    photos = _folder(tmp_path / "photos", n=5, size=48)
    clean = photos / "0.png"
    runs = {}
    for task in ("superres", "inpaint", "colorize", "uncrop"):
        out = tmp_path / f"run-{task}"
        result = runner.invoke(app, ["image", "train", task, "--data", str(photos), "--steps",
                                     "2", "--crop", "16", "--width", "4", "--depth", "2",
                                     "--batch-size", "4", "--scale", "2", "--no-progress",
                                     "--threads", "1", "--out", str(out)])
        assert result.exit_code == 0, result.output
        runs[task] = out
    low = tmp_path / "low.png"
    assert runner.invoke(app, ["image", "degrade", "superres", str(clean), "--scale", "2",
                               "--out", str(low)]).exit_code == 0
    assert read_image(low).shape == (3, 24, 24)
    big = tmp_path / "big.png"
    result = runner.invoke(app, ["image", "apply", str(runs["superres"]), str(low), "--out",
                                 str(big)])
    assert result.exit_code == 0, result.output
    assert read_image(big).shape == (3, 48, 48)

    holed = tmp_path / "holed.png"
    assert runner.invoke(app, ["image", "degrade", "inpaint", str(clean), "--out",
                               str(holed)]).exit_code == 0
    mask = tmp_path / "holed.mask.png"
    filled = tmp_path / "filled.png"
    result = runner.invoke(app, ["image", "apply", str(runs["inpaint"]), str(holed), "--mask",
                                 str(mask), "--out", str(filled)])
    assert result.exit_code == 0, result.output
    known = read_image(mask, 1)[0] <= 0
    original, restored = read_image(clean), read_image(filled)
    assert torch.allclose(restored[:, known], original[:, known], atol=1 / 127.5 + 1e-6)

    grey = tmp_path / "grey.png"
    assert runner.invoke(app, ["image", "degrade", "colorize", str(clean), "--out",
                               str(grey)]).exit_code == 0
    coloured = tmp_path / "coloured.png"
    assert runner.invoke(app, ["image", "apply", str(runs["colorize"]), str(grey), "--out",
                               str(coloured)]).exit_code == 0
    assert read_image(coloured).shape == (3, 48, 48)

    cropped, extended = tmp_path / "cropped.png", tmp_path / "extended.png"
    assert runner.invoke(app, ["image", "degrade", "uncrop", str(clean), "--side", "right",
                               "--amount", "0.25", "--out", str(cropped)]).exit_code == 0
    assert read_image(cropped).shape == (3, 48, 36)
    assert runner.invoke(app, ["image", "apply", str(runs["uncrop"]), str(cropped), "--side",
                               "right", "--amount", "0.5", "--out",
                               str(extended)]).exit_code == 0
    out = read_image(extended)
    assert out.shape == (3, 48, 54)
    assert torch.allclose(out[:, :, :36], read_image(cropped), atol=1 / 127.5 + 1e-6)

    result = runner.invoke(app, ["image", "eval", str(runs["inpaint"]), "--size", "32",
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["images"] == 24 and report["size"] == 32
    assert [r["method"] for r in report["rows"]] == ["biharmonic", "mean fill",
                                                     "harmonic (G's start)", "genlab GAN + L1"]
    assert (runs["inpaint"] / "eval.png").exists()
    result = runner.invoke(app, ["image", "eval", str(runs["superres"]), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["size"] == 48  # the held-out 48-px image, not 128
    bad = runner.invoke(app, ["image", "apply", str(runs["inpaint"]), str(holed), "--out",
                              str(filled)])
    assert bad.exit_code == 2 and "mask" in bad.output


def test_eval_on_digits_reads_restorations_with_the_judge(tmp_path: Path) -> None:
    """MNIST: the held-out digits are the LeNet judge's own; the clean row is its accuracy."""
    l1 = train(TrainConfig(out=str(tmp_path / "l1"), steps=2, task="inpaint",
                           adversarial=False, **{**TINY, "data": "mnist", "img_size": 32}))
    gan = train(TrainConfig(out=str(tmp_path / "gan"), steps=2, task="inpaint",
                            **{**TINY, "data": "mnist", "img_size": 32}))
    judge = ClassifierConfig(data="mnist", epochs=1)  # a weak but real LeNet, in seconds
    report = evaluate(gan, [l1], images=50, classifier=judge, cache_dir=tmp_path / "cache")
    methods = [r["method"] for r in report.rows]
    assert methods == ["biharmonic", "mean fill", "harmonic (G's start)", "genlab GAN + L1",
                       "genlab L1 only", "truth (clean)"]
    assert report.rows[-1]["LeNet accuracy"] > 0.8
    assert all(0 <= r["LeNet accuracy"] <= 1 for r in report.rows)
    model = load_image_model(gan)
    assert model.config["task"] == "inpaint"
    with pytest.raises(ValueError, match="not inpaint"):
        evaluate(gan, [train(TrainConfig(out=str(tmp_path / "sr"), steps=1, task="superres",
                                          scale=2, **{**TINY, "data": "mnist",
                                                      "img_size": 32}))])


def test_cli_style_on_a_shipped_texture(tmp_path: Path) -> None:
    photo = _folder(tmp_path / "p", n=1, size=40) / "0.png"
    out = tmp_path / "styled.png"
    result = CliRunner().invoke(app, ["image", "style", str(photo), "gravel", "--out", str(out),
                                      "--size", "32", "--seconds", "1", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["iterations"] > 0 and figures["size"] == [32, 32]
    assert read_image(out).shape == (3, 32, 32)
    bad = CliRunner().invoke(app, ["image", "style", str(photo), "marble", "--out", str(out)])
    assert bad.exit_code == 2 and "cannot read image" in bad.output
