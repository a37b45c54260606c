"""Where reader input comes from (a path, gzip by suffix, or the text itself) and where a byte
offset sits in it (line numbers for error messages); atomic writing of output files."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from genlab._atomic import atomic_write_bytes

__all__ = ["Source", "line_at", "looks_like_path", "read_json", "read_source", "write_text"]

Source = str | os.PathLike[str]
T = TypeVar("T")


def looks_like_path(source: Source, suffixes: tuple[str, ...]) -> bool:
    """True when `source` names a file: any PathLike, or a one-line str that exists, ends with
    one of `suffixes` or holds no white space (so a mistyped path is not parsed as text)."""
    if isinstance(source, os.PathLike):
        return True
    if "\n" in source:
        return False
    return (
        source.lower().endswith(suffixes)
        or os.path.isfile(source)
        or not any(c.isspace() for c in source)
    )


def read_source(source: Source, suffixes: tuple[str, ...]) -> tuple[str, str | None]:
    """(text, path or None) of `source`; a path ending in .gz is decompressed transparently."""
    if not looks_like_path(source, suffixes):
        return str(source), None
    path = os.fspath(source)
    if path.lower().endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return handle.read(), path
    return Path(path).read_text(encoding="utf-8"), path


def line_at(text: str, offset: int) -> int:
    """1-based line number of character `offset` of `text` (used only to report errors)."""
    return text.count("\n", 0, max(0, min(offset, len(text)))) + 1


def write_text(path: Source, text: str) -> None:
    """Write `text` to `path` atomically (temporary file + rename); gzip when it ends in .gz."""
    target = Path(path)
    data = text.encode("utf-8")
    if target.name.lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    atomic_write_bytes(target, data)


def read_json(path: Source, build: Callable[[Any], T]) -> T:
    """`build(data)` of a JSON file (.gz decompressed); a missing file, bad JSON (with its line)
    or a ValueError from `build` (a malformed model) is a ParseError naming the file."""
    from genlab.pgm.errors import ParseError

    name = os.fspath(path)
    try:
        text, _ = read_source(path, (".json", ".json.gz"))
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror or exc}", name) from None
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise ParseError(f"not UTF-8 JSON text: {exc}", name) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg} (column {exc.colno})", name, exc.lineno
                         ) from None
    try:
        return build(data)
    except (TypeError, ValueError) as exc:  # ModelError is a ValueError
        raise ParseError(str(exc), name) from None
