"""Pictures of learned graphs: valid PNGs whose colours match the differences, refusals, and the
layered layout's invariants."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlab.pgm import examples, read_bif
from genlab.pgm.errors import ModelError
from genlab.pgm.learning.graph import DAG, PDAG, as_dag, compare_graphs
from genlab.pgm.learning.plot import EDGE_STYLES, draw_comparison, draw_graph, layered_layout
from tests.conftest import shared_data

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def colour_pixels(path: Path, kind: str, tolerance: int = 24) -> int:
    """How many pixels of the image are (nearly) the colour of one edge kind."""
    hex_colour = EDGE_STYLES[kind].color.lstrip("#")
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (0, 2, 4)])
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=int)
    return int((np.abs(pixels - rgb).max(axis=-1) <= tolerance).sum())


def check_png(path: Path, min_bytes: int = 10_000) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return image.size


def red_blue_learned() -> DAG:
    """The red/blue structure with X3 → X5 dropped, X1 → X5 added and X1 → X2 reversed."""
    return DAG(
        ["X1", "X2", "X3", "X4", "X5"],
        [("X2", "X1"), ("X2", "X4"), ("X3", "X4"), ("X1", "X5")],
    )


# ----------------------------------------------------------------------------------------------
# pictures
# ----------------------------------------------------------------------------------------------
def test_comparison_as_dags_shows_each_difference_in_its_colour(tmp_path: Path) -> None:
    bn = examples.red_blue_network()
    path = draw_comparison(red_blue_learned(), bn, tmp_path / "rb.png", title="red/blue",
                           cpdag=False)
    assert path == tmp_path / "rb.png"
    width, height = check_png(path)
    assert 300 < width < 1500 and 300 < height < 1500
    diff = compare_graphs(red_blue_learned(), bn, cpdag=False)
    assert (len(diff.missing), len(diff.extra), len(diff.reversed)) == (1, 1, 1)
    for kind in ("missing", "extra", "reversed"):
        assert colour_pixels(path, kind) > 30, kind
    assert colour_pixels(path, "misoriented") == 0


def test_comparison_as_cpdags_hides_equivalent_reversals(tmp_path: Path) -> None:
    """As CPDAGs X1 — X2 is undirected in both graphs: no orange, and no red/blue for a
    learned graph equivalent to the truth."""
    bn = examples.red_blue_network()
    path = draw_comparison(red_blue_learned(), bn, tmp_path / "rb.png")
    check_png(path)
    assert colour_pixels(path, "reversed") == 0
    assert colour_pixels(path, "missing") > 30 and colour_pixels(path, "extra") > 30
    same = DAG(as_dag(bn).nodes, [("X2", "X1"), ("X2", "X4"), ("X3", "X4"), ("X3", "X5")])
    clean = draw_comparison(same, bn, tmp_path / "same.png")
    for kind in ("missing", "extra", "reversed", "misoriented"):
        assert colour_pixels(clean, kind) == 0, kind


def test_direction_mismatch_is_purple(tmp_path: Path) -> None:
    bn = examples.red_blue_network()
    learned = PDAG(
        ("X1", "X2", "X3", "X4", "X5"),
        frozenset({("X1", "X2"), ("X2", "X4"), ("X3", "X4")}),
        frozenset({frozenset(("X3", "X5"))}),
    )
    assert compare_graphs(learned, bn).misoriented == (("X1", "X2"),)
    path = draw_comparison(learned, bn, tmp_path / "purple.png")
    assert colour_pixels(path, "misoriented") > 30
    assert colour_pixels(path, "missing") == 0


def test_refuses_mismatched_node_sets(tmp_path: Path) -> None:
    bn = examples.red_blue_network()
    other = DAG(["X1", "X2", "X3", "X4", "Y"], [("X1", "X2")])
    with pytest.raises(ModelError, match="different nodes"):
        draw_comparison(other, bn, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_draw_graph_of_a_network_a_dag_and_a_pdag(tmp_path: Path) -> None:
    bn = examples.red_blue_network()
    check_png(draw_graph(bn, tmp_path / "bn.png", title="red/blue"))
    check_png(draw_graph(bn, tmp_path / "cpdag.png", cpdag=True))
    single = draw_graph(DAG(["a"]), tmp_path / "nested" / "one.png")
    check_png(single, min_bytes=1_000)
    for kind in ("missing", "extra", "reversed", "misoriented"):
        assert colour_pixels(tmp_path / "bn.png", kind) == 0


def test_alarm_with_a_few_edges_changed(tmp_path: Path) -> None:
    alarm = read_bif(shared_data("bnlearn", "alarm.bif.gz"))
    true = as_dag(alarm)
    edges = true.edges
    dropped, flipped = edges[:3], edges[10:12]
    kept = [e for e in edges if e not in dropped and e not in flipped]
    learned = DAG(true.nodes, [*kept, *((b, a) for a, b in flipped),
                               ("HISTORY", "CVP"), ("KINKEDTUBE", "SHUNT")])
    path = draw_comparison(learned, alarm, tmp_path / "alarm.png", title="alarm")
    width, height = check_png(path, min_bytes=50_000)
    assert width < 2500 and height < 2500  # stays a readable page, not a strip
    diff = compare_graphs(learned, alarm)
    assert diff.shd > 0
    for kind in ("missing", "extra"):
        assert colour_pixels(path, kind) > 30, kind


# ----------------------------------------------------------------------------------------------
# layout
# ----------------------------------------------------------------------------------------------
def check_layout(graph: DAG) -> None:
    layout = layered_layout(graph)
    pos = layout.positions
    assert set(pos) == set(graph.nodes)
    for p, c in graph.edges:  # arcs point down
        assert pos[p][1] < pos[c][1]
    for v in graph.nodes:  # a root sits just above its nearest child
        if not graph.parents(v) and graph.children(v):
            assert min(pos[c][1] for c in graph.children(v)) == pos[v][1] + 1
    rows: dict[int, list[float]] = {}
    for x, layer in pos.values():
        rows.setdefault(layer, []).append(x)
    for xs in rows.values():  # boxes in a row do not overlap
        xs.sort()
        assert all(b - a >= 1 - 1e-9 for a, b in itertools.pairwise(xs))
    for p, c in graph.edges:  # one bend in every layer an arc skips
        bends = layout.bends.get(frozenset((p, c)), [])
        assert [layer for _, layer in bends] == list(range(pos[p][1] + 1, pos[c][1]))


def test_layout_invariants_red_blue() -> None:
    check_layout(as_dag(examples.red_blue_network()))


def test_layout_invariants_alarm() -> None:
    check_layout(as_dag(read_bif(shared_data("bnlearn", "alarm.bif.gz"))))


def test_layout_of_a_chain_is_a_straight_column() -> None:
    chain = DAG(list("abcde"), [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")])
    layout = layered_layout(chain)
    assert [layout.positions[v][1] for v in "abcde"] == [0, 1, 2, 3, 4]
    assert {round(layout.positions[v][0], 9) for v in "abcde"} == {0.0}
    assert layout.bends == {}
