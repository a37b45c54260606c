"""MarkovChain: p(x_1..x_T) = p(x_1..x_k) Π_{t>k} p(x_t | x_{t-k}..x_{t-1}), order k ≥ 1.

Two ways to hold the parameters, one class:

* **Tables** (`MarkovChain(transition, initial)`): `transition` has shape (S,)*k + (S,) and
  `transition[i_1, ..., i_k, j] = p(x_{t+1} = j | x_{t-k+1} = i_1, ..., x_t = i_k)` — the context
  axes run oldest first, the next state is the last axis; `initial` has shape (S,)*k and is the
  joint distribution of the first k states (default uniform).
* **Counts** (`MarkovChain.fit(sequences, order, ...)`): the n-gram counts of every order
  0..k, kept sparse (sorted int64 codes of (context, next) in base S, looked up by searchsorted),
  so an order-5 chain over a 100-character alphabet costs memory for the n-grams seen, not 100^6.
  A fitted chain scores the first k states with its lower orders, p(x_1..x_k) =
  Π_{t≤k} p(x_t | x_1..x_{t-1}), all estimated from every position of every sequence (sequence
  starts alone are too few to count when the data are a few long texts).

Smoothing of fitted chains: "add-alpha" (the posterior mean under a symmetric Dirichlet(alpha)
prior on each context's row; alpha = 0 is the MLE, with unseen contexts uniform) or
"kneser-ney" (interpolated Kneser–Ney: absolute discount D = n1 / (n1 + 2 n2) per order, lower
orders on continuation counts, order 0 interpolated with the uniform distribution), which is
far better than add-alpha on held-out text at orders ≥ 3.

Dense queries (`transition`, `initial`, `n_step`, `marginal`, `stationary`, `to_factor_graph`)
densify a fitted chain when the table is small and raise ModelError when it is not.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.factor import Factor
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.models.stochastic import check_stochastic, draw_rows

__all__ = ["MAX_DENSE_ENTRIES", "SMOOTHINGS", "MarkovChain"]

MAX_DENSE_ENTRIES = 2**24  # 128 MiB of float64: the largest table a dense query builds
SMOOTHINGS = ("add-alpha", "kneser-ney")
ROW_SUM_ATOL = 1e-8


@dataclass(frozen=True)
class _Table:
    """Sparse counts of (context, next) codes at one order, with per-context summaries."""

    keys: np.ndarray  # sorted int64 codes context·S + next
    counts: np.ndarray  # float64 counts of those keys
    contexts: np.ndarray  # sorted distinct contexts (keys // S)
    totals: np.ndarray  # Σ_next count per context
    types: np.ndarray  # number of distinct next states per context
    discount: float  # Kneser–Ney absolute discount D = n1 / (n1 + 2 n2)

    @classmethod
    def build(cls, keys: np.ndarray, counts: np.ndarray, n_states: int) -> _Table:
        """Summaries of already sorted, distinct keys and their counts."""
        contexts, start = np.unique(keys // n_states, return_index=True)
        totals = np.add.reduceat(counts, start) if len(keys) else np.zeros(0)
        types = np.diff(np.append(start, len(keys)))
        n1, n2 = float(np.sum(counts == 1)), float(np.sum(counts == 2))
        discount = n1 / (n1 + 2 * n2) if n1 > 0 else 0.75
        return cls(keys, counts.astype(np.float64), contexts, totals.astype(np.float64),
                   types.astype(np.float64), min(max(discount, 1e-3), 0.999))

    @classmethod
    def count(cls, codes: np.ndarray, n_states: int,
              weights: np.ndarray | None = None) -> _Table:
        """THE counting step: distinct codes and their multiplicities (or summed weights)."""
        if weights is None:
            keys, counts = np.unique(codes, return_counts=True)
        else:
            keys, inverse = np.unique(codes, return_inverse=True)
            counts = np.bincount(inverse.reshape(-1), weights, minlength=len(keys))
        return cls.build(keys.astype(np.int64), counts, n_states)

    def shorter(self, n_states: int, width: int, firsts: np.ndarray) -> _Table:
        """The counts of width-`width` windows, from these width + 1 ones: every window but a
        sequence's first is the suffix of exactly one longer window; `firsts` are the first
        windows' codes (of the sequences at least `width` long). One pass over the distinct
        keys instead of a recount of the text."""
        suffixes = np.concatenate([self.keys % n_states**width, firsts])
        weights = np.concatenate([self.counts, np.ones(len(firsts))])
        return _Table.count(suffixes, n_states, weights)

    def continuation(self, n_states: int, width: int) -> _Table:
        """Counts of the n-grams one shorter by how many distinct states precede them."""
        return _Table.count(self.keys % (n_states**width), n_states)

    def lookup(self, query: np.ndarray) -> np.ndarray:
        """Count of each (context, next) code in `query` (0 when unseen)."""
        return _find(self.keys, self.counts, query)

    def context(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(total, types) of each context code in `query` (0 when unseen)."""
        return _find(self.contexts, self.totals, query), _find(self.contexts, self.types, query)


