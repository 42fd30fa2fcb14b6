"""Image-layout data: random training tiles, and tiled inference with a halo.

Training on images draws ``n_tiles`` random ``tile x tile`` windows per epoch
from the training cubes (optionally flipped and rotated by multiples of 90
degrees), reproducibly from a seed and the epoch number. Inference runs a
fully convolutional module over overlapping tiles: each tile is read with a
halo of real neighbours (reflected at the image border, as if the whole image
were reflect-padded once), and only its centre is kept, so the output equals
the whole-image output and memory stays flat whatever the cube size.
"""

import copy

import numpy as np
import torch
from skorch.callbacks import Callback

from .._checks import check_finite_values
from .._files import release_pages
from ._runtime import _module_device, as_numpy, as_tensor, autocast, resolve_device

__all__ = ["ImageTiles", "TileEpoch", "apply_image_module", "reflect_indices", "tile_size_for"]


def reflect_indices(start, stop, size):
    """Indices ``start .. stop-1`` into an axis of length ``size``, reflected at its ends.

    The same as indexing ``np.pad(axis, n, mode="reflect")``, for any
    distance beyond the ends (the reflection repeats).
    """
    idx = np.arange(start, stop)
    if size == 1:
        return np.zeros_like(idx)
    period = 2 * (size - 1)
    idx = np.mod(idx, period)
    return np.where(idx >= size, period - idx, idx)


def tile_size_for(cubes, tile, multiple):
    """The training tile side: ``tile``, at most the smallest cube side, a multiple of
    ``multiple``."""
    smallest = min(min(c.shape[0], c.shape[1]) for c in cubes)
    side = min(int(tile), smallest)
    side -= side % multiple
    if side < multiple:
        raise ValueError(
            f"Images of {smallest} pixels on their smallest side are too small for this "
            f"network, which needs tiles of a multiple of {multiple} pixels."
        )
    return side


class ImageTiles(torch.utils.data.Dataset):
    """``n_tiles`` random tiles per epoch from a list of cubes ``(H, W, C)``.

    Item ``i`` of epoch ``e`` is drawn from a generator seeded with
    ``(seed, e, i)``: the tiles are reproducible and independent of the
    order and number of workers reading them. Items are ``(tile, 0)`` (skorch
    expects a target; the reconstruction objectives ignore it).
    """

    def __init__(self, cubes, *, tile, n_tiles, augment=True, seed=0):
        self.cubes = list(cubes)
        self.tile = int(tile)
        self.n_tiles = int(n_tiles)
        self.augment = bool(augment)
        self.seed = int(seed)
        self.epoch = 0
        sizes = np.array([c.shape[0] * c.shape[1] for c in self.cubes], dtype=np.float64)
        self._weights = sizes / sizes.sum()

    def __len__(self):
        return self.n_tiles

    def __getitem__(self, i):
        rng = np.random.default_rng([self.seed, self.epoch, int(i)])
        cube = self.cubes[rng.choice(len(self.cubes), p=self._weights)]
        r = rng.integers(0, cube.shape[0] - self.tile + 1)
        c = rng.integers(0, cube.shape[1] - self.tile + 1)
        tile = np.asarray(cube[r:r + self.tile, c:c + self.tile], dtype=np.float32)
        if self.augment:
            tile = np.rot90(tile, k=int(rng.integers(4)), axes=(0, 1))
            if rng.random() < 0.5:
                tile = tile[:, ::-1]
        # A copy, not ascontiguousarray: a flipped axis of length 1 keeps its negative
        # stride in a "contiguous" view, which torch refuses.
        return torch.from_numpy(tile.copy(order="C")), 0


class TileEpoch(Callback):
    """Tells an :class:`ImageTiles` dataset the epoch, so each epoch draws new tiles."""

    def __init__(self, dataset):
        self.dataset = dataset

    def on_epoch_begin(self, net, **kwargs):
        self.dataset.epoch = len(net.history) - 1


def apply_image_module(module, cube, *, tile, halo, multiple=1, device="cpu",
                       precision="float32"):
    """Run a fully convolutional ``module`` over one cube in overlapping tiles.

    Parameters
    ----------
    module : torch.nn.Module
        Maps ``(1, h, w, C)`` to ``(1, h, w)`` or ``(1, h, w, K)``.
    cube : ndarray of shape (H, W, C)
        Any array that slices like numpy (a memmap is read tile by tile).
    tile : int
        Side of the kept centre of each tile.
    halo : int
        Neighbours read on each side; at least the module's receptive radius.
    multiple : int
        Tile origins, tile sides and halos are multiples of it (a network that
        pools by ``m`` sees the same pooling grid in every tile).

    Returns
    -------
    ndarray of shape (H, W) or (H, W, K), float32
    """
    device = resolve_device(device)
    if module.training or _module_device(module) != torch.device(device):
        module = copy.deepcopy(module).to(device).eval()
    height, width = cube.shape[:2]
    m = max(int(multiple), 1)
    tile = max(m, int(tile) - int(tile) % m)
    halo = -(-int(halo) // m) * m
    out = None
    with torch.inference_mode(), autocast(device, precision):
        for r0 in range(0, height, tile):
            for c0 in range(0, width, tile):
                rows = reflect_indices(r0 - halo, r0 + tile + halo, height)
                cols = reflect_indices(c0 - halo, c0 + tile + halo, width)
                block = _read(cube, rows, cols)
                result = as_numpy(module(as_tensor(block[None], device)).float())[0]
                h, w = min(tile, height - r0), min(tile, width - c0)
                kept = result[halo:halo + h, halo:halo + w]
                if out is None:
                    out = np.empty((height, width) + kept.shape[2:], dtype=np.float32)
                out[r0:r0 + h, c0:c0 + w] = kept
                release_pages(cube)
    return out


def _read(cube, rows, cols):
    """``cube[rows][:, cols]`` reading one contiguous slab of a (memory-mapped) cube."""
    r_lo, r_hi = rows.min(), rows.max() + 1
    c_lo, c_hi = cols.min(), cols.max() + 1
    slab = np.asarray(cube[r_lo:r_hi, c_lo:c_hi])
    check_finite_values(slab, f"rows {r_lo}-{r_hi - 1}, columns {c_lo}-{c_hi - 1}")
    return slab.astype(np.float32, copy=False)[rows - r_lo][:, cols - c_lo]
