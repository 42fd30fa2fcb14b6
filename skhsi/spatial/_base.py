"""Input handling shared by the spatial transformers: cubes in, cubes out."""

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.validation import check_is_fitted, validate_data

from .._checks import check_finite_values

__all__ = ["CubeInputMixin", "CubeMixin"]


class CubeInputMixin:
    """Validation for nodes that need the spatial neighbours of every pixel.

    They accept one cube ``(H, W, C)`` or a batch ``(N, H, W, C)`` and refuse
    a pixel table with a ``ValueError`` saying why. Values are validated per
    pixel by scikit-learn (finite, numeric, the band count seen in ``fit``);
    float32 input stays float32, anything else becomes float64. Their data
    methods take :class:`xarray.DataArray` cubes too (:mod:`skhsi._xarray`).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        from .._xarray import wrap_methods

        wrap_methods(cls, inherited=True)

    def _spatial_reach(self):  # pragma: no cover - every subclass declares its reach
        raise NotImplementedError(f"{type(self).__name__} must declare _spatial_reach().")

    def _validate_cubes(self, X, *, reset):
        arr = X if hasattr(X, "ndim") else np.asarray(X)
        if arr.ndim not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} works on images: expected a cube (H, W, C) or a "
                f"batch of cubes (N, H, W, C); got a {arr.ndim}-D array of shape "
                f"{np.shape(arr)}. A pixel table has no spatial neighbours."
            )
        batched = arr.ndim == 4
        cubes = []
        for i, cube in enumerate(arr if batched else [arr]):
            pixels = validate_data(self, np.asarray(cube).reshape(-1, cube.shape[-1]),
                                   reset=reset and i == 0, dtype=[np.float64, np.float32])
            check_finite_values(pixels, type(self).__name__)
            cubes.append(pixels.reshape(cube.shape[:2] + (pixels.shape[1],)))
        return cubes, batched

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Cubes in: scikit-learn's checks, which feed pixel tables, do not
        # apply (the tests check the same contract on cubes).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    @staticmethod
    def _cubes_back(cubes, batched):
        return np.stack(cubes) if batched else cubes[0]


class CubeMixin(CubeInputMixin):
    """Cube validation plus ``fit``/``transform`` for the spatial transformers.

    A transformer implements ``_transform_cube(cube)`` (one validated cube
    ``(H, W, C)`` in, one cube out) and, when ``fit`` has more to check or
    learn than the band count, ``_fit_cubes(cubes)``.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and record the band count.

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        self._fit_cubes(self._validate_cubes(X, reset=True)[0])
        return self

    def _fit_cubes(self, cubes):
        return self

    def transform(self, X):
        """Transform every cube; a batch ``(N, H, W, C)`` gives a batch.

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (H', W', K) or (N, H', W', K)
        """
        check_is_fitted(self)
        cubes, batched = self._validate_cubes(X, reset=False)
        return self._cubes_back([self._transform_cube(cube) for cube in cubes], batched)

    def _band_names(self, input_features):
        if input_features is not None:
            return [str(f) for f in input_features]
        names = getattr(self, "feature_names_in_", None)
        return [str(f) for f in names] if names is not None else \
            [f"band{i}" for i in range(self.n_features_in_)]
