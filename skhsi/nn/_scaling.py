"""Torch counterparts of the min-max and per-pixel standardisation nodes."""

import torch
from torch import nn

__all__ = ["AffinePerBand", "PerPixelStandardize"]


class AffinePerBand(nn.Module):
    """``x * scale + offset`` per band, with fixed (buffer) ``scale`` and ``offset``."""

    def __init__(self, scale, offset):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).clone())
        self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32).clone())

    def forward(self, x):
        return x * self.scale + self.offset


class PerPixelStandardize(nn.Module):
    """Each spectrum to zero mean and unit (population) std across its bands.

    Divides by ``max(std, eps)`` so that a flat spectrum becomes zeros.
    """

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = float(eps)

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        std = x.std(dim=-1, keepdim=True, correction=0)
        return (x - mean) / std.clamp_min(self.eps)
