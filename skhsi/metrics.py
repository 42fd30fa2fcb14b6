"""Metrics and ``GridSearchCV`` scorers for hyperspectral anomaly detection.

Conventions
-----------
- ``y_true`` is a ground-truth mask of any leading shape (``(n_pixels,)``,
  ``(H, W)`` or ``(N, H, W)``), boolean or 0/1, ``True``/1 = anomaly.
- ``scores`` are anomaly scores of the same shape, higher = more anomalous.
- ``y_pred`` are decisions of the same shape: a boolean (or 0/1) mask with
  ``True`` = anomaly, or scikit-learn outlier labels in {-1, +1} with -1 =
  anomaly. An integer array holding only 1 is read as {-1, +1} labels (every
  pixel normal), which is what ``predict`` returns when it flags nothing; pass a
  boolean mask to avoid the ambiguity.
- Every metric pools all pixels (both arrays are ravelled).
- A score threshold ``t`` flags the pixels with ``scores >= t``.
- Decision metrics whose denominator is zero return 1.0 when both masks are empty
  (nothing to find and nothing reported) and 0.0 otherwise.
"""

from types import MappingProxyType

import numpy as np
from sklearn import metrics as _skm

__all__ = [
    "SCORERS", "average_precision", "average_precision_scorer", "best_fbeta_threshold",
    "f1_scorer", "fbeta", "get_scorer", "iou", "iou_scorer", "make_anomaly_scorer",
    "precision", "precision_scorer", "recall", "recall_at_fpr", "recall_at_fpr_scorer",
    "recall_scorer", "roc_auc", "roc_auc_scorer", "threshold_for_recall",
]


# ----------------------------------------------------------------------------- validation
def _check_same_shape(y_true, other, name):
    if y_true.shape != other.shape:
        raise ValueError(
            f"y_true has shape {y_true.shape} but {name} has shape {other.shape}; "
            "they must match exactly."
        )


def _check_mask(y_true):
    y = np.asarray(y_true)
    if y.size == 0:
        raise ValueError("y_true is empty; expected a mask with at least one pixel.")
    if y.dtype == bool:
        return y.ravel()
    if y.dtype.kind in "iuf":
        bad = ~np.isin(y, (0, 1))
        if not bad.any():
            return y.ravel() == 1
        detail = f"values {np.unique(y[bad])[:5].tolist()}"
    else:
        detail = f"dtype {y.dtype}"
    raise ValueError(
        f"y_true must be a boolean or 0/1 mask (True/1 = anomaly); got {detail}."
    )


def _check_scores(y_true, scores):
    y, s = np.asarray(y_true), np.asarray(scores)
    _check_same_shape(y, s, "scores")
    y = _check_mask(y)
    if s.dtype.kind not in "biuf":
        raise ValueError(f"scores must be numeric; got dtype {s.dtype}.")
    s = s.astype(np.float64).ravel()
    n_bad = np.count_nonzero(~np.isfinite(s))
    if n_bad:
        raise ValueError(f"scores contain NaN or inf in {n_bad} of {s.size} pixels.")
    return y, s


def _check_decisions(y_pred):
    p = np.asarray(y_pred)
    if p.dtype == bool:
        return p.ravel()
    if p.dtype.kind in "iuf":
        values = set(np.unique(p).tolist())
        if values <= {-1, 1}:
            return p.ravel() == -1
        if values <= {0, 1}:
            return p.ravel() == 1
        detail = f"values {sorted(values, key=str)[:5]}"
    else:
        detail = f"dtype {p.dtype}"
    raise ValueError(
        "y_pred must be a boolean or 0/1 mask (True/1 = anomaly) or outlier labels "
        f"in {{-1, +1}} (-1 = anomaly); got {detail}."
    )


def _check_decision_pair(y_true, y_pred):
    t, p = np.asarray(y_true), np.asarray(y_pred)
    _check_same_shape(t, p, "y_pred")
    t, p = _check_mask(t), _check_decisions(p)
    zero_division = 0.0 if (t.any() or p.any()) else 1.0
    return t, p, zero_division


