"""Patch-layout data: the ``k x k x C`` window around each pixel, for training and inference.

A patch node's module maps windows ``(n, k, k, C)`` (channels last) to one
output per window, ``(n,)`` or ``(n, K)``: one per centre pixel. Borders are
reflect-padded (``numpy.pad(mode="reflect")``), windows are views of the
padded cube and are copied ``batch_size`` at a time, so memory stays at one
padded cube plus one batch.
"""

import copy

import numpy as np
import torch

from .._checks import check_finite_values
from ._runtime import _module_device, as_numpy, as_tensor, autocast, resolve_device

__all__ = ["PatchSamples", "apply_patch_module", "patch_windows"]


def patch_windows(cube, size):
    """A view ``(H, W, size, size, C)`` of the windows centred on every pixel of ``cube``."""
    r = size // 2
    mode = "reflect" if min(cube.shape[:2]) > r else "edge"
    values = np.asarray(check_finite_values(cube, "the cube"), dtype=np.float32)
    padded = np.pad(values, ((r, r), (r, r), (0, 0)), mode=mode)
    view = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(0, 1))
    return view.transpose(0, 1, 3, 4, 2)  # (H, W, k, k, C)


class PatchSamples(torch.utils.data.Dataset):
    """The windows of chosen pixels of a list of cubes, with their targets.

    Parameters
    ----------
    cubes : list of ndarray (H, W, C)
    size : int
        Odd window side.
    positions : ndarray of shape (n, 3)
        ``(cube index, row, column)`` of every sample.
    targets : ndarray of shape (n,) or None
        One target per sample (``0`` placeholders when None).
    """

    def __init__(self, cubes, size, positions, targets=None):
        self.windows = [patch_windows(cube, size) for cube in cubes]
        self.positions = np.asarray(positions, dtype=np.int64)
        self.targets = targets

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, i):
        cube, row, col = self.positions[i]
        window = torch.from_numpy(np.ascontiguousarray(self.windows[cube][row, col]))
        return window, (0 if self.targets is None else self.targets[i])


def apply_patch_module(module, cube, *, size, batch_size, device="cpu", precision="float32"):
    """Run ``module`` on the window of every pixel of ``cube``; ``(H, W)`` or ``(H, W, K)``."""
    device = resolve_device(device)
    if module.training or _module_device(module) != torch.device(device):
        module = copy.deepcopy(module).to(device).eval()
    windows = patch_windows(cube, size)
    height, width = cube.shape[:2]
    n = height * width
    out = None
    with torch.inference_mode(), autocast(device, precision):
        for start in range(0, n, batch_size):
            rows, cols = np.divmod(np.arange(start, min(start + batch_size, n)), width)
            batch = windows[rows, cols]  # copies only this batch's windows
            result = as_numpy(module(as_tensor(batch, device)).float())
            if out is None:
                out = np.empty((n,) + result.shape[1:], dtype=np.float32)
            out[start:start + len(result)] = result
    return out.reshape((height, width) + out.shape[1:])
