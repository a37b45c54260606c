"""`genlab provenance embed|detect|bench`: files in, JSON out, clean errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from genlab.cli.main import app
from genlab.provenance.images import read_image, to_unit, write_image

runner = CliRunner()


def _photo(tmp_path: Path, size: int = 96) -> Path:
    import skimage.data

    path = tmp_path / "photo.png"
    write_image(path, np.ascontiguousarray(skimage.data.coffee()[100:100 + size, 200:200 + size]))
    return path


def test_embed_then_detect_json(tmp_path: Path) -> None:
    photo, marked = _photo(tmp_path), tmp_path / "marked.png"
    result = runner.invoke(app, ["provenance", "embed", str(photo), "--key", "s3cret",
                                 "--message", "gl14", "--out", str(marked)])
    assert result.exit_code == 0, result.output
    assert read_image(marked).shape == read_image(photo).shape
    result = runner.invoke(app, ["provenance", "detect", str(marked), "--key", "s3cret",
                                 "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["detected"] is True and found["message"] == "gl14"
    assert found["p_value"] < 1e-6 and len(found["bits"]) == 32
    wrong = runner.invoke(app, ["provenance", "detect", str(marked), "--key", "other", "--json"])
    assert wrong.exit_code == 0  # "not detected" is an answer, not an error
    assert json.loads(wrong.output)["detected"] is False
    assert json.loads(wrong.output)["message"] is None


def test_detect_a_folder_and_a_sample_array(tmp_path: Path) -> None:
    photo = _photo(tmp_path, 64)
    folder = tmp_path / "folder"
    folder.mkdir()
    runner.invoke(app, ["provenance", "embed", str(photo), "-k", "k", "-m", "ab",
                        "--out", str(folder / "a.png")])
    write_image(folder / "b.png", read_image(photo))
    result = runner.invoke(app, ["provenance", "detect", str(folder), "-k", "k", "--json"])
    records = {r["image"]: r for r in json.loads(result.output)}
    assert records["a.png"]["detected"] and not records["b.png"]["detected"]
    array = tmp_path / "samples.npy"
    np.save(array, to_unit(np.stack([read_image(folder / "a.png")])))
    result = runner.invoke(app, ["provenance", "detect", str(array), "-k", "k", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["message"] == "ab"


def test_errors_are_clean(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not a png at all")
    result = runner.invoke(app, ["provenance", "detect", str(corrupt), "--key", "k"])
    assert result.exit_code == 2 and "cannot read image" in result.output
    small = tmp_path / "small.png"
    write_image(small, np.zeros((16, 16), np.uint8))
    result = runner.invoke(app, ["provenance", "embed", str(small), "-k", "k", "-m", "x",
                                 "--out", str(tmp_path / "o.png")])
    assert result.exit_code == 2 and "too small" in result.output
    result = runner.invoke(app, ["provenance", "embed", str(_photo(tmp_path)), "-k", "k",
                                 "-m", "five!", "--out", str(tmp_path / "o.png")])
    assert result.exit_code == 2 and "4 bytes" in result.output
    result = runner.invoke(app, ["provenance", "detect", str(_photo(tmp_path)), "-k", "k",
                                 "--readout", "sign"])
    assert result.exit_code == 2 and "message" in result.output


def test_bench_json_has_an_unmarked_row(tmp_path: Path) -> None:
    result = runner.invoke(app, ["provenance", "bench", "--per-size", "1", "--sizes", "64",
                                 "--json"])
    assert result.exit_code == 0, result.output
    tables = json.loads(result.output)
    rows = {r["attack"]: r for r in tables["64"]}
    assert rows["unmarked"]["tpr_keyed"] == 0.0 and rows["none"]["bit_accuracy"] == 1.0
