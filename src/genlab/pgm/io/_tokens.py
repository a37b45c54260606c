"""White-space separated tokens of the UAI files, with the line of a token found for errors."""

from __future__ import annotations

import re

import numpy as np

from genlab.pgm.errors import ParseError
from genlab.pgm.io._source import line_at

__all__ = ["Tokens"]

_TOKEN = re.compile(r"\S+")


class Tokens:
    """The white-space separated tokens of a text; finds a token's line only for errors."""

    def __init__(self, text: str, path: str | None) -> None:
        self.text = text
        self.path = path
        self.items = text.split()
        self.pos = 0

    def line(self, index: int) -> int:
        """1-based line of token `index` (the last line when the text ends before it)."""
        if index >= len(self.items):
            return line_at(self.text, len(self.text.rstrip()))
        for k, match in enumerate(_TOKEN.finditer(self.text)):
            if k == index:
                return line_at(self.text, match.start())
        raise AssertionError("unreachable: index < number of tokens")

    def error(self, message: str, index: int | None = None) -> ParseError:
        """A ParseError at token `index` (default: the token most recently taken)."""
        return ParseError(message, self.path, self.line(self.pos - 1 if index is None else index))

    def take(self, what: str) -> str:
        """The next token; `what` describes it for the end-of-file error."""
        if self.pos >= len(self.items):
            raise self.error(f"unexpected end of file, expected {what}", self.pos)
        self.pos += 1
        return self.items[self.pos - 1]

    def integer(self, what: str, minimum: int = 0) -> int:
        """The next token as an integer >= `minimum`."""
        token = self.take(what)
        try:
            value = int(token)
        except ValueError:
            raise self.error(f"expected {what} (an integer), got {token!r}") from None
        if value < minimum:
            raise self.error(f"{what} must be >= {minimum}, got {value}")
        return value

    def floats(self) -> np.ndarray:
        """All remaining tokens as float64, converted at once (error names the bad token)."""
        rest = self.items[self.pos :]
        try:
            return np.array(rest, dtype=np.float64)
        except ValueError:
            for k, token in enumerate(rest):
                try:
                    float(token)
                except ValueError:
                    raise self.error(f"expected a number, got {token!r}", self.pos + k) from None
            raise

    def floats_for(self, count: int, what: str) -> np.ndarray:
        """The next `count` tokens as float64 (NaN or a non-number is an error naming it)."""
        out = np.empty(count)
        for k in range(count):
            token = self.take(what)
            try:
                out[k] = float(token)
            except ValueError:
                raise self.error(f"expected a number in {what}, got {token!r}") from None
            if np.isnan(out[k]):
                raise self.error(f"{what}: {token!r} is not a number")
        return out
