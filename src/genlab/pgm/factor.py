"""Factor: a non-negative table over an ordered tuple of variables (a potential / tensor).

Axis ``i`` of ``table`` belongs to ``variables[i]`` (C order, deterministic — never built from a
set). Factors are immutable values: every operation returns a new factor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError

__all__ = ["Factor"]


def _union(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    """Variables of `first` in order, then those of `second` not already present."""
    seen = set(first)
    return tuple(first) + tuple(v for v in second if v not in seen)


class Factor:
    """A non-negative float64 table over named variables.

    >>> f = Factor(("a", "b"), [[1.0, 2.0], [3.0, 4.0]])
    >>> f.marginalize(["b"]).table.tolist()
    [3.0, 7.0]
    """

    __slots__ = ("_table", "_variables")

    def __init__(self, variables: Sequence[str], table: Any, *, validate: bool = True) -> None:
        variables = tuple(str(v) for v in variables)
        array = np.array(table, dtype=np.float64)  # always a private copy
        if validate:
            if array.ndim != len(variables):
                raise ModelError(
                    f"factor over {variables} needs a table with {len(variables)} axes, "
                    f"got shape {array.shape}"
                )
            if len(set(variables)) != len(variables):
                raise ModelError(f"factor variables must be distinct, got {variables}")
            if array.size and not np.all(np.isfinite(array)):
                raise ModelError(f"factor over {variables} has non-finite entries")
            if array.size and array.min() < 0:
                raise ModelError(f"factor over {variables} has negative entries")
        array.setflags(write=False)
        self._variables = variables
        self._table = array

    # -- read-only views -------------------------------------------------------------------
    @property
    def variables(self) -> tuple[str, ...]:
        """The ordered scope: axis i of the table belongs to variables[i]."""
        return self._variables

    @property
    def table(self) -> np.ndarray:
        """The (read-only) float64 table."""
        return self._table

    @property
    def cards(self) -> tuple[int, ...]:
        """Cardinality of each variable, in scope order."""
        return tuple(self._table.shape)

    def card(self, variable: str) -> int:
        """Cardinality of one variable of the scope."""
        return self._table.shape[self._axis(variable)]

    def __repr__(self) -> str:
        scope = ", ".join(f"{v}:{c}" for v, c in zip(self._variables, self.cards, strict=True))
        return f"Factor({scope})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Factor)
            and self._variables == other._variables
            and np.array_equal(self._table, other._table)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking payload: not hashable

    def allclose(self, other: Factor, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
        """Same scope (in any order) and numerically equal tables."""
        if set(self._variables) != set(other._variables):
            return False
        return bool(np.allclose(self._table, other.permute(self._variables)._table, rtol, atol))

    # -- operations --------------------------------------------------------------------------
    def _axis(self, variable: str) -> int:
        try:
            return self._variables.index(variable)
        except ValueError:
            raise ModelError(f"variable {variable!r} is not in factor {self!r}") from None

    def _axes(self, variables: Iterable[str]) -> tuple[int, ...]:
        return tuple(self._axis(v) for v in variables)

    def permute(self, order: Sequence[str]) -> Factor:
        """The same factor with its axes in `order` (a permutation of the scope)."""
        order = tuple(order)
        if sorted(order) != sorted(self._variables):
            raise ModelError(f"permute order {order} is not a permutation of {self._variables}")
        return Factor(order, np.transpose(self._table, self._axes(order)), validate=False)

    def product(self, other: Factor) -> Factor:
        """Pointwise product over the union of scopes (self's variables first)."""
        out = _union(self._variables, other._variables)
        for v in set(self._variables) & set(other._variables):
            if self.card(v) != other.card(v):
                raise ModelError(
                    f"variable {v!r} has cardinality {self.card(v)} in one factor and "
                    f"{other.card(v)} in the other"
                )
        letters = {v: i for i, v in enumerate(out)}
        table = np.einsum(
            self._table,
            [letters[v] for v in self._variables],
            other._table,
            [letters[v] for v in other._variables],
            [letters[v] for v in out],
        )
        return Factor(out, table, validate=False)

    __mul__ = product

    def marginalize(self, variables: Iterable[str]) -> Factor:
        """Sum out `variables`."""
        axes = self._axes(variables)
        keep = tuple(v for i, v in enumerate(self._variables) if i not in axes)
        return Factor(keep, self._table.sum(axis=axes), validate=False)

    def maximize(self, variables: Iterable[str]) -> Factor:
        """Max out `variables`."""
        axes = self._axes(variables)
        keep = tuple(v for i, v in enumerate(self._variables) if i not in axes)
        table = self._table.max(axis=axes) if axes else self._table
        return Factor(keep, table, validate=False)

    def reduce(self, evidence: Mapping[str, int]) -> Factor:
        """Fix observed variables to state indices and drop their axes (others are ignored)."""
        index: list[Any] = [slice(None)] * len(self._variables)
        for v, state in evidence.items():
            if v in self._variables:
                axis = self._axis(v)
                if not 0 <= int(state) < self._table.shape[axis]:
                    raise ModelError(
                        f"state index {state} out of range for {v!r} "
                        f"(cardinality {self._table.shape[axis]})"
                    )
                index[axis] = int(state)
        keep = tuple(v for v, i in zip(self._variables, index, strict=True) if isinstance(i, slice))
        return Factor(keep, self._table[tuple(index)], validate=False)

    def normalize(self) -> Factor:
        """Scale the table to sum to one (error if it sums to zero)."""
        total = self._table.sum()
        if total <= 0:
            raise ModelError(f"cannot normalize {self!r}: its entries sum to {total}")
        return Factor(self._variables, self._table / total, validate=False)

    def value(self, assignment: Mapping[str, int]) -> float:
        """The table entry at a full assignment of the scope."""
        return float(self._table[tuple(int(assignment[v]) for v in self._variables)])
