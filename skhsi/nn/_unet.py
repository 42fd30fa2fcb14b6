"""A U-Net segmenter of hyperspectral images, and its labelled training tiles.

:class:`UNet` maps images ``(N, H, W, C)`` (channels last) to per-pixel class
logits ``(N, H, W, K)``: per-band standardisation (phase 1 buffers), an
encoder of ``n_levels`` levels (two 3 x 3 convolutions with batch norm and
ReLU, after a 1 x 1 spectral embedding at the first level; an optional
attention block, dropout, 2 x 2 max pooling), a bottleneck,
and a decoder that upsamples (bilinear, or a transposed convolution),
concatenates the encoder's features of the same scale (the skip connections)
and convolves twice. With deep supervision every decoder scale also gives
side logits (a 1 x 1 convolution), upsampled bilinearly to the input size and
fused by a 1 x 1 convolution over all of them (HED, Xie and Tu 2015);
``objective_inputs`` then returns the side outputs and the fused one, and
``forward`` the fused one.

``receptive_radius`` bounds how far an output pixel reaches and
``size_multiple`` (``2 ** n_levels``) is the pooling grid: tiled inference
with that halo, on tiles aligned to that grid, equals whole-image inference.

:class:`LabelledTiles` draws training tiles that each hold at least one
labelled pixel, with their label maps, flipped and rotated together.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._augment import flip_rotate
from ._layers import SeededDropout, make_attention, pad_to_multiple
from ._patch_classifier import SpectralInput, run_block, set_bias
from ._tiles import ImageTiles

__all__ = ["LabelledTiles", "UNet"]

#: Side of the local window over which attention blocks pool (global pooling
#: would make a tile's output depend on the tile).
ATTENTION_WINDOW = 7
_ATTENTION_REACH = {None: 0, "se": 3, "eca": 3, "cbam": 6}


def _double_conv(in_channels, out_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels),
        nn.ReLU())


class _Up(nn.Module):
    """Upsample by 2 to ``out_channels``, concatenate the skip, convolve twice."""

    def __init__(self, in_channels, out_channels, upsampling):
        super().__init__()
        if upsampling == "bilinear":
            self.scale = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, out_channels, 1))
        else:
            self.scale = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.conv = _double_conv(2 * out_channels, out_channels)

    def forward(self, x, skip):
        return self.conv(torch.cat([self.scale(x), skip], dim=1))


class UNet(nn.Module):
    """U-Net from images ``(N, H, W, C)`` to class logits ``(N, H, W, K)``.

    Parameters
    ----------
    n_bands, n_classes : int
    hidden : int
        Channels of the first level; each level down doubles them.
    n_levels : int
        Pooling steps (at least 1).
    upsampling : {"bilinear", "transposed"}
    deep_supervision : bool
        Side outputs at every decoder scale, fused by a 1 x 1 convolution.
    attention : {None, "se", "eca", "cbam"}
        A block after each encoder level, pooling over a 7 x 7 window.
    dropout : float
        Before every encoder level below the first and the bottleneck, and on the
        decoder features that the output layers read.
    gradient_checkpointing : bool
        Checkpoint the encoder blocks (and the bottleneck) in training.
    jitter : dict
        ``noise``, ``brightness``, ``band_dropout`` of
        :class:`~skhsi.nn._patch_classifier.SpectralInput`.
    seed : int
        Seeds dropout and jitter.
    """

    def __init__(self, n_bands, n_classes, *, hidden=32, n_levels=2, upsampling="bilinear",
                 deep_supervision=False, attention=None, dropout=0.0,
                 gradient_checkpointing=False, jitter=None, seed=0):
        super().__init__()
        if upsampling not in ("bilinear", "transposed"):
            raise ValueError(f"upsampling must be 'bilinear' or 'transposed'; got {upsampling!r}.")
        if n_levels < 1:
            raise ValueError(f"n_levels must be at least 1; got {n_levels}.")
        self.input = SpectralInput(n_bands, seed=seed, **(jitter or {}))
        widths = [hidden * 2 ** level for level in range(n_levels + 1)]
        self.encoder = nn.ModuleList()
        for level in range(n_levels):
            if level == 0:  # a 1 x 1 spectral embedding first: cheap for many bands
                block = nn.Sequential(nn.Conv2d(n_bands, widths[0], 1), nn.BatchNorm2d(widths[0]),
                                      nn.ReLU(), *_double_conv(widths[0], widths[0]))
            else:
                block = _double_conv(widths[level - 1], widths[level])
            if attention is not None:
                block.append(make_attention(attention, widths[level], pool=ATTENTION_WINDOW))
            self.encoder.append(block)
        self.bottleneck = _double_conv(widths[-2], widths[-1])
        self.dropouts = nn.ModuleList(
            SeededDropout(dropout, seed + 1 + i) for i in range(n_levels + 1))
        self.decoder = nn.ModuleList(
            _Up(widths[level + 1], widths[level], upsampling)
            for level in reversed(range(n_levels)))
        self.deep_supervision = bool(deep_supervision)
        if self.deep_supervision:  # one side output per decoder scale, coarse to fine
            self.sides = nn.ModuleList(
                nn.Conv2d(widths[level], n_classes, 1) for level in reversed(range(n_levels)))
            self.fuse = nn.Conv2d(n_levels * n_classes, n_classes, 1)
        else:
            self.head = nn.Conv2d(widths[0], n_classes, 1)
        self.n_levels = int(n_levels)
        self.n_classes = int(n_classes)
        self.gradient_checkpointing = bool(gradient_checkpointing)
        self.size_multiple = 2 ** n_levels
        self.receptive_radius = _receptive_radius(n_levels, _ATTENTION_REACH[attention],
                                                  self.deep_supervision)

    def set_statistics(self, mean, std):
        self.input.set_statistics(mean, std)

    def set_prior(self, log_prior):
        """Output bias = log class frequencies (HED fusion starts as the sides' mean)."""
        if not self.deep_supervision:
            set_bias(self.head, log_prior)
            return
        for side in self.sides:
            set_bias(side, log_prior)
        k, n = self.n_classes, self.n_levels
        with torch.no_grad():  # fused logits = the mean of the side logits, class by class
            self.fuse.weight.zero_()
            for side in range(n):
                self.fuse.weight[torch.arange(k), side * k + torch.arange(k), 0, 0] = 1.0 / n
            self.fuse.bias.zero_()

    def objective_inputs(self, x):
        """Channels-first logits ``(N, K, H, W)``; with deep supervision the side
        outputs (coarse to fine) and the fused output last."""
        z, h, w = pad_to_multiple(self.input(x).permute(0, 3, 1, 2), self.size_multiple)
        skips = []
        for level, block in enumerate(self.encoder):
            if level:
                z = F.max_pool2d(z, 2)
            z = run_block(block, self.dropouts[level](z) if level else z,
                          self.gradient_checkpointing)
            skips.append(z)
        z = run_block(self.bottleneck, self.dropouts[-1](F.max_pool2d(z, 2)),
                      self.gradient_checkpointing)
        features = []
        for up, skip in zip(self.decoder, reversed(skips)):
            z = up(z, skip)
            features.append(self.dropouts[0](z))
        if not self.deep_supervision:
            return self.head(features[-1])[:, :, :h, :w]
        size = features[-1].shape[-2:]
        sides = [F.interpolate(side(f), size=size, mode="bilinear", align_corners=False)
                 if f.shape[-2:] != size else side(f)
                 for side, f in zip(self.sides, features)]
        fused = self.fuse(torch.cat(sides, dim=1))
        return [s[:, :, :h, :w] for s in sides] + [fused[:, :, :h, :w]]

    def forward(self, x):
        out = self.objective_inputs(x)
        logits = out[-1] if isinstance(out, list) else out
        return logits.permute(0, 2, 3, 1)


def _receptive_radius(n_levels, attention_reach, deep_supervision):
    """A bound on how far (in input pixels) an output pixel of :class:`UNet` reaches.

    At scale ``s = 2 ** level``: an encoder level's two 3 x 3 convolutions (2 s)
    and its attention window (``attention_reach * s``), the 2 x 2 pooling into
    the next level (``s``), the bottleneck's convolutions (2 s at the coarsest
    scale); a decoder level's upsampling (one coarse pixel, 2 s) and two
    convolutions (2 s); a side output's bilinear upsampling to the input size
    (one pixel of its scale).
    """
    reach = 0
    for level in range(n_levels):
        s = 2 ** level
        reach += (2 + attention_reach) * s + s
    reach += 2 * 2 ** n_levels
    radius = 0
    for level in reversed(range(n_levels)):
        s = 2 ** level
        reach += 2 * s + 2 * s
        radius = max(radius, reach + (s if deep_supervision and level else 0))
    return radius


class LabelledTiles(ImageTiles):
    """Random training tiles with their label maps; every tile holds a labelled pixel.

    Item ``i`` of epoch ``e`` is drawn from a generator seeded with ``(seed,
    e, i)``: a labelled pixel at random (all labelled pixels of all cubes
    equally likely), then a ``tile x tile`` window that contains it at a
    random position. With ``augment`` the tile and its labels are flipped and
    rotated together (:func:`skhsi.nn._augment.flip_rotate`).

    Parameters
    ----------
    cubes : list of ndarray (H, W, C)
    targets : list of ndarray (H, W) of int
        Class codes; ``ignore_index`` marks unlabelled pixels.
    tile, n_tiles : int
    augment : bool
    seed : int
    ignore_index : int
    """

    def __init__(self, cubes, targets, *, tile, n_tiles, augment=True, seed=0,
                 ignore_index=-100):
        super().__init__(cubes, tile=tile, n_tiles=n_tiles, augment=augment, seed=seed)
        self.targets = [np.asarray(t, dtype=np.int64) for t in targets]
        where = [np.argwhere(t != ignore_index) for t in self.targets]
        self._labelled = np.concatenate(
            [np.column_stack([np.full(len(w), i), w]) for i, w in enumerate(where)])
        if not len(self._labelled):
            raise ValueError("LabelledTiles needs at least one labelled pixel.")

    def __getitem__(self, i):
        rng = np.random.default_rng([self.seed, self.epoch, int(i)])
        index, row, col = self._labelled[rng.integers(len(self._labelled))]
        cube, target = self.cubes[index], self.targets[index]
        r = rng.integers(max(0, row - self.tile + 1), min(row, cube.shape[0] - self.tile) + 1)
        c = rng.integers(max(0, col - self.tile + 1), min(col, cube.shape[1] - self.tile) + 1)
        tile = torch.from_numpy(np.ascontiguousarray(
            cube[r:r + self.tile, c:c + self.tile], dtype=np.float32))
        labels = torch.from_numpy(np.ascontiguousarray(
            target[r:r + self.tile, c:c + self.tile]))
        if self.augment:
            generator = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
            image, labels = flip_rotate(tile.permute(2, 0, 1)[None], labels[None],
                                        generator=generator)
            tile, labels = image[0].permute(1, 2, 0).contiguous(), labels[0].contiguous()
        return tile, labels
