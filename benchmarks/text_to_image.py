"""Text to image, measured: shapes (seen vs held-out combinations) and captioned digits.

For each data set and seed, `genlab text2img train` runs for --minutes on this machine
(one run at a time on all cores, so "minutes on 2 cores" means what it says; the encoder's
own ~30 s of pre-training comes before the budget). Then `evaluate_text` reads the
attributes back from the pixels (shapes: a non-learned extractor; digits: the LeNet judge
and measured stroke thickness / slant) and ranks captions with a dual encoder trained
separately from the generator's (R-precision). Ablations on shapes (--ablation-seeds):
without the matching-aware D term, without the caption-matching (DAMSM) G term, and with
the packaged MiniLM sentence encoder (it has no image tower, so no DAMSM term either).

The goals (issue "Text-to-image"): shapes all-attributes accuracy >= 90% on seen and >= 80%
on held-out combinations after <= 15 minutes on 2 cores (the public CPU anchor: 83% / 67% after
~60 minutes); digit accuracy >= 95%.

    python benchmarks/text_to_image.py --minutes 5 --seeds 0 1 2 --out /tmp/t2i-bench
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ANCHOR = {"seen": 0.83, "held-out": 0.67}  # public CPU run, ~60 min of laptop CPU (NOTES.md)
ABLATIONS = {  # shapes only: variant name -> extra `genlab text2img train` arguments
    "no matching-aware term": ["--no-mismatch"],
    "no DAMSM term": ["--match-weight", "0"],
    "MiniLM encoder": ["--encoder", "minilm"],
}


def _train_all(jobs: list[tuple[str, list[str]]], parallel: int) -> None:
    """Run `genlab text2img train` jobs, `parallel` at a time, sharing the cores."""
    running: list[tuple[str, subprocess.Popen[bytes]]] = []
    pending = list(jobs)
    while pending or running:
        while pending and len(running) < parallel:
            name, args = pending.pop(0)
            log = open(Path(args[args.index("--out") + 1]).with_suffix(".log"), "wb")  # noqa: SIM115
            cmd = [sys.executable, "-m", "genlab.cli.main", "text2img", "train", *args,
                   "--threads", str(max(1, (os.cpu_count() or 1) // parallel)), "--no-progress"]
            print(f"[{time.strftime('%H:%M:%S')}] start {name}", flush=True)
            running.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
        time.sleep(2)
        for item in list(running):
            name, proc = item
            if proc.poll() is not None:
                running.remove(item)
                status = "done" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
                print(f"[{time.strftime('%H:%M:%S')}] {status} {name}", flush=True)


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", nargs="+", default=["shapes", "mnist-captions"])
    parser.add_argument("--ablation-seeds", type=int, nargs="*", default=[0],
                        help="seeds of the ablation runs (shapes)")
    parser.add_argument("--per-caption", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=1,
                        help="runs at a time; each gets cores / parallel threads")
    parser.add_argument("--out", type=Path, default=Path("runs/text-to-image-bench"))
    parser.add_argument("--eval-only", action="store_true", help="reuse finished runs")
    parser.add_argument("--json", type=Path, default=None, help="also write all rows here")
    args = parser.parse_args()
    from genlab.cli.text2img import format_report
    from genlab.gan.text.evaluate import evaluate_text

    args.out.mkdir(parents=True, exist_ok=True)
    runs: list[tuple[str, str, int, Path]] = []  # (data, variant, seed, folder)
    for data in args.data:
        for seed in args.seeds:
            runs.append((data, "genlab", seed, args.out / f"{data}-s{seed}"))
        if data == "shapes":
            for variant in ABLATIONS:
                slug = variant.replace(" ", "-")
                runs += [(data, variant, seed, args.out / f"{data}-{slug}-s{seed}")
                         for seed in args.ablation_seeds]
    jobs = []
    for data, variant, seed, folder in runs:
        extra = ABLATIONS.get(variant, [])
        if not args.eval_only:
            jobs.append((folder.name, ["--data", data, "--minutes", str(args.minutes),
                                       "--seed", str(seed), "--out", str(folder), *extra]))
    if jobs:
        _train_all(jobs, args.parallel)
    results = []
    for data, variant, seed, folder in runs:
        picture = args.out / f"{folder.name}-grid.png"
        report = evaluate_text(folder, per_caption=args.per_caption, seed=seed, picture=picture)
        summary = json.loads((folder / "summary.json").read_text())
        print(format_report(report.to_json()), flush=True)
        results.append({"data": data, "variant": variant, "seed": seed,
                        "steps": summary["steps"], "rows": report.to_json()["rows"],
                        "picture": str(picture)})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    _print_tables(results)


def _print_tables(results: list[dict]) -> None:
    """Markdown tables: mean ± sd over seeds per data set, variant and group."""
    for data in dict.fromkeys(r["data"] for r in results):
        mine = [r for r in results if r["data"] == data]
        keys = [k for k in mine[0]["rows"][0] if k not in ("source", "group", "images")]
        print(f"\n### {data}\n")
        print("| variant | seeds | steps | group | " + " | ".join(keys) + " |")
        print("|" + "---|" * (4 + len(keys)))
        for variant in dict.fromkeys(r["variant"] for r in mine):
            runs = [r for r in mine if r["variant"] == variant]
            for group in dict.fromkeys(row["group"] for row in runs[0]["rows"]):
                for source in ("genlab", "real"):
                    rows = [row for r in runs for row in r["rows"]
                            if row["group"] == group and row["source"] == source]
                    if source == "real" and variant != "genlab":
                        continue
                    label = variant if source == "genlab" else "real images"
                    cells = [_mean_sd([row[k] for row in rows if row.get(k) is not None])
                             for k in keys]
                    steps = _mean_sd([float(r["steps"]) for r in runs]) if source == "genlab" \
                        else "-"
                    print(f"| {label} | {len(runs)} | {steps} | {group} | " + " | ".join(cells)
                          + " |")
        if data == "shapes":
            print(f"| public CPU anchor (~60 min) | - | - | seen / held-out | all = "
                  f"{ANCHOR['seen']:.2f} / {ANCHOR['held-out']:.2f} |")


if __name__ == "__main__":
    main()
