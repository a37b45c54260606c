"""Memorization demo: a GAN trained on 100 MNIST digits copies them; one on 4,500 does not.

Data: the embedded MNIST-5k digits (500 per class), split per class with seed 0 into a
held-out set of 50 (500 digits, never trained on) and a pool of 450 (4,500 digits); the small
training set is the first 10 of each class's pool (100 digits). Each set is written as 32-px
grey PNGs in class sub-folders (exactly the pixels `load_dataset("mnist")` gives). Both GANs
train with the same command and the same wall-clock budget, one after the other on one thread:

    genlab gan train --data SET --img-size 32 --img-channels 1 --threads 1 --minutes M \
        --lr 2e-4 --penalty r1 --penalty-weight 1 --ema 0.999 --ema-rampup 0.2 --out RUN

DCGAN's lr 2e-4 with an R1 penalty on D (Mescheder et al. 2018) and an EMA of G: on 100
digits genlab's mnist recipe (lr 2e-3, EMA, no penalty) let D win outright (loss 6e-4 by
step 2,000) and G collapse to one blob, which copies nothing; the penalty keeps the game going
long enough for G to reach the training images.
Then both are scored with the same tools and the same held-out 500 digits: the Carlini et
al. 2023 memorization rate and Meehan et al. 2020's C_T, in pixel and LeNet-feature space,
and the nearest-neighbour pictures.

Reproduce (≈ 2 × M minutes of training + ~5 min of scoring):
    .venv/bin/python benchmarks/memorization.py --minutes 37 \
        --json /work/bench-results/memorization.json
The recorded numbers came from 10 + 15 + 12 minutes per run (two `--resume`s, d100 and d4500
alternating, copies of the run folders kept after 10 and 25 minutes as d100_10min, ...),
scored with
    .venv/bin/python benchmarks/memorization.py --skip-train --score d100_10min d100_25min \
        d100 d4500_10min d4500_25min d4500 --json /work/bench-results/memorization.json
Score existing runs only:  add --skip-train (and --score NAME ... for other run folders).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path("/work/runs/memo")
PICTURES = Path("/work/bench-results")


def write_splits(root: Path, seed: int = 0) -> dict[str, Path]:
    """The held-out 500, the 4,500 pool and the 100-digit subset as PNG folders under root."""
    from PIL import Image

    from genlab.gan.data import load_dataset

    data = load_dataset("mnist", 32)
    pixels = np.rint((data.x.numpy()[:, 0] + 1.0) * 127.5).astype(np.uint8)  # (5000, 32, 32)
    labels = data.labels.numpy()
    rng = np.random.default_rng(seed)
    folders = {"heldout500": root / "data" / "heldout500", "d4500": root / "data" / "d4500",
               "d100": root / "data" / "d100"}
    if all((f / "9").is_dir() for f in folders.values()):
        return folders
    for c in range(10):
        rows = rng.permutation(np.flatnonzero(labels == c))
        parts = {"heldout500": rows[:50], "d4500": rows[50:], "d100": rows[50:60]}
        for name, idx in parts.items():
            out = folders[name] / str(c)
            out.mkdir(parents=True, exist_ok=True)
            for i in idx:
                Image.fromarray(pixels[i], mode="L").save(out / f"{i:04d}.png")
    return folders


def train_run(data: Path, out: Path, minutes: float, seed: int) -> None:
    """One `genlab gan train` on the folder (one thread), unless the run already exists."""
    if (out / "checkpoints").is_dir():
        print(f"{out} exists: not retrained", file=sys.stderr)
        return
    command = [str(Path(sys.executable).parent / "genlab"), "gan", "train", "--data", str(data),
               "--img-size", "32", "--img-channels", "1", "--threads", "1",
               "--minutes", str(minutes), "--lr", "2e-4", "--penalty", "r1",
               "--penalty-weight", "1", "--ema", "0.999", "--ema-rampup", "0.2",
               "--sample-every", "250", "--seed", str(seed), "--no-progress", "--out", str(out)]
    print(" ".join(command), file=sys.stderr)
    subprocess.run(command, check=True)


def _step(run: Path) -> int:
    """Generator steps of the run's newest checkpoint."""
    from genlab.gan.checkpoint import read_checkpoint

    return int(read_checkpoint(run)[1].get("step", -1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--n", type=int, default=2000, help="Generated samples scored.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--pictures", type=Path, default=PICTURES)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--score", nargs="+", default=["d100", "d4500"],
                        help="Run folders under --root to score (d100 and d4500 are trained).")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    folders = write_splits(args.root)
    if args.prepare_only:
        print(json.dumps({k: str(v) for k, v in folders.items()}))
        return
    if not args.skip_train:
        for name in ("d100", "d4500"):
            train_run(folders[name], args.root / name, args.minutes, args.seed)
    runs = {name: args.root / name for name in args.score}

    from genlab.provenance.memorization import nearest_grid_for_run, score_run

    rows: list[dict[str, Any]] = []
    for name, run in runs.items():
        start = time.perf_counter()
        for space in ("pixels", "lenet"):
            report = score_run(run, n=args.n, heldout=str(folders["heldout500"]), space=space,
                               seed=args.seed)
            rows.append({**report, "run": name, "step": _step(run)})
            nearest_grid_for_run(run, args.pictures / f"memo_{name}_{space}.png", n=12, k=5,
                                 space=space, seed=args.seed)
        print(f"{name}: scored in {time.perf_counter() - start:.0f} s", file=sys.stderr)

    print("| run | G steps | space | memorization rate | C_T | cells used | median d(nn1) gen | "
          "median d(nn1) held-out |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['step']} | {r['space']} | {r['memorization_rate']:.3f} | "
              f"{r['c_t']:.2f} | "
              f"{r['cells_used']}/{r['cells']} | {r['median_nn_distance_generated']:.3f} | "
              f"{r['median_nn_distance_heldout']:.3f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"minutes": args.minutes, "n": args.n, "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