def _require_anomalies(y, what):
    if not y.any():
        raise ValueError(f"y_true has no anomalies (no True pixels); {what} is undefined.")


def _require_both_classes(y, what):
    _require_anomalies(y, what)
    if y.all():
        raise ValueError(f"y_true has no normal pixels (all True); {what} is undefined.")


def _check_fraction(value, name, low_open):
    ok = (0 < value <= 1) if low_open else (0 <= value <= 1)
    if not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must be in {interval}; got {value!r}.")


def _check_beta(beta):
    if not beta > 0:
        raise ValueError(f"beta must be positive; got {beta!r}.")


# ------------------------------------------------------------------------- docstrings
_Y_TRUE = """Parameters
    ----------
    y_true : array-like of bool or {0, 1}, any shape
        Ground-truth mask, True = anomaly."""
_SCORE_PARAMS = _Y_TRUE + """
    scores : array-like of float, same shape as ``y_true``
        Anomaly scores, higher = more anomalous."""
_DECISION_PARAMS = _Y_TRUE + """
    y_pred : array-like, same shape as ``y_true``
        Decisions: boolean or 0/1 mask (True = anomaly) or outlier labels
        in {-1, +1} (-1 = anomaly)."""


def _fill_params(text):
    def decorate(func):
        if func.__doc__:  # None under python -OO
            func.__doc__ = func.__doc__.replace("{params}", text)
        return func

    return decorate


# ------------------------------------------------------------------------- score metrics
@_fill_params(_SCORE_PARAMS)
def roc_auc(y_true, scores):
    """Area under the ROC curve of anomaly scores, pooled over all pixels.

    {params}

    Returns
    -------
    float
        ROC AUC; 0.5 is chance, 1.0 a perfect ranking.

    Examples
    --------
    >>> roc_auc([[0, 0], [1, 0]], [[0.1, 0.4], [0.8, 0.3]])
    1.0
    """
    y, s = _check_scores(y_true, scores)
    _require_both_classes(y, "ROC AUC")
    return float(_skm.roc_auc_score(y, s))


@_fill_params(_SCORE_PARAMS)
def average_precision(y_true, scores):
    """Average precision (area under the precision-recall curve), pooled.

    {params}

    Returns
    -------
    float
        Average precision in [0, 1].

    Examples
    --------
    >>> average_precision([1, 0, 0, 1], [0.9, 0.8, 0.7, 0.6])
    0.75
    """
    y, s = _check_scores(y_true, scores)
    _require_both_classes(y, "average precision")
    return float(_skm.average_precision_score(y, s))


@_fill_params(_SCORE_PARAMS)
def recall_at_fpr(y_true, scores, *, fpr=0.01):
    """Highest recall whose false-positive rate is at most ``fpr``.

    {params}
    fpr : float in [0, 1], default=0.01
        Largest admissible fraction of normal pixels flagged.

    Returns
    -------
    float
        Recall (true-positive rate) of the best threshold within budget.

    Examples
    --------
    >>> recall_at_fpr([1, 1, 0, 0, 0, 0], [0.9, 0.3, 0.8, 0.7, 0.1, 0.0], fpr=0.25)
    0.5
    """
    _check_fraction(fpr, "fpr", low_open=False)
    y, s = _check_scores(y_true, scores)
    _require_both_classes(y, "recall at a fixed FPR")
    fprs, tprs, _ = _skm.roc_curve(y, s, drop_intermediate=False)
    return float(tprs[fprs <= fpr].max())


