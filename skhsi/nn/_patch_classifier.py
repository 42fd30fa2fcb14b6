"""A spatial-spectral patch classifier, and the training helpers it shares with the U-Net.

:class:`PatchCNN` maps the ``k x k x C`` window around each pixel (channels
last, ``(n, k, k, C)``) to class logits ``(n, K)``: per-band standardisation
(buffers set in phase 1), a spectral embedding (a 1 x 1 convolution, or
3-D convolutions over bands and space), ``n_layers`` blocks of 3 x 3
convolution, batch norm, ReLU, an optional attention block and dropout, then
a linear layer over the centre pixel's features and the window's mean.

Shared with :mod:`skhsi.nn._unet`:

- :class:`SpectralInput`: standardisation and, in training, spectral jitter
  drawn from the module's own generator;
- :func:`run_block`: a block under gradient checkpointing
  (``torch.utils.checkpoint``) when asked for and when gradients are being
  recorded; batch norm's running statistics are updated once per step, not
  again by the recomputation;
- :class:`TrainingObjective`: the module as phase 2 trains it, its
  ``objective_inputs`` optionally compiled with :func:`torch.compile`, falling
  back to eager execution with a warning where compilation fails;
- :class:`SideOutputLoss`: a per-pixel loss summed over deep-supervision
  outputs.
"""

import contextlib
import math
import warnings

import torch
from torch import nn
from torch.utils import checkpoint as _checkpoint

from ._augment import flip_rotate, spectral_jitter
from ._layers import SeededDropout, make_attention

__all__ = [
    "IGNORE_INDEX",
    "PatchCNN",
    "SideOutputLoss",
    "SpectralInput",
    "TrainingObjective",
    "conv_block",
    "init_conv3d",
    "run_block",
    "set_bias",
]

#: Target of the pixels the loss ignores (unlabelled pixels).
IGNORE_INDEX = -100


class SpectralInput(nn.Module):
    """Per-band standardisation, then spectral jitter in training (channels last).

    Parameters
    ----------
    n_bands : int
    noise, brightness, band_dropout : float
        Arguments of :func:`skhsi.nn._augment.spectral_jitter`, applied to the
        standardised input in training mode only; all zero: no jitter.
    seed : int
        Seeds the jitter's generator.
    """

    def __init__(self, n_bands, *, noise=0.0, brightness=0.0, band_dropout=0.0, seed=0):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_bands))
        self.register_buffer("std", torch.ones(n_bands))
        self.noise = float(noise)
        self.brightness = float(brightness)
        self.band_dropout = float(band_dropout)
        self.seed = int(seed)
        self._generators = {}

    def set_statistics(self, mean, std):
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-8))

    def forward(self, x):
        x = (x - self.mean) / self.std
        if not self.training or not (self.noise or self.brightness or self.band_dropout):
            return x
        return spectral_jitter(x, noise=self.noise, brightness=self.brightness,
                               band_dropout=self.band_dropout, channel_dim=-1,
                               generator=self._generator(x.device))

    def _generator(self, device):
        generator = self._generators.get(device)
        if generator is None:
            generator = torch.Generator(device=device).manual_seed(self.seed)
            self._generators[device] = generator
        return generator

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generators"] = {}
        return state


