"""Contrastive pretraining in plain torch: the NT-Xent loss, augmented views, a transformer.

SimCLR (Chen et al., "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020) pulls two augmented views of a sample together
and pushes the other samples of the batch away. ``SpectralTransformer`` is the
encoder (band groups or the pixels of a window as tokens), ``ContrastiveViews``
draws the views (band sampling, smoothing, brightness, noise, band dropout;
crops, flips and quarter turns for windows) and ``SimCLRObjective`` puts a
projection head behind the encoder for training; the head is dropped after.
Every random draw comes from generators the modules hold.
"""

import math
import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from ._augment import flip_rotate, spectral_jitter
from ._layers import init_weights
from ._runtime import global_rng_untouched

__all__ = [
    "ContrastiveViews",
    "NTXentLoss",
    "SimCLRObjective",
    "SpectralTransformer",
    "interpolation_matrix",
    "nt_xent",
]


def nt_xent(z1, z2, temperature=0.1):
    """NT-Xent loss of two batches of views; row ``i`` of ``z1`` and of ``z2`` are a pair.

    With ``z = [z1; z2]`` L2-normalised and ``s_ij = z_i . z_j / temperature``,
    the loss is the mean over the ``2N`` rows ``i`` of
    ``-log(exp(s_ip) / sum_{k != i} exp(s_ik))``, ``p`` being ``i``'s pair.
    A batch of one pair has no negatives and a loss of 0.

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(4)
    >>> bool(nt_xent(z, z, 0.1) < nt_xent(z, z.roll(1, 0), 0.1))
    True
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"nt_xent expects two (N, D) batches of the same shape; got "
                         f"{tuple(z1.shape)} and {tuple(z2.shape)}.")
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T) / temperature
    self_pairs = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pairs, float("-inf"))
    pairs = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, pairs)


class NTXentLoss(nn.Module):
    """:func:`nt_xent` as a criterion of the two projected views; the target is ignored."""

    def __init__(self, temperature=0.1):
        super().__init__()
        self.temperature = float(temperature)

    def forward(self, y_pred, y_true=None):
        return nt_xent(y_pred[0], y_pred[1], self.temperature)


def interpolation_matrix(kept, positions):
    """``(C, C)`` matrix ``M`` with ``x @ M.T`` = ``x`` linearly interpolated from the ``kept`` bands.

    Kept bands pass unchanged; every other band is interpolated between its
    nearest kept neighbours at ``positions`` (wavelengths or band indices), and
    held constant beyond the first and last kept band (``numpy.interp``).
    """
    positions = np.asarray(positions, dtype=np.float64)
    kept = np.sort(np.asarray(kept, dtype=np.intp))
    matrix = np.zeros((len(positions), len(positions)))
    for i, band in enumerate(kept):
        matrix[:, band] = np.interp(positions, positions[kept], np.eye(len(kept))[i])
    return matrix


class _Block(nn.Module):
    """Pre-norm transformer block: self-attention, then a GELU MLP, each residual."""

    def __init__(self, dim, n_heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, n_heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attention(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class SpectralTransformer(nn.Module):
    """Transformer encoder of spectra ``(..., C)`` or windows ``(n, k, k, C)`` -> ``(..., K)``.

    Input is standardised per band with buffers set by ``set_statistics``.
    Spectra are cut into tokens of ``band_group`` adjacent bands (the last
    padded with zeros), windows into one token per pixel; a learned class
    token and positional embeddings are added, and the class token's output,
    layer-normalised and projected, is the feature vector.

    Parameters
    ----------
    n_bands, n_components : int
    patch_size : int or None
        ``None``: spectra; an odd ``k``: ``k x k`` windows.
    band_group : int
        Bands per token (spectra only).
    dim, n_layers, n_heads : int
        Token width, blocks, attention heads.
    gradient_checkpointing : bool
        Recompute each block's activations in the backward pass instead of
        storing them (training only; inference stores nothing anyway).
    generator : torch.Generator or None
        Seeds the weights (Glorot, embeddings N(0, 0.02)); ``None`` leaves
        them for a state dict to fill.
    """

    def __init__(self, n_bands, n_components, *, patch_size=None, band_group=8, dim=64,
                 n_layers=2, n_heads=4, gradient_checkpointing=False, generator=None):
        super().__init__()
        self.n_bands, self.patch_size = int(n_bands), patch_size
        self.band_group = int(band_group)
        self.gradient_checkpointing = bool(gradient_checkpointing)
        if patch_size is None:
            n_tokens = -(-self.n_bands // self.band_group)
            self.embed = nn.Linear(self.band_group, dim)
        else:
            n_tokens = int(patch_size) ** 2
            self.embed = nn.Linear(self.n_bands, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.position = nn.Parameter(torch.zeros(1, n_tokens + 1, dim))
        self.blocks = nn.ModuleList(_Block(dim, n_heads) for _ in range(n_layers))
        self.norm = nn.LayerNorm(dim)
        self.output = nn.Linear(dim, n_components)
        self.register_buffer("mean", torch.zeros(self.n_bands))
        self.register_buffer("scale", torch.ones(self.n_bands))
        if generator is not None:
            init_weights(self, "glorot", generator=generator)
            with torch.no_grad():
                for block in self.blocks:
                    nn.init.xavier_uniform_(block.attention.in_proj_weight, generator=generator)
                    block.attention.in_proj_bias.zero_()
                self.cls.normal_(0.0, 0.02, generator=generator)
                self.position.normal_(0.0, 0.02, generator=generator)

    @torch.no_grad()
    def set_statistics(self, mean, scale):
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.scale.copy_(torch.as_tensor(scale, dtype=torch.float32))

    def standardize(self, x):
        return (x - self.mean) / self.scale

    def forward(self, x):
        return self.encode(self.standardize(x))

    def encode(self, z):
        """Features of standardised input ``z``."""
        if self.patch_size is None:
            lead = z.shape[:-1]
            z = z.reshape(-1, self.n_bands)
            pad = -self.n_bands % self.band_group
            tokens = F.pad(z, (0, pad)).reshape(z.shape[0], -1, self.band_group)
        else:
            lead = z.shape[:-3]
            tokens = z.reshape(-1, self.patch_size ** 2, self.n_bands)
        h = self.embed(tokens)
        h = torch.cat([self.cls.expand(h.shape[0], -1, -1), h], dim=1) + self.position
        for block in self.blocks:
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                h = checkpoint(block, h, use_reentrant=False)
            else:
                h = block(h)
        out = self.output(self.norm(h[:, 0]))
        return out.reshape(tuple(lead) + (out.shape[-1],))


class ContrastiveViews(nn.Module):
    """Random views of a raw batch, returned standardised by the encoder's ``standardize``.

    In order: for windows ``(n, k, k, C)`` a random crop that keeps the
    centre pixel, resized back to ``k x k`` (its side at least ``min_crop``
    of ``k``), then the same random flips and quarter turns as
    :func:`~skhsi.nn.flip_rotate`; band sampling (the bands of
    ``band_matrices[schedule[epoch]]`` kept, the others interpolated), for
    each sample with probability ``sample_probability``; a Gaussian
    smoothing along the bands with a width drawn uniformly from
    ``[0, smoothing]`` bands; a brightness factor in ``[1 - b, 1 + b]``;
    then, in standardised units, Gaussian ``noise`` and ``band_dropout``
    (a dropped band is set to its mean). Band sampling, smoothing and
    brightness act on the raw spectra, as a sensor and the illumination do.

    Parameters
    ----------
    band_matrices : ndarray of shape (S, C, C) or None
        Interpolation matrices (:func:`interpolation_matrix`), one per band count.
    schedule : sequence of int or None
        Index into ``band_matrices`` for every epoch (the last holds after it).
    """

    def __init__(self, *, noise=0.0, brightness=0.0, band_dropout=0.0, smoothing=0.0,
                 band_matrices=None, schedule=None, sample_probability=0.5,
                 patch_size=None, min_crop=1.0, seed=0):
        super().__init__()
        self.noise, self.brightness = float(noise), float(brightness)
        self.band_dropout, self.smoothing = float(band_dropout), float(smoothing)
        self.patch_size, self.min_crop = patch_size, float(min_crop)
        self.sample_probability = float(sample_probability)
        self.schedule = None if schedule is None else [int(s) for s in schedule]
        matrices = np.zeros((0, 0, 0)) if band_matrices is None else band_matrices
        self.register_buffer("band_matrices", torch.as_tensor(matrices, dtype=torch.float32))
        self.seed, self.epoch, self._generator = int(seed), 0, None

    def set_epoch(self, epoch, max_epochs):
        self.epoch = int(epoch)

    @property
    def generator(self):
        if self._generator is None:
            self._generator = torch.Generator().manual_seed(self.seed)
        return self._generator

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generator"] = None
        return state

    def _uniform(self, *shape, device):
        return torch.rand(shape, generator=self.generator).to(device)

    def forward(self, x, standardize):
        if self.patch_size is not None:
            x = self._spatial(x)
        if self.schedule:
            x = self._sample_bands(x)
        if self.smoothing > 0:
            x = self._smooth(x)
        x = spectral_jitter(x, brightness=self.brightness, channel_dim=-1,
                            generator=self.generator)
        return spectral_jitter(standardize(x), noise=self.noise, band_dropout=self.band_dropout,
                               channel_dim=-1, generator=self.generator)

    def _spatial(self, x):
        n, k = x.shape[0], x.shape[1]
        images = x.permute(0, 3, 1, 2)  # (n, C, k, k)
        if self.min_crop < 1.0:
            low = max(1, math.ceil(self.min_crop * k))
            side = low + torch.floor(self._uniform(n, device="cpu") * (k - low + 1)).clamp(
                max=k - low)
            centre = k // 2
            first = torch.clamp(centre - side + 1, min=0)
            last = torch.minimum(torch.full_like(side, centre), k - side)
            offsets = torch.floor(first + self._uniform(2, n, device="cpu") * (last - first + 1))
            offsets = torch.minimum(offsets, last)
            scale = side / k
            shift = (offsets + side / 2) * 2 / k - 1  # crop centres, normalised (rows, cols)
            theta = torch.zeros(n, 2, 3)
            theta[:, 0, 0] = scale
            theta[:, 1, 1] = scale
            theta[:, 0, 2] = shift[1]
            theta[:, 1, 2] = shift[0]
            grid = F.affine_grid(theta.to(x.device, x.dtype), list(images.shape),
                                 align_corners=False)
            images = F.grid_sample(images, grid, mode="bilinear", padding_mode="border",
                                   align_corners=False)
        images = flip_rotate(images, generator=self.generator)
        return images.permute(0, 2, 3, 1)

    def _sample_bands(self, x):
        index = self.schedule[min(self.epoch, len(self.schedule) - 1)]
        if index < 0:  # every band kept
            return x
        sampled = x @ self.band_matrices[index].T
        chosen = self._uniform(x.shape[0], device=x.device) < self.sample_probability
        return torch.where(chosen.reshape((-1,) + (1,) * (x.ndim - 1)), sampled, x)

    def _smooth(self, x):
        n, c = x.shape[0], x.shape[-1]
        radius = min(math.ceil(3 * self.smoothing), c - 1)
        if radius < 1:
            return x
        sigma = (self._uniform(n, device=x.device) * self.smoothing).clamp_min(1e-3)
        offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
        weights = torch.exp(-offsets ** 2 / (2 * sigma[:, None] ** 2))
        weights = weights / weights.sum(dim=1, keepdim=True)
        flat = F.pad(x.reshape(n, -1, c), (radius, radius), mode="reflect")
        windows = flat.unfold(-1, 2 * radius + 1, 1)  # (n, P, C, 2r + 1)
        return (windows * weights[:, None, None, :]).sum(-1).reshape(x.shape)


class SimCLRObjective(nn.Module):
    """Encoder + views + projection head: ``objective_inputs`` gives the projected view pairs.

    ``forward`` is the encoder's. With ``compile=True`` the encoder's
    ``encode`` runs through :func:`torch.compile`; where compiling is not
    supported (no dynamo on this platform, no compiler for the backend) it
    warns once and runs uncompiled.
    """

    def __init__(self, encoder, views, projection_dim, *, compile=False, generator=None):
        super().__init__()
        self.encoder, self.views = encoder, views
        width, hidden = encoder.output.out_features, encoder.output.in_features
        with global_rng_untouched():
            self.projection = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(),
                                            nn.Linear(hidden, int(projection_dim)))
        init_weights(self.projection, "glorot", generator=generator)
        self.compile = bool(compile)
        self._compiled = None

    def forward(self, x):
        return self.encoder(x)

    def objective_inputs(self, x):
        encode = self._encode_function()
        z1 = self.views(x, self.encoder.standardize)
        z2 = self.views(x, self.encoder.standardize)
        return self.projection(encode(z1)), self.projection(encode(z2))

    def _encode_function(self):
        if not self.compile:
            return self.encoder.encode
        if self._compiled is None:
            self._compiled = _compiled_or_eager(self.encoder.encode)
        return self._compiled

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_compiled"] = None
        return state


def _compiled_or_eager(function):
    """``torch.compile(function)``, or ``function`` with a warning where that fails."""
    reason = None
    if not torch._dynamo.is_dynamo_supported():
        reason = "torch.compile is not supported on this platform"
    else:
        compiled = torch.compile(function)

        def run(z):
            nonlocal compiled
            if compiled is function:
                return function(z)
            try:
                return compiled(z)
            except Exception as exc:  # backend missing (no C++ compiler, old GPU, ...)
                warnings.warn(f"compile=True: torch.compile failed ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}); training "
                              "runs uncompiled.", RuntimeWarning, stacklevel=2)
                compiled = function
                return function(z)

        return run
    warnings.warn(f"compile=True: {reason}; training runs uncompiled.", RuntimeWarning,
                  stacklevel=3)
    return function
