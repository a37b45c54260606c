"""Does the image say what the text says? Measured without the generator's own encoder.

- shapes: every (size, colour, shape, position) combination's canonical caption is sampled and
  the attributes are read back from the pixels by a non-learned extractor (`read_shapes`);
  accuracy per attribute and all-at-once, seen vs held-out (colour, shape) pairs.
- mnist-captions: the LeNet judge reads the digit; stroke thickness and slant are measured
  on the image and cut by the real digits' terciles; FID/KID on LeNet features.
- both: R-precision (the true caption ranked first among it and 99 other combinations' by a
  dual encoder trained separately, on every combination, with another seed) and a diversity
  ratio (mean pairwise distance of samples for one caption / of real images of that
  combination). The same numbers for real images are the reference row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.gan.metrics import fid, kid
from genlab.gan.text.captioned import CaptionedData, attribute_accuracy
from genlab.gan.text.encoder import DualEncoder, EncoderConfig, load_or_train_encoder
from genlab.gan.text.model import TextModel, load_text_model
from genlab.gan.text.training import captioned_data

__all__ = ["JUDGE", "TextEvalReport", "combinations", "evaluate_text", "r_precision"]

# the evaluator's dual encoder: another seed and twice the steps of the generator's, and
# trained on every combination (it is a judge, not a generator)
JUDGE = EncoderConfig(seed=9_973, steps=300)
DISTRACTORS = 99  # R-precision: the true caption against 99 captions of other combinations


@dataclass
class TextEvalReport:
    """Scores per group ("seen", "held-out", "all") of generated and real images."""

    data: str
    run: str
    per_caption: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    picture: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {"data": self.data, "run": self.run, "per_caption": self.per_caption,
                "rows": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                          for k, v in r.items()} for r in self.rows],
                "picture": None if self.picture is None else str(self.picture)}

    def row(self, source: str, group: str) -> dict[str, Any]:
        """The row of `source` ("genlab" or "real") and `group`."""
        for r in self.rows:
            if r["source"] == source and r["group"] == group:
                return r
        raise KeyError(f"no row for {source} / {group}")


def combinations(data: CaptionedData) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Per distinct attribute combination, in a fixed order: (values (K, A), canonical
    captions, held-out flags), and each image's combination (N,)."""
    values, first, combo_of = np.unique(data.values, axis=0, return_index=True,
                                        return_inverse=True)
    return (values, [data.canonical(int(i)) for i in first], data.held_out[first],
            combo_of.reshape(-1))


def r_precision(judge: DualEncoder, images: torch.Tensor, truth: np.ndarray,
                captions: list[str], seed: int = 0) -> float:
    """Share of images whose own caption (index into `captions`) the judge ranks above
    `DISTRACTORS` random captions of other combinations (R = 1, as in AttnGAN)."""
    text = judge.embed_text(captions)
    scores = (judge.embed_images(images) @ text.T).numpy()  # (N, K)
    rng = np.random.default_rng(seed)
    k = len(captions)
    others = min(DISTRACTORS, k - 1)
    wins = 0
    for i, c in enumerate(truth):
        pool = np.delete(np.arange(k), c)
        picked = rng.choice(pool, others, replace=False)
        wins += bool(scores[i, c] > scores[i, picked].max())
    return wins / len(truth)


def _diversity(images: torch.Tensor, real: torch.Tensor, groups: np.ndarray,
               real_groups: np.ndarray) -> float:
    """Mean over captions of (mean pairwise distance of its samples) / (same of real images of
    its combination): near 1 is as varied as the data, near 0 is one image per caption."""
    ratios = []
    for g in np.unique(groups):
        fake, truth = images[groups == g].flatten(1), real[real_groups == g].flatten(1)
        if len(fake) < 2 or len(truth) < 2:
            continue
        d_real = torch.pdist(truth.float()).mean()
        if float(d_real) > 0:
            ratios.append(float(torch.pdist(fake.float()).mean() / d_real))
    return float(np.mean(ratios)) if ratios else float("nan")


def _real_per_combo(data: CaptionedData, combo_of: np.ndarray, k: int, seed: int
                    ) -> np.ndarray:
    """Row indices of up to k real images of each combination (for the reference rows)."""
    rng = np.random.default_rng(seed)
    rows = [rng.permutation(np.flatnonzero(combo_of == c))[:k] for c in range(combo_of.max() + 1)]
    return np.concatenate(rows)


