"""The outlier API for detectors that score a pixel against its spatial neighbours."""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.validation import check_is_fitted

from .._moments import cube_moments, principal_axes, project
from ..spatial._base import CubeInputMixin
from ._base import SpectralOutlierMixin

__all__ = ["ImageOutlierMixin", "check_windows"]

_MIN_SIDE = 3  # rows and columns a cube needs for a neighbourhood


class ImageOutlierMixin(CubeInputMixin, SpectralOutlierMixin):
    """Outlier API for detectors that need whole cubes.

    ``fit`` learns a principal-component projection of the training pixels
    (``n_components`` of them, capped at the band count; ``mean_``,
    ``components_`` and ``explained_variance_``), accumulating the band
    covariance block by block in float64, and sets ``offset_`` from the
    training scores; ``anomaly_score`` of a cube ``(H, W, C)`` is a map
    ``(H, W)``, of a batch ``(N, H, W, C)`` a batch of maps, each cube scored
    on its own. Pixel tables are refused: they have no spatial neighbours.

    Scoring has two stages: ``_pixel_features(cube)`` computes per-pixel
    features ``(H, W, F)`` (the projection, by default) from each spectrum
    alone, and ``_score_features(features)`` the map from the features, looking
    as far as the declared spatial reach. Serving computes the first stage
    once per pixel and gives only the second a halo.
    """

    _BLOCK = 1 << 13  # pixels projected at a time (float64 temporaries stay small)

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
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_anomaly_score(self, X, y=None):
        """``fit(X)``, returning the scores of ``X`` that ``fit`` computes for ``offset_``.

        Equal to ``fit(X).anomaly_score(X)`` (to rounding) with the image scored once.

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        ndarray of shape (H, W) or (N, H, W)
        """
        return self._fit(X)

    def fit_predict(self, X, y=None):
        """``fit(X)``, then -1 for the anomalies of ``X`` and +1 for the rest (scored once).

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        ndarray of shape (H, W) or (N, H, W)
        """
        return self._labels(self.fit_anomaly_score(X, y))

    def _fit(self, X):
        cubes, batched = self._validate_cubes(X, reset=True)
        return self._fit_validated(cubes, batched)

    def _fit_validated(self, cubes, batched):
        """``_fit`` on validated cubes: moments, projection, ``_fit_background``, then the
        training maps from ``_fit_scores``, checked and returned."""
        for cube in cubes:
            self._check_side(cube)
        n, mean, scatter = cube_moments(cubes, self._BLOCK)
        covariance = scatter / max(n - 1, 1)
        n_components = min(self.n_components, covariance.shape[0], n)
        self.mean_ = mean
        # Eigenvectors of the band covariance (bands x bands, whatever the pixel count).
        self.components_, self.explained_variance_ = principal_axes(covariance, n_components)
        self.n_components_ = int(n_components)
        self._fit_background(covariance, n)
        scores = self._fit_scores([self._pixel_features(cube) for cube in cubes])
        for cube, map_ in zip(cubes, scores):
            self._check_finite(map_, cube.shape)
        self._set_offset(np.concatenate([map_.ravel() for map_ in scores]))
        return self._cubes_back(scores, batched)

    def _fit_background(self, covariance, n_samples):
        """Hook: what else ``fit`` learns from the band covariance (nothing by default)."""

    def _fit_scores(self, features):
        """Hook: the maps of the training cubes from their features (learning what the
        scores need on the way)."""
        return [self._score_features(f) for f in features]

    def _pixel_features(self, cube):
        """The projection ``(H, W, n_components_)`` of a cube, in float64."""
        return project(cube.reshape(-1, cube.shape[-1]), self.mean_, self.components_.T,
                       self._BLOCK).reshape(cube.shape[:2] + (-1,))

    def _component_scale(self):
        """Standard deviation of every component over the training pixels (never 0)."""
        scale = np.sqrt(self.explained_variance_)
        return np.where(scale > 0, scale, 1.0)

    def _map(self, X):
        check_is_fitted(self)
        cubes, batched = self._validate_cubes(X, reset=False)
        return self._cubes_back([self._score(c) for c in cubes], batched)

    def _score(self, cube):
        self._check_side(cube)
        return self._checked_scores(self._pixel_features(cube))

    def _checked_scores(self, features):
        """``_score_features`` of a validated feature cube, refusing non-finite scores."""
        check_is_fitted(self)
        self._check_side(features)
        scores = self._score_features(features)
        self._check_finite(scores, features.shape[:2] + (self.n_features_in_,))
        return scores

    def _check_side(self, cube):
        if min(cube.shape[:2]) < _MIN_SIDE:
            raise ValueError(
                f"{type(self).__name__} compares pixels with their neighbours and needs "
                f"cubes of at least {_MIN_SIDE} x {_MIN_SIDE} pixels; got a cube of "
                f"{cube.shape[0]} x {cube.shape[1]} pixels."
            )

    def _check_finite(self, scores, shape):
        if not np.all(np.isfinite(scores)):
            raise ValueError(
                f"{type(self).__name__} produced non-finite scores for a cube of shape "
                f"{shape}; check the cube for constant or saturated bands."
            )


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
