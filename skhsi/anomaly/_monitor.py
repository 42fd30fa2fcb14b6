"""Training monitors for the hypersphere detectors."""

import numpy as np
import torch
from skorch.callbacks import Callback

from .. import metrics

__all__ = ["SphereMonitor", "validation_metric"]


class SphereMonitor(Callback):
    """Record the radius and the training pixels outside the sphere per epoch.

    With ``quantile`` set (the one-class objective, which has no radius term),
    the radius is moved at the end of every epoch to the square root of that
    quantile of the epoch's squared distances, as Ruff et al. do for the
    soft-boundary radius.
    """

    def __init__(self, quantile=None):
        self.quantile = quantile

    def on_epoch_begin(self, net, **kwargs):
        self._outside = 0
        self._dist = []

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        if not training or y_pred is None:
            return
        dist, radius = y_pred
        dist = dist.detach()
        self._outside += int((dist > radius.detach() ** 2).sum())
        if self.quantile is not None:
            self._dist.append(dist.float().cpu().numpy())

    def on_epoch_end(self, net, **kwargs):
        scores = net.module_.head.scores
        if self.quantile is not None and self._dist:
            value = np.sqrt(np.quantile(np.concatenate(self._dist), self.quantile))
            with torch.no_grad():
                scores.radius.fill_(float(value))
        self._dist = []
        radius = float(abs(scores.radius.item()))
        net.history.record("radius", radius)
        net.history.record("n_outside", self._outside)


def validation_metric(name, mask, leading_shape, contamination):
    """A function of per-pixel anomaly scores returning ``name`` on ``mask``.

    ``"iou"`` thresholds the scores at their ``1 - contamination`` quantile.
    """
    mask = np.asarray(mask)
    expected = tuple(leading_shape) if leading_shape is not None else mask.shape

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
