"""FactorGraph: p(x) = (1/Z) Π_α ψ_α(x_α) — the one input of every inference routine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.factor import Factor

__all__ = ["Evidence", "FactorGraph"]

State = int | str | np.integer
Evidence = Mapping[str, State]


class FactorGraph:
    """An undirected, globally normalized model over named discrete variables.

    `cards` may name variables that appear in no factor (they still multiply Z by their
    cardinality) and, when given, fixes the order of `variables` (factor-only variables
    follow); otherwise variables come in order of first appearance. `states` gives optional
    state names per variable.

    >>> fg = FactorGraph([Factor(("a",), [1.0, 3.0])], states={"a": ["off", "on"]})
    >>> fg.variables, fg.card("a"), fg.state_index("a", "on")
    (('a',), 2, 1)
    """

    def __init__(
        self,
        factors: Sequence[Factor],
        cards: Mapping[str, int] | None = None,
        states: Mapping[str, Sequence[str]] | None = None,
        name: str = "",
    ) -> None:
        self.name = name
        self.factors: tuple[Factor, ...] = tuple(factors)
        # `cards`, when given, fixes the variable order (UAI files number their variables)
        card_of: dict[str, int] = {str(v): int(c) for v, c in (cards or {}).items()}
        for i, f in enumerate(self.factors):
            if not isinstance(f, Factor):
                raise TypeError(f"factors[{i}] must be a Factor, got {type(f).__name__}")
            for v, c in zip(f.variables, f.cards, strict=True):
                if card_of.setdefault(v, c) != c:
                    raise ModelError(
                        f"variable {v!r} has cardinality {card_of[v]} (from cards or an earlier "
                        f"factor) but {c} in factors[{i}] {f!r}"
                    )
        self.cards: dict[str, int] = card_of
        self.variables: tuple[str, ...] = tuple(card_of)
        self.states: dict[str, tuple[str, ...]] = {}
        for v, names in (states or {}).items():
            names = tuple(str(s) for s in names)
            if v not in card_of:
                raise ModelError(f"states given for unknown variable {v!r}")
            if len(names) != card_of[v] or len(set(names)) != len(names):
                raise ModelError(
                    f"variable {v!r} has cardinality {card_of[v]} but states {names} "
                    "(need that many distinct names)"
                )
            self.states[v] = names
        self._position = {v: i for i, v in enumerate(self.variables)}

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"FactorGraph{label}({len(self.variables)} variables, {len(self.factors)} factors)"

    def to_factor_graph(self) -> FactorGraph:
        """A factor graph lowers to itself."""
        return self

    def card(self, variable: str) -> int:
        """Cardinality of `variable` (clear error when unknown)."""
        try:
            return self.cards[variable]
        except KeyError:
            raise ModelError(f"unknown variable {variable!r} in {self!r}") from None

    def state_names(self, variable: str) -> tuple[str, ...]:
        """State names of `variable`; "0", "1", ... when the model has none."""
        return self.states.get(variable) or tuple(str(i) for i in range(self.card(variable)))

    def state_index(self, variable: str, state: State) -> int:
        """Index of `state` (a name or an index) of `variable`, validated."""
        card = self.card(variable)
        names = self.states.get(variable)
        if isinstance(state, str):
            if names is not None and state in names:
                return names.index(state)
            if names is None and state.lstrip("-").isdigit():
                state = int(state)
            else:
                known = ", ".join(self.state_names(variable))
                raise ModelError(f"unknown state {state!r} of {variable!r} (states: {known})")
        index = int(state)
        if not 0 <= index < card:
            raise ModelError(f"state index {index} of {variable!r} out of range 0..{card - 1}")
        return index

    def encode_evidence(self, evidence: Evidence | None) -> dict[str, int]:
        """Evidence {variable: state name or index} as {variable: index}, validated."""
        return {str(v): self.state_index(str(v), s) for v, s in (evidence or {}).items()}

    def encode_evidence_rows(
        self,
        evidence: Sequence[Evidence] | Mapping[str, Sequence[State]] | np.ndarray,
        variables: Sequence[str] | None = None,
    ) -> tuple[tuple[str, ...], np.ndarray]:
        """Many evidence rows as (observed variables, int array (N, k)).

        Accepts a list of dicts that all observe the same variables, a dict of columns, or an
        integer array (N, k) whose columns are `variables`.
        """
        if isinstance(evidence, np.ndarray):
            if variables is None:
                raise ModelError("an evidence array needs `variables` naming its columns")
            names = tuple(str(v) for v in variables)
            rows = np.asarray(evidence)
            if rows.ndim != 2 or rows.shape[1] != len(names):
                raise ModelError(
                    f"evidence array must have shape (N, {len(names)}), got {rows.shape}"
                )
            for j, v in enumerate(names):
                card = self.card(v)
                if rows.size and (rows[:, j].min() < 0 or rows[:, j].max() >= card):
                    raise ModelError(f"evidence column {v!r} has states outside 0..{card - 1}")
            return names, rows.astype(np.intp, copy=False)
        if isinstance(evidence, Mapping):
            names = tuple(str(v) for v in evidence)
            columns = [[self.state_index(v, s) for s in evidence[v]] for v in names]
            lengths = {len(c) for c in columns}
            if len(lengths) > 1:
                raise ModelError(f"evidence columns have different lengths {sorted(lengths)}")
            return names, np.array(columns, dtype=np.intp).T.reshape(-1, len(names))
        rows_list = list(evidence)
        if not rows_list:
            raise ModelError("no evidence rows given")
        names = tuple(str(v) for v in rows_list[0])
        out = np.empty((len(rows_list), len(names)), dtype=np.intp)
        for i, row in enumerate(rows_list):
            if set(map(str, row)) != set(names):
                raise ModelError(
                    f"evidence row {i} observes {sorted(map(str, row))}, row 0 observes "
                    f"{sorted(names)}: batched rows must observe the same variables"
                )
            for j, v in enumerate(names):
                out[i, j] = self.state_index(v, row[v])
        return names, out

    def log_factors(self, evidence: Mapping[str, int]
                    ) -> tuple[list[tuple[int, tuple[str, ...], np.ndarray]], float]:
        """The factors with `evidence` (state indices) clamped, in log space (float64, −inf
        for zeros): (factor index, remaining variables, log table) for those that keep a
        variable, and the summed log of those left with none."""
        kept: list[tuple[int, tuple[str, ...], np.ndarray]] = []
        constant = 0.0
        with np.errstate(divide="ignore"):
            for a, f in enumerate(self.factors):
                reduced = f.reduce({v: s for v, s in evidence.items() if v in f.variables})
                log_table = np.log(reduced.table.astype(np.float64))
                if reduced.variables:
                    kept.append((a, reduced.variables, log_table))
                else:
                    constant += float(log_table)
        return kept, constant

    def log_score(self, assignment: Mapping[str, int]) -> float:
        """log Π_α ψ_α(x_α) at a full assignment of state indices (−inf where a factor is 0)."""
        with np.errstate(divide="ignore"):
            return float(sum(np.log(f.value(assignment)) for f in self.factors))
