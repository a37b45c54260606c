"""genlab's keyed watermark vs invisible-watermark's dwtDct, dwtDctSvd and rivaGan (the
watermark Stable Diffusion's reference scripts ship), under every attack of
`genlab.provenance.attacks.ATTACKS`.

Every method writes the same 32-bit message (b"gl14") into the same images: colour crops of the
photographs scikit-image / scikit-learn ship at each `--sizes` (64, 128, 256, 512 px), grey
crops at `--grey-sizes` (256), and real 28×28 MNIST digits. Per attack: bit accuracy (mean over
images), TPR at FPR 1e-6 by the known-message rule (≥ 30 of 32 bits right, for every method)
and, for genlab, by its keyed detector (p < 1e-6 from the key's header), and the marked image's
PSNR against the original. A first row, "unmarked", decodes the original images: its TPR
columns are false-positive rates.

invisible-watermark refuses images under 256×256 px, at embedding and at decoding (a crop of a
256 px image is refused): those cells read "fails (refuses < 256 px)" and count as misses. The
peers take BGR uint8 (OpenCV order) and mark the U chroma channel; a grey image is handed to
them as three equal channels and their output is taken back to grey (BT.601 luma), as a grey
file would store it, before attacking and decoding. rivaGan takes exactly 32 bits and runs its
packaged ONNX models on onnxruntime (nothing downloaded).

Reproduce (9 min on a shared 2-core machine at --per-size 6; rivaGan takes 80% of it):
    pip install torch==2.13.0 && pip install -e '.[bench]'
    python benchmarks/watermark_vs_peers.py --per-size 6 --json runs/watermark_vs_peers.json
`--full` runs 25 images per size.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _one_thread  # noqa: F401  (pins BLAS to one thread before numpy loads)

# isort: split
import argparse
import json
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from genlab.provenance import watermark
from genlab.provenance.attacks import ATTACKS
from genlab.provenance.bench import attack_table, bench_images

MESSAGE = b"gl14"
KEY = "watermark-vs-peers"
PEERS = ("dwtDct", "dwtDctSvd", "rivaGan")
REFUSED = "fails (refuses < 256 px)"


def _refused(method: str) -> str:
    """The cell of an image set a method will not take."""
    return f"fails (refuses < {watermark.MIN_SIZE} px)" if method == "genlab" else REFUSED


class Refused(Exception):
    """invisible-watermark would not take the image (under 256×256 px)."""


class _Bits:
    """A bits-only decoder result: the known-message rule is the only detector."""

    def __init__(self, bits: np.ndarray) -> None:
        self.bits = bits


def _to_bgr(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., ::-1].copy()


def _from_bgr(bgr: np.ndarray, grey: bool) -> np.ndarray:
    import cv2

    if grey:
        return cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(bgr[..., ::-1])


def peer(method: str) -> tuple[Callable[..., np.ndarray], Callable[..., Any]]:
    """(embed, decode) of one invisible-watermark method in attack_table's calling convention."""
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    if method == "rivaGan":
        WatermarkEncoder.loadModel()

    def embed(img: np.ndarray, key: str, message: bytes) -> np.ndarray:
        encoder = WatermarkEncoder()
        encoder.set_watermark("bytes", message)
        try:
            out = encoder.encode(_to_bgr(img), method)
        except RuntimeError as err:
            raise Refused(str(err)) from err
        return _from_bgr(out, img.ndim == 2)

    def decode(img: np.ndarray, key: str) -> _Bits:
        decoder = WatermarkDecoder("bytes", 32)
        try:
            raw = decoder.decode(_to_bgr(img), method)
        except RuntimeError as err:  # "image too small": a miss, counted as refused
            raise ValueError(str(err)) from err
        return _Bits(np.unpackbits(np.frombuffer(raw, dtype=np.uint8)))

    return embed, decode


def run_method(method: str, images: list[np.ndarray]) -> dict[str, Any]:
    """attack_table of one method on one image set; a refused embedding fails every row."""
    start = time.perf_counter()
    expected = np.unpackbits(np.frombuffer(MESSAGE, dtype=np.uint8))
    if method == "genlab":
        assert np.array_equal(watermark.payload_bits(MESSAGE), expected)
        rows = attack_table(images, KEY, MESSAGE, unmarked=True)
    else:
        embed, decode = peer(method)
        try:
            rows = attack_table(images, KEY, MESSAGE, embed=embed, decode=decode,
                                expected=expected, unmarked=True, keyed=False)
        except Refused:
            return {"refused": True, "rows": [], "seconds": time.perf_counter() - start}
    return {"refused": False, "rows": rows, "seconds": time.perf_counter() - start}


