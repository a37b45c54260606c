"""Conditional linear-Gaussian (hybrid) networks: discrete parents select the regression.

A discrete `BayesianNetwork` (discrete nodes have only discrete parents) plus continuous
nodes x_i = b_i(d) + Σ_j w_ij(d) x_pa(i)_j + ε_i, ε_i ~ N(0, σ_i²(d)), where d is the state of
x_i's discrete parents (its "switches"). Given the switches, the continuous part is a
`LinearGaussianBayesianNetwork`, so exact inference enumerates the joint states of the
unobserved switches (small discrete parts only): the discrete posterior comes from the exact
contraction engine, each switch state is weighted by the marginal density of the continuous
evidence, and the continuous posterior is the resulting mixture of Gaussians (Lauritzen 1992's
exact answer, which no single Gaussian can represent).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp

from genlab.pgm.errors import ModelError
from genlab.pgm.models.bayesian_network import BayesianNetwork
from genlab.pgm.models.gaussian import (
    GaussianCPD,
    GaussianDistribution,
    LinearGaussianBayesianNetwork,
)

__all__ = ["CLGNode", "ConditionalLinearGaussianNetwork", "HybridPosterior"]

MAX_CONFIGURATIONS = 1 << 16  # joint switch states enumerated by exact inference


@dataclass(frozen=True)
class CLGNode:
    """A continuous node: for each state of `discrete_parents` (C order over their states),
    a regression on the continuous `parents`. Arrays: weights (*cards, len(parents)),
    bias (*cards,), variance (*cards,); a node without discrete parents has shape ()."""

    name: str
    discrete_parents: tuple[str, ...]
    parents: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    variance: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "discrete_parents", tuple(map(str, self.discrete_parents)))
        object.__setattr__(self, "parents", tuple(map(str, self.parents)))
        for field in ("weights", "bias", "variance"):
            object.__setattr__(self, field, np.asarray(getattr(self, field), dtype=np.float64))
        if not (np.isfinite(self.weights).all() and np.isfinite(self.bias).all()):
            raise ModelError(f"node {self.name!r} has a non-finite weight or bias")
        if not (np.isfinite(self.variance).all() and (self.variance > 0).all()):
            raise ModelError(f"node {self.name!r} has variances {self.variance.tolist()}: "
                             "each must be positive and finite")

    def cpd(self, config: tuple[int, ...]) -> GaussianCPD:
        """The regression selected by the discrete parents' states `config`."""
        return GaussianCPD(self.name, self.parents, tuple(self.weights[config]),
                           float(self.bias[config]), float(self.variance[config]))


@dataclass(frozen=True)
class HybridPosterior:
    """The posterior of a hybrid query: discrete marginals, and the continuous query as a
    mixture over the unobserved switch states (`weights`, `components`)."""

    discrete: dict[str, np.ndarray]  # variable → posterior over its states
    weights: np.ndarray  # (K,) mixture weights over switch states
    switch_states: tuple[dict[str, str], ...]  # (K,) the switch state of each component
    components: tuple[GaussianDistribution, ...]  # (K,) continuous posterior per state
    log_evidence: float  # log p(evidence): probability × density for mixed evidence

    @property
    def variables(self) -> tuple[str, ...]:
        return self.components[0].variables if self.components else ()

    @property
    def mean(self) -> np.ndarray:
        """Mean of the mixture: Σ_k w_k μ_k."""
        return np.einsum("k,kq->q", self.weights, np.stack([c.mean for c in self.components]))

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of the mixture: Σ_k w_k (Σ_k + μ_k μ_kᵀ) − μ μᵀ."""
        mean = self.mean
        second = sum(w * (c.covariance + np.outer(c.mean, c.mean))
                     for w, c in zip(self.weights, self.components, strict=True))
        return second - np.outer(mean, mean)

    def density(self, name: str, x: Any) -> np.ndarray:
        """The mixture's marginal density of one continuous variable at points `x`."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros_like(x)
        for w, c in zip(self.weights, self.components, strict=True):
            mean, var = c[name]
            out += w * np.exp(-0.5 * (x - mean) ** 2 / var) / math.sqrt(2 * math.pi * var)
        return out


