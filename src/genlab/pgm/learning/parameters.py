"""Parameter learning: CPTs from data by counting (MLE, Dirichlet priors) or by EM.

`fit(structure, data, ...)` returns a new BayesianNetwork with the given structure. Complete
rows are counted once; rows with missing cells (and latent variables, which are missing in
every row) go through EM, whose E-step is the exact engine's `expected_statistics`: each row's
evidence enters as hard evidence on the columns observed in every incomplete row and as
likelihood vectors (one-hot where observed, ones where missing) on the others, so all rows
share one plan and one batched contraction per iteration (``estep="soft"``); ``"patterns"``
groups rows by missingness pattern instead, one plan per pattern.

Priors are pseudo-counts added to the (expected) counts: CPT = (N + α) / Σ_child (N + α), which
is the posterior mean and the MAP estimate under Dirichlet(α + 1); EM then increases
log-likelihood + Σ α log θ at every iteration (a test checks it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError, ZeroEvidenceError
from genlab.pgm.learning.counts import check_table_size, count_many
from genlab.pgm.learning.data import Dataset, as_dataset
from genlab.pgm.learning.graph import as_dag
from genlab.pgm.learning.rows import choose_estep, evidence_blocks
from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork

__all__ = ["PRIORS", "EMResult", "em", "fit", "log_likelihood", "prior_counts", "skeleton"]

PRIORS = ("mle", "bdeu", "k2", "dirichlet")
MISSING_MODES = ("em", "drop", "available")
EVIDENCE_CACHE_BYTES = 256 * 2**20  # EM keeps its evidence blocks across iterations below this


# ----------------------------------------------------------------------------------------------
# structure + states
# ----------------------------------------------------------------------------------------------
def skeleton(
    structure: Any,
    states: Mapping[str, Sequence[str]] | None = None,
    latent: Mapping[str, Any] | Sequence[str] | None = None,
) -> BayesianNetwork:
    """A network with the structure given and uniform CPTs. States come from the network
    itself, then `states` (e.g. the data's columns), then `latent` ({H: cardinality or state
    names})."""
    dag = as_dag(structure)
    given: dict[str, tuple[str, ...]] = {}
    if isinstance(structure, BayesianNetwork):
        given.update({v: structure.state_names(v) for v in structure.variables})
    for v, names in (states or {}).items():
        given.setdefault(str(v), tuple(map(str, names)))
    for v, names in _latent_spec(latent).items():
        bare = isinstance(latent[v], (int, np.integer))  # type: ignore[index]
        if not (bare and len(given.get(v, ())) == len(names)):
            given[v] = names  # a bare cardinality keeps the model's own names for H
    lacking = [v for v in dag.nodes if v not in given]
    if lacking:
        raise ModelError(f"no states known for {lacking}: they are neither data columns nor latent")
    for v in dag.nodes:  # refuse a family too large before allocating its table
        family = (*dag.parents(v), v)
        check_table_size(family, [len(given[u]) for u in family], "family")
    cpts = [
        CPT(v, np.full((*(len(given[p]) for p in dag.parents(v)), len(given[v])),
                       1.0 / len(given[v])), dag.parents(v))
        for v in dag.topological_order()
    ]
    name = getattr(structure, "name", "")
    return BayesianNetwork(cpts, states={v: given[v] for v in dag.nodes}, name=name)


def _latent_spec(latent: Mapping[str, Any] | Sequence[str] | None) -> dict[str, tuple[str, ...]]:
    """{H: 2} or {H: ["a", "b"]} → state names; a bare list of names needs the model's states."""
    out: dict[str, tuple[str, ...]] = {}
    if latent is None or not isinstance(latent, Mapping):
        return out
    for v, spec in latent.items():
        if isinstance(spec, (int, np.integer)):
            if spec < 1:
                raise ModelError(f"latent variable {v!r} needs at least one state, got {spec}")
            out[str(v)] = tuple(str(i) for i in range(int(spec)))
        else:
            out[str(v)] = tuple(map(str, spec))
    return out


