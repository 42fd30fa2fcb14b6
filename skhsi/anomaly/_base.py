"""scikit-learn's outlier API for per-pixel anomaly detectors."""

from numbers import Real

import numpy as np
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..base import SpectralMixin, restore_shape

__all__ = ["SpectralOutlierMixin"]


class SpectralOutlierMixin(SpectralMixin, OutlierMixin):
    """Outlier API on top of ``_anomaly_scores(pixels)`` (higher = more anomalous).

    ``score_samples`` is its negation (higher = more normal, as in
    scikit-learn), ``decision_function = score_samples - offset_`` is negative
    for anomalies, ``predict`` returns -1 for anomalies and +1 otherwise, and
    ``anomaly_score`` is ``-score_samples``. Cube input gives maps: ``(H, W)``
    for a cube and ``(N, H, W)`` for a batch; image-layout detectors given a
    list of cubes return a list of maps.
    """

    _contamination_constraint = [Interval(Real, 0, 0.5, closed="right")]

    def _set_offset(self, anomaly_scores):
        """``offset_`` so that a fraction ``contamination`` of the pixels is flagged."""
        self.offset_ = float(np.percentile(-anomaly_scores, 100.0 * self.contamination))

    def _map(self, X):
        pixels, lead = self._check_spectral(X)
        return restore_shape(self._anomaly_scores(pixels), lead)

    def anomaly_score(self, X):
        """Anomaly score of every pixel (higher = more anomalous).

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (n,), (H, W) or (N, H, W)
        """
        return self._map(X)

    def score_samples(self, X):
        """Normality score of every pixel (higher = more normal): ``-anomaly_score``."""
        return _each(self._map(X), np.negative)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for anomalies."""
        check_is_fitted(self)
        return _each(self.score_samples(X), lambda s: s - self.offset_)

    def predict(self, X):
        """-1 for anomalies, +1 for normal pixels, with the input's leading shape."""
        return self._labels(self.anomaly_score(X))

    def fit_anomaly_score(self, X, y=None):
        """``fit(X)``, then the anomaly score of every pixel of ``X``.

        Detectors that score their training pixels in ``fit`` (to set
        ``offset_``) return those scores instead of computing them twice.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        ndarray of shape (n,), (H, W) or (N, H, W)
        """
        return self.fit(X, y).anomaly_score(X)

    def _labels(self, anomaly_scores):
        """-1 where ``-anomaly_scores - offset_ < 0`` (``decision_function < 0``), else +1."""
        return _each(anomaly_scores, lambda a: np.where(-a - self.offset_ < 0, -1, 1))


def _each(values, fn):
    """``fn`` of an array, or of each map of a list (image nodes given a list of cubes)."""
    if isinstance(values, list):
        return [fn(v) for v in values]
    return fn(values)
