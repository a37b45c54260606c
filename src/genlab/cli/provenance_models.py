"""`genlab provenance detector ...` and `genlab provenance attribute ...`: train and apply a
real-vs-fake detector and a model attributor (genlab.provenance.detector / .attribution).

Generated images come from run folders (samples drawn here) or from image files / folders /
`gan sample` .npy arrays. torch is imported inside the commands only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from genlab.cli.gan import _fail, console

if TYPE_CHECKING:
    import numpy as np

__all__ = ["attribute_app", "detector_app", "images_of", "real_images"]

detector_app = typer.Typer(
    help="Real-vs-fake detection: train a detector on real images against samples of known "
         "generators (CNN with blur/JPEG/resize augmentation, or logistic regression on "
         "spectra) and score images with P(fake).",
    no_args_is_help=True,
)
attribute_app = typer.Typer(
    help="Model attribution: which of N known generators made an image, or none of them "
         "(a reject option calibrated on held-out samples).",
    no_args_is_help=True,
)

SOURCE_HELP = ("A genlab run folder (GAN or text-to-image on mnist-captions; samples are drawn "
               "from it), or a folder of images, one image, or a `gan sample` .npy.")
IMAGES_HELP = "A folder of images (recursive), one image file, or an .npy in [-1, 1]."


def _is_run(path: Path) -> bool:
    return (path.is_dir() and (path / "checkpoints").is_dir()) or path.suffix == ".safetensors"


def _check_budget(samples: int, least: int, seconds: float, steps: int) -> None:
    """The training commands' shared option check, as a CLI error."""
    if samples < least or seconds <= 0 or steps < 0:
        raise _fail(f"--samples must be >= {least}, --seconds > 0 and --steps >= 0, got "
                    f"{samples}, {seconds}, {steps}")


