"""Base of the nodes that transform each spectrum on its own."""

from numbers import Real

from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

from ..base import ModuleStepMixin, SpectralMixin, restore_shape

__all__ = ["PerPixelTransform"]


class PerPixelTransform(ModuleStepMixin, SpectralMixin, OneToOneFeatureMixin, TransformerMixin,
                        BaseEstimator):
    """A spectrum-by-spectrum transform with one parameter, ``eps``.

    Nothing is learned but the band count; subclasses implement
    ``_per_pixel(pixels)`` on a ``(n, C)`` table and ``_as_module()``.
    """

    _parameter_constraints = {"eps": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, eps=1e-8):
        self.eps = eps

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the band count.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        self._validate_spectral(X, reset=True)
        return self

    def transform(self, X):
        """Transform every spectrum, keeping shape and float dtype.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray with the shape of ``X``
        """
        pixels, lead = self._check_spectral(X)
        return restore_shape(self._per_pixel(pixels), lead)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
