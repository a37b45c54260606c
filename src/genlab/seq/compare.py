"""The RNN LM against Markov chains on the same split: bits per character, and sampled lines.

Markov baselines are `MarkovChain.fit` on the training split's codes (the LM's alphabet, so
both score exactly the same symbols): interpolated Kneser–Ney (discounts from the counts, no
tuning) and add-alpha with alpha chosen on the validation split from ALPHAS. The first
characters of a text are scored by the lower orders, the LM's first from begin-of-text.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from genlab.pgm.models.markov import MarkovChain
from genlab.seq.corpus import Alphabet, corpus_split

__all__ = [
    "ALPHAS",
    "fit_markov",
    "lm_lines",
    "markov_bits_per_char",
    "markov_lines",
    "text_lines",
]

ALPHAS = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)


def _bits(chain: MarkovChain, codes: np.ndarray) -> float:
    return -chain.log_likelihood(codes) / len(codes) / math.log(2)


def fit_markov(order: int, smoothing: str = "kneser-ney", alphabet: Alphabet | None = None,
               alpha: float | None = None) -> tuple[MarkovChain, Alphabet]:
    """A Markov chain of `order` fitted on the training split (alpha tuned on validation for
    add-alpha when not given), and the alphabet it uses."""
    train = corpus_split("train")
    alphabet = alphabet or Alphabet.from_text(train)
    chain = MarkovChain.fit([alphabet.encode(train)], order, states=alphabet.size,
                            smoothing=smoothing, alpha=1.0 if alpha is None else alpha)
    if smoothing == "add-alpha" and alpha is None:
        chain = _tuned(chain, alphabet.encode(corpus_split("validation")))[0]
    return chain, alphabet


def _tuned(chain: MarkovChain, valid: np.ndarray) -> tuple[MarkovChain, float]:
    """The add-alpha version of `chain` whose alpha (from ALPHAS) scores best on `valid`, and
    its validation bits per character."""
    scored = [(c, _bits(c, valid)) for c in (chain.smoothed("add-alpha", a) for a in ALPHAS)]
    return min(scored, key=lambda pair: pair[1])


def markov_bits_per_char(
    orders: tuple[int, ...] = (1, 2, 3, 4, 5),
    smoothings: tuple[str, ...] = ("kneser-ney", "add-alpha"),
    split: str = "test",
    alphabet: Alphabet | None = None,
) -> list[dict[str, Any]]:
    """Held-out bits per character of each (smoothing, order): rows with order, smoothing,
    alpha (add-alpha), validation and `split` bits per character. The text is counted once,
    at the highest order; lower orders are that chain cut down."""
    alphabet = alphabet or Alphabet.from_text(corpus_split("train"))
    valid = alphabet.encode(corpus_split("validation"))
    held = valid if split == "validation" else alphabet.encode(corpus_split(split))
    train = alphabet.encode(corpus_split("train"))
    counted = MarkovChain.fit([train], max(orders), states=alphabet.size,
                              smoothing="kneser-ney")
    rows = []
    for order in orders:
        cut = counted.smoothed(order=order)
        for smoothing in smoothings:
            if smoothing == "add-alpha":
                chain, valid_bits = _tuned(cut, valid)
            else:
                chain, valid_bits = cut, _bits(cut, valid)
            rows.append({"model": f"Markov order {order}", "order": order,
                         "smoothing": smoothing,
                         "alpha": chain.alpha if smoothing == "add-alpha" else None,
                         "validation_bits_per_char": valid_bits,
                         f"{split}_bits_per_char": valid_bits if held is valid
                         else _bits(chain, held)})
    return sorted(rows, key=lambda r: (smoothings.index(r["smoothing"]), r["order"]))


def text_lines(texts: list[str], width: int = 100, first: bool = False) -> list[str]:
    """One line per sampled text, stripped and cut to `width`: its longest line (a sample
    from begin-of-text starts with a short title), or its first non-blank one if `first`
    (a sample that continues a prompt)."""
    out = []
    for text in texts:
        lines = [piece.strip() for piece in text.split("\n") if piece.strip()] or [""]
        out.append((lines[0] if first else max(lines, key=len))[:width])
    return out


def markov_lines(order: int = 3, n: int = 5, seed: int = 0, length: int = 240) -> list[str]:
    """n lines sampled from the Kneser–Ney Markov chain of `order` fitted on the corpus."""
    chain, alphabet = fit_markov(order, "kneser-ney")
    return text_lines([alphabet.decode(row) for row in chain.sample(length, n=n, seed=seed)])


def lm_lines(run_dir: str | os.PathLike[str], seconds: float = 75.0, n: int = 5, seed: int = 0,
             temperature: float = 0.8, length: int = 240) -> list[str]:
    """n lines sampled from the LM in `run_dir`, first training a small one for `seconds`
    (GRU 256, one layer, batch 32 × 64) when the folder holds no checkpoint (the tour)."""
    from genlab.gan.checkpoint import list_checkpoints
    from genlab.seq.model import sample
    from genlab.seq.train import LMTrainConfig, load_lm, train

    run_dir = Path(run_dir)
    if not list_checkpoints(run_dir):
        train(LMTrainConfig(out=str(run_dir), hidden_size=256, dropout=0.1, batch_size=32,
                            seq_len=64, lr=5e-3, lr_decay=0.5, minutes=seconds / 60, seed=seed,
                            progress=False))
    model, alphabet, _ = load_lm(run_dir)
    codes = sample(model, length, n=n, temperature=temperature, seed=seed)
    return text_lines([alphabet.decode(row) for row in codes])
