"""Nearest-neighbour attribution, Carlini et al.'s memorization rate and Meehan et al.'s C_T:
exact answers on constructed points, a copying and a fresh "generator", and a tiny GAN run
through the library and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from PIL import Image
from scipy.stats import mannwhitneyu
from typer.testing import CliRunner

from genlab.cli.provenance_memo import register
from genlab.provenance import nearest as nearest_module
from genlab.provenance.memorization import (
    data_copying_test,
    default_cells,
    heldout_set,
    mann_whitney_z,
    memorization_rate,
    memorization_scores,
    nearest_grid_for_run,
    score_run,
)
from genlab.provenance.nearest import embed, nearest_grid, nearest_neighbours

# ---------------------------------------------------------------------------------------------
# nearest neighbours


def test_nearest_neighbours_exact_on_a_line() -> None:
    reference = np.array([[0.0], [1.0], [3.0], [7.0], [3.0]])
    found = nearest_neighbours(np.array([[2.9], [6.0], [-5.0]]), reference, k=3)
    # ties (the two 3.0 rows) go to the lower index
    np.testing.assert_array_equal(found.indices, [[2, 4, 1], [3, 2, 4], [0, 1, 2]])
    np.testing.assert_allclose(found.distances, [[0.1, 0.1, 1.9], [1, 3, 3], [5, 6, 8]],
                               atol=1e-7)


def test_nearest_neighbours_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    reference, queries = rng.normal(size=(700, 6)), rng.normal(size=(1100, 6))  # > one chunk
    found = nearest_neighbours(queries, reference, k=4)
    d = np.linalg.norm(queries[:, None] - reference[None], axis=2)
    np.testing.assert_array_equal(found.indices, np.argsort(d, axis=1)[:, :4])
    np.testing.assert_allclose(found.distances, np.sort(d, axis=1)[:, :4], rtol=1e-6)
    np.testing.assert_array_equal(nearest_neighbours(queries, reference).indices[:, 0],
                                  d.argmin(1))


def test_nearest_neighbours_validate() -> None:
    with pytest.raises(ValueError, match="k must lie"):
        nearest_neighbours(np.zeros((2, 3)), np.zeros((4, 3)), k=5)
    with pytest.raises(ValueError, match="dimensions differ"):
        nearest_neighbours(np.zeros((2, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        nearest_neighbours(np.full((2, 3), np.nan), np.zeros((4, 3)))


def test_embed_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    from genlab.gan.classifier import LeNet

    images = torch.rand(5, 1, 32, 32) * 2 - 1
    np.testing.assert_array_equal(embed(images, "pixels"), images.reshape(5, -1).double())
    torch.manual_seed(0)
    lenet = LeNet()  # an untrained stand-in for the cached one: only the plumbing is tested
    monkeypatch.setattr(nearest_module, "_lenet_for", lambda *args: lenet)
    feats = embed(images, "lenet")
    assert feats.shape == (5, 128)
    np.testing.assert_allclose(feats, lenet.features(images).detach().double(), rtol=1e-6)
    with pytest.raises(ValueError, match="space must be one of"):
        embed(images, "inception")


def test_nearest_grid_layout(tmp_path: Path) -> None:
    train = torch.linspace(-1, 1, 6).reshape(6, 1, 1, 1).expand(6, 1, 8, 8).contiguous()
    generated = train[[4, 1]]
    found = nearest_neighbours(embed(generated), embed(train), k=3)
    path = nearest_grid(generated, train, found, tmp_path / "nn.png", scale=1)
    picture = np.asarray(Image.open(path))
    # 2 rows of 1 + 3 tiles of 8 px, padding 2, plus a 4-px bar after the first column
    assert picture.shape == (2 * 10 + 2, 4 * 10 + 2 + 4, 3)
    tile = picture[2:10, 2:10, 0]  # row 0, generated image 4 -> value (0.6 + 1) * 127.5
    assert np.all(tile == round((train[4, 0, 0, 0].item() + 1) * 127.5))
    first_neighbour = picture[2:10, 16:24, 0]  # after the bar: training image 4 itself
    assert np.all(first_neighbour == tile)
    with pytest.raises(ValueError, match="neighbours has 2 rows"):
        nearest_grid(generated[:1], train, found, tmp_path / "x.png")


# ---------------------------------------------------------------------------------------------
# memorization rate and C_T on constructed data


@pytest.fixture(scope="module")
def sets() -> dict[str, np.ndarray]:
    """A training set, a held-out set and two "generators" of the same 32-D distribution."""
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=3.0, size=(5, 32))

    def draw(n: int) -> np.ndarray:
        return centres[rng.integers(0, 5, n)] + rng.normal(size=(n, 32))

    train = draw(400)
    copies = train[rng.integers(0, 400, 1000)] + 1e-3 * rng.normal(size=(1000, 32))
    return {"train": train, "heldout": draw(400), "copies": copies, "fresh": draw(1000)}


def test_copies_are_memorized_fresh_samples_are_not(sets: dict[str, np.ndarray]) -> None:
    scores = memorization_scores(sets["copies"], sets["train"])
    assert scores.max() < 0.01  # 1e-3 noise against neighbours at distance ~ 8
    assert memorization_rate(sets["copies"], sets["train"]) == 1.0
    assert memorization_rate(sets["fresh"], sets["train"]) < 0.01
    assert memorization_rate(sets["heldout"], sets["train"]) < 0.01


def test_memorization_score_closed_form() -> None:
    train = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [0.0, -5.0]])
    # nearest 3 of (0.2, 0): distances 0.2, 0.8, √9.04; ratio 0.2 / their mean
    expected = 0.2 / np.mean([0.2, 0.8, np.sqrt(9.04)])
    np.testing.assert_allclose(memorization_scores([[0.2, 0.0]], train, 3), [expected])
    assert memorization_rate([[0.2, 0.0]], train, alpha=0.2, n_neighbours=3) == 1.0
    assert memorization_rate([[0.2, 0.0]], train, alpha=0.1, n_neighbours=3) == 0.0
    # more neighbours than training rows: capped at all 4
    np.testing.assert_allclose(memorization_scores([[0.0, 0.0]], train, 50), [0.0])
    with pytest.raises(ValueError, match="alpha"):
        memorization_rate([[0.0, 0.0]], train, alpha=0.0)
    with pytest.raises(ValueError, match="n_neighbours"):
        memorization_scores([[0.0, 0.0]], train, 1)


def test_mann_whitney_z_matches_scipy_and_the_closed_form() -> None:
    rng = np.random.default_rng(2)
    q, p = rng.normal(size=30), np.round(rng.normal(0.3, 1, size=45), 1)  # with ties
    u = mannwhitneyu(q, p, use_continuity=False).statistic  # U of the first sample
    expected = (u - 30 * 45 / 2) / np.sqrt(30 * 45 * 76 / 12)
    assert mann_whitney_z(q, p) == pytest.approx(expected, rel=1e-12)
    # every generated value smaller: U = 0
    assert mann_whitney_z([0, 1], [5, 6, 7]) == pytest.approx(-3 / np.sqrt(6 * 6 / 12))
    with pytest.raises(ValueError, match="non-empty"):
        mann_whitney_z([], [1.0])


def test_c_t_flags_copies_and_passes_fresh_samples(sets: dict[str, np.ndarray]) -> None:
    copied = data_copying_test(sets["train"], sets["heldout"], sets["copies"])
    fresh = data_copying_test(sets["train"], sets["heldout"], sets["fresh"])
    assert copied.cells == default_cells(400, 400) == 20
    # every copy is nearer its cell's training set than every held-out row: U = 0 in each
    # cell, so Z_U = −mn/2 / √(mn(m+n+1)/12) = −√(3mn / (m+n+1)) exactly
    m = np.rint(copied.generated_share * 1000)[copied.used]
    n = np.rint(copied.heldout_share * 400)[copied.used]
    np.testing.assert_allclose(copied.z_u[copied.used], -np.sqrt(3 * m * n / (m + n + 1)))
    assert copied.c_t < -5
    assert abs(fresh.c_t) < 1.0  # a weighted mean of ~20 N(0, 1) z-scores
    assert fresh.cells_used >= 15
    np.testing.assert_allclose(fresh.heldout_share.sum(), 1.0)
    assert np.isnan(fresh.z_u[~fresh.used]).all()
    # the cell-wise nearest distances of copies are the noise scale
    assert np.median(copied.nn_generated) < 0.01 < np.median(copied.nn_heldout)


def test_c_t_of_an_underfit_generator_is_positive(sets: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(3)
    blurred = sets["fresh"] + 2.0 * rng.normal(size=sets["fresh"].shape)  # farther from T
    assert data_copying_test(sets["train"], sets["heldout"], blurred).c_t > 3


def test_c_t_validates(sets: dict[str, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="cells must lie"):
        data_copying_test(sets["train"], sets["heldout"], sets["fresh"], cells=0)
    with pytest.raises(ValueError, match="no cell holds"):
        data_copying_test(sets["train"], sets["heldout"], sets["fresh"][:10])
    with pytest.raises(ValueError, match="dimensions differ"):
        data_copying_test(sets["train"], sets["heldout"][:, :3], sets["fresh"])


# ---------------------------------------------------------------------------------------------
# a tiny GAN run: library and CLI


def _write_digits(folder: Path, images: torch.Tensor, labels: torch.Tensor) -> None:
    for i, (x, y) in enumerate(zip(images, labels, strict=True)):
        out = folder / str(int(y))
        out.mkdir(parents=True, exist_ok=True)
        pixels = np.rint((x[0].numpy() + 1) * 127.5).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(out / f"{i:03d}.png")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2-step GAN on 30 MNIST-5k digits (3 per class), 16 px, and a 20-digit held-out folder."""
    from genlab.gan.config import TrainConfig
    from genlab.gan.data import load_dataset
    from genlab.gan.train import train

    root = tmp_path_factory.mktemp("memo")
    mnist = load_dataset("mnist", 32)
    rows = np.concatenate([np.flatnonzero(mnist.labels.numpy() == c)[:5] for c in range(10)])
    train_rows, held_rows = rows.reshape(10, 5)[:, :3].ravel(), rows.reshape(10, 5)[:, 3:].ravel()
    _write_digits(root / "train", mnist.x[train_rows], mnist.labels[train_rows])
    _write_digits(root / "held", mnist.x[held_rows], mnist.labels[held_rows])
    torch.manual_seed(0)
    run = train(TrainConfig(data=str(root / "train"), out=str(root / "run"), steps=2,
                            img_size=16, img_channels=1, width=8, batch_size=16,
                            precision="fp32", progress=False, sample_every=0, threads=1))
    return {"run": Path(run), "train": root / "train", "held": root / "held", "root": root}


