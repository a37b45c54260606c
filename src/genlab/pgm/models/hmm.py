"""HiddenMarkovModel: z_1 ~ start, z_t | z_{t-1} ~ transition, x_t | z_t ~ emission.

Queries run over many sequences of different lengths at once (a packed batch, see
hmm_scan.py): log-likelihoods, posteriors P(z_t | x) (scaled forward–backward), Viterbi paths
(the joint MAP, log space) and sampling. Missing observations (None / NaN / "") drop their
emission factor. Categorical HMMs lower to a factor graph for the exact engine; its answers
equal these (tests/pgm/test_hmm.py).

>>> hmm = HiddenMarkovModel.categorical([0.6, 0.4], [[0.7, 0.3], [0.4, 0.6]],
...                                     [[0.9, 0.1], [0.2, 0.8]], symbols=["H", "T"])
>>> round(float(hmm.log_likelihood([["H", "T", "T"]])[0]), 6)
-2.301885
>>> hmm.viterbi([["H", None, "T"]]).paths[0].tolist()
[0, 0, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genlab.pgm.errors import ModelError
from genlab.pgm.factor import Factor
from genlab.pgm.models.factor_graph import FactorGraph
from genlab.pgm.models.hmm_emissions import (
    CategoricalEmission,
    Emission,
    GaussianEmission,
    ObservationError,
    _BadRow,
)
from genlab.pgm.models.hmm_scan import Packing, PerSequence, forward_backward, viterbi
from genlab.pgm.models.stochastic import check_stochastic, draw_rows

__all__ = ["Decoding", "HMMSample", "HiddenMarkovModel", "SequenceBatch", "emission_log_shift"]


@dataclass(frozen=True)
class SequenceBatch:
    """Sequences encoded once for a model's emission (symbol codes or floats) and packed;
    every query accepts one, so repeated queries skip validation and packing."""

    packing: Packing
    flat: np.ndarray  # encoded observations, sequences concatenated in input order
    packed: np.ndarray  # the same rows in packed (time-major) order
    kind: str

    @property
    def lengths(self) -> np.ndarray:
        return self.packing.lengths

    def __len__(self) -> int:
        return len(self.packing.lengths)


@dataclass(frozen=True)
class Decoding:
    """Viterbi paths (one int array per sequence) and log P(path, sequence) per sequence.

    `paths` is a read-only list-like `PerSequence`: the paths are views of one concatenated
    array (`paths.flat`, input order), cut on access, so decoding 10,000 sequences builds no
    10,000 arrays up front."""

    paths: PerSequence
    log_probability: np.ndarray


@dataclass(frozen=True)
class HMMSample:
    """Sampled hidden states and observations, one array per sequence."""

    states: list[np.ndarray]
    observations: list[np.ndarray]


Sequences = Sequence[Any] | SequenceBatch


class HiddenMarkovModel:
    """A discrete-state HMM with categorical or Gaussian (diag / full covariance) emissions.

    `start` (K,) and every row of `transition` (K, K) must be probability vectors. All
    parameters are float64; queries take a list of sequences (each a list or array over time)
    or a `SequenceBatch`.
    """

    def __init__(self, start: Any, transition: Any, emission: Emission) -> None:
        k = emission.n_states
        self.start = check_stochastic("start", start, (k,))
        self.transition = check_stochastic("transition", transition, (k, k))
        for a in (self.start, self.transition):
            a.setflags(write=False)
        self.emission = emission
        with np.errstate(divide="ignore"):
            self._log_start = np.log(self.start)
            self._log_transition = np.log(self.transition)

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def categorical(cls, start: Any, transition: Any, emission: Any,
                    symbols: Sequence[Any] | None = None) -> HiddenMarkovModel:
        """Categorical emissions: `emission[k, m]` = P(symbol m | state k); symbols default
        to "0", "1", ..."""
        probs = np.asarray(emission, dtype=np.float64)
        if symbols is None:
            symbols = [str(i) for i in range(probs.shape[-1] if probs.ndim else 0)]
        return cls(start, transition, CategoricalEmission(tuple(map(str, symbols)), probs))

    @classmethod
    def gaussian(cls, start: Any, transition: Any, means: Any, covariances: Any,
                 covariance_type: str = "full", covariance_prior: float = 1e-2
                 ) -> HiddenMarkovModel:
        """Gaussian emissions N(means[k], Σ_k); `covariance_type` "diag" (variances (K, D))
        or "full" ((K, D, D), positive definite)."""
        return cls(start, transition,
                   GaussianEmission(means, covariances, covariance_type, covariance_prior))

    def replace(self, start: Any = None, transition: Any = None,
                emission: Emission | None = None) -> HiddenMarkovModel:
        """A copy with some parameters replaced."""
        return HiddenMarkovModel(self.start if start is None else start,
                                 self.transition if transition is None else transition,
                                 self.emission if emission is None else emission)

    # -- description -------------------------------------------------------------------------
    @property
    def n_states(self) -> int:
        return int(self.start.shape[0])

    @property
    def kind(self) -> str:
        """"categorical" or "gaussian"."""
        return self.emission.kind

    def __repr__(self) -> str:
        em = self.emission
        extra = ""
        if isinstance(em, CategoricalEmission):
            extra = f", {len(em.symbols)} symbols"
        elif isinstance(em, GaussianEmission):
            extra = f", {em.covariance_type} covariance, dimension {em.dim}"
        return f"HiddenMarkovModel({self.kind}, {self.n_states} states{extra})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see genlab.pgm.io.hmm_json)."""
        return {"kind": self.kind, "start": self.start.tolist(),
                "transition": self.transition.tolist(), **self.emission.to_dict()}

    # -- data --------------------------------------------------------------------------------
    def prepare(self, sequences: Sequences, lengths: Sequence[int] | None = None
                ) -> SequenceBatch:
        """Validate, encode and pack sequences (ObservationError names sequence and step).

        With `lengths`, `sequences` is one array holding all sequences end to end (hmmlearn's
        `X, lengths` convention), which skips the per-sequence Python work.
        """
        if isinstance(sequences, SequenceBatch):
            if sequences.kind != self.kind:
                raise ModelError(f"a {sequences.kind} batch cannot be used with a {self.kind} "
                                 "model")
            return sequences
        if lengths is not None:
            values, sizes = self._concatenated(sequences, lengths)
        else:
            values = self._sequence_list(sequences)
            sizes = np.array([len(s) for s in values], dtype=np.intp)
        empty = np.flatnonzero(sizes < 1)
        if empty.size:
            raise ModelError(f"sequence {int(empty[0])} is empty (every sequence needs at least "
                             "one step)")
        try:
            flat = self.emission.encode(values)
        except _BadRow as bad:
            ends = np.cumsum(sizes)
            seq = int(np.searchsorted(ends, bad.row, side="right"))
            raise ObservationError(bad.message, seq,
                                   bad.row - int(ends[seq] - sizes[seq])) from None
        packing = Packing.of(sizes)
        return SequenceBatch(packing, flat, packing.pack(flat), self.kind)

    @staticmethod
    def _sequence_list(sequences: Any) -> list[Any]:
        if isinstance(sequences, str):
            raise ModelError("sequences must be a list of sequences, got one str")
        values = list(sequences)
        if not values:
            raise ModelError("no sequences given")
        scalar = next((i for i, s in enumerate(values)
                       if isinstance(s, str) or not hasattr(s, "__len__")), None)
        if scalar is not None:
            raise ModelError(f"sequences must be a list of sequences, but item {scalar} is a "
                             f"single value {values[scalar]!r}; wrap one sequence in a list: "
                             "[sequence]")
        return values

    def _concatenated(self, x: Any, lengths: Sequence[int]) -> tuple[list[Any], np.ndarray]:
        sizes = np.asarray(lengths, dtype=np.intp).reshape(-1)
        if not sizes.size:
            raise ModelError("no sequences given (lengths is empty)")
        array = np.asarray(x)
        if self.kind == "categorical" and array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]  # hmmlearn's (n_samples, 1) column of symbols
        if int(sizes.sum()) != len(array):
            raise ModelError(f"lengths add up to {int(sizes.sum())} but the concatenated "
                             f"sequences have {len(array)} steps")
        return [array], sizes

    # -- queries -----------------------------------------------------------------------------
    def log_likelihood(self, sequences: Sequences) -> np.ndarray:
        """log P(x) per sequence (missing steps marginalised; −inf where impossible)."""
        batch = self.prepare(sequences)
        scaled = self.emission.scaled_likelihood(batch.packed)
        return forward_backward(batch.packing, self.start, self.transition, scaled,
                                posteriors=False, work=True).log_likelihood

    def score(self, sequences: Sequences) -> float:
        """Total log-likelihood of all sequences."""
        return float(self.log_likelihood(sequences).sum())

    def posteriors(self, sequences: Sequences) -> PerSequence:
        """P(z_t = k | x) per sequence, arrays (T_i, K) (scaled forward–backward), as a
        list-like `PerSequence` of views into one (total, K) array (`.flat`, input order)."""
        batch = self.prepare(sequences)
        scaled = self.emission.scaled_likelihood(batch.packed)
        fb = forward_backward(batch.packing, self.start, self.transition, scaled, work=True)
        return batch.packing.split(batch.packing.unpack(fb.gamma))  # unpack copies γ out

    def viterbi(self, sequences: Sequences) -> Decoding:
        """The jointly most probable state path per sequence and log P(path, x)."""
        batch = self.prepare(sequences)
        log_b = self.emission.log_likelihood(batch.packed)
        v = viterbi(batch.packing, self._log_start, self._log_transition, log_b)
        return Decoding(batch.packing.split(batch.packing.unpack(v.states)), v.log_probability)

    def sample(self, n: int, length: int | Sequence[int],
               seed: int | np.random.Generator | None = None) -> HMMSample:
        """`n` sequences of `length` steps (an int, or one length per sequence), drawn
        vectorised over sequences; the same seed gives the same sample."""
        if int(n) < 0:
            raise ModelError(f"the number of sequences must be >= 0, got {n}")
        lengths = np.broadcast_to(np.asarray(length, dtype=np.intp), (int(n),)).copy()
        if lengths.size and lengths.min() < 1:
            raise ModelError(f"sequence lengths must be >= 1, got {int(lengths.min())}")
        rng = np.random.default_rng(seed)
        t_max = int(lengths.max()) if lengths.size else 0
        states = np.zeros((int(n), t_max), dtype=np.intp)
        if n and t_max:
            states[:, 0] = draw_rows(np.broadcast_to(self.start, (int(n), self.n_states)), rng)
            for t in range(1, t_max):
                states[:, t] = draw_rows(self.transition[states[:, t - 1]], rng)
        keep = np.arange(t_max)[None, :] < lengths[:, None]
        flat_states = states[keep]
        flat_obs = self.emission.sample(flat_states, rng)
        cuts = np.cumsum(lengths)[:-1]
        obs = np.split(flat_obs, cuts) if n else []
        if isinstance(self.emission, CategoricalEmission):
            symbols = np.array(self.emission.symbols, dtype=object)
            obs = [symbols[o] for o in obs]
        return HMMSample(np.split(flat_states, cuts) if n else [], obs)

    # -- lowering ----------------------------------------------------------------------------
    def to_factor_graph(self, length: int | None = None, *,
                        sequence: Sequence[Any] | None = None) -> FactorGraph:
        """The HMM unrolled as a factor graph for the exact engine.

        `to_factor_graph(T)` (categorical only): hidden z0..z{T-1} and observed x0..x{T-1}
        (states = the symbols); observe a sequence as evidence {"x3": "a", ...}, leaving
        missing steps out. `to_factor_graph(sequence=seq)` (any kind): hidden variables only,
        each step's emission likelihood a unary factor (missing steps: none), so log Z = log
        P(x).
        """
        if sequence is not None:
            log_b, shift, seen = self._shifted_emissions(sequence)
            t = len(log_b)
            factors = self._chain_factors(t)
            unary = [Factor((f"z{i}",), np.exp(log_b[i] - shift[i])) for i in range(t) if seen[i]]
            # each unary is scaled by exp(−max_k log p(x_t | k)): log P(x) = log Z +
            # emission_log_shift(model, sequence)
            return FactorGraph([*factors, *unary], name=f"hmm-{t}-observed")
        if length is None or int(length) < 1:
            raise ModelError(f"to_factor_graph needs a length T >= 1 (or sequence=), got "
                             f"{length}")
        if not isinstance(self.emission, CategoricalEmission):
            raise ModelError("only categorical HMMs lower to discrete observed variables; "
                             "use to_factor_graph(sequence=...) for Gaussian emissions")
        t = int(length)
        emission = [Factor((f"z{i}", f"x{i}"), self.emission.probabilities) for i in range(t)]
        states = {f"x{i}": self.emission.symbols for i in range(t)}
        return FactorGraph([*self._chain_factors(t), *emission], states=states,
                           name=f"hmm-{t}")

    def _shifted_emissions(self, sequence: Sequence[Any]) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
        """(log p(x_t | k) (T, K), its max over k per step, which steps are observed)."""
        batch = self.prepare([sequence])
        log_b = self.emission.log_likelihood(batch.flat)
        return log_b, log_b.max(axis=1), self.emission.observed(batch.flat)

    def _chain_factors(self, t: int) -> list[Factor]:
        factors = [Factor(("z0",), self.start)]
        factors += [Factor((f"z{i - 1}", f"z{i}"), self.transition) for i in range(1, t)]
        return factors


def emission_log_shift(model: HiddenMarkovModel, sequence: Sequence[Any]) -> float:
    """Σ_t max_k log p(x_t | k) over the observed steps: what `to_factor_graph(sequence=...)`
    divides out, so log P(x) = log Z of that graph + this."""
    _, shift, seen = model._shifted_emissions(sequence)
    return float(shift[seen].sum())


