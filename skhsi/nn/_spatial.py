"""Torch counterparts of the spatial transformers (channels-last images)."""

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BandConv", "BandUpsample", "bilinear_kernel"]

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


def bilinear_kernel(factor):
    """The transposed-convolution kernel that upsamples by ``factor`` as bilinear interpolation."""
    size = 2 * factor - factor % 2
    centre = (size - 1) / 2
    ramp = 1 - torch.abs(torch.arange(size, dtype=torch.float32) - centre) / factor
    return torch.outer(ramp, ramp)


class BandUpsample(nn.Module):
    """Upsample every band of ``(N, H, W, C)`` by ``factor``: interpolation or a learned kernel.

    ``method="nearest"`` or ``"bilinear"`` interpolate (``F.interpolate``, pixel
    centres, edges replicated); ``"transposed"`` is a transposed convolution
    with one kernel shared by the bands, a parameter that starts as bilinear
    interpolation.
    """

    def __init__(self, factor, method="bilinear", kernel=None):
        super().__init__()
        self.factor = int(factor)
        self.method = method
        if method == "transposed":
            start = bilinear_kernel(self.factor) if kernel is None else torch.as_tensor(
                kernel, dtype=torch.float32)
            self.kernel = nn.Parameter(start.clone())

    def forward(self, x):
        n, h, w, c = x.shape
        planes = x.permute(0, 3, 1, 2)
        if self.method == "transposed":
            f, k = self.factor, self.kernel.shape[-1]
            out = F.conv_transpose2d(planes.reshape(n * c, 1, h, w), self.kernel[None, None],
                                     stride=f, padding=(k - f + 1) // 2)
            out = out.reshape(n, c, f * h, f * w)
        else:
            out = F.interpolate(planes, scale_factor=self.factor, mode=self.method,
                                **({"align_corners": False} if self.method == "bilinear"
                                   else {}))
        return out.permute(0, 2, 3, 1)