def test_heldout_sets(tiny_run: dict[str, Path]) -> None:
    images, source = heldout_set(str(tiny_run["train"]), 16, 1, "auto")
    assert images.shape == (4970, 1, 16, 16) and "mnist-rest" in source
    folder, _ = heldout_set(str(tiny_run["train"]), 16, 1, str(tiny_run["held"]))
    assert folder.shape == (20, 1, 16, 16)
    with pytest.raises(ValueError, match="also in the training set"):
        heldout_set(str(tiny_run["train"]), 16, 1, str(tiny_run["train"]))
    with pytest.raises(ValueError, match="all of MNIST-5k"):
        heldout_set("mnist", 32, 1, "mnist-rest")
    with pytest.raises(ValueError, match="not on a folder"):
        heldout_set("digits", 32, 1, "auto")
    with pytest.raises(ValueError, match="none of these"):
        heldout_set(str(tiny_run["train"]), 16, 1, "nowhere")
    noise = tiny_run["root"] / "noise"
    noise.mkdir(exist_ok=True)
    for i in range(3):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (32, 32), np.uint8),
                        mode="L").save(noise / f"{i}.png")
    with pytest.raises(ValueError, match="are MNIST-5k digits"):
        heldout_set(str(noise), 16, 1, "auto")


def test_score_run_and_picture(tiny_run: dict[str, Path]) -> None:
    report = score_run(tiny_run["run"], n=120, heldout=str(tiny_run["held"]), cells=2)
    assert report["n_train"] == 30 and report["n_heldout"] == 20 and report["n_samples"] == 120
    assert 0.0 <= report["memorization_rate"] <= 1.0 and np.isfinite(report["c_t"])
    assert report["cells"] == 2
    path = nearest_grid_for_run(tiny_run["run"], tiny_run["root"] / "nn.png", n=3, k=2, scale=1)
    assert np.asarray(Image.open(path)).shape == (3 * 18 + 2, 3 * 18 + 2 + 4, 3)


