"""Scorers for ``GridSearchCV(scoring=...)``: the ready-made ones and their factory."""

from types import MappingProxyType

import numpy as np

from ._decisions import fbeta, iou, precision, recall
from ._scores import average_precision, recall_at_fpr, roc_auc


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