def _latent_names(latent: Mapping[str, Any] | Sequence[str] | None) -> tuple[str, ...]:
    if latent is None:
        return ()
    return tuple(str(v) for v in latent)


# ----------------------------------------------------------------------------------------------
# priors
# ----------------------------------------------------------------------------------------------
def prior_counts(
    bn: BayesianNetwork,
    prior: str = "mle",
    equivalent_sample_size: float = 1.0,
    pseudo: Any = None,
) -> dict[str, np.ndarray]:
    """The pseudo-count table α of every family, shaped like its CPT (*parent_cards, card).

    mle: 0; bdeu: ess / (q r) per cell; k2: 1 per cell; dirichlet: `pseudo` — one number for
    every cell, or {variable: number or array broadcastable to the CPT}."""
    if prior not in PRIORS:
        raise ModelError(f"unknown prior {prior!r}; choose from {', '.join(PRIORS)}")
    out = {}
    for v in bn.variables:
        shape = bn.cpt(v).table.shape
        q, r = math.prod(shape[:-1]), shape[-1]
        if prior == "mle":
            alpha: Any = 0.0
        elif prior == "k2":
            alpha = 1.0
        elif prior == "bdeu":
            if not equivalent_sample_size > 0:
                raise ModelError(
                    f"the equivalent sample size must be positive, got {equivalent_sample_size}"
                )
            alpha = equivalent_sample_size / (q * r)
        else:
            if pseudo is None:
                raise ModelError('prior="dirichlet" needs pseudo_counts=')
            alpha = pseudo.get(v, 0.0) if isinstance(pseudo, Mapping) else pseudo
        try:
            table = np.broadcast_to(np.asarray(alpha, dtype=np.float64), shape).copy()
        except ValueError:
            raise ModelError(
                f"pseudo-counts of {v!r} have shape {np.shape(alpha)}, not broadcastable to "
                f"its CPT's {shape}"
            ) from None
        if not np.all(np.isfinite(table)) or table.min(initial=0.0) < 0:
            raise ModelError(f"pseudo-counts of {v!r} must be finite and non-negative")
        out[v] = table
    return out


def _normalize(counts: np.ndarray) -> np.ndarray:
    """Rows of (*parents, card) divided by their sums; rows with no mass become uniform."""
    total = counts.sum(axis=-1, keepdims=True)
    empty = total <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        table = np.where(empty, 1.0 / counts.shape[-1], counts / np.where(empty, 1.0, total))
    return table


def _network(bn: BayesianNetwork, tables: Mapping[str, np.ndarray]) -> BayesianNetwork:
    return BayesianNetwork(
        [CPT(v, tables[v], bn.parents(v)) for v in bn.variables],
        states={v: bn.state_names(v) for v in bn.variables},
        name=bn.name,
    )


def _family_counts(
    bn: BayesianNetwork, data: Any, with_total: bool = False
) -> dict[str, np.ndarray]:
    """Counts of every family (*parents, child) in one pass (available-case); with
    `with_total`, also the weight of all rows under the key "" (same pass)."""
    scopes: list[tuple[str, ...]] = [(*bn.parents(v), v) for v in bn.variables]
    for scope in scopes:
        check_table_size(scope, [bn.cards[u] for u in scope], "family count")
    tables = count_many(data, [*scopes, ()] if with_total else scopes)
    keys = [*bn.variables, ""] if with_total else list(bn.variables)
    return dict(zip(keys, tables, strict=True))