def _cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_round_trip(tiny_run: dict[str, Path]) -> None:
    runner, app = CliRunner(), _cli()
    out = tiny_run["root"] / "cli-nn.png"
    result = runner.invoke(app, ["nearest", str(tiny_run["run"]), "--n", "4", "--k", "3",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert np.asarray(Image.open(out)).shape == (2 * (4 * 18 + 2), 2 * (4 * 18 + 2 + 4), 3)
    result = runner.invoke(app, ["memorization", str(tiny_run["run"]), "--n", "100",
                                 "--heldout", str(tiny_run["held"]), "--cells", "2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_samples"] == 100 and report["space"] == "pixels"
    assert {"memorization_rate", "c_t", "cells_used", "n_heldout"} <= set(report)
    table = runner.invoke(app, ["memorization", str(tiny_run["run"]), "--n", "100",
                                "--heldout", str(tiny_run["held"]), "--cells", "2"])
    assert table.exit_code == 0 and "memorization rate" in table.stdout


def test_cli_errors(tiny_run: dict[str, Path]) -> None:
    runner, app = CliRunner(), _cli()
    bad_out = runner.invoke(app, ["nearest", str(tiny_run["run"]), "--out", "nn.jpg"])
    assert bad_out.exit_code == 2 and ".png" in bad_out.output
    no_heldout = runner.invoke(app, ["memorization", str(tiny_run["run"]), "--heldout",
                                     str(tiny_run["root"] / "missing")])
    assert no_heldout.exit_code == 2 and "none of these" in no_heldout.output
    bad_space = runner.invoke(app, ["memorization", str(tiny_run["run"]), "--space", "x",
                                    "--heldout", str(tiny_run["held"])])
    assert bad_space.exit_code == 2 and "space must be one of" in bad_space.output
    missing = runner.invoke(app, ["nearest", str(tiny_run["root"] / "no-run")])
    assert missing.exit_code == 2 and "does not exist" in missing.output

