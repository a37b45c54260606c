"""The GAN section of `genlab tour`: a class-conditional DCGAN on the embedded MNIST digits,
its samples (one row per class), a latent interpolation, and the evaluation table."""

from __future__ import annotations

import torch

from genlab.gan.sample import interpolate, sample, save_gif, save_grid
from genlab.gan.train import TrainConfig, train
from genlab.tour import TourContext, one_torch_thread

__all__ = ["TOUR_MINUTES", "tour_section"]

TOUR_MINUTES = 2.0  # training budget of the full tour (2 cores)


def tour_section(ctx: TourContext) -> str:
    """Train (≈2 min, or 4 steps with ctx.fast), then write grid, strip, GIF and metrics, on
    one thread (`one_torch_thread`)."""
    with one_torch_thread():
        return _section(ctx)


def _section(ctx: TourContext) -> str:
    """The body of tour_section."""
    from genlab.gan.checkpoint import load_generator, read_checkpoint
    from genlab.gan.evaluate import evaluate_generator, format_table

    run_dir = ctx.run_dir / "gan-mnist"
    budget = {"steps": 4} if ctx.fast else {"minutes": TOUR_MINUTES}
    config = TrainConfig(data="mnist", out=str(run_dir), conditional=True, width=32,
                         batch_size=32, threads=1, seed=ctx.seed, progress=not ctx.fast,
                         sample_every=0 if ctx.fast else 200, **budget)
    train(config)
    generator, used = load_generator(run_dir)  # `used`: the resolved config, defaults filled in
    steps = read_checkpoint(run_dir)[1]["step"]
    classes = torch.arange(10).repeat_interleave(10)  # one row per digit
    save_grid(sample(generator, 100, labels=classes, seed=ctx.seed), ctx.output("gan_samples.png"),
              nrow=10, scale=2)
    path = interpolate(generator, rows=4, steps=10, method="slerp", seed=ctx.seed,
                       labels=torch.tensor([0, 3, 5, 8]))
    save_grid(path.flatten(0, 1), ctx.output("gan_interpolation.png"), nrow=10, scale=2)
    save_gif(path.transpose(0, 1), ctx.output("gan_interpolation.gif"), nrow=4)
    if ctx.fast:  # the LeNet behind the metrics takes longer to train than this whole section
        table = "_Evaluation table: skipped in fast mode (run the full tour)._"
    else:
        table = format_table(evaluate_generator(generator, "mnist", seed=ctx.seed))
    budget_text = "4 steps (fast mode)" if ctx.fast else f"{TOUR_MINUTES:g} minutes"
    return (
        f"A class-conditional DCGAN (32 px, width 32, label embedding into G, projection D) "
        f"trained by Algorithm 1 (k = {used['d_steps']}, batch {used['batch_size']}, "
        f"{used['loss']} loss, Adam {used['lr_g']:g}, β = {tuple(used['betas'])}, "
        f"EMA of G {used['ema']:g}, one CPU thread) on "
        f"the 5,000 embedded MNIST digits for {budget_text}, {steps} generator steps. "
        f"Run folder: `{run_dir}`.\n\n"
        "* `gan_samples.png` — 100 samples, one row per digit 0–9\n"
        "* `gan_interpolation.png` / `.gif` — slerp between random latent points "
        "(rows: digits 0, 3, 5, 8)\n\n"
        f"{table}\n"
    )
