"""The outlier API for detectors that score a pixel against its spatial neighbours."""

from numbers import Integral

import numpy as np
from scipy import linalg, stats
from sklearn.base import _fit_context
from sklearn.utils.validation import check_is_fitted

from ..spatial._base import CubeInputMixin
from ._base import SpectralOutlierMixin

__all__ = ["ImageOutlierMixin", "check_windows", "image_rank"]

_MIN_SIDE = 3  # rows and columns a cube needs for a neighbourhood


class ImageOutlierMixin(CubeInputMixin, SpectralOutlierMixin):
    """Outlier API for detectors that need whole cubes.

    ``fit`` learns a principal-component projection of the training pixels
    (``n_components`` of them, capped at the band count; ``mean_``,
    ``components_`` and ``explained_variance_``) and sets ``offset_``
    from the training scores; ``anomaly_score`` of a cube ``(H, W, C)`` is a
    map ``(H, W)``, of a batch ``(N, H, W, C)`` a batch of maps, each cube
    scored on its own by ``_score_cube(components)`` with ``components`` its
    projection ``(H, W, n_components_)``. Pixel tables are refused: they
    have no spatial neighbours.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the projection and the threshold from the training cube(s).

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        cubes, _ = self._validate_cubes(X, reset=True)
        pixels = np.concatenate([c.reshape(-1, c.shape[-1]) for c in cubes]).astype(np.float64)
        n_components = min(self.n_components, pixels.shape[1], pixels.shape[0])
        self.mean_ = pixels.mean(axis=0)
        centred = pixels - self.mean_
        # Eigenvectors of the band covariance (bands x bands, whatever the pixel count).
        variance, vectors = linalg.eigh(centred.T @ centred / max(pixels.shape[0] - 1, 1))
        order = np.argsort(variance)[::-1][:n_components]
        components = vectors[:, order].T
        # Sign convention: the largest loading of every component is positive.
        largest = components[np.arange(n_components), np.abs(components).argmax(axis=1)]
        self.components_ = components * np.where(largest < 0, -1.0, 1.0)[:, None]
        self.explained_variance_ = np.maximum(variance[order], 0.0)
        self.n_components_ = int(n_components)
        self._set_offset(np.concatenate([self._score(c).ravel() for c in cubes]))
        return self

    def _component_scale(self):
        """Standard deviation of every component over the training pixels (never 0)."""
        scale = np.sqrt(self.explained_variance_)
        return np.where(scale > 0, scale, 1.0)

    def _map(self, X):
        check_is_fitted(self)
        cubes, batched = self._validate_cubes(X, reset=False)
        return self._cubes_back([self._score(c) for c in cubes], batched)

    def _score(self, cube):
        if min(cube.shape[:2]) < _MIN_SIDE:
            raise ValueError(
                f"{type(self).__name__} compares pixels with their neighbours and needs "
                f"cubes of at least {_MIN_SIDE} x {_MIN_SIDE} pixels; got a cube of "
                f"{cube.shape[0]} x {cube.shape[1]} pixels."
            )
        pixels = np.asarray(cube, dtype=np.float64).reshape(-1, cube.shape[-1])
        components = ((pixels - self.mean_) @ self.components_.T).reshape(cube.shape[:2] + (-1,))
        scores = self._score_cube(components)
        if not np.all(np.isfinite(scores)):
            raise ValueError(
                f"{type(self).__name__} produced non-finite scores for a cube of shape "
                f"{cube.shape}; check the cube for constant or saturated bands."
            )
        return scores


def check_windows(inner, outer):
    """Odd window sizes with ``outer > inner``, or a ``ValueError`` that says what came."""
    for name, size in (("inner_window", inner), ("outer_window", outer)):
        if not isinstance(size, Integral) or size < 1 or size % 2 == 0:
            raise ValueError(f"{name} must be an odd positive integer; got {size!r}.")
    if outer <= inner:
        raise ValueError(
            f"outer_window must be larger than inner_window so that the background ring "
            f"has pixels; got inner_window={inner}, outer_window={outer}."
        )


def image_rank(scores):
    """Scores mapped to their rank in ``(0, 1]`` within the image (ties share the mean rank)."""
    return stats.rankdata(scores, axis=None).reshape(np.shape(scores)) / np.size(scores)
