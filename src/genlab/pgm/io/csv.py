"""Data files: CSV tables of discrete observations (one column per variable, states by name).

Every cell is read as text, so state names survive exactly ("01" stays "01"); an empty cell,
"?", "NA" or "NaN" is missing. Rows are indexed by their line in the file, so errors about a
value name the line. Large files can be read in chunks (`chunksize=`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from genlab.pgm.errors import ParseError

__all__ = ["MISSING_VALUES", "iter_csv", "read_csv", "write_csv"]

MISSING_VALUES = ("", "?", "NA", "NaN", "nan")
_LINE = re.compile(r"line (\d+)")


_OPTIONS: dict[str, Any] = {
    "dtype": str,
    "keep_default_na": False,
    "na_values": list(MISSING_VALUES),
    "skipinitialspace": True,
    "skip_blank_lines": False,  # keep the row count equal to the line count (errors name lines)
    "compression": "infer",
    "engine": "c",
}


def _wrap(exc: Exception, path: str) -> ParseError:
    match = _LINE.search(str(exc))
    message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return ParseError(message, path, int(match.group(1)) if match else None)


def _index_by_line(frame: Any, first_line: int) -> Any:
    """Rows indexed by their line in the file; blank lines (all cells empty) dropped."""
    import pandas as pd

    frame.index = pd.RangeIndex(first_line, first_line + len(frame), name="line")
    return frame[frame.notna().any(axis=1)] if len(frame.columns) else frame


def read_csv(path: str | os.PathLike[str]) -> Any:
    """A CSV file as a DataFrame of text cells (NaN where missing), indexed by file line."""
    import pandas as pd

    path = os.fspath(path)
    _check_header(path)
    try:
        frame = pd.read_csv(path, **_OPTIONS)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _wrap(exc, path) from None
    return _index_by_line(frame, 2)


def iter_csv(path: str | os.PathLike[str], chunksize: int = 100_000) -> Iterator[Any]:
    """The rows of a CSV file as DataFrames of at most `chunksize` rows (out-of-core reading)."""
    import pandas as pd

    path = os.fspath(path)
    _check_header(path)
    line = 2
    try:
        with pd.read_csv(path, chunksize=chunksize, **_OPTIONS) as reader:
            for frame in reader:
                rows = len(frame)
                yield _index_by_line(frame, line)
                line += rows
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _wrap(exc, path) from None


def _check_header(path: str) -> None:
    """The header names every column once (read raw: pandas renames a repeat to "v.1")."""
    import pandas as pd

    try:
        raw = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False,
                          skipinitialspace=True, compression="infer")
    except pd.errors.EmptyDataError:
        raise ParseError("the file is empty (no header)", path, 1) from None
    names = [str(c) for c in raw.iloc[0]] if len(raw) else []
    if any(not n.strip() for n in names):
        raise ParseError("the header has an empty column name", path, 1)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParseError(f"the header repeats column name(s) {repeated}", path, 1)


def write_csv(
    frame: Any, path: str | os.PathLike[str], columns: Sequence[str] | None = None
) -> Path:
    """Write a DataFrame as CSV atomically (missing cells empty); gzip when the name ends .gz."""
    from genlab.pgm.io._source import write_text

    text = frame.to_csv(index=False, columns=columns, na_rep="")
    write_text(path, text)
    return Path(path)
