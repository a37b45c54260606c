"""Forensic features (closed forms), the fake detector (learns a planted artefact, round trips
exactly, rejects bad input) and its CLI, on tiny synthetic images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from genlab.cli.provenance_models import detector_app
from genlab.provenance.detector import load_detector, random_degrade, train_detector
from genlab.provenance.features import (
    dark_stretch,
    dct_spectrum,
    grey_batch,
    noise_residual,
    radial_spectrum,
    spectral_features,
)
from genlab.provenance.images import write_image

SIDE = 16


def smooth_images(n: int, seed: int) -> np.ndarray:
    """uint8 (n, SIDE, SIDE) blurry random blobs: stand-ins for real photos."""
    rng = np.random.default_rng(seed)
    x = ndimage.gaussian_filter(rng.normal(size=(n, SIDE, SIDE)), sigma=(0, 2, 2))
    x = (x - x.min()) / (x.max() - x.min())
    return np.rint(30 + 180 * x).astype(np.uint8)


def checkerboard(images: np.ndarray, amplitude: int = 12) -> np.ndarray:
    """The images with a ±amplitude checkerboard added: an up-sampling artefact's cartoon."""
    yy, xx = np.indices(images.shape[1:])
    pattern = np.where((yy + xx) % 2 == 0, amplitude, -amplitude)
    return np.clip(images.astype(int) + pattern, 0, 255).astype(np.uint8)


def accuracy(scores_real: np.ndarray, scores_fake: np.ndarray) -> float:
    return float(np.mean(np.r_[scores_real <= 0.5, scores_fake > 0.5]))


# --- features --------------------------------------------------------------------------------


def test_residual_of_constant_and_linear_images_is_zero() -> None:
    flat = np.full((2, 8, 8), 77, np.uint8)
    assert np.allclose(noise_residual(flat), 0)
    ramp = np.tile(np.linspace(0, 1, 8), (1, 8, 1))  # a median of a linear ramp is the ramp
    assert np.allclose(noise_residual(ramp)[:, 1:-1, 1:-1], 0)
    assert np.allclose(noise_residual(flat, method="gaussian"), 0)


def test_dct_of_constant_image_is_its_dc_term() -> None:
    x = np.full((1, 8, 8), 0.5)
    spec = dct_spectrum(x)
    assert spec[0, 0, 0] == pytest.approx(np.log(0.5 * 8))  # orthonormal: sum / sqrt(64)
    assert (spec[0].reshape(-1)[1:] < np.log(1e-5)).all()


