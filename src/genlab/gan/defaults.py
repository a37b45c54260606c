"""Per-data training defaults as plain tables (no torch), so `--help` can quote them cheaply."""

from __future__ import annotations

from typing import Any

__all__ = ["DATA_DEFAULTS", "KIND_DEFAULTS", "PENALTY_WEIGHT", "TASK_DEFAULTS", "default_text"]

# Defaults by kind of data; a None / "auto" / 0 field of TrainConfig takes its value from here.
# Images: width 32 up to 32 px (the DCGAN widths of 64 were made for 64-px RGB; on 32-px digits
# width 32 ran 2.4x faster per image and reached FID 28 in 2,500 steps, where width 64 gets
# ~1,000 steps in the same time), 64 above; see benchmarks/gan_vs_reference.py.
# 2-D mixtures (ring8, grid25): an R1 penalty on D keeps every mode (grid25 10/25 -> 25/25)
# and an EMA of G pulls samples onto the tiny modes (std 0.01 / 0.05); see tests/gan/test_modes.
# No lr_decay by default: over the second half of a 30k-step budget it helped grid25 (seed 0:
# 94.4% -> 95.4% of samples within 3 std of a mode), but at 6k steps it cut that to 32%.
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "images": {"model": "dcgan", "loss": "nonsaturating", "batch_size": 64, "lr_g": 2e-4,
               "lr_d": 2e-4,
               "betas": (0.5, 0.999), "z_dim": 100, "width": 64,
               "small_width": 32, "small_size": 32,
               "penalty": "none", "penalty_weight": 10.0, "ema": 0.0, "ema_rampup": 0.05,
               "lr_decay": 0.0,
               "augment": "none"},
    # image-to-image tasks (pix2pix: U-Net G, PatchGAN D on (input, output) pairs, Adam 2e-4
    # (0.5, 0.999)); batch 16 of 64-px crops and width 16 suit 2 CPU cores (a U-Net step of
    # width 32 costs 3.1x that of width 16: 23 against 73 img/s, bf16, one thread)
    # LSGAN (CycleGAN's choice, an option of pix2pix): on superres ×4 (5 min, 1 thread, L1
    # warm-up 600 steps) it kept Y-PSNR at bicubic +1.58 dB where the non-saturating loss
    # fell to +0.49 (and to -2.9 dB without the warm-up)
    "paired": {"model": "unet", "loss": "lsgan", "batch_size": 16, "lr_g": 2e-4, "lr_d": 2e-4,
               "betas": (0.5, 0.999), "width": 16, "penalty": "none", "ema": 0.0,
               "ema_rampup": 0.05, "lr_decay": 0.0, "augment": "none"},
    # text to image (GAN-INT-CLS on frozen sentence embeddings): width 32 at 64 px runs 3.6
    # steps/s of batch 64 on 2 cores (bf16), 2.4 in fp32; width 64 only 0.9. Shapes, 500
    # steps, seed 0, all attributes read back right (seen / held-out combinations): DCGAN's
    # 2e-4 without the matching term 0% / 0%; 1e-3 with it (weight 1) 61% / 51%; 2e-3 with it
    # 94% / 95%; 1e-3 with weight 3 89% / 89%
    "text": {"model": "text-dcgan", "loss": "nonsaturating", "batch_size": 64, "lr_g": 2e-3,
             "lr_d": 2e-3, "betas": (0.5, 0.999), "z_dim": 100, "width": 32,
             "small_width": 32, "small_size": 32, "penalty": "none", "penalty_weight": 10.0,
             "ema": 0.999, "ema_rampup": 0.2, "lr_decay": 0.0, "augment": "none",
             "match_weight": 1.0},
    "points": {"model": "mlp", "loss": "nonsaturating", "batch_size": 256, "lr_g": 1e-3,
               "lr_d": 1e-3,
               "betas": (0.5, 0.999), "z_dim": 16, "width": 128,
               "penalty": "r1", "penalty_weight": 1.0, "ema": 0.99, "ema_rampup": 0.05,
               "lr_decay": 0.0,
               "augment": "none"},
}
# Per-dataset refinements of KIND_DEFAULTS (benchmarks/gan_vs_reference.py):
# - grid25, 5 seeds x 30k steps: a 10x lighter R1 penalty and a slower EMA pull more samples
#   onto the 25 modes (within 3 std: 93.1% -> 95.3% mean; R1 0.1 with EMA 0.99 alone: 94.6%
#   over 4 seeds); on ring8 the same change lost ground (97.6% -> 96.9%), so ring8 keeps the
#   kind's values. The EMA ramp-up (ema_rampup) keeps the slow EMA from lagging G in short
#   runs (grid25 at 6k steps: 23/25 modes without it, 25/25 and 77.9% with it).
# - mnist, 2,500 steps, seeds 0 and 1: Adam at 10x DCGAN's 2e-4 with an EMA of G (the average
#   smooths the faster, noisier G) goes much further in a CPU budget: FID 156 -> 26.7 / 28.7
#   and samples the LeNet rates p >= 0.9 80.5% -> 88.8% / 88.4% (lr 2e-3 alone: 87.4%; lr 1e-3
#   alone: 86.6% / 86.2%; EMA 0.999 at lr 2e-4: 79.9%; TTUR 1e-4 / 4e-4 collapsed). A longer
#   EMA ramp-up (half-life up to 20% of the steps done, not 5%) adds a little more (seed 0:
#   88.8% -> 89.7%; 10%: 89.4%); lr decay did not help (lr_decay 0.3: 87.8%). The 6-minute
#   benchmark (seeds 0-2): FID 18.6 / 23.9 / 23.2, confident 90.8 / 90.4 / 89.3%. A 12,000-step
#   run stays stable (FID 54 at 1.5k, 18.0 at 4.5k, 12.8 at 12k; confident 90.5-91.2% from 4.5k
#   on); lr 3e-3 at 4,500 steps (seed 2): 91.0% against 90.3%, but FID 21.3 against 17.9.
DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "grid25": {"penalty_weight": 0.1, "ema": 0.999},
    "mnist": {"lr_g": 2e-3, "lr_d": 2e-3, "ema": 0.999, "ema_rampup": 0.2},
}
# Per image task: superres starts from an L1-trained G (SRGAN needs an MSE-pretrained G before
# its GAN stage); the adversarial term from step 0 cost it 3 dB of Y-PSNR in a 5-minute run.
TASK_DEFAULTS: dict[str, dict[str, Any]] = {"superres": {"l1_warmup": 500}}
# Weight of a penalty the user picks that is not the data's default one (WGAN-GP's 10).
PENALTY_WEIGHT = 10.0


def default_text(field: str) -> str:
    """A field's defaults as help text, e.g. 'images 0.0002, 2-D 0.001; mnist 0.002'.

    Read from the tables above, so `--help` cannot drift from what training uses.
    """
    images, points = KIND_DEFAULTS["images"][field], KIND_DEFAULTS["points"][field]
    text = f"{images:g}" if images == points else f"images {images:g}, 2-D {points:g}"
    overrides = [f"{name} {values[field]:g}" for name, values in DATA_DEFAULTS.items()
                 if field in values]
    return "; ".join([text, *overrides])
