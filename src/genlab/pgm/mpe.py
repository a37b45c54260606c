"""MAP (MPE) when the max-product contraction does not fit: max-product loopy BP decoded by
per-variable argmax, then improved by local search (iterated conditional modes).

The answer is a real assignment with its true log score, but nothing proves it optimal, so
the result says `exact=False`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.loopy import BPReport, LoopyBP
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.sampling import conditional_tables

__all__ = ["ApproximateMapReport", "approximate_map", "local_search"]


@dataclass(frozen=True)
class ApproximateMapReport:
    """How an approximate MAP answer was found: the max-product BP run, then local search."""

    bp: BPReport
    decoded_log_score: float
    moves: int
    sweeps: int
    seconds: float

    @property
    def residual(self) -> float:
        return self.bp.residual

    def describe(self) -> str:
        return (f"max-product {self.bp.describe()}; decoded log score "
                f"{self.decoded_log_score:.6g}, then {self.moves} local-search moves in "
                f"{self.sweeps} sweeps; {self.seconds:.2f} s in all")


def local_search(tables: list[list[tuple[np.ndarray, list[int]]]], state: np.ndarray,
                 free: list[int], deadline: float | None = None, max_sweeps: int = 100
                 ) -> tuple[np.ndarray, int, int]:
    """Iterated conditional modes: move each free variable to the state that maximises the
    model given all the others, sweep after sweep, until a sweep changes nothing. Moves only
    on a strict improvement, so the log score never decreases. (state, moves, sweeps)."""
    state = state.copy()
    moves = sweeps = 0
    with np.errstate(divide="ignore"):
        for sweeps in range(1, max_sweeps + 1):  # noqa: B007 (reported)
            changed = 0
            for i in free:
                logits = 0.0
                for table, others in tables[i]:
                    logits = logits + table[tuple(state[j] for j in others)]
                if np.ndim(logits) == 0:
                    continue  # in no factor
                best = int(np.argmax(logits))
                if logits[best] > logits[state[i]]:
                    state[i] = best
                    changed += 1
            moves += changed
            if not changed or (deadline is not None and time.perf_counter() > deadline):
                break
    return state, moves, sweeps


def approximate_map(graph: FactorGraph, evidence: Mapping[str, Any] | None = None, *,
                    time_limit: float | None = None, damping: float = 0.5,
                    max_iterations: int = 1000, tolerance: float = 1e-8) -> Any:
    """The approximate MAP of `graph` given `evidence` (a `MapResult` with exact=False)."""
    from genlab.pgm.inference import MapResult

    t0 = time.perf_counter()
    bp = LoopyBP(graph, evidence, mode="max", damping=damping, tolerance=tolerance,
                 max_iterations=max_iterations,
                 time_limit=None if time_limit is None else 0.7 * time_limit)
    result = bp.run()
    clamp = bp.evidence
    index = {v: i for i, v in enumerate(graph.variables)}
    state = np.array([clamp[v] if v in clamp else int(np.argmax(result.marginals[v]))
                      for v in graph.variables], dtype=np.intp)
    decoded = graph.log_score(dict(zip(graph.variables, state.tolist(), strict=True)))
    free = [index[v] for v in graph.variables if v not in clamp]
    deadline = None if time_limit is None else t0 + time_limit
    state, moves, sweeps = local_search(conditional_tables(graph, index), state, free, deadline)
    assignment = dict(zip(graph.variables, map(int, state), strict=True))
    report = ApproximateMapReport(result.report, decoded, moves, sweeps,
                                  time.perf_counter() - t0)
    return MapResult(assignment, graph.log_score(assignment), graph.states, exact=False,
                     method="approximate", report=report)
