"""Per-band standardisation from a random sample of pixels."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.extmath import _incremental_mean_and_var

from ..base import ModuleStepMixin, SpectralMixin, restore_shape

_CHUNK = 65536


class ZScoreNormalizerGlobal(ModuleStepMixin, SpectralMixin, OneToOneFeatureMixin,
                             TransformerMixin, BaseEstimator):
    """Per-band z-score ``(x - mean_) / (std_ + eps)`` with global statistics.

    Read more in the :ref:`User Guide <band_selection>`.

    Phase 1 estimates the per-band mean and (population) standard deviation
    from at most ``sample_n`` pixels drawn at random without replacement,
    accumulated chunk by chunk in float64 with scikit-learn's incremental
    mean/variance (Chan et al.'s pairwise update, as in ``StandardScaler``). ``partial_fit``
    streams further data into the same statistics.

    With ``trainable=True`` the mean and std become parameters of the
    end-to-end phase of :class:`skhsi.pipeline.Pipeline` (the std is kept
    positive by training its logarithm); fitted alone there is nothing to train.

    Parameters
    ----------
    sample_n : int, default=500_000
        Largest number of pixels used for the statistics.
    random_state : int, RandomState instance or None, default=None
        Draws the pixel sample when there are more than ``sample_n`` pixels.
    eps : float, default=1e-8
        Added to the std before dividing.
    trainable : bool, default=False
        Whether end-to-end training may update ``mean_`` and ``std_``.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features_in_,)
    std_ : ndarray of shape (n_features_in_,)
    n_samples_seen_ : int
        Pixels the statistics were computed from.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.preprocessing import ZScoreNormalizerGlobal
    >>> cube = np.random.default_rng(0).normal(5.0, 2.0, size=(20, 30, 4))
    >>> z = ZScoreNormalizerGlobal().fit_transform(cube)
    >>> z.shape, bool(np.allclose(z.reshape(-1, 4).mean(axis=0), 0, atol=1e-6))
    ((20, 30, 4), True)
    """

    _parameter_constraints = {
        "sample_n": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "eps": [Interval(Real, 0, None, closed="left")],
        "trainable": ["boolean"],
    }

    def __init__(self, sample_n=500_000, random_state=None, eps=1e-8, trainable=False):
        self.sample_n = sample_n
        self.random_state = random_state
        self.eps = eps
        self.trainable = trainable

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate per-band mean and std from at most ``sample_n`` pixels.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        for attr in ("mean_", "std_", "n_samples_seen_"):
            self.__dict__.pop(attr, None)
        pixels, _ = self._validate_spectral(X, reset=True)
        if pixels.shape[0] > self.sample_n:
            rng = check_random_state(self.random_state)
            rows = np.sort(rng.choice(pixels.shape[0], self.sample_n, replace=False))
            pixels = pixels[rows]
        return self._accumulate(pixels)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add every pixel of ``X`` to the running statistics."""
        pixels, _ = self._validate_spectral(X, reset=not hasattr(self, "mean_"))
        return self._accumulate(pixels)

    def _accumulate(self, pixels):
        n_bands = pixels.shape[1]
        if hasattr(self, "mean_"):
            mean, var = self.mean_, self.std_ ** 2
            count = np.full(n_bands, self.n_samples_seen_, dtype=np.int64)
        else:
            mean, var, count = np.zeros(n_bands), np.zeros(n_bands), np.zeros(n_bands, np.int64)
        # Values are within skhsi's magnitude limit (validation), so sums of squares
        # stay finite in float64.
        for start in range(0, pixels.shape[0], _CHUNK):
            chunk = np.asarray(pixels[start:start + _CHUNK], dtype=np.float64)
            mean, var, count = _incremental_mean_and_var(chunk, mean, var, count)
        self.mean_ = np.asarray(mean, dtype=np.float64)
        self.std_ = np.sqrt(var)
        self.n_samples_seen_ = int(count[0])
        return self

    def transform(self, X):
        """Standardise every band, keeping shape and float dtype."""
        pixels, lead = self._check_spectral(X)
        out = (pixels - self.mean_.astype(pixels.dtype)) / (self.std_ + self.eps).astype(
            pixels.dtype
        )
        return restore_shape(out, lead)

    def inverse_transform(self, X):
        """Undo the standardisation."""
        pixels, lead = self._check_spectral(X)
        return restore_shape(pixels * (self.std_ + self.eps) + self.mean_, lead)

    def _as_module(self):
        from ..nn import ZScore

        return ZScore(self.mean_, self.std_, self.eps)

    def _from_module(self, module):
        from ..nn import as_numpy

        self.mean_ = as_numpy(module.mean).astype(np.float64)
        self.std_ = as_numpy(module.std).astype(np.float64)
