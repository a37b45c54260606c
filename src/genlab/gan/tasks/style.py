"""Neural style transfer (Gatys et al. 2016): optimise the pixels for a content loss (one deep
layer's features) plus a style loss (Gram matrices of several layers), coarse to fine.

Features come from a seeded random-weight multi-scale CNN by default — random features are
competitive for texture and style (He et al. 2016; Ustyuzhaninov et al. 2017) and need no
download — or from VGG-style weights in a local file (a torchvision-style `features.N.weight`
state dict, as safetensors or a `torch.save` file read with weights_only=True).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genlab.gan.tasks.color import lab_to_rgb, rgb_to_lab

__all__ = ["FeatureNet", "StyleResult", "gram", "load_vgg", "random_features", "style_distance",
           "style_transfer"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class FeatureNet(nn.Module):
    """A stack of 3×3 convolutions + ReLU with pooling between blocks; `forward` returns the
    named layers' activations. Names are conv{block}_{k} (VGG's convention)."""

    def __init__(self, blocks: list[list[tuple[int, int]]], pool: str = "avg",
                 normalize: bool = False) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        self.names: list[str] = []
        self.pool_after: list[bool] = []
        for b, convs in enumerate(blocks):
            for k, (cin, cout) in enumerate(convs):
                self.convs.append(nn.Conv2d(cin, cout, 3, 1, 1))
                self.names.append(f"conv{b + 1}_{k + 1}")
                self.pool_after.append(k == len(convs) - 1 and b < len(blocks) - 1)
        self.pool = pool
        self.normalize = normalize
        first = [f"conv{b + 1}_1" for b in range(len(blocks))]
        self.style_layers = tuple(first[:5])
        block = min(4, len(blocks))
        second = f"conv{block}_2"
        self.content_layer = second if second in self.names else f"conv{block}_1"
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor, wanted: set[str]) -> dict[str, torch.Tensor]:
        """Activations (after ReLU) of the `wanted` layers for RGB x in [0, 1]."""
        if self.normalize:
            mean = torch.tensor(IMAGENET_MEAN, device=x.device)[:, None, None]
            std = torch.tensor(IMAGENET_STD, device=x.device)[:, None, None]
            x = (x - mean) / std
        else:
            x = x * 2 - 1
        out: dict[str, torch.Tensor] = {}
        for conv, name, pool in zip(self.convs, self.names, self.pool_after, strict=True):
            x = F.relu(conv(x))
            if name in wanted:
                out[name] = x
            if len(out) == len(wanted):
                break
            if pool and min(x.shape[-2:]) >= 2:  # tiny images stop shrinking at 1 pixel
                x = F.avg_pool2d(x, 2) if self.pool == "avg" else F.max_pool2d(x, 2)
        return out


def random_features(seed: int = 0, widths: tuple[int, ...] = (48, 96, 128, 192, 256)
                    ) -> FeatureNet:
    """A seeded random-weight CNN: one convolution per scale (He-normal weights, small random
    biases), average pooling between scales. Deterministic for a seed."""
    blocks, cin = [], 3
    for w in widths:
        blocks.append([(cin, w)])
        cin = w
    net = FeatureNet(blocks, pool="avg")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for conv in net.convs:
            assert isinstance(conv, nn.Conv2d)
            fan_in = conv.in_channels * 9
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * math.sqrt(2 / fan_in))
            assert conv.bias is not None
            conv.bias.copy_(0.1 * torch.randn(conv.bias.shape, generator=gen))
    return net  # one conv per scale: FeatureNet's content layer is the 4th scale's conv4_1


def load_vgg(path: Path) -> FeatureNet:
    """VGG-style features from a local weights file: `features.{i}.weight` / `.bias` of
    torchvision's layout (a conv at index i, its ReLU at i + 1, a max-pool at i + 2 when the
    next conv is at i + 3). Safetensors, or a torch.save file read with weights_only=True."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a pickle of arbitrary objects is refused, not run
            raise ValueError(f"{path}: not a plain state dict of tensors ({err})") from err
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    indices = sorted(int(k.split(".")[1]) for k in state
                     if k.startswith("features.") and k.endswith(".weight"))
    if not indices:
        raise ValueError(f"{path}: no features.N.weight tensors (a torchvision-style VGG state "
                         "dict is expected)")
    blocks: list[list[tuple[int, int]]] = [[]]
    for j, i in enumerate(indices):
        weight = state[f"features.{i}.weight"]
        if weight.ndim != 4 or tuple(weight.shape[2:]) != (3, 3):
            raise ValueError(f"{path}: features.{i}.weight has shape {tuple(weight.shape)}; "
                             "expected a 3×3 convolution")
        blocks[-1].append((int(weight.shape[1]), int(weight.shape[0])))
        if j + 1 < len(indices) and indices[j + 1] - i > 2:
            blocks.append([])
    net = FeatureNet(blocks, pool="max", normalize=True)
    expected_in = 3
    with torch.no_grad():
        for conv, i in zip(net.convs, indices, strict=True):
            assert isinstance(conv, nn.Conv2d)
            if conv.in_channels != expected_in:
                raise ValueError(f"{path}: features.{i} takes {conv.in_channels} channels but "
                                 f"the layer before gives {expected_in}")
            conv.weight.copy_(state[f"features.{i}.weight"])
            assert conv.bias is not None
            bias = state.get(f"features.{i}.bias")
            conv.bias.copy_(bias if bias is not None else torch.zeros_like(conv.bias))
            expected_in = conv.out_channels
    return net


