"""Watermarked generators: the differentiable readers (Fourier band, quiet subspace) equal
`detect`'s sign readout, the sign readout's p-values are calibrated, the quiet basis is the
quietest subspace, and the fine-tuning runs (and resumes) on the one loop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import binom, kstest
from typer.testing import CliRunner

from genlab.gan.checkpoint import load_generator, read_checkpoint
from genlab.gan.config import TrainConfig
from genlab.gan.train import train
from genlab.provenance import watermark as wm
from genlab.provenance.images import from_unit, to_unit
from genlab.provenance.marked import ChipReader, QuietReader, watermark_generator
from genlab.provenance.quiet import QUIET_FILE, QuietBasis, fit_quiet_basis, load_quiet

TINY = {"data": "digits", "img_size": 32, "width": 8, "batch_size": 16, "precision": "fp32",
        "progress": False, "sample_every": 0, "threads": 1}


def _numpy_statistics(pixels: np.ndarray, key: str) -> np.ndarray:
    """The sign readout's 32 statistics as `detect` computes them."""
    x = wm._as_pixels(pixels)
    luma = wm._luma(x)
    plan = wm.sign_plan(key, *luma.shape)
    y = wm._real(wm._coefficients(wm._fold(luma, plan.tile), plan.band))
    y = y / wm._ring_gain(luma, plan.band)
    return (plan.signs * y[plan.coords]).sum(axis=1) / np.sqrt(plan.coords.shape[1])


@pytest.mark.parametrize("shape", [(32, 32), (28, 28), (64, 80, 3)])
def test_reader_equals_the_numpy_readout(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    reader = ChipReader("k", "gl14", shape[0], shape[1], margin=1.0)
    images = torch.from_numpy(to_unit(pixels[None]))
    np.testing.assert_allclose(reader(images)[0].numpy(), _numpy_statistics(pixels, "k"),
                               rtol=1e-4, atol=1e-4)


def _quiet_basis() -> QuietBasis:
    """A quiet basis fitted on 2,048 MNIST digits (as `mark` fits one on a generator's)."""
    return fit_quiet_basis(load_digits(2048).astype(np.float64))


@pytest.fixture(scope="module")
def quiet_basis() -> QuietBasis:
    return _quiet_basis()


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 3)])
def test_quiet_reader_equals_the_numpy_readout(shape: tuple[int, ...],
                                               quiet_basis: QuietBasis) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (3, *shape), dtype=np.uint8)
    reader = QuietReader(quiet_basis, "k", "gl14", margin=24.0)
    got = reader(torch.from_numpy(to_unit(pixels))).numpy()
    plan = quiet_basis.plan("k")
    for image, row in zip(pixels, got, strict=True):
        y = quiet_basis.coefficients(wm._luma(wm._as_pixels(image)))
        want = (plan.signs * y[plan.coords]).sum(axis=1) / np.sqrt(plan.coords.shape[1])
        np.testing.assert_allclose(row, want, rtol=1e-4, atol=2e-3)
        bits = "".join(str(int(v < 0)) for v in want)
        assert wm.detect(image, "k", readout="sign", message="gl14",
                         reader=quiet_basis).bits == bits


def test_the_quiet_basis_is_the_quietest_subspace() -> None:
    # 600 samples of 16×16 whose variance lives in a known 200-dim subspace; the other 56
    # directions carry noise of variance 1e-4: the 32 quietest must lie among those 56
    rng = np.random.default_rng(3)
    loud, _ = np.linalg.qr(rng.normal(size=(256, 256)))
    samples = (rng.normal(size=(600, 200)) * 20) @ loud[:, :200].T
    samples += rng.normal(size=(600, 256)) * 0.01 + 128.0
    basis = fit_quiet_basis(samples.reshape(600, 16, 16), dims=32, jpeg_quality=None)
    np.testing.assert_allclose(basis.basis @ basis.basis.T, np.eye(32), atol=1e-10)
    assert np.abs(basis.basis @ loud[:, :200]).max() < 1e-3
    np.testing.assert_allclose(basis.mean, samples.mean(0), atol=1e-9)
    with pytest.raises(ValueError, match="at least 512 samples"):
        fit_quiet_basis(samples[:100].reshape(100, 16, 16))
    with pytest.raises(ValueError, match="dims"):
        fit_quiet_basis(samples.reshape(600, 16, 16), dims=8)


def test_the_quiet_reader_file_round_trips_and_bad_files_are_named(
        tmp_path: Path, quiet_basis: QuietBasis) -> None:
    quiet_basis.save(tmp_path / QUIET_FILE)
    back = load_quiet(tmp_path)  # a run folder finds its reader file
    np.testing.assert_array_equal(back.basis, quiet_basis.basis)
    np.testing.assert_array_equal(back.mean, quiet_basis.mean)
    assert (back.height, back.width) == (32, 32)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"bad\.safetensors"):
        load_quiet(bad)
    with pytest.raises(ValueError, match="does not exist"):
        load_quiet(tmp_path / "missing")
    with pytest.raises(ValueError, match="fitted on 32×32"):
        wm.detect(np.zeros((28, 28), np.uint8), "k", readout="sign", message="gl14",
                  reader=back)
    with pytest.raises(ValueError, match="sign readout"):
        wm.detect(np.zeros((32, 32), np.uint8), "k", reader=back)


def _pushed(reader: torch.nn.Module, digits: np.ndarray) -> np.ndarray:
    """Digits moved by gradient steps until `reader` reads its message in them."""
    x = torch.from_numpy(to_unit(digits)).requires_grad_(True)
    start = x.detach().clone()
    opt = torch.optim.Adam([x], lr=0.01)
    for _ in range(150):
        loss = reader.loss(x, reference=start)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(-1, 1)
    return from_unit(x.detach().numpy())


