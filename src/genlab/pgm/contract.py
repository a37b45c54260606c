"""THE engine: execute a ContractionPlan over rescaled tensors in a semiring.

`forward` runs the plan (sum-product or max-product); `backward` pushes adjoints back through
the same steps, giving ∂Z/∂(every input) in one pass — all marginals at once (pytorch-struct's
"marginals are gradients of log Z"); `backtrack` follows the max-product argmax tables to the
jointly most probable assignment. Tensors are (array, log_scale) pairs: array has a leading
batch axis (size 1 or N) and is scaled so each row's max is 1; log_scale has shape (batch,).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from genlab.pgm.plan import ContractionPlan
from genlab.pgm.semiring import PairKernel, rescale

__all__ = ["CompiledPlan", "Forward", "backtrack", "backward", "forward"]


@dataclass
class CompiledPlan:
    """A plan with one kernel per step (forward) and two per pairwise step (backward)."""

    plan: ContractionPlan
    kernels: list[PairKernel] = field(init=False)
    _backward: list[tuple[PairKernel, PairKernel | None]] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        scopes = self.plan.slot_scopes()
        self.kernels = [
            PairKernel(
                scopes[s.left], None if s.right is None else scopes[s.right], s.out, self.plan.sizes
            )
            for s in self.plan.steps
        ]

    def backward_kernels(self) -> list[tuple[PairKernel, PairKernel | None]]:
        """Kernels computing each step's operands' adjoints from the result's adjoint."""
        if self._backward is None:
            scopes = self.plan.slot_scopes()
            sizes = self.plan.sizes
            kernels = []
            for s in self.plan.steps:
                a, out = scopes[s.left], s.out
                if s.right is None:
                    kernels.append((PairKernel(out, None, [v for v in a if v in out], sizes), None))
                    continue
                b = scopes[s.right]
                to_a = PairKernel(out, b, [v for v in a if v in out or v in b], sizes)
                to_b = PairKernel(out, a, [v for v in b if v in out or v in a], sizes)
                kernels.append((to_a, to_b))
            self._backward = kernels
        return self._backward


@dataclass
class Forward:
    """Every slot's (array, log_scale) after a forward pass, and argmax tables for max-product."""

    arrays: list[np.ndarray]
    log_scales: list[np.ndarray]
    argmax: list[tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]]

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        return self.arrays[-1], self.log_scales[-1]


def forward(
    compiled: CompiledPlan,
    arrays: Sequence[np.ndarray],
    log_scales: Sequence[np.ndarray],
    semiring: str = "sum",
    keep_all: bool = False,
) -> Forward:
    """Run the plan. `semiring` is "sum" (sum-product) or "max" (max-product, with argmax).

    Intermediates are freed as soon as they are consumed unless `keep_all` (backward needs them).
    """
    slots: list[np.ndarray | None] = list(arrays)
    logs: list[np.ndarray] = list(log_scales)
    argmax: list = []
    plan = compiled.plan
    for step, kernel in zip(plan.steps, compiled.kernels, strict=True):
        x = slots[step.left]
        y = slots[step.right] if step.right is not None else None
        if semiring == "sum":
            raw = kernel.sum_product(x, y)
        else:
            raw, ax, ay, ac = kernel.max_product(x, y)
            argmax.append((ax, ay, ac))
        # a pairwise result is a fresh array; a unary one may be a view of a kept input
        array, log_peak = rescale(raw, inplace=step.right is not None)
        log = logs[step.left] + log_peak
        if step.right is not None:
            log = log + logs[step.right]
        slots.append(array)
        logs.append(log)
        if not keep_all:
            slots[step.left] = None
            if step.right is not None:
                slots[step.right] = None
    return Forward(slots, logs, argmax)  # type: ignore[arg-type]


def _expand(
    adj: np.ndarray, have: Sequence[int], want: Sequence[int], like: np.ndarray
) -> np.ndarray:
    """Broadcast an adjoint over `have` (a subsequence of `want`) to the full scope `want`."""
    if len(have) == len(want):
        return adj
    shape = [adj.shape[0]]
    it = iter(adj.shape[1:])
    for v in want:
        shape.append(next(it) if v in have else 1)
    target = (adj.shape[0], *like.shape[1:])
    return np.broadcast_to(adj.reshape(shape), target)


def backward(
    compiled: CompiledPlan, fwd: Forward, root_adjoint: np.ndarray | None = None
) -> list[np.ndarray | None]:
    """Adjoint ∂(result)/∂(slot) for every input slot, each rescaled per row (only ratios within
    a row matter: marginals are normalized). `root_adjoint` defaults to ones."""
    plan = compiled.plan
    scopes = plan.slot_scopes()
    n_slots = len(scopes)
    adj: list[np.ndarray | None] = [None] * n_slots
    root = fwd.arrays[-1]
    adj[-1] = np.ones_like(root) if root_adjoint is None else root_adjoint
    for k in range(len(plan.steps) - 1, -1, -1):
        step = plan.steps[k]
        slot = plan.num_inputs + k
        g = adj[slot]
        adj[slot] = None
        if g is None:
            continue
        to_a, to_b = compiled.backward_kernels()[k]
        a, b = step.left, step.right
        if b is None:
            ga = to_a.sum_product(g, None)
            ga = _expand(ga, to_a.out, scopes[a], fwd.arrays[a])
        else:
            ga = _expand(to_a.sum_product(g, fwd.arrays[b]), to_a.out, scopes[a], fwd.arrays[a])
            gb = _expand(to_b.sum_product(g, fwd.arrays[a]), to_b.out, scopes[b], fwd.arrays[b])
            adj[b] = rescale(gb)[0]
        adj[a] = rescale(ga)[0]
    return adj[: plan.num_inputs]


def backtrack(compiled: CompiledPlan, fwd: Forward, batch: int) -> dict[int, np.ndarray]:
    """Follow the max-product argmax tables from the root: {variable id: (batch,) states}."""
    plan = compiled.plan
    scopes = plan.slot_scopes()
    sizes = plan.sizes
    values: dict[int, np.ndarray] = {}
    rows = np.arange(batch)

    def lookup(table: np.ndarray, scope: Sequence[int]) -> np.ndarray:
        index = (rows if table.shape[0] == batch else np.zeros(batch, dtype=np.intp),)
        return table[index + tuple(values[v] for v in scope)]

    for k in range(len(plan.steps) - 1, -1, -1):
        step, kernel = plan.steps[k], compiled.kernels[k]
        arg_x, arg_y, arg_c = fwd.argmax[k]
        if arg_c is not None:
            flat = lookup(arg_c, step.out)
            for v, value in zip(
                kernel.contracted,
                np.unravel_index(flat, [sizes[v] for v in kernel.contracted]),
                strict=True,
            ):
                values[v] = value
        for side, arg, scope in (
            (kernel.x, arg_x, scopes[step.left]),
            (kernel.y, arg_y, scopes[step.right] if step.right is not None else ()),
        ):
            if arg is None:
                continue
            rest = [v for v in scope if v not in side.reduce_vars]
            flat = lookup(arg, rest)
            for v, value in zip(
                side.reduce_vars,
                np.unravel_index(flat, [sizes[v] for v in side.reduce_vars]),
                strict=True,
            ):
                values[v] = value
    return values