def gram(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C) Gram matrices normalised by C·H·W (size-independent)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def style_distance(net: FeatureNet, image: torch.Tensor, style: torch.Tensor) -> float:
    """Σ over the net's style layers of the squared Frobenius distance between Grams, each
    relative to the style's own Gram norm: 0 = the same texture statistics."""
    layers = set(net.style_layers)
    with torch.no_grad():
        a, b = net(image, layers), net(style, layers)
        total = 0.0
        for name in net.style_layers:
            ga, gb = gram(a[name]), gram(b[name])
            total += float(((ga - gb) ** 2).sum() / (gb ** 2).sum().clamp_min(1e-12))
    return total


@dataclass
class StyleResult:
    """The stylised image (1, 3, H, W) in [0, 1], and how the optimisation went."""

    image: torch.Tensor
    seconds: float
    iterations: int
    losses: list[float] = field(default_factory=list)
    scale_losses: list[list[float]] = field(default_factory=list)  # per scale, coarse first


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False,
                         antialias=size[0] < x.shape[-2]).clamp(0, 1)


def style_transfer(content: torch.Tensor, style: torch.Tensor, size: int = 256,
                   seconds: float = 60.0, net: FeatureNet | None = None,
                   style_weight: float = 1.0, content_weight: float = 1.0,
                   keep_colors: bool = False, scales: int = 3, seed: int = 0,
                   steps_per_scale: int | None = None,
                   callback: Callable[[int, float], None] | None = None) -> StyleResult:
    """Gatys et al. on (1, 3, H, W) images in [0, 1]: the result has the content's layout at
    `size` pixels on its longer side and the style's Gram statistics.

    Coarse to fine: the pixels are optimised (Adam) at 1/2^(scales−1) of the size first, then
    up-sampled and refined at each finer scale; the time budget is split 1 : 2 : 4 ... across
    scales, so most of it goes where the pixels are. `keep_colors` keeps the content's chroma
    (Lab a, b) under the result's lightness. `steps_per_scale` fixes the number of Adam
    steps at every scale instead (reproducible whatever the machine's speed).
    """
    for name, t in (("content", content), ("style", style)):
        if t.ndim != 4 or t.shape[:2] != (1, 3):
            raise ValueError(f"{name} must be (1, 3, H, W), got {tuple(t.shape)}")
    net = net or random_features(seed)
    h, w = content.shape[-2:]
    ratio = size / max(h, w)
    final = (max(8, round(h * ratio)), max(8, round(w * ratio)))
    shares = [2 ** i for i in range(scales)]
    start = time.perf_counter()
    losses: list[float] = []
    scale_losses: list[list[float]] = []
    iterations = 0
    x: torch.Tensor | None = None
    layers = set(net.style_layers) | {net.content_layer}
    for level, share in enumerate(shares):
        factor = 2 ** (scales - 1 - level)
        shape = (max(8, final[0] // factor), max(8, final[1] // factor))
        c = _resize(content, shape)
        s = _resize(style, (max(8, round(style.shape[-2] * shape[0] / h)),
                            max(8, round(style.shape[-1] * shape[0] / h))))
        with torch.no_grad():
            target_content = net(c, {net.content_layer})[net.content_layer]
            style_feats = net(s, set(net.style_layers))
            target_grams = {k: gram(v) for k, v in style_feats.items()}
        x = (c.clone() if x is None else _resize(x.detach(), shape)).requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.02)
        budget = seconds * share / sum(shares)
        level_first = len(losses)
        level_start = time.perf_counter()
        while (len(losses) - level_first < steps_per_scale if steps_per_scale is not None
               else time.perf_counter() - level_start < budget):
            feats = net(x, layers)
            loss = content_weight * _relative(feats[net.content_layer], target_content)
            for k in net.style_layers:
                loss = loss + style_weight * _relative(gram(feats[k]), target_grams[k])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(0, 1)
            iterations += 1
            losses.append(float(loss.detach()))
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(f"style transfer diverged at iteration {iterations}")
            if callback is not None:
                callback(iterations, losses[-1])
        scale_losses.append(losses[level_first:])
    assert x is not None
    result = x.detach()
    if keep_colors:
        lab = rgb_to_lab(result.double())
        ab = rgb_to_lab(_resize(content, final).double())[:, 1:]
        result = lab_to_rgb(torch.cat([lab[:, :1], ab], 1)).float()
    return StyleResult(result, time.perf_counter() - start, iterations, losses, scale_losses)


def _relative(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error relative to the target's mean square: weights stay scale-free."""
    return F.mse_loss(x, target) / target.pow(2).mean().clamp_min(1e-12)
