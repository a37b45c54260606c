"""The attributor (both kinds: linear, cnn) on three synthetic "generators" with distinct
fingerprints: it names them, rejects a fourth it never saw more often than the known ones,
round trips exactly, rejects bad input; and its CLI. A fixed-position fingerprint that a
pooled CNN cannot place is named by the linear kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage
from typer.testing import CliRunner

from genlab.cli.provenance_models import attribute_app
from genlab.provenance.attribution import load_attributor, train_attributor
from genlab.provenance.images import write_image

SIDE = 16


def _content(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = ndimage.gaussian_filter(rng.normal(size=(n, SIDE, SIDE)), sigma=(0, 2, 2))
    return (x - x.min()) / (x.max() - x.min())


def generator(kind: str, n: int, seed: int) -> np.ndarray:
    """uint8 images of random content plus a fixed fingerprint per kind."""
    yy, xx = np.indices((SIDE, SIDE))
    prints = {
        "checker": 10.0 * np.where((yy + xx) % 2 == 0, 1, -1),
        "rows": 10.0 * np.where(yy % 2 == 0, 1, -1),
        "prnu": 10.0 * np.random.default_rng(99).choice([-1.0, 1.0], size=(SIDE, SIDE)),
        "cols": 10.0 * np.where(xx % 2 == 0, 1, -1),  # the unknown one
    }
    x = 40 + 170 * _content(n, seed) + prints[kind]
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


KNOWN = ("checker", "rows", "prnu")


@pytest.fixture(scope="module", params=["linear", "cnn"])
def trained(request: pytest.FixtureRequest) -> tuple:
    # module fixtures run before conftest's per-test one-thread pin: pin here too
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        samples = {k: generator(k, 150, i) for i, k in enumerate(KNOWN)}
        att = train_attributor(samples, steps=200, batch_size=32, width=4,
                               kind=request.param)
    finally:
        torch.set_num_threads(before)
    return att, {k: generator(k, 60, 10 + i) for i, k in enumerate(KNOWN)}


def test_attributes_known_generators(trained: tuple) -> None:
    att, test = trained
    assert att.names == list(KNOWN)
    correct = [p == k for k, x in test.items() for p in att.predict(x, reject="none")]
    assert np.mean(correct) > 0.95
    probs = att.probabilities(test["rows"])
    assert probs.shape == (60, 3) and np.allclose(probs.sum(1), 1)


def test_rejects_unknown_generator_more_than_known(trained: tuple) -> None:
    att, test = trained
    known = [p is None for x in test.values() for p in att.predict(x, reject="distance")]
    unknown = [p is None for p in att.predict(generator("cols", 60, 20), reject="distance")]
    assert np.mean(known) < 0.2  # calibrated to accept ~95% of held-out known images
    assert np.mean(unknown) > 0.8


def test_thresholds_accept_the_calibrated_share() -> None:
    """On its own held-out split the softmax threshold is the 5% quantile by construction,
    so on fresh samples of the same generators roughly 95% pass (loose bound: small n)."""
    samples = {k: generator(k, 100, 30 + i) for i, k in enumerate(KNOWN)}
    att = train_attributor(samples, steps=40, batch_size=32, width=4, accept=0.5, kind="cnn")
    fresh = np.concatenate([generator(k, 100, 40 + i) for i, k in enumerate(KNOWN)])
    accepted = np.mean(att.scores(fresh)["softmax"] >= att.thresholds["softmax"])
    assert 0.3 < accepted < 0.75


def test_save_load_round_trip(trained: tuple, tmp_path: Path) -> None:
    att, test = trained
    att.save(tmp_path / "att.safetensors")
    again = load_attributor(tmp_path / "att.safetensors")
    x = np.concatenate(list(test.values()))
    assert again.names == att.names and again.thresholds == att.thresholds
    assert again.kind == att.kind
    assert np.array_equal(again.probabilities(x), att.probabilities(x))
    assert again.predict(x) == att.predict(x)


def test_bad_inputs_raise(trained: tuple, tmp_path: Path) -> None:
    att, _ = trained
    with pytest.raises(ValueError, match="two or more"):
        train_attributor({"a": generator("rows", 10, 0)})
    with pytest.raises(ValueError, match="at least 5"):
        train_attributor({"a": generator("rows", 10, 0), "b": generator("prnu", 3, 0)})
    with pytest.raises(ValueError, match="reject"):
        att.predict(generator("rows", 2, 0), reject="maybe")
    with pytest.raises(ValueError, match="kind must be one of"):
        train_attributor({"a": generator("rows", 10, 0), "b": generator("prnu", 10, 0)},
                         kind="forest")
    with pytest.raises(ValueError, match="trained on 16×16"):
        att.predict(np.zeros((1, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="does not exist"):
        load_attributor(tmp_path / "nothing")
    (tmp_path / "bad").write_bytes(b"\x00" * 20)
    with pytest.raises(ValueError, match="not a genlab model file"):
        load_attributor(tmp_path / "bad")


def test_cli_train_and_apply(tmp_path: Path) -> None:
    runner = CliRunner()
    folders = []
    for i, k in enumerate(KNOWN):
        for j, img in enumerate(generator(k, 100, 50 + i)):
            write_image(tmp_path / k / f"{j:03d}.png", img)
        folders.append(str(tmp_path / k))
    out = tmp_path / "att.safetensors"
    result = runner.invoke(attribute_app, ["train", *folders, "--out", str(out),
                                           "--steps", "200"])
    assert result.exit_code == 0, result.output
    np.save(tmp_path / "q.npy", generator("prnu", 8, 70)[:, None] / 127.5 - 1.0)
    result = runner.invoke(attribute_app, ["apply", str(out), str(tmp_path / "q.npy"),
                                           "--json", "--reject", "none"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["image"] for r in report["results"]][:2] == ["q.npy[0]", "q.npy[1]"]
    assert report["summary"]["prnu"] >= 6
    bad = runner.invoke(attribute_app, ["apply", str(tmp_path / "missing"), str(tmp_path)])
    assert bad.exit_code == 2


def test_the_linear_kind_places_a_fixed_position_fingerprint() -> None:
    """Two "generators" whose only difference is WHERE a faint mark sits (top-left or
    bottom-right corner of a black background, like a DCGAN's padding artefacts): the
    linear kind names them; both marks look alike to anything translation-invariant."""
    rng = np.random.default_rng(0)

    def make(corner: str, n: int) -> np.ndarray:
        x = np.zeros((n, SIDE, SIDE))
        x[:, 4:12, 4:12] = 200 * _content(n, int(rng.integers(1000)))[:, 4:12, 4:12]
        spot = (slice(0, 3), slice(0, 3)) if corner == "tl" else (slice(-3, None),
                                                                 slice(-3, None))
        x[(slice(None), *spot)] = rng.integers(2, 5, size=(n, 3, 3))
        return np.clip(x, 0, 255).astype(np.uint8)

    att = train_attributor({"tl": make("tl", 120), "br": make("br", 120)})
    assert att.kind == "linear"
    predicted = att.predict(make("tl", 50), reject="none") + att.predict(make("br", 50),
                                                                           reject="none")
    assert np.mean([p == want for p, want in zip(predicted, ["tl"] * 50 + ["br"] * 50,
                                                  strict=True)]) > 0.95
