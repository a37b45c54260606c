"""UAI result files: the task on the first line, then its numbers.

``PR``: log10 of the partition function (or of the probability of the evidence).
``MAR``: ``n`` then, per variable, its cardinality and its marginal.
``MAP``: ``n`` then one state index per variable (``MPE`` is read as ``MAP``).
Values are kept exactly as the file holds them (PR stays log10, not natural log).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from genlab.pgm.io._source import Source, read_source, write_text
from genlab.pgm.io._tokens import Tokens

__all__ = ["TASKS", "UAIResult", "read_uai_result", "uai_result_string", "write_uai_result"]

TASKS = ("PR", "MAR", "MAP")
SUFFIXES = (".pr", ".mar", ".map", ".mpe")
UAIResult = float | list[np.ndarray] | np.ndarray  # PR: log10 Z; MAR: marginals; MAP: states


def _in_index_order(result: Any) -> list[Any]:
    """Per-variable values in UAI index order: a sequence as is, a mapping sorted by index."""
    if not isinstance(result, Mapping):
        return list(result)
    keys = list(result)
    if not all(str(k).isdigit() for k in keys):
        raise ValueError(f"a UAI result mapping needs variable indices as keys, got {keys[:5]}")
    if sorted(int(k) for k in keys) != list(range(len(keys))):
        raise ValueError(f"a UAI result needs every variable 0..{len(keys) - 1} exactly once")
    return [result[k] for k in sorted(keys, key=int)]


def uai_result_string(task: str, result: Any) -> str:
    """The result file text. PR: `result` is log10 Z (a float). MAR: one marginal per variable
    (a sequence, or a mapping keyed by variable index). MAP: one state index per variable."""
    task = task.upper()
    if task == "PR":
        value = float(result)
        if np.isnan(value):
            raise ValueError("PR result is NaN")
        return f"PR\n{value!r}\n"
    if task == "MAR":
        parts = [str(len(values := _in_index_order(result)))]
        for i, marginal in enumerate(values):
            p = np.asarray(marginal, dtype=np.float64)
            if p.ndim != 1 or not np.all(np.isfinite(p)):
                raise ValueError(f"marginal of variable {i} must be a finite 1-D array, got {p}")
            parts += [str(p.size), *map(repr, p.tolist())]
        return "MAR\n" + " ".join(parts) + "\n"
    if task == "MAP":
        states = [int(s) for s in _in_index_order(result)]
        return "MAP\n" + " ".join(map(str, [len(states), *states])) + "\n"
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def write_uai_result(task: str, result: Any, path: Source) -> None:
    """Write a PR, MAR or MAP result file (atomically); see `uai_result_string`."""
    write_text(path, uai_result_string(task, result))


def _parse(text: str, path: str | None) -> tuple[str, UAIResult]:
    tokens = Tokens(text, path)
    task = tokens.take("the task (PR, MAR or MAP)").upper()
    task = "MAP" if task == "MPE" else task
    result: UAIResult
    if task == "PR":
        result = float(tokens.floats_for(1, "log10 Z")[0])
    elif task == "MAR":
        n = tokens.integer("the number of variables")
        result = []
        for i in range(n):
            card = tokens.integer(f"the cardinality of variable {i}", minimum=1)
            result.append(tokens.floats_for(card, f"the marginal of variable {i}"))
    elif task == "MAP":
        n = tokens.integer("the number of variables")
        result = np.array([tokens.integer(f"the state of variable {i}") for i in range(n)])
    else:
        raise tokens.error(f"expected the task PR, MAR or MAP, got {task!r}")
    if tokens.pos < len(tokens.items):
        raise tokens.error(f"unexpected extra token {tokens.items[tokens.pos]!r}", tokens.pos)
    return task, result


def read_uai_result(source: Source) -> tuple[str, UAIResult]:
    """(task, values) of a result file (path or text): PR → log10 Z as a float, MAR → a list of
    marginals (one array per variable), MAP → an int array of states.

    >>> read_uai_result("MAR\\n2 2 0.25 0.75 1 1")
    ('MAR', [array([0.25, 0.75]), array([1.])])
    """
    text, path = read_source(source, SUFFIXES)
    return _parse(text, path)
