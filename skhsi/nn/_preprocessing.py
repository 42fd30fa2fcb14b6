"""Torch counterparts of the spectral preprocessing nodes.

Each module maps a float32 tensor ``(n_pixels, n_bands)`` to
``(n_pixels, n_out)`` so that the nodes can be chained and trained end to end.
"""

import torch
from torch import nn

__all__ = ["BandSelect", "PerPixelUnitNorm", "ZScore"]


class BandSelect(nn.Module):
    """Keep the bands listed in ``indices`` (a non-trainable index buffer)."""

    def __init__(self, indices):
        super().__init__()
        self.register_buffer("indices", torch.as_tensor(indices, dtype=torch.long))

    def forward(self, x):
        return x.index_select(-1, self.indices)


class PerPixelUnitNorm(nn.Module):
    """Divide each spectrum by ``max(||x||_2, eps)``."""

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = float(eps)

    def forward(self, x):
        norm = torch.linalg.vector_norm(x, ord=2, dim=-1, keepdim=True)
        return x / norm.clamp_min(self.eps)


class ZScore(nn.Module):
    """Per-band ``(x - mean) / std`` with a learnable mean and a positive std.

    The std is stored as its logarithm so that gradient steps keep it positive.
    ``eps`` is added to the std before dividing.
    """

    def __init__(self, mean, std, eps=1e-8):
        super().__init__()
        mean = torch.as_tensor(mean, dtype=torch.float32)
        std = torch.as_tensor(std, dtype=torch.float32)
        self.eps = float(eps)
        self.mean = nn.Parameter(mean.clone())
        self.log_std = nn.Parameter(torch.log(std.clamp_min(torch.finfo(torch.float32).tiny)))

    @property
    def std(self):
        return torch.exp(self.log_std)

    def forward(self, x):
        return (x - self.mean) / (self.std + self.eps)
