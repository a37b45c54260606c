"""genlab's default DCGAN vs the plain pytorch/examples DCGAN, same wall-clock budget, one process.

Both train on the embedded MNIST-5k digits at 32 px for `--minutes` each (alternating in
`--slices` slices, genlab resuming from its checkpoint, so both meet the same machine load;
same thread count) and are scored by the same cached LeNet: img/s ratio, FID, KID,
class coverage and the share of confidently classified samples. Then genlab's 2-D GAN on
ring8 and grid25 for `--seeds` seeds under the VEEGAN/PacGAN protocol (2,500 samples).

The reference is the published pytorch/examples `dcgan/main.py` architecture and loop
(fp32, Adam 2e-4 / β1 0.5, BCE on a sigmoid, batch 64, N(0, 0.02) init, width 64), written
out here with one up/down-sampling block fewer because the images are 32 px, not 64.
genlab runs its defaults: width 32 at 32 px, channels_last, bf16 autocast only on a CPU/GPU
with native bf16 (so fp32 on an AVX2-only CPU), Algorithm 1 with fresh noise for the G step,
and on mnist Adam 2e-3 with an EMA of G (0.999) sampled for the scores.

Quick smoke run:  python benchmarks/gan_vs_reference.py --minutes 0.2 --seeds 1 --mixture-steps 200
Full run:         python benchmarks/gan_vs_reference.py            (≈ 2 × 6 min + mixtures)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genlab.gan.checkpoint import load_generator
from genlab.gan.classifier import load_or_train_classifier
from genlab.gan.data import load_dataset
from genlab.gan.evaluate import evaluate_generator
from genlab.gan.sample import sample, save_grid
from genlab.gan.train import TrainConfig, train

PACGAN4 = {"ring8": (7.8, 0.959, None), "grid25": (24.8, 0.936, 0.04)}  # modes, HQ, reverse KL
GOALS = {"ring8": (8, 0.97, None), "grid25": (25, 0.95, 0.02)}


class ReferenceGenerator(nn.Module):
    """pytorch/examples DCGAN generator (ngf=64), 4×4 -> 32×32: ConvT-BN-ReLU blocks, tanh."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 1) -> None:
        super().__init__()
        self.z_dim, self.num_classes = nz, 0  # the contract genlab's sampler expects
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),  # (B, 256, 4, 4)
            nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (B, 128, 8, 8)
            nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # (B, 64, 16, 16)
            nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),  # (B, 1, 32, 32)
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.main(z[:, :, None, None])


class ReferenceDiscriminator(nn.Module):
    """pytorch/examples DCGAN discriminator (ndf=64), 32×32 -> 1 probability."""

    def __init__(self, ndf: int = 64, nc: int = 1) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),  # (B, 64, 16, 16)
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # (B, 128, 8, 8)
            nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),  # (B, 256, 4, 4)
            nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False), nn.Sigmoid(),  # (B, 1, 1, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)


def _weights_init(m: nn.Module) -> None:
    """pytorch/examples init: conv N(0, 0.02), batch-norm scale N(1, 0.02), bias 0."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class ReferenceRun:
    """The pytorch/examples DCGAN loop on MNIST-5k, run in wall-clock slices."""

    def __init__(self, seed: int, batch_size: int = 64) -> None:
        torch.manual_seed(seed)
        self.data = load_dataset("mnist", img_size=32).x
        self.g, self.d = ReferenceGenerator(), ReferenceDiscriminator()
        self.g.apply(_weights_init)
        self.d.apply(_weights_init)
        self.criterion = nn.BCELoss()
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.batch_size, self.steps, self.seconds = batch_size, 0, 0.0
        self.order, self.cursor = torch.randperm(len(self.data)), 0

    def _batch(self) -> torch.Tensor:
        """The next shuffled minibatch (new permutation each epoch, partial batch dropped)."""
        if self.cursor + self.batch_size > len(self.order):
            self.order, self.cursor = torch.randperm(len(self.data)), 0
        rows = self.order[self.cursor:self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return self.data[rows]

    def step(self) -> None:
        """One D step (real -> 1, fake -> 0) and one G step (fake -> 1), BCE, as published."""
        b = self.batch_size
        ones, zeros = torch.ones(b), torch.zeros(b)
        self.d.zero_grad()
        self.criterion(self.d(self._batch()), ones).backward()
        fake = self.g(torch.randn(b, 100))
        self.criterion(self.d(fake.detach()), zeros).backward()
        self.opt_d.step()
        self.g.zero_grad()
        self.criterion(self.d(fake), ones).backward()
        self.opt_g.step()

    def run(self, seconds: float) -> None:
        """Train for `seconds` of wall clock."""
        self.g.train()
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            self.step()
            self.steps += 1
        self.seconds += time.perf_counter() - start


def genlab_slice(out: Path, minutes: float, seed: int, first: bool, threads: int
                 ) -> tuple[int, float]:
    """Train (or resume) genlab's default DCGAN run for `minutes`: (steps, wall seconds) of it."""
    run = train(TrainConfig(data="mnist", minutes=minutes, seed=seed, out=str(out),
                            resume=not first, progress=False, threads=threads))
    summary = json.loads((run / "summary.json").read_text())
    return int(summary["steps_this_run"]), float(summary["wall_seconds"])