@pytest.mark.parametrize("kind", ["fourier", "quiet"])
def test_an_image_pushed_by_the_reader_is_detected_with_its_message(
        kind: str, quiet_basis: QuietBasis) -> None:
    basis = quiet_basis if kind == "quiet" else None
    reader = (QuietReader(quiet_basis, "gen-key", "gl14", margin=24.0) if basis is not None
              else ChipReader("gen-key", "gl14", 32, 32, margin=1.0))
    for image in _pushed(reader, load_digits(4096)[-8:]):
        found = wm.detect(image, "gen-key", readout="sign", message="gl14", reader=basis)
        assert found.detected and found.message == "gl14"
        assert found.bits == "".join(map(str, wm.payload_bits("gl14")))
        assert not wm.detect(image, "other", readout="sign", message="gl14",
                             reader=basis).detected


def load_digits(n: int) -> np.ndarray:
    from genlab.gan.data import load_dataset

    return from_unit(load_dataset("mnist").x[:n].numpy())  # (n, 32, 32) uint8


@pytest.mark.parametrize("kind", ["fourier", "quiet"])
def test_sign_readout_p_values_are_uniform_on_clean_digits(
        kind: str, quiet_basis: QuietBasis) -> None:
    basis = quiet_basis if kind == "quiet" else None
    digits = load_digits(5000)[-400:]  # not among the 2,048 the quiet basis was fitted on
    rng = np.random.default_rng(5)
    found = [wm.detect(d, f"key-{i}", readout="sign", message="gl14", reader=basis)
             for i, d in enumerate(digits)]
    k = np.array([f.header_matches for f in found])
    randomised = binom.sf(k, 32, 0.5) + rng.random(len(k)) * binom.pmf(k, 32, 0.5)
    assert kstest(randomised, "uniform").pvalue > 1e-3
    assert not any(f.detected for f in found)


def test_sign_readout_needs_the_message() -> None:
    with pytest.raises(ValueError, match="message"):
        wm.detect(load_digits(1)[0], "k", readout="sign")
    with pytest.raises(ValueError, match="readout"):
        wm.detect(load_digits(1)[0], "k", readout="nope")


@pytest.mark.parametrize("reader", ["quiet", "fourier"])
def test_watermark_generator_runs_on_the_loop_and_resumes(tmp_path: Path, reader: str) -> None:
    source = train(TrainConfig(out=str(tmp_path / "gan"), steps=3, **TINY))
    out = watermark_generator(source, tmp_path / "marked", "k", "gl14", steps=2,
                              progress=False, reader=reader)
    tensors, meta = read_checkpoint(out)
    assert meta["step"] == 5
    config = meta["config"]
    assert (config["watermark_key"], config["watermark_message"]) == ("k", "gl14")
    assert Path(config["watermark_source"]).exists() and config["ema"] == 0.0
    assert config["watermark_reader"] == (QUIET_FILE if reader == "quiet" else "")
    assert (out / QUIET_FILE).exists() == (reader == "quiet")
    assert not any(name.startswith("ema.") for name in tensors)
    resumed = train(TrainConfig(out=str(out), steps=6, resume=True, progress=False))
    assert read_checkpoint(resumed)[1]["step"] == 6
    generator, _ = load_generator(resumed)
    assert generator(torch.randn(2, generator.z_dim), None).shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="already holds"):
        watermark_generator(source, out, "k", "gl14", steps=1, progress=False)
    with pytest.raises(ValueError, match="4 bytes"):
        watermark_generator(source, tmp_path / "x", "k", "too long", steps=1, progress=False)
    with pytest.raises(ValueError, match="reader must be one of"):
        watermark_generator(source, tmp_path / "y", "k", "gl14", steps=1, progress=False,
                            reader="lattice")


def test_detect_command_reads_a_marked_generators_reader(tmp_path: Path,
                                                         quiet_basis: QuietBasis) -> None:
    from genlab.cli.main import app
    from genlab.provenance.images import write_image

    quiet_basis.save(tmp_path / "run" / QUIET_FILE)
    marked = _pushed(QuietReader(quiet_basis, "k", "gl14", margin=24.0), load_digits(4096)[-2:])
    write_image(tmp_path / "marked.png", marked[0])
    write_image(tmp_path / "clean.png", load_digits(4096)[-3])
    runner = CliRunner()
    for name, detected in (("marked.png", True), ("clean.png", False)):
        result = runner.invoke(app, ["provenance", "detect", str(tmp_path / name), "-k", "k",
                                     "-m", "gl14", "--reader", str(tmp_path / "run"), "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["detected"] is detected
    result = runner.invoke(app, ["provenance", "detect", str(tmp_path / "clean.png"), "-k", "k",
                                 "-m", "gl14", "--reader", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_mark_command_writes_a_reader_and_measures(tmp_path: Path) -> None:
    from genlab.cli.main import app

    source = train(TrainConfig(out=str(tmp_path / "gan"), steps=2, **TINY))
    result = CliRunner().invoke(app, [
        "provenance", "mark", str(source), "-k", "k", "-m", "gl14", "--out",
        str(tmp_path / "marked"), "--steps", "1", "--samples", "12", "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["samples"] == 12 and 0.0 <= report["clean_bit_accuracy"] <= 1.0
    assert load_quiet(tmp_path / "marked").dims == 256
    again = CliRunner().invoke(app, [
        "provenance", "mark", str(source), "-k", "k", "-m", "gl14", "--out",
        str(tmp_path / "marked"), "--steps", "1", "--no-progress"])
    assert again.exit_code == 2 and "already holds" in again.output
