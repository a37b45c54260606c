"""`genlab text2img train|sample|interpolate|eval`: a tiny run end to end."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genlab.cli.main import app
from genlab.gan.text import encoder as text_encoder
from genlab.gan.text import evaluate as text_evaluate

runner = CliRunner()

TINY = ["--steps", "2", "--width", "8", "--batch-size", "16", "--threads", "1", "--no-progress",
        "--sample-every", "0"]


@pytest.fixture
def fast_encoders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """3-step generator encoder and judge (the recipes take a minute) in a private cache."""
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(text_encoder, "EncoderConfig",
                        functools.partial(text_encoder.EncoderConfig, steps=3, batch_size=32))
    monkeypatch.setattr(text_evaluate, "JUDGE",
                        text_encoder.EncoderConfig(steps=3, batch_size=32, seed=5))


def test_train_sample_interpolate_eval(tmp_path: Path, fast_encoders: None) -> None:
    run = tmp_path / "t2i"
    trained = runner.invoke(app, ["text2img", "train", "--data", "shapes", "--out", str(run),
                                  *TINY])
    assert trained.exit_code == 0, trained.output
    assert (run / "text_encoder.safetensors").is_file() and (run / "summary.json").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "text-dcgan" and config["mismatch"] and config["text_dim"] == 128

    wrong_tool = runner.invoke(app, ["gan", "sample", str(run), "--out", str(tmp_path / "g.png")])
    assert wrong_tool.exit_code == 2 and "text2img sample" in wrong_tool.output
    png = tmp_path / "red.png"
    sampled = runner.invoke(app, ["text2img", "sample", str(run),
                                  "a small red circle at the top left", "--n", "4", "--out",
                                  str(png)])
    assert sampled.exit_code == 0, sampled.output
    assert Image.open(png).size == (4 * 66 + 2, 68)  # one row of four 64-px images, 2-px borders
    npy = tmp_path / "red.npy"
    assert runner.invoke(app, ["text2img", "sample", str(run), "a small red circle at the "
                               "top left", "--n", "3", "--out", str(npy)]).exit_code == 0
    raw = np.load(npy)
    assert raw.shape == (3, 3, 64, 64) and raw.min() >= -1 and raw.max() <= 1

    unknown = runner.invoke(app, ["text2img", "sample", str(run), "a small red cirle",
                                  "--out", str(png)])
    assert unknown.exit_code == 2 and "'cirle'" in unknown.output and "circle" in unknown.output

    gif = tmp_path / "walk.gif"
    walked = runner.invoke(app, ["text2img", "interpolate", str(run), "a large red square at "
                                 "the center", "a small cyan circle at the top right", "--steps",
                                 "4", "--rows", "2", "--out", str(gif)])
    assert walked.exit_code == 0, walked.output
    assert Image.open(gif).n_frames == 2 * 4 - 2  # played forth and back
    strip = tmp_path / "walk.png"
    assert runner.invoke(app, ["text2img", "interpolate", str(run), "a large red square",
                               "a small cyan circle", "--steps", "3", "--rows", "1", "--out",
                               str(strip)]).exit_code == 0
    assert Image.open(strip).size == (3 * 66 + 2, 68)

    evaluated = runner.invoke(app, ["text2img", "eval", str(run), "--per-caption", "1",
                                    "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.output)
    real = {r["group"]: r for r in report["rows"] if r["source"] == "real"}
    assert real["seen"]["all"] == 1.0 and real["held-out"]["all"] == 1.0  # the extractor
    fake = {r["group"]: r for r in report["rows"] if r["source"] == "genlab"}
    assert fake["seen"]["images"] == 200 and fake["held-out"]["images"] == 40
    assert fake["seen"]["all"] < 0.1  # two steps of a width-8 G draw no shapes yet
    table = runner.invoke(app, ["text2img", "eval", str(run), "--per-caption", "1"])
    assert table.exit_code == 0 and "R-precision" in table.output


def test_bad_arguments_fail_clearly(tmp_path: Path) -> None:
    bad = runner.invoke(app, ["text2img", "train", "--data", "mnist", "--out",
                              str(tmp_path / "x")])
    assert bad.exit_code == 2 and "shapes or mnist-captions" in bad.output
    missing = runner.invoke(app, ["text2img", "sample", str(tmp_path / "nothing"), "a red square",
                                  "--out", str(tmp_path / "a.png")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    suffix = runner.invoke(app, ["text2img", "sample", str(tmp_path), "a", "--out",
                                 str(tmp_path / "a.jpg")])
    assert suffix.exit_code == 2 and ".png or .npy" in suffix.output
