"""`genlab image ...`: image-to-image tasks (train, degrade, apply, eval) and style transfer.

torch is imported inside the commands only, so `genlab --help` stays light.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console

from genlab.cli.gan import _fail  # one error printer for the torch command groups

app = typer.Typer(
    help="Image tasks: super-resolution, inpainting, colorization and uncropping with one "
         "conditional GAN (pix2pix: U-Net G, PatchGAN D, adversarial + λ·L1), and neural style "
         "transfer.",
    no_args_is_help=True,
)
console = Console(stderr=True)
TASK_HELP = "superres, inpaint, colorize or uncrop."


@app.command()
def train(
    task: str = typer.Argument(..., help=TASK_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: checkpoints, samples, logs."),
    data: str = typer.Option(
        "photos", "--data", "-d",
        help="photos (the photos shipped in scikit-image / scikit-learn / matplotlib, split by "
             "photo into train and held-out), mnist, or a folder of your images (every fifth "
             "file held out)."),
    scale: int = typer.Option(4, help="superres: the up-sampling factor (2 or 4)."),
    minutes: float | None = typer.Option(
        None, "--minutes", "-m", help="Wall-clock budget of this invocation (default 10 if no "
                                      "--steps)."),
    steps: int | None = typer.Option(
        None, "--steps", "-n", help="Stop at this many generator steps in total (across resumes)."),
    l1_weight: float = typer.Option(100.0, help="λ of the λ·L1 term (pix2pix: 100)."),
    l1_only: bool = typer.Option(
        False, "--l1-only", help="Train G on λ·L1 alone, no discriminator (the ablation)."),
    crop: int = typer.Option(0, help="Training crop side in pixels (default 64; mnist 32)."),
    batch_size: int | None = typer.Option(None, help="Minibatch (default 16)."),
    lr: float | None = typer.Option(None, help="Learning rate of G and D (default 2e-4)."),
    width: int = typer.Option(0, help="U-Net / PatchGAN width (default 16)."),
    depth: int = typer.Option(0, help="U-Net halvings (default 4 above 32 px, else 3)."),
    loss: str = typer.Option("auto", help="Adversarial loss: auto (lsgan), minimax, "
                                          "nonsaturating, hinge or lsgan."),
    l1_warmup: int | None = typer.Option(
        None, help="Generator steps on λ·L1 alone before the discriminator plays (default: "
                   "500 for superres, else 0)."),
    ema: float | None = typer.Option(None, help="Keep an EMA of G with this decay (0 = off)."),
    precision: str = typer.Option("auto", help="auto, bf16 or fp32."),
    seed: int = typer.Option(0, help="Seed of initialisation, crops, masks and data order."),
    threads: int = typer.Option(0, help="CPU threads (0 = all cores)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out exactly."),
    sample_every: int = typer.Option(500, help="Write input / output / truth rows every N "
                                               "steps."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train one task's generator; checkpoints resume bit-identically.

    Example: genlab image train superres --data photos --minutes 10 --out runs/sr4
    """
    from genlab.gan.monitor import TrainingDiverged
    from genlab.gan.train import TrainConfig
    from genlab.gan.train import train as run_training

    if minutes is None and steps is None:
        minutes = 10.0
    try:
        config = TrainConfig(
            data=data, out=str(out), task=task, scale=scale, l1_weight=l1_weight,
            adversarial=not l1_only, loss=loss, l1_warmup=l1_warmup, steps=steps, minutes=minutes,
            batch_size=batch_size, lr_g=lr, lr_d=lr, width=width, depth=depth, img_size=crop,
            ema=ema, precision=precision, seed=seed, threads=threads, resume=resume,
            sample_every=sample_every, progress=progress)
        run_dir = run_training(config)
    except TrainingDiverged as err:
        raise _fail(str(err), code=1) from err
    except ValueError as err:
        raise _fail(str(err)) from err
    if os.environ.get("RANK", "0") == "0":
        console.print(f"Run folder: [bold]{run_dir}[/] (checkpoints/, samples/, metrics.jsonl)")


