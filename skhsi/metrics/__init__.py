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

from . import _scorers
from ._decisions import fbeta, iou, precision, recall
from ._scorers import (
    average_precision_scorer,
    f1_scorer,
    get_scorer,
    iou_scorer,
    make_anomaly_scorer,
    precision_scorer,
    recall_at_fpr_scorer,
    recall_scorer,
    roc_auc_scorer,
)
from ._scores import (
    average_precision,
    best_fbeta_threshold,
    recall_at_fpr,
    roc_auc,
    threshold_for_recall,
)

__all__ = [
    "SCORERS", "average_precision", "average_precision_scorer", "best_fbeta_threshold",
    "f1_scorer", "fbeta", "get_scorer", "iou", "iou_scorer", "make_anomaly_scorer",
    "precision", "precision_scorer", "recall", "recall_at_fpr", "recall_at_fpr_scorer",
    "recall_scorer", "roc_auc", "roc_auc_scorer", "threshold_for_recall",
]

SCORERS = _scorers.SCORERS
"""Read-only mapping from scorer name to scorer."""
