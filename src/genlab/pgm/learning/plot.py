"""Pictures of graphs: one learned graph against the true one, differences in colour.

A small layered layout (no networkx, no graphviz): layers by longest path from the roots of
the true graph (each root pulled down to just above its nearest child); an edge that skips
layers gets a bend point in each layer it crosses, so it runs between the boxes, not through
them; the order within each layer is the barycentre of the neighbours, a few sweeps down and
up; then each row slides towards its neighbours (order and spacing kept) to straighten the
edges. matplotlib is imported only when drawing, and only its object API (Figure + Agg
canvas): no pyplot state, no global backend switch.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from genlab.pgm.errors import ModelError
from genlab.pgm.learning.graph import (
    DAG,
    PDAG,
    GraphComparison,
    as_dag,
    as_pdag,
    compare_graphs,
)

__all__ = ["EDGE_STYLES", "EdgeStyle", "Layout", "draw_comparison", "draw_graph", "layered_layout"]

Edge = tuple[str, str]
_BEND_WIDTH = 0.35  # the room a bend point takes in its layer, in node slots


@dataclass(frozen=True)
class EdgeStyle:
    """How one kind of edge is drawn, and its legend label."""

    color: str
    linestyle: Literal["-", "--", ":", "-."]
    label: str


EDGE_STYLES: dict[str, EdgeStyle] = {
    "correct": EdgeStyle("black", "-", "correct"),
    "missing": EdgeStyle("#d62728", "--", "missing (in the truth only)"),
    "extra": EdgeStyle("#1f77b4", "-", "extra (learned only)"),
    "reversed": EdgeStyle("#ff7f0e", "-", "reversed"),
    "misoriented": EdgeStyle("#9467bd", "-", "directed vs undirected"),
}


@dataclass(frozen=True)
class _DrawnEdge:
    """One edge to draw: endpoints as drawn (a → b when directed), its kind."""

    a: str
    b: str
    directed: bool
    kind: str


# ----------------------------------------------------------------------------------------------
# layout
# ----------------------------------------------------------------------------------------------
def _layout_dag(graph: Any) -> DAG:
    """The DAG whose arcs set the layers: the graph itself, or a DAG extending a PDAG."""
    return graph.to_dag() if isinstance(graph, PDAG) else as_dag(graph)


def _layers(dag: DAG) -> dict[str, int]:
    """Longest path from the roots; a root then moves down to just above its nearest child."""
    layer: dict[str, int] = {}
    for v in dag.topological_order():
        layer[v] = max((layer[p] + 1 for p in dag.parents(v)), default=0)
    for v in dag.nodes:
        if not dag.parents(v) and dag.children(v):
            layer[v] = min(layer[c] for c in dag.children(v)) - 1
    return layer


@dataclass(frozen=True)
class Layout:
    """Where to draw: each node's (x, layer), and the bend points (x, layer), top to bottom,
    of every edge that skips layers (one per layer it crosses)."""

    positions: dict[str, tuple[float, int]]
    bends: dict[frozenset[str], list[tuple[float, int]]]

    def extent(self) -> tuple[float, float, int]:
        """(smallest x, largest x, number of layers)."""
        points = [*self.positions.values(), *(p for b in self.bends.values() for p in b)]
        xs = [x for x, _ in points] or [0.0]
        return min(xs), max(xs), max((layer for _, layer in points), default=0) + 1


def layered_layout(graph: Any, pairs: Sequence[Edge] | None = None, sweeps: int = 4) -> Layout:
    """A layered (Sugiyama-style) layout: layers from `graph`'s arcs; every pair in `pairs`
    (default: the graph's edges) that skips layers gets a bend point in each layer it crosses;
    then nodes and bends are ordered within their layer by the barycentre of their neighbours
    in the layer above (sweeping down) or below (sweeping up), `sweeps` times."""
    dag = _layout_dag(graph)
    level: dict[Any, int] = dict(_layers(dag))
    links: dict[Any, list[Any]] = {v: [] for v in dag.nodes}
    chains: dict[frozenset[str], list[Any]] = {}
    for a, b in dag.edges if pairs is None else pairs:
        if a not in links or b not in links:
            raise ModelError(f"the pair ({a}, {b}) names a node the graph lacks")
        if frozenset((a, b)) in chains:
            continue
        top, bottom = sorted((a, b), key=level.__getitem__)
        chain = [top, *(("bend", top, bottom, k) for k in range(level[top] + 1, level[bottom]))]
        chain.append(bottom)
        for u, w in itertools.pairwise(chain):
            level.setdefault(w, level[u] + 1)
            links.setdefault(w, []).append(u)
            links[u].append(w)
        chains[frozenset((a, b))] = chain[1:-1]
    rows: list[list[Any]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for v in level:  # the graph's nodes in order, then the bends
        rows[level[v]].append(v)
    x = _positions(rows)
    for _ in range(sweeps):
        down = [(i, i - 1) for i in range(1, len(rows))]
        up = [(i, i + 1) for i in range(len(rows) - 2, -1, -1)]
        for i, fixed in down + up:
            rows[i] = _barycentre_order(rows[i], links, x, level, fixed)
            x.update(_positions([rows[i]]))
    x = _straighten(rows, links, x)
    return Layout(
        {v: (x[v], level[v]) for v in dag.nodes},
        {pair: [(x[d], level[d]) for d in chain] for pair, chain in chains.items() if chain},
    )


def _positions(rows: Sequence[Sequence[Any]]) -> dict[Any, float]:
    """x of each node or bend, rows centred on 0: a node takes a slot of width 1, a bend
    `_BEND_WIDTH`."""
    x = {}
    for row in rows:
        widths = [1.0 if isinstance(v, str) else _BEND_WIDTH for v in row]
        left = -sum(widths) / 2
        for v, w in zip(row, widths, strict=True):
            x[v] = left + w / 2
            left += w
    return x


def _straighten(
    rows: Sequence[Sequence[Any]], links: Mapping[Any, Sequence[Any]], x: dict[Any, float],
    iterations: int = 10,
) -> dict[Any, float]:
    """Move every entry towards the mean x of its neighbours, keeping each row's order and
    spacing: row by row, the least-squares fit under those constraints (isotonic regression),
    so chains of bends straighten and parents sit above their children."""
    x = dict(x)
    for _ in range(iterations):
        for row in [*rows[1:], *rows[::-1]]:
            wanted = []
            for v in row:
                xs = [x[u] for u in links.get(v, ())]
                wanted.append(sum(xs) / len(xs) if xs else x[v])
            widths = [1.0 if isinstance(v, str) else _BEND_WIDTH for v in row]
            offsets = [0.0]
            for a, b in itertools.pairwise(widths):
                offsets.append(offsets[-1] + (a + b) / 2)
            fitted = _isotonic([w - o for w, o in zip(wanted, offsets, strict=True)])
            x.update({v: f + o for v, f, o in zip(row, fitted, offsets, strict=True)})
    shift = sum(x.values()) / len(x) if x else 0.0
    return {v: value - shift for v, value in x.items()}


def _isotonic(values: Sequence[float]) -> list[float]:
    """The non-decreasing sequence closest to `values` in least squares (pool adjacent
    violators)."""
    blocks: list[list[float]] = []  # [mean, count]
    for v in values:
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks[-1]
            blocks[-1] = [(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2]
    return [m for m, c in blocks for _ in range(int(c))]


def _barycentre_order(
    row: Sequence[Any],
    links: Mapping[Any, Sequence[Any]],
    x: Mapping[Any, float],
    level: Mapping[Any, int],
    fixed: int,
) -> list[Any]:
    """The row sorted by the mean x of each entry's neighbours in layer `fixed` (entries
    without such neighbours keep their place)."""
    keys = {}
    for v in row:
        xs = [x[u] for u in links.get(v, ()) if level[u] == fixed]
        keys[v] = sum(xs) / len(xs) if xs else x[v]
    return sorted(row, key=lambda v: (keys[v], x[v]))


# ----------------------------------------------------------------------------------------------
# edges
# ----------------------------------------------------------------------------------------------
def _drawn(graph: PDAG, a: str, b: str, kind: str) -> _DrawnEdge:
    """The pair {a, b} as `graph` has it (arc direction or undirected)."""
    how = graph.edge_kind(a, b)
    if how == "<-":
        return _DrawnEdge(b, a, True, kind)
    return _DrawnEdge(a, b, how == "->", kind)


def _comparison_edges(g: PDAG, t: PDAG, diff: GraphComparison) -> list[_DrawnEdge]:
    """Every adjacency of either graph, as the learned graph draws it (missing ones as the
    truth does), with its kind."""
    kinds = {frozenset(e): "missing" for e in diff.missing}
    kinds.update({frozenset(e): "extra" for e in diff.extra})
    kinds.update({frozenset(e): "reversed" for e in diff.reversed})
    kinds.update({frozenset(e): "misoriented" for e in diff.misoriented})
    edges = []
    for a, b in _pairs(g.skeleton | t.skeleton, t.nodes):
        kind = kinds.get(frozenset((a, b)), "correct")
        edges.append(_drawn(t if kind == "missing" else g, a, b, kind))
    return edges


def _pairs(skeleton: Iterable[frozenset[str]], nodes: Sequence[str]) -> list[Edge]:
    """Adjacent pairs as (earlier, later) in `nodes` order, sorted: a deterministic order."""
    index = {v: i for i, v in enumerate(nodes)}
    pairs = [sorted(p, key=index.__getitem__) for p in skeleton]
    return sorted(((a, b) for a, b in pairs), key=lambda e: (index[e[0]], index[e[1]]))


# ----------------------------------------------------------------------------------------------
# drawing
# ----------------------------------------------------------------------------------------------
def draw_comparison(
    learned: Any, true: Any, path: str | os.PathLike[str], title: str | None = None,
    cpdag: bool = True,
) -> Path:
    """Write a PNG of `learned` against `true` (DAGs, networks or PDAGs; compared as CPDAGs
    unless `cpdag=False`): correct edges black, missing dashed red, extra blue, reversed
    orange, directed-vs-undirected purple; undirected edges have no arrowhead. The legend
    counts each kind and gives the SHD. Returns the path written."""
    diff = compare_graphs(learned, true, cpdag)  # refuses different node sets
    g, t = as_pdag(learned, cpdag), as_pdag(true, cpdag)
    edges = _comparison_edges(g, t, diff)
    layout = layered_layout(true, [(e.a, e.b) for e in edges])
    counts = {
        "correct": sum(e.kind == "correct" for e in edges),
        "missing": len(diff.missing),
        "extra": len(diff.extra),
        "reversed": len(diff.reversed),
        "misoriented": len(diff.misoriented),
    }
    legend = [(kind, f"{EDGE_STYLES[kind].label}: {n}") for kind, n in counts.items()
              if n or kind == "correct"]
    heading = f"SHD {diff.shd}" + (" (CPDAGs)" if cpdag else "")
    return _render(layout, edges, Path(path), title, legend, heading)


def draw_graph(
    graph: Any, path: str | os.PathLike[str], title: str | None = None, cpdag: bool = False
) -> Path:
    """Write a PNG of one graph (a DAG, network or PDAG; its CPDAG with `cpdag=True`);
    undirected edges have no arrowhead. Returns the path written."""
    shown = as_pdag(graph, cpdag)
    edges = [_drawn(shown, a, b, "correct") for a, b in _pairs(shown.skeleton, shown.nodes)]
    layout = layered_layout(graph, [(e.a, e.b) for e in edges])
    return _render(layout, edges, Path(path), title, [], "")


def _render(
    layout: Layout,
    edges: Sequence[_DrawnEdge],
    path: Path,
    title: str | None,
    legend: Sequence[tuple[str, str]],
    heading: str,
) -> Path:
    """Lay the nodes out as labelled boxes, the edges as clipped arrows, and save a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    left, right, depth = layout.extent()
    many = len(layout.positions) > 15
    slot, level = (1.25, 0.95) if many else (1.6, 1.2)  # inches per node slot and per layer
    legend_h = 0.35 + 0.22 * len(legend) if legend else 0.1
    title_h = 0.45 if title else 0.15
    width = max(4.0, (right - left + 1.2) * slot)
    height = depth * level + 0.4 + legend_h + title_h
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, legend_h / height, 1.0, 1.0 - (legend_h + title_h) / height))
    ax.set_xlim(left - 0.6, right + 0.6)
    ax.set_ylim(-(depth - 1) - 0.45, 0.45)
    ax.axis("off")
    boxes = _draw_nodes(ax, layout.positions, fontsize=8 if many else 11)
    for edge in edges:
        _draw_edge(ax, edge, layout, boxes, scale=12 if many else 16)
    if title:
        fig.suptitle(title, y=1 - 0.12 / height, va="top", fontsize=12)
    if legend:
        _draw_legend(fig, legend, heading)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.canvas.draw()  # positions the node boxes, so the arrows can be clipped to them
    fig.savefig(path, format="png")
    return path


