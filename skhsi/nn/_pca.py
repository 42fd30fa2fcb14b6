"""Torch side of :class:`skhsi.decomposition.TrainablePCA`.

``PCAProjection`` maps centred spectra onto learnable components,
``ReconstructionOrthogonalityLoss`` is its objective when trained alone and
``BestReconstruction`` keeps the epoch (or the initialisation) with the
smallest reconstruction error.
"""

import copy

import torch
from skorch.callbacks import Callback
from torch import nn

__all__ = ["BestReconstruction", "PCAProjection", "ReconstructionOrthogonalityLoss"]


class PCAProjection(nn.Module):
    """``z = (x - mean) @ components.T``, divided by ``scale`` when whitening.

    ``mean`` and ``scale`` are buffers (fixed statistics); ``components``
    (shape ``(k, n_bands)``) is the trainable parameter. ``reconstruct`` maps
    back with ``components`` itself, so the reconstruction does not depend on
    whitening.

    Parameters
    ----------
    mean : array-like of shape (n_bands,)
    components : array-like of shape (k, n_bands)
    scale : array-like of shape (k,) or None
        Whitening divisors (square roots of the explained variances); ``None``
        for no whitening.
    """

    def __init__(self, mean, components, scale=None):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).clone())
        self.components = nn.Parameter(
            torch.as_tensor(components, dtype=torch.float32).clone())
        self.whiten = scale is not None
        if scale is not None:
            self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).clone())

    def project(self, x):
        """Coordinates along the components, before whitening."""
        return (x - self.mean) @ self.components.T

    def forward(self, x):
        z = self.project(x)
        return z / self.scale if self.whiten else z

    def reconstruct(self, z):
        """Map (whitened, if whitening) coordinates back to spectra."""
        if self.whiten:
            z = z * self.scale
        return z @ self.components + self.mean

    def objective_inputs(self, x):
        """``(reconstruction, x, components)`` for the reconstruction loss."""
        reconstruction = self.project(x) @ self.components + self.mean
        return reconstruction, x, self.components


class ReconstructionOrthogonalityLoss(nn.Module):
    """``mean((x_hat - x)^2) + orthogonality * ||W W^T - I||_F^2``.

    Takes ``y_pred = (x_hat, x, W)`` as produced by
    :meth:`PCAProjection.objective_inputs`; ``y_true`` is ignored.
    """

    def __init__(self, orthogonality=1.0):
        super().__init__()
        self.orthogonality = float(orthogonality)

    def forward(self, y_pred, y_true=None):
        reconstruction, x, components = y_pred
        loss = torch.mean((reconstruction - x) ** 2)
        if self.orthogonality > 0:
            gram = components @ components.T
            eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
            loss = loss + self.orthogonality * torch.sum((gram - eye) ** 2)
        return loss


class BestReconstruction(Callback):
    """Keep the chain weights with the smallest reconstruction MSE.

    Before training it measures the reconstruction error of the initial
    weights on the training pixels; after every epoch it records
    ``reconstruction_mse`` (and ``reconstruction_mse_best``) in the history.
    At the end the best weights are loaded back, which are the initial ones
    when no epoch improved on them: training never leaves the model worse
    than its initialisation. ``init_mse_``, ``best_mse_`` and ``best_epoch_``
    (0 = the initialisation) are set on the callback.
    """

    def __init__(self, batch_size=65536):
        self.batch_size = batch_size

    def _mse(self, net):
        module = net.module_
        was_training = module.training
        module.eval()
        total, count = 0.0, 0
        try:
            with torch.no_grad():
                for start in range(0, len(self._X), self.batch_size):
                    chunk = torch.as_tensor(self._X[start:start + self.batch_size],
                                            dtype=torch.float32).to(net.device)
                    reconstruction, target, _ = module(chunk)
                    total += float(torch.sum((reconstruction - target) ** 2, dtype=torch.float64))
                    count += target.numel()
        finally:
            module.train(was_training)
        return total / max(count, 1)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self._X = X
        self.init_mse_ = self.best_mse_ = self._mse(net)
        self.best_epoch_ = 0
        self._best_state = copy.deepcopy(net.module_.state_dict())

    def on_epoch_end(self, net, **kwargs):
        mse = self._mse(net)
        improved = mse < self.best_mse_
        if improved:
            self.best_mse_ = mse
            self.best_epoch_ = len(net.history)
            self._best_state = copy.deepcopy(net.module_.state_dict())
        net.history.record("reconstruction_mse", mse)
        net.history.record("reconstruction_mse_best", improved)

    def on_train_end(self, net, **kwargs):
        net.module_.load_state_dict(self._best_state)
        self._X = None
        self._best_state = None
