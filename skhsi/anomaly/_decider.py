"""Turn score maps into boolean anomaly masks: per-image quantiles, or a recall target."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted

from ..base import GLOBAL, SpatialReach


class QuantileBinaryDecider(TransformerMixin, BaseEstimator):
    """Flag the pixels whose anomaly score is ``>=`` their image's quantile.

    Read more in the :ref:`User Guide <anomaly_detection>`.

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
    def _spatial_reach(self):
        """Global: every map is thresholded at its own quantile."""
        return SpatialReach(GLOBAL)

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
        return _check_maps(self, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


class RecallThresholdDecider(TransformerMixin, BaseEstimator):
    """Flag the pixels whose anomaly score is ``>=`` a threshold set for a target recall.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    The high-recall operating point: ``fit`` takes anomaly scores (higher =
    more anomalous) of labelled validation data and their ground-truth mask,
    and keeps the largest threshold ``t`` such that ``scores >= t`` finds at
    least the fraction ``target_recall`` of the anomalous pixels. It is the
    ``k``-th largest score of the anomalies, with ``k`` the smallest count
    for which ``k / n_anomalies >= target_recall``. Unlike
    :class:`QuantileBinaryDecider` the threshold is one number, learned once
    and applied to every map given to ``transform``.

    Parameters
    ----------
    target_recall : float in (0, 1], default=0.95
        Fraction of the anomalous validation pixels the threshold must find.
    beta : float > 0, default=2.0
        The beta of ``fbeta_`` (beta > 1 weighs recall more than precision).

    Attributes
    ----------
    threshold_ : float
        The decision threshold; ``transform`` flags ``scores >= threshold_``.
    recall_ : float
        Recall reached on the fit data (``>= target_recall``).
    precision_ : float
        Precision on the fit data.
    false_positive_rate_ : float
        Fraction of the normal fit pixels flagged (0 when ``y`` has none).
    fbeta_ : float
        F-beta score on the fit data.
    n_features_in_ : int
        Width of the maps seen in ``fit`` (informative only).

    See Also
    --------
    QuantileBinaryDecider : a threshold per image, without labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.anomaly import RecallThresholdDecider
    >>> scores = np.array([[0.1, 0.2, 0.9], [0.4, 0.8, 0.3]])
    >>> mask = np.array([[0, 0, 1], [1, 0, 0]])
    >>> decider = RecallThresholdDecider(target_recall=1.0).fit(scores, mask)
    >>> decider.threshold_, decider.recall_, round(decider.precision_, 3)
    (0.4, 1.0, 0.667)
    >>> decider.transform(scores)
    array([[False, False,  True],
           [ True,  True, False]])
    """

    _parameter_constraints = {
        "target_recall": [Interval(Real, 0, 1, closed="right")],
        "beta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, target_recall=0.95, *, beta=2.0):
        self.target_recall = target_recall
        self.beta = beta

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Set the threshold from validation scores and their ground-truth mask.

        Parameters
        ----------
        X : array-like of shape (n,), (H, W) or (N, H, W)
            Anomaly scores, higher = more anomalous.
        y : array-like of bool or {0, 1}, same shape as ``X``
            Ground-truth mask, True = anomaly; needs at least one anomaly.

        Returns
        -------
        self
        """
        if y is None:
            raise ValueError(
                "RecallThresholdDecider requires y to be passed, but the target y is "
                "None: the recall threshold needs labelled validation data, so call "
                "fit(scores, y) with y the ground-truth mask (True = anomaly) of the "
                "scores. For unlabelled images use QuantileBinaryDecider, which "
                "thresholds every image at a quantile of its own scores."
            )
        maps = _check_maps(self, X)
        mask = _check_mask(y, maps.shape)
        scores = maps.ravel().astype(np.float64)
        positives = np.sort(scores[mask])[::-1]
        n_pos = positives.size
        reached = np.arange(1, n_pos + 1) / n_pos >= self.target_recall
        self.threshold_ = float(positives[np.argmax(reached)])
        flagged = scores >= self.threshold_
        tp = int(np.count_nonzero(flagged & mask))
        fp = int(np.count_nonzero(flagged & ~mask))
        n_neg = mask.size - n_pos
        self.recall_ = tp / n_pos
        self.precision_ = tp / (tp + fp)
        self.false_positive_rate_ = fp / n_neg if n_neg else 0.0
        b2 = self.beta ** 2
        self.fbeta_ = float((1 + b2) * self.precision_ * self.recall_
                            / (b2 * self.precision_ + self.recall_))
        self.n_features_in_ = maps.shape[-1]
        return self

    def transform(self, X):
        """Boolean mask, True where the score is ``>= threshold_``.

        Parameters
        ----------
        X : array-like of shape (n,), (H, W) or (N, H, W)

        Returns
        -------
        ndarray of bool with the shape of ``X``
        """
        check_is_fitted(self)
        return _check_maps(self, X) >= self.threshold_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def _check_maps(estimator, X):
    """Validated anomaly scores of shape (n,), (H, W) or (N, H, W)."""
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        X = np.asarray(X)
        ndim = X.ndim
    if ndim not in (1, 2, 3):
        raise ValueError(
            f"{type(estimator).__name__} expects anomaly scores of shape (n,), (H, W) or "
            f"(N, H, W); got a {ndim}-D array of shape {np.shape(X)}."
        )
    return check_array(X, dtype=[np.float64, np.float32], ensure_2d=False, allow_nd=True)


def _check_mask(y, shape):
    """``y`` as a flat boolean mask of ``shape`` with at least one anomaly."""
    mask = np.asarray(y)
    if mask.shape != tuple(shape):
        raise ValueError(
            f"y must be a mask with the shape of the scores: scores have shape "
            f"{tuple(shape)}, y has shape {mask.shape}."
        )
    if mask.dtype != bool:
        if mask.dtype.kind not in "iuf":
            bad = f"dtype {mask.dtype}"
        else:
            values = np.unique(mask)
            bad = values[~np.isin(values, (0, 1))]
            bad = f"values {bad[:5].tolist()}" if bad.size else None
        if bad is not None:
            raise ValueError(f"y must be a boolean or 0/1 mask (True/1 = anomaly); got {bad}.")
        mask = mask == 1
    mask = mask.ravel()
    if not mask.any():
        raise ValueError(
            "y has no anomaly (no True/1 pixel): the recall of a threshold is undefined "
            "without anomalous pixels in the validation data."
        )
    return mask
