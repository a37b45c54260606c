"""Sequence models (torch): the character-level RNN language model as a directed model.

p(w_1..w_T) = Π_t p(w_t | w_1..w_{t-1}); its exact log-likelihood is the sum of the
conditionals, compared in bits per character with Markov chains (genlab.pgm.models.markov) on
CPython's embedded documentation topics.
"""

from genlab.seq.compare import lm_lines, markov_bits_per_char, markov_lines
from genlab.seq.corpus import Alphabet, corpus_split
from genlab.seq.model import CharLM, LMArchitecture, log_conditionals, sample
from genlab.seq.plot import plot_directed_models
from genlab.seq.train import LMTrainConfig, bits_per_char, load_lm, train

__all__ = [
    "Alphabet",
    "CharLM",
    "LMArchitecture",
    "LMTrainConfig",
    "bits_per_char",
    "corpus_split",
    "lm_lines",
    "load_lm",
    "log_conditionals",
    "markov_bits_per_char",
    "markov_lines",
    "plot_directed_models",
    "sample",
    "train",
]
