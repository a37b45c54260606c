"""`genlab pgm info|query|map|solve` on files the tests write (and bnlearn when present)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genlab.cli.main import app
from genlab.pgm.examples import food_factor_graph, red_blue_network
from genlab.pgm.io import read_uai_result, write_bif, write_uai
from genlab.pgm.uai_tasks import check_uai_result
from tests.conftest import shared_data

runner = CliRunner()


@pytest.fixture()
def red_blue_bif(tmp_path: Path) -> Path:
    path = tmp_path / "red_blue.bif"
    write_bif(red_blue_network(), path)
    return path


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["pgm", "--help"])
    assert result.exit_code == 0
    for name in ("info", "query", "map", "solve"):
        assert name in result.output


def test_info(red_blue_bif: Path) -> None:
    result = runner.invoke(app, ["pgm", "info", str(red_blue_bif)])
    assert result.exit_code == 0, result.output
    assert "BayesianNetwork" in result.output
    assert "flops" in result.output


def test_query_joint_prints_lecture_table(red_blue_bif: Path) -> None:
    args = [
        "pgm",
        "query",
        str(red_blue_bif),
        "-e",
        "X1=red",
        "-e",
        "X3=blue",
        "-e",
        "X4=blue",
        "-q",
        "X2",
        "-q",
        "X5",
        "--joint",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for p in ("0.160000", "0.240000", "0.360000"):
        assert p in result.output
    assert f"{math.log(0.056):.6g}" in result.output  # log P(e)


def test_query_marginals_and_bad_state(red_blue_bif: Path) -> None:
    result = runner.invoke(app, ["pgm", "query", str(red_blue_bif), "-e", "X1=red"])
    assert result.exit_code == 0, result.output
    assert "P(X2 | e)" in result.output and "0.700000" in result.output
    bad = runner.invoke(app, ["pgm", "query", str(red_blue_bif), "-e", "X1=green"])
    assert bad.exit_code == 1
    assert "unknown state 'green'" in bad.output


def test_map(red_blue_bif: Path) -> None:
    args = ["pgm", "map", str(red_blue_bif), "-e", "X1=red", "-e", "X3=blue", "-e", "X4=blue"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{math.log(0.4 * 0.3 * 0.4 * 0.7 * 0.6):.6g}" in result.output


def test_solve_writes_uai_results(tmp_path: Path) -> None:
    model = tmp_path / "food.uai"
    write_uai(food_factor_graph(), model)
    for task in ("PR", "MAR", "MAP"):
        out = tmp_path / f"food.{task}"
        result = runner.invoke(app, ["pgm", "solve", str(model), "--task", task, "-o", str(out)])
        assert result.exit_code == 0, result.output
        got_task, values = read_uai_result(out)
        assert got_task == task
        if task == "PR":  # Z = ψ1ᵀ ψ12 ψ2 = 399.43 (the tour prints it)
            assert 10**values == pytest.approx(399.43, abs=0.01)
        if task == "MAR":
            assert [len(p) for p in values] == [4, 4]
            assert sum(values[0]) == pytest.approx(1.0)
        if task == "MAP":
            assert list(values) == [1, 2]  # peanut butter, ice cream


def test_solve_labels_exact_and_approximate_answers(tmp_path: Path) -> None:
    import json

    import numpy as np

    from genlab.pgm.factor import Factor
    from genlab.pgm.models import FactorGraph

    rng = np.random.default_rng(0)  # a 4-cycle: loopy, so BP is approximate
    names = ["a", "b", "c", "d"]
    factors = [Factor([x, y], np.exp(rng.normal(0, 1, (2, 2))))
               for x, y in zip(names, names[1:] + names[:1], strict=True)]
    model = tmp_path / "ring.uai"
    write_uai(FactorGraph(factors), model)
    exact = runner.invoke(app, ["pgm", "solve", str(model), "--task", "MAP", "-o",
                                str(tmp_path / "r.MAP")])
    assert exact.exit_code == 0, exact.output
    assert "proven optimal" in exact.output
    for task in ("PR", "MAR", "MAP"):
        out = tmp_path / f"ring.{task}"
        result = runner.invoke(app, ["pgm", "solve", str(model), "--task", task, "--method",
                                     "approximate", "--json", "-o", str(out)])
        assert result.exit_code == 0, result.output
        record = json.loads(result.output)
        assert record["exact"] is False and record["label"].startswith("approximate")
        assert record["convergence"]["converged"] is True
        if task != "MAP":  # a few variables clamped with the time to spare: exact on a ring
            assert len(record["convergence"]["clamped"]) >= 1
        assert read_uai_result(out)[0] == task
    pr = json.loads(runner.invoke(app, ["pgm", "solve", str(model), "--task", "PR", "--json",
                                        "-o", str(tmp_path / "e.PR")]).output)
    assert pr["exact"] is True and pr["label"] == "exact"
    approx = json.loads(runner.invoke(app, ["pgm", "solve", str(model), "--task", "PR",
                                            "--method", "approximate", "--json", "-o",
                                            str(tmp_path / "a.PR")]).output)
    assert abs(approx["log10_Z"] - pr["log10_Z"]) < 0.05  # Bethe is close on a weak ring
    bad = runner.invoke(app, ["pgm", "solve", str(model), "--task", "PR", "--method", "magic"])
    assert bad.exit_code == 2 and "method" in bad.output


def test_solve_by_the_integer_program(tmp_path: Path) -> None:
    """`--method ilp` proves the MAP of a loopy model and writes the contraction's answer;
    it answers MAP only, and says so for the other tasks."""
    import json

    import numpy as np

    from genlab.pgm.factor import Factor
    from genlab.pgm.models import FactorGraph

    rng = np.random.default_rng(3)
    names = [f"x{i}" for i in range(6)]
    factors = [Factor([x, y], np.exp(rng.normal(0, 2, (3, 3))))
               for x, y in itertools.combinations(names, 2)]
    model = tmp_path / "clique.uai"
    write_uai(FactorGraph(factors), model)
    runs = {}
    for method in ("exact", "ilp"):
        out = tmp_path / f"{method}.MAP"
        result = runner.invoke(app, ["pgm", "solve", str(model), "--task", "MAP", "--method",
                                     method, "--json", "-o", str(out)])
        assert result.exit_code == 0, result.output
        runs[method] = json.loads(result.output), read_uai_result(out)[1]
    record, values = runs["ilp"]
    assert record["exact"] is True and record["label"] == "proven optimal"
    assert record["method"] == "ilp" and list(values) == list(runs["exact"][1])
    assert abs(record["log_score"] - runs["exact"][0]["log_score"]) < 1e-9
    wrong = runner.invoke(app, ["pgm", "solve", str(model), "--task", "MAR", "--method", "ilp"])
    assert wrong.exit_code != 0 and "MAP only" in wrong.output


def test_solve_matches_uai2014_reference(tmp_path: Path) -> None:
    model = shared_data("uai2014", "PR", "Grids_12.uai")
    out = tmp_path / "g.PR"
    result = runner.invoke(
        app,
        ["pgm", "solve", str(model), "--task", "PR", "--evidence", f"{model}.evid", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    _, got = read_uai_result(out)
    _, ref = read_uai_result(f"{model}.PR")
    assert check_uai_result("PR", got, ref, None, {}).ok  # type: ignore[arg-type]


def test_malformed_file_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.bif"
    path.write_text(
        "network x {}\nvariable a {\n  type discrete [ 2 ] { y, n };\n}\n"
        "probability ( a ) {\n  table 0.5, oops;\n}\n"
    )
    result = runner.invoke(app, ["pgm", "info", str(path)])
    assert result.exit_code == 2
    assert "bad.bif" in result.output and "line 6" in result.output


def test_missing_evidence_file_is_an_error(red_blue_bif: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.evid"
    result = runner.invoke(app, ["pgm", "query", str(red_blue_bif), "--evidence", str(missing)])
    assert result.exit_code == 2
    assert "nope.evid" in result.output.replace("\n", "")