@_fill_params(_SCORE_PARAMS)
def threshold_for_recall(y_true, scores, *, recall=0.95):
    """Highest threshold whose recall reaches ``recall`` (a high-recall operating point).

    Pixels with ``scores >= threshold`` are flagged; any higher threshold misses
    the target.

    {params}
    recall : float in (0, 1], default=0.95
        Target fraction of anomalous pixels to flag.

    Returns
    -------
    float
        The threshold (one of the anomalous pixels' scores).

    Examples
    --------
    >>> threshold_for_recall([1, 1, 1, 1, 0], [0.9, 0.7, 0.4, 0.2, 0.5], recall=0.75)
    0.4
    """
    _check_fraction(recall, "recall", low_open=True)
    y, s = _check_scores(y_true, scores)
    _require_anomalies(y, "recall")
    positives = np.sort(s[y])[::-1]
    reached = np.arange(1, positives.size + 1) / positives.size >= recall
    return float(positives[np.argmax(reached)])


@_fill_params(_SCORE_PARAMS)
def best_fbeta_threshold(y_true, scores, *, beta=1.0):
    """Threshold maximising F-beta, and that F-beta.

    Ties go to the highest threshold (fewest flagged pixels).

    {params}
    beta : float > 0, default=1.0
        Weight of recall relative to precision.

    Returns
    -------
    threshold : float
        Flag pixels with ``scores >= threshold``.
    fbeta : float
        F-beta of those decisions.

    Examples
    --------
    >>> best_fbeta_threshold([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.7])
    (0.6, 0.8)
    """
    _check_beta(beta)
    y, s = _check_scores(y_true, scores)
    _require_anomalies(y, "F-beta")
    prec, rec, thresholds = _skm.precision_recall_curve(y, s)
    prec, rec, b2 = prec[:-1], rec[:-1], beta**2
    denom = b2 * prec + rec
    f = np.divide((1 + b2) * prec * rec, denom, out=np.zeros_like(denom), where=denom > 0)
    best = f.size - 1 - np.argmax(f[::-1])
    return float(thresholds[best]), float(f[best])


# ---------------------------------------------------------------------- decision metrics
@_fill_params(_DECISION_PARAMS)
def iou(y_true, y_pred):
    """Intersection over union of the anomaly masks (Jaccard index).

    Two empty masks give 1.0.

    {params}

    Returns
    -------
    float

    Examples
    --------
    >>> iou([1, 1, 0, 0], [1, 0, 1, 0])
    0.3333333333333333
    >>> iou([0, 0], [1, 1])  # {-1, +1} labels: nothing flagged, nothing to find
    1.0
    """
    t, p, zd = _check_decision_pair(y_true, y_pred)
    return float(_skm.jaccard_score(t, p, zero_division=zd))


@_fill_params(_DECISION_PARAMS)
def precision(y_true, y_pred):
    """Fraction of flagged pixels that are anomalies.

    With nothing flagged: 1.0 if ``y_true`` is empty too, else 0.0.

    {params}

    Returns
    -------
    float

    Examples
    --------
    >>> precision([True, True, False, False], [True, False, True, True])
    0.3333333333333333
    """
    t, p, zd = _check_decision_pair(y_true, y_pred)
    return float(_skm.precision_score(t, p, zero_division=zd))


@_fill_params(_DECISION_PARAMS)
def recall(y_true, y_pred):
    """Fraction of anomalous pixels that are flagged.

    With no anomalies: 1.0 if nothing is flagged either, else 0.0.

    {params}

    Returns
    -------
    float

    Examples
    --------
    >>> recall([1, 1, 0, 0], [-1, 1, -1, -1])
    0.5
    """
    t, p, zd = _check_decision_pair(y_true, y_pred)
    return float(_skm.recall_score(t, p, zero_division=zd))


@_fill_params(_DECISION_PARAMS)
def fbeta(y_true, y_pred, *, beta=1.0):
    """F-beta score of the decisions; ``beta > 1`` favours recall.

    Two empty masks give 1.0.

    {params}
    beta : float > 0, default=1.0
        Weight of recall relative to precision.

    Returns
    -------
    float

    Examples
    --------
    >>> fbeta([1, 1, 0, 0], [1, 0, 1, 1])
    0.4
    """
    _check_beta(beta)
    t, p, zd = _check_decision_pair(y_true, y_pred)
    return float(_skm.fbeta_score(t, p, beta=beta, zero_division=zd))


