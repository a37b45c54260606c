"""THE engine: execute a ContractionPlan over rescaled tensors in a semiring.

`forward` runs the plan (sum-product or max-product); `backward` pushes adjoints back through
the same steps, giving ∂Z/∂(every input) in one pass — all marginals at once (pytorch-struct's
"marginals are gradients of log Z"); `backtrack` follows the max-product argmax tables to the
jointly most probable assignment, and `sample_backward` walks the same tree drawing instead of
maximising (exact posterior samples). Tensors are (array, log_scale) pairs: array has a leading
batch axis (size 1 or N) and is scaled so each row's max is 1; log_scale has shape (batch,).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from genlab.pgm.plan import ContractionPlan
from genlab.pgm.semiring import PairKernel, rescale

__all__ = ["CompiledPlan", "Forward", "backtrack", "backward", "forward", "sample_backward"]

SAMPLE_BLOCK_ENTRIES = 1 << 22  # sample_backward materialises at most this many at once


@dataclass
class CompiledPlan:
    """A plan with one kernel per step (forward) and two per pairwise step (backward)."""

    plan: ContractionPlan
    wanted: frozenset[int] | None = None  # inputs whose adjoints backward() must deliver
    kernels: list[PairKernel] = field(init=False)
    _backward: list[tuple[PairKernel | None, PairKernel | None]] | None = field(
        init=False, default=None
    )
    adjoint_shapes: list[tuple[int, ...]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        scopes = self.plan.slot_scopes()
        self.kernels = [
            PairKernel(
                scopes[s.left], None if s.right is None else scopes[s.right], s.out, self.plan.sizes
            )
            for s in self.plan.steps
        ]

    def backward_kernels(self) -> list[tuple[PairKernel | None, PairKernel | None]]:
        """Kernels computing each step's operands' adjoints from the result's adjoint.

        Only operands on the way to a `wanted` input get one (marginals need the adjoints of a
        few inputs, not all). An adjoint only spans the variables it depends on (a variable
        summed out alone in a step leaves its operand's adjoint constant along it)."""
        if self._backward is None:
            scopes = self.plan.slot_scopes()
            sizes = self.plan.sizes
            steps = self.plan.steps
            n = self.plan.num_inputs
            needed = [self.wanted is None or i in self.wanted for i in range(n)]
            for s in steps:
                needed.append(needed[s.left] or (s.right is not None and needed[s.right]))
            adjoint_scope: dict[int, tuple[int, ...]] = {len(scopes) - 1: scopes[-1]}
            kernels: list[tuple[PairKernel | None, PairKernel | None]] = []
            for k in range(len(steps) - 1, -1, -1):
                s = steps[k]
                g = adjoint_scope.get(n + k, s.out)
                a = scopes[s.left]
                b = scopes[s.right] if s.right is not None else ()
                to_a = tuple(v for v in a if v in g or v in b)
                to_b = tuple(v for v in b if v in g or v in a)
                kernel_a = kernel_b = None
                if needed[s.left]:
                    kernel_a = PairKernel(g, None if s.right is None else b, to_a, sizes)
                    adjoint_scope[s.left] = to_a
                if s.right is not None and needed[s.right]:
                    kernel_b = PairKernel(g, a, to_b, sizes)
                    adjoint_scope[s.right] = to_b
                kernels.append((kernel_a, kernel_b))
            kernels.reverse()
            self.adjoint_shapes = [
                tuple(sizes[v] if v in adjoint_scope.get(i, ()) else 1 for v in scopes[i])
                for i in range(n)
            ]
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


def backward(
    compiled: CompiledPlan, fwd: Forward, root_adjoint: np.ndarray | None = None
) -> list[np.ndarray | None]:
    """Adjoint ∂(result)/∂(slot) for every wanted input slot (None for the others), each
    rescaled per row (only ratios within a row matter: marginals are normalized) and shaped to
    broadcast against its input (size-1 axes where it is constant). `root_adjoint` defaults
    to ones."""
    plan = compiled.plan
    kernels = compiled.backward_kernels()
    adj: list[np.ndarray | None] = [None] * (plan.num_inputs + len(plan.steps))
    root = fwd.arrays[-1]
    adj[-1] = np.ones_like(root) if root_adjoint is None else root_adjoint
    for k in range(len(plan.steps) - 1, -1, -1):
        step = plan.steps[k]
        slot = plan.num_inputs + k
        g = adj[slot]
        adj[slot] = None
        if g is None:
            continue
        to_a, to_b = kernels[k]
        a, b = step.left, step.right
        if to_a is not None:
            other = None if b is None else fwd.arrays[b]
            adj[a] = rescale(to_a.sum_product(g, other), inplace=b is not None)[0]
        if to_b is not None:
            adj[b] = rescale(to_b.sum_product(g, fwd.arrays[a]), inplace=True)[0]
    shapes = compiled.adjoint_shapes
    return [
        None if x is None else x.reshape((x.shape[0], *shapes[i]))
        for i, x in enumerate(adj[: plan.num_inputs])
    ]


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


def _gather(
    array: np.ndarray,
    scope: Sequence[int],
    values: dict[int, np.ndarray],
    unknown: Sequence[int],
    rows: slice,
    sizes: Sequence[int],
) -> np.ndarray:
    """A slot's entries at the drawn values of its known variables, for the samples in
    `rows`: shape (B, *[size or 1 for each unknown variable]) so operands broadcast."""
    known = [a for a, v in enumerate(scope) if v in values]
    free = [a for a, v in enumerate(scope) if v not in values]
    moved = array.transpose((0, *(a + 1 for a in known), *(a + 1 for a in free)))
    count = rows.stop - rows.start
    batch = np.arange(rows.start, rows.stop) if array.shape[0] > 1 else np.zeros(count, np.intp)
    picked = moved[(batch, *(values[scope[a]][rows] for a in known))]  # (B, *free)
    free_vars = [scope[a] for a in free]
    position = [unknown.index(v) for v in free_vars]
    picked = picked.transpose((0, *(1 + i for i in np.argsort(position))))
    return picked.reshape(
        (count, *(sizes[u] if u in free_vars else 1 for u in unknown))
    )


def sample_backward(
    compiled: CompiledPlan, fwd: Forward, count: int, rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """Draw `count` joint samples of every planned variable from a sum-product forward pass
    (kept with keep_all): each step, walked from the root, draws the variables it eliminated
    from the product of its two operands at the values already drawn. Returns
    {variable id: (count,) states}. Slots with a batch axis > 1 must have `count` rows."""
    plan = compiled.plan
    scopes = plan.slot_scopes()
    sizes = plan.sizes
    values: dict[int, np.ndarray] = {}
    for k in range(len(plan.steps) - 1, -1, -1):
        step = plan.steps[k]
        operands = [(fwd.arrays[step.left], scopes[step.left])]
        if step.right is not None:
            operands.append((fwd.arrays[step.right], scopes[step.right]))
        unknown = [
            v for v in dict.fromkeys(v for _, sc in operands for v in sc) if v not in values
        ]
        if not unknown:
            continue
        shape = [sizes[u] for u in unknown]
        states = int(np.prod(shape))
        drawn = np.empty(count, dtype=np.intp)
        block = max(1, SAMPLE_BLOCK_ENTRIES // max(1, states))
        for start in range(0, count, block):
            rows = slice(start, min(count, start + block))
            joint = None
            for array, scope in operands:
                part = _gather(array, scope, values, unknown, rows, sizes)
                joint = part if joint is None else joint * part
            flat = np.broadcast_to(joint, (rows.stop - rows.start, *shape)).reshape(
                rows.stop - rows.start, states
            )
            cdf = np.cumsum(flat, axis=1)
            u = (1.0 - rng.random(rows.stop - rows.start)) * cdf[:, -1]
            drawn[rows] = np.minimum((cdf < u[:, None]).sum(axis=1), states - 1)
        for v, value in zip(unknown, np.unravel_index(drawn, shape), strict=True):
            values[v] = value
    return values
