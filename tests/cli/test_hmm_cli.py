"""`genlab hmm fit|score|decode|sample` on files the tests write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from genlab.cli.main import app
from genlab.pgm.io.hmm_json import read_hmm_json, write_hmm_json
from genlab.pgm.models.hmm import HiddenMarkovModel

runner = CliRunner()


@pytest.fixture()
def coin_json(tmp_path: Path) -> Path:
    model = HiddenMarkovModel.categorical([0.6, 0.4], [[0.9, 0.1], [0.2, 0.8]],
                                          [[0.8, 0.2], [0.3, 0.7]], ["H", "T"])
    return write_hmm_json(model, tmp_path / "coin.json")


@pytest.fixture()
def coin_csv(tmp_path: Path) -> Path:
    path = tmp_path / "coin.csv"
    path.write_text("sequence,obs\ns1,H\ns1,T\ns1,\ns1,T\ns2,H\ns2,H\n")
    return path


def test_help_explains_the_commands() -> None:
    result = runner.invoke(app, ["hmm", "--help"])
    assert result.exit_code == 0, result.output
    for name in ("fit", "score", "decode", "sample"):
        assert name in result.output
    fit_help = runner.invoke(app, ["hmm", "fit", "--help"])
    assert "--states" in fit_help.output and "--restarts" in fit_help.output


def test_score_json_matches_the_library(coin_json: Path, coin_csv: Path) -> None:
    result = runner.invoke(app, ["hmm", "score", str(coin_json), str(coin_csv), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    model = read_hmm_json(coin_json)
    expected = model.log_likelihood([["H", "T", None, "T"], ["H", "H"]])
    np.testing.assert_allclose(report["per_sequence"], expected, rtol=1e-12)
    assert report["log_likelihood"] == pytest.approx(expected.sum(), rel=1e-12)
    plain = runner.invoke(app, ["hmm", "score", str(coin_json), str(coin_csv)])
    assert plain.exit_code == 0 and f"{expected.sum():.10g}" in plain.output


def test_decode_adds_state_and_log_probability(coin_json: Path, coin_csv: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "paths.csv"
    result = runner.invoke(app, ["hmm", "decode", str(coin_json), str(coin_csv), "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype={"obs": str}, keep_default_na=False)
    assert list(frame.columns) == ["sequence", "obs", "state", "log_probability"]
    model = read_hmm_json(coin_json)
    decoded = model.viterbi([["H", "T", None, "T"], ["H", "H"]])
    assert frame["state"].tolist() == np.concatenate(decoded.paths).tolist()
    lp = frame.groupby("sequence", sort=False)["log_probability"].agg(["min", "max"])
    np.testing.assert_allclose(lp["min"], decoded.log_probability, rtol=1e-12)
    np.testing.assert_array_equal(lp["min"], lp["max"])


def test_sample_then_fit_round_trip(coin_json: Path, tmp_path: Path) -> None:
    data = tmp_path / "drawn.csv"
    result = runner.invoke(app, ["hmm", "sample", str(coin_json), "-n", "40", "--length", "30",
                                 "--seed", "3", "--out", str(data)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(data, dtype=str)
    assert list(frame.columns) == ["sequence", "obs", "hidden_state"] and len(frame) == 1200
    again = tmp_path / "again.csv"
    runner.invoke(app, ["hmm", "sample", str(coin_json), "-n", "40", "--length", "30",
                        "--seed", "3", "--out", str(again)])
    assert again.read_text() == data.read_text()
    fitted = tmp_path / "fitted.json"
    result = runner.invoke(app, ["hmm", "fit", str(data), "--states", "2", "--seed", "1",
                                 "--restarts", "2", "--max-iter", "30", "--out", str(fitted),
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    model = read_hmm_json(fitted)
    assert model.kind == "categorical" and model.n_states == 2
    assert model.emission.symbols == ("H", "T")  # type: ignore[attr-defined]
    assert "log-likelihood" in result.output


def test_fit_picks_gaussian_for_numbers(tmp_path: Path) -> None:
    truth = HiddenMarkovModel.gaussian([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], [[-3.0], [3.0]],
                                       [[1.0], [1.0]], "diag")
    source = write_hmm_json(truth, tmp_path / "truth.json")
    data = tmp_path / "numbers.csv"
    assert runner.invoke(app, ["hmm", "sample", str(source), "-n", "20", "--length", "25",
                               "--out", str(data)]).exit_code == 0
    fitted = tmp_path / "g.json"
    result = runner.invoke(app, ["hmm", "fit", str(data), "-k", "2", "--out", str(fitted),
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    model = read_hmm_json(fitted)
    assert model.kind == "gaussian"
    assert sorted(np.round(model.emission.means[:, 0])) == [-3.0, 3.0]  # type: ignore[attr-defined]


def test_errors_name_file_and_line(coin_json: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sequence,obs\ns1,H\ns1,X\n")
    result = runner.invoke(app, ["hmm", "score", str(coin_json), str(bad)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())  # rich wraps long lines
    assert "bad.csv, line 3" in text and "unknown symbol 'X'" in text
    no_obs = tmp_path / "no_obs.csv"
    no_obs.write_text("sequence,value\ns1,H\n")
    result = runner.invoke(app, ["hmm", "score", str(coin_json), str(no_obs)])
    assert result.exit_code == 2 and "no `obs`" in " ".join(result.output.split())
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "categorical",\n "start": [0.5, 0.6],\n')
    result = runner.invoke(app, ["hmm", "score", str(broken), str(bad)])
    assert result.exit_code == 2 and "broken.json, line" in " ".join(result.output.split())
