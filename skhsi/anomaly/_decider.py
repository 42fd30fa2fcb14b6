"""Turn score maps into boolean anomaly masks, one threshold per image."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted


class QuantileBinaryDecider(TransformerMixin, BaseEstimator):
    """Flag the pixels whose anomaly score is ``>=`` their image's quantile.

    Works on anomaly scores (higher = more anomalous) of any detector:
    a vector of pixel scores ``(n,)`` and a map ``(H, W)`` are one image; a
    batch of maps ``(N, H, W)`` gets one threshold per image. Nothing is
    learned: ``fit`` only checks the input, and any map size can be
    thresholded afterwards.

    Parameters
    ----------
    quantile : float in [0, 1], default=0.995
        Quantile of each image's scores used as its threshold.

    Attributes
    ----------
    n_features_in_ : int
        Width of the maps seen in ``fit`` (informative only).

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.anomaly import QuantileBinaryDecider
    >>> scores = np.arange(100.0).reshape(10, 10)
    >>> mask = QuantileBinaryDecider(quantile=0.95).fit_transform(scores)
    >>> mask.dtype, int(mask.sum())
    (dtype('bool'), 5)
    """

    _parameter_constraints = {"quantile": [Interval(Real, 0, 1, closed="both")]}

    def __init__(self, quantile=0.995):
        self.quantile = quantile

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the score map(s); nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n,), (H, W) or (N, H, W)
        y : ignored

        Returns
        -------
        self
        """
        maps = self._check_maps(X)
        self.n_features_in_ = maps.shape[-1]
        return self

    def transform(self, X):
        """Boolean mask, True where the score reaches the image's quantile.

        Parameters
        ----------
        X : array-like of shape (n,), (H, W) or (N, H, W)

        Returns
        -------
        ndarray of bool with the shape of ``X``
        """
        check_is_fitted(self)
        maps = self._check_maps(X)
        return maps >= self.thresholds(maps)

    def thresholds(self, X):
        """The threshold of every image, broadcastable against ``X``.

        Parameters
        ----------
        X : array-like of shape (n,), (H, W) or (N, H, W)

        Returns
        -------
        ndarray of shape (1,), (1, 1) or (N, 1, 1)
        """
        maps = self._check_maps(X)
        if maps.ndim == 3:
            flat = maps.reshape(maps.shape[0], -1)
            return np.quantile(flat, self.quantile, axis=1)[:, None, None]
        return np.full((1,) * maps.ndim, np.quantile(maps, self.quantile))

    def _check_maps(self, X):
        ndim = getattr(X, "ndim", None)
        if ndim is None:
            X = np.asarray(X)
            ndim = X.ndim
        if ndim not in (1, 2, 3):
            raise ValueError(
                "QuantileBinaryDecider expects anomaly scores of shape (n,), (H, W) or "
                f"(N, H, W); got a {ndim}-D array of shape {np.shape(X)}."
            )
        return check_array(X, dtype=[np.float64, np.float32], ensure_2d=False,
                           allow_nd=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
