"""The attack bench behind `genlab provenance bench`: mark images, attack them, decode, and
tabulate bit accuracy, true-positive rates at a false-positive rate of 1e-6, and PSNR.

Two detection rules are scored. The keyed detector's own decision (`Detection.detected`, a
p-value < 1e-6 from the key's header bits), and the known-message rule anyone can apply to a
decoder that only returns bits: declare "marked" when at least k of the 32 decoded bits equal
the expected message, with k the smallest count whose chance under random bits,
P(Binomial(32, ½) ≥ k), is ≤ 1e-6 (k = 30). The images are random crops of the photographs
scikit-image and scikit-learn ship (read from their package folders, never downloaded) and real
28×28 MNIST digits.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genlab.provenance.attacks import ATTACKS, Attack, psnr

__all__ = [
    "DEFAULT_PER_SIZE",
    "DEFAULT_SIZES",
    "FPR",
    "PHOTOS",
    "attack_table",
    "bench_images",
    "bench_tables",
    "format_table",
    "known_message_threshold",
]

FPR = 1e-6
DEFAULT_SIZES = (64, 128, 256, 512)
DEFAULT_PER_SIZE = 2

# (package, file): the photographs shipped inside scikit-image's and scikit-learn's wheels;
# scikit-image's binary `horse` and synthetic test patterns are left out
PHOTOS: tuple[tuple[str, str], ...] = (
    ("skimage", "astronaut.png"), ("skimage", "camera.png"), ("skimage", "coffee.png"),
    ("skimage", "chelsea.png"), ("skimage", "rocket.jpg"), ("skimage", "brick.png"),
    ("skimage", "grass.png"), ("skimage", "gravel.png"), ("skimage", "moon.png"),
    ("skimage", "page.png"), ("skimage", "text.png"), ("skimage", "coins.png"),
    ("skimage", "hubble_deep_field.jpg"), ("skimage", "ihc.png"),
    ("skimage", "motorcycle_left.png"), ("skimage", "retina.jpg"),
    ("sklearn", "china.jpg"), ("sklearn", "flower.jpg"),
)

Embed = Callable[[np.ndarray, str, Any], np.ndarray]
Decode = Callable[[np.ndarray, str], Any]


def known_message_threshold(n_bits: int = 32, fpr: float = FPR) -> int:
    """The fewest right bits k with P(Binomial(n_bits, ½) ≥ k) ≤ fpr (30 for 32 bits, 1e-6)."""
    if n_bits < 1:
        raise ValueError(f"n_bits must be >= 1, got {n_bits}")
    if not 0 < fpr < 1:
        raise ValueError(f"fpr must be in (0, 1), got {fpr}")
    tail = 0  # count of bit strings with >= k right, exact in integers
    for k in range(n_bits, -1, -1):
        tail += math.comb(n_bits, k)
        if tail > fpr * 2 ** n_bits:
            return k + 1
    return 0


def _bits(value: Any, n: int, who: str) -> np.ndarray:
    """Decoded bits (a '0'/'1' string or a 0/1 array) as an int array of length n."""
    if isinstance(value, str):
        if set(value) - {"0", "1"}:
            raise ValueError(f"{who} returned bits that are not a 0/1 string: {value!r}")
        arr = np.array([int(c) for c in value], dtype=np.int64)
    else:
        arr = np.asarray(value).astype(np.int64).ravel()
    if arr.size != n:
        raise ValueError(f"{who} returned {arr.size} bits, expected {n}")
    return arr


def _default_scheme() -> tuple[Embed, Decode, Callable[[Any], np.ndarray]]:
    from genlab.provenance import watermark

    return (lambda img, key, message: watermark.embed(img, key, message),
            lambda img, key: watermark.detect(img, key), watermark.payload_bits)


def _attack_map(attacks: Sequence[str] | Mapping[str, Attack] | None) -> dict[str, Attack]:
    if attacks is None:
        return dict(ATTACKS)
    if isinstance(attacks, Mapping):
        if "unmarked" in attacks:
            raise ValueError("'unmarked' names the row of unmarked images; rename that attack")
        return dict(attacks)
    unknown = [a for a in attacks if a not in ATTACKS]
    if unknown:
        raise ValueError(f"unknown attacks {unknown}; known: {', '.join(ATTACKS)}")
    return {a: ATTACKS[a] for a in attacks}


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def attack_table(images: Sequence[np.ndarray], key: str, message: Any,
                 attacks: Sequence[str] | Mapping[str, Attack] | None = None,
                 embed: Embed | None = None, decode: Decode | None = None,
                 expected: np.ndarray | None = None, fpr: float = FPR,
                 unmarked: bool = False, keyed: bool | None = None) -> list[dict[str, Any]]:
    """One row per attack: each image is marked once, attacked, and decoded.

    `embed(img, key, message)` and `decode(img, key)` default to genlab's watermark; `decode`
    returns an object with `.bits` (0/1 string or array) and, for a keyed detector,
    `.detected`. `expected` is the bits a perfect decode gives (default: the watermark's
    `payload_bits(message)`). A decode that raises ValueError (an image its method refuses,
    e.g. too small after a crop) counts as a miss and as `refused`; `bit_accuracy` is the mean
    over the images that decoded (None if none did). With `unmarked`, a first row decodes the
    original images: its detection columns are false-positive rates. `keyed`: whether `decode`
    is a keyed detector whose `.detected` is scored (None: yes if any result had one).

    Row keys: attack, images, refused, bit_accuracy, tpr_keyed (None when `decode` gives no
    `.detected`), tpr_known_message, psnr_db (marked vs original, mean over images),
    attack_psnr_db (attacked vs marked; None when the attack changes the size), embed_ms,
    decode_ms (mean per image).
    """
    if not images:
        raise ValueError("images is empty")
    if not isinstance(key, str) or not key:
        raise ValueError("key must be a non-empty string")
    table = _attack_map(attacks)
    if keyed is None and decode is None:
        keyed = True  # genlab's detector
    seen_flag = False
    if embed is None or decode is None or expected is None:
        d_embed, d_decode, d_payload = _default_scheme()
        embed, decode = embed or d_embed, decode or d_decode
        if expected is None:
            expected = d_payload(message)
    want = np.asarray(expected).astype(np.int64).ravel()
    if want.size == 0 or not np.isin(want, (0, 1)).all():
        raise ValueError(f"expected must be a non-empty array of 0/1 bits, got {expected!r}")
    threshold = known_message_threshold(want.size, fpr)

    originals = [np.asarray(img) for img in images]
    marked, psnrs = [], []
    start = time.perf_counter()
    for img in originals:
        out = np.asarray(embed(img, key, message))
        if out.shape != img.shape or out.dtype != np.uint8:
            raise ValueError(f"embed returned {out.dtype} {out.shape} for {img.dtype} {img.shape}")
        marked.append(out)
        psnrs.append(psnr(out, img))
    embed_ms = 1000 * (time.perf_counter() - start) / len(originals)
    psnr_db = float(np.mean(psnrs))

    runs: list[tuple[str, list[np.ndarray]]] = []
    if unmarked:
        runs.append(("unmarked", originals))
    runs += [(name, marked) for name in table]
    rows, flags = [], []
    for name, sources in runs:
        attack = ATTACKS["none"] if name == "unmarked" else table[name]
        accuracy, detected, known, moved = [], [], [], []
        refused = 0
        elapsed = 0.0
        for img in sources:
            attacked = attack(img)
            if attacked.shape == img.shape:
                moved.append(psnr(attacked, img))
            start = time.perf_counter()
            try:
                result = decode(attacked, key)
            except ValueError:
                refused += 1
                detected.append(False)
                known.append(False)
                continue
            finally:
                elapsed += time.perf_counter() - start
            got = _bits(result.bits, want.size, "decode")
            right = int((got == want).sum())
            accuracy.append(right / want.size)
            known.append(right >= threshold)
            flag = getattr(result, "detected", None)
            if flag is not None:
                seen_flag = True
            detected.append(bool(flag))
        flags.append(detected)
        rows.append({
            "attack": name,
            "images": len(sources),
            "refused": refused,
            "bit_accuracy": _mean(accuracy),
            "tpr_keyed": None,
            "tpr_known_message": float(np.mean(known)),
            "psnr_db": psnr_db if name != "unmarked" else None,
            "attack_psnr_db": _mean(moved) if len(moved) == len(sources) else None,
            "embed_ms": embed_ms,
            "decode_ms": 1000 * elapsed / len(sources),
        })
    if keyed is None:
        keyed = seen_flag
    if keyed:
        for row, detected in zip(rows, flags, strict=True):
            row["tpr_keyed"] = float(np.mean(detected))
    return rows


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows of `attack_table` as a markdown table."""
    head = ("| attack | bit accuracy | TPR keyed | TPR known msg | PSNR marked (dB) | "
            "PSNR attack (dB) | refused | decode ms |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        accuracy = ("fails (refuses)" if r["refused"] == r["images"]
                    else _cell(r["bit_accuracy"], 3))
        lines.append(
            f"| {r['attack']} | {accuracy} | {_cell(r['tpr_keyed'], 2)} | "
            f"{_cell(r['tpr_known_message'], 2)} | {_cell(r['psnr_db'], 1)} | "
            f"{_cell(r['attack_psnr_db'], 1)} | {r['refused']}/{r['images']} | "
            f"{_cell(r['decode_ms'], 1)} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# images


def _package_dir(package: str) -> Path | None:
    """Where a package's shipped images lie, found without importing it (sklearn takes ~2 s)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "data" if package == "skimage" else root / "datasets" / "images"


@functools.lru_cache(maxsize=1)
def _photos() -> tuple[tuple[str, np.ndarray], ...]:
    """The shipped photographs that are on disk, as uint8 grey (H, W) or RGB (H, W, 3)."""
    from genlab.provenance.images import read_image

    found = []
    for package, name in PHOTOS:
        folder = _package_dir(package)
        path = folder / name if folder is not None else None
        if path is None or not path.is_file():
            continue
        pixels = read_image(path)
        pixels.setflags(write=False)
        found.append((name.split(".")[0], pixels))
    return tuple(found)


def _mnist_digits(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """n real 28×28 MNIST digits (uint8), drawn without replacement."""
    from genlab.gan.data import _mnist_raw

    digits, _ = _mnist_raw()
    picks = rng.choice(len(digits), size=n, replace=False)
    return [np.clip(np.rint(digits[i, 0]), 0, 255).astype(np.uint8) for i in picks]


def bench_images(sizes: Sequence[int] = DEFAULT_SIZES, per_size: int = DEFAULT_PER_SIZE,
                 seed: int = 0, colour: bool | None = None, mnist: bool = True
                 ) -> dict[str, list[np.ndarray]]:
    """Deterministic square crops of the shipped photographs, `per_size` of each size, keyed by
    the size as text ("64", ...), plus "mnist": `per_size` real 28×28 digits.

    Crops cycle through a shuffled list of the photographs large enough for the size (so a set
    mixes sources), at uniform positions. `colour`: True keeps colour photographs only, False
    grey only, None both.
    """
    if per_size < 1:
        raise ValueError(f"per_size must be >= 1, got {per_size}")
    out: dict[str, list[np.ndarray]] = {}
    for size in sizes:
        if int(size) != size or size < 1:
            raise ValueError(f"sizes must be positive integers, got {size!r}")
        size = int(size)
        pool = [px for _, px in _photos() if min(px.shape[:2]) >= size
                and (colour is None or (px.ndim == 3) == colour)]
        if not pool:
            raise ValueError(f"no shipped photograph is {size} px or larger"
                             + ("" if colour is None else f" in {'colour' if colour else 'grey'}"))
        rng = np.random.default_rng([seed, size])
        order = rng.permutation(len(pool))
        crops = []
        for i in range(per_size):
            px = pool[order[i % len(pool)]]
            top = int(rng.integers(0, px.shape[0] - size + 1))
            left = int(rng.integers(0, px.shape[1] - size + 1))
            crops.append(px[top:top + size, left:left + size].copy())
        out[str(size)] = crops
    if mnist:
        out["mnist"] = _mnist_digits(per_size, np.random.default_rng([seed, 28]))
    return out


def bench_tables(key: str = "genlab-bench", message: Any = "gl14",
                 sizes: Sequence[int] = DEFAULT_SIZES, per_size: int = DEFAULT_PER_SIZE,
                 seed: int = 0, attacks: Sequence[str] | None = None,
                 unmarked: bool = True) -> dict[str, list[dict[str, Any]]]:
    """genlab's watermark on `bench_images(sizes, per_size, seed)`: one `attack_table` per set."""
    sets = bench_images(sizes, per_size, seed)
    return {name: attack_table(images, key, message, attacks=attacks, unmarked=unmarked)
            for name, images in sets.items()}
