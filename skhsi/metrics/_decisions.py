"""Metrics on decisions: IoU, precision, recall and F-beta of the anomaly masks."""

from ._validation import _DECISION_PARAMS, _check_beta, _check_decision_pair, _fill_params


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
    from sklearn import metrics as _skm

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
    from sklearn import metrics as _skm

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
    from sklearn import metrics as _skm

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
    from sklearn import metrics as _skm

    return float(_skm.fbeta_score(t, p, beta=beta, zero_division=zd))
