"""The language-model part of `genlab tour`: the RNN as a directed model, its held-out bits per
character beside Markov chains', and lines sampled from both."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from genlab.tour import markdown_table

if TYPE_CHECKING:
    from genlab.tour import TourContext

__all__ = ["tour_section"]

SECONDS, FAST_SECONDS = 60.0, 4.0  # the LM's training budget (full tour, --fast)


def tour_section(ctx: TourContext) -> str:
    """Train a small GRU language model for a minute, score it exactly against Markov chains
    of orders 1–5 on held-out text, and sample five lines from each."""
    from genlab.seq.compare import lm_lines, markov_bits_per_char, markov_lines
    from genlab.seq.corpus import corpus_split
    from genlab.seq.plot import plot_directed_models
    from genlab.seq.train import bits_per_char, load_lm

    plot_directed_models(ctx.output("rnn_directed_model.png"))
    budget = FAST_SECONDS if ctx.fast else SECONDS
    t0 = time.perf_counter()
    lm = lm_lines(ctx.run_dir / "language_model", seconds=budget, seed=ctx.seed)
    seconds = time.perf_counter() - t0
    model, alphabet, _ = load_lm(ctx.run_dir / "language_model")
    validation = corpus_split("validation")
    if ctx.fast:
        validation = validation[:5000]
    rnn_bits = bits_per_char(model, alphabet.encode(validation))  # log_conditionals: no_grad
    markov = markov_bits_per_char(smoothings=("kneser-ney",), split="validation",
                                  alphabet=alphabet)
    rows = [[r["model"] + " (Kneser–Ney)", f"{r['validation_bits_per_char']:.3f}"]
            for r in markov]
    rows.append([f"GRU language model, {budget:.0f} s of training",
                 f"{rnn_bits:.3f}" + (" (first 5,000 characters)" if ctx.fast else "")])
    chain = markov_lines(order=3, seed=ctx.seed)
    lines = "\n".join(f"    {line}" for line in lm)
    chain_lines = "\n".join(f"    {line}" for line in chain)
    return (
        "The lecture's exercise: an RNN language model is the directed model "
        "p(w₁..w_T) = Π p(w_t | w₁..w_{t−1}) — every earlier token is a parent "
        "(`rnn_directed_model.png`, beside the order-1 Markov chain's 4 arcs). Its exact "
        "log-likelihood is the sum of those conditionals, so held-out text is scored in bits "
        "per character on the same split and alphabet as Markov chains fitted by counting "
        f"(CPython's documentation topics; the LM trained {seconds:.0f} s here):\n\n"
        + markdown_table(["model", "validation bits/char"], rows)
        + "\n\nA longer run reaches more: `benchmarks/seq_bits_per_char.py` trains a GRU-512 "
        "for 10 minutes to 1.81 bits/char on validation and 1.84 on test, against 1.97 / 1.94 "
        "for the best of orders 1–5 — the price of the Markov assumption. Five lines from the "
        "language model (temperature 0.8):\n\n" + lines
        + "\n\nand from the order-3 Markov chain:\n\n" + chain_lines
        + "\n\n`genlab seq train --minutes 10 --out RUN`, `genlab seq sample RUN`, "
        "`genlab seq eval RUN` do the same from the command line."
    )
