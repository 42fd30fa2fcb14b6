"""Reconstruction networks for anomaly detection: autoencoders and VAEs, spectral and spatial.

Every network takes channels-last input, standardises it per band with
buffers set in phase 1, and returns from ``forward`` one anomaly score per
pixel (``(n,)`` for spectra ``(n, C)``, ``(N, H, W)`` for images
``(N, H, W, C)``). ``objective_inputs`` returns what
:class:`ReconstructionLoss` trains on: ``(reconstruction, target, kl)`` in
standardised units, ``kl`` being ``None`` for a plain autoencoder.

- :class:`SpectralAutoencoder`: dense encoder and decoder over the bands of
  one pixel.
- :class:`ConvAutoencoder`: 2-D convolutions with batch norm, LeakyReLU and
  max pooling down, bilinear or transposed-convolution upsampling back.
- :class:`BlindSpotAutoencoder`: reconstructs each pixel from the ring of
  its neighbours only (a masked first convolution, then 1 x 1 layers), so it
  cannot copy an anomaly through.

With ``variational=True`` the encoder gives a mean and a log-variance, the
latent code is drawn by reparameterisation in training (the mean at
inference), and the loss adds ``beta`` times the KL divergence to N(0, I).
"""

import torch
from torch import nn
from torch.nn import functional as F

from ._layers import MaskedConv2d, SeededDropout, make_attention, pad_to_multiple

__all__ = [
    "BlindSpotAutoencoder",
    "ConvAutoencoder",
    "ReconstructionLoss",
    "SpectralAutoencoder",
    "score_from",
]

SCORES = ("reconstruction", "latent", "both")
#: Side of the local window over which the convolutional networks' attention
#: blocks pool their channel statistics (global pooling would make a tile's
#: output depend on the whole tile).
ATTENTION_WINDOW = 7


def score_from(error, kl, score, beta):
    """Per-pixel anomaly score: reconstruction error, KL term, or error + beta KL."""
    if score == "reconstruction" or kl is None:
        return error
    if score == "latent":
        return kl
    return error + beta * kl


class _Standardized(nn.Module):
    """Per-band mean/std buffers (phase 1) and the VAE bookkeeping shared by the nets."""

    def __init__(self, n_bands, *, variational, beta, score, seed):
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}; got {score!r}.")
        self.register_buffer("mean", torch.zeros(n_bands))
        self.register_buffer("std", torch.ones(n_bands))
        self.variational = bool(variational)
        self.beta = float(beta)
        self.score = score
        self.seed = int(seed)
        self._generators = {}

    def set_statistics(self, mean, std):
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-8))

    def standardize(self, x):
        return (x - self.mean) / self.std

    def sample(self, mu, logvar):
        """``mu`` at inference; ``mu + sigma * eps`` in training, from the module's generator."""
        if not self.training:
            return mu
        generator = self._generators.get(mu.device)
        if generator is None:
            generator = torch.Generator(device=mu.device).manual_seed(self.seed)
            self._generators[mu.device] = generator
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def start_at_unit_variance(self):
        """Zero the log-variance half of the latent layer (VAE only).

        Every code then starts at ``sigma = 1`` and the first KL terms are
        ``mu^2 / 2``. A randomly initialised log-variance can start in the
        tens, its exponential in the KL term then dwarfs the reconstruction
        error, and the first steps collapse the code to the mean: the network
        then scores every pixel by its distance to the mean spectrum.
        """
        if self.variational:
            with torch.no_grad():
                self.to_latent.weight[self.latent_dim:] = 0
                self.to_latent.bias[self.latent_dim:] = 0
        return self

    @staticmethod
    def kl(mu, logvar, dim):
        """KL(N(mu, sigma^2) || N(0, 1)) summed over the latent dimension ``dim``."""
        return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=dim)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_generators"] = {}
        return state