def _frozen_norm_statistics(block):
    """A context in which the batch norms of ``block`` leave their running statistics alone."""

    @contextlib.contextmanager
    def frozen():
        norms = [m for m in block.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        momenta = [m.momentum for m in norms]
        counts = [None if m.num_batches_tracked is None else m.num_batches_tracked.clone()
                  for m in norms]
        for m in norms:
            m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
        try:
            yield
        finally:
            for m, momentum, count in zip(norms, momenta, counts):
                m.momentum = momentum
                if count is not None:
                    m.num_batches_tracked.copy_(count)

    return frozen


def run_block(block, x, checkpointed):
    """``block(x)``, under gradient checkpointing when ``checkpointed`` and gradients are on.

    Checkpointing keeps only the block's input and recomputes its activations
    in the backward pass. The recomputation leaves batch norm's running
    statistics as the forward pass set them, so a checkpointed step trains
    exactly as a plain one. Blocks must hold no randomness (dropout runs
    outside them).
    """
    if not (checkpointed and block.training and torch.is_grad_enabled()):
        return block(x)
    return _checkpoint.checkpoint(
        block, x, use_reentrant=False,
        context_fn=lambda: (contextlib.nullcontext(), _frozen_norm_statistics(block)()))


class TrainingObjective(nn.Module):
    """A module as phase 2 trains it: its ``objective_inputs``, compiled or not.

    With ``compile=True`` the module's ``objective_inputs`` is wrapped by
    :func:`torch.compile`. Compilation happens at the first call; where it
    fails (no C++ compiler for the CPU backend, an unsupported Python or
    platform), a ``RuntimeWarning`` says so and training runs eagerly, with
    the same result. Errors after a successful first call are raised. The
    compiled function is dropped when pickled.
    """

    def __init__(self, module, compile=False):
        super().__init__()
        self.module = module
        self._compiled = None
        self._checked = False
        if compile:
            try:
                self._compiled = torch.compile(module.objective_inputs)
            except Exception as exc:  # torch refuses this platform outright
                _compile_warning(exc)

    def objective_inputs(self, x):
        if self._compiled is None:
            return self.module.objective_inputs(x)
        if self._checked:
            return self._compiled(x)
        try:
            out = self._compiled(x)
        except Exception as exc:  # compilation failed: nothing of the step has run
            _compile_warning(exc)
            self._compiled = None
            return self.module.objective_inputs(x)
        self._checked = True
        return out

    def forward(self, x):
        return self.module(x)

    def compiled(self):
        """Whether training ran the compiled function."""
        return self._compiled is not None and self._checked

    def release(self):
        """Drop the compiled function (it holds graphs and cannot be pickled)."""
        self._compiled = None
        return self

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_compiled"] = None
        return state


def _compile_warning(exc):
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    warnings.warn(
        "compile=True: torch.compile is not available here "
        f"({type(exc).__name__}: {first}); training runs without compilation.",
        RuntimeWarning, stacklevel=4,
    )


class SideOutputLoss(nn.Module):
    """``loss`` summed over every output of a deeply supervised network (HED).

    ``y_pred`` is one logits tensor or a list of them (side outputs and the
    fused output), each scored against the same target.
    """

    def __init__(self, loss):
        super().__init__()
        self.loss = loss

    def forward(self, y_pred, y_true):
        y_true = y_true.long()
        if torch.is_tensor(y_pred):
            return self.loss(y_pred, y_true)
        return sum(self.loss(out, y_true) for out in y_pred)


def set_bias(layer, values):
    """Copy ``values`` into the bias of ``layer`` (a linear layer or a 1 x 1 convolution)."""
    with torch.no_grad():
        layer.bias.copy_(torch.as_tensor(values, dtype=torch.float32))


def init_conv3d(module, method="glorot", *, generator=None):
    """Initialise the 3-D convolutions of ``module`` as :func:`init_weights` does the others."""
    with torch.no_grad():
        for layer in module.modules():
            if not isinstance(layer, nn.Conv3d):
                continue
            weight = layer.weight
            fan_in = weight[0].numel()
            fan_out = weight.shape[0] * weight[0, 0].numel()
            if method == "glorot":
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                weight.uniform_(-bound, bound, generator=generator)
            else:
                weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
            if layer.bias is not None:
                layer.bias.zero_()
    return module


def conv_block(in_channels, out_channels, kernel_size=3, *, attention=None, pool=None,
               dims=2):
    """Convolution, batch norm, ReLU and an optional attention block."""
    conv = nn.Conv2d if dims == 2 else nn.Conv3d
    norm = nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d
    layers = [conv(in_channels, out_channels, kernel_size, padding=_same(kernel_size)),
              norm(out_channels), nn.ReLU()]
    if attention is not None:
        layers.append(make_attention(attention, out_channels, pool=pool))
    return nn.Sequential(*layers)


def _same(kernel_size):
    if isinstance(kernel_size, int):
        return kernel_size // 2
    return tuple(k // 2 for k in kernel_size)


class PatchCNN(nn.Module):
    """Class logits ``(n, K)`` from windows ``(n, k, k, C)`` centred on the pixels.

    Parameters
    ----------
    n_bands, n_classes : int
    patch_size : int
        Odd window side ``k``.
    hidden : int
        Channels of the spatial blocks.
    n_layers : int
        3 x 3 convolution blocks after the spectral embedding.
    conv3d : bool
        Embed the spectrum with two 3-D convolutions (kernels 7 x 3 x 3 and
        5 x 3 x 3 over bands x rows x columns, each halving the bands; the
        band depth of a kernel is at most the bands it sees) instead of a
        1 x 1 convolution.
    attention : {None, "se", "eca", "cbam"}
        A block after each spatial convolution, pooling over the window.
    dropout : float
        Before every spatial block and before the output layer.
    augment : bool
        In training, flip and rotate the windows by multiples of 90 degrees at
        random (a window's label is its centre's, which they do not move).
    gradient_checkpointing : bool
        Checkpoint the convolution blocks in training.
    jitter : dict
        ``noise``, ``brightness``, ``band_dropout`` of :class:`SpectralInput`.
    seed : int
        Seeds dropout and jitter.
    """

    def __init__(self, n_bands, n_classes, *, patch_size=9, hidden=64, n_layers=2,
                 conv3d=False, attention=None, dropout=0.0, augment=False,
                 gradient_checkpointing=False, jitter=None, seed=0):
        super().__init__()
        if patch_size % 2 == 0:
            raise ValueError(f"patch_size must be odd; got {patch_size}.")
        self.input = SpectralInput(n_bands, seed=seed, **(jitter or {}))
        self.patch_size = int(patch_size)
        self.conv3d = bool(conv3d)
        if self.conv3d:
            blocks, reduced = [], n_bands
            for channels, depth in ((8, 7), (16, 5)):
                depth = min(depth, reduced - (reduced + 1) % 2)  # odd, at most the bands
                blocks.append(_Conv3dBlock(blocks[-1][0].out_channels if blocks else 1,
                                           channels, (depth, 3, 3)))
                reduced = (reduced + 1) // 2
            self.spectral = nn.ModuleList(blocks)
            self.embed = conv_block(16 * reduced, hidden, 1)
        else:
            self.spectral = nn.ModuleList()
            self.embed = conv_block(n_bands, hidden, 1)
        self.blocks = nn.ModuleList(
            conv_block(hidden, hidden, 3, attention=attention) for _ in range(n_layers))
        self.dropouts = nn.ModuleList(
            SeededDropout(dropout, seed + 1 + i) for i in range(n_layers + 1))
        self.output = nn.Linear(2 * hidden, n_classes)
        self.gradient_checkpointing = bool(gradient_checkpointing)
        self.augment = bool(augment)

    def set_statistics(self, mean, std):
        self.input.set_statistics(mean, std)

    def set_prior(self, log_prior):
        """Output bias = log class frequencies: the untrained network predicts the prior."""
        set_bias(self.output, log_prior)

    def objective_inputs(self, x):
        """The logits of training: windows flipped and rotated at random with ``augment``."""
        if self.augment and self.training:
            (x,) = _as_tuple(flip_rotate(x.permute(0, 3, 1, 2),
                                         generator=self.input._generator(x.device)))
            x = x.permute(0, 2, 3, 1)
        return self.forward(x)

    def forward(self, x):  # (n, k, k, C)
        z = self.input(x).permute(0, 3, 1, 2)  # (n, C, k, k)
        if self.conv3d:
            z = z[:, None]  # (n, 1, C, k, k)
            for block in self.spectral:
                z = run_block(block, z, self.gradient_checkpointing)
            z = z.flatten(1, 2)  # (n, 16 C', k, k)
        z = run_block(self.embed, z, self.gradient_checkpointing)
        for dropout, block in zip(self.dropouts, self.blocks):
            z = run_block(block, dropout(z), self.gradient_checkpointing)
        centre = self.patch_size // 2
        features = torch.cat([z[:, :, centre, centre], z.mean(dim=(2, 3))], dim=1)
        return self.output(self.dropouts[-1](features))


def _as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class _Conv3dBlock(nn.Sequential):
    """3-D convolution over (bands, rows, columns) halving the bands, batch norm, ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__(
            nn.Conv3d(in_channels, out_channels, kernel_size, stride=(2, 1, 1),
                      padding=_same(kernel_size)),
            nn.BatchNorm3d(out_channels), nn.ReLU())
