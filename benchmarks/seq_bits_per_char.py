"""Held-out bits per character: the character RNN LM vs Markov chains of order 1–8.

Same split of CPython's documentation topics (genlab.seq.corpus: by sha256 of the topic key),
same alphabet (training characters + an unknown symbol), exact log-likelihoods on both sides
(the RNN from begin-of-text, the chains' first characters from their lower orders). Markov:
interpolated Kneser–Ney (discounts from the counts) and add-alpha (alpha picked on the
validation split), orders 1–8 (orders above 5 matter: on this text Kneser–Ney keeps improving up
to order 8, the highest whose 9-gram codes fit int64 with 103 symbols); the best order is the
one best on validation. RNN: genlab's default
LMTrainConfig trained for `--minutes` of wall clock with `--threads` threads (lr decays linearly
over the whole budget), scored at the end of training. One thread by default: on this
2-core machine, shared with other jobs, two threads ran a GRU-512 step 1.8× faster when the
machine was idle but ~3× slower than one thread while another process held a core.

Quick smoke run:  python benchmarks/seq_bits_per_char.py --minutes 0.3
Full run:         python benchmarks/seq_bits_per_char.py            (≈ 10 min + ~1 min)
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch

from genlab.seq.compare import lm_lines, markov_bits_per_char, markov_lines
from genlab.seq.corpus import Alphabet, corpus_split
from genlab.seq.train import LMTrainConfig, bits_per_char, load_lm, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="RNN training budget.")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: see the module docstring).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dropout", type=float, default=LMTrainConfig.dropout)
    parser.add_argument("--max-order", type=int, default=8,
                        help="Markov orders 1..N (8 is the most whose codes fit int64 here).")
    parser.add_argument("--out", type=Path, default=None, help="Run folder (default: temp).")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    alphabet = Alphabet.from_text(corpus_split("train"))
    sizes = {s: len(corpus_split(s)) for s in ("train", "validation", "test")}
    markov = markov_bits_per_char(tuple(range(1, args.max_order + 1)), alphabet=alphabet)
    markov_seconds = time.perf_counter() - start

    out = args.out or Path(tempfile.mkdtemp(prefix="genlab-seq-bench-"))
    if args.out is not None and out.exists():
        shutil.rmtree(out)
    config = LMTrainConfig(out=str(out), minutes=args.minutes, threads=args.threads,
                           seed=args.seed, dropout=args.dropout, progress=False)
    t0 = time.perf_counter()
    train(config)
    train_seconds = time.perf_counter() - t0
    model, lm_alphabet, _ = load_lm(out)
    assert lm_alphabet == alphabet
    summary = json.loads((out / "summary.json").read_text())
    lm_row = {"model": f"RNN {config.cell.upper()}-{config.hidden_size} "
                       f"({summary['steps']} steps, {summary['epochs']:.1f} epochs, "
                       f"{summary['seconds_trained'] / 60:.1f} min)",
              "smoothing": "—",
              "validation_bits_per_char": summary["validation_bits_per_char"],
              "test_bits_per_char": bits_per_char(model, alphabet.encode(corpus_split("test")))}

    best = {s: min((r for r in markov if r["smoothing"] == s),
                   key=lambda r: r["validation_bits_per_char"])
            for s in ("kneser-ney", "add-alpha")}
    print(f"Corpus: pydoc_data.topics, characters train/validation/test = "
          f"{sizes['train']}/{sizes['validation']}/{sizes['test']}, alphabet {alphabet.size}")
    print(f"RNN: {config.cell} hidden {config.hidden_size}, embed {config.embed_dim}, dropout "
          f"{config.dropout}, BPTT {config.seq_len} x batch {config.batch_size}, Adam lr "
          f"{config.lr}, {args.threads} threads, {train_seconds:.0f} s wall\n")
    print("| model | smoothing | validation bits/char | test bits/char |")
    print("|---|---|---|---|")
    for row in [lm_row, *markov]:
        alpha = f" (alpha {row['alpha']:g})" if row.get("alpha") is not None else ""
        print(f"| {row['model']} | {row['smoothing']}{alpha} | "
              f"{row['validation_bits_per_char']:.3f} | {row['test_bits_per_char']:.3f} |")
    kn = best["kneser-ney"]
    gap = kn["test_bits_per_char"] - lm_row["test_bits_per_char"]
    print(f"\nBest Markov order on validation: {kn['order']} (Kneser–Ney), test "
          f"{kn['test_bits_per_char']:.3f}; add-alpha best order {best['add-alpha']['order']}, "
          f"test {best['add-alpha']['test_bits_per_char']:.3f}.")
    verdict = (f"beats the best Markov chain by {gap:.3f}" if gap > 0 else
               f"does NOT beat the best Markov chain ({-gap:.3f} worse)")
    print(f"RNN test {lm_row['test_bits_per_char']:.3f} bits/char: {verdict}.")
    print("\nRNN samples (temperature 0.8):")
    for line in lm_lines(out, n=5, seed=args.seed):
        print(f"  {line}")
    print("Markov order 3 (Kneser–Ney) samples:")
    for line in markov_lines(order=3, n=5, seed=args.seed):
        print(f"  {line}")
    print(f"\nTotal {time.perf_counter() - start:.0f} s (Markov table {markov_seconds:.0f} s).")


if __name__ == "__main__":
    main()
