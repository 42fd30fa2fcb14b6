"""A per-pixel MLP classifier head in plain torch."""

import math

import torch
from torch import nn

__all__ = ["PixelCrossEntropy", "SpectralMLP"]


class SpectralMLP(nn.Module):
    """``n_features -> hidden -> n_classes`` with a ReLU; ``forward`` returns logits.

    Parameters
    ----------
    n_features, n_classes : int
    hidden : int
    log_prior : sequence of float or None
        Initial output bias (log class frequencies make the untrained network
        predict the training label distribution).
    generator : torch.Generator or None
        Seeds the weights.
    """

    def __init__(self, n_features, n_classes, *, hidden=64, log_prior=None, generator=None):
        super().__init__()
        self.hidden = nn.utils.skip_init(nn.Linear, n_features, hidden)
        self.activation = nn.ReLU()
        self.output = nn.utils.skip_init(nn.Linear, hidden, n_classes)
        with torch.no_grad():
            for layer in (self.hidden, self.output):
                bound = 1.0 / math.sqrt(layer.weight.shape[1])
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.zero_()
            if log_prior is not None:
                self.output.bias.copy_(torch.as_tensor(log_prior, dtype=torch.float32))

    def forward(self, x):
        return self.output(self.activation(self.hidden(x)))

    def probabilities(self, x):
        return torch.softmax(self.forward(x), dim=-1)


class PixelCrossEntropy(nn.CrossEntropyLoss):
    """Cross-entropy between logits ``(n, K)`` and integer targets ``(n,)``."""

    def forward(self, y_pred, y_true):
        return super().forward(y_pred, y_true.long())