@app.command()
def degrade(
    task: str = typer.Argument(..., help=TASK_HELP),
    image: Path = typer.Argument(..., help="A clean image (PNG, JPEG, ...)."),
    out: Path = typer.Option(..., "--out", "-o", help="The degraded image (the task's input)."),
    scale: int = typer.Option(4, help="superres: down-sampling factor."),
    side: str = typer.Option("right", help="uncrop: the side that goes missing."),
    amount: float = typer.Option(0.25, help="uncrop: the fraction that goes missing; inpaint: "
                                            "the hole's share of the image."),
    seed: int = typer.Option(0, help="inpaint: seed of the hole's position."),
) -> None:
    """Make a task's input from a clean image: low-resolution, masked (the mask is written to
    OUT's name + .mask.png, white = missing), grey, or cropped."""
    import torch

    from genlab.gan.tasks.degrade import (
        Colorize,
        MaskedTask,
        SuperResolution,
        get_task,
        rectangle_mask,
        side_mask,
    )
    from genlab.gan.tasks.photos import read_image, save_image

    try:
        clean = read_image(image)[None]
        t = get_task(task, scale)
        if isinstance(t, SuperResolution):
            h, w = clean.shape[-2:]
            clean = clean[..., :h - h % scale, :w - w % scale]
            save_image(t.downsample(clean)[0], out)
        elif isinstance(t, Colorize):
            save_image(t.from_lightness(t.lightness(clean)).view[0], out)
        elif t.name == "uncrop":
            h, w = clean.shape[-2:]
            mask = side_mask(1, h, w, side, amount)
            keep = (mask[0, 0] < 0.5)
            rows, cols = keep.any(1).nonzero()[:, 0], keep.any(0).nonzero()[:, 0]
            save_image(clean[0, :, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], out)
        else:
            assert isinstance(t, MaskedTask)
            h, w = clean.shape[-2:]
            mask = rectangle_mask(1, h, w, torch.Generator().manual_seed(seed), (amount, amount))
            save_image(t.with_mask(clean, mask).view[0], out)
            mask_path = out.with_name(out.stem + ".mask.png")
            save_image(mask[0] * 2 - 1, mask_path)
            console.print(f"mask: {mask_path}")
    except ValueError as err:
        raise _fail(str(err)) from err
    console.print(f"wrote {out}")


@app.command()
def apply(
    run: Path = typer.Argument(..., help="A run folder (or checkpoint) of genlab image train."),
    image: Path = typer.Argument(..., help="The input: low-resolution / holed / any / cropped."),
    out: Path = typer.Option(..., "--out", "-o", help="The restored image."),
    mask: Path | None = typer.Option(None, help="inpaint: white pixels are filled."),
    side: str = typer.Option("right", help="uncrop: the side to extend."),
    amount: float = typer.Option(0.25, help="uncrop: extend by this fraction of the size."),
) -> None:
    """Restore an image: super-resolve it (OUT is `scale` times larger), fill a mask's holes,
    colour it (colour inputs are made grey first), or extend one side."""
    from genlab.gan.tasks.photos import read_image, save_image
    from genlab.gan.tasks.restore import load_image_model

    try:
        model = load_image_model(run)
        holes = None if mask is None else (read_image(mask, channels=1)[0] > 0)
        restored = model.apply(read_image(image), holes, side, amount)
        save_image(restored, out)
    except (ValueError, FileNotFoundError) as err:
        raise _fail(str(err)) from err
    console.print(f"wrote {out} ({restored.shape[-1]}×{restored.shape[-2]})")


