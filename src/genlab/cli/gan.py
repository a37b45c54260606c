"""`genlab gan ...`: GAN commands (train, sample, interpolate, eval).

torch is imported inside the commands only, so `genlab --help` and the PGM commands stay light.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from genlab.gan.defaults import PENALTY_WEIGHT, default_text

app = typer.Typer(
    help="GANs: train DCGAN / conditional DCGAN by Algorithm 1, sample, interpolate, evaluate.",
    no_args_is_help=True,
)
console = Console(stderr=True)

CKPT_HELP = "A checkpoint file, or a run folder (its latest checkpoint is used)."


def _fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error in red and return the Exit to raise."""
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)  # paths stay whole
    return typer.Exit(code)


def _parse_labels(text: str | None, n: int) -> list[int] | None:
    """'3' or '0,1,2' -> n labels (the list repeated to length n); None stays None."""
    if text is None:
        return None
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise _fail(f"--labels must be integers separated by commas, got {text!r}") from err
    if not values:
        raise _fail("--labels is empty")
    return [values[i % len(values)] for i in range(n)]


@app.command()
def train(
    data: str | None = typer.Option(
        None, "--data", "-d",
        help="mnist, digits, ring8, grid25, or a folder of images (class sub-folders = labels). "
             "Default mnist (or the resumed run's data)."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Run folder: checkpoints, samples, metrics."),
    model: str = typer.Option(
        "auto",
        help="dcgan, dcgan-patch (PatchGAN D) or mlp; auto = mlp for 2-D data, else dcgan."),
    conditional: bool = typer.Option(
        False, "--conditional", help="Class-conditional G and D (needs labelled data)."),
    loss: str = typer.Option(
        "nonsaturating", help="minimax (Algorithm 1 exactly), nonsaturating, hinge or lsgan."),
    penalty: str = typer.Option(
        "auto", help="auto (r1 for 2-D data, none for images), none, r1 (on real data) or gp "
                     "(WGAN-GP)."),
    penalty_weight: float | None = typer.Option(
        None, help=f"Weight of the penalty (default {default_text('penalty_weight')}; "
             f"{PENALTY_WEIGHT:g} for a penalty that is not the data's default)."),
    d_steps: int = typer.Option(1, "--d-steps", "-k", help="Discriminator steps per G step (k)."),
    minutes: float | None = typer.Option(
        None, "--minutes", "-m",
        help="Wall-clock budget of this invocation (default 5 if no --steps)."),
    steps: int | None = typer.Option(
        None, "--steps", "-n", help="Stop at this many generator steps in total (across resumes)."),
    batch_size: int | None = typer.Option(
        None, help=f"Minibatch m per process (default {default_text('batch_size')})."),
    optimizer: str = typer.Option("adam", help="adam (β=(0.5, 0.999)) or sgd (with momentum)."),
    lr: float | None = typer.Option(
        None, help=f"Learning rate of G and D (default {default_text('lr_g')})."),
    lr_d: float | None = typer.Option(
        None, help="Learning rate of D if it should differ from --lr."),
    momentum: float = typer.Option(0.5, help="SGD momentum."),
    lr_decay: float | None = typer.Option(
        None, help="Lower the learning rates linearly to 0 over this last fraction of the "
                   "budget (--steps, or this invocation's --minutes); 0 = constant."),
    ema_rampup: float | None = typer.Option(
        None, help="Cap the EMA's half-life at this fraction of the steps done, so a slow EMA "
                   "does not lag G in short runs (StyleGAN2-ADA's ramp-up); 0 = off. "
                   f"Default {default_text('ema_rampup')}."),
    augment: str = typer.Option(
        "auto", help="DiffAugment policy: what D sees of real and fake images, comma-separated "
                     "from color, translation, cutout (Zhao et al. 2020; helps D not memorise "
                     "small data sets); none = as is; auto = the data's default."),
    ema: float | None = typer.Option(
        None, help="Sample from an EMA of G with this decay (e.g. 0.999); 0 = off. "
                   f"Default {default_text('ema')}."),
    img_size: int = typer.Option(
        0, help="Image side in pixels (default 32 for digits, 64 for folders)."),
    img_channels: int = typer.Option(
        0, help="Image folders: 1 (grey) or 3 (RGB, the default); the digit sets are grey."),
    width: int = typer.Option(
        0, help="Network width: channels of D's first / G's last conv (default 32 for images "
                   "up to 32 px, 64 above; 128 for 2-D)."),
    z_dim: int = typer.Option(0, help=f"Noise dimension (default {default_text('z_dim')})."),
    z_std: float = typer.Option(1.0, help="σ of the noise z ~ N(0, σ²I)."),
    precision: str = typer.Option(
        "auto", help="auto (bf16 autocast where the CPU/GPU supports it), bf16 or fp32."),
    seed: int = typer.Option(0, help="Seed of initialisation, data order and noise."),
    threads: int = typer.Option(
        0, help="CPU threads (0 = the cores free per process; 1 for the 2-D MLPs). Use 1 when "
                "other work shares the CPU: two threads then ran a DCGAN step ~3× slower."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out exactly."),
    sample_every: int = typer.Option(500, help="Write a fixed-noise sample grid every N steps."),
    checkpoint_minutes: float = typer.Option(1.0, help="Checkpoint at least this often."),
    checkpoint_every: int = typer.Option(0, help="Also checkpoint every N steps (0 = off)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a GAN by Algorithm 1 (k D steps per G step); checkpoints resume exactly.

    Example: genlab gan train --data mnist --conditional --minutes 5 --out runs/cdcgan
    """
    from genlab.gan.monitor import TrainingDiverged
    from genlab.gan.train import TrainConfig
    from genlab.gan.train import train as run_training

    if minutes is None and steps is None:
        minutes = 5.0
    try:
        config = TrainConfig(
            data=data or "mnist", out=str(out), model=model, conditional=conditional, loss=loss,
            penalty=penalty, penalty_weight=penalty_weight, d_steps=d_steps, steps=steps,
            minutes=minutes, batch_size=batch_size, optimizer=optimizer, lr_g=lr,
            lr_d=lr_d or lr, momentum=momentum, lr_decay=lr_decay, z_dim=z_dim, z_std=z_std,
            width=width, img_size=img_size, img_channels=img_channels, ema=ema,
            ema_rampup=ema_rampup, augment=augment, precision=precision, seed=seed,
            threads=threads, resume=resume,
            sample_every=sample_every, checkpoint_minutes=checkpoint_minutes,
            checkpoint_every=checkpoint_every, progress=progress,
        )
        run_dir = run_training(config)
    except TrainingDiverged as err:
        raise _fail(str(err), code=1) from err
    except ValueError as err:
        raise _fail(str(err)) from err
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
        console.print(f"Run folder: [bold]{run_dir}[/] (checkpoints/, samples/, metrics.jsonl)")


@app.command()
def sample(
    ckpt: Path = typer.Argument(..., help=CKPT_HELP),
    out: Path = typer.Option(..., "--out", "-o", help=".png (grid / scatter) or .npy (raw array)."),
    n: int = typer.Option(64, "--n", help="Number of samples."),
    labels: str | None = typer.Option(
        None, help="Conditional models: a class or comma list, repeated to n (default random)."),
    nrow: int = typer.Option(0, help="Images per grid row (default 8, or the number of labels)."),
    seed: int = typer.Option(0, help="Seed of the noise (and random labels)."),
) -> None:
    """Draw samples: a PNG grid, or the raw samples in [-1, 1] as (n, C, H, W) / (n, 2) .npy."""
    import numpy as np

    from genlab.gan.checkpoint import load_generator
    from genlab.gan.data import is_point_data, is_text_data, mixture_modes
    from genlab.gan.sample import sample as draw
    from genlab.gan.sample import save_grid, save_points

    suffix = out.suffix.lower()
    if suffix not in (".png", ".npy"):
        raise _fail(f"--out must end in .png or .npy, got {out}")
    try:
        generator, config = load_generator(ckpt)
        if is_text_data(str(config.get("data"))):
            raise _fail(f"{ckpt} is a text-to-image run: use genlab text2img sample RUN "
                        "\"a caption\"")
        label_list = _parse_labels(labels, n)
        samples = draw(generator, n, labels=label_list, seed=seed)
    except ValueError as err:
        raise _fail(str(err)) from err
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        np.save(out, samples.numpy())
    elif samples.ndim == 2:
        modes = mixture_modes(config["data"]) if is_point_data(config["data"]) else None
        save_points(samples, out, modes, title=f"{n} samples")
    else:
        per_row = nrow or (len(set(label_list)) if label_list and len(set(label_list)) > 1 else 8)
        save_grid(samples, out, nrow=per_row)
    console.print(f"Wrote {n} samples to [bold]{out}[/]")


@app.command()
def interpolate(
    ckpt: Path = typer.Argument(..., help=CKPT_HELP),
    out: Path = typer.Option(
        Path("interpolation.png"), "--out", "-o",
        help=".png (rows × steps grid), .gif (animation along the path) or .npy."),
    method: str = typer.Option("slerp", help="slerp (spherical) or linear."),
    rows: int = typer.Option(4, help="Number of random start/end pairs (one row each)."),
    steps: int = typer.Option(10, help="Points along each path, ends included."),
    label: int | None = typer.Option(None, help="Conditional models: class of every row."),
    seed: int = typer.Option(0, help="Seed of the end points."),
) -> None:
    """Walk the latent space between random points (slerp or linear) -> strip/grid or GIF."""
    import numpy as np
    import torch

    from genlab.gan.checkpoint import load_generator
    from genlab.gan.sample import interpolate as walk
    from genlab.gan.sample import save_gif, save_grid

    suffix = out.suffix.lower()
    if suffix not in (".png", ".gif", ".npy"):
        raise _fail(f"--out must end in .png, .gif or .npy, got {out}")
    try:
        generator, _ = load_generator(ckpt)
        row_labels = None if label is None else torch.full((rows,), label, dtype=torch.int64)
        path = walk(generator, rows=rows, steps=steps, method=method, seed=seed,
                    labels=row_labels)  # (rows, steps, ...)
    except ValueError as err:
        raise _fail(str(err)) from err
    if suffix == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, path.numpy())
    elif path.ndim != 5:
        raise _fail("PNG/GIF interpolation needs an image generator; use .npy for 2-D data")
    elif suffix == ".gif":
        save_gif(path.transpose(0, 1), out, nrow=min(rows, 8))
    else:
        save_grid(path.flatten(0, 1), out, nrow=steps)
    console.print(f"Wrote a {method} interpolation ({rows} × {steps}) to [bold]{out}[/]")


from genlab.cli.gan_eval import register as _register_eval  # noqa: E402 - evaluation commands

_register_eval(app)
