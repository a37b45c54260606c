"""Words to integer ids for the built-in text encoder; an unknown word is an error that names
the nearest known words, never a silent <unk>."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import torch

__all__ = ["UnknownWordError", "Vocabulary", "tokenize"]

_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers of a caption (punctuation separates and is dropped)."""
    return _WORD.findall(text.lower())


class UnknownWordError(ValueError):
    """A caption uses a word the model was not trained on."""


@dataclass(frozen=True)
class Vocabulary:
    """The sorted words of the training captions; id 0 is padding, word k has id k + 1."""

    words: tuple[str, ...]

    @classmethod
    def from_captions(cls, captions: Iterable[str]) -> Vocabulary:
        """Every word that occurs in `captions`."""
        return cls(tuple(sorted({w for c in captions for w in tokenize(c)})))

    def __len__(self) -> int:
        return len(self.words) + 1  # with padding

    def ids(self, text: str) -> list[int]:
        """A caption's word ids; UnknownWordError names each unknown word's nearest known ones."""
        index = {w: i + 1 for i, w in enumerate(self.words)}
        words = tokenize(text)
        if not words:
            raise ValueError(f"the caption {text!r} has no words")
        unknown = [w for w in words if w not in index]
        if unknown:
            hints = "; ".join(
                f"{w!r} (nearest known: "
                f"{', '.join(difflib.get_close_matches(w, self.words, n=3, cutoff=0.5)) or 'none'})"
                for w in dict.fromkeys(unknown))
            raise UnknownWordError(
                f"unknown word{'s' if len(unknown) > 1 else ''} in {text!r}: {hints}. The model "
                f"knows {len(self.words)} words: {', '.join(self.words)}")
        return [index[w] for w in words]

    def batch(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) padded ids and (B,) lengths of a list of captions."""
        rows = [self.ids(c) for c in captions]
        lengths = torch.tensor([len(r) for r in rows], dtype=torch.int64)
        ids = torch.zeros(len(rows), int(lengths.max()) if rows else 0, dtype=torch.int64)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r)
        return ids, lengths
