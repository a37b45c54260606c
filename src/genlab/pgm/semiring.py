"""Pairwise contraction kernels for the two semirings of exact inference.

Every tensor carries a leading batch axis of size 1 or N (evidence rows), followed by one axis
per variable in sorted id order. A kernel is compiled once per plan step from the scopes alone
(axis permutations, which variables are summed where) and then run on arrays of any batch size:
the step becomes one batched matmul (sum-product) or one broadcast max (max-product), never a
Python loop over entries.

Both semirings commute with positive scaling, so the engine rescales every intermediate by its
per-row maximum and carries the logarithm of the scale separately (TensorInference's
RescaledArray idea): nothing underflows, and zero stays an exact zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = ["MAX_BROADCAST_ENTRIES", "PairKernel", "rescale"]

MAX_BROADCAST_ENTRIES = 1 << 24  # max-product materialises at most this many products at once


def rescale(array: np.ndarray, inplace: bool = False) -> tuple[np.ndarray, Any]:
    """Divide each batch row by its max; return (scaled array, log of the scales) — log 0 = −inf.

    The log scale is a float for a single row (no array churn on the common path) and an
    (N,) array otherwise. `inplace` may be set when the caller owns `array`."""
    batch = array.shape[0]
    if batch == 1:
        peak = float(np.maximum.reduce(array, axis=None)) if array.size else 0.0
        if peak <= 0.0:
            return array, -math.inf
        if peak != 1.0:
            if inplace and array.flags.writeable:
                array *= 1.0 / peak
            else:
                array = array * (1.0 / peak)
        return array, math.log(peak)
    peak = np.maximum.reduce(array.reshape(batch, -1), axis=1) if array.size else np.zeros(batch)
    zero = peak <= 0
    has_zero = bool(zero.any())
    if has_zero:
        peak = np.where(zero, 1.0, peak)
    scale = (1.0 / peak).reshape((batch,) + (1,) * (array.ndim - 1))
    if inplace and array.flags.writeable:
        array *= scale
    else:
        array = array * scale
    log_peak = np.log(peak)
    if has_zero:
        log_peak[zero] = -np.inf
    return array, log_peak


def _blasable(a: np.ndarray) -> np.ndarray:
    """`a` itself when C-contiguous, else a C copy (strided operands push matmul off BLAS)."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


class _Side(NamedTuple):
    """How one operand enters a step: which axes are reduced alone, then the permutation to
    (batch, shared..., kept..., contracted...)."""

    reduce_axes: tuple[int, ...]  # axes (with batch at 0) reduced before the product
    reduce_vars: tuple[int, ...]
    perm: tuple[int, ...]  # after reduction, to (batch, shared, kept, contracted)


def _side(scope: tuple[int, ...], order: tuple[int, ...], alone: tuple[int, ...]) -> _Side:
    """`order` lists the non-alone variables in (shared, kept, contracted) order."""
    if not alone:
        return _Side((), (), (0, *[scope.index(v) + 1 for v in order]))
    rest = tuple([v for v in scope if v not in alone])
    reduce_axes = tuple([scope.index(v) + 1 for v in alone])
    return _Side(reduce_axes, alone, (0, *[rest.index(v) + 1 for v in order]))


