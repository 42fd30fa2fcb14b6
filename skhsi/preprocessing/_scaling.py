"""Per-band min-max scaling and per-pixel standardisation.

Per-band standardisation is :class:`ZScoreNormalizerGlobal` and unit-length
spectra are :class:`PerPixelUnitNorm`; this module adds the other two
normalisations in common use.
"""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.preprocessing import MinMaxScaler

from ..base import ModuleStepMixin, SpectralMixin, restore_shape
from ._per_pixel import PerPixelTransform

__all__ = ["MinMaxScalerPerBand", "PerPixelStandardizer"]

_CHUNK = 65536


class MinMaxScalerPerBand(ModuleStepMixin, SpectralMixin, OneToOneFeatureMixin, TransformerMixin,
                          BaseEstimator):
    """Scale every band linearly to ``feature_range`` over the training pixels.

    Read more in the :ref:`User Guide <band_selection>`.

    scikit-learn's :class:`~sklearn.preprocessing.MinMaxScaler` on the pixel
    table (a constant band is shifted, not divided by zero), for pixel tables,
    cubes and batches of cubes. ``partial_fit`` streams more data into the
    minima and maxima. New data outside the training range maps outside
    ``feature_range``.

    Parameters
    ----------
    feature_range : tuple (min, max), default=(0, 1)
        Target range of every band, e.g. ``(-1, 1)``.

    Attributes
    ----------
    data_min_, data_max_, data_range_ : ndarray of shape (n_features_in_,)
        Per-band minimum, maximum and their difference.
    scale_, min_ : ndarray of shape (n_features_in_,)
        ``transform(X) = X * scale_ + min_``.
    n_samples_seen_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.preprocessing import MinMaxScalerPerBand
    >>> cube = np.random.default_rng(0).normal(size=(10, 10, 3))
    >>> out = MinMaxScalerPerBand(feature_range=(-1, 1)).fit_transform(cube)
    >>> out.shape, float(out.min()), float(out.max())
    ((10, 10, 3), -1.0, 1.0)
    """

    _parameter_constraints = {"feature_range": [tuple]}

    def __init__(self, feature_range=(0, 1)):
        self.feature_range = feature_range

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Per-band minimum and maximum of ``X``.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        for attr in ("_scaler", "data_min_"):
            self.__dict__.pop(attr, None)
        return self._accumulate(self._validate_spectral(X, reset=True)[0])

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add the pixels of ``X`` to the running minima and maxima."""
        first = not hasattr(self, "data_min_")
        return self._accumulate(self._validate_spectral(X, reset=first)[0])

    def _accumulate(self, pixels):
        scaler = getattr(self, "_scaler", None)
        if scaler is None:
            scaler = MinMaxScaler(feature_range=self.feature_range)
            if hasattr(self, "data_min_"):
                # Continue statistics restored from a weights-only file.
                scaler.data_min_, scaler.data_max_ = self.data_min_, self.data_max_
                scaler.n_samples_seen_ = self.n_samples_seen_
                scaler.n_features_in_ = self.n_features_in_
        for start in range(0, pixels.shape[0], _CHUNK):
            scaler.partial_fit(np.asarray(pixels[start:start + _CHUNK], dtype=np.float64))
        self._scaler = scaler
        for attr in ("data_min_", "data_max_", "data_range_", "scale_", "min_"):
            setattr(self, attr, getattr(scaler, attr).copy())
        self.n_samples_seen_ = int(scaler.n_samples_seen_)
        return self

    def transform(self, X):
        """Scale every band, keeping shape and float dtype."""
        pixels, lead = self._check_spectral(X)
        out = pixels * self.scale_.astype(pixels.dtype) + self.min_.astype(pixels.dtype)
        return restore_shape(out, lead)

    def inverse_transform(self, X):
        """Undo the scaling."""
        pixels, lead = self._check_spectral(X)
        return restore_shape((pixels - self.min_) / self.scale_, lead)

    def _as_module(self):
        from ..nn import AffinePerBand

        return AffinePerBand(self.scale_, self.min_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class PerPixelStandardizer(PerPixelTransform):
    """Each spectrum to zero mean and unit standard deviation across its bands.

    Read more in the :ref:`User Guide <band_selection>`.

    ``(x - mean(x)) / max(std(x), eps)`` per pixel (population std), so a flat
    spectrum becomes zeros instead of NaN. Like
    :class:`PerPixelUnitNorm` it removes brightness, and also the offset of
    each spectrum; only the spectral shape is left.

    Parameters
    ----------
    eps : float, default=1e-8
        Smallest standard deviation divided by.

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.preprocessing import PerPixelStandardizer
    >>> PerPixelStandardizer().fit_transform(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    array([[-1.22474487,  0.        ,  1.22474487],
           [ 0.        ,  0.        ,  0.        ]])
    """

    def _per_pixel(self, pixels):
        mean = pixels.mean(axis=1, keepdims=True)
        std = pixels.std(axis=1, keepdims=True)
        return (pixels - mean) / np.maximum(std, self.eps)

    def _as_module(self):
        from ..nn import PerPixelStandardize

        return PerPixelStandardize(self.eps)
