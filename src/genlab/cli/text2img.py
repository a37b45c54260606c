"""`genlab text2img ...`: the text-conditional GAN (train, sample, interpolate, eval).

torch is imported inside the commands only, so `genlab --help` stays light.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from genlab.cli.gan import _fail, console

app = typer.Typer(
    help="Text to image: a GAN conditioned on a sentence (GAN-INT-CLS: matching-aware D, "
         "interpolated captions), trained on captioned shapes or digits; sample a caption, "
         "walk between two, and measure whether the image says what the text says.",
    no_args_is_help=True,
)

RUN_HELP = "A text-to-image run folder (its latest checkpoint) or one checkpoint file."


@app.command()
def train(
    data: str = typer.Option(
        "shapes", "--data", "-d",
        help="shapes (64-px coloured shapes; 4 (colour, shape) pairs held out) or "
             "mnist-captions (the embedded digits captioned by digit, thickness and slant)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: checkpoints, samples, logs."),
    encoder: str = typer.Option(
        "builtin", help="builtin (a word-GRU / CNN dual encoder trained first on the training "
                        "images, then frozen) or minilm (the packaged all-MiniLM-L6-v2, extra "
                        "`text`)."),
    minutes: float | None = typer.Option(
        None, "--minutes", "-m", help="Wall-clock budget (default 10 if no --steps)."),
    steps: int | None = typer.Option(None, "--steps", "-n", help="Stop at this many G steps."),
    mismatch: bool = typer.Option(
        True, "--mismatch/--no-mismatch",
        help="The matching-aware D term (real image + wrong caption = fake); --no-mismatch "
             "is the ablation."),
    interpolation: float = typer.Option(
        0.25, help="Extra share of G's batch drawn from midpoints of two captions (GAN-INT)."),
    match_weight: float | None = typer.Option(
        None, help="Weight of G's caption-matching loss under the frozen built-in encoder "
                   "(AttnGAN's DAMSM term; default 1 with builtin, 0 with minilm)."),
    diversity_weight: float = typer.Option(
        0.0, help="Weight of MSGAN's mode-seeking term (different z, same caption, different "
                  "images); 0.02 varies the samples as much as the data but costs accuracy."),
    batch_size: int | None = typer.Option(None, help="Minibatch (default 64)."),
    lr: float | None = typer.Option(None, help="Learning rate of G and D (default 2e-4)."),
    width: int = typer.Option(0, help="Network width (default 32)."),
    ema: float | None = typer.Option(None, help="EMA decay of G (default 0.999; 0 = off)."),
    seed: int = typer.Option(0, help="Seed of initialisation, data order, noise, encoder."),
    threads: int = typer.Option(0, help="CPU threads (0 = all free cores)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out exactly."),
    sample_every: int = typer.Option(500, help="Write a captions × noise grid every N steps."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train by Algorithm 1 (the same loop as every genlab GAN: checkpoints, exact resume, EMA,
    DDP). Example: genlab text2img train --data shapes --minutes 15 --out runs/t2i"""
    from genlab.gan.monitor import TrainingDiverged
    from genlab.gan.train import TrainConfig
    from genlab.gan.train import train as run_training

    if data not in ("shapes", "mnist-captions"):
        raise _fail(f"--data must be shapes or mnist-captions, got {data!r}")
    if minutes is None and steps is None:
        minutes = 10.0
    try:
        config = TrainConfig(
            data=data, out=str(out), text_encoder=encoder, minutes=minutes, steps=steps,
            mismatch=mismatch, interpolation=interpolation, match_weight=match_weight,
            diversity_weight=diversity_weight,
            batch_size=batch_size, lr_g=lr,
            lr_d=lr, width=width, ema=ema, seed=seed, threads=threads, resume=resume,
            sample_every=sample_every, progress=progress)
        run_dir = run_training(config)
    except TrainingDiverged as err:
        raise _fail(str(err), code=1) from err
    except ValueError as err:
        raise _fail(str(err)) from err
    if os.environ.get("RANK", "0") == "0":
        console.print(f"Run folder: [bold]{run_dir}[/] (checkpoints/, samples/, metrics.jsonl)")