def _draw_nodes(ax: Any, positions: Mapping[str, tuple[float, int]], fontsize: int) -> dict:
    """One text box per node; the boxes' patches clip the arrows."""
    boxes = {}
    for v, (x, layer) in positions.items():
        text = ax.text(
            x, -layer, v, ha="center", va="center", fontsize=fontsize, zorder=3,
            bbox={"boxstyle": "round,pad=0.35", "fc": "#f4f4f4", "ec": "0.35", "lw": 0.8},
        )
        boxes[v] = text.get_bbox_patch()
    return boxes


def _draw_edge(
    ax: Any, edge: _DrawnEdge, layout: Layout, boxes: Mapping[str, Any], scale: float
) -> None:
    """A polyline through the edge's bend points, clipped to the two boxes, with an
    arrowhead at the end when directed; an edge within one layer bows as an arc."""
    from matplotlib.patches import FancyArrowPatch

    (xa, la), (xb, lb) = layout.positions[edge.a], layout.positions[edge.b]
    bends = layout.bends.get(frozenset((edge.a, edge.b)), [])
    if la > lb:
        bends = bends[::-1]
    points = [(xa, -la), *((x, -layer) for x, layer in bends), (xb, -lb)]
    rad = 0.35 if la == lb else 0.0
    style = EDGE_STYLES[edge.kind]
    last = len(points) - 2
    for k, (start, end) in enumerate(itertools.pairwise(points)):
        ax.add_patch(FancyArrowPatch(
            start, end,
            arrowstyle="-|>" if edge.directed and k == last else "-",
            mutation_scale=scale,
            connectionstyle=f"arc3,rad={rad}",
            color=style.color,
            linestyle=style.linestyle,
            linewidth=1.1 if edge.kind == "correct" else 1.8,
            capstyle="round",
            patchA=boxes[edge.a] if k == 0 else None,
            patchB=boxes[edge.b] if k == last else None,
            shrinkA=1.0 if k == 0 else 0.0,
            shrinkB=1.0 if k == last else 0.0,
            zorder=2,
        ))


def _draw_legend(fig: Any, legend: Sequence[tuple[str, str]], heading: str) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([0], [0], color=EDGE_STYLES[k].color, linestyle=EDGE_STYLES[k].linestyle, lw=2)
        for k, _ in legend
    ]
    fig.legend(
        handles, [label for _, label in legend], loc="lower center", ncol=1, frameon=False,
        title=heading or None, fontsize=9, title_fontsize=10,
    )