# ----------------------------------------------------------------------------------------------
# fit
# ----------------------------------------------------------------------------------------------
def fit(
    structure: Any,
    data: Any,
    *,
    prior: str = "mle",
    equivalent_sample_size: float = 1.0,
    pseudo_counts: Any = None,
    weights: Any = None,
    missing: str = "em",
    latent: Mapping[str, Any] | Sequence[str] | None = None,
    states: Mapping[str, Sequence[str]] | None = None,
    **em_options: Any,
) -> BayesianNetwork:
    """A network with `structure` (a BayesianNetwork — its CPTs are ignored —, a DAG or a
    {node: parents} map) and CPTs learned from `data`.

    `missing` says what to do with missing cells: "em" (expectation–maximisation; the
    default, and required for `latent` variables), "drop" (complete rows only) or
    "available" (each family counted on the rows observing it). `latent` = {H: cardinality}
    names variables of the structure absent from the data. `em_options` go to :func:`em`
    (max_iter, tol, restarts, seed, estep, callback).

    >>> from genlab.pgm import examples
    >>> bn = examples.red_blue_network()
    >>> data = bn.sample(20_000, seed=0)
    >>> learned = fit(bn, data)
    >>> round(float(learned.cpt("X1").table[0]), 1)
    0.4
    """
    if missing not in MISSING_MODES:
        raise ModelError(f"missing must be one of {', '.join(MISSING_MODES)}, got {missing!r}")
    hidden = _latent_names(latent)
    if hidden and missing != "em":
        raise ModelError(f'latent variables {list(hidden)} can only be learned with missing="em"')
    source = _source(data, structure, states, latent, weights)
    bn = skeleton(structure, {**source.states, **(states or {})}, latent)
    if not isinstance(source, Dataset):  # chunked / distributed: one counting pass
        if hidden:
            raise ModelError("EM for latent variables needs the rows in memory (a DataFrame)")
        return _fit_counts(bn, source, prior, equivalent_sample_size, pseudo_counts, missing)
    dataset = as_dataset(source, bn, latent=hidden)
    if missing == "drop":
        dataset = dataset.rows(~dataset.missing.any(axis=1))
    if missing == "em" and dataset.has_missing():
        return em(
            bn, dataset, latent=latent, prior=prior,
            equivalent_sample_size=equivalent_sample_size, pseudo_counts=pseudo_counts,
            **em_options,
        ).network
    return _fit_counts(bn, dataset, prior, equivalent_sample_size, pseudo_counts)


def _fit_counts(
    bn: BayesianNetwork, data: Any, prior: str, ess: float, pseudo: Any, missing: str = ""
) -> BayesianNetwork:
    alpha = prior_counts(bn, prior, ess, pseudo)
    check = missing in ("em", "drop") and not isinstance(data, Dataset)
    counts = _family_counts(bn, data, with_total=check)
    if check:  # a source we cannot revisit row by row: refuse, not guess
        total = float(counts[""])
        short = [v for v in bn.variables if counts[v].sum() < total - 1e-9 * max(total, 1.0)]
        if short:
            raise ModelError(
                f"the data has missing cells (families of {short[:5]}); missing={missing!r} "
                "needs the rows in memory — load them as a DataFrame, or use "
                'missing="available"'
            )
    return _network(bn, {v: _normalize(counts[v] + alpha[v]) for v in bn.variables})


def _source(
    data: Any,
    structure: Any,
    states: Mapping[str, Sequence[str]] | None,
    latent: Mapping[str, Any] | Sequence[str] | None,
    weights: Any,
) -> Any:
    """In-memory data as a Dataset over the structure's observed variables (strict about
    columns, weights attached); chunked or distributed count sources pass through."""
    from genlab.pgm.learning.counts import CountSource
    from genlab.pgm.learning.sources import as_source, is_out_of_core

    if isinstance(data, CountSource):
        if weights is not None:
            raise ModelError("weights of a chunked or distributed source go in its own rows")
        if isinstance(structure, BayesianNetwork) and hasattr(data, "with_states"):
            return data.with_states({v: structure.state_names(v) for v in structure.variables})
        return data
    if is_out_of_core(data):  # chunks or a Dask DataFrame
        source = as_source(data, structure if isinstance(structure, BayesianNetwork) else None,
                           states=states, weights=weights)
        lacking = [v for v in as_dag(structure).nodes if v not in source.variables]
        if lacking and not _latent_names(latent):
            raise ModelError(f"the data lacks the column(s) {lacking}")
        return source
    hidden = _latent_names(latent)
    if isinstance(structure, BayesianNetwork):
        dataset = as_dataset(data, structure, states=states, weights=weights, latent=hidden)
    else:
        observed = [v for v in as_dag(structure).nodes if v not in hidden]
        dataset = as_dataset(data, states=states, weights=weights, variables=observed)
    if dataset.num_rows:
        empty = [
            v for j, v in enumerate(dataset.variables)
            if v not in hidden and not (dataset.codes[:, j] >= 0).any()
        ]
        if empty:
            raise ModelError(
                f"column(s) {empty} have no observed value; declare them latent "
                f"(latent={{{empty[0]!r}: number of states}}) or drop them from the structure"
            )
    return dataset


