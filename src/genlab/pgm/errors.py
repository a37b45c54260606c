"""Exceptions of the PGM half, so callers can catch exactly what went wrong."""

from __future__ import annotations

__all__ = ["ContractionTooLarge", "ModelError", "ParseError", "ZeroEvidenceError"]


class ModelError(ValueError):
    """A model is malformed: cyclic graph, invalid CPT, shape mismatch, unknown variable/state."""


class ParseError(ValueError):
    """A model or evidence file is malformed; the message names the file and the line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        where = f"{path or '<text>'}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class ZeroEvidenceError(ValueError):
    """The evidence has probability zero under the model, so no posterior exists."""


class ContractionTooLarge(MemoryError):
    """The planned contraction would exceed the memory budget; the message gives the estimate."""