class SpectralAutoencoder(_Standardized):
    """Dense autoencoder of spectra: ``C -> hidden (x n_layers) -> latent -> ... -> C``.

    Parameters
    ----------
    n_bands : int
    hidden : int
        Width of the hidden layers.
    n_layers : int
        Hidden layers on each side (0: a linear autoencoder, PCA-like).
    latent_dim : int
    variational : bool
    beta : float
        Weight of the KL term (VAE only).
    score : {"reconstruction", "latent", "both"}
    dropout : float
    attention : {None, "se", "eca", "cbam"}
        A gate over the first hidden layer's features.
    negative_slope : float
        Of the LeakyReLU activations.
    seed : int
        Seeds dropout and the reparameterisation noise.
    """

    def __init__(self, n_bands, *, hidden=64, n_layers=1, latent_dim=8, variational=False,
                 beta=1.0, score="reconstruction", dropout=0.0, attention=None,
                 negative_slope=0.01, seed=0):
        super().__init__(n_bands, variational=variational, beta=beta, score=score, seed=seed)
        widths = [n_bands] + [hidden] * n_layers
        encoder = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            encoder += [nn.Linear(a, b), nn.LeakyReLU(negative_slope)]
            if i == 0 and attention is not None:
                encoder.append(_VectorAttention(make_attention(attention, b)))
            encoder.append(SeededDropout(dropout, seed + 1 + i))
        self.encoder = nn.Sequential(*encoder)
        self.to_latent = nn.Linear(widths[-1], latent_dim * (2 if variational else 1))
        decoder = [nn.Linear(latent_dim, widths[-1])]
        for a, b in zip(widths[:0:-1], widths[-2::-1]):
            decoder += [nn.LeakyReLU(negative_slope), nn.Linear(a, b)]
        self.decoder = nn.Sequential(*decoder)
        self.latent_dim = latent_dim

    def _encode(self, x):
        code = self.to_latent(self.encoder(self.standardize(x)))
        if self.variational:
            return code[..., :self.latent_dim], code[..., self.latent_dim:]
        return code, None

    def objective_inputs(self, x):
        target = self.standardize(x)
        mu, logvar = self._encode(x)
        z = mu if logvar is None else self.sample(mu, logvar)
        kl = None if logvar is None else self.kl(mu, logvar, dim=-1)
        return self.decoder(z), target, kl

    def forward(self, x):
        recon, target, kl = self.objective_inputs(x)
        error = (recon - target).pow(2).mean(dim=-1)
        return score_from(error, kl, self.score, self.beta)

    def set_pca(self, components):
        """Start a linear path as PCA: first layer rows and last layer columns = components.

        ``components`` (k, C) are principal axes of the standardised data; the
        first ``k`` units of the first encoder layer and the last decoder layer
        take them (transposed), the rest keep their random initialisation.
        """
        first = self.encoder[0] if len(self.encoder) else self.to_latent
        last = self.decoder[-1]
        comps = torch.as_tensor(components, dtype=torch.float32)
        k = min(comps.shape[0], first.weight.shape[0], last.weight.shape[1])
        with torch.no_grad():
            first.weight[:k] = comps[:k]
            last.weight[:, :k] = comps[:k].T


class _VectorAttention(nn.Module):
    """An image attention block applied to feature vectors (as 1 x 1 images)."""

    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        shape = x.shape
        out = self.block(x.reshape(-1, shape[-1], 1, 1))
        return out.reshape(shape)


def _channels_first(x):
    return x.permute(0, 3, 1, 2)


def _channels_last(x):
    return x.permute(0, 2, 3, 1)


