"""Train the generator zoo the provenance benchmarks test on, and dump its samples.

Short (1–2 minute) MNIST generators trained one at a time on one thread into
/work/runs/zoo/<name>: dcgan (non-saturating loss) seeds 0, 1, 2, dcgan with hinge and lsgan
losses, dcgan-patch (PatchGAN discriminator), a half-width dcgan (the mlp generator does not
take images), conditional dcgan, a 4× super-resolution pix2pix generator and a text-to-image
GAN on mnist-captions. Runs already present are skipped. Each run folder then
gets `provenance_samples.npy`: uint8 (n, 32, 32) samples (`write_samples`), which
`benchmarks/fake_detection.py` reads.

Reproduce (≈ 20 minutes on one core):

    .venv/bin/python benchmarks/provenance_zoo.py --root /work/runs/zoo --minutes 1.5
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ZOO", "ZooRun", "load_samples", "main", "real_split", "sample_run", "train_run"]

GENLAB = str(Path(sys.executable).with_name("genlab"))
SAMPLES_FILE = "provenance_samples.npy"


@dataclass(frozen=True)
class ZooRun:
    """One zoo member: its folder name, the kind of run and the training arguments."""

    name: str
    kind: str  # "gan", "superres" or "text2img"
    args: tuple[str, ...]


ZOO: tuple[ZooRun, ...] = (
    ZooRun("dcgan-s0", "gan", ("--model", "dcgan", "--loss", "nonsaturating", "--seed", "0")),
    ZooRun("dcgan-s1", "gan", ("--model", "dcgan", "--loss", "nonsaturating", "--seed", "1")),
    ZooRun("dcgan-s2", "gan", ("--model", "dcgan", "--loss", "nonsaturating", "--seed", "2")),
    ZooRun("dcgan-hinge", "gan", ("--model", "dcgan", "--loss", "hinge", "--seed", "0")),
    ZooRun("dcgan-lsgan", "gan", ("--model", "dcgan", "--loss", "lsgan", "--seed", "0")),
    ZooRun("dcgan-patch", "gan", ("--model", "dcgan-patch", "--seed", "0")),
    ZooRun("dcgan-w16", "gan", ("--model", "dcgan", "--width", "16", "--seed", "0")),
    ZooRun("cdcgan", "gan", ("--model", "dcgan", "--conditional", "--seed", "0")),
    ZooRun("superres4", "superres", ("--scale", "4", "--seed", "0")),
    ZooRun("text2img", "text2img", ("--seed", "0")),
)


def _has_checkpoint(run_dir: Path) -> bool:
    return any(run_dir.glob("checkpoints/*.safetensors")) or any(run_dir.rglob("*.safetensors"))


def train_run(run: ZooRun, root: Path, minutes: float) -> float:
    """Train one zoo member unless its folder already holds a checkpoint; seconds spent."""
    out = root / run.name
    if _has_checkpoint(out):
        return 0.0
    common = ("--minutes", str(minutes), "--threads", "1", "--no-progress", "--out", str(out))
    if run.kind == "gan":
        cmd = [GENLAB, "gan", "train", "--data", "mnist", *run.args, *common]
    elif run.kind == "superres":
        cmd = [GENLAB, "image", "train", "superres", "--data", "mnist", *run.args, *common]
    else:
        cmd = [GENLAB, "text2img", "train", "--data", "mnist-captions", *run.args, *common]
    start = time.perf_counter()
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def real_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 5,000 digits as uint8 (n, 32, 32), split 70/30 by a seeded shuffle into
    (train, held-out): the detectors train on the first and are tested on the second."""
    from genlab.gan.data import load_dataset
    from genlab.provenance.images import from_unit

    pixels = from_unit(load_dataset("mnist").x.numpy())
    order = np.random.default_rng(seed).permutation(len(pixels))
    cut = int(0.7 * len(pixels))
    return pixels[order[:cut]], pixels[order[cut:]]


def sample_run(run: ZooRun, root: Path, n: int, seed: int = 0) -> np.ndarray:
    """n uint8 (n, 32, 32) images of one zoo member, drawn with `seed`.

    GANs: `genlab.gan.sample.sample` (random classes for the conditional one); super-resolution:
    the generator applied to 4×-downsampled held-out real digits; text2img: ten captions
    ("a handwritten zero" … "nine"), n/10 images each, shuffled.
    """
    import torch

    from genlab.provenance.images import from_unit

    run_dir = root / run.name
    with torch.no_grad():
        if run.kind == "gan":
            from genlab.gan.checkpoint import load_generator
            from genlab.gan.sample import sample

            generator, _ = load_generator(run_dir)
            x = sample(generator, n, seed=seed).clamp(-1, 1)
        elif run.kind == "superres":
            from genlab.gan.tasks.restore import load_image_model

            model = load_image_model(run_dir)
            _, held_out = real_split()
            pick = np.random.default_rng(seed).choice(len(held_out), n, replace=n > len(held_out))
            clean = torch.from_numpy(held_out[pick][:, None].astype(np.float32) / 127.5 - 1.0)
            task = model.task
            degraded = task.from_low(task.downsample(clean))  # type: ignore[attr-defined]
            x = model.restore(degraded).clamp(-1, 1)
        else:
            from genlab.gan.text.digits import DIGIT_WORDS
            from genlab.gan.text.model import load_text_model

            model_t = load_text_model(run_dir)
            per = -(-n // len(DIGIT_WORDS))
            x = model_t.sample([f"a handwritten {w}" for w in DIGIT_WORDS], per, seed=seed)
            x = x[torch.from_numpy(np.random.default_rng(seed).permutation(len(x))[:n])]
    return from_unit(x.numpy())


def load_samples(name: str, root: Path = Path("/work/runs/zoo")) -> np.ndarray:
    """The dumped uint8 samples of zoo member `name` (written by `write_samples`)."""
    path = root / name / SAMPLES_FILE
    if not path.is_file():
        raise ValueError(f"no samples at {path}: run benchmarks/provenance_zoo.py first")
    return np.load(path, allow_pickle=False)


def write_samples(run: ZooRun, root: Path, n: int, seed: int = 0) -> None:
    """Dump n samples of a trained member to <run>/provenance_samples.npy (kept if present)."""
    path = root / run.name / SAMPLES_FILE
    if path.is_file() and len(np.load(path, allow_pickle=False)) >= n:
        return
    np.save(path, sample_run(run, root, n, seed))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/work/runs/zoo"))
    parser.add_argument("--minutes", type=float, default=1.5)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--only", nargs="*", default=None, help="names of members to build")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    args.root.mkdir(parents=True, exist_ok=True)
    for run in ZOO:
        if args.only and run.name not in args.only:
            continue
        try:
            spent = train_run(run, args.root, args.minutes)
            write_samples(run, args.root, args.samples)
        except (subprocess.CalledProcessError, ValueError, RuntimeError) as err:
            print(f"{run.name}: FAILED ({err})", flush=True)
            continue
        print(f"{run.name}: trained in {spent:.0f} s, samples ready", flush=True)


if __name__ == "__main__":
    main()
