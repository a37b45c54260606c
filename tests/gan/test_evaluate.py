"""evaluate_generator and format_table on generators with known answers; `genlab gan eval`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from torch import nn
from typer.testing import CliRunner

from genlab.cli.gan_eval import register
from genlab.gan.classifier import ClassifierConfig
from genlab.gan.data import load_dataset, mixture_modes
from genlab.gan.evaluate import evaluate_generator, evaluate_images, format_table
from genlab.gan.nets.dcgan import DCGANGenerator

TINY_MNIST = ClassifierConfig(data="mnist", epochs=1)  # a weak but real LeNet, trained in seconds
runner = CliRunner()


class FixedPoints(nn.Module):
    """A 'generator' cycling through given 2-D points (z only sets the batch size)."""

    def __init__(self, points: np.ndarray) -> None:
        super().__init__()
        self.z_dim, self.num_classes = 2, 0
        self.points = torch.as_tensor(points, dtype=torch.float32)
        self.calls = 0

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        idx = (torch.arange(z.shape[0]) + self.calls) % len(self.points)
        self.calls += z.shape[0]
        return self.points[idx]


class RealDigits(nn.Module):
    """A 'generator' that returns real MNIST digits (of the requested class, if conditional)."""

    def __init__(self, conditional: bool) -> None:
        super().__init__()
        data = load_dataset("mnist", img_size=32)
        self.images, self.labels = data.x, data.labels
        self.z_dim, self.num_classes = 8, 10 if conditional else 0

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        pick = (z[:, 0].abs() * 1e6).long()  # a pseudo-random index from the noise
        if labels is None:
            return self.images[pick % len(self.images)]
        rows = [torch.nonzero(self.labels == c).flatten() for c in labels.tolist()]
        picks = zip(rows, pick.tolist(), strict=True)
        return torch.stack([self.images[r[p % len(r)]] for r, p in picks])


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("genlab-cache")


def test_ring8_modes_exactly_give_eight_of_eight(cache_dir: Path) -> None:
    metrics = evaluate_generator(FixedPoints(mixture_modes("ring8")), "ring8", cache_dir=cache_dir)
    assert metrics["samples"] == 2500
    assert metrics["modes_captured"] == 8 and metrics["modes_total"] == 8
    assert metrics["high_quality_fraction"] == 1.0
    assert metrics["reverse_kl"] == pytest.approx(0.0, abs=1e-4)  # 2500 = 312·8 + 4: near-uniform


def test_grid25_collapsed_to_one_mode(cache_dir: Path) -> None:
    metrics = evaluate_generator(FixedPoints(mixture_modes("grid25")[7:8]), "grid25", n=100)
    assert metrics["modes_captured"] == 1 and metrics["modes_total"] == 25
    assert metrics["reverse_kl"] == pytest.approx(math.log(25))


def test_nan_samples_are_an_error_not_a_number() -> None:
    points = np.array([[0.0, 1.0], [np.nan, 0.0]])
    with pytest.raises(ValueError, match="NaN or infinite values in 50 of 100"):
        evaluate_generator(FixedPoints(points), "ring8", n=100)


def _score(generator: torch.nn.Module, n: int, cache_dir: Path) -> dict[str, float]:
    """The MNIST metrics of n samples under the tiny cached LeNet."""
    return evaluate_images(generator, "mnist", n=n, classifier=TINY_MNIST, cache_dir=cache_dir,
                           progress=False)


def test_real_digits_score_far_better_than_an_untrained_dcgan(cache_dir: Path) -> None:
    real = _score(RealDigits(conditional=False), 500, cache_dir)
    torch.manual_seed(0)
    noise = _score(DCGANGenerator(img_size=32, img_channels=1), 500, cache_dir)
    assert real["fid"] < 0.05 * noise["fid"]
    assert real["kid"] < 0.05 * noise["kid"]
    assert real["precision"] > 0.9
    assert real["recall"] > 0.8 > 0.1 > noise["recall"]
    assert real["coverage"] > 0.3 > 0.05 > noise["coverage"]  # 500 fakes vs 5,000 real balls
    assert real["classes_present"] == 10
    assert 0.05 <= real["class_min"] <= real["class_max"] <= 0.15
    assert sum(real[f"class_{c}"] for c in range(10)) == pytest.approx(1.0)
    assert real["confident_fraction"] > noise["confident_fraction"]
    assert "label_accuracy" not in real


def test_conditional_generator_is_checked_against_its_labels(cache_dir: Path) -> None:
    metrics = _score(RealDigits(conditional=True), 200, cache_dir)
    assert [metrics[f"class_{c}"] for c in range(10)] == pytest.approx(
        [0.1] * 10, abs=0.05
    )  # balanced labels, mostly classified right
    assert metrics["label_accuracy"] > 0.8


def test_image_metrics_refuse_a_mismatched_classifier(cache_dir: Path) -> None:
    with pytest.raises(ValueError, match="at 32 px, the generator makes 64 px"):
        _score(DCGANGenerator(img_size=64, img_channels=1), 20, cache_dir)


def test_format_table_lists_every_metric_and_folds_the_histogram() -> None:
    table = format_table(
        {
            "fid": 1.23456,
            "reverse_kl": math.inf,
            "class_0": 0.25,
            "class_1": 0.75,
            "new_metric": 2.0,
        }
    )
    lines = table.splitlines()
    assert lines[:2] == ["| metric | value |", "|---|---|"]
    assert "| FID (LeNet features) ↓ | 1.235 |" in lines
    assert "| reverse KL(modes ‖ uniform) ↓ | inf |" in lines
    assert "| new_metric | 2 |" in lines
    assert lines[-1] == "| class histogram | 0: 25.0%, 1: 75.0% |"


@pytest.fixture(scope="module")
def eval_app() -> typer.Typer:
    """A typer group holding only the evaluation commands (as `genlab gan` registers them)."""
    app = typer.Typer()
    register(app)
    return app


def _train_tiny(out: Path, data: str, steps: int) -> Path:
    from genlab.gan.train import TrainConfig, train

    return train(
        TrainConfig(
            data=data,
            out=str(out),
            steps=steps,
            progress=False,
            threads=1,
            sample_every=0,
            width=8 if data == "mnist" else 0,
        )
    )


def test_eval_command_prints_a_table_and_valid_json(tmp_path: Path, eval_app: typer.Typer) -> None:
    run = _train_tiny(tmp_path / "ring", "ring8", steps=3)
    table = runner.invoke(eval_app, ["eval", str(run), "--n", "400"])
    assert table.exit_code == 0, table.output
    assert "| modes captured ↑ |" in table.output and "| samples evaluated | 400 |" in table.output
    as_json = runner.invoke(eval_app, ["eval", str(run), "--n", "400", "--json"])
    assert as_json.exit_code == 0, as_json.output
    payload = json.loads(as_json.output)
    assert payload["data"] == "ring8"
    assert payload["metrics"]["samples"] == 400
    assert 0 <= payload["metrics"]["modes_captured"] <= 8


def test_eval_command_reports_a_missing_checkpoint(tmp_path: Path, eval_app: typer.Typer) -> None:
    result = runner.invoke(eval_app, ["eval", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "nothing" in result.output


@pytest.mark.slow
def test_eval_command_on_a_tiny_digit_gan(tmp_path: Path, eval_app: typer.Typer) -> None:
    run = _train_tiny(tmp_path / "digits", "mnist", steps=2)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    result = runner.invoke(eval_app, ["eval", str(run), "--n", "200", "--json", *cache])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)["metrics"]
    assert metrics["classifier_accuracy"] >= 0.97
    assert metrics["fid"] > 0 and sum(metrics[f"class_{c}"] for c in range(10)) == pytest.approx(1)
    table = runner.invoke(eval_app, ["eval", str(run), "--n", "200", *cache])
    assert "| FID (LeNet features) ↓ |" in table.output and "| class histogram |" in table.output