class ConvAutoencoder(_Standardized):
    """Convolutional autoencoder of images ``(N, H, W, C)``.

    ``n_levels`` times: 3 x 3 convolution, batch norm, LeakyReLU, optional
    attention, dropout, 2 x 2 max pooling; a 1 x 1 convolution to the latent
    channels (twice as many for a VAE); then the mirror image with bilinear
    or transposed-convolution upsampling. Inputs whose height or width is not
    a multiple of ``2 ** n_levels`` are reflect-padded and the output cropped.

    ``size_multiple`` is ``2 ** n_levels`` and ``receptive_radius`` bounds how
    far a pixel's score reaches; tiled inference aligns tiles to the first and
    gives each a halo of at least the second.
    """

    def __init__(self, n_bands, *, hidden=32, n_levels=2, latent_dim=8, variational=False,
                 beta=1.0, score="reconstruction", dropout=0.0, attention=None,
                 upsampling="bilinear", negative_slope=0.01, seed=0):
        super().__init__(n_bands, variational=variational, beta=beta, score=score, seed=seed)
        if upsampling not in ("bilinear", "transposed"):
            raise ValueError(f"upsampling must be 'bilinear' or 'transposed'; got {upsampling!r}.")
        channels = [n_bands] + [hidden] * n_levels
        down = []
        for i, (a, b) in enumerate(zip(channels[:-1], channels[1:])):
            down.append(nn.Sequential(
                nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.LeakyReLU(negative_slope),
                make_attention(attention, b, pool=ATTENTION_WINDOW),
                SeededDropout(dropout, seed + 1 + i),
                nn.MaxPool2d(2)))
        self.down = nn.ModuleList(down)
        self.to_latent = nn.Conv2d(channels[-1], latent_dim * (2 if variational else 1), 1)
        self.from_latent = nn.Conv2d(latent_dim, channels[-1], 1)
        up = []
        pairs = list(zip(channels[:0:-1], channels[-2::-1]))
        for i, (a, b) in enumerate(pairs):
            if upsampling == "bilinear":
                scale = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            else:
                scale = nn.ConvTranspose2d(a, a, 2, stride=2)
            block = [scale, nn.Conv2d(a, b, 3, padding=1)]
            if i < len(pairs) - 1:  # the last layer outputs standardised bands
                block += [nn.BatchNorm2d(b), nn.LeakyReLU(negative_slope)]
            up.append(nn.Sequential(*block))
        self.up = nn.ModuleList(up)
        self.latent_dim = latent_dim
        self.n_levels = n_levels
        self.size_multiple = 2 ** n_levels
        # How far a pixel's output reaches, level by level at scale s = 2 ** l:
        # the encoder's 3 x 3 convolution (s) and 2 x 2 pooling (s), an
        # attention block's 7 x 7 window (3 s, and 3 s more for CBAM's spatial
        # map), the decoder's upsampling (2 s: one coarse pixel) and 3 x 3
        # convolution (s).
        attention_reach = {None: 0, "se": 3, "eca": 3, "cbam": 6}[attention]
        self.receptive_radius = sum((5 + attention_reach) * 2 ** level
                                    for level in range(n_levels))

    def objective_inputs(self, x):
        target = self.standardize(x)
        z, h, w = pad_to_multiple(_channels_first(target), self.size_multiple)
        for block in self.down:
            z = block(z)
        code = self.to_latent(z)
        if self.variational:
            mu, logvar = code[:, :self.latent_dim], code[:, self.latent_dim:]
            z = self.sample(mu, logvar)
            kl = self.kl(mu, logvar, dim=1)  # (N, h, w) at the latent resolution
            kl = F.interpolate(kl[:, None], scale_factor=self.size_multiple,
                               mode="nearest")[:, 0, :h, :w]
        else:
            z, kl = code, None
        z = self.from_latent(z)
        for block in self.up:
            z = block(z)
        recon = _channels_last(z[:, :, :h, :w])
        return recon, target, kl

    def forward(self, x):
        recon, target, kl = self.objective_inputs(x)
        error = (recon - target).pow(2).mean(dim=-1)
        return score_from(error, kl, self.score, self.beta)


