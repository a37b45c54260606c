"""`genlab pgm sample|fit|loglik|learn` on files the tests write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from genlab.cli.main import app
from genlab.pgm import examples, read_bif, write_bif
from genlab.pgm.learning.parameters import log_likelihood

runner = CliRunner()


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    path = tmp_path / "red_blue.bif"
    write_bif(examples.red_blue_network(), path)
    return path


def _sample(model: Path, out: Path, n: int, *extra: str) -> None:
    result = runner.invoke(app, ["pgm", "sample", str(model), "-n", str(n), "-o", str(out),
                                 *extra])
    assert result.exit_code == 0, result.output


def test_sample_fit_loglik_round_trip(model: Path, tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    _sample(model, data, 20_000, "--seed", "3")
    frame = pd.read_csv(data)
    assert list(frame.columns) == ["X1", "X2", "X3", "X4", "X5"]
    fitted = tmp_path / "fitted.bif"
    result = runner.invoke(app, ["pgm", "fit", str(model), str(data), "-o", str(fitted),
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    learned = read_bif(fitted)
    truth = examples.red_blue_network()
    assert max(np.abs(learned.cpt(v).table - truth.cpt(v).table).max()
               for v in truth.variables) < 0.03
    assert report["log_likelihood"] == pytest.approx(log_likelihood(learned, frame), rel=1e-6)
    result = runner.invoke(app, ["pgm", "loglik", str(fitted), str(data), "--json"])
    assert result.exit_code == 0, result.output
    ll = json.loads(result.output)
    assert ll["rows"] == 20_000
    assert ll["mean_per_row"] == pytest.approx(ll["log_likelihood"] / 20_000)


def test_fit_with_missing_cells_runs_em_and_with_a_latent_variable(model, tmp_path) -> None:
    data = tmp_path / "rows.csv"
    _sample(model, data, 3000)
    frame = pd.read_csv(data)
    frame.mask(np.random.default_rng(0).random(frame.shape) < 0.2).to_csv(
        tmp_path / "holes.csv", index=False)
    result = runner.invoke(app, ["pgm", "fit", str(model), str(tmp_path / "holes.csv"),
                                 "-o", str(tmp_path / "em.bif"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["iterations"] >= 2
    frame.drop(columns=["X3"]).to_csv(tmp_path / "hidden.csv", index=False)
    result = runner.invoke(app, ["pgm", "fit", str(model), str(tmp_path / "hidden.csv"),
                                 "-o", str(tmp_path / "latent.bif"), "--latent", "X3=2"])
    assert result.exit_code == 0, result.output
    assert read_bif(tmp_path / "latent.bif").states["X3"] == ("red", "blue")  # model's names


def test_fit_out_of_core_equals_in_memory(model, tmp_path) -> None:
    data = tmp_path / "rows.csv"
    _sample(model, data, 4000)
    for args, name in (([], "a.bif"), (["--chunksize", "333"], "b.bif")):
        result = runner.invoke(app, ["pgm", "fit", str(model), str(data), "-o",
                                     str(tmp_path / name), *args])
        assert result.exit_code == 0, result.output
    assert read_bif(tmp_path / "a.bif") == read_bif(tmp_path / "b.bif")


def test_sample_methods(model, tmp_path) -> None:
    out = tmp_path / "lw.csv"
    _sample(model, out, 200, "-e", "X4=blue", "--method", "lw")
    frame = pd.read_csv(out)
    assert set(frame["X4"]) == {"blue"} and frame["weight"].sum() == pytest.approx(1.0)
    _sample(model, tmp_path / "g.csv", 100, "-e", "X1=red", "--method", "gibbs",
            "--burn-in", "10")
    assert set(pd.read_csv(tmp_path / "g.csv")["X1"]) == {"red"}
    _sample(model, tmp_path / "a.csv", 50, "--seed", "9")
    _sample(model, tmp_path / "b.csv", 50, "--seed", "9")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_bad_input_is_reported_and_nothing_is_written(model, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("X1,X2,X3,X4,X5\nred,red,red,red,red\nred,red,green,red,red\n")
    out = tmp_path / "never.bif"
    result = runner.invoke(app, ["pgm", "fit", str(model), str(bad), "-o", str(out)])
    assert result.exit_code == 1
    assert "'X3'" in result.output and "'green'" in result.output and "line 3" in result.output
    assert not out.exists()
    result = runner.invoke(app, ["pgm", "fit", str(model), str(tmp_path / "nope.csv"), "-o",
                                 str(out)])
    assert result.exit_code == 2 and "no such data file" in result.output
    result = runner.invoke(app, ["pgm", "fit", str(model), str(bad), "-o", str(out),
                                 "--latent", "X3"])
    assert result.exit_code != 0 and "H=2" in result.output
    result = runner.invoke(app, ["pgm", "sample", str(model), "-n", "5", "-o", str(out),
                                 "-e", "X1=red", "--method", "forward"])
    assert result.exit_code == 1 and "takes no evidence" in result.output


def test_learn_against_the_truth_writes_network_and_picture(model, tmp_path) -> None:
    data = tmp_path / "rows.csv"
    _sample(model, data, 5000)
    out = tmp_path / "learned.bif"
    result = runner.invoke(app, ["pgm", "learn", str(data), "-o", str(out), "--truth",
                                 str(model), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["shd"] == 0 and report["method"] == "tabu"
    picture = tmp_path / "learned.comparison.png"
    assert report["picture"] == str(picture)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    learned = read_bif(out)
    assert sorted(learned.variables) == ["X1", "X2", "X3", "X4", "X5"]
    # chow-liu cannot express the v-structure: the differing pairs are listed
    result = runner.invoke(app, ["pgm", "learn", str(data), "-o", str(out), "--truth",
                                 str(model), "--method", "chow-liu"])
    assert result.exit_code == 0, result.output
    assert "SHD against the true CPDAG: 2" in result.output
    assert "X2 -> X4" in result.output


def test_learn_options_and_errors(model, tmp_path) -> None:
    data = tmp_path / "rows.csv"
    _sample(model, data, 3000)
    out = tmp_path / "l.bif"
    result = runner.invoke(app, ["pgm", "learn", str(data), "-o", str(out), "--method", "hc",
                                 "--black", "X2->X4", "--black", "X4->X2", "--json"])
    assert result.exit_code == 0, result.output
    learned = read_bif(out)
    assert "X2" not in learned.parents("X4") and "X4" not in learned.parents("X2")
    result = runner.invoke(app, ["pgm", "learn", str(data), "-o", str(out), "--method", "magic"])
    assert result.exit_code == 1 and "unknown method" in result.output
    result = runner.invoke(app, ["pgm", "learn", str(data), "-o", str(out), "--black", "X2-X4"])
    assert result.exit_code != 0 and "A->B" in result.output
    result = runner.invoke(app, ["pgm", "learn", str(data), "-o", str(out), "--method", "exact",
                                 "--score", "bdeu", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["score_name"] == "bdeu"


def test_loglik_json_stays_valid_with_impossible_rows_and_checks_weights(tmp_path) -> None:
    from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork

    certain = tmp_path / "certain.bif"
    write_bif(BayesianNetwork([CPT("a", [1.0, 0.0]), CPT("b", [[0.5, 0.5], [0.5, 0.5]], ["a"])],
                              states={"a": ["y", "n"], "b": ["y", "n"]}), certain)
    data = tmp_path / "rows.csv"
    data.write_text("a,b,w\ny,y,1\nn,y,2\ny,n,1\n")
    result = runner.invoke(app, ["pgm", "loglik", str(certain), str(data), "--weights", "w",
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert report["impossible_rows"] == 1 and report["log_likelihood"] is None
    data.write_text("a,b,w\ny,y,1\ny,n,-5\n")
    result = runner.invoke(app, ["pgm", "loglik", str(certain), str(data), "--weights", "w"])
    assert result.exit_code == 1 and "non-negative; line 3" in result.output
    result = runner.invoke(app, ["pgm", "loglik", str(certain), str(data), "--weights", "nope"])
    assert result.exit_code == 1 and "weights column 'nope'" in result.output


def test_fit_with_weights_in_chunks_equals_in_memory(model, tmp_path) -> None:
    data = tmp_path / "rows.csv"
    _sample(model, data, 2000)
    frame = pd.read_csv(data).assign(w=np.random.default_rng(0).integers(0, 4, 2000))
    frame.to_csv(data, index=False)
    for args, name in (([], "a.bif"), (["--chunksize", "300"], "b.bif")):
        result = runner.invoke(app, ["pgm", "fit", str(model), str(data), "-o",
                                     str(tmp_path / name), "--weights", "w", *args])
        assert result.exit_code == 0, result.output
    a, b = read_bif(tmp_path / "a.bif"), read_bif(tmp_path / "b.bif")
    for v in a.variables:
        np.testing.assert_allclose(a.cpt(v).table, b.cpt(v).table, rtol=1e-12)
