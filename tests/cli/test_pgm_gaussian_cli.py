"""`genlab pgm gaussian query|fit|sample` on JSON networks and CSV files the tests write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from genlab.cli.main import app
from genlab.pgm import examples, read_gaussian_json, write_gaussian_json

runner = CliRunner()


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    return write_gaussian_json(examples.gaussian_network(mu1=1.0), tmp_path / "g.json")


def test_query_json_is_the_posterior(model: Path) -> None:
    result = runner.invoke(app, ["pgm", "gaussian", "query", str(model), "-e", "x4=3",
                                 "-e", "x5=0.5", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert list(out) == ["variables", "mean", "covariance"]
    post = examples.gaussian_network(mu1=1.0).query(None, {"x4": 3.0, "x5": 0.5})
    assert out["variables"] == list(post.variables) == ["x1", "x2", "x3"]
    np.testing.assert_allclose(out["mean"], post.mean, rtol=1e-12)
    np.testing.assert_allclose(out["covariance"], post.covariance, rtol=1e-12)


def test_query_table_and_errors(model: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["pgm", "gaussian", "query", str(model), "-q", "x4"])
    assert result.exit_code == 0 and "x4" in result.output and "prior" in result.output
    result = runner.invoke(app, ["pgm", "gaussian", "query", str(model), "-e", "x9=1"])
    assert result.exit_code == 1 and "unknown variables ['x9']" in result.output
    result = runner.invoke(app, ["pgm", "gaussian", "query", str(model), "-e", "x1=abc"])
    assert result.exit_code != 0 and "VAR=NUMBER" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"nodes": [{"name": "a", "variance": 0}]}')
    result = runner.invoke(app, ["pgm", "gaussian", "query", str(broken)])
    assert result.exit_code == 2 and "broken.json" in result.output


def test_sample_then_fit_recovers_the_network(model: Path, tmp_path: Path) -> None:
    data, fitted = tmp_path / "rows.csv", tmp_path / "fitted.json"
    result = runner.invoke(app, ["pgm", "gaussian", "sample", str(model), "-n", "20000",
                                 "--seed", "3", "--out", str(data)])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(data)
    assert list(rows.columns) == ["x1", "x2", "x3", "x4", "x5"] and len(rows) == 20000
    result = runner.invoke(app, ["pgm", "gaussian", "fit", str(model), str(data),
                                 "--out", str(fitted)])
    assert result.exit_code == 0, result.output
    truth, learned = read_gaussian_json(model), read_gaussian_json(fitted)
    for a, b in zip(truth.cpds, learned.cpds, strict=True):
        assert a.parents == b.parents
        np.testing.assert_allclose(b.weights, a.weights, atol=0.05)
        assert b.variance == pytest.approx(a.variance, rel=0.06)


def test_fit_names_the_bad_line(model: Path, tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("x1,x2,x3,x4,x5\n1,2,3,4,5\n1,2,three,4,5\n")
    result = runner.invoke(app, ["pgm", "gaussian", "fit", str(model), str(data),
                                 "--out", str(tmp_path / "f.json")])
    assert result.exit_code == 1
    assert "'three' at line 3" in result.output
    assert not (tmp_path / "f.json").exists()


def test_learn_recovers_the_structure(model: Path, tmp_path: Path) -> None:
    from genlab.pgm.learning import shd

    data, learned = tmp_path / "rows.csv", tmp_path / "learned.json"
    examples.gaussian_network(mu1=1.0).sample(20_000, seed=0).to_csv(data, index=False)
    result = runner.invoke(app, ["pgm", "gaussian", "learn", str(data), "--out", str(learned)])
    assert result.exit_code == 0, result.output
    assert shd(read_gaussian_json(learned).dag, read_gaussian_json(model).dag) == 0


def test_conditional_sampling_from_the_command_line(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "given.csv"
    result = runner.invoke(app, ["pgm", "gaussian", "sample", str(model), "-n", "20000",
                                 "-e", "x4=3", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert (rows["x4"] == 3.0).all()
    post = examples.gaussian_network(mu1=1.0).query(None, {"x4": 3.0})
    x = rows[list(post.variables)].to_numpy()
    assert np.all(np.abs(x.mean(axis=0) - post.mean) < 5 * post.std / np.sqrt(len(x)))
