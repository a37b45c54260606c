"""Fake detection across generators (Wang et al. 2020's protocol) and model attribution.

Detection: train each detector kind (cnn, spectral) on real MNIST (70% split) against 1,000
samples of ONE zoo generator (dcgan-s0), then score held-out real digits (the other 30%)
against 600 held-out samples of every zoo generator (the seen one and nine unseen: other
seeds, losses, architectures, the conditional GAN, a super-resolution generator and a
text-to-image GAN), clean and after JPEG 75, blur σ=1 and resize ×0.5 and back
(`genlab.provenance.attacks`). Reports average precision and accuracy at P(fake) = 0.5.

Attribution: a `train_attributor` of each kind (linear, cnn) over (a) six architectures /
model families and (b) the three dcgan seeds, 1,500 samples per class (20% of them
calibrate the reject option at 95% acceptance), tested on 500 other samples per class;
the rejection rate is measured on the zoo members left out of each training set.

Needs the zoo (benchmarks/provenance_zoo.py). The CNNs train a fixed number of steps so the
numbers do not depend on machine load; `--det-seconds 60` trains the detector on a wall-clock
budget instead (what `genlab provenance detector train` does). Reproduce (minutes each on one
shared core):

    .venv/bin/python benchmarks/fake_detection.py --skip-attribution \
        --json /work/bench-results/fake_detection.json
    .venv/bin/python benchmarks/fake_detection.py --skip-attribution \
        --train-on dcgan-s0 dcgan-lsgan --json /work/bench-results/fake_detection_two.json
    .venv/bin/python benchmarks/fake_detection.py --skip-attribution --kinds cnn \
        --det-seconds 60 --json /work/bench-results/fake_detection_60s.json
    .venv/bin/python benchmarks/fake_detection.py --skip-detection \
        --json /work/bench-results/fake_attribution.json
    .venv/bin/python benchmarks/fake_detection.py --skip-detection --att-steps 6000 \
        --json /work/bench-results/fake_attribution_6000.json
    .venv/bin/python benchmarks/provenance_zoo.py --samples 5000   # 4,500 to train on
    .venv/bin/python benchmarks/fake_detection.py --skip-detection --att-kinds linear \
        --att-train 4500 --json /work/bench-results/fake_attribution_linear_4500.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from provenance_zoo import ZOO, load_samples, real_split

ATTACK_NAMES = ("none", "jpeg75", "blur1", "resize0.5")
ARCHITECTURES = ("dcgan-s0", "dcgan-patch", "dcgan-w16", "cdcgan", "superres4", "text2img")
SEEDS = ("dcgan-s0", "dcgan-s1", "dcgan-s2")
GOALS = {"seen AP": 0.99, "mean unseen AP": 0.90, "AP after jpeg75": 0.85,
         "train seconds": 60, "attribution: architectures": 0.98, "attribution: seeds": 0.90}


def _attack(images: np.ndarray, name: str) -> np.ndarray:
    from genlab.provenance.attacks import ATTACKS

    return np.stack([ATTACKS[name](img) for img in images])


def detection(root: Path, steps: int | None, kinds: list[str], seed: int,
              train_on: list[str], seconds: float = 60.0) -> dict:
    """AP and accuracy per (kind, generator, attack), plus training time per kind."""
    from sklearn.metrics import average_precision_score

    from genlab.provenance.detector import train_detector

    real_train, real_test = real_split(seed)
    names = [r.name for r in ZOO if (root / r.name / "provenance_samples.npy").is_file()]
    samples = {n: load_samples(n, root) for n in names}
    missing = [n for n in train_on if n not in samples]
    if missing:
        raise SystemExit(f"--train-on: no samples of {missing} under {root}")
    per = 1000 // len(train_on)  # 1,000 fake training images in all
    fake_train = np.concatenate([samples[n][:per] for n in train_on])
    tests = {n: samples[n][1000:1600] for n in names}
    attacked_real = {a: _attack(real_test, a) for a in ATTACK_NAMES}
    attacked = {(n, a): _attack(x, a) for n, x in tests.items() for a in ATTACK_NAMES}
    out: dict = {"train_on": list(train_on), "generators": names, "kinds": {}}
    for kind in kinds:
        start = time.perf_counter()
        det = train_detector(real_train, fake_train, kind=kind, seed=seed, steps=steps,
                             seconds=seconds)
        train_s = time.perf_counter() - start
        real_scores = {a: det.score(x) for a, x in attacked_real.items()}
        rows = {}
        for n in names:
            for a in ATTACK_NAMES:
                s_fake = det.score(attacked[n, a])
                s = np.concatenate([real_scores[a], s_fake])
                y = np.r_[np.zeros(len(real_scores[a])), np.ones(len(s_fake))]
                rows[f"{n}|{a}"] = {"ap": float(average_precision_score(y, s)),
                                    "acc": float(np.mean((s > 0.5) == y)),
                                    "fake_recall": float(np.mean(s_fake > 0.5)),
                                    "real_specificity": float(np.mean(real_scores[a] <= 0.5))}
        unseen = [n for n in names if n not in train_on]
        summary = {
            "train seconds": train_s,
            "seen AP": float(np.mean([rows[f"{n}|none"]["ap"] for n in train_on])),
            "mean unseen AP": float(np.mean([rows[f"{n}|none"]["ap"] for n in unseen])),
            "min unseen AP": float(np.min([rows[f"{n}|none"]["ap"] for n in unseen])),
            "mean unseen acc": float(np.mean([rows[f"{n}|none"]["acc"] for n in unseen])),
        }
        for a in ATTACK_NAMES[1:]:
            summary[f"seen AP after {a}"] = float(np.mean([rows[f"{n}|{a}"]["ap"]
                                                         for n in train_on]))
            summary[f"mean unseen AP after {a}"] = float(np.mean([rows[f"{n}|{a}"]["ap"]
                                                                 for n in unseen]))
        out["kinds"][kind] = {"rows": rows, "summary": summary, "info": det.info}
    return out


def attribution(root: Path, steps: int | None, seed: int, train: int = 1500,
                kinds: tuple[str, ...] = ("linear", "cnn")) -> dict:
    """Accuracy (no rejection) and rejection rates of attributors of each kind over two
    class sets: `train` samples per class to train on, the next 500 to test."""
    from genlab.provenance.attribution import train_attributor

    names = [r.name for r in ZOO if (root / r.name / "provenance_samples.npy").is_file()]
    samples = {n: load_samples(n, root) for n in names}
    _, real_test = real_split(seed)
    out = {}
    for (label, classes), kind in itertools.product(
            (("architectures", ARCHITECTURES), ("seeds", SEEDS)), kinds):
        label = f"{label}, {kind}"
        classes = tuple(c for c in classes if c in samples)
        start = time.perf_counter()
        att = train_attributor({c: samples[c][:train] for c in classes}, seed=seed,
                               steps=steps, kind=kind)
        train_s = time.perf_counter() - start
        test = {c: samples[c][train:train + 500] for c in classes}
        unknown = {n: samples[n][train:train + 500] for n in names if n not in classes}
        unknown["real MNIST"] = real_test[:500]
        res: dict = {"classes": list(classes), "train seconds": train_s, "info": att.info}
        named = {c: att.predict(x, reject="none") for c, x in test.items()}  # once
        res["accuracy"] = float(np.mean([p == c for c, ps in named.items() for p in ps]))
        res["per_class_accuracy"] = {c: float(np.mean([p == c for p in ps]))
                                     for c, ps in named.items()}
        for rej in ("softmax", "distance"):
            known = [att.predict(x, reject=rej) for x in test.values()]
            res[rej] = {
                "known rejected": float(np.mean([p is None for ps in known for p in ps])),
                "accepted accuracy": float(np.mean([p == c for c, ps in zip(test, known,
                                                                              strict=True)
                                                    for p in ps if p is not None] or [0])),
                "unknown rejected": {n: float(np.mean([p is None for p in att.predict(
                    x, reject=rej)])) for n, x in unknown.items()},
            }
        out[label] = res
    return out


def _markdown(det: dict, att: dict) -> str:
    return "\n\n".join(([_detection_markdown(det)] if det else [])
                       + ([_attribution_markdown(att)] if att else []))


def _detection_markdown(det: dict) -> str:
    lines = [f"### Detection: trained on real MNIST vs {', '.join(det['train_on'])}", ""]
    kinds = list(det["kinds"])
    head = "| generator | " + " | ".join(f"{k} AP {a}" for k in kinds for a in ATTACK_NAMES)
    lines += [head + " | " + " | ".join(f"{k} acc" for k in kinds) + " |",
              "|---" * (1 + len(kinds) * (len(ATTACK_NAMES) + 1)) + "|"]
    for n in det["generators"]:
        mark = " (seen)" if n in det["train_on"] else ""
        cells = [f"{det['kinds'][k]['rows'][f'{n}|{a}']['ap']:.3f}"
                 for k in kinds for a in ATTACK_NAMES]
        cells += [f"{det['kinds'][k]['rows'][f'{n}|none']['acc']:.3f}" for k in kinds]
        lines.append(f"| {n}{mark} | " + " | ".join(cells) + " |")
    lines += ["", "| summary | " + " | ".join(kinds) + " |", "|---" * (1 + len(kinds)) + "|"]
    for key in det["kinds"][kinds[0]]["summary"]:
        lines.append(f"| {key} | " + " | ".join(
            f"{det['kinds'][k]['summary'][key]:.3f}" for k in kinds) + " |")
    return "\n".join(lines)


def _attribution_markdown(att: dict) -> str:
    lines = ["### Attribution", "",
              "| class set | accuracy | train s | reject | known rejected | accepted acc | "
              "unknown rejected |", "|---|---|---|---|---|---|---|"]
    for label, res in att.items():
        for rej in ("softmax", "distance"):
            unk = ", ".join(f"{n} {v:.2f}" for n, v in res[rej]["unknown rejected"].items())
            lines.append(f"| {label} ({len(res['classes'])}) | {res['accuracy']:.3f} | "
                         f"{res['train seconds']:.0f} | {rej} | "
                         f"{res[rej]['known rejected']:.3f} | "
                         f"{res[rej]['accepted accuracy']:.3f} | {unk} |")
    lines += ["", "| class set | per-class accuracy (no rejection) |", "|---|---|"]
    for label, res in att.items():
        lines.append(f"| {label} | " + ", ".join(
            f"{c} {v:.3f}" for c, v in res["per_class_accuracy"].items()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/work/runs/zoo"))
    parser.add_argument("--det-steps", type=int, default=1400,
                        help="CNN detector steps (1,400 took 60 s on a shared core)")
    parser.add_argument("--det-seconds", type=float, default=None,
                        help="train the CNN detector for this wall-clock budget instead")
    parser.add_argument("--att-steps", type=int, default=3000, help="attributor steps")
    parser.add_argument("--att-kinds", nargs="+", default=["linear", "cnn"],
                        help="attributor kinds to measure")
    parser.add_argument("--att-train", type=int, default=1500,
                        help="samples per class the attributor trains on (the zoo must hold "
                             "this + 500: provenance_zoo.py --samples)")
    parser.add_argument("--kinds", nargs="+", default=["cnn", "spectral"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-on", nargs="+", default=["dcgan-s0"],
                        help="zoo members the detectors see (1,000 images in all)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--skip-attribution", action="store_true")
    parser.add_argument("--skip-detection", action="store_true")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    steps = None if args.det_seconds else args.det_steps
    det = {} if args.skip_detection else detection(args.root, steps, args.kinds, args.seed,
                                                   args.train_on, args.det_seconds or 60.0)
    att = {} if args.skip_attribution else attribution(args.root, args.att_steps, args.seed,
                                                             args.att_train,
                                                             tuple(args.att_kinds))
    print(_markdown(det, att))
    if args.json is not None:
        from genlab._atomic import atomic_write_bytes

        result = {"detection": det, "attribution": att, "goals": GOALS,
                  "command": " ".join(sys.argv)}
        atomic_write_bytes(args.json, json.dumps(result, indent=1).encode())
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
