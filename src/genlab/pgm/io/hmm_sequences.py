"""Observation sequences as CSV: a `sequence` column (an id) and an `obs` column (a symbol or
a number; empty = missing), rows in time order. Multivariate Gaussian data use `obs_0`,
`obs_1`, ... instead of `obs`. Other columns are kept (decode adds to them) but not read.

Rows of one sequence need not be contiguous: they are grouped by id, in order of first
appearance, each keeping its rows' file order. Errors name the file and line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.errors import ParseError
from genlab.pgm.io.csv import read_csv, write_csv
from genlab.pgm.models.hmm_emissions import ObservationError

__all__ = ["SequenceTable", "read_sequences", "sequence_frame", "write_sequences"]

_OBS = re.compile(r"obs_(\d+)$")


@dataclass
class SequenceTable:
    """The file's rows (a DataFrame of text, indexed by file line), the sequence ids, and for
    each sequence the positions of its rows in the frame (time order)."""

    frame: Any
    path: str
    ids: list[str]
    rows: list[np.ndarray]
    obs_columns: list[str]

    def numeric(self) -> bool:
        """Whether every non-missing observation parses as a finite or infinite number."""
        values = self.frame[self.obs_columns].to_numpy(dtype=object).ravel()
        for v in values:
            if isinstance(v, str):
                try:
                    float(v)
                except ValueError:
                    return False
        return True

    def sequences(self, kind: str) -> list[np.ndarray]:
        """Observations per sequence: text (None where missing) for categorical; float64
        (NaN where missing; (T, D) for several obs columns) for gaussian."""
        cells = self.frame[self.obs_columns].to_numpy(dtype=object)
        if kind == "categorical":
            if len(self.obs_columns) != 1:
                raise ParseError("categorical data need one `obs` column", self.path, 1)
            column = cells[:, 0]
            return [column[r] for r in self.rows]
        import pandas as pd

        text = self.frame[self.obs_columns]
        out = text.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        present = text.notna().to_numpy()
        for bad, why in ((np.isnan(out) & present, "is not a number"),
                         (np.isinf(out), "is not finite (leave the cell empty if missing)")):
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise ParseError(f"observation {cells[i, j]!r} in column "
                                 f"{self.obs_columns[j]!r} {why}", self.path,
                                 int(self.frame.index[i]))
        if len(self.obs_columns) == 1:
            return [out[r, 0] for r in self.rows]
        return [out[r] for r in self.rows]

    def line_of(self, sequence: int, step: int) -> int:
        """The file line of step `step` of sequence number `sequence`."""
        return int(self.frame.index[self.rows[sequence][step]])

    def locate(self, exc: Exception) -> Exception:
        """An ObservationError from a model re-raised as a ParseError at its file line."""
        if not isinstance(exc, ObservationError):
            return exc
        return ParseError(f"sequence {self.ids[exc.sequence]!r}: {exc.detail}", self.path,
                          self.line_of(exc.sequence, exc.step))


def read_sequences(path: str | os.PathLike[str]) -> SequenceTable:
    """Read a sequence CSV (see the module docstring)."""
    import pandas as pd

    name = os.fspath(path)
    if not os.path.exists(name):
        raise ParseError("no such file", name)
    frame = read_csv(name)
    columns = [str(c) for c in frame.columns]
    if "sequence" not in columns:
        raise ParseError(f"no `sequence` column (columns: {columns})", name, 1)
    numbered = sorted((int(m.group(1)), c) for c in columns if (m := _OBS.match(c)))
    if "obs" in columns:
        obs_columns = ["obs"]
    elif numbered:
        if [i for i, _ in numbered] != list(range(len(numbered))):
            raise ParseError(f"obs columns must be obs_0, obs_1, ... without gaps, got "
                             f"{[c for _, c in numbered]}", name, 1)
        obs_columns = [c for _, c in numbered]
    else:
        raise ParseError(f"no `obs` (or obs_0, obs_1, ...) column (columns: {columns})", name, 1)
    ids_col = frame["sequence"]
    blank = np.flatnonzero(ids_col.isna().to_numpy())
    if blank.size:
        raise ParseError("empty `sequence` id", name, int(frame.index[blank[0]]))
    codes, uniques = pd.factorize(ids_col.to_numpy(dtype=object))  # order of first appearance
    order = np.argsort(codes, kind="stable")
    cuts = np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]
    rows = np.split(order, cuts) if len(uniques) else []
    if not rows:
        raise ParseError("no data rows", name, 2)
    return SequenceTable(frame, name, [str(u) for u in uniques], rows, obs_columns)


def sequence_frame(observations: list[Any], states: list[np.ndarray] | None = None,
                   ids: list[str] | None = None) -> Any:
    """A DataFrame in the CSV layout: sequence, obs (or obs_0..), and `hidden_state` when
    states are given."""
    import pandas as pd

    ids = ids or [str(i) for i in range(len(observations))]
    lengths = [len(o) for o in observations]
    data: dict[str, Any] = {"sequence": np.repeat(np.array(ids, dtype=object), lengths)}
    flat: np.ndarray = np.zeros(0)
    if observations:
        flat = np.concatenate([np.asarray(o) for o in observations])
    if flat.ndim == 2 and flat.shape[1] > 1:
        for j in range(flat.shape[1]):
            data[f"obs_{j}"] = flat[:, j]
    else:
        data["obs"] = flat.reshape(-1)
    if states is not None:
        data["hidden_state"] = np.concatenate(states) if states else []
    return pd.DataFrame(data)


def write_sequences(path: str | os.PathLike[str], observations: list[Any],
                    states: list[np.ndarray] | None = None) -> None:
    """Write sequences (and their hidden states) as CSV, atomically."""
    write_csv(sequence_frame(observations, states), path)
