"""Differentiable colour conversions (torch): sRGB <-> CIE Lab (D65) and BT.601 luma.

Images are (B, 3, H, W) sRGB in [0, 1]; Lab has L in [0, 100] and a, b roughly in [-110, 110].
"""

from __future__ import annotations

import torch

__all__ = ["lab_to_rgb", "luma", "rgb_to_lab"]

# sRGB (linear) -> XYZ, D65 white; rows X, Y, Z (IEC 61966-2-1)
_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
_WHITE = torch.tensor([0.950456, 1.0, 1.088754], dtype=torch.float64)
_EPS = (6.0 / 29.0) ** 3


def _mix(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Apply a 3×3 colour matrix to the channel axis of (B, 3, H, W)."""
    return torch.einsum("ij,bjhw->bihw", matrix.to(x.dtype).to(x.device), x)


def _scale(white: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return white.to(x.dtype).to(x.device)[None, :, None, None]


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> Lab (L in [0, 100])."""
    rgb = rgb.clamp(0.0, 1.0)
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = _mix(_RGB_TO_XYZ, linear) / _scale(_WHITE, rgb)
    f = torch.where(xyz > _EPS, xyz.clamp_min(_EPS) ** (1.0 / 3.0),
                    xyz / (3 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    fx, fy, fz = f[:, 0:1], f[:, 1:2], f[:, 2:3]
    return torch.cat([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab -> sRGB, clamped to [0, 1] (colours outside the sRGB gamut are clipped)."""
    fy = (lab[:, 0:1] + 16.0) / 116.0
    f = torch.cat([fy + lab[:, 1:2] / 500.0, fy, fy - lab[:, 2:3] / 200.0], dim=1)
    delta = 6.0 / 29.0
    xyz = torch.where(f > delta, f ** 3, 3 * delta ** 2 * (f - 4.0 / 29.0)) * _scale(_WHITE, lab)
    # solve M · rgb = xyz (an exact inverse of the forward matrix, so Lab round trips)
    matrix = _RGB_TO_XYZ.to(lab.dtype).to(lab.device)
    flat = xyz.permute(1, 0, 2, 3).reshape(3, -1)
    linear = torch.linalg.solve(matrix, flat).reshape(3, xyz.shape[0], *xyz.shape[2:])
    linear = linear.permute(1, 0, 2, 3).clamp(0.0, 1.0)
    return torch.where(linear > 0.0031308, 1.055 * linear.clamp_min(1e-12) ** (1 / 2.4) - 0.055,
                       12.92 * linear).clamp(0.0, 1.0)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 Y in [16, 235] of sRGB in [0, 1], as MATLAB's rgb2ycbcr (the SR literature's Y)."""
    weights = torch.tensor([65.481, 128.553, 24.966], dtype=rgb.dtype, device=rgb.device)
    return 16.0 + torch.einsum("c,bchw->bhw", weights, rgb)[:, None]
