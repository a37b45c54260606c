"""The LeNet feature extractor: held-out accuracy, stratified split, keyed atomic cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from genlab.gan import classifier as clf
from genlab.gan.classifier import (
    CONFIDENCE,
    ClassifierConfig,
    LeNet,
    classify,
    load_or_train_classifier,
    stratified_split,
    train_classifier,
)
from genlab.gan.data import load_dataset

TINY = ClassifierConfig(data="digits", epochs=1)  # seconds to train; for cache mechanics only


def test_stratified_split_holds_out_the_same_share_of_every_class() -> None:
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    train, test = stratified_split(labels, holdout=0.2, seed=3)
    assert np.bincount(labels[test]).tolist() == [2, 4, 6, 8]
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(100))
    assert np.array_equal(stratified_split(labels, 0.2, seed=3)[1], test)  # reproducible
    with pytest.raises(ValueError, match="holdout"):
        stratified_split(labels, holdout=1.5, seed=0)


def test_lenet_features_and_logits_have_documented_shapes() -> None:
    net = LeNet(img_channels=1, num_classes=10).eval()
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    assert net.features(x).shape == (3, 128)
    assert net(x).shape == (3, 10)
    features, probs = classify(net, x)
    assert features.shape == (3, 128) and (features >= 0).all()
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match=r"expected images \(N, 1, H, W\)"):
        classify(net, torch.zeros(2, 3, 32, 32))


def test_a_classifier_needs_labelled_images() -> None:
    with pytest.raises(ValueError, match="no image labels"):
        train_classifier(load_dataset("ring8"), ClassifierConfig(data="ring8"), progress=False)


def test_cache_is_keyed_atomic_safetensors_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path))
    first = load_or_train_classifier(TINY, progress=False)
    files = sorted(p.name for p in (tmp_path / "classifiers").iterdir())
    assert [Path(f).suffix for f in files] == [".json", ".safetensors"]  # no temp files left
    assert first.path.parent == tmp_path / "classifiers"
    with safe_open(str(first.path), framework="pt") as f:  # plain tensors, nothing pickled
        assert {"real_features", "real_mean", "real_cov"} <= set(f.keys())
    info = json.loads(first.path.with_suffix(".json").read_text())
    assert info["test_accuracy"] == first.test_accuracy
    assert info["num_real"] == first.real_features.shape[0] == 1797

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached classifier should have been reused")

    monkeypatch.setattr(clf, "train_classifier", no_training)
    again = load_or_train_classifier(TINY, progress=False)
    assert again.path == first.path
    assert np.array_equal(again.real_features, first.real_features)
    np.testing.assert_allclose(
        again.real_cov, np.cov(first.real_features.astype(np.float64), rowvar=False)
    )
    x = load_dataset("digits").x[:50]
    assert np.array_equal(classify(again.model, x)[1], classify(first.model, x)[1])
    with pytest.raises(AssertionError, match="reused"):  # another recipe is another key
        load_or_train_classifier(ClassifierConfig(data="digits", epochs=1, seed=1), progress=False)


def test_a_corrupt_cache_entry_is_retrained_not_trusted(tmp_path: Path) -> None:
    first = load_or_train_classifier(TINY, cache_dir=tmp_path, progress=False)
    first.path.write_bytes(b"not a safetensors file")
    with pytest.warns(UserWarning, match="unreadable cached classifier"):
        again = load_or_train_classifier(TINY, cache_dir=tmp_path, progress=False)
    assert again.path == first.path
    assert np.array_equal(again.real_features, first.real_features)  # same seed, same result
    with safe_open(str(again.path), framework="pt") as f:
        assert "real_features" in set(f.keys())


@pytest.mark.slow
def test_default_classifier_is_accurate_and_confident_on_held_out_mnist(tmp_path: Path) -> None:
    trained = load_or_train_classifier(ClassifierConfig(), cache_dir=tmp_path, progress=False)
    data = load_dataset("mnist", img_size=32)
    _, test = stratified_split(data.labels.numpy(), trained.config.holdout, trained.config.seed)
    assert len(test) == 1000  # 100 of each digit never seen in training
    _, probs = classify(trained.model, data.x[test])
    accuracy = float((probs.argmax(1) == data.labels.numpy()[test]).mean())
    assert accuracy >= 0.98
    assert accuracy == pytest.approx(trained.test_accuracy)
    # a judge of sample confidence must itself be confident on real digits, and calibrated
    confident = probs.max(1) >= CONFIDENCE
    assert confident.mean() >= 0.97 and confident.mean() == trained.info["test_confident"]
    right = probs.argmax(1) == data.labels.numpy()[test]
    assert right[confident].mean() >= 0.99  # confident predictions are right 99% of the time