@app.command("eval")
def evaluate(
    run: Path = typer.Argument(..., help="A run folder (or checkpoint) of genlab image train."),
    vs: list[Path] = typer.Option([], "--vs", help="Other runs of the same task to put in the "
                                                   "table (e.g. the --l1-only ablation)."),
    images: int = typer.Option(0, help="Held-out images (default 24 photo crops; every "
                                       "held-out digit)."),
    size: int = typer.Option(0, help="Held-out crop side (default 128, less when a held-out "
                                     "image is smaller; digits 32)."),
    amount: float = typer.Option(0.25, help="uncrop: the missing fraction of each side."),
    seed: int = typer.Option(0, help="Seed of the held-out crops and holes."),
    picture: Path | None = typer.Option(
        None, help="Write input | baselines | genlab | truth rows to this PNG (default "
                   "RUN/eval.png)."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """The held-out table: the model against every classical baseline (and --vs runs)."""
    from genlab.gan.tasks.restore import evaluate as run_eval

    try:
        report = run_eval(run, vs, images, size, seed, amount,
                          picture or (run if run.is_dir() else run.parent) / "eval.png")
    except (ValueError, FileNotFoundError) as err:
        raise _fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    from rich.table import Table

    table = Table(title=f"{report.task} on {report.images} held-out {report.data} images "
                        f"({report.size} px)")
    keys = [k for k in report.rows[0] if k != "method"]
    keys += [k for r in report.rows for k in r if k != "method" and k not in keys]
    table.add_column("method")
    for k in keys:
        table.add_column(k, justify="right")
    for r in report.rows:
        table.add_row(r["method"], *(f"{r[k]:.4g}" if k in r else "" for k in keys))
    Console().print(table)
    console.print(f"picture: {report.picture}")


@app.command()
def style(
    content: Path = typer.Argument(..., help="The content image (its layout is kept)."),
    style_image: str = typer.Argument(
        ..., metavar="STYLE",
        help="The style image: a file, or a shipped texture (brick, grass, gravel)."),
    out: Path = typer.Option(..., "--out", "-o", help="The stylised image (PNG)."),
    size: int = typer.Option(256, help="Longer side of the result in pixels."),
    seconds: float = typer.Option(60.0, help="Time budget (split coarse to fine)."),
    style_weight: float = typer.Option(1.0, help="Weight of the style loss (content: 1); "
                                                 "larger = more texture, less layout."),
    keep_colors: bool = typer.Option(False, "--keep-colors",
                                     help="Keep the content's colours (Lab chroma)."),
    weights: Path | None = typer.Option(
        None, help="VGG-style weights (torchvision `features.N` layout; .safetensors or a "
                   "state dict, read with weights_only=True). Default: a seeded random CNN."),
    seed: int = typer.Option(0, help="Seed of the random feature network."),
    threads: int = typer.Option(0, help="CPU threads (0 = all cores)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run's figures as JSON."),
) -> None:
    """Neural style transfer (Gatys et al.), coarse to fine, offline by default.

    Example: genlab image style photo.jpg brick --out styled.png --seconds 60
    """
    import torch

    from genlab.gan.tasks.photos import TEXTURES, read_image, save_image, texture
    from genlab.gan.tasks.style import load_vgg, style_transfer

    if threads:
        torch.set_num_threads(threads)
    try:
        c = (read_image(content)[None] + 1) / 2
        s = texture(style_image) if style_image in TEXTURES else read_image(Path(style_image))
        net = load_vgg(weights) if weights is not None else None
        result = style_transfer(c, (s[None] + 1) / 2, size=size, seconds=seconds, net=net,
                                style_weight=style_weight, keep_colors=keep_colors, seed=seed)
    except (ValueError, FileNotFoundError) as err:
        raise _fail(str(err)) from err
    save_image(result.image[0] * 2 - 1, out)
    figures = {"out": str(out), "seconds": result.seconds, "iterations": result.iterations,
               "final_loss": result.losses[-1] if result.losses else None,
               "size": list(result.image.shape[-2:])}
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        console.print(f"wrote {out}: {result.iterations} steps in {result.seconds:.1f} s")