# ------------------------------------------------------------------------------- scorers
def _anomaly_scores(estimator, X):
    if hasattr(estimator, "anomaly_score"):
        return np.asarray(estimator.anomaly_score(X))
    for method in ("score_samples", "decision_function"):
        if hasattr(estimator, method):  # scikit-learn: higher = more normal
            return -np.asarray(getattr(estimator, method)(X), dtype=np.float64)
    raise TypeError(
        f"{type(estimator).__name__} has none of anomaly_score, score_samples or "
        "decision_function; a score-based scorer needs one of them."
    )


class _AnomalyScorer:
    """Callable ``scorer(estimator, X, y) -> float``, greater is better."""

    def __init__(self, metric, needs, kwargs):
        self._metric, self._needs, self._kwargs = metric, needs, kwargs

    def __call__(self, estimator, X, y=None):
        if y is None:
            raise ValueError("anomaly scorers need the ground-truth mask as y; got None.")
        if self._needs == "scores":
            out = _anomaly_scores(estimator, X)
        else:
            out = estimator.predict(X)
        return float(self._metric(y, out, **self._kwargs))

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self._kwargs.items())
        name = getattr(self._metric, "__name__", repr(self._metric))
        return f"make_anomaly_scorer({name}, needs={self._needs!r}{args})"


def make_anomaly_scorer(metric, *, needs="scores", **kwargs):
    """Turn a metric into a scorer for ``GridSearchCV(scoring=...)``.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, y_score_or_pred, **kwargs) -> float``, greater is better.
    needs : {"scores", "decisions"}, default="scores"
        ``"scores"`` passes the estimator's ``anomaly_score(X)``, else
        ``-score_samples(X)``, else ``-decision_function(X)``; ``"decisions"``
        passes ``predict(X)`` (-1 = anomaly).
    **kwargs
        Forwarded to ``metric``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float`` with ``y`` the ground-truth mask.

    Examples
    --------
    >>> scorer = make_anomaly_scorer(fbeta, needs="decisions", beta=2.0)
    >>> scorer
    make_anomaly_scorer(fbeta, needs='decisions', beta=2.0)
    """
    if not callable(metric):
        raise TypeError(f"metric must be callable; got {type(metric).__name__}.")
    if needs not in ("scores", "decisions"):
        raise ValueError(f"needs must be 'scores' or 'decisions'; got {needs!r}.")
    return _AnomalyScorer(metric, needs, dict(kwargs))


roc_auc_scorer = make_anomaly_scorer(roc_auc)
average_precision_scorer = make_anomaly_scorer(average_precision)
recall_at_fpr_scorer = make_anomaly_scorer(recall_at_fpr)
iou_scorer = make_anomaly_scorer(iou, needs="decisions")
precision_scorer = make_anomaly_scorer(precision, needs="decisions")
recall_scorer = make_anomaly_scorer(recall, needs="decisions")
f1_scorer = make_anomaly_scorer(fbeta, needs="decisions")

SCORERS = MappingProxyType({
    "roc_auc": roc_auc_scorer,
    "average_precision": average_precision_scorer,
    "recall_at_fpr": recall_at_fpr_scorer,
    "iou": iou_scorer,
    "precision": precision_scorer,
    "recall": recall_scorer,
    "f1": f1_scorer,
})
"""Read-only mapping from scorer name to scorer."""


def get_scorer(name):
    """Return the scorer called ``name`` (a callable is returned unchanged).

    Parameters
    ----------
    name : str or callable
        One of ``"roc_auc"``, ``"average_precision"``, ``"recall_at_fpr"``,
        ``"iou"``, ``"precision"``, ``"recall"``, ``"f1"``.

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> get_scorer("iou")
    make_anomaly_scorer(iou, needs='decisions')
    """
    if callable(name):
        return name
    try:
        return SCORERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown scorer {name!r}; choose one of {sorted(SCORERS)}."
        ) from None
