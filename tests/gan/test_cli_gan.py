"""`genlab gan train | sample | interpolate` end to end on a tiny run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genlab.cli.main import app

runner = CliRunner()
TINY = ["--data", "digits", "--img-size", "16", "--width", "8", "--batch-size", "16",
        "--precision", "fp32", "--no-progress", "--sample-every", "2", "--threads", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A conditional run of 3 steps made through the command line."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = runner.invoke(app, ["gan", "train", *TINY, "--conditional", "--steps", "3",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_a_run_folder(run: Path) -> None:
    assert (run / "config.json").is_file() and (run / "summary.json").is_file()
    assert (run / "checkpoints" / "step-00000003.safetensors").is_file()
    assert (run / "samples" / "step-00000002.png").is_file()
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert any('"d_loss"' in line for line in lines)


def test_sample_png_and_npy(run: Path, tmp_path: Path) -> None:
    png = tmp_path / "grid.png"
    result = runner.invoke(app, ["gan", "sample", str(run), "--n", "20", "--labels", "0,1,2,3,4",
                                 "--out", str(png)])
    assert result.exit_code == 0, result.output
    with Image.open(png) as img:  # 5 columns (one per label) × 4 rows of 16 px + 2 px padding
        assert img.size == (5 * 18 + 2, 4 * 18 + 2)
    npy = tmp_path / "x.npy"
    checkpoint = run / "checkpoints" / "step-00000003.safetensors"
    result = runner.invoke(app, ["gan", "sample", str(checkpoint), "--n", "7", "--labels", "3",
                                 "--out", str(npy)])
    assert result.exit_code == 0, result.output
    x = np.load(npy)
    assert x.shape == (7, 1, 16, 16) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_interpolate_png_gif_npy(run: Path, tmp_path: Path) -> None:
    for name in ("strip.png", "walk.gif", "walk.npy"):
        out = tmp_path / name
        result = runner.invoke(app, ["gan", "interpolate", str(run), "--rows", "2", "--steps",
                                     "5", "--method", "linear", "--label", "7", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.is_file()
    assert np.load(tmp_path / "walk.npy").shape == (2, 5, 1, 16, 16)
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 2 * 5 - 2  # ping-pong: forward 5, back 3


def test_errors_are_clear_and_exit_nonzero(run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    result = runner.invoke(app, ["gan", "sample", str(bad), "--out", str(tmp_path / "a.png")])
    assert result.exit_code == 2 and "bad.safetensors" in result.output
    result = runner.invoke(app, ["gan", "sample", str(run), "--out", str(tmp_path / "a.jpg")])
    assert result.exit_code == 2 and ".png or .npy" in result.output
    result = runner.invoke(app, ["gan", "train", *TINY, "--steps", "1", "--out", str(run)])
    assert result.exit_code == 2 and "--resume" in result.output
    result = runner.invoke(app, ["gan", "train", "--data", "cifar", "--steps", "1",
                                 "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "unknown dataset 'cifar'" in result.output


def test_help_explains_the_commands() -> None:
    result = runner.invoke(app, ["gan", "train", "--help"])
    assert result.exit_code == 0
    for option in ("--d-steps", "--loss", "--resume", "--minutes", "--conditional"):
        assert option in result.output


def test_train_on_an_image_folder_with_classes(tmp_path: Path) -> None:
    for k, name in enumerate(("cats", "dogs")):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (12, 12), (40 * i, 100 * k, 20)).save(tmp_path / "data" / name /
                                                                  f"{i}.png")
    out = tmp_path / "run"
    result = runner.invoke(app, ["gan", "train", "--data", str(tmp_path / "data"), "--img-size",
                                 "8", "--img-channels", "1", "--width", "4", "--batch-size", "4",
                                 "--conditional", "--steps", "2", "--no-progress", "--threads",
                                 "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    npy = tmp_path / "s.npy"
    result = runner.invoke(app, ["gan", "sample", str(out), "--n", "3", "--labels", "1",
                                 "--out", str(npy)])
    assert result.exit_code == 0, result.output
    assert np.load(npy).shape == (3, 1, 8, 8)
