"""Validation metrics that select the best training epoch."""

import numpy as np

from .. import metrics

__all__ = ["validation_metric"]


def validation_metric(name, mask, leading_shape, contamination, n_pixels=None):
    """A function of per-pixel anomaly scores returning ``name`` on ``mask``.

    ``"iou"`` thresholds the scores at their ``1 - contamination`` quantile.
    The mask must have the validation data's leading shape (``(n_pixels,)``
    for a pixel table), checked here, before any training.
    """
    mask = np.asarray(mask)
    if leading_shape is not None:
        expected = tuple(leading_shape)
    else:
        expected = (n_pixels,) if n_pixels is not None else mask.shape

    if mask.shape != expected:
        raise ValueError(
            f"validation mask has shape {mask.shape}, expected {expected} to match "
            "the validation cube."
        )

    def score(outputs):
        scores = np.asarray(outputs, dtype=np.float64).reshape(mask.shape)
        if name == "auc":
            return metrics.roc_auc(mask, scores)
        if name == "ap":
            return metrics.average_precision(mask, scores)
        threshold = np.quantile(scores, 1.0 - contamination)
        return metrics.iou(mask, scores >= threshold)

    return score