def _find(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[keys == q] for each q, 0 where q is not among the sorted `keys`."""
    if len(keys) == 0:
        return np.zeros(query.shape)
    idx = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[idx] == query, values[idx], 0.0)


def _windows(x: np.ndarray, width: int, n_states: int) -> np.ndarray:
    """Base-S codes of every length-`width` window of `x` (oldest digit most significant)."""
    code = np.zeros(len(x) - width + 1, dtype=np.int64)
    for i in range(width):
        code = code * n_states + x[i : len(x) - width + 1 + i]
    return code


class MarkovChain:
    """A finite-state Markov chain of order k (see the module docstring for the conventions).

    >>> chain = MarkovChain([[0.9, 0.1], [0.3, 0.7]], initial=[0.5, 0.5])
    >>> chain.stationary().round(3).tolist()
    [0.75, 0.25]
    """

    def __init__(
        self,
        transition: Any,
        initial: Any = None,
        states: Sequence[Any] | None = None,
    ) -> None:
        table = np.array(transition, dtype=np.float64)
        if table.ndim < 2 or len(set(table.shape)) != 1:
            raise ModelError(f"transition must have shape (S,)*k + (S,) with k ≥ 1, got shape "
                             f"{table.shape}")
        self.order, self.n_states = table.ndim - 1, table.shape[0]
        check_stochastic("transition", table, atol=ROW_SUM_ATOL)
        if initial is None:
            init = np.full((self.n_states,) * self.order, float(self.n_states) ** -self.order)
        else:
            init = np.array(initial, dtype=np.float64)
            if init.shape != (self.n_states,) * self.order:
                raise ModelError(f"initial must have shape {(self.n_states,) * self.order} (the "
                                 f"first {self.order} states), got {init.shape}")
            check_stochastic("initial", init.reshape(-1), atol=ROW_SUM_ATOL)
        self._transition: np.ndarray | None = table
        self._initial: np.ndarray | None = init
        self._raw: list[_Table] = []
        self._cont: list[_Table] = []
        self.smoothing, self.alpha = "table", 0.0
        self.states = _names(states, self.n_states)

    # -- construction from data ------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        sequences: Iterable[Any],
        order: int = 1,
        *,
        states: int | Sequence[Any] | None = None,
        alpha: float = 1.0,
        smoothing: str = "add-alpha",
    ) -> MarkovChain:
        """Count the n-grams of `sequences` (orders 0..`order`) and smooth them.

        `states`: the number of states (sequences are then integer codes), the state names, or
        None (the sorted distinct items of the sequences). A string is a sequence of characters.
        """
        if int(order) != order or order < 1:
            raise ModelError(f"order must be an integer ≥ 1, got {order!r}")
        if not np.isfinite(alpha) or alpha < 0:
            raise ModelError(f"alpha (the Dirichlet prior count) must be ≥ 0, got {alpha!r}")
        if smoothing not in SMOOTHINGS:
            raise ModelError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
        seqs = list(sequences)
        if not seqs:
            raise ModelError("fit needs at least one sequence")
        if states is None:
            states = sorted({item for s in seqs for item in _items(s)})
        chain = cls.__new__(cls)
        chain.order = int(order)
        if isinstance(states, (int, np.integer)):
            chain.n_states, chain.states = int(states), None
        else:
            chain.states = _names(states, len(states))
            chain.n_states = len(states)
        if chain.n_states < 1 or chain.n_states ** (chain.order + 1) >= 2**62:
            raise ModelError(f"{chain.n_states} states at order {order}: the (context, next) codes "
                             "would not fit int64")
        chain.smoothing, chain.alpha = smoothing, float(alpha)
        chain._transition = chain._initial = None
        codes = [chain.encode(s, where=f"sequences[{i}]") for i, s in enumerate(seqs)]
        top = chain.order + 1  # count the longest windows; each shorter order from the last
        raw = [_Table.count(np.concatenate([_windows(x, top, chain.n_states) for x in codes]),
                            chain.n_states)]
        lengths = np.array([len(x) for x in codes])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        flat = np.concatenate(codes) if codes else np.zeros(0, np.int64)
        for width in range(top - 1, 0, -1):
            at = starts[lengths >= width]  # each long enough sequence's first window, coded
            heads = flat[at + np.arange(width)[:, None]]  # (width, sequences): windows down
            firsts = _windows(heads, width, chain.n_states)[0]  # axis 0, one per column
            raw.append(raw[-1].shorter(chain.n_states, width, firsts))
        chain._raw = raw[::-1]
        chain._cont = [chain._raw[n + 1].continuation(chain.n_states, n + 1)
                       for n in range(chain.order)]
        return chain

    def smoothed(self, smoothing: str | None = None, alpha: float | None = None,
                 order: int | None = None) -> MarkovChain:
        """The same counts with another smoothing, alpha or a lower `order` (no recount: a
        fitted chain holds the counts of every order up to its own; a fitted chain only)."""
        if not self._raw:
            raise ModelError("smoothed() needs a chain fitted from sequences (this one is tables)")
        smoothing = self.smoothing if smoothing is None else smoothing
        alpha = self.alpha if alpha is None else float(alpha)
        order = self.order if order is None else order
        if smoothing not in SMOOTHINGS:
            raise ModelError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
        if not np.isfinite(alpha) or alpha < 0:
            raise ModelError(f"alpha (the Dirichlet prior count) must be ≥ 0, got {alpha!r}")
        if int(order) != order or not 1 <= order <= self.order:
            raise ModelError(f"order must be an integer in 1..{self.order}, got {order!r}")
        chain = copy.copy(self)
        chain.smoothing, chain.alpha, chain.order = smoothing, alpha, int(order)
        chain._raw, chain._cont = self._raw[: order + 1], self._cont[:order]
        chain._transition = chain._initial = None
        return chain

    # -- states ----------------------------------------------------------------------------
    def __repr__(self) -> str:
        how = "tables" if self.smoothing == "table" else f"fitted, {self.smoothing}"
        return f"MarkovChain(order={self.order}, states={self.n_states}, {how})"

    def encode(self, sequence: Any, where: str = "sequence") -> np.ndarray:
        """int64 state codes of a sequence of state names, or of codes given as an int array
        (a chain whose names are integers other than 0..S-1 reads int arrays as names)."""
        int_array = isinstance(sequence, np.ndarray) and sequence.dtype.kind in "iu"
        states = self.states
        named = states is not None and states != tuple(range(self.n_states))
        if states is not None and named and not (
                int_array and all(isinstance(s, str) for s in states)):
            index = {s: i for i, s in enumerate(states)}
            items = list(_items(sequence))
            bad = next(((t, s) for t, s in enumerate(items) if s not in index), None)
            if bad is not None:
                raise ModelError(f"{where}: unknown state {bad[1]!r} at position {bad[0]} "
                                 f"(the chain's {self.n_states} states are "
                                 f"{list(states)[:12]}{'...' if self.n_states > 12 else ''})")
            x = np.array([index[s] for s in items], dtype=np.int64)
        else:
            x = np.asarray(list(sequence) if not isinstance(sequence, np.ndarray) else sequence)
            if x.size and (x.dtype.kind not in "iu" or x.min() < 0 or x.max() >= self.n_states):
                raise ModelError(f"{where}: states must be integer codes in 0..{self.n_states - 1}"
                                 f" (or names of a chain built with states=...), got {x[:8]}...")
            x = x.astype(np.int64).reshape(-1)
        if len(x) < self.order:
            raise ModelError(f"{where} has {len(x)} states, shorter than the order {self.order}")
        return x

    def decode(self, codes: Iterable[int]) -> list[Any]:
        """State names of integer codes (the codes themselves when the chain has no names)."""
        if self.states is None:
            return [int(c) for c in codes]
        return [self.states[int(c)] for c in codes]

    # -- conditionals ----------------------------------------------------------------------
    def _probs(self, context: np.ndarray, nxt: np.ndarray, level: int) -> np.ndarray:
        """p(next | context) for context codes of `level` states (level ≤ k), fitted chains."""
        s = self.n_states
        if self.smoothing == "add-alpha":
            table = self._raw[level]
            count = table.lookup(context * s + nxt)
            total, _ = table.context(context)
            denom = total + s * self.alpha
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(denom > 0, (count + self.alpha) / denom, 1.0 / s)
        p = np.full(len(nxt), 1.0 / s)
        for n in range(level + 1):  # interpolated Kneser–Ney, lowest order first
            table = self._raw[n] if n == level else self._cont[n]
            ctx = context % (s**n)
            total, types = table.context(ctx)
            count = table.lookup(ctx * s + nxt)
            d = table.discount
            with np.errstate(invalid="ignore", divide="ignore"):
                mixed = (np.maximum(count - d, 0.0) + d * types * p) / total
            p = np.where(total > 0, mixed, p)
        return p

    def log_conditionals(self, sequence: Any) -> np.ndarray:
        """log p(x_t | x_1..x_{t-1}) for every position t (float64, natural log).

        A table chain has no conditionals inside its initial block: position k carries
        log p(x_1..x_k) and positions 1..k-1 carry 0, so the sum is still log p(x).
        """
        x = self.encode(sequence)
        k, s = self.order, self.n_states
        out = np.zeros(len(x))
        context = _windows(x[:-1], k, s) if len(x) > k else np.zeros(0, dtype=np.int64)
        with np.errstate(divide="ignore"):
            if self._raw:
                for t in range(k):
                    head = _windows(x[:t], t, s) if t else np.zeros(1, dtype=np.int64)
                    out[t] = np.log(self._probs(head, x[t : t + 1], t))[0]
                out[k:] = np.log(self._probs(context, x[k:], k))
            else:
                assert self._transition is not None and self._initial is not None
                out[k - 1] = np.log(self._initial[tuple(x[:k])])
                flat = self._transition.reshape(-1, s)
                out[k:] = np.log(flat[context, x[k:]])
        return out

    def log_likelihood(self, sequence: Any) -> float:
        """log p(x_1..x_T) of one sequence: the sum of its log conditionals."""
        return float(np.sum(self.log_conditionals(sequence)))

    def next_distribution(self, context: np.ndarray) -> np.ndarray:
        """p(x_{t+1} = · | the last k states) for each row of `context` (shape (n, k)) -> (n, S)."""
        context = np.atleast_2d(np.asarray(context, dtype=np.int64))
        n, s, k = len(context), self.n_states, self.order
        codes = _windows(context.T, k, s).reshape(-1) if k else np.zeros(n, dtype=np.int64)
        if self._transition is not None:
            return self._transition.reshape(-1, s)[codes]
        return self._probs(np.repeat(codes, s), np.tile(np.arange(s), n), k).reshape(n, s)

    # -- dense tables ----------------------------------------------------------------------
    def _check_dense(self, entries: int, what: str) -> None:
        if entries > MAX_DENSE_ENTRIES:
            raise ModelError(
                f"{what} of an order-{self.order} chain over {self.n_states} states needs "
                f"{entries:.3g} dense entries, over the limit of {MAX_DENSE_ENTRIES:.3g} "
                "(genlab.pgm.models.markov.MAX_DENSE_ENTRIES); use a lower order or fewer states "
                "(log-likelihood and sampling work from the sparse counts)"
            )

    @property
    def transition(self) -> np.ndarray:
        """The dense transition table, shape (S,)*k + (S,) (computed once for fitted chains)."""
        if self._transition is None:
            s, k = self.n_states, self.order
            self._check_dense(s ** (k + 1), "the transition table")
            ctx = np.repeat(np.arange(s**k, dtype=np.int64), s)
            nxt = np.tile(np.arange(s, dtype=np.int64), s**k)
            self._transition = self._probs(ctx, nxt, k).reshape((s,) * (k + 1))
        return self._transition

    @property
    def initial(self) -> np.ndarray:
        """The joint distribution of the first k states, shape (S,)*k."""
        if self._initial is None:
            s, k = self.n_states, self.order
            self._check_dense(s**k, "the initial table")
            codes = np.arange(s**k, dtype=np.int64)
            log_p = np.zeros(s**k)
            for t in range(k):  # p(x_1..x_k) = Π_t p(x_t | x_1..x_{t-1}) from the lower orders
                head = codes // s ** (k - t)
                digit = (codes // s ** (k - 1 - t)) % s
                with np.errstate(divide="ignore"):
                    log_p += np.log(self._probs(head, digit, t))
            self._initial = np.exp(log_p).reshape((s,) * k)
        return self._initial

    def lifted(self) -> np.ndarray:
        """The order-1 chain on k-tuples: M[(i_1..i_k), (i_2..i_k, j)] = transition[i_1..i_k, j]."""
        s, k = self.n_states, self.order
        self._check_dense(s ** (2 * k), "the lifted (k-tuple) transition matrix")
        flat = self.transition.reshape(-1, s)
        m = np.zeros((s**k, s**k))
        rows = np.repeat(np.arange(s**k), s)
        cols = (rows % s ** (k - 1)) * s + np.tile(np.arange(s), s**k)
        m[rows, cols] = flat.reshape(-1)
        return m

    def n_step(self, n: int) -> np.ndarray:
        """p(x_{t+n} = j | x_{t-k+1..t}), shape (S,)*k + (S,); n = 1 is the transition table."""
        if int(n) != n or n < 0:
            raise ModelError(f"n must be an integer ≥ 0, got {n!r}")
        s, k = self.n_states, self.order
        dist = np.linalg.matrix_power(self.lifted(), int(n))  # (S^k, S^k) over k-tuples
        return dist.reshape(s**k, -1, s).sum(axis=1).reshape((s,) * (k + 1))

    def marginal(self, t: int) -> np.ndarray:
        """p(x_t) for t ≥ 1 (1-based), from the initial distribution."""
        if int(t) != t or t < 1:
            raise ModelError(f"t must be an integer ≥ 1 (positions are 1-based), got {t!r}")
        s, k = self.n_states, self.order
        if t <= k:
            return self.initial.sum(axis=tuple(a for a in range(k) if a != t - 1))
        joint = self.initial.reshape(-1) @ np.linalg.matrix_power(self.lifted(), int(t) - k)
        return joint.reshape(-1, s).sum(axis=0)

    def stationary(self) -> np.ndarray:
        """The stationary distribution π = π P: over states for k = 1, over k-tuples (shape
        (S,)*k, the joint of k consecutive states) for k > 1.

        It is unique iff the chain has exactly one closed communicating class; a reducible
        chain with several raises ModelError. A periodic chain (e.g. 0 → 1 → 0) still has a
        unique π, but p(x_t) does not converge to it: π is a time average, not a limit.
        """
        from scipy.sparse.csgraph import connected_components

        m = self.lifted()
        n_comp, label = connected_components(m > 0, directed=True, connection="strong")
        leaving = np.zeros(n_comp, dtype=bool)
        src, dst = np.nonzero(m > 0)
        np.logical_or.at(leaving, label[src], label[src] != label[dst])
        closed = np.flatnonzero(~leaving)
        if len(closed) != 1:
            classes = [self._tuples(np.flatnonzero(label == c))[:6] for c in closed]
            raise ModelError(
                f"the chain is reducible with {len(closed)} closed classes of "
                f"{'k-tuples' if self.order > 1 else 'states'} {classes}: every mixture of their "
                "stationary distributions is stationary, so there is no unique one"
            )
        members = np.flatnonzero(label == closed[0])
        sub = m[np.ix_(members, members)]
        a = sub.T - np.eye(len(members))
        a[-1] = 1.0  # replace one (redundant) balance equation by Σ π = 1
        rhs = np.zeros(len(members))
        rhs[-1] = 1.0
        pi = np.zeros(len(m))
        pi[members] = np.clip(np.linalg.solve(a, rhs), 0.0, None)
        pi /= pi.sum()
        return pi.reshape((self.n_states,) * self.order)

    def _tuples(self, codes: np.ndarray) -> list[Any]:
        """Readable names of k-tuple codes (for messages)."""
        s, k = self.n_states, self.order
        out = [self.decode((c // s ** (k - 1 - i)) % s for i in range(k)) for c in codes]
        return [o[0] if k == 1 else tuple(o) for o in out]

    # -- lowering and sampling -------------------------------------------------------------
    def to_factor_graph(self, length: int, prefix: str = "x") -> FactorGraph:
        """The length-T chain as a factor graph over x1..xT: one factor p(x_1..x_k), then one
        factor p(x_t | x_{t-k}..x_{t-1}) per later position (Z = 1)."""
        k = self.order
        if int(length) != length or length < k:
            raise ModelError(f"length must be an integer ≥ the order {k}, got {length!r}")
        names = [f"{prefix}{t}" for t in range(1, int(length) + 1)]
        factors = [Factor(names[:k], self.initial)]
        factors += [Factor(names[t - k : t + 1], self.transition) for t in range(k, len(names))]
        states = None
        if self.states is not None:
            states = {v: [str(s) for s in self.states] for v in names}
        return FactorGraph(factors, states=states, name=f"markov-chain-{k}-T{length}")

    def sample(
        self,
        length: int,
        n: int = 1,
        seed: int | np.random.Generator | None = None,
        prompt: Any = None,
    ) -> np.ndarray:
        """n sequences of `length` state codes (n, length), continuing `prompt` when given.

        Ancestral sampling: the first k states from the initial distribution (a fitted chain
        draws them one by one from its lower orders), then each state from its context.
        """
        rng = np.random.default_rng(seed)
        s, k = self.n_states, self.order
        out = np.zeros((n, int(length)), dtype=np.int64)
        start = 0
        if prompt is not None:
            head = self.encode(prompt, where="prompt")[: int(length)]
            out[:, : len(head)] = head
            start = len(head)
        if start < k and self._raw:
            for t in range(start, min(k, length)):
                ctx = _windows(out[:, :t].T, t, s).reshape(-1) if t else np.zeros(n, np.int64)
                probs = self._probs(np.repeat(ctx, s), np.tile(np.arange(s), n), t)
                out[:, t] = draw_rows(probs.reshape(n, s), rng)
            start = k
        elif start < k:
            flat = self.initial.reshape(-1)
            if start:  # condition the initial block on the prompt's first states
                digits = np.stack([(np.arange(s**k) // s ** (k - 1 - i)) % s for i in range(k)])
                match = np.all(digits[:start] == out[0, :start, None], axis=0)
                flat = np.where(match, flat, 0.0)
                if flat.sum() <= 0:
                    raise ModelError("the prompt has probability 0 under the initial distribution")
            codes = draw_rows(np.tile(flat / flat.sum(), (n, 1)), rng)
            for i in range(min(k, length)):
                out[:, i] = (codes // s ** (k - 1 - i)) % s
            start = k
        for t in range(start, int(length)):
            out[:, t] = draw_rows(self.next_distribution(out[:, t - k : t]), rng)
        return out


def _items(sequence: Any) -> Iterable[Any]:
    """The items of a sequence (characters of a string, elements of anything else)."""
    return sequence.tolist() if isinstance(sequence, np.ndarray) else sequence


def _names(states: Sequence[Any] | None, n_states: int) -> tuple[Any, ...] | None:
    """Validated state names (distinct, one per state) or None."""
    if states is None:
        return None
    names = tuple(states)
    if len(names) != n_states or len(set(names)) != len(names):
        raise ModelError(f"states must be {n_states} distinct names, got {names[:12]}")
    return names