def evaluate_text(run: Path, per_caption: int = 5, seed: int = 0, picture: Path | None = None,
                  cache_dir: Path | None = None, progress: bool = False,
                  with_judge: bool = True) -> TextEvalReport:
    """The read-back, R-precision and diversity table of a text-to-image run (without the
    judge: no R-precision, which saves training the judge once, ~1 minute on 2 cores)."""
    model = load_text_model(run)
    name = str(model.config["data"])
    data = captioned_data(name, "all")
    values, captions, held, combo_of = combinations(data)
    images = model.sample(captions, per_caption, seed=seed)  # caption-major
    combo = np.repeat(np.arange(len(captions)), per_caption)
    real_rows = _real_per_combo(data, combo_of, max(per_caption, 2), seed)
    real, real_combo = data.x[real_rows], combo_of[real_rows]
    judge_model = load_or_train_encoder(data, JUDGE, cache_dir=cache_dir,
                                        progress=progress) if with_judge else None
    report = TextEvalReport(name, str(run), per_caption)
    reader = _shapes_reader() if name == "shapes" else _digits_reader(cache_dir)
    groups = {"seen": ~held, "held-out": held} if held.any() else {"all": ~held}
    for source, imgs, of in (("genlab", images, combo), ("real", real, real_combo)):
        scores = reader(imgs, values[of])
        for group, members in groups.items():
            keep = members[of]
            row: dict[str, Any] = {"source": source, "group": group, "images": int(keep.sum())}
            row.update(attribute_accuracy(scores[keep], values[of][keep],
                                          data.attributes))
            if judge_model is not None:
                row["R-precision"] = r_precision(judge_model, imgs[torch.from_numpy(keep)],
                                                 of[keep], captions, seed)
            if source == "genlab":
                row["diversity"] = _diversity(imgs[torch.from_numpy(keep)], real, of[keep],
                                              real_combo)
            report.rows.append(row)
    if name == "mnist-captions":
        _add_fid(report, model, data, seed, cache_dir)
    if picture is not None:
        from genlab.gan.text.plot import save_caption_grid

        shown = picture_rows(held)
        grid = images.reshape(len(captions), per_caption, *images.shape[1:])[shown]
        report.picture = save_caption_grid(grid, [captions[i] for i in shown], picture,
                                           ["held out" if held[i] else "" for i in shown])
    return report


def picture_rows(held: np.ndarray, rows: int = 8, seed: int = 0) -> list[int]:
    """Combinations to draw, picked at random: up to half the rows held out, the rest seen."""
    rng = np.random.default_rng(seed)
    out = list(rng.permutation(np.flatnonzero(held))[:rows // 2])
    out += list(rng.permutation(np.flatnonzero(~held))[:rows - len(out)])
    return [int(i) for i in out]


def _shapes_reader() -> Any:
    """Pixels -> (N, 4) attribute indices by the non-learned extractor."""
    from genlab.gan.text.shapes import read_shapes

    def read(images: torch.Tensor, truth: np.ndarray) -> np.ndarray:
        del truth
        return read_shapes(images)

    return read


def _digits_reader(cache_dir: Path | None) -> Any:
    """Pixels -> (N, 3): the LeNet judge's digit, and thickness / slant measured on the image
    and cut by the real data's terciles of the digit the caption asked for."""
    from genlab.gan.classifier import ClassifierConfig, classify, load_or_train_classifier
    from genlab.gan.text.digits import read_digits_style

    lenet = load_or_train_classifier(ClassifierConfig(), cache_dir, progress=False).model

    def read(images: torch.Tensor, truth: np.ndarray) -> np.ndarray:
        digit = classify(lenet, images.float())[1].argmax(1)
        return np.column_stack([digit, read_digits_style(images, truth[:, 0])])

    return read


def _add_fid(report: TextEvalReport, model: TextModel, data: CaptionedData, seed: int,
             cache_dir: Path | None, n: int = 2000) -> None:
    """FID / KID on LeNet features: G's images for the captions of n random real digits."""
    from genlab.gan.classifier import ClassifierConfig, classify, load_or_train_classifier

    judge = load_or_train_classifier(ClassifierConfig(), cache_dir, progress=False)
    rows = np.random.default_rng(seed).permutation(len(data.x))[:n]
    fake = model.sample([data.canonical(int(i)) for i in rows], n=1, seed=seed + 1)
    features, _ = classify(judge.model, fake)
    kid_mean, _ = kid(judge.real_features, features, subset_size=min(1000, n))
    for row in report.rows:
        if row["source"] == "genlab":
            row["FID (LeNet)"] = fid(judge.real_features, features)
            row["KID (LeNet)"] = kid_mean
