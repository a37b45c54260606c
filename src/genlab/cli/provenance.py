"""`genlab provenance ...`: watermark images and generators, detect fakes, attribute images to
their generator, and look for memorised training images.

numpy-only commands (embed, detect, bench) never import torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from genlab.cli.gan import _fail, console
from genlab.cli.provenance_memo import register as register_memorization
from genlab.cli.provenance_models import attribute_app, detector_app

app = typer.Typer(
    help="Provenance of generated images: a keyed invisible watermark (embed / detect, with a "
         "p-value), watermarked generators (mark), fake-image detection (detector), model "
         "attribution (attribute), nearest training images and memorization.",
    no_args_is_help=True,
)

app.add_typer(detector_app, name="detector")
app.add_typer(attribute_app, name="attribute")
register_memorization(app)

KEY_HELP = "The secret key (any text); the same key embeds and detects."


@app.command()
def embed(
    image: Path = typer.Argument(..., help="Image to watermark (PNG, JPEG, ...)."),
    key: str = typer.Option(..., "--key", "-k", help=KEY_HELP),
    message: str = typer.Option(
        ..., "--message", "-m",
        help="The 32-bit payload: text of up to 4 bytes, or 8 hex digits (e.g. 0badf00d)."),
    out: Path = typer.Option(..., "--out", "-o", help="Watermarked image (PNG keeps it exact)."),
    psnr: float = typer.Option(
        38.5, help="Fidelity target in dB: the strongest mark whose PSNR stays above it."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON record."),
) -> None:
    """Write an invisible keyed watermark carrying a 32-bit message into an image.

    Example: genlab provenance embed photo.png --key my-secret --message gl14 --out marked.png
    """
    from genlab.provenance.images import read_image, write_image
    from genlab.provenance.watermark import embed as embed_image
    from genlab.provenance.watermark import psnr as psnr_db

    try:
        pixels = read_image(image)
        marked = embed_image(pixels, key, message, psnr_db=psnr)
    except ValueError as err:
        raise _fail(str(err)) from err
    write_image(out, marked)
    fidelity = psnr_db(pixels, marked)
    if as_json:
        typer.echo(json.dumps({"out": str(out), "psnr": round(fidelity, 2),
                               "height": pixels.shape[0], "width": pixels.shape[1]}))
        return
    console.print(f"wrote [bold]{out}[/] ({pixels.shape[1]}×{pixels.shape[0]} px, "
                  f"PSNR {fidelity:.1f} dB)")
    if out.suffix.lower() in (".jpg", ".jpeg", ".webp"):
        console.print("[yellow]note:[/] a lossy format attacks the mark once already; "
                      "PNG keeps it exact")


def _detections(images: list[Any], key: str, fpr: float, readout: str,
                message: str | None, reader: Path | None) -> list[Any]:
    """`detect` on each image (on a marked generator's quiet subspace when `reader` names
    its run folder or reader file), bad input turned into a clean CLI error."""
    from genlab.provenance.quiet import load_quiet
    from genlab.provenance.watermark import detect as detect_image

    try:
        basis = None if reader is None else load_quiet(reader)
        return [detect_image(p, key, fpr=fpr, readout=readout, message=message, reader=basis)
                for p in images]
    except ValueError as err:
        raise _fail(str(err)) from err


@app.command()
def detect(
    images: Path = typer.Argument(
        ..., help="An image, a folder of images, or an .npy array in [-1, 1] as `gan sample` "
                  "writes."),
    key: str = typer.Option(..., "--key", "-k", help=KEY_HELP),
    fpr: float = typer.Option(1e-6, help="False-positive rate of the decision (p < fpr)."),
    readout: str = typer.Option(
        "lattice", help="lattice (marks written by `embed`) or sign (samples of a generator "
                        "watermarked by `mark`; needs --message). --reader implies sign."),
    message: str | None = typer.Option(
        None, "--message", "-m",
        help="The message a marked generator was taught (--readout sign)."),
    reader: Path | None = typer.Option(
        None, help="The marked generator's run folder (or its watermark_reader.safetensors): "
                   "read its quiet subspace. Without it, --readout sign reads the Fourier "
                   "band (`mark --reader fourier`)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: one object for one image, "
                                                        "else a list with an `image` field."),
) -> None:
    """Look for a key's watermark: detected or not, with a p-value and the decoded message.

    "Not detected" is an answer (exit 0); unreadable files and bad arguments exit 2.
    """
    from genlab.provenance.images import read_images

    try:
        pixels, names = read_images(images)
    except ValueError as err:
        raise _fail(str(err)) from err
    found = _detections(pixels, key, fpr, "sign" if reader else readout, message, reader)
    if as_json:
        records = [{"image": n, **f.to_json()} for n, f in zip(names, found, strict=True)]
        if len(records) == 1:
            records[0].pop("image")
            typer.echo(json.dumps(records[0]))
        else:
            typer.echo(json.dumps(records))
        return
    for name, f in zip(names, found, strict=True):
        verdict = "[green]detected[/]" if f.detected else "not detected"
        said = f", message {f.message!r}" if f.message is not None else ""
        console.print(f"{name}: {verdict} (p = {f.p_value:.2e}, {f.header_matches}/"
                      f"{f.header_bits} key bits{said})")
    if len(found) > 1:
        console.print(f"{sum(f.detected for f in found)} of {len(found)} images carry the key")


@app.command()
def bench(
    per_size: int = typer.Option(2, help="Images per set (photo crops of each size; MNIST)."),
    sizes: str = typer.Option("64,128,256,512", help="Photo crop sizes, comma-separated."),
    key: str = typer.Option("genlab-bench", "--key", "-k", help=KEY_HELP),
    seed: int = typer.Option(0, help="Seed of the crops."),
    as_json: bool = typer.Option(False, "--json", help="Print {set: rows} as JSON."),
) -> None:
    """The attack table: bit accuracy, detection at FPR 1e-6 and PSNR under JPEG, resizing,
    crops, noise, blur, brightness/contrast and rotation, on photo crops and MNIST digits.

    The first row of each set is unmarked images (its detection rates are false positives).
    Peers side by side: benchmarks/watermark_vs_peers.py.
    """
    from genlab.provenance.bench import bench_tables, format_table

    try:
        size_list = tuple(int(s) for s in sizes.split(",") if s.strip())
        tables = bench_tables(key=key, message="gl14", sizes=size_list, per_size=per_size,
                              seed=seed)
    except ValueError as err:
        raise _fail(f"--sizes/--per-size: {err}") from err
    if as_json:
        typer.echo(json.dumps(tables))
        return
    for group, rows in tables.items():
        console.rule(f"{group}{' px' if group.isdigit() else ''}")
        console.print(format_table(rows), soft_wrap=True)


@app.command()
def mark(
    run: Path = typer.Argument(..., help="A trained noise-GAN run (DCGAN / conditional DCGAN)."),
    key: str = typer.Option(..., "--key", "-k", help=KEY_HELP),
    message: str = typer.Option(..., "--message", "-m", help="32-bit payload (4 bytes of text "
                                                             "or 8 hex digits)."),
    out: Path = typer.Option(..., "--out", "-o", help="The watermarked run's folder."),
    steps: int = typer.Option(800, help="Fine-tuning steps."),
    reader: str = typer.Option(
        "quiet", help="quiet: read on the source's quietest directions (fitted now, stored in "
                      "OUT; FID cost ~5%); fourier: the upper Fourier band (no file; FID cost "
                      "~60% at 0.94 bit accuracy)."),
    margin: float = typer.Option(
        0.0, help="How far each read statistic is pushed past zero (quiet: grey levels, "
                  "default 16; fourier: ring units, default 2); 0 = the default."),
    weight: float = typer.Option(1.0, help="Weight of the watermark's hinge loss."),
    anchor: float = typer.Option(10.0, help="Weight of the MSE to the source generator."),
    samples: int = typer.Option(256, help="Samples to measure the mark on afterwards."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the measurements as JSON."),
) -> None:
    """Fine-tune a generator so every sample carries KEY's message (Stable Signature's idea),
    then measure bit accuracy and detection, clean and after JPEG 75.

    Its samples are read with: genlab provenance detect SAMPLES --key K -m M --reader OUT
    (reader quiet) or --readout sign (reader fourier).
    """
    from genlab.gan.checkpoint import CheckpointError, load_generator
    from genlab.provenance.marked import measure_marked, watermark_generator
    from genlab.provenance.quiet import load_quiet

    try:
        watermark_generator(run, out, key, message, steps=steps, weight=weight, anchor=anchor,
                            margin=margin, progress=progress, reader=reader)
        generator, _ = load_generator(out)
        basis = load_quiet(out) if reader == "quiet" else None
    except (ValueError, CheckpointError) as err:
        raise _fail(str(err)) from err
    report = measure_marked(generator, key, message, n=samples, reader=basis)
    if as_json:
        typer.echo(json.dumps(report))
        return
    for name, value in report.items():
        console.print(f"{name:>24}: {value:.4f}")
    how = f"--reader {out}" if basis is not None else "--readout sign"
    console.print(f"read its samples with: genlab provenance detect SAMPLES --key KEY "
                  f"--message MESSAGE {how}")