def train_both(minutes: float, slices: int, seed: int, out: Path, threads: int
               ) -> dict[str, tuple[nn.Module, dict[str, Any]]]:
    """Both DCGANs for `minutes` each, alternating in `slices` slices so both meet the same load."""
    torch.set_num_threads(threads)  # genlab's train() sets the same count for its own slices
    reference = ReferenceRun(seed)
    g_steps, g_seconds = 0, 0.0
    per_slice = minutes / slices
    for i in range(slices):
        steps, seconds = genlab_slice(out, per_slice, seed, first=i == 0, threads=threads)
        g_steps, g_seconds = g_steps + steps, g_seconds + seconds
        reference.run(60 * per_slice)
        print(f"slice {i + 1}/{slices}: genlab {g_steps} steps ({64 * steps / seconds:.0f} img/s), "
              f"reference {reference.steps} steps; load {os.getloadavg()[0]:.2f}", flush=True)
    generator, config = load_generator(out)
    genlab_speed = {"steps": g_steps, "wall_seconds": g_seconds,
                    "img_per_s": g_steps * config["batch_size"] / g_seconds,
                    "precision": config["precision"], "channels_last": config["channels_last"],
                    "ema": config["ema"], "batch_size": config["batch_size"]}
    reference_speed = {"steps": reference.steps, "wall_seconds": reference.seconds,
                       "img_per_s": reference.steps * reference.batch_size / reference.seconds}
    return {"genlab": (generator, genlab_speed),
            "reference": (reference.g.eval(), reference_speed)}


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def image_benchmark(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Train both DCGANs for the same budget, score both with the same LeNet, print a table."""
    lenet = load_or_train_classifier()
    print(f"LeNet held-out accuracy {lenet.test_accuracy:.2%} (trained on the same 5,000 digits "
          f"the GANs see, 20% per class held out); cached at {lenet.path}")
    results: dict[str, Any] = {}
    print(f"\n== training both for {args.minutes} min each in {args.slices} alternating slices "
          f"(load {os.getloadavg()[0]:.2f}) ==")
    trained = train_both(args.minutes, args.slices, args.seed, out / "genlab", args.threads)
    for name, (generator, speed) in trained.items():
        print(f"{name}: {speed['steps']} steps, {speed['img_per_s']:.0f} img/s")
        metrics = evaluate_generator(generator, "mnist", n=args.n, seed=args.seed)
        save_grid(sample(generator, 64, seed=args.seed), out / f"{name}-samples.png", nrow=8)
        results[name] = {"speed": speed, "metrics": metrics}
    g, r = results["genlab"], results["reference"]
    rows = [("img/s", "{:.0f}", "speed", "img_per_s", "≥ 2× reference"),
            ("generator steps", "{:.0f}", "speed", "steps", ""),
            ("FID (LeNet) ↓", "{:.2f}", "metrics", "fid", "genlab lower"),
            ("KID (LeNet) ↓", "{:.4f}", "metrics", "kid", "genlab lower"),
            ("precision", "{:.3f}", "metrics", "precision", ""),
            ("recall", "{:.3f}", "metrics", "recall", ""),
            ("classes present", "{:.0f}", "metrics", "classes_present", "10"),
            ("smallest class share", "{:.1%}", "metrics", "class_min", "≥ 5%"),
            ("largest class share", "{:.1%}", "metrics", "class_max", "≤ 15%"),
            ("confidently classified (p ≥ 0.9)", "{:.1%}", "metrics", "confident_fraction",
             "≥ 90%")]
    lines = [f"MNIST-5k, 32 px, {args.minutes} min each in {args.slices} alternating slices, "
             f"{args.threads} thread(s), {args.n} samples scored", "",
             "| | genlab | reference | genlab / reference | goal |", "|---|---|---|---|---|"]
    for label, spec, part, key, goal in rows:
        a, b = g[part][key], r[part][key]
        ratio = f"{a / b:.2f}×" if key in ("img_per_s", "fid", "kid") and b else ""
        lines.append(f"| {label} | {spec.format(a)} | {spec.format(b)} | {ratio} | {goal} |")
    hist = " / ".join(f"{g['metrics'][f'class_{c}']:.0%}" for c in range(10))
    lines += ["", f"genlab class histogram (0..9): {hist}",
              f"genlab run: precision {g['speed']['precision']}, channels_last "
              f"{g['speed']['channels_last']}, EMA {g['speed']['ema']}"]
    results["table"] = "\n".join(lines)
    print("\n" + results["table"])
    return results


def mixture_benchmark(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """genlab's default 2-D GAN on ring8 and grid25, `--seeds` seeds, VEEGAN/PacGAN protocol."""
    results: dict[str, Any] = {}
    lines = ["| data | seed | modes | high-quality | reverse KL |", "|---|---|---|---|---|"]
    summary = ["", "| data | mean modes | mean HQ | mean reverse KL | goal | PacGAN4 |",
               "|---|---|---|---|---|---|"]
    budget: dict[str, Any] = {"minutes": args.mixture_minutes} if args.mixture_minutes else {
        "steps": args.mixture_steps}
    if args.mixture_lr_decay is not None:
        budget["lr_decay"] = args.mixture_lr_decay
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in args.mixtures.split(",")}
    seeds = ([int(s) for s in args.only_seeds.split(",")] if args.only_seeds
             else range(args.seeds))
    for seed in seeds:  # seed-major, so a cut-short run still covers both mixtures
        for data in runs:
            run = train(TrainConfig(data=data, seed=seed, out=str(out / f"{data}-seed{seed}"),
                                    progress=False, **budget))
            generator, _ = load_generator(run)
            stats = evaluate_generator(generator, data, seed=seed)
            stats["steps"] = json.loads((run / "summary.json").read_text())["steps"]
            runs[data].append(stats)
            lines.append(f"| {data} | {seed} | {stats['modes_captured']:.0f}/"
                         f"{stats['modes_total']:.0f} | {stats['high_quality_fraction']:.1%} | "
                         f"{stats['reverse_kl']:.4f} |")
            print(lines[-1], f"({stats['steps']} steps, load {os.getloadavg()[0]:.2f})",
                  flush=True)
    for data, stats_list in runs.items():
        mean = {k: float(np.mean([s[k] for s in stats_list]))
                for k in ("modes_captured", "high_quality_fraction", "reverse_kl")}
        goal, pac = GOALS[data], PACGAN4[data]
        summary.append(
            f"| {data} | {mean['modes_captured']:.2f} | {mean['high_quality_fraction']:.1%} | "
            f"{mean['reverse_kl']:.4f} | {goal[0]} modes, ≥ {goal[1]:.0%}"
            f"{'' if goal[2] is None else f', KL ≤ {goal[2]}'} | {pac[0]}, {pac[1]:.1%}, "
            f"{_fmt(pac[2], '.2f')} |")
        results[data] = {"runs": stats_list, "mean": mean}
    results["table"] = "\n".join([f"2-D mixtures, budget per run: {budget}, 2,500 samples", "",
                                  *lines, *summary])
    print("\n" + results["table"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=6.0, help="budget per DCGAN (default 6)")
    parser.add_argument("--slices", type=int, default=12,
                        help="alternate genlab and reference in this many slices so that both "
                        "see the same machine load (default 12: 30 s each at 6 min)")
    parser.add_argument("--threads", type=int, default=2,
                        help="intra-op threads for both DCGANs (default 2; use 1 on a busy "
                        "machine: 2 threads on 2 shared cores ran 4-5x slower than 1)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per 2-D mixture (default 5)")
    parser.add_argument("--mixture-steps", type=int, default=30_000,
                        help="budget per 2-D run in generator steps (default 30,000, about 5 "
                        "minutes on one core; a step budget keeps the quality figures "
                        "independent of machine load)")
    parser.add_argument("--mixtures", default="ring8,grid25",
                        help="comma list of 2-D mixtures to run (default ring8,grid25; run "
                        "them as two processes to use two cores)")
    parser.add_argument("--mixture-minutes", type=float, default=0.0,
                        help="budget per 2-D run in minutes instead of steps")
    parser.add_argument("--mixture-lr-decay", type=float, default=None,
                        help="lr_decay of the 2-D runs (default: genlab's default, none)")
    parser.add_argument("--only-seeds", default="",
                        help="comma list of 2-D seeds instead of 0..--seeds-1 (to split them "
                        "over processes)")
    parser.add_argument("--n", type=int, default=5000, help="samples scored per DCGAN")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-images", action="store_true")
    parser.add_argument("--skip-mixtures", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-gan"))
    args = parser.parse_args()
    out = args.out / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load {os.getloadavg()}, output {out}")
    report: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()},
                              "load_before": os.getloadavg()}
    if not args.skip_images:
        report["images"] = image_benchmark(args, out)
    if not args.skip_mixtures:
        report["mixtures"] = mixture_benchmark(args, out)
    report["load_after"] = os.getloadavg()
    (out / "results.json").write_text(json.dumps(report, indent=2, default=str))
    tables = [report[k]["table"] for k in ("images", "mixtures") if k in report]
    (out / "results.md").write_text("\n\n".join(tables) + "\n")
    print(f"\nload average after: {report['load_after']}; results in {out}")


if __name__ == "__main__":
    main()
