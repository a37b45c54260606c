"""`learn`: structure and parameters from data in one call, by any of the structure learners.

Methods (registered in METHODS):
- ``tabu`` (the default) and ``hc``: hill climbing over DAGs with a decomposable score (BIC by
  default); tabu search goes on through non-improving moves with a tabu list, which on the
  bnlearn benchmark finds markedly better structures for ~1.5× the time;
- ``pc``: PC-stable with G² / χ² tests (a CPDAG, extended to a DAG for the parameters);
- ``chow-liu``: the maximum-likelihood tree; ``tan``: a tree-augmented naive Bayes for
  `class_variable`;
- ``exact``: the score-optimal DAG by dynamic programming (up to ~20 variables).

The CPTs are then fitted on the learned DAG (`fit`; EM for missing cells when the rows are in
memory, available-case counts otherwise).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.data import Dataset
from genlab.pgm.learning.graph import DAG, PDAG, cpdag
from genlab.pgm.learning.scores import Scorer
from genlab.pgm.learning.sources import as_source
from genlab.pgm.models.bayesian_network import BayesianNetwork

__all__ = ["METHODS", "LearnResult", "learn"]

METHODS = ("hc", "tabu", "pc", "chow-liu", "tan", "exact")


@dataclass
class LearnResult:
    """A learned network with its structure, how it was found and what it cost.

    `cpdag` is the learned equivalence class (PC's own output; the CPDAG of the DAG for the
    others), `score` the DAG's total score under `score_name` on the data, `details` the
    learner's own result (SearchResult, PCResult) where it has one."""

    network: BayesianNetwork
    dag: DAG
    cpdag: PDAG
    method: str
    score: float
    score_name: str
    seconds: float
    details: Any = None
    notes: list[str] = field(default_factory=list)


def learn(
    data: Any,
    method: str = "tabu",
    *,
    score: str = "bic",
    ess: float = 1.0,
    max_parents: int | None = None,
    black_list: Iterable[Sequence[str]] = (),
    white_list: Iterable[Sequence[str]] = (),
    start: Any = None,
    restarts: int = 0,
    tabu_length: int | None = None,
    seed: int | None = 0,
    alpha: float = 0.05,
    test: str = "g2",
    root: str | None = None,
    class_variable: str | None = None,
    prior: str = "mle",
    equivalent_sample_size: float = 1.0,
    states: Mapping[str, Sequence[str]] | None = None,
    weights: Any = None,
    callback: Callable[[int, float], Any] | None = None,
) -> LearnResult:
    """Learn a Bayesian network (structure, then CPTs) from `data`.

    `data` is a DataFrame, CSV path, dict of columns, Dataset, chunked source or Dask
    DataFrame. Score-based methods take `score`, `ess`, `max_parents`, black/white lists (arcs
    as (parent, child)), a `start` DAG (hc/tabu) and `restarts` (seeded by `seed`); PC takes
    `alpha` and `test`; Chow–Liu a `root`; TAN a `class_variable`. `prior` and
    `equivalent_sample_size` are for the CPTs. `callback(iteration, score)` follows a search.

    >>> from genlab.pgm import examples
    >>> from genlab.pgm.sampling import sample
    >>> rows = sample(examples.red_blue_network(), 5000, seed=0)
    >>> result = learn(rows)
    >>> sorted(result.cpdag.directed)
    [('X2', 'X4'), ('X3', 'X4')]
    """
    from genlab.pgm.learning.parameters import fit

    if method not in METHODS:
        raise ModelError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    started = time.perf_counter()
    source = as_source(data, states=states, weights=weights)
    scorer = Scorer(source, score, ess)
    black, white = list(black_list), list(white_list)
    notes: list[str] = []
    details: Any = None
    pdag: PDAG | None = None
    if method in ("hc", "tabu"):
        from genlab.pgm.learning.search import hill_climb, tabu_search

        search = hill_climb if method == "hc" else tabu_search
        options: dict[str, Any] = {}
        if tabu_length is not None:
            options["tabu_length"] = tabu_length
        details = search(
            scorer=scorer, max_parents=max_parents, black_list=black, white_list=white,
            start=start, restarts=restarts, seed=seed, callback=callback, **options,
        )
        dag = details.dag
    elif method == "pc":
        from genlab.pgm.learning.pc import pc

        _no_lists(black, white, start, "pc")
        details = pc(source, alpha=alpha, test=test, max_cond=max_parents)
        pdag = details.pdag
        dag = pdag.to_dag()
    elif method == "chow-liu":
        from genlab.pgm.learning.tree import chow_liu

        _no_lists(black, white, start, "chow-liu")
        dag = chow_liu(source, root=root)
    elif method == "tan":
        from genlab.pgm.learning.tree import tan

        _no_lists(black, white, start, "tan")
        if class_variable is None:
            raise ModelError('method "tan" needs class_variable=')
        dag = tan(source, class_variable, root=root)
    else:
        from genlab.pgm.learning.exact import exact_search

        dag = exact_search(scorer=scorer, max_parents=max_parents, black_list=black,
                           white_list=white)
    in_memory = isinstance(source, Dataset)
    missing = "em" if in_memory else "available"
    if in_memory and source.has_missing():
        notes.append("structure scored on available cases; CPTs fitted by EM")
    network = fit(dag, source, prior=prior, equivalent_sample_size=equivalent_sample_size,
                  missing=missing, states=source.states)
    total = scorer.total(dag)
    return LearnResult(
        network=network, dag=dag, cpdag=pdag if pdag is not None else cpdag(dag),
        method=method, score=total if math.isfinite(total) else math.nan, score_name=score,
        seconds=time.perf_counter() - started, details=details, notes=notes,
    )


def _no_lists(black: list, white: list, start: Any, method: str) -> None:
    if black or white or start is not None:
        raise ModelError(f"method {method!r} takes no black/white lists or start DAG")
