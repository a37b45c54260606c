"""Style transfer: the losses behave, and VGG-style weights load from local files only."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from genlab.gan.tasks.photos import load_photo, texture
from genlab.gan.tasks.style import gram, load_vgg, random_features, style_distance, style_transfer


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    """A photo and a texture (shipped with scikit-image), small, in [0, 1]."""
    content = (load_photo("chelsea")[None] + 1) / 2
    style = (texture("brick")[None] + 1) / 2
    return (F.interpolate(content, size=(48, 72), mode="bilinear", antialias=True),
            F.interpolate(style, size=(64, 64), mode="bilinear", antialias=True))


def test_gram_is_normalised_and_symmetric() -> None:
    f = torch.randn(2, 5, 6, 7)
    g = gram(f)
    assert g.shape == (2, 5, 5) and torch.allclose(g, g.transpose(1, 2))
    flat = f.reshape(2, 5, 42)
    assert torch.allclose(g[0], flat[0] @ flat[0].T / (5 * 42))
    # the same texture tiled twice has the same normalised Gram
    assert torch.allclose(gram(f.repeat(1, 1, 2, 1))[0], g[0], atol=1e-6)


def test_random_features_are_seeded_and_content_of_itself_is_zero() -> None:
    content, style = _images()
    a, b, c = random_features(3), random_features(3), random_features(4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))
    feats = a(content, {a.content_layer})[a.content_layer]
    assert F.mse_loss(feats, a(content, {a.content_layer})[a.content_layer]) == 0
    assert style_distance(a, style, style) == 0


def test_style_loss_falls_and_the_result_moves_towards_the_style() -> None:
    content, style = _images()
    result = style_transfer(content, style, size=72, scales=2, seed=0, steps_per_scale=150)
    assert result.image.shape == (1, 3, 48, 72)
    coarse, fine = result.scale_losses  # the fine scale starts from the coarse result
    assert coarse[-1] < 0.75 * coarse[0] and fine[-1] < 0.9 * fine[0]
    judge = random_features(seed=999)  # a representation the optimiser did not use
    assert style_distance(judge, result.image, style) < 0.2 * style_distance(judge, content, style)
    kept = style_transfer(content, style, size=48, scales=1, keep_colors=True,
                          steps_per_scale=5)
    assert kept.image.shape == (1, 3, 32, 48) and 0 <= kept.image.min() <= kept.image.max() <= 1


def _tiny_vgg_state() -> dict[str, torch.Tensor]:
    """torchvision's layout at a tiny width: blocks [3→4, 4→4], pool, [4→8], pool, [8→8]."""
    g = torch.Generator().manual_seed(0)
    shapes = {0: (4, 3), 2: (4, 4), 5: (8, 4), 8: (8, 8)}
    state = {}
    for i, (o, c) in shapes.items():
        state[f"features.{i}.weight"] = torch.randn(o, c, 3, 3, generator=g) * 0.3
        state[f"features.{i}.bias"] = torch.randn(o, generator=g) * 0.1
    return state


def _manual_vgg(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    h = (x - mean) / std
    for i in (0, 2, 5, 8):
        h = F.relu(F.conv2d(h, state[f"features.{i}.weight"], state[f"features.{i}.bias"],
                            padding=1))
        if i in (2, 5):
            h = F.max_pool2d(h, 2)
    return h


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_vgg_style_weights_load_from_a_local_file(tmp_path: Path, suffix: str) -> None:
    from safetensors.torch import save_file

    state = _tiny_vgg_state()
    path = tmp_path / f"vgg{suffix}"
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    net = load_vgg(path)
    assert net.names == ["conv1_1", "conv1_2", "conv2_1", "conv3_1"]
    assert net.style_layers == ("conv1_1", "conv2_1", "conv3_1")
    x = torch.rand(1, 3, 16, 16)
    assert torch.allclose(net(x, {"conv3_1"})["conv3_1"], _manual_vgg(state, x), atol=1e-5)
    result = style_transfer(x, torch.rand(1, 3, 16, 16), size=16, net=net, scales=1,
                            steps_per_scale=3)
    assert result.iterations > 0


def test_untrusted_or_wrong_weight_files_are_refused(tmp_path: Path) -> None:
    class Payload:  # a pickle that would run code if it were unpickled freely
        def __reduce__(self) -> tuple:
            return (print, ("this must not run",))

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"features.0.weight": Payload()}))
    with pytest.raises(ValueError, match="not a plain state dict"):
        load_vgg(evil)
    empty = tmp_path / "empty.pth"
    torch.save({"classifier.0.weight": torch.zeros(2, 2)}, empty)
    with pytest.raises(ValueError, match=r"features\.N\.weight"):
        load_vgg(empty)
    with pytest.raises(FileNotFoundError):
        load_vgg(tmp_path / "missing.pth")
