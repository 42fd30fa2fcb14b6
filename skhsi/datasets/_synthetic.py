"""Synthetic hyperspectral scenes with planted targets, made on the fly."""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ..io import SpectralImage

__all__ = ["make_synthetic_scene"]


def _smooth_spectra(n_spectra, wavelengths, rng):
    """Smooth, positive reflectance-like spectra: a slope plus a few broad bumps."""
    span = wavelengths[-1] - wavelengths[0] or 1.0
    x = (wavelengths - wavelengths[0]) / span
    spectra = rng.uniform(0.1, 0.3, (n_spectra, 1)) + rng.uniform(-0.1, 0.1, (n_spectra, 1)) * x
    for _ in range(4):
        centre = rng.uniform(0.0, 1.0, (n_spectra, 1))
        width = rng.uniform(0.05, 0.2, (n_spectra, 1))
        height = rng.uniform(-0.1, 0.3, (n_spectra, 1))
        spectra = spectra + height * np.exp(-0.5 * ((x - centre) / width) ** 2)
    return np.clip(spectra, 0.01, None)


def make_synthetic_scene(shape=(64, 64, 60), *, n_targets=8, abundance=(0.1, 0.5),
                         n_endmembers=4, noise=0.01, wavelength_range=(400.0, 2500.0),
                         random_state=None):
    """Make a synthetic scene: a mixed background with sub-pixel targets planted in it.

    The background follows the linear mixing model: each pixel is a mixture of
    ``n_endmembers`` smooth random spectra whose abundances vary smoothly over
    the image (patches of "fields"). Each target is one pixel in which a
    target spectrum, absent from the background, replaces a random fraction
    (drawn from ``abundance``) of the background; Gaussian noise is added
    everywhere. The scene is synthetic: use it for examples and quick checks,
    and the real scenes (:func:`load_indian_pines`, your own files) for
    anything you want to conclude about real data.

    Parameters
    ----------
    shape : tuple of 3 int, default=(64, 64, 60)
        ``(H, W, C)``; at least ``(4, 4, 2)``.
    n_targets : int, default=8
        Number of target pixels, at distinct positions at least one pixel
        from the border.
    abundance : tuple of 2 float in (0, 1], default=(0.1, 0.5)
        Range of the target's fraction in its pixel.
    n_endmembers : int, default=4
        Number of background materials.
    noise : float >= 0, default=0.01
        Standard deviation of the additive Gaussian noise (reflectance units;
        the spectra lie roughly in 0.05 to 0.6).
    wavelength_range : tuple of 2 float, default=(400.0, 2500.0)
        First and last band centre in nm; bands are evenly spaced.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    SpectralImage
        ``cube`` (float32, ``shape``), ``wavelengths`` (nm), ``mask`` (bool,
        ``True`` at the targets); ``metadata["name"]`` is ``"synthetic"``.

    Examples
    --------
    >>> from skhsi.datasets import make_synthetic_scene
    >>> scene = make_synthetic_scene(random_state=0)
    >>> scene.cube.shape, int(scene.mask.sum()), scene.metadata["name"]
    ((64, 64, 60), 8, 'synthetic')
    """
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else shape
    if (not isinstance(shape, tuple) or len(shape) != 3
            or not all(isinstance(s, numbers.Integral) for s in shape)):
        raise TypeError(f"shape must be a tuple of 3 ints (H, W, C); got {shape!r}.")
    height, width, n_bands = (int(s) for s in shape)
    if height < 4 or width < 4 or n_bands < 2:
        raise ValueError(f"shape must be at least (4, 4, 2); got {shape}.")
    interior = (height - 2) * (width - 2)
    if not isinstance(n_targets, numbers.Integral) or not 0 <= n_targets <= interior:
        raise ValueError(
            f"n_targets must be an int in [0, {interior}] (the pixels off the border); "
            f"got {n_targets!r}."
        )
    low, high = abundance
    if not 0 < low <= high <= 1:
        raise ValueError(f"abundance must be (low, high) with 0 < low <= high <= 1; "
                         f"got {abundance!r}.")
    if not isinstance(n_endmembers, numbers.Integral) or n_endmembers < 1:
        raise ValueError(f"n_endmembers must be an int >= 1; got {n_endmembers!r}.")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0; got {noise!r}.")
    first, last = (float(v) for v in wavelength_range)
    if not first < last:
        raise ValueError(f"wavelength_range must be increasing; got {wavelength_range!r}.")

    from scipy.ndimage import gaussian_filter

    rng = check_random_state(random_state)
    wavelengths = np.linspace(first, last, n_bands)
    spectra = _smooth_spectra(n_endmembers + 1, wavelengths, rng)
    background, target = spectra[:-1], spectra[-1]

    sigma = max(height, width) / 8.0
    fields = np.stack([gaussian_filter(rng.normal(size=(height, width)), sigma, mode="wrap")
                       for _ in range(n_endmembers)], axis=-1)
    fields /= fields.std() or 1.0
    weights = np.exp(3.0 * fields)
    weights /= weights.sum(axis=-1, keepdims=True)
    cube = weights @ background

    mask = np.zeros((height, width), dtype=bool)
    flat = rng.choice(interior, size=n_targets, replace=False)
    rows, cols = np.unravel_index(flat, (height - 2, width - 2))
    rows, cols = rows + 1, cols + 1
    fractions = rng.uniform(low, high, size=(n_targets, 1))
    cube[rows, cols] = (1 - fractions) * cube[rows, cols] + fractions * target
    mask[rows, cols] = True
    cube += rng.normal(scale=noise, size=cube.shape)
    return SpectralImage(
        cube=cube.astype(np.float32),
        wavelengths=wavelengths,
        mask=mask,
        metadata={
            "name": "synthetic",
            "description": f"synthetic linear-mixing scene ({height} x {width} x {n_bands}), "
                           f"{n_targets} sub-pixel targets",
        },
    )
