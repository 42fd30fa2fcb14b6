"""Metrics on anomaly scores, and score thresholds for an operating point."""

import numpy as np

from ._validation import (
    _SCORE_PARAMS,
    _check_beta,
    _check_fraction,
    _check_scores,
    _fill_params,
    _require_anomalies,
    _require_both_classes,
)


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
    from sklearn import metrics as _skm

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
    from sklearn import metrics as _skm

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
    from sklearn import metrics as _skm

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
    from sklearn import metrics as _skm

    prec, rec, thresholds = _skm.precision_recall_curve(y, s)
    prec, rec, b2 = prec[:-1], rec[:-1], beta**2
    denom = b2 * prec + rec
    f = np.divide((1 + b2) * prec * rec, denom, out=np.zeros_like(denom), where=denom > 0)
    best = f.size - 1 - np.argmax(f[::-1])
    return float(thresholds[best]), float(f[best])
