"""A per-pixel MLP classifier head in plain torch."""

import math

import torch
from torch import nn

from ._layers import SeededDropout, init_weights

__all__ = ["PixelCrossEntropy", "SpectralMLP"]


class SpectralMLP(nn.Module):
    """``n_features -> hidden -> n_classes`` with a ReLU and dropout; ``forward`` returns logits.

    Parameters
    ----------
    n_features, n_classes : int
    hidden : int
    log_prior : sequence of float or None
        Initial output bias (log class frequencies make the untrained network
        predict the training label distribution).
    generator : torch.Generator or None
        Seeds the weights.
    init : {"glorot", "he"} or None, default=None
        The weights' initialiser (:func:`init_weights`); ``None`` draws them
        uniformly in ``+-1/sqrt(fan_in)``. The output bias is ``log_prior``.
    dropout : float in [0, 1), default=0.0
        Dropout on the hidden layer in training (a :class:`SeededDropout`).
    seed : int, default=0
        Seeds the dropout masks.
    """

    def __init__(self, n_features, n_classes, *, hidden=64, log_prior=None, generator=None,
                 init=None, dropout=0.0, seed=0):
        super().__init__()
        self.hidden = nn.utils.skip_init(nn.Linear, n_features, hidden)
        self.activation = nn.ReLU()
        self.dropout = SeededDropout(dropout, seed=seed)
        self.output = nn.utils.skip_init(nn.Linear, hidden, n_classes)
        with torch.no_grad():
            for layer in (self.hidden, self.output):
                bound = 1.0 / math.sqrt(layer.weight.shape[1])
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.zero_()
            if init is not None:
                init_weights(self, init, generator=generator)
            if log_prior is not None:
                self.output.bias.copy_(torch.as_tensor(log_prior, dtype=torch.float32))

    def forward(self, x):
        return self.output(self.dropout(self.activation(self.hidden(x))))

    def probabilities(self, x):
        return torch.softmax(self.forward(x), dim=-1)


class PixelCrossEntropy(nn.CrossEntropyLoss):
    """Cross-entropy between logits ``(n, K)`` and integer targets ``(n,)``."""

    def forward(self, y_pred, y_true):
        return super().forward(y_pred, y_true.long())
