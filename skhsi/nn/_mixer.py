"""Stacked 1x1 channel mixing (DRCNN reduction layers) in plain torch.

``ChannelMixer`` maps ``(n, C)`` to ``(n, K)`` through linear layers with
LeakyReLU between them and, optionally, a min-max normalisation of every
output channel to [0, 1] over the batch: the data-reduction layers of the
DRCNN (Zeegers et al., "Task-driven learned hyperspectral data reduction
using end-to-end supervised deep learning", J. Imaging 6(12), 2020).
``MixerObjective`` puts a linear decoder (reconstruction) or a linear
classifier (supervised) behind it for phase-2 training alone.
"""

import math

import torch
from torch import nn

__all__ = [
    "ChannelMixer",
    "MixerObjective",
    "ReconstructionLoss",
    "batch_min_max",
]


def batch_min_max(z, eps=1e-8):
    """Min-max normalise every column of ``z`` to [0, 1] over the rows (differentiable).

    A constant column maps to 0.
    """
    low = z.amin(dim=0, keepdim=True)
    high = z.amax(dim=0, keepdim=True)
    return (z - low) / (high - low).clamp_min(eps)


class ChannelMixer(nn.Module):
    """Stacked linear layers over the channels, with widths given by ``sizes``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, the first being the band count.
    negative_slope : float
        Slope of the LeakyReLU put between consecutive layers.
    use_bias : bool
    use_activation : bool
        Whether the LeakyReLU is used at all.
    normalize_output : bool
        Min-max normalise each output channel over the batch (``forward``);
        ``mix`` always returns the raw output.
    """

    def __init__(self, sizes, *, negative_slope=0.01, use_bias=True, use_activation=True,
                 normalize_output=True, eps=1e-8):
        super().__init__()
        sizes = [int(s) for s in sizes]
        self.sizes = sizes
        # skip_init: the default initialisation would draw from the global RNG;
        # ``initialize`` fills the weights from a seeded generator instead.
        self.layers = nn.ModuleList(
            nn.utils.skip_init(nn.Linear, a, b, bias=use_bias)
            for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.activation = nn.LeakyReLU(negative_slope) if use_activation else nn.Identity()
        self.normalize_output = bool(normalize_output)
        self.eps = float(eps)
        self.initialize("zeros")

    def mix(self, x):
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = self.activation(x)
            x = layer(x)
        return x

    def forward(self, x):
        z = self.mix(x)
        return batch_min_max(z, self.eps) if self.normalize_output else z

    def unnormalized(self):
        """A view of this mixer whose ``forward`` is ``mix`` (no normalisation)."""
        return _RawMix(self)

    @torch.no_grad()
    def initialize(self, method, *, negative_slope=0.01, generator=None):
        """Fill the weights: ``"xavier"``, ``"kaiming"`` or ``"zeros"``; biases become 0."""
        for layer in self.layers:
            if method == "xavier":
                nn.init.xavier_uniform_(layer.weight, generator=generator)
            elif method == "kaiming":
                nn.init.kaiming_uniform_(layer.weight, a=negative_slope,
                                         nonlinearity="leaky_relu", generator=generator)
            elif method == "zeros":
                layer.weight.zero_()
            else:
                raise ValueError(f"Unknown init method {method!r}.")
            if layer.bias is not None:
                layer.bias.zero_()
        return self

    @torch.no_grad()
    def set_first_layer(self, weight, bias=None):
        """Copy ``weight`` (rows = output channels) into the first layer's top rows."""
        weight = torch.as_tensor(weight, dtype=torch.float32)
        first = self.layers[0]
        first.weight[: weight.shape[0]] = weight
        if bias is not None and first.bias is not None:
            first.bias[: weight.shape[0]] = torch.as_tensor(bias, dtype=torch.float32)


class _RawMix(nn.Module):
    def __init__(self, mixer):
        super().__init__()
        self.mixer = mixer

    def forward(self, x):
        return self.mixer.mix(x)


class MixerObjective(nn.Module):
    """A ``ChannelMixer`` with a linear decoder or a linear classifier behind it.

    ``mode="reconstruction"``: ``objective_inputs`` returns the reconstruction
    of the input and the input itself (for ``ReconstructionLoss``).
    ``mode="classification"``: it returns class logits (for cross-entropy).
    ``forward`` returns the mixer's output.
    """

    def __init__(self, mixer, n_targets, *, mode="reconstruction", generator=None):
        super().__init__()
        if mode not in ("reconstruction", "classification"):
            raise ValueError(f"mode must be 'reconstruction' or 'classification', got {mode!r}")
        self.mixer = mixer
        self.mode = mode
        self.decoder = nn.utils.skip_init(nn.Linear, mixer.sizes[-1], int(n_targets))
        with torch.no_grad():
            bound = 1.0 / math.sqrt(mixer.sizes[-1])
            self.decoder.weight.uniform_(-bound, bound, generator=generator)
            self.decoder.bias.zero_()

    def forward(self, x):
        return self.mixer(x)

    def objective_inputs(self, x):
        out = self.decoder(self.mixer(x))
        if self.mode == "reconstruction":
            return out, x
        return out


class ReconstructionLoss(nn.Module):
    """Mean squared error between a reconstruction and its input; the target is ignored."""

    def forward(self, y_pred, y_true=None):
        recon, x = y_pred[0], y_pred[1]
        return torch.mean((recon - x) ** 2)
