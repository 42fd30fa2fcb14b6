"""skorch callbacks specific to skhsi's modules."""

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = ["SphereMonitor"]


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
