"""Argument checks and drawing helpers shared by the plots."""

import numpy as np

_HIGHLIGHT = "#CC3311"


def _new_axes(ax, figsize=None):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _finite(arr, name):
    if arr.size == 0:
        raise ValueError(f"{name} is empty; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf values; expected finite values only.")
    return arr


def _numeric(x, ndim, layout, name):
    x = np.asarray(x)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have shape {layout}; got shape {x.shape}.")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"{name} must be numeric; got dtype {x.dtype}.")
    return _finite(x, name)


def _check_mask(mask, shape, name):
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got shape {mask.shape}.")
    if mask.dtype != bool:
        if not np.issubdtype(mask.dtype, np.number) or not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{name} must be boolean (True = anomaly) or 0/1; got dtype "
                             f"{mask.dtype}. For predict() output use `pred == -1`.")
        mask = mask.astype(bool)
    return mask


def _band_axis(wavelengths, n_bands):
    """Validated x values and axis label: wavelengths in nm, or band indices."""
    if wavelengths is None:
        return np.arange(n_bands), "band index"
    wl = np.asarray(wavelengths, dtype=float)
    if wl.shape != (n_bands,):
        raise ValueError(f"wavelengths must have shape ({n_bands},), one per band; "
                         f"got shape {wl.shape}.")
    if not np.all(np.diff(_finite(wl, "wavelengths")) > 0):
        raise ValueError("wavelengths must be strictly increasing.")
    return wl, "wavelength (nm)"