def images_of(source: Path, n: int, seed: int = 0) -> np.ndarray:
    """uint8 (m, H, W) images of a source: n samples drawn from a run (GAN: random classes
    when conditional; text-to-image on mnist-captions: "a handwritten zero" … "nine"), or
    every image of a folder / file (colour made grey)."""
    import numpy as np

    from genlab.provenance.features import grey_batch
    from genlab.provenance.images import from_unit, read_images

    if not source.exists():
        raise ValueError(f"{source} does not exist")
    if not _is_run(source):
        images, _ = read_images(source)
        return grey_batch(images, str(source))
    import torch

    from genlab.gan.checkpoint import load_generator
    from genlab.gan.data import is_text_data

    generator, config = load_generator(source)
    if config.get("task"):
        raise ValueError(f"{source} is an image-task run ({config['task']}): apply it to your "
                         "images (genlab image apply) and pass the folder of its outputs")
    if is_text_data(str(config.get("data", ""))):
        if config.get("data") != "mnist-captions":
            raise ValueError(f"{source}: only mnist-captions text runs can be sampled here; "
                             "pass a folder of its samples")
        from genlab.gan.text.digits import DIGIT_WORDS
        from genlab.gan.text.model import load_text_model

        per = -(-n // len(DIGIT_WORDS))
        x = load_text_model(source).sample([f"a handwritten {w}" for w in DIGIT_WORDS], per,
                                           seed=seed)[:n]
    else:
        from genlab.gan.sample import sample

        with torch.no_grad():
            x = sample(generator, n, seed=seed).clamp(-1, 1)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{source} does not generate images (output shape {tuple(x.shape)})")
    return grey_batch(np.asarray(from_unit(x.numpy())), str(source))


def real_images(real: str) -> np.ndarray:
    """uint8 (n, H, W) real images: the 5,000 MNIST digits (32×32), or a folder's images."""
    from genlab.provenance.features import grey_batch
    from genlab.provenance.images import from_unit, read_images

    if real == "mnist":
        from genlab.gan.data import load_dataset

        return from_unit(load_dataset("mnist").x.numpy())
    path = Path(real)
    if not path.exists():
        raise ValueError(f"--real must be mnist or an existing folder of images, got {real!r}")
    images, _ = read_images(path)
    return grey_batch(images, str(path))


@detector_app.command("train")
def detector_train(
    fake: list[Path] = typer.Option(..., "--fake", help=SOURCE_HELP + " Repeat for several."),
    out: Path = typer.Option(..., "--out", "-o", help="The detector file to write."),
    real: str = typer.Option("mnist", "--real", help="mnist or a folder of real images."),
    kind: str = typer.Option("auto", help="auto (= cnn, the better on "
                                          "benchmarks/fake_detection.py), cnn or spectral."),
    seconds: float = typer.Option(60.0, help="CNN training budget (wall clock)."),
    steps: int = typer.Option(0, help="Train the CNN exactly this many steps instead "
                                      "(reproducible); 0 = use --seconds."),
    samples: int = typer.Option(1000, help="Samples drawn per run folder."),
    seed: int = typer.Option(0, help="Seed of sampling, initialisation and augmentation."),
) -> None:
    """Train a detector of real images vs the given generators' images and save it."""
    import numpy as np

    from genlab.provenance.detector import KINDS, train_detector

    if kind not in KINDS:
        raise _fail(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    _check_budget(samples, 1, seconds, steps)
    try:
        real_x = real_images(real)
        fakes = [images_of(f, samples, seed + i) for i, f in enumerate(fake)]
        if len({x.shape[1:] for x in fakes} | {real_x.shape[1:]}) > 1:
            raise ValueError("real and fake images differ in size: "
                             + ", ".join(f"{s}" for s in [real_x.shape[1:]]
                                         + [x.shape[1:] for x in fakes]))
        detector = train_detector(real_x, np.concatenate(fakes), kind=kind, seed=seed,
                                  seconds=seconds, steps=steps or None)
        detector.info |= {"fake": [str(f) for f in fake], "real": real}
        detector.save(out)
    except ValueError as err:
        raise _fail(str(err)) from err
    console.print(f"Wrote {detector.kind} detector to [bold]{out}[/] ({len(real_x)} real, "
                  f"{detector.info['n_fake']} fake, {detector.info['train_seconds']:.0f} s)")


@detector_app.command("apply")
def detector_apply(
    detector: Path = typer.Argument(..., help="A detector file (detector train --out)."),
    images: Path = typer.Argument(..., help=IMAGES_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    threshold: float = typer.Option(0.5, help="Call an image fake when P(fake) > this."),
) -> None:
    """Print P(fake) and the verdict per image, then a summary."""
    from genlab.provenance.detector import load_detector
    from genlab.provenance.images import read_images

    try:
        det = load_detector(detector)
        pixels, names = read_images(images)
        scores = det.score(pixels)
    except ValueError as err:
        raise _fail(str(err)) from err
    verdicts = [bool(p > threshold) for p in scores]
    rows = [{"image": n, "p_fake": round(float(p), 6), "fake": v}
            for n, p, v in zip(names, scores, verdicts, strict=True)]
    n_fake = sum(verdicts)
    summary = {"images": len(rows), "fake": n_fake, "real": len(rows) - n_fake,
               "mean_p_fake": round(float(scores.mean()), 6), "threshold": threshold}
    if as_json:
        typer.echo(json.dumps({"results": rows, "summary": summary}))
        return
    for r in rows:
        typer.echo(f"{r['image']}\t{r['p_fake']:.4f}\t{'fake' if r['fake'] else 'real'}")
    typer.echo(f"{n_fake} of {len(rows)} images called fake (P(fake) > {threshold}); "
               f"mean P(fake) {summary['mean_p_fake']:.4f}")


@attribute_app.command("train")
def attribute_train(
    runs: list[Path] = typer.Argument(..., help=SOURCE_HELP + " One class per source, named "
                                                "by its folder / file name."),
    out: Path = typer.Option(..., "--out", "-o", help="The attributor file to write."),
    real: str | None = typer.Option(None, "--real", help="Also a class 'real': mnist or a "
                                                         "folder of real images."),
    kind: str = typer.Option(
        "linear", help="linear: a logistic regression on the fingerprint channels pixel by "
                       "pixel (fixed-position fingerprints; the default, far better on the "
                       "zoo's DCGANs); cnn: a small CNN (uses --seconds / --steps)."),
    seconds: float = typer.Option(60.0, help="Training budget of the cnn (wall clock)."),
    steps: int = typer.Option(0, help="Train the cnn exactly this many steps instead "
                                      "(reproducible); 0 = use --seconds."),
    samples: int = typer.Option(
        4500, help="Samples drawn per run folder (the linear kind: 0.99 on the zoo's 6 "
                   "architectures at 4,500, 0.97 at 1,500)."),
    accept: float = typer.Option(0.95, help="Share of held-out known images to accept."),
    reject: str = typer.Option("distance", help="Reject score: distance, softmax or none."),
    seed: int = typer.Option(0, help="Seed of sampling, split and initialisation."),
) -> None:
    """Train an attributor over the given generators and save it."""
    from genlab.provenance.attribution import train_attributor

    _check_budget(samples, 5, seconds, steps)
    names = [r.stem if r.is_file() else r.name for r in runs]
    if len(set(names)) != len(names) or ("real" in names and real is not None):
        raise _fail(f"class names must differ (they are the sources' names): {names}")
    try:
        data = {name: images_of(r, samples, seed + i)
                for i, (name, r) in enumerate(zip(names, runs, strict=True))}
        if real is not None:
            data["real"] = real_images(real)
        att = train_attributor(data, seed=seed, seconds=seconds, steps=steps or None,
                               accept=accept, reject=reject, kind=kind)
        att.info |= {"sources": [str(r) for r in runs], "real": real}
        att.save(out)
    except ValueError as err:
        raise _fail(str(err)) from err
    console.print(f"Wrote attributor over {', '.join(att.names)} to [bold]{out}[/] (held-out "
                  f"accuracy {att.info['held_out_accuracy']:.3f})")


@attribute_app.command("apply")
def attribute_apply(
    attributor: Path = typer.Argument(..., help="An attributor file (attribute train --out)."),
    images: Path = typer.Argument(..., help=IMAGES_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    reject: str | None = typer.Option(None, help="distance, softmax or none (default: the "
                                                 "attributor's)."),
) -> None:
    """Print the attributed generator per image ("none" = none of the known ones)."""
    from genlab.provenance.attribution import load_attributor
    from genlab.provenance.images import read_images

    try:
        att = load_attributor(attributor)
        pixels, names = read_images(images)
        probs = att.probabilities(pixels)
        verdicts = att.predict(pixels, reject=reject)
    except ValueError as err:
        raise _fail(str(err)) from err
    rows = [{"image": n, "generator": v, "p": round(float(p.max()), 6)}
            for n, v, p in zip(names, verdicts, probs, strict=True)]
    counts = {name: sum(v == name for v in verdicts) for name in att.names}
    counts["none"] = sum(v is None for v in verdicts)
    if as_json:
        typer.echo(json.dumps({"results": rows, "summary": counts}))
        return
    for r in rows:
        typer.echo(f"{r['image']}\t{r['generator'] or 'none'}\t{r['p']:.4f}")
    typer.echo("summary: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
