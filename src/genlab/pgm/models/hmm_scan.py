"""The HMM's dedicated kernels: scaled forward–backward and log-space Viterbi over a batch.

Sequences of different lengths are *packed* time-major, as PyTorch's PackedSequence: they are
sorted by length (longest first), and the rows of time step t are the n_t sequences still
running, stored contiguously. Step t of every sequence is then one slice, so each recursion
step is a couple of numpy calls on an (n_t, K) block — no padding, no masks, no Python loop
over sequences. Measured against the exact contraction engine on the lowered factor graph
(batched evidence rows), this scan is much faster (see benchmarks/hmm_vs_hmmlearn.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from genlab.pgm.errors import ZeroEvidenceError
from genlab.pgm.models.hmm_emissions import row_max

__all__ = ["ForwardBackward", "Packing", "Viterbi", "forward_backward", "viterbi"]


@dataclass(frozen=True)
class Packing:
    """Where step t of sequence i lives in the packed (time-major) rows.

    `order[j]` is the original index of the j-th longest sequence; row `offsets[t] + j` holds
    its step t (for t < lengths[j]); `batch_sizes[t]` = how many sequences reach step t.
    """

    order: np.ndarray  # (N,) sorted position -> original index
    lengths: np.ndarray  # (N,) lengths in original order
    batch_sizes: np.ndarray  # (T_max,)
    offsets: np.ndarray  # (T_max + 1,)
    rows: np.ndarray  # (total,) packed row of each step, sequences concatenated in input order

    @classmethod
    def of(cls, lengths: np.ndarray) -> Packing:
        lengths = np.asarray(lengths, dtype=np.intp)
        order = np.argsort(-lengths, kind="stable")
        sorted_len = lengths[order]
        t_max = int(sorted_len[0]) if len(sorted_len) else 0
        # n_t = #{i : length_i > t}
        batch_sizes = len(lengths) - np.cumsum(np.bincount(lengths, minlength=t_max + 1))[:t_max]
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).astype(np.intp)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        seq = np.repeat(np.arange(len(lengths)), lengths)  # input order
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else lengths
        time = np.arange(len(seq)) - np.repeat(starts, lengths)
        rows = offsets[time] + rank[seq]
        return cls(order, lengths, batch_sizes.astype(np.intp), offsets, rows.astype(np.intp))

    @property
    def total(self) -> int:
        return int(self.offsets[-1])

    def pack(self, flat: np.ndarray) -> np.ndarray:
        """Rows of the input-order concatenation rearranged into packed order."""
        out = np.empty_like(flat)
        out[self.rows] = flat
        return out

    def unpack(self, packed: np.ndarray) -> np.ndarray:
        """Packed rows back to the input-order concatenation."""
        return packed[self.rows]

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """An input-order concatenation cut into one array per sequence."""
        ends = np.cumsum(self.lengths).tolist()
        return [flat[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    def per_sequence_sum(self, packed_values: np.ndarray) -> np.ndarray:
        """Σ over each sequence's steps of a packed (total,) vector, in input order."""
        sorted_index = np.arange(self.total) - np.repeat(self.offsets[:-1], self.batch_sizes)
        sums = np.bincount(sorted_index, packed_values, minlength=len(self.order))
        out = np.empty(len(self.order))
        out[self.order] = sums
        return out

    @cached_property
    def sizes_list(self) -> list[int]:
        """`batch_sizes` as Python ints (cheap to use in the per-step loops)."""
        return [int(n) for n in self.batch_sizes]

    @cached_property
    def offsets_list(self) -> list[int]:
        return [int(o) for o in self.offsets]

    def first_rows(self) -> np.ndarray:
        """Packed rows of step 0, in sorted order (= rows 0..N-1)."""
        return np.arange(int(self.batch_sizes[0]) if len(self.batch_sizes) else 0)


@dataclass
class ForwardBackward:
    """Packed posteriors of one batch: gamma (total, K) = P(z_t | x) (the filtered
    P(z_t | x_1..t) when only the forward pass ran), the log-likelihood per sequence (input
    order), and the expected transition counts Σ_t ξ_t (K, K) when asked for."""

    gamma: np.ndarray
    log_likelihood: np.ndarray
    transitions: np.ndarray | None