def test_radial_spectrum_peaks_at_the_cosines_frequency() -> None:
    side, k = 32, 8
    x = 0.5 + 0.4 * np.cos(2 * np.pi * k * np.arange(side) / side)[None, None, :].repeat(
        side, 1)
    rad = radial_spectrum(x)
    assert rad.shape == (1, side // 2 + 1)
    assert int(np.argmax(rad[0, 1:])) + 1 == k  # bin index = radius in cycles per image


def test_dark_stretch_and_feature_shape() -> None:
    x = np.array([[[0, 1, 255]]], np.uint8)
    assert dark_stretch(x)[0, 0].tolist() == pytest.approx([0, np.log(2) / np.log(256), 1])
    assert spectral_features(smooth_images(3, 0)).shape == (3, 2 * SIDE * SIDE + SIDE // 2 + 1)


def test_grey_batch_validates() -> None:
    colour = np.zeros((4, 4, 3), np.uint8)
    colour[..., 1] = 100
    assert grey_batch([colour])[0, 0, 0] == round(0.587 * 100)
    with pytest.raises(ValueError, match="uint8"):
        grey_batch(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="mix sizes"):
        grey_batch([np.zeros((4, 4), np.uint8), np.zeros((5, 4), np.uint8)])
    with pytest.raises(ValueError, match="empty"):
        grey_batch([])
    with pytest.raises(ValueError, match="method"):
        noise_residual(smooth_images(1, 0), method="box")


# --- detector --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    real = smooth_images(400, 1)
    return {"real": real[:200], "fake": checkerboard(real[200:]),
            "real_test": smooth_images(100, 2), "fake_test": checkerboard(smooth_images(100, 3))}


def test_spectral_detector_learns_the_artefact_and_round_trips(
        data: dict[str, np.ndarray], tmp_path: Path) -> None:
    det = train_detector(data["real"], data["fake"], kind="spectral", augment=False)
    s_real, s_fake = det.score(data["real_test"]), det.score(data["fake_test"])
    assert accuracy(s_real, s_fake) > 0.95
    det.save(tmp_path / "det.json")
    again = load_detector(tmp_path / "det.json")
    assert again.kind == "spectral"
    assert np.array_equal(again.score(data["fake_test"]), s_fake)


def test_cnn_detector_learns_the_artefact_and_round_trips(
        data: dict[str, np.ndarray], tmp_path: Path) -> None:
    det = train_detector(data["real"], data["fake"], kind="cnn", steps=150, augment=False,
                         batch_size=32, width=4)
    assert det.info["steps"] == 150
    s_real, s_fake = det.score(data["real_test"]), det.score(data["fake_test"])
    assert accuracy(s_real, s_fake) > 0.9
    det.save(tmp_path / "det.safetensors")
    again = load_detector(tmp_path / "det.safetensors")
    assert again.kind == "cnn"
    assert np.array_equal(again.score(data["real_test"]), s_real)


def test_augmented_cnn_training_runs_and_is_seeded(data: dict[str, np.ndarray]) -> None:
    a = train_detector(data["real"][:50], data["fake"][:50], kind="cnn", steps=3, width=4)
    b = train_detector(data["real"][:50], data["fake"][:50], kind="cnn", steps=3, width=4)
    assert np.array_equal(a.score(data["real_test"][:5]), b.score(data["real_test"][:5]))


def test_random_degrade_keeps_shape_and_changes_pixels() -> None:
    x = smooth_images(20, 4)
    y = random_degrade(x, np.random.default_rng(0), p=1.0)
    assert y.shape == x.shape and y.dtype == np.uint8
    assert not np.array_equal(x, y)


def test_bad_inputs_raise(data: dict[str, np.ndarray], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="kind"):
        train_detector(data["real"], data["fake"], kind="svm")
    with pytest.raises(ValueError, match="real images are"):
        train_detector(data["real"], np.zeros((5, 8, 8), np.uint8), kind="spectral")
    with pytest.raises(ValueError, match="uint8"):
        train_detector(data["real"].astype(float), data["fake"], kind="spectral")
    det = train_detector(data["real"][:20], data["fake"][:20], kind="spectral", augment=False)
    with pytest.raises(ValueError, match="trained on 16×16"):
        det.score(np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="does not exist"):
        load_detector(tmp_path / "missing.json")
    (tmp_path / "junk.bin").write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a genlab model file"):
        load_detector(tmp_path / "junk.bin")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="not a genlab-fake-detector"):
        load_detector(tmp_path / "other.json")


# --- CLI -------------------------------------------------------------------------------------


def _folder(path: Path, images: np.ndarray) -> Path:
    for i, img in enumerate(images):
        write_image(path / f"{i:03d}.png", img)
    return path


def test_cli_train_and_apply_round_trip(data: dict[str, np.ndarray], tmp_path: Path) -> None:
    runner = CliRunner()
    real = _folder(tmp_path / "real", data["real"])
    fake = _folder(tmp_path / "fake", data["fake"])
    out = tmp_path / "det.json"
    result = runner.invoke(detector_app, ["train", "--fake", str(fake), "--real", str(real),
                                          "--kind", "spectral", "--out", str(out)])
    assert result.exit_code == 0, result.output
    test = _folder(tmp_path / "test", np.concatenate([data["real_test"][:10],
                                                      data["fake_test"][:10]]))
    result = runner.invoke(detector_app, ["apply", str(out), str(test), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    verdicts = [r["fake"] for r in report["results"]]
    assert sum(verdicts[:10]) <= 1 and sum(verdicts[10:]) >= 9
    assert report["summary"]["images"] == 20
    text = runner.invoke(detector_app, ["apply", str(out), str(test)])
    assert text.exit_code == 0 and "images called fake" in text.stdout


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(detector_app, ["apply", str(tmp_path / "none.json"), str(tmp_path)])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    result = runner.invoke(detector_app, ["train", "--fake", str(tmp_path / "nope"),
                                          "--out", str(tmp_path / "d"), "--kind", "x"])
    assert result.exit_code == 2


def test_cli_samples_a_gan_run_folder(data: dict[str, np.ndarray], tmp_path: Path) -> None:
    """--fake may be a genlab GAN run: samples are drawn from its generator."""
    import torch

    from genlab.gan.config import TrainConfig
    from genlab.gan.train import train

    torch.manual_seed(0)
    run = train(TrainConfig(data="digits", out=str(tmp_path / "run"), steps=1, img_size=16,
                            img_channels=1, width=8, batch_size=16, precision="fp32",
                            progress=False, sample_every=0, threads=1))
    real = _folder(tmp_path / "real", data["real"][:60])
    out = tmp_path / "det.json"
    result = CliRunner().invoke(detector_app, [
        "train", "--fake", str(run), "--real", str(real), "--kind", "spectral",
        "--samples", "60", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_detector(out).info["n_fake"] == 60
