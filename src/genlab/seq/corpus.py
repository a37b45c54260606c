"""The embedded text corpus: CPython's documentation topics (`pydoc_data.topics`), split by topic.

The split is deterministic and independent of the Python hash seed: a topic goes to `test` when
sha256(key) mod 10 == 0, to `validation` when it is 1, else to `train` (~84/6/10 % of the
characters). Topics are joined in sorted key order with a blank line between them. The alphabet
is fixed by the training text: its characters in code-point order, then one unknown symbol
(index len(chars)) that stands for any character never seen in training.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["SPLITS", "UNKNOWN", "Alphabet", "corpus_split", "load_topics", "split_of"]

SPLITS = ("train", "validation", "test")
UNKNOWN = "\ufffd"  # how the unknown symbol prints when decoded
_SEPARATOR = "\n\n"


def load_topics() -> dict[str, str]:
    """The documentation topics that ship with CPython (key -> text); nothing is downloaded."""
    from pydoc_data.topics import topics

    return dict(topics)


def split_of(key: str) -> str:
    """The split a topic key belongs to (stable across runs, machines and hash seeds)."""
    bucket = int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


def corpus_split(split: str, topics: Mapping[str, str] | None = None) -> str:
    """The text of one split: its topics in sorted key order, separated by a blank line."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    topics = load_topics() if topics is None else topics
    return _SEPARATOR.join(topics[k] for k in sorted(topics) if split_of(k) == split)


@dataclass(frozen=True)
class Alphabet:
    """Characters -> integer codes; the last code is the unknown symbol.

    >>> a = Alphabet.from_text("abca")
    >>> a.encode("abz").tolist(), a.decode([1, 0, 3]), a.size
    ([0, 1, 3], 'ba\ufffd', 4)
    """

    chars: str

    @classmethod
    def from_text(cls, text: Iterable[str]) -> Alphabet:
        """The alphabet of the characters seen in `text`, in code-point order."""
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        """Number of symbols, the unknown one included."""
        return len(self.chars) + 1

    @property
    def unknown(self) -> int:
        """Code of the unknown symbol."""
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """int64 codes of `text`; characters outside the alphabet map to the unknown code."""
        lookup = {c: i for i, c in enumerate(self.chars)}
        return np.fromiter((lookup.get(c, self.unknown) for c in text), dtype=np.int64,
                           count=len(text))

    def decode(self, codes: Iterable[int]) -> str:
        """Text of `codes`; the unknown code prints as U+FFFD."""
        table = self.chars + UNKNOWN
        return "".join(table[int(i)] for i in codes)