def forward_backward(packing: Packing, start: np.ndarray, transition: np.ndarray,
                     scaled: tuple[np.ndarray, np.ndarray], *, posteriors: bool = True,
                     counts: bool = False) -> ForwardBackward:
    """Scaled forward (and backward) recursions over packed emission likelihoods given as
    `scaled` = (b, shift): b (total, K) = p(x_t | k) / exp(shift_t), each row peaking at 1
    (the emission's `scaled_likelihood`). The forward normalisers give
    log P(x); a sequence of probability zero gets −inf (posteriors then raise
    ZeroEvidenceError).

    Each step is four in-place numpy calls on contiguous (n_t, K) slices: the per-call
    overhead, not arithmetic, is what costs for small K.
    """
    b, shift = scaled
    k = b.shape[1]
    alpha = np.empty_like(b)
    scale = np.empty(len(b))
    scale_col = scale[:, None]
    ones = np.ones(k)
    sizes, off = packing.sizes_list, packing.offsets_list
    matmul, multiply, divide = np.matmul, np.multiply, np.divide
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if sizes:
            n = sizes[0]
            multiply(start, b[:n], out=alpha[:n])
            matmul(alpha[:n], ones, out=scale[:n])
            divide(alpha[:n], scale_col[:n], out=alpha[:n])
        for t in range(1, len(sizes)):
            n, p, q = sizes[t], off[t - 1], off[t]
            a = alpha[q:q + n]
            matmul(alpha[p:p + n], transition, out=a)
            multiply(a, b[q:q + n], out=a)
            matmul(a, ones, out=scale[q:q + n])
            divide(a, scale_col[q:q + n], out=a)
        log_terms = np.log(scale)
        log_terms += shift
    log_lik = packing.per_sequence_sum(log_terms)
    log_lik[np.isnan(log_lik)] = -np.inf
    if not posteriors:
        return ForwardBackward(alpha, log_lik, None)
    if not np.all(np.isfinite(log_lik)):
        bad = np.flatnonzero(~np.isfinite(log_lik))
        raise ZeroEvidenceError(f"sequence(s) {bad[:10].tolist()} have probability zero under "
                                "the model: no posterior exists")
    beta = np.ones_like(b)
    transition_t = np.ascontiguousarray(transition.T)
    # ahead[row of (t, j)] = b_{t+1} β_{t+1} / c_{t+1} of the same sequence (0 on its last
    # step): β_t = ahead_t A^T, and Σ_t ξ_t = A ∘ (αᵀ ahead) — one matmul, no gather
    ahead = np.zeros_like(b)
    for t in range(len(sizes) - 2, -1, -1):
        n1, p, q = sizes[t + 1], off[t], off[t + 1]
        w = ahead[p:p + n1]
        multiply(b[q:q + n1], beta[q:q + n1], out=w)
        divide(w, scale_col[q:q + n1], out=w)
        matmul(w, transition_t, out=beta[p:p + n1])
    xi = transition * (alpha.T @ ahead) if counts else None
    gamma = np.multiply(alpha, beta, out=beta)
    gamma /= (gamma @ ones)[:, None]  # exact already; removes rounding drift
    return ForwardBackward(gamma, log_lik, xi)


@dataclass
class Viterbi:
    """Packed MAP states (total,) and the joint log P(path, x) per sequence (input order)."""

    states: np.ndarray
    log_probability: np.ndarray


def viterbi(packing: Packing, log_start: np.ndarray, log_transition: np.ndarray,
            log_b: np.ndarray) -> Viterbi:
    """The jointly most probable state path of every sequence, in log space.

    The forward pass keeps only δ_t(j) = max_i δ_{t−1}(i) + log A_ij + log b_t(j): the max
    runs over the *leading* axis of a (K_prev, n, K) block, which numpy does elementwise
    (fast), instead of a per-row reduction over a short last axis. The backtrack recomputes
    the argmax for the chosen state only — the same sums, so the same (first) maximiser.
    """
    sizes, off = packing.sizes_list, packing.offsets_list
    k = log_b.shape[1]
    n_seq = len(packing.order)
    if not sizes:
        return Viterbi(np.zeros(0, np.intp), np.zeros(0))
    add, max_over_first = np.add, np.maximum.reduce
    delta = np.empty_like(log_b)
    block = np.empty((k, sizes[0], k))
    transition = log_transition[:, None, :]
    add(log_start, log_b[:sizes[0]], out=delta[:sizes[0]])
    previous = delta[:sizes[0]]
    for t in range(1, len(sizes)):
        n, q = sizes[t], off[t]
        current = delta[q:q + n]
        add(previous[:n].T[:, :, None], transition, out=block[:, :n])
        max_over_first(block[:, :n], axis=0, out=current)
        current += log_b[q:q + n]
        previous = current
    ending_at = [*sizes[1:], 0]  # sequences [ending_at[t], sizes[t]) end at step t
    last_state = np.zeros(n_seq, dtype=np.intp)  # sorted order
    best = np.full(n_seq, -np.inf)
    for t in range(len(sizes)):
        e, n = ending_at[t], sizes[t]
        if e < n:
            final = delta[off[t] + e:off[t] + n]
            last_state[e:n] = final.argmax(axis=1)
            best[e:n] = row_max(final)
    states = np.empty(len(log_b), dtype=np.intp)
    state = np.zeros(n_seq, dtype=np.intp)
    into = np.ascontiguousarray(log_transition.T)  # into[j, i] = log A_ij
    for t in range(len(sizes) - 1, -1, -1):
        n, e, q = sizes[t], ending_at[t], off[t]
        if e < n:
            state[e:n] = last_state[e:n]
        states[q:q + n] = state[:n]
        if t:
            p = off[t - 1]
            scores = into[state[:n]]
            scores += delta[p:p + n]
            state[:n] = scores.argmax(axis=1)
    log_p = np.empty(n_seq)
    log_p[packing.order] = best
    if not np.all(np.isfinite(log_p)):
        bad = np.sort(packing.order[~np.isfinite(best)])
        raise ZeroEvidenceError(f"sequence(s) {bad[:10].tolist()} have probability zero under "
                                "the model: no most probable path exists")
    return Viterbi(states, log_p)