# ------------------------------------------------------------------------------------------
# reporting


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "–"
    return "∞" if math.isinf(value) else f"{value:.{digits}f}"


def _cells(result: dict[str, Any], attack: str, method: str) -> list[str]:
    keyed = method == "genlab"
    n = 3 if keyed else 2
    if result["refused"]:
        return [_refused(method)] + [""] * (n - 1)
    row = next(r for r in result["rows"] if r["attack"] == attack)
    if row["refused"] == row["images"]:
        return [_refused(method)] + [""] * (n - 1)
    acc = _fmt(row["bit_accuracy"], 3)
    if row["refused"]:
        acc += f" ({row['refused']}/{row['images']} refused)"
    out = [acc, _fmt(row["tpr_known_message"], 2)]
    if keyed:
        out.append(_fmt(row["tpr_keyed"], 2))
    return out


def table(name: str, results: dict[str, dict[str, Any]]) -> str:
    """Methods side by side: bit accuracy and TPR at FPR 1e-6 per attack, then PSNR and time."""
    methods = list(results)
    head = ["attack"]
    for m in methods:
        head += [f"{m} bits", f"{m} TPR msg"] + ([f"{m} TPR key"] if m == "genlab" else [])
    lines = [f"### {name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for attack in ["unmarked", *ATTACKS]:
        cells = [attack]
        for m in methods:
            cells += _cells(results[m], attack, m)
        lines.append("| " + " | ".join(cells) + " |")
    for label, key, digits in (("PSNR marked (dB)", "psnr_db", 1),
                               ("embed ms / image", "embed_ms", 0)):
        cells = [f"**{label}**"]
        for m in methods:
            r = results[m]
            value = _refused(m) if r["refused"] else _fmt(r["rows"][1][key], digits)
            cells += [value, ""] + ([""] if m == "genlab" else [])
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**decode ms / image (mean)**"]
    for m in methods:
        r = results[m]
        value = _refused(m) if r["refused"] else _fmt(
            float(np.mean([row["decode_ms"] for row in r["rows"]])), 0)
        cells += [value, ""] + ([""] if m == "genlab" else [])
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _row(result: dict[str, Any], attack: str) -> dict[str, Any] | None:
    if result["refused"]:
        return None
    return next(r for r in result["rows"] if r["attack"] == attack)


def _survives(row: dict[str, Any] | None, keyed: bool) -> float:
    """TPR (0 for a refused image or set): the keyed detector's for genlab."""
    if row is None:
        return 0.0
    return row["tpr_keyed"] if keyed else row["tpr_known_message"]


def summary(sets: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """One line per goal, with the cells that miss it."""
    lines = []
    misses = []
    for name, results in sets.items():
        if "dwtDctSvd" not in results:
            continue
        for attack in ATTACKS:
            g, p = _row(results["genlab"], attack), _row(results["dwtDctSvd"], attack)
            if g is None or p is None or g["bit_accuracy"] is None or p["bit_accuracy"] is None:
                continue
            if g["bit_accuracy"] < p["bit_accuracy"]:
                misses.append(f"{name}/{attack} {g['bit_accuracy']:.3f} < {p['bit_accuracy']:.3f}")
    lines.append("genlab ≥ dwtDctSvd bit accuracy on every attack where both run: "
                 + ("yes" if not misses else f"NO ({len(misses)}: {'; '.join(misses)})"))

    misses = []
    for name, results in sets.items():
        for attack in ("jpeg75", "resize0.5"):
            g = _row(results["genlab"], attack)
            acc = None if g is None else g["bit_accuracy"]
            if acc is None or acc <= 0.95:
                misses.append(f"{name}/{attack} {_fmt(acc, 3)}")
    lines.append("genlab bit accuracy > 0.95 after jpeg75 and resize0.5: "
                 + ("yes" if not misses else f"NO ({'; '.join(misses)})"))

    cases, wins = [], 0
    for name, results in sets.items():
        peers = [m for m in ("dwtDct", "dwtDctSvd") if m in results]
        for attack in ("crop10", "crop25", "crop10+jpeg75"):
            g = _survives(_row(results["genlab"], attack), keyed=True)
            p = {m: _survives(_row(results[m], attack), keyed=False) for m in peers}
            if peers and all(v <= 0.1 for v in p.values()):
                wins += g >= 0.9
                cases.append(f"{name}/{attack} genlab TPR {g:.2f}")
    lines.append(f"genlab survives (TPR ≥ 0.9) crops where dwtDct and dwtDctSvd fail (TPR ≤ 0.1): "
                 f"{wins} of {len(cases)} ({'; '.join(cases)})")

    if "64 px colour" in sets:
        g = sets["64 px colour"]["genlab"]
        rows = [r for r in g["rows"] if r["attack"] != "unmarked"]
        keyed = sum((r["tpr_keyed"] or 0) >= 0.9 for r in rows)
        bits = sum((r["bit_accuracy"] or 0) >= 0.95 for r in rows)
        bad = [f"{r['attack']} {_fmt(r['bit_accuracy'], 2)}/{r['tpr_keyed']:.2f}" for r in rows
               if (r["tpr_keyed"] or 0) < 0.9]
        lines.append(f"works at 64×64 (peers refuse): keyed TPR ≥ 0.9 on {keyed} of {len(rows)} "
                     f"attacks, bit accuracy ≥ 0.95 on {bits}; below (bits/TPR): "
                     f"{', '.join(bad) or 'none'}")
    fp = [f"{name}/{m} {r['tpr_keyed'] if m == 'genlab' else r['tpr_known_message']:.2f}"
          for name, results in sets.items() for m, res in results.items()
          if (r := _row(res, "unmarked")) is not None
          and ((r["tpr_keyed"] or 0) > 0 or r["tpr_known_message"] > 0)]
    lines.append("false positives on unmarked images: " + ("none" if not fp else "; ".join(fp)))
    return lines


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    return x


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-size", type=int, default=10, help="images per set (10)")
    parser.add_argument("--full", action="store_true", help="25 images per set")
    parser.add_argument("--sizes", default="64,128,256,512", help="colour crop sizes, px")
    parser.add_argument("--grey-sizes", default="256", help="grey crop sizes, px ('' for none)")
    parser.add_argument("--no-mnist", action="store_true", help="skip the 28 px MNIST digits")
    parser.add_argument("--methods", default="genlab," + ",".join(PEERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every row here")
    args = parser.parse_args(argv)
    per_size = 25 if args.full else args.per_size
    sizes = [int(s) for s in args.sizes.split(",") if s]
    grey_sizes = [int(s) for s in args.grey_sizes.split(",") if s]
    methods = [m for m in args.methods.split(",") if m]
    if "genlab" not in methods:
        parser.error("--methods must include genlab")
    if unknown := set(methods) - {"genlab", *PEERS}:
        parser.error(f"unknown methods {sorted(unknown)}")

    image_sets: dict[str, list[np.ndarray]] = {}
    for size, images in bench_images(sizes, per_size, args.seed, colour=True,
                                     mnist=False).items():
        image_sets[f"{size} px colour"] = images
    for size, images in bench_images(grey_sizes, per_size, args.seed, colour=False,
                                     mnist=False).items():
        image_sets[f"{size} px grey"] = images
    if not args.no_mnist:
        image_sets["MNIST 28 px grey"] = bench_images((), per_size, args.seed)["mnist"]

    start = time.perf_counter()
    sets: dict[str, dict[str, dict[str, Any]]] = {}
    for name, images in image_sets.items():
        sets[name] = {m: run_method(m, images) for m in methods}
        print(table(f"{name} ({len(images)} images)", sets[name]), "\n", flush=True)
    lines = summary(sets)
    print("### summary\n")
    for line in lines:
        print("-", line)
    seconds = {m: round(sum(s[m]["seconds"] for s in sets.values()), 1) for m in methods}
    print(f"\nseconds per method (all sets): {seconds}; total "
          f"{time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_jsonable({
            "message": MESSAGE.decode(), "per_size": per_size, "seed": args.seed,
            "sets": sets, "summary": lines, "seconds": seconds}), indent=1))


if __name__ == "__main__":
    main()
