"""Torch counterparts of the spatial transformers (channels-last images)."""

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BandConv"]

# scipy.ndimage border modes and the torch padding that extends the same way.
_PADDING = {"mirror": "reflect", "nearest": "replicate", "constant": "constant",
            "wrap": "circular"}


class BandConv(nn.Module):
    """Correlate every band of ``(N, H, W, C)`` with each of ``n_kernels`` shared kernels.

    Output ``(N, H, W, n_kernels * C)``, stacked per kernel as
    :class:`skhsi.spatial.BandConvolution` stacks them; the kernels are a
    parameter.
    """

    def __init__(self, kernels, mode="mirror"):
        super().__init__()
        self.kernels = nn.Parameter(torch.as_tensor(kernels, dtype=torch.float32).clone())
        self.padding = _PADDING[mode]

    def forward(self, x):
        n, h, w, c = x.shape
        k = self.kernels.shape[-1]
        planes = x.permute(0, 3, 1, 2).reshape(n * c, 1, h, w)
        planes = F.pad(planes, (k // 2,) * 4, mode=self.padding)
        out = F.conv2d(planes, self.kernels[:, None])            # (n c, K, h, w)
        out = out.reshape(n, c, -1, h, w).permute(0, 3, 4, 2, 1)  # (n, h, w, K, c)
        return out.reshape(n, h, w, -1)
