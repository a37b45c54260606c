"""Sampling: forward (ancestral), exact conditional, likelihood weighting and Gibbs.

- ``forward``: ancestral sampling of a Bayesian network, vectorised over rows: per variable one
  `searchsorted` of u + (parent configuration) into the CPT's cumulative rows laid end to end,
  so a row costs O(log table size) whatever the number of states.
- ``exact``: samples from the posterior given evidence through the contraction engine (one
  forward pass, then the contraction tree walked back from the root) — no rejection, batched
  over evidence rows.
- ``lw``: likelihood weighting — evidence clamped, each row weighted by Π P(e_i | parents);
  returns the weights and the effective sample size.
- ``gibbs``: Gibbs sampling of any factor graph (Markov networks too) with evidence, many
  chains at once.

Every method takes a seed; the same seed gives the same rows. Results are DataFrames with
state names (categorical columns) unless ``as_codes=True``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError, ZeroEvidenceError
from genlab.pgm.learning.data import code_dtype
from genlab.pgm.models.bayesian_network import BayesianNetwork

__all__ = [
    "METHODS",
    "GibbsChains",
    "WeightedSample",
    "conditional_logits",
    "conditional_tables",
    "forward_codes",
    "gibbs_codes",
    "gibbs_marginals",
    "likelihood_weighting",
    "sample",
]

METHODS = ("exact", "forward", "lw", "gibbs")
Seed = int | np.random.Generator | None


class _ForwardSampler:
    """A network's CPTs as cumulative rows laid end to end, compiled once per network."""

    def __init__(self, bn: BayesianNetwork) -> None:
        self.bn = bn
        self.column = {v: i for i, v in enumerate(bn.variables)}
        self.tables: dict[str, tuple[np.ndarray, tuple[int, ...], tuple[int, ...], int]] = {}
        for v in bn.variables:
            cpt = bn.cpt(v)
            card = bn.cards[v]
            rows = cpt.table.reshape(-1, card)
            cdf = np.cumsum(rows, axis=1)
            cdf /= cdf[:, -1:]  # rows sum to 1 within 1e-3 in files; make the last exactly 1
            cdf[:, -1] = 1.0
            offset = cdf + np.arange(rows.shape[0])[:, None]  # row j spans (j, j + 1]
            parent_cards = tuple(bn.cards[p] for p in cpt.parents)
            strides = tuple(int(math.prod(parent_cards[i + 1 :])) for i in range(len(parent_cards)))
            self.tables[v] = (offset.reshape(-1), tuple(self.column[p] for p in cpt.parents),
                              strides, card)

    def run(
        self,
        n: int,
        rng: np.random.Generator,
        clamp: Mapping[str, int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(codes (n, V), log weights (n,)): clamped variables keep their value and add
        log P(value | parents) to the weight (likelihood weighting; zero weights without)."""
        bn = self.bn
        # column-major: each variable's column is read and written contiguously
        out = np.empty((n, len(bn.variables)), dtype=code_dtype(list(bn.cards.values())),
                       order="F")
        log_w = np.zeros(n)
        clamp = clamp or {}
        for v in bn.variables:
            flat, parents, strides, card = self.tables[v]
            config = np.zeros(n, dtype=np.int64)
            for col, stride in zip(parents, strides, strict=True):
                config += out[:, col] * np.int64(stride)
            j = self.column[v]
            if v in clamp:
                state = clamp[v]
                out[:, j] = state
                cdf = flat.reshape(-1, card)
                p = cdf[config, state] - (cdf[config, state - 1] if state else config)
                with np.errstate(divide="ignore"):
                    log_w += np.log(np.maximum(p, 0.0))
                continue
            u = rng.random(n)
            position = np.searchsorted(flat, config + u, side="right")
            out[:, j] = np.minimum(position - config * card, card - 1)
        return out, log_w


def forward_codes(bn: BayesianNetwork, n: int, seed: Seed = None) -> np.ndarray:
    """Ancestral samples as int codes (n, V), columns in `bn.variables` order."""
    if int(n) < 0:
        raise ModelError(f"the number of samples must be non-negative, got {n}")
    return _ForwardSampler(bn).run(int(n), np.random.default_rng(seed))[0]


@dataclass(frozen=True)
class WeightedSample:
    """Likelihood-weighting output: rows, their (normalised) weights, the effective sample
    size 1 / Σ w² and log P(e) estimated as log mean of the unnormalised weights."""

    codes: np.ndarray
    weights: np.ndarray
    effective_sample_size: float
    log_evidence: float
    variables: tuple[str, ...]
    states: Mapping[str, tuple[str, ...]]

    def frame(self, weight_column: str | None = "weight") -> Any:
        from genlab.pgm.learning.data import to_frame

        frame = to_frame(self.codes, self.variables, self.states)
        if weight_column:
            frame[weight_column] = self.weights
        return frame


def likelihood_weighting(
    bn: BayesianNetwork, n: int, evidence: Mapping[str, Any] | None = None, seed: Seed = None
) -> WeightedSample:
    """Forward samples with the evidence clamped, weighted by Π P(e_i | parents)."""
    _require_network(bn, "lw")
    fg = bn.to_factor_graph()
    clamp = fg.encode_evidence(evidence)
    codes, log_w = _ForwardSampler(bn).run(int(n), np.random.default_rng(seed), clamp)
    if n == 0:
        return WeightedSample(codes, np.zeros(0), 0.0, -math.inf, bn.variables, _names(bn))
    peak = log_w.max()
    if not np.isfinite(peak):
        raise ZeroEvidenceError(
            f"every one of the {n} weighted samples has weight zero: the evidence is "
            "impossible or too unlikely for likelihood weighting (use method='exact')"
        )
    w = np.exp(log_w - peak)
    total = w.sum()
    weights = w / total
    return WeightedSample(
        codes, weights, float(1.0 / np.square(weights).sum()),
        float(peak + math.log(total / n)), bn.variables, _names(bn),
    )


def _names(model: Any) -> dict[str, tuple[str, ...]]:
    fg = model.to_factor_graph()
    return {v: fg.state_names(v) for v in fg.variables}


def _require_network(model: Any, method: str) -> None:
    if not isinstance(model, BayesianNetwork):
        raise ModelError(
            f"method {method!r} needs a Bayesian network; use 'exact' or 'gibbs' for a "
            f"{type(model).__name__}"
        )


# ----------------------------------------------------------------------------------------------
# Gibbs
# ----------------------------------------------------------------------------------------------
class GibbsChains:
    """`chains` Gibbs chains of a factor graph with evidence clamped, swept in parallel (one
    variable at a time, every chain at once). A conditional that is zero everywhere (a chain
    in an impossible state) is replaced by uniform, so chains can leave it."""

    def __init__(self, model: Any, evidence: Mapping[str, Any] | None, chains: int,
                 rng: np.random.Generator) -> None:
        fg = model.to_factor_graph()
        self.rng, self.chains = rng, chains
        clamp = fg.encode_evidence(evidence)
        self.variables = fg.variables
        index = {v: i for i, v in enumerate(self.variables)}
        self.cards = [fg.cards[v] for v in self.variables]
        if isinstance(model, BayesianNetwork):  # start where the evidence is possible
            start, _ = _ForwardSampler(model).run(chains, rng, clamp)
            order = [index[v] for v in model.variables]
            self.state = np.empty((chains, len(self.variables)), dtype=np.intp)
            self.state[:, order] = start
        else:
            self.state = np.stack([rng.integers(c, size=chains) for c in self.cards],
                                  axis=1).astype(np.intp).reshape(chains, len(self.variables))
            for v, s in clamp.items():
                self.state[:, index[v]] = s
        self.free = [index[v] for v in self.variables if v not in clamp]
        self.blankets = conditional_tables(fg, index)

    def sweep(self, conditionals: list[np.ndarray] | None = None) -> None:
        """One sweep over the free variables; with `conditionals` (one (card,) array per
        variable), add each variable's conditional distributions summed over the chains
        (the Rao-Blackwellised marginal estimate, lower variance than counting states)."""
        state, rng, chains = self.state, self.rng, self.chains
        with np.errstate(divide="ignore"):
            for i in self.free:
                logits = conditional_logits(self.blankets[i], state, self.cards[i])
                peak = logits.max(axis=1, keepdims=True)
                stuck = ~np.isfinite(peak[:, 0])
                p = np.exp(logits - np.where(stuck[:, None], 0.0, peak))
                p[stuck] = 1.0
                cdf = np.cumsum(p, axis=1)
                if conditionals is not None:
                    conditionals[i] += (p / cdf[:, -1:]).sum(axis=0)
                u = rng.random(chains) * cdf[:, -1]
                state[:, i] = np.minimum((cdf <= u[:, None]).sum(axis=1), self.cards[i] - 1)


def gibbs_codes(
    model: Any,
    n: int,
    evidence: Mapping[str, Any] | None = None,
    seed: Seed = None,
    *,
    burn_in: int = 200,
    thin: int = 1,
    chains: int | None = None,
) -> np.ndarray:
    """Gibbs samples (n, V) of any factor graph with evidence, columns in the graph's
    variable order: `chains` chains swept in parallel (default min(n, 256)), `burn_in` sweeps
    dropped, then every `thin`-th sweep kept."""
    rng = np.random.default_rng(seed)
    n = int(n)
    if n < 0 or burn_in < 0 or thin < 1:
        raise ModelError(f"need n >= 0, burn_in >= 0, thin >= 1; got {n}, {burn_in}, {thin}")
    chains = max(1, min(n, 256) if chains is None else int(chains))
    gibbs = GibbsChains(model, evidence, chains, rng)
    sweeps = burn_in + math.ceil(n / chains) * thin
    kept: list[np.ndarray] = []
    for sweep in range(sweeps):
        gibbs.sweep()
        if sweep >= burn_in and (sweep - burn_in) % thin == thin - 1:
            kept.append(gibbs.state.copy())
    if not kept:
        return np.empty((0, len(gibbs.variables)), dtype=np.intp)
    return np.concatenate(kept)[:n]


def gibbs_marginals(
    model: Any,
    evidence: Mapping[str, Any] | None = None,
    seed: Seed = None,
    *,
    chains: int = 64,
    burn_in: int = 50,
    sweeps: int = 1000,
    time_limit: float | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """Posterior marginals by Gibbs sampling: `chains` chains, `burn_in` sweeps dropped, then
    Rao-Blackwellised averages of the conditionals over up to `sweeps` sweeps or
    `time_limit` seconds. (marginals of every variable, sweeps averaged)."""
    if chains < 1 or burn_in < 0 or sweeps < 1:
        raise ModelError(f"need chains >= 1, burn_in >= 0, sweeps >= 1; got {chains}, "
                         f"{burn_in}, {sweeps}")
    t0 = time.perf_counter()
    gibbs = GibbsChains(model, evidence, int(chains), np.random.default_rng(seed))
    totals = [np.zeros(c) for c in gibbs.cards]
    for _ in range(burn_in):
        gibbs.sweep()
        if time_limit is not None and time.perf_counter() - t0 > time_limit / 4:
            break  # keep most of a short budget for the averages
    done = 0
    while done < sweeps:
        gibbs.sweep(totals)
        done += 1
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
    out: dict[str, np.ndarray] = {}
    free = set(gibbs.free)
    for i, v in enumerate(gibbs.variables):
        if i in free:
            out[v] = totals[i] / totals[i].sum()
        else:  # observed: a point mass at its state
            out[v] = np.eye(gibbs.cards[i])[gibbs.state[0, i]]
    return out, done


def conditional_logits(blanket: list[tuple[np.ndarray, list[int]]], state: np.ndarray,
                       card: int) -> np.ndarray:
    """log p(x_i | the rest) + const for every row of `state` (rows × V): the sum of the
    variable's factor tables (`conditional_tables`) at the other columns' states."""
    logits = np.zeros((state.shape[0], card))
    for table, others in blanket:
        logits += table[tuple(state[:, j] for j in others)]
    return logits


def conditional_tables(fg: Any, index: Mapping[str, int]
                       ) -> list[list[tuple[np.ndarray, list[int]]]]:
    """For each variable, its factors' log tables with the variable's axis last, and the
    columns of the factor's other variables."""
    out: list[list[tuple[np.ndarray, list[int]]]] = [[] for _ in index]
    with np.errstate(divide="ignore"):
        for f in fg.factors:
            log_table = np.log(f.table)
            for axis, v in enumerate(f.variables):
                others = [a for a in range(len(f.variables)) if a != axis]
                moved = np.transpose(log_table, (*others, axis))
                out[index[v]].append((moved, [index[f.variables[a]] for a in others]))
    return out


# ----------------------------------------------------------------------------------------------
# one entry point
# ----------------------------------------------------------------------------------------------
def sample(
    model: Any,
    n: int,
    evidence: Mapping[str, Any] | None = None,
    *,
    method: str = "exact",
    seed: Seed = None,
    as_codes: bool = False,
    **options: Any,
) -> Any:
    """`n` rows from the model (given `evidence`) as a DataFrame of state names.

    method "exact" (default): forward sampling when there is no evidence, else the engine's
    exact posterior sampling; "forward": ancestral, no evidence; "lw": likelihood weighting
    (adds a "weight" column); "gibbs": Gibbs sampling (`burn_in`, `thin`, `chains`).

    >>> from genlab.pgm import examples
    >>> rows = sample(examples.red_blue_network(), 3, {"X4": "blue"}, seed=0)
    >>> list(rows["X4"])
    ['blue', 'blue', 'blue']
    """
    if method not in METHODS:
        raise ModelError(f"unknown sampling method {method!r}; choose from {', '.join(METHODS)}")
    if method in ("exact", "forward") and options:
        raise ModelError(f"method {method!r} takes no options, got {sorted(options)}")
    names = _names(model)
    if method == "lw":
        weighted = likelihood_weighting(model, n, evidence, seed)
        return weighted if as_codes else weighted.frame()
    if method == "forward":
        _require_network(model, "forward")
        if evidence:
            raise ModelError("forward sampling takes no evidence: use method='exact' or 'lw'")
    graph_order = model.to_factor_graph().variables
    if method == "gibbs":
        codes = gibbs_codes(model, n, evidence, seed, **options)
    elif isinstance(model, BayesianNetwork) and not evidence:
        return _finish(forward_codes(model, n, seed), model.variables, names, as_codes)
    else:
        codes = engine_sample(model, n, evidence, seed)
    variables = getattr(model, "variables", graph_order)  # a network's own order
    if tuple(variables) != tuple(graph_order):
        codes = codes[:, [graph_order.index(v) for v in variables]]
    return _finish(codes, variables, names, as_codes)


def _finish(
    codes: np.ndarray, variables: Sequence[str], names: Mapping[str, Any], as_codes: bool
) -> Any:
    if as_codes:
        return codes
    from genlab.pgm.learning.data import to_frame

    return to_frame(codes, variables, names)


def engine_sample(
    model: Any, n: int, evidence: Mapping[str, Any] | None, seed: Seed
) -> np.ndarray:
    """Exact posterior samples (n, V) through the contraction engine (graph variable order)."""
    from genlab.pgm.inference import engine

    return engine(model).sample(int(n), evidence, seed=seed)
