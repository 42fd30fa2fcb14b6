"""Building blocks of the networks: initialisers, seeded dropout, attention, masked convolution.

Convolutional blocks work channels-first (``(N, C, H, W)``), as torch's
layers do; the networks that use them take channels-last input and permute
once. Everything random draws from a ``torch.Generator`` held by the module,
never from torch's global generator, so fitting is reproducible and leaves
the caller's random state alone.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "INITIALIZERS",
    "CBAM",
    "EfficientChannelAttention",
    "MaskedConv2d",
    "SeededDropout",
    "SqueezeExcitation",
    "init_weights",
    "make_attention",
    "pad_to_multiple",
]

INITIALIZERS = ("glorot", "he")


def init_weights(module, method="glorot", *, generator=None, negative_slope=0.01):
    """Initialise every linear and convolution weight of ``module`` in place; biases to 0.

    ``"glorot"``: uniform Glorot/Xavier; ``"he"``: normal Kaiming for leaky ReLU
    with ``negative_slope``. Masked convolutions keep their mask.
    """
    if method not in INITIALIZERS:
        raise ValueError(f"init must be one of {INITIALIZERS}; got {method!r}.")
    with torch.no_grad():
        for layer in module.modules():
            if not isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
                continue
            weight = layer.weight
            fan_in = weight[0].numel()
            fan_out = weight.shape[0] * (weight[0, 0].numel() if weight.ndim > 2 else 1)
            if isinstance(layer, nn.ConvTranspose2d):
                fan_in, fan_out = fan_out, fan_in
            if method == "glorot":
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                weight.uniform_(-bound, bound, generator=generator)
            else:
                std = math.sqrt(2.0 / ((1 + negative_slope ** 2) * fan_in))
                weight.normal_(0.0, std, generator=generator)
            if isinstance(layer, MaskedConv2d):
                weight.mul_(layer.mask)
            if layer.bias is not None:
                layer.bias.zero_()
    return module


def pad_to_multiple(x, multiple):
    """``(x, h, w)``: ``x`` padded at the bottom and right so that its last two axes
    are multiples of ``multiple`` (reflected, or replicated where the image is too
    small to reflect), with the original height and width."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else
                  "replicate")
    return x, h, w


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from the module's own generator.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of zeroing an element in training; a no-op in eval mode.
    seed : int
    """

    def __init__(self, p=0.0, seed=0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must lie in [0, 1); got {p!r}.")
        self.p = float(p)
        self.seed = int(seed)
        self._generators = {}

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        generator = self._generators.get(x.device)
        if generator is None:
            generator = torch.Generator(device=x.device).manual_seed(self.seed)
            self._generators[x.device] = generator
        keep = torch.rand(x.shape, generator=generator, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generators"] = {}
        return state


def _pooled(x, pool, mode):
    """Channel statistics ``(N, C, H', W')``: global (``pool=None``) or over local windows.

    Local pooling (a ``pool x pool`` window, stride 1) keeps a block
    translation-equivariant, so tiled inference equals whole-image inference.
    """
    if pool is None:
        return x.mean(dim=(2, 3), keepdim=True) if mode == "mean" else \
            x.amax(dim=(2, 3), keepdim=True)
    if mode == "mean":
        return F.avg_pool2d(x, pool, stride=1, padding=pool // 2, count_include_pad=False)
    return F.max_pool2d(x, pool, stride=1, padding=pool // 2)


def _over_channels(layer, stats):
    """Apply a layer acting on the channel vector to every position of ``(N, C, H, W)``."""
    return layer(stats.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018): channel gates from pooled features.

    ``pool=None`` pools globally, as in the paper; an odd ``pool`` pools over
    a local window around each pixel instead.
    """

    def __init__(self, channels, reduction=4, pool=None):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(),
                                  nn.Linear(hidden, channels), nn.Sigmoid())
        self.pool = pool

    def forward(self, x):  # (N, C, H, W)
        return x * _over_channels(self.gate, _pooled(x, self.pool, "mean"))


class EfficientChannelAttention(nn.Module):
    """ECA (Wang et al., 2020): channel gates from a 1-D convolution across channels."""

    def __init__(self, channels, kernel_size=None, pool=None):
        super().__init__()
        if kernel_size is None:  # the paper's adaptive size: odd, ~ log2(C) / 2
            kernel_size = int(abs(math.log2(max(channels, 2)) / 2 + 0.5)) | 1
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.pool = pool

    def forward(self, x):  # (N, C, H, W)
        stats = _pooled(x, self.pool, "mean")
        n, c, h, w = stats.shape
        flat = stats.permute(0, 2, 3, 1).reshape(-1, 1, c)
        weights = torch.sigmoid(self.conv(flat)).reshape(n, h, w, c).permute(0, 3, 1, 2)
        return x * weights


class CBAM(nn.Module):
    """CBAM (Woo et al., 2018): channel attention, then spatial attention."""

    def __init__(self, channels, reduction=4, kernel_size=7, pool=None):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(),
                                 nn.Linear(hidden, channels))
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.pool = pool

    def forward(self, x):  # (N, C, H, W)
        channel = (_over_channels(self.mlp, _pooled(x, self.pool, "mean"))
                   + _over_channels(self.mlp, _pooled(x, self.pool, "max")))
        x = x * torch.sigmoid(channel)
        maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(maps))


def make_attention(name, channels, pool=None):
    """The attention block called ``name`` (``"se"``, ``"eca"``, ``"cbam"``) or identity."""
    if name is None:
        return nn.Identity()
    blocks = {"se": SqueezeExcitation, "eca": EfficientChannelAttention, "cbam": CBAM}
    if name not in blocks:
        raise ValueError(f"attention must be one of {sorted(blocks)} or None; got {name!r}.")
    return blocks[name](channels, pool=pool)


class MaskedConv2d(nn.Conv2d):
    """A ``window x window`` convolution blind to its centre ``(2 guard + 1)`` square.

    The output at a pixel never depends on the pixel itself nor on the
    neighbours within ``guard`` of it: the guard window of dual-window
    detectors, learned. ``padding`` keeps the spatial size.
    """

    def __init__(self, in_channels, out_channels, window=7, guard=1):
        if window % 2 == 0 or not 0 <= guard < window // 2:
            raise ValueError(
                f"window must be odd and guard in [0, window // 2); got window={window}, "
                f"guard={guard}."
            )
        super().__init__(in_channels, out_channels, window, padding=window // 2)
        mask = torch.ones(window, window)
        centre = window // 2
        mask[centre - guard:centre + guard + 1, centre - guard:centre + guard + 1] = 0.0
        self.register_buffer("mask", mask)

    def forward(self, x):
        return self._conv_forward(x, self.weight * self.mask, self.bias)