# ----------------------------------------------------------------------------------------------
# EM
# ----------------------------------------------------------------------------------------------
@dataclass
class EMResult:
    """What EM returns: the network, the log-likelihood of the observed data after each
    iteration (and the penalised objective EM increases), convergence, the restart chosen."""

    network: BayesianNetwork
    log_likelihoods: list[float] = field(default_factory=list)
    objectives: list[float] = field(default_factory=list)
    iterations: int = 0
    converged: bool = False
    restart: int = 0
    restart_objectives: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def log_likelihood(self) -> float:
        return self.log_likelihoods[-1] if self.log_likelihoods else float("nan")


def em(
    structure: Any,
    data: Any,
    *,
    latent: Mapping[str, Any] | Sequence[str] | None = None,
    prior: str = "mle",
    equivalent_sample_size: float = 1.0,
    pseudo_counts: Any = None,
    weights: Any = None,
    states: Mapping[str, Sequence[str]] | None = None,
    max_iter: int = 100,
    tol: float = 1e-6,
    restarts: int = 0,
    seed: int | None = 0,
    init: BayesianNetwork | None = None,
    estep: str = "auto",
    callback: Callable[[int, float], None] | None = None,
) -> EMResult:
    """Expectation–maximisation for missing cells and latent variables.

    Starts from the available-case estimate (observed families) and random Dirichlet CPTs
    for families touching a latent variable (asymmetric, seeded: symmetric starts never
    leave the uniform fixed point), or from `init`; each of `restarts` more starts draws new
    random CPTs and the run with the best final objective wins. Stops when the objective
    (log-likelihood + Σ α log θ) improves by less than `tol` relative to its size.
    `callback(iteration, log_likelihood)` is called after every iteration.
    """
    import time

    if estep not in ("auto", "soft", "patterns"):
        raise ModelError(f"estep must be auto, soft or patterns, got {estep!r}")
    if max_iter < 1:
        raise ModelError(f"max_iter must be at least 1, got {max_iter}")
    started = time.perf_counter()
    hidden = _latent_names(latent)
    source = _source(data, structure, states, latent, weights)
    if not isinstance(source, Dataset):
        raise ModelError("EM needs the rows in memory: pass a DataFrame, CSV path or Dataset")
    bn = skeleton(structure, {**source.states, **(states or {})}, latent)
    dataset = as_dataset(source, bn, latent=[v for v in hidden if v not in source.variables])
    alpha = prior_counts(bn, prior, equivalent_sample_size, pseudo_counts)
    problem = _EMProblem(bn, dataset, alpha, estep)
    rng = np.random.default_rng(seed)
    best: EMResult | None = None
    finals = []
    first = _aligned(init, bn) if init is not None else None
    for attempt in range(restarts + 1):
        start = first if (first is not None and attempt == 0) else problem.initial(rng, hidden)
        result = problem.run(start, max_iter, tol, callback)
        result.restart = attempt
        finals.append(result.objectives[-1])
        if best is None or result.objectives[-1] > best.objectives[-1]:
            best = result
    assert best is not None
    best.restart_objectives = finals
    best.seconds = time.perf_counter() - started
    return best


