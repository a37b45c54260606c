"""`genlab seq train|sample|eval|plot`: a tiny run end to end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from genlab.cli.main import app

runner = CliRunner()

TINY = ["--steps", "12", "--hidden-size", "16", "--embed-dim", "8", "--max-chars", "3000",
        "--seq-len", "16", "--batch-size", "8", "--threads", "1", "--no-progress"]


def test_train_sample_eval(tmp_path: Path) -> None:
    run = tmp_path / "lm"
    result = runner.invoke(app, ["seq", "train", "--out", str(run), *TINY])
    assert result.exit_code == 0, result.output
    assert "validation" in result.output and (run / "summary.json").is_file()

    again = runner.invoke(app, ["seq", "train", "--out", str(run), *TINY])
    assert again.exit_code == 2 and "--resume" in again.output

    sampled = runner.invoke(app, ["seq", "sample", str(run), "--n", "3", "--temperature", "0.8",
                                  "--prompt", "The ", "--length", "40"])
    assert sampled.exit_code == 0, sampled.output
    lines = sampled.output.splitlines()
    assert len(lines) == 3 and all(line.startswith("The") for line in lines)
    repeat = runner.invoke(app, ["seq", "sample", str(run), "--n", "3", "--prompt", "The ",
                                 "--length", "40"])
    assert repeat.output == sampled.output  # same seed, same lines

    evaluated = runner.invoke(app, ["seq", "eval", str(run), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.output)
    names = [row["model"] for row in report["rows"]]
    assert names[0].startswith("RNN (gru-16, step 12)")
    assert [r["order"] for r in report["rows"][1:6]] == [1, 2, 3, 4, 5]
    assert all(row["test_bits_per_char"] > 0 for row in report["rows"])
    table = runner.invoke(app, ["seq", "eval", str(run), "--split", "validation",
                                "--max-order", "2"])
    assert table.exit_code == 0 and "| Markov order 2 | kneser-ney |" in table.output
    assert "validation bits/char" in table.output and "order 3" not in table.output


def test_plot_and_errors(tmp_path: Path) -> None:
    png = tmp_path / "dag.png"
    result = runner.invoke(app, ["seq", "plot", "--out", str(png)])
    assert result.exit_code == 0 and png.is_file()
    missing = runner.invoke(app, ["seq", "sample", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    help_text = runner.invoke(app, ["seq", "--help"]).output
    assert all(name in help_text for name in ("train", "sample", "eval"))


def test_train_command_defaults_are_the_configs() -> None:
    """`genlab seq train` spells its defaults out for --help; they must stay LMTrainConfig's."""
    import inspect

    from genlab.cli.seq import train as train_command
    from genlab.seq.train import LMTrainConfig

    config = LMTrainConfig()
    checked = 0
    for name, parameter in inspect.signature(train_command).parameters.items():
        default = parameter.default.default  # typer.Option's default
        if hasattr(config, name) and name not in ("out", "minutes", "steps"):
            assert default == getattr(config, name), name
            checked += 1
    assert checked >= 12