class BlindSpotAutoencoder(_Standardized):
    """Reconstructs each pixel of ``(N, H, W, C)`` from its neighbours, never from itself.

    A :class:`~skhsi.nn._layers.MaskedConv2d` over a ``window x window``
    neighbourhood with the centre ``(2 guard + 1)`` square hidden, then
    ``n_layers`` 1 x 1 convolutions with batch norm and LeakyReLU (a code of
    ``latent_dim`` channels in the middle) and a 1 x 1 convolution back to the
    bands. Since no later layer looks sideways, the reconstruction of a pixel
    depends only on the ring around its guard window: an anomaly cannot be
    copied to its own output, and the reconstruction error measures how far
    the pixel departs from what its surroundings predict.
    """

    def __init__(self, n_bands, *, hidden=64, n_layers=1, latent_dim=8, window=7, guard=1,
                 variational=False, beta=1.0, score="reconstruction", dropout=0.0,
                 attention=None, negative_slope=0.01, seed=0):
        super().__init__(n_bands, variational=variational, beta=beta, score=score, seed=seed)
        if attention == "cbam":
            raise ValueError("attention='cbam' looks sideways and would see the hidden "
                             "centre; use 'se' or 'eca' with the blind spot.")
        layers = [MaskedConv2d(n_bands, hidden, window, guard), nn.BatchNorm2d(hidden),
                  nn.LeakyReLU(negative_slope), _PixelAttention(attention, hidden)]
        for i in range(n_layers):
            layers += [SeededDropout(dropout, seed + 1 + i), nn.Conv2d(hidden, hidden, 1),
                       nn.BatchNorm2d(hidden), nn.LeakyReLU(negative_slope)]
        self.encoder = nn.Sequential(*layers)
        self.to_latent = nn.Conv2d(hidden, latent_dim * (2 if variational else 1), 1)
        self.decoder = nn.Sequential(nn.Conv2d(latent_dim, hidden, 1),
                                     nn.LeakyReLU(negative_slope), nn.Conv2d(hidden, n_bands, 1))
        self.latent_dim = latent_dim
        self.size_multiple = 1
        self.receptive_radius = window // 2

    def objective_inputs(self, x):
        target = self.standardize(x)
        code = self.to_latent(self.encoder(_channels_first(target)))
        if self.variational:
            mu, logvar = code[:, :self.latent_dim], code[:, self.latent_dim:]
            z, kl = self.sample(mu, logvar), self.kl(mu, logvar, dim=1)
        else:
            z, kl = code, None
        return _channels_last(self.decoder(z)), target, kl

    def forward(self, x):
        recon, target, kl = self.objective_inputs(x)
        error = (recon - target).pow(2).mean(dim=-1)
        return score_from(error, kl, self.score, self.beta)


class _PixelAttention(nn.Module):
    """SE or ECA over channels, with the statistics of each pixel alone.

    Global pooling would let the hidden centre of one pixel reach another's
    output; the gates are therefore computed per pixel (as for 1 x 1 images).
    """

    def __init__(self, name, channels):
        super().__init__()
        self.block = None if name is None else make_attention(name, channels)

    def forward(self, x):  # (N, C, H, W)
        if self.block is None:
            return x
        n, c, h, w = x.shape
        flat = x.permute(0, 2, 3, 1).reshape(-1, c, 1, 1)
        return self.block(flat).reshape(n, h, w, c).permute(0, 3, 1, 2)


class ReconstructionLoss(nn.Module):
    """Mean squared reconstruction error, plus ``beta`` times the KL per band for a VAE.

    The KL term of each pixel (summed over the latent code) is divided by the
    number of bands, so that ``beta`` weighs it against the per-band squared
    error whatever the band count.

    Takes ``(reconstruction, target, kl)`` from ``objective_inputs``; the second
    argument of ``forward`` (skorch's ``y``) is ignored.
    """

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = float(beta)

    def forward(self, y_pred, y_true=None):
        recon, target, kl = y_pred
        loss = (recon - target).pow(2).mean()
        if kl is not None:
            loss = loss + self.beta * kl.mean() / target.shape[-1]
        return loss

