"""Patch extraction: the ``k x k`` neighbourhood of every pixel as its features."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..base import SpatialReach
from ._base import CubeMixin

__all__ = ["PatchFeatures"]


class PatchFeatures(CubeMixin, TransformerMixin, BaseEstimator):
    """The ``size x size x C`` window around every pixel, flattened into its features.

    Read more in the :ref:`User Guide <spatial>`.

    Turns a cube ``(H, W, C)`` into ``(H, W, size * size * C)`` (reflect
    padding at the borders), so that any per-pixel scikit-learn estimator, or
    any skhsi pixel node, sees spatial context: ``transform(cube).reshape(-1,
    n_features)`` is a pixel table of patch features. Features are ordered by
    row offset, column offset, then band.

    Parameters
    ----------
    size : int, default=3
        Odd window side.

    Attributes
    ----------
    n_features_in_ : int
        Bands of the input; the output has ``size**2 * n_features_in_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from skhsi.spatial import PatchFeatures
    >>> cube = np.random.default_rng(0).random((10, 12, 4))
    >>> patches = PatchFeatures(3).fit_transform(cube)
    >>> patches.shape
    (10, 12, 36)
    >>> bool(np.array_equal(patches[5, 6].reshape(3, 3, 4), cube[4:7, 5:8]))
    True
    >>> IsolationForest(random_state=0).fit(patches.reshape(-1, 36)).score_samples(
    ...     patches.reshape(-1, 36)).shape
    (120,)
    """

    _parameter_constraints = {"size": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, size=3):
        self.size = size

    def _fit_cubes(self, cubes):
        if self.size % 2 == 0:
            raise ValueError(f"size must be odd (a window centred on the pixel); got {self.size}.")
        return self

    def _spatial_reach(self):
        """Half the window side."""
        return SpatialReach(self.size // 2)

    def _transform_cube(self, cube):
        r = self.size // 2
        mode = "reflect" if min(cube.shape[:2]) > r else "edge"
        padded = np.pad(cube, ((r, r), (r, r), (0, 0)), mode=mode)
        windows = np.lib.stride_tricks.sliding_window_view(
            padded, (self.size, self.size), axis=(0, 1))  # (H, W, C, k, k)
        return (np.ascontiguousarray(windows.transpose(0, 1, 3, 4, 2))
                .reshape(cube.shape[0], cube.shape[1], -1))

    def get_feature_names_out(self, input_features=None):
        """``patch_<row offset>_<column offset>_<band>``."""
        check_is_fitted(self)
        bands = self._band_names(input_features)
        r = self.size // 2
        return np.asarray([f"patch_{dr}_{dc}_{b}" for dr in range(-r, r + 1)
                           for dc in range(-r, r + 1) for b in bands], dtype=object)
