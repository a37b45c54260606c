"""The image-task section of `genlab tour`: each of the four tasks trained briefly on the
shipped photos and shown on held-out photos (input | baselines | genlab | truth), with its
table, and one style transfer."""

from __future__ import annotations

import torch

from genlab.tour import TourContext, markdown_table

__all__ = ["SECONDS_PER_TASK", "STYLE_SECONDS", "tour_section"]

SECONDS_PER_TASK = 40.0  # training budget of each task in the full tour (2 cores)
STYLE_SECONDS = 20.0
HEADLINE = {"superres": "Y-PSNR", "inpaint": "hole PSNR", "colorize": "chroma ratio",
            "uncrop": "seam PSNR"}


def tour_section(ctx: TourContext) -> str:
    """Train and evaluate superres ×4, inpaint, colorize and uncrop; then a style transfer."""
    from genlab.gan.tasks.restore import evaluate
    from genlab.gan.train import TrainConfig, train

    rows, pictures = [], []
    for task in ("superres", "inpaint", "colorize", "uncrop"):
        run_dir = ctx.run_dir / f"image-{task}"
        budget = {"steps": 2, "img_size": 32, "width": 4, "depth": 2} if ctx.fast else {
            "minutes": SECONDS_PER_TASK / 60}
        train(TrainConfig(data="photos", task=task, out=str(run_dir), seed=ctx.seed,
                          progress=not ctx.fast, sample_every=0, **budget))
        picture = ctx.output(f"image_{task}.png")
        report = evaluate(run_dir, images=4 if ctx.fast else 8, size=64 if ctx.fast else 128,
                          seed=ctx.seed, picture=picture)
        key = HEADLINE[task]
        for r in report.rows:
            rows.append([task, r["method"], f"{r[key]:.3f}", key])
        pictures.append(f"* `{picture.name}` — rows: input, "
                        f"{', '.join(r['method'] for r in report.rows)}, truth")
    style_line = _style(ctx)
    budget_text = "2 steps of tiny networks (fast mode)" if ctx.fast else \
        f"{SECONDS_PER_TASK:g} s each"
    return (
        "One conditional GAN for four image tasks (pix2pix: a U-Net G, a PatchGAN D judging "
        "(output, input) pairs, adversarial + 100·L1), trained on random crops of the photos "
        f"shipped in scikit-image / scikit-learn ({budget_text}), shown on crops of photos "
        "no run trained on (chelsea, flower, grace_hopper) beside the classical baselines.\n\n"
        + markdown_table(["task", "method", "value", "metric"], rows) + "\n\n"
        + "\n".join(pictures) + "\n\n" + style_line + "\n\n"
        f"Budget: {SECONDS_PER_TASK:g} s per task and {STYLE_SECONDS:g} s of style transfer; "
        "superres spends all of it in its 500-step L1 warm-up. A brief run is far from done: "
        "`benchmarks/image_tasks.py` trains each task for 10 minutes on 2 cores, which reaches "
        "Y-PSNR 1.38 dB above bicubic (×4), a chroma ratio of 0.84 (L1 alone: 0.70), PSNR above "
        "reflect padding for uncropping, but hole PSNR still 1.8 dB below biharmonic "
        "inpainting (24 held-out 128-px crops).\n"
    )


def _style(ctx: TourContext) -> str:
    """One style transfer (chelsea in the style of brick) on a random-feature network."""
    from genlab.gan.tasks.photos import load_photo, save_image, texture
    from genlab.gan.tasks.style import style_transfer

    content = (load_photo("chelsea")[None] + 1) / 2
    style = (texture("brick")[None] + 1) / 2
    size, seconds = (32, 0.5) if ctx.fast else (256, STYLE_SECONDS)
    result = style_transfer(content, style, size=size, seconds=seconds, seed=ctx.seed)
    path = ctx.output("style_transfer.png")
    save_image(torch.cat([torch.nn.functional.interpolate(
        content, size=result.image.shape[-2:], mode="bilinear", antialias=True)[0],
        result.image[0]], dim=-1) * 2 - 1, path)
    return (f"* `{path.name}` — style transfer (Gatys et al., seeded random-feature network, "
            f"coarse to fine): chelsea in the style of scikit-image's brick texture, "
            f"{result.image.shape[-1]} px, {result.iterations} steps in {result.seconds:.0f} s")