class ConditionalLinearGaussianNetwork:
    """Discrete network + continuous nodes whose discrete parents select their regression.

    >>> from genlab.pgm import CPT, BayesianNetwork
    >>> d = BayesianNetwork([CPT("D", {(): {"a": 0.5, "b": 0.5}})])
    >>> x = CLGNode("x", ("D",), (), np.zeros((2, 0)), [0.0, 4.0], [1.0, 1.0])
    >>> post = ConditionalLinearGaussianNetwork(d, [x]).query(evidence={"x": 2.0})
    >>> post.discrete["D"].round(3).tolist()   # x = 2 is half-way: no preference
    [0.5, 0.5]
    """

    def __init__(self, discrete: BayesianNetwork, nodes: Sequence[CLGNode],
                 max_configurations: int = MAX_CONFIGURATIONS) -> None:
        self.discrete = discrete
        self.nodes = {n.name: n for n in nodes}
        if len(self.nodes) != len(nodes):
            raise ModelError("a continuous node is defined twice")
        clash = sorted(set(self.nodes) & set(discrete.variables))
        if clash:
            raise ModelError(f"{clash} are both discrete and continuous")
        for node in nodes:
            unknown = [p for p in node.discrete_parents if p not in discrete.variables]
            if unknown:
                raise ModelError(f"node {node.name!r}: unknown discrete parents {unknown}")
            cards = tuple(discrete.cards[p] for p in node.discrete_parents)
            for field, shape in (("weights", (*cards, len(node.parents))), ("bias", cards),
                                 ("variance", cards)):
                if getattr(node, field).shape != shape:
                    raise ModelError(
                        f"node {node.name!r}: {field} has shape {getattr(node, field).shape}, "
                        f"expected {shape} (discrete parents {list(node.discrete_parents)})")
        self.switches: tuple[str, ...] = tuple(
            v for v in discrete.variables if any(v in n.discrete_parents for n in nodes))
        self.max_configurations = max_configurations
        self._components: dict[tuple[int, ...], LinearGaussianBayesianNetwork] = {}
        # validates the continuous structure (cycles, unknown parents, variances) once
        self.continuous: tuple[str, ...] = self._component(
            tuple(0 for _ in self.switches)).variables

    def _component(self, config: tuple[int, ...]) -> LinearGaussianBayesianNetwork:
        """The linear-Gaussian network selected by the switch states `config` (cached)."""
        net = self._components.get(config)
        if net is None:
            state = dict(zip(self.switches, config, strict=True))
            net = LinearGaussianBayesianNetwork(
                [n.cpd(tuple(state[p] for p in n.discrete_parents))
                 for n in self.nodes.values()])
            self._components[config] = net
        return net

    def _split(self, evidence: Mapping[str, Any] | None) -> tuple[dict[str, int], dict[str, float]]:
        discrete, continuous = {}, {}
        for name, value in (evidence or {}).items():
            if name in self.nodes:
                continuous[name] = float(value)
            elif name in self.discrete.variables:
                states = self.discrete.state_names(name)
                if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                    index = int(value)
                elif str(value) in states:
                    index = states.index(str(value))
                else:
                    raise ModelError(f"{name!r} has no state {value!r}; states {list(states)}")
                if not 0 <= index < len(states):
                    raise ModelError(f"{name!r} has no state index {index}")
                discrete[name] = index
            else:
                raise ModelError(f"unknown variable {name!r}")
        if not all(math.isfinite(v) for v in continuous.values()):
            raise ModelError("continuous evidence must be finite numbers")
        return discrete, continuous

    def query(self, variables: Sequence[str] | None = None,
              evidence: Mapping[str, Any] | None = None) -> HybridPosterior:
        """Exact posterior of `variables` (default: every unobserved one) given mixed
        evidence: discrete states by name or index, continuous values as numbers."""
        from genlab.pgm.inference import log_partition, query

        disc_ev, cont_ev = self._split(evidence)
        if variables is None:
            variables = [v for v in (*self.discrete.variables, *self.continuous)
                         if v not in disc_ev and v not in cont_ev]
        observed = [v for v in variables if v in disc_ev or v in cont_ev]
        if observed:
            raise ModelError(f"variables {observed} are both queried and observed")
        q_disc = [v for v in variables if v in self.discrete.variables]
        q_cont = [v for v in variables if v in self.nodes]
        unknown = [v for v in variables if v not in q_disc and v not in q_cont]
        if unknown:
            raise ModelError(f"unknown variables {unknown}")
        free = [s for s in self.switches if s not in disc_ev]
        table_vars = [*free, *[v for v in q_disc if v not in free]]
        size = math.prod(self.discrete.cards[v] for v in table_vars)
        if size > self.max_configurations:
            raise ModelError(f"{size} joint states of {table_vars} exceed the enumeration "
                             f"limit {self.max_configurations}: the discrete part is too large")
        log_pe = log_partition(self.discrete, disc_ev) if disc_ev else 0.0
        if table_vars:
            joint = np.asarray(query(self.discrete, table_vars, disc_ev).table)
        else:
            joint = np.ones(())
        # weight each switch state by the marginal density of the continuous evidence
        names = list(cont_ev)
        row = {v: cont_ev.get(v, np.nan) for v in self.continuous}
        n_free = len(free)
        free_shape = joint.shape[:n_free]
        log_like = np.zeros(free_shape)
        components = []
        states = []
        for free_config in itertools.product(*(range(c) for c in free_shape)):
            config = dict(zip(free, free_config, strict=True)) | disc_ev
            net = self._component(tuple(config[s] for s in self.switches))
            if names:
                log_like[free_config] = net.log_density(
                    np.array([[row[v] for v in net.variables]]))[0]
            components.append(net.query(q_cont, cont_ev) if q_cont else None)
            states.append({s: self.discrete.state_names(s)[config[s]] for s in free})
        with np.errstate(divide="ignore"):
            log_joint = np.log(joint) + log_like.reshape(free_shape + (1,) * (joint.ndim - n_free))
        total = logsumexp(log_joint)
        if not np.isfinite(total):
            raise ModelError("the evidence has probability (density) zero under the network")
        post = np.exp(log_joint - total)
        discrete = {}
        for v in q_disc:
            axis = table_vars.index(v)
            discrete[v] = post.sum(axis=tuple(a for a in range(post.ndim) if a != axis))
        weights = post.reshape(*free_shape, -1).sum(axis=-1).reshape(-1)
        return HybridPosterior(discrete, weights, tuple(states),
                               tuple(c for c in components if c is not None),
                               float(total + log_pe))

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> Any:
        """`n` rows by ancestral sampling: the discrete part forward, then each row's
        continuous part from the linear-Gaussian network its switch states select."""
        import pandas as pd

        from genlab.pgm.sampling import sample

        rng = np.random.default_rng(seed)
        codes = np.asarray(sample(self.discrete, n, seed=rng, as_codes=True))
        frame = pd.DataFrame({v: [self.discrete.state_names(v)[c] for c in codes[:, i]]
                              for i, v in enumerate(self.discrete.variables)})
        columns = [self.discrete.variables.index(s) for s in self.switches]
        values = np.empty((n, len(self.continuous)))
        configs, inverse = np.unique(codes[:, columns], axis=0, return_inverse=True)
        for k, config in enumerate(configs):
            rows = np.flatnonzero(inverse.reshape(-1) == k)
            net = self._component(tuple(int(c) for c in config))
            draw = net.sample(len(rows), seed=rng)
            values[rows] = draw[list(self.continuous)].to_numpy()
        for j, v in enumerate(self.continuous):
            frame[v] = values[:, j]
        return frame
