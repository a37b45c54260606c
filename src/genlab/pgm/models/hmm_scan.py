"""The HMM's dedicated kernels: scaled forward–backward and log-space Viterbi over a batch.

Sequences of different lengths are *packed* time-major, as PyTorch's PackedSequence: they are
sorted by length (longest first), and the rows of time step t are the n_t sequences still
running, stored contiguously. Step t of every sequence is then one slice, so each recursion
step is a couple of numpy calls on an (n_t, K) block — no padding, no masks, no Python loop
over sequences. Measured against the exact contraction engine on the lowered factor graph
(batched evidence rows), this scan is much faster (see benchmarks/hmm_vs_hmmlearn.py).

For small batches the cost is numpy's per-call overhead (~0.5 µs a call), not arithmetic, so
the loops are written to make as few calls per step as possible: `ndarray.dot` with `out=`
(half the overhead of `np.matmul`), the forward–backward normalising only every few steps
(see `forward_backward`), and Viterbi keeping its scores state-major so that the max over the
previous state is an elementwise reduction over a leading axis.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import Any, overload

import numpy as np

from genlab.pgm.errors import ZeroEvidenceError
from genlab.pgm.models.hmm_emissions import work_array as _work

__all__ = ["ForwardBackward", "Packing", "PerSequence", "Viterbi", "forward_backward", "viterbi"]

# Forward–backward normalises α every _RENORM_EVERY steps; between normalisations the row sums
# can only shrink (b ≤ 1, A stochastic), so a call whose normalisers all stay above _TINY lost
# nothing to underflow. Below it (extreme outliers, or a zero-probability sequence) the call is
# redone normalising every step.
_RENORM_EVERY = 8
_TINY = 1e-150


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
        n = len(lengths)
        if n and (lengths == lengths[0]).all():  # equal lengths: a (T, N) transpose
            t_max = int(lengths[0])
            order = np.arange(n)
            batch_sizes = np.full(t_max, n, dtype=np.intp)
            offsets = np.arange(0, (t_max + 1) * n, n, dtype=np.intp)
            rows = (order[:, None] + offsets[None, :t_max]).reshape(-1)
            packing = cls(order, lengths, batch_sizes, offsets, rows)
            # what the kernels ask for, known here without computing (cached_property slots)
            cache = packing.__dict__
            cache["equal_lengths"] = True
            cache["sizes_list"] = [n] * t_max
            cache["offsets_list"] = offsets.tolist()
            cache["last_rows"] = order + (t_max - 1) * n
            cache["ends"] = np.arange(0, (n + 1) * t_max, t_max, dtype=np.intp)
            return packing
        order = np.argsort(-lengths, kind="stable")
        sorted_len = lengths.take(order)
        t_max = int(sorted_len[0]) if len(sorted_len) else 0
        # n_t = #{i : length_i > t}
        batch_sizes = n - np.cumsum(np.bincount(lengths, minlength=t_max + 1))[:t_max]
        offsets = np.zeros(t_max + 1, dtype=np.intp)
        np.cumsum(batch_sizes, out=offsets[1:])
        rank = np.empty_like(order)
        rank[order] = np.arange(n)
        # row of (sequence i, step t) = offsets[t] + rank[i]: per sequence, its rank plus the
        # first len_i offsets — one repeat and one ramp over all steps, no per-sequence loop
        ends = np.cumsum(lengths)
        time = np.arange(int(ends[-1]) if n else 0) - np.repeat(ends - lengths, lengths)
        rows = offsets.take(time) + np.repeat(rank, lengths)
        return cls(order, lengths, batch_sizes.astype(np.intp, copy=False), offsets,
                   rows.astype(np.intp, copy=False))

    @cached_property
    def equal_lengths(self) -> bool:
        """Whether every sequence has the same length (packing is then a plain transpose)."""
        return bool(len(self.lengths)) and int(self.lengths.min()) == int(self.lengths.max())

    @cached_property
    def gather(self) -> np.ndarray:
        """(total,) input-order row of each packed row (the inverse of `rows`)."""
        out = np.empty_like(self.rows)
        out[self.rows] = np.arange(len(self.rows))
        return out

    def pack(self, flat: np.ndarray) -> np.ndarray:
        """Rows of the input-order concatenation rearranged into packed order (`take`, which
        is ~10–30× faster than fancy indexing for rows)."""
        if self.equal_lengths:  # (N, T, ...) -> (T, N, ...): a strided copy, no gather
            n, t = len(self.lengths), int(self.lengths[0])
            moved = flat.reshape(n, t, *flat.shape[1:]).swapaxes(0, 1)
            return np.array(moved, order="C").reshape(flat.shape)  # always a copy
        return flat.take(self.gather, axis=0)  # type: ignore[no-any-return]

    def unpack(self, packed: np.ndarray) -> np.ndarray:
        """Packed rows back to the input-order concatenation (always a new array, so a
        work array can be unpacked and handed out)."""
        if self.equal_lengths:
            n, t = len(self.lengths), int(self.lengths[0])
            moved = packed.reshape(t, n, *packed.shape[1:]).swapaxes(0, 1)
            return np.array(moved, order="C").reshape(packed.shape)  # always a copy
        return packed.take(self.rows, axis=0)  # type: ignore[no-any-return]

    @cached_property
    def ends(self) -> np.ndarray:
        """(N + 1,) where each sequence starts (and the last ends) in the concatenation."""
        out = np.zeros(len(self.lengths) + 1, dtype=np.intp)
        np.cumsum(self.lengths, out=out[1:])
        return out

    def split(self, flat: np.ndarray) -> PerSequence:
        """An input-order concatenation cut into one array per sequence (lazily: the pieces
        are views made when indexed, so 10,000 sequences cost no 10,000 Python objects)."""
        return PerSequence(flat, self.ends)

    def per_sequence_sum(self, packed_values: np.ndarray) -> np.ndarray:
        """Σ over each sequence's steps of a packed (total,) vector, in input order."""
        if self.equal_lengths:
            return packed_values.reshape(int(self.lengths[0]), -1).sum(axis=0)
        # back to input order, then one segmented sum (every sequence has >= 1 step)
        return np.add.reduceat(packed_values.take(self.rows), self.ends[:-1])  # type: ignore[no-any-return]

    @cached_property
    def sizes_list(self) -> list[int]:
        """`batch_sizes` as Python ints (cheap to use in the per-step loops)."""
        return self.batch_sizes.tolist()  # type: ignore[no-any-return]

    @cached_property
    def offsets_list(self) -> list[int]:
        return self.offsets.tolist()  # type: ignore[no-any-return]

    @cached_property
    def last_rows(self) -> np.ndarray:
        """(N,) packed row of each sequence's last step, in input order."""
        rank = np.empty_like(self.order)
        rank[self.order] = np.arange(len(self.order))
        return self.offsets[self.lengths - 1] + rank  # type: ignore[no-any-return]

    def first_rows(self) -> np.ndarray:
        """Packed rows of step 0, in sorted order (= rows 0..N-1)."""
        return np.arange(int(self.batch_sizes[0]) if len(self.batch_sizes) else 0)