class PairKernel:
    """Contract X (scope x) with Y (scope y, or nothing) down to scope `out`.

    Variables are classified as shared (in x, y and out), kept-left / kept-right (in out and
    one side), contracted (in x and y, not out) and alone (in one side only, not out). Out
    variables must all occur in x or y.
    """

    __slots__ = (
        "_c_shape",
        "_nc",
        "_produced",
        "_x_shape",
        "_y_shape",
        "contracted",
        "identity_out",
        "kept_x",
        "kept_y",
        "out",
        "out_perm",
        "shared",
        "x",
        "y",
    )

    def __init__(
        self, x: Sequence[int], y: Sequence[int] | None, out: Sequence[int], sizes: Sequence[int]
    ) -> None:
        # one classification pass per side: compiling is on the path of every cold query
        yy = () if y is None else tuple(y)
        xs, ys, os_ = set(x), set(yy), set(out)
        if not os_ <= xs | ys:
            raise ValueError(f"output scope {tuple(out)} not covered by {tuple(x)} and {yy}")
        shared: list[int] = []
        kept_x: list[int] = []
        contracted: list[int] = []
        alone_x: list[int] = []
        for v in x:
            if v in ys:
                (shared if v in os_ else contracted).append(v)
            else:
                (kept_x if v in os_ else alone_x).append(v)
        kept_y: list[int] = []
        alone_y: list[int] = []
        for v in yy:
            if v not in xs:
                (kept_y if v in os_ else alone_y).append(v)
        self.shared, self.kept_x = tuple(shared), tuple(kept_x)
        self.kept_y, self.contracted = tuple(kept_y), tuple(contracted)
        self.x = _side(tuple(x), (*shared, *kept_x, *contracted), tuple(alone_x))
        self.y = _side(yy, (*shared, *contracted, *kept_y), tuple(alone_y))
        produced = {v: i for i, v in enumerate((*shared, *kept_x, *kept_y), 1)}
        self.out = tuple(out)
        self.out_perm = (0, *(produced[v] for v in self.out))
        self.identity_out = self.out_perm == tuple(range(len(self.out_perm)))
        s_ = math.prod([sizes[v] for v in shared])
        lx = math.prod([sizes[v] for v in kept_x])
        ly = math.prod([sizes[v] for v in kept_y])
        nc = math.prod([sizes[v] for v in contracted])
        self._x_shape = (s_, lx, nc)  # X as (batch, shared, kept, contracted)
        self._y_shape = (s_, nc, ly)  # Y as (batch, shared, contracted, kept)
        self._c_shape = (s_, lx, ly)
        self._nc = nc
        self._produced = tuple([sizes[v] for v in produced])  # axes before the output perm

    # -- shapes ------------------------------------------------------------------------------
    def _prepare(
        self, arr: np.ndarray, side: _Side, reduce: str
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Reduce the `alone` axes (sum or max with argmax), then permute."""
        arg = None
        if side.reduce_axes:
            if reduce == "sum":
                arr = arr.sum(axis=side.reduce_axes)
            else:
                kept_axes = [a for a in range(arr.ndim) if a not in side.reduce_axes]
                moved = arr.transpose((*kept_axes, *side.reduce_axes))
                flat = moved.reshape(*moved.shape[: len(kept_axes)], -1)
                arg = flat.argmax(axis=-1)
                arr = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        return arr.transpose(side.perm), arg

    def _finish(self, c: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        c = c.reshape(shape)
        return c if self.identity_out else c.transpose(self.out_perm)

    # -- sum-product ---------------------------------------------------------------------------
    def sum_product(self, xa: np.ndarray, ya: np.ndarray | None) -> np.ndarray:
        """Σ over eliminated variables of X·Y, as an array over (batch, *out)."""
        px, _ = self._prepare(xa, self.x, "sum")
        if ya is None:
            return self._finish(px, (px.shape[0], *self._produced))
        py, _ = self._prepare(ya, self.y, "sum")
        mx = px.reshape(px.shape[0], *self._x_shape)
        my = py.reshape(py.shape[0], *self._y_shape)
        if self._nc == 1:  # nothing contracted: an outer product, which matmul does slowly
            c = mx * my
        elif mx.shape[0] == my.shape[0] == 1 and self._x_shape[0] == 1:
            # one plain matrix product: 2-D BLAS on C-contiguous operands
            c = (np.ascontiguousarray(mx[0, 0]) @ np.ascontiguousarray(my[0, 0]))[None, None]
        else:  # BLAS needs unit-stride operands; reshape of a permuted view may not give them
            c = np.matmul(_blasable(mx), _blasable(my))
        return self._finish(c, (c.shape[0], *self._produced))

    # -- max-product ---------------------------------------------------------------------------
    def max_product(
        self, xa: np.ndarray, ya: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """max over eliminated variables of X·Y with argmax tables for backtracking:
        (result over (batch, *out), argmax of X's alone vars, of Y's, of the contracted vars
        (flat index, laid out like the result))."""
        px, arg_x = self._prepare(xa, self.x, "max")
        if ya is None:
            return self._finish(px, (px.shape[0], *self._produced)), arg_x, None, None
        py, arg_y = self._prepare(ya, self.y, "max")
        s, lx, nc = self._x_shape
        ly = self._c_shape[2]
        mx = px.reshape(px.shape[0], s, lx, nc, 1)
        my = py.reshape(py.shape[0], s, 1, nc, ly)
        batch = max(mx.shape[0], my.shape[0])
        c = np.empty((batch, s, lx, ly))
        arg = np.empty((batch, s, lx, ly), dtype=np.intp)
        rows = max(1, MAX_BROADCAST_ENTRIES // max(1, batch * s * nc * ly))
        for start in range(0, lx, rows):  # bounded memory: never the whole broadcast product
            stop = min(lx, start + rows)
            prod = mx[:, :, start:stop] * my
            arg[:, :, start:stop] = prod.argmax(axis=3)
            c[:, :, start:stop] = np.take_along_axis(prod, arg[:, :, start:stop, None], axis=3)[
                :, :, :, 0
            ]
        shape = (batch, *self._produced)
        if not self.contracted:
            return self._finish(c, shape), arg_x, arg_y, None
        return self._finish(c, shape), arg_x, arg_y, self._finish(arg, shape)
