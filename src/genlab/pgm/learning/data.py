"""Tabular data for learning: DataFrames, CSV files and int arrays as one coded `Dataset`.

A `Dataset` holds every column as small integer state codes (−1 where the cell is missing),
the state names of each column and optional row weights. States come from the model or
`states=` when given (data values outside them are an error naming the column, the value and
the first row), else from the data: sorted (numbers numerically), a pandas categorical keeps
its categories' order. pandas is imported only when a DataFrame or CSV is involved.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError

__all__ = ["Dataset", "as_dataset", "code_dtype", "column_states", "encode_frame", "to_frame"]

MISSING = -1  # the code of a missing cell
_INTEGER = re.compile(r"^-?[0-9]+$")


@dataclass(frozen=True)
class Dataset:
    """Rows of discrete observations as state codes.

    `codes` is an int array (N, V), column j for `variables[j]`, −1 where missing; stored
    column-major so counting reads each column contiguously. `weights` is None (every row
    counts once) or a float64 array (N,) of non-negative row weights.
    """

    variables: tuple[str, ...]
    states: Mapping[str, tuple[str, ...]]
    codes: np.ndarray
    weights: np.ndarray | None = None
    column_missing: tuple[bool, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codes = np.asarray(self.codes)
        if codes.ndim != 2 or codes.shape[1] != len(self.variables):
            raise ModelError(
                f"codes must have shape (N, {len(self.variables)}) for variables "
                f"{self.variables}, got {codes.shape}"
            )
        if len(set(self.variables)) != len(self.variables):
            raise ModelError(f"data columns repeat: {self.variables}")
        dtype = code_dtype(self.cards_list())
        # validate before narrowing (a code out of range must not wrap into a valid one)
        lowest = codes.min(axis=0) if codes.shape[0] else np.zeros(codes.shape[1], dtype)
        highest = codes.max(axis=0) if codes.shape[0] else np.zeros(codes.shape[1], dtype)
        for j, v in enumerate(self.variables):
            if lowest[j] < MISSING or highest[j] >= len(self.states[v]):
                bad = (codes[:, j] < MISSING) | (codes[:, j] >= len(self.states[v]))
                row = int(np.flatnonzero(bad)[0])
                raise ModelError(
                    f"column {v!r} has the code {int(codes[row, j])} at row {row}; its "
                    f"{len(self.states[v])} states take codes 0..{len(self.states[v]) - 1} "
                    "(−1 = missing)"
                )
        if codes.dtype != dtype:  # narrow first: the transposing copy then moves 1-2 bytes each
            codes = codes.astype(dtype)
        if not codes.flags.f_contiguous:
            codes = np.asfortranarray(codes)
        codes.setflags(write=False)
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "column_missing", tuple(bool(m < 0) for m in lowest))
        if self.weights is not None:
            object.__setattr__(self, "weights", check_weights(self.weights, codes.shape[0]))

    # -- shape -------------------------------------------------------------------------------
    def cards_list(self) -> list[int]:
        return [len(self.states[v]) for v in self.variables]

    @property
    def cards(self) -> dict[str, int]:
        """Number of states of each column."""
        return {v: len(self.states[v]) for v in self.variables}

    @property
    def num_rows(self) -> int:
        return int(self.codes.shape[0])

    def __len__(self) -> int:
        return self.num_rows

    def __repr__(self) -> str:
        return f"Dataset({self.num_rows} rows, {len(self.variables)} variables)"

    def column(self, variable: str) -> np.ndarray:
        """The codes of one column (−1 where missing)."""
        return self.codes[:, self.index(variable)]

    def index(self, variable: str) -> int:
        try:
            return self.variables.index(variable)
        except ValueError:
            raise ModelError(
                f"the data has no column {variable!r} (columns: {', '.join(self.variables)})"
            ) from None

    @property
    def missing(self) -> np.ndarray:
        """Boolean (N, V): True where a cell is missing."""
        return self.codes < 0

    def has_missing(self) -> bool:
        return any(self.column_missing)

    def total_weight(self) -> float:
        return float(self.num_rows if self.weights is None else self.weights.sum())

    # -- views -------------------------------------------------------------------------------
    def select(self, variables: Sequence[str]) -> Dataset:
        """The same rows restricted to (and ordered as) `variables`."""
        if tuple(variables) == self.variables:
            return self
        idx = [self.index(v) for v in variables]
        return Dataset(
            tuple(variables), {v: self.states[v] for v in variables}, self.codes[:, idx],
            self.weights,
        )

    def rows(self, index: Any) -> Dataset:
        """A subset of the rows (a slice, boolean mask or index array)."""
        weights = None if self.weights is None else self.weights[index]
        return Dataset(self.variables, self.states, self.codes[index], weights)

    def with_weights(self, weights: Any) -> Dataset:
        return Dataset(self.variables, self.states, self.codes, weights)


def code_dtype(cards: Sequence[int]) -> type:
    """The smallest signed int type holding codes −1..max(cards) − 1."""
    top = max(cards, default=1)
    return np.int8 if top < 127 else np.int16 if top < 32767 else np.int32


def check_weights(weights: Any, n: int, labels: Any = None, where: str = "row") -> np.ndarray:
    """Row weights as a float64 array (n,): numeric, finite and non-negative. Errors name the
    row by `labels` (e.g. a CSV frame's line index) when given."""
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError("weights must be numeric (one non-negative number per row)") from None
    if w.shape != (n,):
        raise ModelError(f"weights must have one value per row: shape ({n},), got {w.shape}")
    for bad, what in ((~np.isfinite(w), "finite"), (w < 0, "non-negative")):
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            label = labels[k] if labels is not None else k
            raise ModelError(f"weights must be {what}; {where} {label} has {w[k]}")
    return w


# ----------------------------------------------------------------------------------------------
# state names of a column
# ----------------------------------------------------------------------------------------------
def _state_name(value: Any) -> str:
    """How a data value is named as a state: integral numbers without '.0', else str()."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def column_states(values: Any, name: str) -> tuple[str, ...]:
    """The states of a data column seen alone: sorted distinct non-missing values (numbers
    numerically); a pandas categorical keeps its categories' order."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return tuple(_state_name(c) for c in series.cat.categories)
    if pd.api.types.is_float_dtype(series.dtype):
        fractional = series.notna() & (series % 1 != 0)
        if fractional.any():
            first = series.index[fractional.to_numpy()][0]
            raise ModelError(
                f"column {name!r} holds the non-integer number {float(series[first])!r} at "
                f"{series.index.name or 'row'} {first}: genlab learns discrete networks, so "
                "discretise continuous columns first (e.g. pandas.cut)"
            )
    uniques = pd.unique(series.dropna())
    return _sorted_names(uniques, name)


def _sorted_names(uniques: Any, name: str) -> tuple[str, ...]:
    if all(isinstance(u, str) and _INTEGER.match(u) for u in uniques):  # CSV text "0", "10"
        return tuple(sorted(uniques, key=lambda u: (int(u), u)))  # ties ("01", "1") by text
    numeric = [u for u in uniques if isinstance(u, (int, float, np.integer, np.floating))]
    if len(numeric) == len(uniques) and not any(isinstance(u, (bool, np.bool_)) for u in uniques):
        for u in numeric:
            if not float(u).is_integer():
                raise ModelError(
                    f"column {name!r} holds the non-integer number {float(u)!r}: genlab learns "
                    "discrete networks, so discretise continuous columns first (e.g. pandas.cut)"
                )
        return tuple(_state_name(u) for u in sorted(numeric, key=float))
    return tuple(sorted({_state_name(u) for u in uniques}))


def _encode_series(series: Any, name: str, states: tuple[str, ...] | None) -> tuple[
    np.ndarray, tuple[str, ...]
]:
    """(codes with −1 for missing, states) of one pandas column."""
    import pandas as pd

    if states is None:
        states = column_states(series, name)
        if not states:
            raise ModelError(
                f"column {name!r} has no observed value, so its states are unknown: give "
                "them (states=, a model) or declare the variable latent"
            )
    if isinstance(series.dtype, pd.CategoricalDtype):  # its codes are already there
        codes, uniques = series.cat.codes.to_numpy(), series.cat.categories
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    lookup = {s: i for i, s in enumerate(states)}
    mapping = np.empty(len(uniques) + 1, dtype=np.int64)
    mapping[-1] = MISSING  # factorize's sentinel −1 indexes the last slot
    for k, u in enumerate(uniques):
        state = lookup.get(_state_name(u))
        if state is None and not (codes == k).any():  # an unused category
            state = MISSING
        if state is None:
            first = int(np.flatnonzero(codes == k)[0])
            where = series.index.name or "row"  # CSV frames are indexed by file line
            known = ", ".join(states[:20]) + (" ..." if len(states) > 20 else "")
            raise ModelError(
                f"column {name!r} has the unknown state {u!r} (first at {where} "
                f"{series.index[first]}); known states: {known}"
            )
        mapping[k] = state
    if np.array_equal(mapping[:-1], np.arange(len(uniques))):  # codes are already states
        return codes, states
    small = mapping.astype(code_dtype([len(states)]))  # index a small table: small output
    return small[codes.astype(np.intp, copy=False)], states


# ----------------------------------------------------------------------------------------------
# building a Dataset
# ----------------------------------------------------------------------------------------------
def _model_states(model: Any) -> dict[str, tuple[str, ...]]:
    """State names of every variable of a model ("0", "1", ... where it has none)."""
    if isinstance(model, Dataset):
        return dict(model.states)
    if isinstance(model, Mapping):
        return {str(v): tuple(map(str, s)) for v, s in model.items()}
    fg = model.to_factor_graph()
    order = getattr(model, "variables", fg.variables)  # a network's own (topological) order
    return {v: fg.state_names(v) for v in order}


def encode_frame(
    frame: Any,
    states: Mapping[str, Sequence[str]] | None = None,
    variables: Sequence[str] | None = None,
    weights: Any = None,
) -> Dataset:
    """A pandas DataFrame as a Dataset; `states` fixes the states of the columns it names,
    `variables` selects and orders the columns, `weights` is a column name or an array."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    frame = frame.rename(columns=str)
    if isinstance(weights, str):
        if weights not in frame.columns:
            raise ModelError(f"weights column {weights!r} is not in the data")
        w = frame[weights]
        if not pd.api.types.is_numeric_dtype(w):  # CSV cells arrive as text
            numbers = pd.to_numeric(w, errors="coerce")
            bad = numbers.isna() & w.notna()
            if bad.any():
                where = w.index.name or "row"
                raise ModelError(
                    f"weights column {weights!r} is not numeric: {w[bad].iloc[0]!r} at "
                    f"{where} {w.index[bad.to_numpy()][0]}"
                )
            w = numbers
        frame = frame.drop(columns=[weights])
        weights = check_weights(w.to_numpy(dtype=np.float64, na_value=np.nan), len(w),
                                w.index, w.index.name or "row")
    names = tuple(frame.columns) if variables is None else tuple(map(str, variables))
    absent = [v for v in names if v not in frame.columns]
    if absent:
        raise ModelError(f"the data lacks the column(s) {absent} (has {list(frame.columns)})")
    fixed = {str(v): tuple(map(str, s)) for v, s in (states or {}).items()}
    columns = []
    out_states: dict[str, tuple[str, ...]] = {}
    for v in names:
        column, out_states[v] = _encode_series(frame[v], v, fixed.get(v))
        columns.append(column)
    codes = np.empty((len(frame), len(names)), order="F",
                     dtype=code_dtype([len(out_states[v]) for v in names]))
    for j, column in enumerate(columns):
        codes[:, j] = column
    return Dataset(names, out_states, codes, weights)


def as_dataset(
    data: Any,
    model: Any = None,
    *,
    states: Mapping[str, Sequence[str]] | None = None,
    variables: Sequence[str] | None = None,
    weights: Any = None,
    latent: Sequence[str] = (),
) -> Dataset:
    """Any supported in-memory data as a Dataset.

    `data` is a pandas DataFrame, a CSV path, a dict of columns, an int array (N, V) of state
    codes (−1 = missing; `variables` or the model name its columns) or a Dataset. With a
    `model` (a network, a factor graph or a {variable: states} mapping) the data must have
    exactly the model's variables, less those in `latent` (hidden: added as all-missing).
    """
    fixed: dict[str, tuple[str, ...]] = _model_states(model) if model is not None else {}
    fixed.update({str(v): tuple(map(str, s)) for v, s in (states or {}).items()})
    wanted = tuple(fixed) if model is not None and variables is None else variables
    if isinstance(data, (str, os.PathLike)):
        from genlab.pgm.io.csv import read_csv

        data = read_csv(data)
    if isinstance(data, Dataset):
        dataset = data if weights is None else data.with_weights(weights)
        if fixed:
            dataset = _recode(dataset, fixed)
    elif isinstance(data, np.ndarray):
        dataset = _from_codes(data, wanted, fixed, weights, latent)
    else:
        import pandas as pd

        if isinstance(data, Mapping):
            data = pd.DataFrame(dict(data))
        if not isinstance(data, pd.DataFrame):
            raise TypeError(
                "data must be a pandas DataFrame, a CSV path, a dict of columns, an int array "
                f"of state codes or a Dataset, got {type(data).__name__}"
            )
        if wanted is not None:
            _check_columns([str(c) for c in data.columns], wanted, latent, weights)
            present = [v for v in wanted if v not in latent]
        else:
            present = None
        dataset = encode_frame(data, fixed, present, weights)
    if model is not None:
        return _complete(dataset, wanted or tuple(fixed), fixed, latent)
    return dataset


def _check_columns(
    columns: Sequence[str], wanted: Sequence[str], latent: Sequence[str], weights: Any
) -> None:
    if isinstance(weights, str) and weights not in columns:
        raise ModelError(f"weights column {weights!r} is not in the data (columns: {columns})")
    extra = [c for c in columns if c not in wanted and c != weights]
    lacking = [v for v in wanted if v not in columns and v not in latent]
    hidden_present = [v for v in latent if v in columns]
    problems = []
    if lacking:
        problems.append(f"the data lacks the model's column(s) {lacking}")
    if extra:
        problems.append(f"the data has column(s) the model lacks: {extra}")
    if hidden_present:
        problems.append(f"latent variable(s) {hidden_present} also appear as data columns")
    if problems:
        raise ModelError("; ".join(problems))


def _complete(
    dataset: Dataset,
    wanted: Sequence[str],
    fixed: Mapping[str, tuple[str, ...]],
    latent: Sequence[str],
) -> Dataset:
    """Add latent columns (all missing) and order the columns as the model's variables."""
    latent = [v for v in latent if v not in dataset.variables]
    if latent:
        unknown = [v for v in latent if v not in fixed]
        if unknown:
            raise ModelError(f"latent variable(s) {unknown} are not in the model")
        extra = np.full((dataset.num_rows, len(latent)), MISSING, dtype=np.int64)
        states = dict(dataset.states)
        states.update({v: fixed[v] for v in latent})
        dataset = Dataset(
            (*dataset.variables, *latent), states, np.hstack([dataset.codes, extra]),
            dataset.weights,
        )
    return dataset.select(wanted)


def _recode(dataset: Dataset, fixed: Mapping[str, tuple[str, ...]]) -> Dataset:
    """A Dataset re-expressed over the state lists in `fixed` (by name); itself when they
    already agree."""
    changed = [
        j for j, v in enumerate(dataset.variables)
        if fixed.get(v) is not None and fixed[v] != dataset.states[v]
    ]
    if not changed:
        return dataset
    codes = np.array(dataset.codes, dtype=np.int64, order="F")
    states = dict(dataset.states)
    for j in changed:
        v = dataset.variables[j]
        want = fixed[v]
        lookup = {s: i for i, s in enumerate(want)}
        mapping = np.empty(len(dataset.states[v]) + 1, dtype=np.int64)
        mapping[-1] = MISSING
        for k, s in enumerate(dataset.states[v]):
            if s not in lookup:
                if (codes[:, j] == k).any():
                    first = int(np.flatnonzero(codes[:, j] == k)[0])
                    raise ModelError(
                        f"column {v!r} has the unknown state {s!r} (first at row {first})"
                    )
                lookup[s] = MISSING
            mapping[k] = lookup[s]
        codes[:, j] = mapping[codes[:, j]]
        states[v] = want
    return Dataset(dataset.variables, states, codes, dataset.weights)


def _from_codes(
    array: np.ndarray,
    variables: Sequence[str] | None,
    fixed: Mapping[str, tuple[str, ...]],
    weights: Any,
    latent: Sequence[str],
) -> Dataset:
    if not np.issubdtype(array.dtype, np.integer):
        raise ModelError(
            f"an array of data must hold integer state codes (−1 = missing), got {array.dtype}"
        )
    if variables is None:
        raise ModelError("an int array of data needs `variables` (or a model) naming its columns")
    names = tuple(v for v in map(str, variables) if v not in latent)
    if array.ndim != 2 or array.shape[1] != len(names):
        raise ModelError(
            f"data array must have shape (N, {len(names)}) for columns {names}, got {array.shape}"
        )
    states = {}
    tops = array.max(axis=0) if array.shape[0] else np.full(len(names), -1)
    lows = array.min(axis=0) if array.shape[0] else np.zeros(len(names), dtype=np.int64)
    for j, v in enumerate(names):
        top, low = int(tops[j]), int(lows[j])
        if low < MISSING:
            raise ModelError(f"column {v!r} has the code {low} (−1 marks missing)")
        if v in fixed:
            states[v] = fixed[v]
            if top >= len(fixed[v]):
                first = int(np.flatnonzero(array[:, j] >= len(fixed[v]))[0])
                raise ModelError(
                    f"column {v!r} has the code {top} (first at row {first}) but only "
                    f"{len(fixed[v])} states"
                )
        elif top < 0:
            raise ModelError(
                f"column {v!r} has no observed value, so its states are unknown: give them "
                "(states=, a model) or declare the variable latent"
            )
        else:
            states[v] = tuple(str(i) for i in range(top + 1))
    return Dataset(names, states, array, weights)


def to_frame(
    codes: np.ndarray, variables: Sequence[str], states: Mapping[str, Sequence[str]]
) -> Any:
    """State codes (N, V) as a DataFrame of categorical columns named by state (−1 → NaN)."""
    import pandas as pd

    columns = {}
    for j, v in enumerate(variables):
        categories = pd.Index(list(states[v]), dtype=object)
        columns[v] = pd.Categorical.from_codes(np.asarray(codes[:, j], dtype=np.int64),
                                               categories=categories)
    return pd.DataFrame(columns)
