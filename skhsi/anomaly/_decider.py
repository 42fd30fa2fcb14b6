"""Turn score maps into boolean anomaly masks: per-image quantiles, a false-alarm rate
calibrated on a reference scene, or a recall target."""

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

    def _spatial_reach(self):
        """Global: every map is thresholded at its own quantile."""
        return SpatialReach(GLOBAL)

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
        return _check_maps(self, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


class _FixedThreshold(TransformerMixin, BaseEstimator):
    """A decider whose ``fit`` learns one number, ``threshold_``, applied to every map."""

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
        tags.transformer_tags.preserves_dtype = []
        return tags


class FalseAlarmDecider(_FixedThreshold):
    """Flag the scores a reference scene exceeds at most at a stated false-alarm rate.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    ``fit`` takes the anomaly scores (higher = more anomalous) of a reference
    scene, mostly background, and keeps its empirical tail: the threshold
    ``threshold_`` is the ``k``-th highest reference score with
    ``k = max(1, floor(false_alarm_rate * n))``, so at most the fraction
    ``false_alarm_rate`` of the reference pixels reaches it. Anomalies in the
    reference only take places in that top, so the rate at which its
    background pixels are flagged is at most ``false_alarm_rate / (1 -
    share of anomalies)``, and lower when the anomalies score highest.
    Unlike :class:`QuantileBinaryDecider` the threshold is one number,
    applied unchanged to every map given to ``transform``: on maps of the
    reference scene's kind it keeps its rate, and a map that is flagged far
    more often than ``false_alarm_rate`` differs from the reference.

    :meth:`false_alarm_probability` turns any score into the share of the
    reference pixels scoring at least as high (the conformal p-value
    ``(count + 1) / (n + 1)``), read from ``tail_scores_``: the reference
    scores at ranks spaced evenly in log rank from the top, so that the
    rare end is kept exactly and the model file stays small.

    Extreme-value models of the tail (a generalised Pareto distribution fitted
    below the top percent) were measured on eight real scenes and did not
    hold their rate better than the empirical tail: the fitted shapes are
    heavy and uncertain, and the extrapolated thresholds flagged no
    background pixel at all on most scenes at ``1e-3``.

    Parameters
    ----------
    false_alarm_rate : float in (0, 1), default=0.01
        Largest share of the reference pixels flagged.

    Attributes
    ----------
    threshold_ : float
        The decision threshold; ``transform`` flags ``scores >= threshold_``.
    flagged_rate_ : float
        Share of the reference pixels flagged (``<= false_alarm_rate``).
    tail_scores_ : ndarray of shape (n_knots,)
        Reference scores at the ranks ``tail_ranks_``, decreasing.
    tail_ranks_ : ndarray of shape (n_knots,)
        Ranks from the top (1 = the highest score), increasing.
    n_reference_ : int
        Number of reference pixels.
    n_features_in_ : int
        Width of the maps seen in ``fit`` (informative only).

    See Also
    --------
    QuantileBinaryDecider : a threshold per image, from its own scores.
    RecallThresholdDecider : a threshold for a recall target, from labelled scores.

    References
    ----------
    .. [1] V. Vovk, A. Gammerman and G. Shafer, "Algorithmic Learning in a
       Random World", Springer, 2005 (conformal p-values).

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.anomaly import FalseAlarmDecider
    >>> reference = np.random.default_rng(0).exponential(size=(100, 100))
    >>> decider = FalseAlarmDecider(false_alarm_rate=0.01).fit(reference)
    >>> decider.flagged_rate_, int(decider.transform(reference).sum())
    (0.01, 100)
    >>> p = decider.false_alarm_probability(np.array([0.0, decider.threshold_, 1e9]))
    >>> [round(float(v), 4) for v in p]   # all reference pixels, its top 1 %, beyond them all
    [1.0, 0.0101, 0.0001]
    """

    _parameter_constraints = {
        "false_alarm_rate": [Interval(Real, 0, 1, closed="neither")],
    }

    _N_TAIL_KNOTS = 512

    def __init__(self, false_alarm_rate=0.01):
        self.false_alarm_rate = false_alarm_rate

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Keep the reference scores' tail and the threshold of the rate.

        Parameters
        ----------
        X : array-like of shape (n,), (H, W) or (N, H, W)
            Anomaly scores of the reference scene(s), higher = more anomalous.
        y : ignored

        Returns
        -------
        self
        """
        maps = _check_maps(self, X)
        scores = np.sort(maps.ravel().astype(np.float64))[::-1]
        n = scores.size
        ranks = np.unique(np.geomspace(1, n, self._N_TAIL_KNOTS).round().astype(np.int64))
        self.threshold_ = float(scores[false_alarm_rank(self.false_alarm_rate, n) - 1])
        self.flagged_rate_ = float(np.count_nonzero(scores >= self.threshold_) / n)
        self.tail_ranks_ = ranks.astype(np.float64)
        self.tail_scores_ = scores[ranks - 1]
        self.n_reference_ = int(n)
        self.n_features_in_ = maps.shape[-1]
        return self

    def false_alarm_probability(self, X):
        """Share of the reference pixels scoring at least as high as each score.

        The conformal p-value ``(count + 1) / (n + 1)`` with ``count`` the
        reference scores ``>=`` the score, interpolated linearly in log rank
        between the kept ranks: ``1 / (n + 1)`` above the highest reference
        score, 1 at or below the lowest.

        Parameters
        ----------
        X : array-like of shape (n,), (H, W) or (N, H, W)
            Anomaly scores.

        Returns
        -------
        ndarray of float64 with the shape of ``X``, values in ``(0, 1]``
        """
        check_is_fitted(self)
        maps = _check_maps(self, X).astype(np.float64, copy=False)
        # increasing scores against log(count): the highest score has count 1
        log_count = np.interp(maps, self.tail_scores_[::-1], np.log(self.tail_ranks_[::-1]))
        count = np.where(maps > self.tail_scores_[0], 0.0, np.exp(log_count))
        count = np.where(maps <= self.tail_scores_[-1], self.n_reference_, count)
        return (count + 1.0) / (self.n_reference_ + 1.0)

class RecallThresholdDecider(_FixedThreshold):
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def false_alarm_rank(rate, n):
    """How many of ``n`` pixels a false-alarm ``rate`` flags: ``max(1, floor(rate * n))``.

    The threshold of the rate is the score of that rank from the top, so at
    most the share ``rate`` of the pixels reaches it (ties aside), and a rate
    below one pixel still flags the highest.
    """
    return max(1, int(np.floor(rate * n)))


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
