"""`genlab gan eval` and `genlab gan classifier`: offline evaluation (torch imported lazily)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import typer

__all__ = ["classifier", "evaluate", "register"]


def _json_safe(metrics: dict[str, float]) -> dict[str, float | None]:
    """NaN / inf become null so that the output is strict JSON."""
    return {k: (v if math.isfinite(v) else None) for k, v in metrics.items()}


def evaluate(
    checkpoint: Path = typer.Argument(..., help="A run folder (its newest checkpoint) or a "
                                      "checkpoint file."),
    n: int = typer.Option(0, "--n", "-n", help="Samples to draw (default: 5,000 for images, "
                          "2,500 for 2-D mixtures, as in the VEEGAN/PacGAN protocol)."),
    seed: int = typer.Option(0, help="Seed of the sampled noise and labels."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    cache_dir: Path | None = typer.Option(None, help="Classifier cache (default: "
                                          "$GENLAB_CACHE_DIR or ~/.cache/genlab)."),
) -> None:
    """Score a trained generator offline.

    Digit images: FID and KID on features of a LeNet that genlab trains on the same data
    (cached after the first use), precision/recall, density/coverage, the class histogram of
    the samples and the share classified with p ≥ 0.9. 2-D mixtures: modes captured,
    high-quality samples (within 3 std of a mode) and reverse KL to uniform over modes.
    """
    from genlab.gan.checkpoint import load_generator
    from genlab.gan.evaluate import evaluate_generator, format_table

    try:
        generator, config = load_generator(checkpoint)
        metrics = evaluate_generator(generator, config["data"], n=n or None, seed=seed,
                                     cache_dir=cache_dir, progress=not as_json)
    except (ValueError, OSError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from err
    if as_json:
        typer.echo(json.dumps({"checkpoint": str(checkpoint), "data": config["data"],
                               "metrics": _json_safe(metrics)}))
    else:
        typer.echo(f"{checkpoint} ({config['data']}, {config.get('model', '?')})\n")
        typer.echo(format_table(metrics))


def classifier(
    data: str = typer.Option("mnist", help="Labelled image data: mnist, digits or a folder with "
                             "one sub-folder per class."),
    img_size: int = typer.Option(32, help="Image size the GAN generates."),
    epochs: int | None = typer.Option(None, help="Training epochs (default: the recipe's, 60)."),
    seed: int = typer.Option(0, help="Seed of the hold-out split and the training."),
    retrain: bool = typer.Option(False, "--retrain", help="Train again even when cached."),
    cache_dir: Path | None = typer.Option(None, help="Cache folder (default: $GENLAB_CACHE_DIR "
                                          "or ~/.cache/genlab)."),
) -> None:
    """Train (or load from the cache) the LeNet whose features FID and KID use.

    It is trained on the same images the GAN learns from, holding out 20% of every class
    to report its accuracy, and cached as safetensors + JSON (no pickles).
    """
    from genlab.gan.classifier import ClassifierConfig, load_or_train_classifier

    config = ClassifierConfig(data=data, img_size=img_size, seed=seed)
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs)
    try:
        trained = load_or_train_classifier(config, cache_dir=cache_dir, retrain=retrain)
    except (ValueError, OSError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from err
    typer.echo(f"LeNet for {data} at {img_size} px: held-out accuracy "
               f"{trained.test_accuracy:.2%} on {trained.info['num_real']} images "
               f"({config.holdout:.0%} held out per class)")
    typer.echo(f"cached at {trained.path} (+ .json)")


def register(app: typer.Typer) -> None:
    """Add the evaluation commands to the `genlab gan` group."""
    app.command("eval")(evaluate)
    app.command("classifier")(classifier)