def _aligned(init: BayesianNetwork, bn: BayesianNetwork) -> BayesianNetwork:
    """`init`'s CPTs re-expressed over `bn`'s parent order and state order (by name); a
    clear error when a variable, a parent set or a state set differs."""
    tables = {}
    for v in bn.variables:
        if v not in init.variables:
            raise ModelError(f"init lacks the variable {v!r}")
        if set(init.parents(v)) != set(bn.parents(v)):
            raise ModelError(
                f"init gives {v!r} the parents {init.parents(v)}, the structure {bn.parents(v)}"
            )
        table = init.cpt(v).table
        family = (*init.parents(v), v)
        table = np.transpose(table, [family.index(u) for u in (*bn.parents(v), v)])
        for axis, u in enumerate((*bn.parents(v), v)):
            theirs, ours = init.state_names(u), bn.state_names(u)
            if set(theirs) != set(ours):
                raise ModelError(f"init names the states of {u!r} {theirs}, the data {ours}")
            table = np.take(table, [theirs.index(s) for s in ours], axis=axis)
        tables[v] = table
    return _network(bn, tables)


class _EMProblem:
    """The data of one EM run split once: complete rows as fixed counts, incomplete rows as
    evidence blocks for the engine."""

    def __init__(
        self, bn: BayesianNetwork, data: Dataset, alpha: dict[str, np.ndarray], estep: str
    ) -> None:
        from genlab.pgm.inference import ExactInference

        self.bn = bn
        self.alpha = alpha
        if data.weights is not None and not data.weights.all():  # weight 0: not in the data
            data = data.rows(data.weights > 0)
        incomplete = data.missing.any(axis=1)
        complete = data.rows(~incomplete)
        self.fixed = _family_counts(bn, complete)  # counted once
        self.available = _family_counts(bn, data)  # available-case counts, for starting
        self.complete = complete
        self.rows = data.rows(incomplete)
        self.row_ids = np.flatnonzero(incomplete)  # data rows of self.rows, for errors
        self.engine = ExactInference(bn)
        self.estep = estep if estep != "auto" else choose_estep(self.rows)
        # the evidence never changes: build its blocks once when they are small enough
        size = self.rows.num_rows * sum(len(s) for s in self.rows.states.values()) * 8
        self.blocks = (list(evidence_blocks(self.rows, self.estep))
                       if size <= EVIDENCE_CACHE_BYTES else None)

    def _blocks(self) -> Any:
        return self.blocks if self.blocks is not None else evidence_blocks(self.rows, self.estep)

    def initial(self, rng: np.random.Generator, hidden: Sequence[str]) -> BayesianNetwork:
        """Available-case estimates, lightly smoothed; random CPTs where a latent variable is
        in the family."""
        counts = self.available
        tables = {}
        for v in self.bn.variables:
            family = (*self.bn.parents(v), v)
            shape = counts[v].shape
            if any(h in family for h in hidden) or counts[v].sum() == 0:
                tables[v] = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1] or None).reshape(
                    shape
                )
            else:
                tables[v] = _normalize(counts[v] + self.alpha[v] + 0.5)
        return _network(self.bn, tables)

    def expected_counts(self, bn: BayesianNetwork) -> tuple[dict[str, np.ndarray], float]:
        """E-step: expected family counts over all rows and the log-likelihood of the data."""
        engine = self.engine.with_model(bn)
        counts = {v: self.fixed[v].copy() for v in bn.variables}
        loglik = _complete_loglik(bn, self.complete)
        factors = bn.to_factor_graph().factors
        for kwargs, index in self._blocks():
            w = None if self.rows.weights is None else self.rows.weights[index]
            try:
                tables, log_z = engine.expected_statistics(**kwargs, weights=w)
            except ZeroEvidenceError:  # name the data rows, not positions in the block
                bad = self.row_ids[index[np.isneginf(engine.log_partition(**kwargs))]]
                raise ZeroEvidenceError(
                    f"data rows {bad[:10].tolist()} have probability zero under the current "
                    "parameters (an init or prior with zeros where the data has cases)"
                ) from None
            loglik += _weighted_sum(log_z, w)
            for f, table in zip(factors, tables, strict=True):
                counts[f.variables[-1]] += table
        return counts, loglik

    def run(
        self,
        start: BayesianNetwork,
        max_iter: int,
        tol: float,
        callback: Callable[[int, float], None] | None,
    ) -> EMResult:
        """Alternate M- and E-steps from `start`; the log-likelihood recorded last is that of
        the network returned."""
        bn = start
        counts, loglik = self.expected_counts(bn)
        result = EMResult(bn, [loglik], [loglik + _log_prior(bn, self.alpha)])
        for it in range(1, max_iter + 1):
            bn = _network(self.bn, {v: _normalize(counts[v] + self.alpha[v])
                                    for v in self.bn.variables})
            counts, loglik = self.expected_counts(bn)
            objective = loglik + _log_prior(bn, self.alpha)
            gain = objective - result.objectives[-1]
            result.network, result.iterations = bn, it
            result.log_likelihoods.append(loglik)
            result.objectives.append(objective)
            if callback is not None:
                callback(it, loglik)
            if gain <= tol * max(1.0, abs(objective)):
                result.converged = True
                break
        return result