class PerSequence(Sequence[np.ndarray]):
    """A read-only list of per-sequence arrays backed by one concatenation: item i is the view
    `flat[ends[i]:ends[i + 1]]`, made on access. Indexing, iteration, `len` and
    `np.concatenate` work as on a list; `flat` and `ends` give the packed form directly."""

    __slots__ = ("ends", "flat")

    def __init__(self, flat: np.ndarray, ends: np.ndarray) -> None:
        self.flat = flat
        self.ends = ends

    def __len__(self) -> int:
        return len(self.ends) - 1

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> list[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        i = int(index) + n if int(index) < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"sequence index {index} out of range for {n} sequences")
        return self.flat[int(self.ends[i]):int(self.ends[i + 1])]

    def __iter__(self) -> Iterator[np.ndarray]:
        flat, ends = self.flat, self.ends.tolist()
        return (flat[a:b] for a, b in pairwise(ends))

    def __repr__(self) -> str:
        return f"PerSequence({len(self)} sequences, {len(self.flat)} steps)"


@dataclass
class ForwardBackward:
    """Packed posteriors of one batch: gamma (total, K) = P(z_t | x) (the filtered
    P(z_t | x_1..t), up to a per-row scale, when only the forward pass ran), the
    log-likelihood per sequence (input order), and the expected transition counts Σ_t ξ_t
    (K, K) when asked for. From `forward_backward(..., work=True)` gamma is a reused work
    array: read it before the next call in the same thread."""

    gamma: np.ndarray
    log_likelihood: np.ndarray
    transitions: np.ndarray | None


