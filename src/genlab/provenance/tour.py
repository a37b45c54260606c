"""The provenance section of `genlab tour`: a watermarked sample grid found again (also after
JPEG and a crop), the fake detector's verdict on real and generated digits, and the nearest
training digits of a few samples."""

from __future__ import annotations

import numpy as np
import torch

from genlab.tour import TourContext, markdown_table, one_torch_thread

__all__ = ["DETECTOR_SECONDS", "tour_section"]

DETECTOR_SECONDS = 20.0  # the fake detector's training budget in the full tour
KEY = "genlab-tour"


def tour_section(ctx: TourContext) -> str:
    """Watermark, detect, attribute to the training set; ~40 s (seconds with ctx.fast)."""
    with one_torch_thread():
        return _section(ctx)


def _generator(ctx: TourContext) -> tuple[torch.nn.Module, str]:
    """The GAN section's generator when it ran, else a few-step DCGAN trained here."""
    from genlab.gan.checkpoint import list_checkpoints, load_generator
    from genlab.gan.train import TrainConfig, train

    run = ctx.run_dir / "gan-mnist"
    if not list_checkpoints(run):
        run = ctx.run_dir / "provenance-gan"
        budget = {"steps": 4} if ctx.fast else {"minutes": 0.5}
        train(TrainConfig(data="mnist", out=str(run), width=16, batch_size=32, threads=1,
                          seed=ctx.seed, progress=False, sample_every=0, **budget))
    generator, _ = load_generator(run)
    return generator, str(run)


def _watermark_part(ctx: TourContext, grid: np.ndarray) -> str:
    """Embed into the sample grid, detect it clean, after JPEG 75 and after a 10% crop."""
    from genlab.provenance.attacks import crop_border, jpeg
    from genlab.provenance.images import write_image
    from genlab.provenance.watermark import detect, embed, psnr

    marked = embed(grid, KEY, "gl14")
    write_image(ctx.output("provenance_marked.png"), marked)
    difference = np.clip(128 + 20 * (marked.astype(np.int16) - grid), 0, 255).astype(np.uint8)
    write_image(ctx.output("provenance_mark_x20.png"), difference)
    rows = []
    cases = (("unmarked", grid), ("marked", marked), ("marked, JPEG 75", jpeg(marked, 75)),
             ("marked, 10% border cropped", crop_border(marked, 0.10)),
             ("marked, wrong key", None))
    for name, image in cases:
        found = detect(marked, KEY + "?") if image is None else detect(image, KEY)
        rows.append([name, "yes" if found.detected else "no", f"{found.p_value:.1e}",
                     f"{found.header_matches}/64", repr(found.message) if found.message else "–"])
    table = markdown_table(["image", "detected", "p-value", "key bits", "message"], rows)
    return (f"**Watermark.** The {grid.shape[1]}×{grid.shape[0]} sample grid carries the key "
            f"{KEY!r} and the 32-bit message 'gl14' at PSNR {psnr(grid, marked):.1f} dB "
            "(`provenance_marked.png`; the mark ×20 in `provenance_mark_x20.png`). Detection "
            "at a false-positive rate of 1e-6 (p-value from the key's 64 header bits):\n\n"
            f"{table}\n\nA crop survives on large images (512 px: 10% and 25% of the border, "
            "all bits right) but often not below ~300 px, where the remaining tiles' average "
            "differs too much from the one the mark was written on (the attack table).\n")


def _detector_part(ctx: TourContext, generator: torch.nn.Module) -> str:
    """Train the fake detector on real digits vs this generator; score held-out ones."""
    from sklearn.metrics import average_precision_score

    from genlab.gan.data import load_dataset
    from genlab.gan.sample import sample
    from genlab.provenance.detector import train_detector
    from genlab.provenance.images import from_unit

    real = from_unit(load_dataset("mnist").x.numpy())
    order = np.random.default_rng(ctx.seed).permutation(len(real))
    train_real, test_real = real[order[:4000]], real[order[4000:4500]]
    train_fake = from_unit(sample(generator, 1000, seed=ctx.seed + 1).numpy())
    test_fake = from_unit(sample(generator, 500, seed=ctx.seed + 2).numpy())
    seconds = 2.0 if ctx.fast else DETECTOR_SECONDS
    detector = train_detector(train_real, train_fake, kind="cnn", seed=ctx.seed, seconds=seconds)
    p_real, p_fake = detector.score(test_real), detector.score(test_fake)
    labels = np.r_[np.zeros(len(p_real)), np.ones(len(p_fake))]
    ap = average_precision_score(labels, np.r_[p_real, p_fake])
    rows = [["held-out real digits", str(len(p_real)), f"{(p_real < 0.5).mean():.1%}"],
            ["fresh samples", str(len(p_fake)), f"{(p_fake >= 0.5).mean():.1%}"]]
    table = markdown_table(["images", "n", "called right at 0.5"], rows)
    return (f"**Fake detection.** A small CNN (a dark-stretched input channel, JPEG / blur / "
            f"resize augmentation) trained for {seconds:g} s on 4,000 real digits against 1,000 "
            f"samples; on unseen images its average precision is {ap:.3f}:\n\n{table}\n\n"
            "Budget: this training is the section's largest part. With 60 s the detector "
            "reaches AP 1.000 on its generator and 0.98 on average over nine generators it never "
            "saw (`benchmarks/fake_detection.py`, which also attacks with JPEG, blur, "
            "resizing).\n")


def _nearest_part(ctx: TourContext, run: str) -> str:
    """Each of a few samples beside its nearest training digits."""
    from genlab.provenance.memorization import nearest_grid_for_run

    path = nearest_grid_for_run(run, ctx.output("provenance_nearest.png"), n=8, k=5,
                                seed=ctx.seed)
    return (f"**Nearest training images.** `{path.name}`: each row a sample, then its five "
            "nearest training digits (pixel distance). `genlab provenance memorization RUN` "
            "turns this into a memorization rate and Meehan et al.'s data-copying test.\n")


def _section(ctx: TourContext) -> str:
    """The body of tour_section."""
    from genlab.gan.sample import make_grid, sample

    generator, run = _generator(ctx)
    samples = sample(generator, 64, seed=ctx.seed)
    grid = np.ascontiguousarray(make_grid(samples, nrow=8)[..., 0])  # grey (H, W) uint8
    parts = [f"Samples of the generator in `{run}`.\n", _watermark_part(ctx, grid),
             _detector_part(ctx, generator), _nearest_part(ctx, run),
             "`genlab provenance bench` runs the attack table; "
             "`benchmarks/watermark_vs_peers.py` compares with invisible-watermark."]
    return "\n".join(parts)
