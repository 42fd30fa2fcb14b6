"""Scale every pixel spectrum to unit Euclidean length."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

from ..base import SpectralMixin, restore_shape
from ..nn import PerPixelUnitNorm as _UnitNormModule


class PerPixelUnitNorm(SpectralMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Divide each spectrum by its L2 norm: ``x / max(||x||_2, eps)``.

    Every pixel is treated on its own (nothing is learned from the data but
    the band count). Spectra with a norm of at least ``eps`` end with norm 1;
    an all-zero spectrum stays zero rather than becoming NaN. This removes
    overall brightness, so pixels that differ from the background only in
    brightness become indistinguishable after it.

    Parameters
    ----------
    eps : float, default=1e-8
        Smallest norm divided by.

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.preprocessing import PerPixelUnitNorm
    >>> out = PerPixelUnitNorm().fit_transform(np.array([[3.0, 4.0], [0.0, 0.0]]))
    >>> out
    array([[0.6, 0.8],
           [0. , 0. ]])
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
        """Unit-normalise every spectrum, keeping shape and float dtype."""
        pixels, lead = self._check_spectral(X)
        norms = np.linalg.norm(pixels, axis=1, keepdims=True)
        return restore_shape(pixels / np.maximum(norms, self.eps), lead)

    def _as_module(self):
        return _UnitNormModule(self.eps)
