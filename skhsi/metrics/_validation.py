"""Input checks shared by the metrics, and the parameter text of their docstrings."""

import numpy as np


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