@app.command()
def sample(
    run: Path = typer.Argument(..., help=RUN_HELP),
    caption: str = typer.Argument(..., help='e.g. "a small red circle at the top left".'),
    out: Path = typer.Option(..., "--out", "-o", help=".png (grid) or .npy ((n, C, H, W) in "
                                                      "[-1, 1])."),
    n: int = typer.Option(16, "--n", help="Number of samples."),
    seed: int = typer.Option(0, help="Seed of the noise."),
    nrow: int = typer.Option(8, help="Images per grid row."),
) -> None:
    """Draw n images for one caption: a PNG grid, or the raw samples as .npy."""
    import numpy as np

    from genlab.gan.sample import save_grid
    from genlab.gan.text.model import load_text_model

    suffix = out.suffix.lower()
    if suffix not in (".png", ".npy"):
        raise _fail(f"--out must end in .png or .npy, got {out}")
    try:
        images = load_text_model(run).sample(caption, n, seed=seed)
    except ValueError as err:
        raise _fail(str(err)) from err
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(out, images.numpy())
    else:
        save_grid(images, out, nrow=min(nrow, n))
    console.print(f"Wrote {n} samples of {caption!r} to [bold]{out}[/]")


@app.command()
def interpolate(
    run: Path = typer.Argument(..., help=RUN_HELP),
    first: str = typer.Argument(..., help="The caption at the start."),
    second: str = typer.Argument(..., help="The caption at the end."),
    out: Path = typer.Option(Path("walk.gif"), "--out", "-o",
                             help=".gif (animation), .png (rows × steps strip) or .npy."),
    steps: int = typer.Option(8, help="Points along the path, ends included."),
    rows: int = typer.Option(4, help="Noise vectors (one row each, fixed along the row)."),
    seed: int = typer.Option(0, help="Seed of the noise."),
) -> None:
    """Walk the sentence embedding from one caption to another with z fixed -> GIF or strip."""
    import numpy as np

    from genlab.gan.sample import save_gif, save_grid
    from genlab.gan.text.model import load_text_model

    suffix = out.suffix.lower()
    if suffix not in (".png", ".gif", ".npy"):
        raise _fail(f"--out must end in .png, .gif or .npy, got {out}")
    try:
        path = load_text_model(run).interpolate(first, second, steps=steps, rows=rows, seed=seed)
    except ValueError as err:
        raise _fail(str(err)) from err
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(out, path.numpy())
    elif suffix == ".gif":
        save_gif(path.transpose(0, 1), out, nrow=min(rows, 8))
    else:
        save_grid(path.flatten(0, 1), out, nrow=steps)
    console.print(f"Wrote {first!r} -> {second!r} ({rows} × {steps}) to [bold]{out}[/]")


@app.command("eval")
def evaluate(
    run: Path = typer.Argument(..., help=RUN_HELP),
    per_caption: int = typer.Option(5, help="Samples per attribute combination's caption."),
    seed: int = typer.Option(0, help="Seed of the noise and of the R-precision distractors."),
    picture: Path | None = typer.Option(None, help="Also save a captions × samples PNG here."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Read the attributes back from the pixels (shapes: a non-learned extractor; digits: the
    LeNet judge and measured thickness / slant), seen vs held-out combinations; R-precision
    by a separately trained dual encoder; diversity; FID/KID for digits."""
    from genlab.gan.text.evaluate import evaluate_text

    try:
        report = evaluate_text(run, per_caption=per_caption, seed=seed, picture=picture)
    except ValueError as err:
        raise _fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    typer.echo(format_report(report.to_json()))


def format_report(report: dict[str, object]) -> str:
    """The evaluation as an aligned text table (one row per source and group)."""
    rows = report["rows"]
    assert isinstance(rows, list)
    keys = [k for k in rows[0] if k not in ("source", "group")]
    for r in rows:
        keys += [k for k in r if k not in keys and k not in ("source", "group")]
    head = ["source", "group", *keys]
    lines = [head] + [[str(r.get("source")), str(r.get("group")),
                       *(_cell(r.get(k)) for k in keys)] for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [f"{report['data']}: {report['per_caption']} samples per caption ({report['run']})"]
    text += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(text)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)