def _forward(packing: Packing, start: np.ndarray, transition: np.ndarray, b: np.ndarray,
             every: int, alpha: np.ndarray | None = None, scale: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Scaled forward pass normalising α every `every` steps: (α̂, c) with c = the row sums
    divided out (1 on the steps in between), written into `alpha` and `scale` when given."""
    k = b.shape[1]
    alpha = np.empty_like(b) if alpha is None else alpha
    scale = np.ones(len(b)) if scale is None else scale
    scale.fill(1.0)
    ones = np.ones(k)
    sizes, off = packing.sizes_list, packing.offsets_list
    multiply, divide = np.multiply, np.divide
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if sizes:
            n = sizes[0]
            multiply(start, b[:n], alpha[:n])
        next_norm = every
        for t in range(1, len(sizes)):
            n, p, q = sizes[t], off[t - 1], off[t]
            a = alpha[q:q + n]
            alpha[p:p + n].dot(transition, a)
            multiply(a, b[q:q + n], a)
            if t == next_norm:
                next_norm += every
                s = scale[q:q + n]
                a.dot(ones, s)
                divide(a, s[:, None], a)
    return alpha, scale


def forward_backward(packing: Packing, start: np.ndarray, transition: np.ndarray,
                     scaled: tuple[np.ndarray, np.ndarray], *, posteriors: bool = True,
                     counts: bool = False, work: bool = False) -> ForwardBackward:
    """Scaled forward (and backward) recursions over packed emission likelihoods given as
    `scaled` = (b, shift): b (total, K) = p(x_t | k) / exp(shift_t), each row peaking at 1
    (the emission's `scaled_likelihood`). The forward normalisers give
    log P(x); a sequence of probability zero gets −inf (posteriors then raise
    ZeroEvidenceError).

    α is normalised only every `_RENORM_EVERY` steps (and its last row per sequence summed
    once, vectorised): a step is then two numpy calls forward (α_{t−1}A, ∘ b_t) and two
    backward. The backward pass divides by the same normalisers, so α̂_t·β̂_t = 1 on every
    row and Σ_t ξ_t needs no correction; γ rows are renormalised at the end anyway.

    With `work`, gamma may be a work array this thread reuses on its next call (no fresh
    (total, K) array, whose page faults cost more than the scan for large batches): for
    callers that consume it at once (posteriors are unpacked, Baum–Welch's M-step).
    """
    b, shift = scaled
    b = np.ascontiguousarray(b)
    last = packing.last_rows
    ones = np.ones(b.shape[1])
    reuse = work or posteriors  # with posteriors, α is a temporary (γ gets its own array)
    alpha = _work("alpha", b.size).reshape(b.shape) if reuse else np.empty_like(b)
    scale = _work("scale", len(b))
    _forward(packing, start, transition, b, _RENORM_EVERY, alpha, scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        final = alpha.take(last, axis=0).dot(ones)
        lowest = min(float(scale.min()), float(final.min())) if len(final) else 1.0
        if not lowest >= _TINY:  # possible underflow (or NaN): normalise every step
            lowest = 0.0
            _forward(packing, start, transition, b, 1, alpha, scale)
            final = alpha.take(last, axis=0).dot(ones)
        log_terms = np.log(scale, out=_work("log_scale", len(b)))
        log_terms += shift
        log_lik = packing.per_sequence_sum(log_terms)
        log_lik += np.log(final)
    log_lik[np.isnan(log_lik)] = -np.inf
    if not posteriors:
        return ForwardBackward(alpha, log_lik, None)
    if not np.all(np.isfinite(log_lik)):
        bad = np.flatnonzero(~np.isfinite(log_lik))
        raise ZeroEvidenceError(f"sequence(s) {bad[:10].tolist()} have probability zero under "
                                "the model: no posterior exists")
    sizes, off = packing.sizes_list, packing.offsets_list
    every = 1 if lowest < _TINY else _RENORM_EVERY  # which steps the forward pass normalised
    # every row of β is written: the last steps here, the others in the loop
    beta = _work("beta", b.size).reshape(b.shape)
    beta[last] = (1.0 / final)[:, None]  # α̂·β̂ = 1 on each sequence's last step
    transition_t = np.ascontiguousarray(transition.T)
    # ahead[row of (t, j)] = b_{t+1} β_{t+1} / c_{t+1} of the same sequence (0 on its last
    # step): β_t = ahead_t A^T, and Σ_t ξ_t = A ∘ (αᵀ ahead) — one matmul, no gather. Without
    # counts only the current step's block is needed.
    if counts:
        ahead = _work("ahead", b.size).reshape(b.shape)
        ahead[last] = 0.0
    else:
        scratch = np.empty((sizes[0], b.shape[1]))
    multiply, divide = np.multiply, np.divide
    for t in range(len(sizes) - 2, -1, -1):
        n1, p, q = sizes[t + 1], off[t], off[t + 1]
        w = ahead[p:p + n1] if counts else scratch[:n1]
        multiply(b[q:q + n1], beta[q:q + n1], w)
        if (t + 1) % every == 0:  # a step the forward pass normalised: divide by c_{t+1}
            divide(w, scale[q:q + n1, None], w)
        w.dot(transition_t, beta[p:p + n1])
    xi = transition * (alpha.T @ ahead) if counts else None
    gamma = np.multiply(alpha, beta, out=alpha if work else np.empty_like(b))
    norm = gamma.dot(ones, _work("norm", len(b)))
    np.divide(gamma, norm[:, None], out=gamma)  # exact already; removes rounding drift
    return ForwardBackward(gamma, log_lik, xi)


@dataclass
class Viterbi:
    """Packed MAP states (total,) and the joint log P(path, x) per sequence (input order)."""

    states: np.ndarray
    log_probability: np.ndarray


def viterbi(packing: Packing, log_start: np.ndarray, log_transition: np.ndarray,
            log_b: np.ndarray) -> Viterbi:
    """The jointly most probable state path of every sequence, in log space.

    The forward pass keeps only δ_t(j) = max_i δ_{t−1}(i) + log A_ij + log b_t(j), stored
    state-major: step t is a contiguous (K, n_t) block (plus a row of ones, see
    `_viterbi_forward`), so the candidates form a (K_prev, K, n_t) block whose max over the
    *leading* axis is elementwise — three or four calls a step. The backtrack recomputes the
    argmax for the chosen state only (the same sums, so the same first maximiser), writing
    the previous step's states straight into the packed path. `log_b` (total, K) is read
    through its transpose: an emission that builds it state-major (categorical) costs no copy.
    """
    sizes, off = packing.sizes_list, packing.offsets_list
    if not sizes:
        return Viterbi(np.zeros(0, np.intp), np.zeros(0))
    k = log_b.shape[1]
    k1 = k + 1
    total = len(log_b)
    n0, steps = sizes[0], len(sizes)
    lbt = log_b.T
    flat = _work("delta", total * k1)
    if packing.equal_lengths:  # no per-step bookkeeping: δ is one (T, K + 1, N) array
        augmented: Any = flat.reshape(steps, k1, n0)
        augmented[:, k] = 1.0
        delta: Any = augmented[:, :k]
        lb_steps: Any = lbt.reshape(k, steps, n0).transpose(1, 0, 2)
    else:
        augmented = [flat[o * k1:(o + n) * k1].reshape(k1, n)
                     for o, n in zip(off, sizes, strict=False)]
        for a in augmented:
            a[k] = 1.0
        delta = [a[:k] for a in augmented]
        lb_steps = [lbt[:, o:o + n] for o, n in zip(off, sizes, strict=False)]
    # all finite iff these sums are (an infinity or NaN survives a sum; a finite overflow
    # would only switch off the BLAS path, which is safe)
    finite = bool(np.isfinite(log_b.sum() + log_start.sum() + log_transition.sum()))
    _viterbi_forward(sizes, augmented, delta, lb_steps, log_start, log_transition, finite)
    if packing.equal_lengths:
        final = delta[steps - 1]
    else:  # each sequence's last column: block of step len−1, position = its rank
        last = packing.last_rows
        step = packing.lengths - 1
        base = packing.offsets[step] * k1 + (last - packing.offsets[step])
        final = flat[base[None, :] + np.arange(k)[:, None] * packing.batch_sizes[step][None, :]]
    log_p = np.maximum.reduce(final, axis=0)
    if not np.all(np.isfinite(log_p)):
        bad = np.flatnonzero(~np.isfinite(log_p))
        raise ZeroEvidenceError(f"sequence(s) {bad[:10].tolist()} have probability zero under "
                                "the model: no most probable path exists")
    states = np.empty(total, dtype=np.intp)
    add = np.add
    column = np.empty((k, n0))
    if packing.equal_lengths:
        path = states.reshape(steps, n0)
        final.argmax(0, path[steps - 1])
        take = log_transition.take
        for scores, chosen, into in zip(delta[-2::-1], path[:0:-1], path[-2::-1], strict=True):
            take(chosen, 1, column, "clip")
            add(scores, column, scores)
            scores.argmax(0, into)
        return Viterbi(states, log_p)
    states[packing.last_rows] = final.argmax(axis=0)
    for t in range(steps - 1, 0, -1):
        n, p, q = sizes[t], off[t - 1], off[t]
        scores = delta[t - 1] if n == sizes[t - 1] else delta[t - 1][:, :n]
        col = column if n == n0 else column[:, :n]
        log_transition.take(states[q:q + n], 1, col, "clip")
        add(scores, col, scores)
        scores.argmax(0, states[p:p + n])
    return Viterbi(states, log_p)


def _viterbi_forward(sizes: list[int], augmented: Any, delta: Any, lb_steps: Any,
                     log_start: np.ndarray, log_transition: np.ndarray, finite: bool) -> None:
    """Fill δ step by step: `augmented[t]` is step t's (K + 1, n_t) block, δ_t over a row of
    ones; `delta[t]` its first K rows; `lb_steps[t]` the (K, n_t) log b_t.

    The candidate block (K_prev, K, n), δ_{t−1}(i) + log A_ij, is a broadcast add whose K²
    short inner loops dominate small batches. While everything is finite it is instead one
    BLAS product: [0/1 selection | log A] (K², K + 1) times the augmented (K + 1, n) block —
    exact, since each entry sums one δ, one log A and zeros. The max over the previous state
    is K − 1 pairwise maxima for K ≤ 4 (cheaper calls than one reduction), else one
    reduction over the leading axis.
    """
    k = len(log_start)
    n0 = sizes[0]
    add, reduce_max, maximum = np.add, np.maximum.reduce, np.maximum
    add(log_start[:, None], lb_steps[0], delta[0])
    select = finite and n0 <= 512 and k <= 12
    product = np.hstack([np.repeat(np.eye(k), k, axis=0), log_transition.reshape(-1, 1)])
    into = log_transition[:, :, None]  # (K_prev, K, 1)
    buffer = np.empty(k * k * n0)
    pairwise = 1 < k <= 4
    flat_blk: np.ndarray
    blk: np.ndarray
    if sizes[-1] == n0 and select and pairwise:  # equal lengths, small K and batch: fixed
        flat_blk = buffer.reshape(k * k, n0)   # views and four or five calls a step
        first, second, *others = list(flat_blk.reshape(k, k, n0))
        for prev, cur, lb in zip(augmented[:-1], delta[1:], lb_steps[1:], strict=True):
            product.dot(prev, flat_blk)
            maximum(first, second, out=cur)
            for other in others:
                maximum(cur, other, out=cur)
            add(cur, lb, cur)
        return
    width = -1
    flat_blk = blk = buffer
    slabs = []
    for t in range(1, len(sizes)):
        n = sizes[t]
        if n != width:  # contiguous (K·K, n) block views, rebuilt only when n_t changes
            width = n
            flat_blk = buffer[:k * k * n].reshape(k * k, n)
            blk = flat_blk.reshape(k, k, n)
            slabs = list(blk) if pairwise else []
        prev = augmented[t - 1] if n == sizes[t - 1] else augmented[t - 1][:, :n]
        cur = delta[t]
        if select:
            product.dot(prev, flat_blk)
        else:
            add(prev[:k, None, :], into, blk)
        if pairwise:
            maximum(slabs[0], slabs[1], out=cur)
            for i in range(2, k):
                maximum(cur, slabs[i], out=cur)
        else:
            reduce_max(blk, 0, None, cur)
        add(cur, lb_steps[t], cur)