def _log_prior(bn: BayesianNetwork, alpha: Mapping[str, np.ndarray]) -> float:
    """Σ α log θ (the Dirichlet(α + 1) log prior up to a constant); 0 · log 0 = 0."""
    total = 0.0
    for v in bn.variables:
        a = alpha[v]
        if a.any():
            with np.errstate(divide="ignore"):
                total += float(np.where(a > 0, a * np.log(bn.cpt(v).table), 0.0).sum())
    return total


# ----------------------------------------------------------------------------------------------
# log-likelihood
# ----------------------------------------------------------------------------------------------
def _weighted_sum(values: np.ndarray, weights: np.ndarray | None) -> float:
    """Σ w·v where a row of weight 0 adds nothing, even when its v is −inf."""
    if weights is None:
        return float(values.sum())
    with np.errstate(invalid="ignore"):
        return float(np.where(weights > 0, weights * values, 0.0).sum())


def _complete_loglik(bn: BayesianNetwork, data: Dataset, per_row: bool = False) -> Any:
    """Σ_n w_n log P(x_n) of complete rows: one CPT lookup per variable, vectorised."""
    if data.num_rows == 0:
        return np.zeros(0) if per_row else 0.0
    rows = np.zeros(data.num_rows)
    with np.errstate(divide="ignore"):
        for v in bn.variables:
            table = bn.cpt(v).table
            index = tuple(np.asarray(data.column(u), dtype=np.intp)
                          for u in (*bn.parents(v), v))
            rows += np.log(table[index])
    if per_row:
        return rows
    return _weighted_sum(rows, data.weights)


def log_likelihood(
    model: BayesianNetwork,
    data: Any,
    *,
    per_row: bool = False,
    weights: Any = None,
    estep: str = "auto",
) -> Any:
    """log P(data | model): Σ_n w_n log P(x_n), where a row with missing cells contributes
    the marginal probability of what it observes (a batched log P(e)). With `per_row`, the
    (N,) array of each row's log-probability instead (unweighted); −inf marks an impossible
    row.

    >>> from genlab.pgm import examples
    >>> bn = examples.red_blue_network()
    >>> round(log_likelihood(bn, {"X1": ["red"], "X2": ["red"], "X3": ["blue"],
    ...                          "X4": ["blue"], "X5": ["blue"]}), 4)  # log(.4·.7·.4·.2·.6)
    -4.3095
    """
    from genlab.pgm.inference import engine

    dataset = as_dataset(data, model, weights=weights)
    incomplete = dataset.missing.any(axis=1)
    out = np.empty(dataset.num_rows)
    out[~incomplete] = _complete_loglik(model, dataset.rows(~incomplete), per_row=True)
    if incomplete.any():
        rows = dataset.rows(incomplete)
        where = np.flatnonzero(incomplete)
        eng = engine(model)
        chosen = estep if estep != "auto" else choose_estep(rows)
        for kwargs, index in evidence_blocks(rows, chosen):
            out[where[index]] = eng.log_partition(**kwargs)
    if per_row:
        return out
    return _weighted_sum(out, dataset.weights)
