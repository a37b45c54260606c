"""UAI evidence files (.evid): `N var val var val ...`, variables and states by index.

Older competitions wrote a sample count first (`1 N var val ...`); the token count tells the two
apart, so both are read. An empty or missing file means no evidence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from genlab.pgm.io._source import Source, looks_like_path, read_source, write_text
from genlab.pgm.io._tokens import Tokens

__all__ = ["read_uai_evidence", "uai_evidence_string", "write_uai_evidence"]

SUFFIXES = (".evid", ".evid.gz")


def _parse(text: str, path: str | None) -> dict[str, int]:
    tokens = Tokens(text, path)
    total = len(tokens.items)
    if total == 0:
        return {}
    count = tokens.integer("the number of observed variables")
    expected = 2 * count + 1
    if count == 1 and total % 2 == 0:  # `1 N var val ...`: one sample of N pairs
        count = tokens.integer("the number of observed variables")
        expected = 2 * count + 2
    if total != expected:
        raise tokens.error(
            f"{count} observed variables need {2 * count} integers after the count, "
            f"the file has {total - expected + 2 * count}",
            min(total, expected) - 1,
        )
    evidence: dict[str, int] = {}
    for _ in range(count):
        variable = str(tokens.integer("a variable index"))
        state = tokens.integer(f"the state of variable {variable}")
        if evidence.setdefault(variable, state) != state:
            raise tokens.error(
                f"variable {variable} observed twice, as {evidence[variable]} and {state}"
            )
    return evidence


def read_uai_evidence(source: Source, *, missing_ok: bool = True) -> dict[str, int]:
    """Evidence {variable index as str: state index} from a .evid file (path or text). A
    missing file means no evidence (UAI problems often come without one) unless `missing_ok`
    is False, e.g. for a file a user named explicitly.

    >>> read_uai_evidence("2 0 1 3 0")
    {'0': 1, '3': 0}
    """
    if missing_ok and looks_like_path(source, SUFFIXES) and not os.path.exists(source):
        return {}
    text, path = read_source(source, SUFFIXES)
    return _parse(text, path)


def uai_evidence_string(evidence: Mapping[str | int, int]) -> str:
    """Evidence as one UAI line `N var val ...`; variables must be indices (int or "3")."""
    pairs = []
    for variable, state in evidence.items():
        if not str(variable).isdigit() or int(state) < 0:
            raise ValueError(
                f"UAI evidence needs variable indices and state indices >= 0, "
                f"got {variable!r}: {state!r}"
            )
        pairs.append(f"{int(variable)} {int(state)}")
    return " ".join([str(len(pairs)), *pairs]) + "\n"


def write_uai_evidence(evidence: Mapping[str | int, int], path: Source) -> None:
    """Write evidence as a UAI .evid file (atomically)."""
    write_text(path, uai_evidence_string(evidence))
