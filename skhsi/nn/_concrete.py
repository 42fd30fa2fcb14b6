"""Concrete (Gumbel-softmax) band selection (Abid et al., ICML 2019) in plain torch.

``ConcreteSelect`` holds ``n_select x n_features`` logits and the sampling
temperature (a buffer). In training mode, while its logits are trainable, each
output channel is a Gumbel-softmax-weighted mix of the bands; otherwise it is
the hard selection: every row's best band, with collisions resolved greedily
(``distinct_argmax``). ``set_epoch`` anneals the temperature exponentially; the
training loop calls it at the start of every epoch.
"""

import math

import torch
from torch import nn

__all__ = [
    "ConcreteAutoencoder",
    "ConcreteLoss",
    "ConcreteSelect",
    "distinct_argmax",
    "distinctness_penalty",
]


def distinct_argmax(scores):
    """Best column per row with no column used twice.

    Rows are served in decreasing order of their best score; each takes its
    best column not yet taken by a more confident row (the next-best distinct
    band when the argmax collides).

    Parameters
    ----------
    scores : Tensor of shape (k, C) with k <= C

    Returns
    -------
    LongTensor of shape (k,)

    Examples
    --------
    >>> import torch
    >>> distinct_argmax(torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.15, 0.05]])).tolist()
    [0, 1]
    """
    scores = scores.detach().float().cpu()
    k, n = scores.shape
    if k > n:
        raise ValueError(f"Cannot pick {k} distinct columns out of {n}.")
    order = torch.argsort(scores.max(dim=1).values, descending=True, stable=True)
    ranked = torch.argsort(scores, dim=1, descending=True, stable=True)
    taken = torch.zeros(n, dtype=torch.bool)
    out = torch.empty(k, dtype=torch.long)
    for row in order.tolist():
        for col in ranked[row].tolist():
            if not taken[col]:
                taken[col] = True
                out[row] = col
                break
    return out


def distinctness_penalty(probs):
    """Mean off-diagonal of ``P P^T``: the overlap between the selection rows.

    ``probs`` holds one probability row per selected band. The value is 0 when
    the rows put their mass on different bands and 1 when two one-hot rows
    coincide; it is finite, with a finite gradient, for one-hot rows.

    Examples
    --------
    >>> import torch
    >>> float(distinctness_penalty(torch.eye(3)[[0, 0]]))
    1.0
    """
    k = probs.shape[0]
    if k < 2:
        return probs.sum() * 0.0
    gram = probs @ probs.T
    off = gram.sum() - torch.diagonal(gram).sum()
    return off / (k * (k - 1))


class ConcreteSelect(nn.Module):
    """Relaxed (training) or hard (inference) selection of ``n_select`` bands.

    Parameters
    ----------
    n_features : int
    n_select : int
    tau_start, tau_end : float
        Temperature of the first and of the last epoch; ``set_epoch``
        interpolates exponentially between them.
    seed : int
        Seeds the initial logit noise and the Gumbel noise.
    init_noise : float
        Scale of the Gaussian noise on the (otherwise uniform, zero) logits.
    hard_inference : bool
        Outside training, pick bands (True) or mix them with
        ``softmax(logits / tau)`` (False).
    """

    def __init__(self, n_features, n_select, *, tau_start=10.0, tau_end=0.1, seed=0,
                 init_noise=1e-2, hard_inference=True):
        super().__init__()
        self.hard_inference = bool(hard_inference)
        self.tau_start = float(tau_start)
        self.tau_end = float(tau_end)
        self.generator = torch.Generator().manual_seed(int(seed))
        logits = init_noise * torch.randn(n_select, n_features, generator=self.generator)
        self.logits = nn.Parameter(logits)
        self.register_buffer("tau", torch.tensor(self.tau_start))

    @torch.no_grad()
    def set_epoch(self, epoch, max_epochs):
        """Temperature ``tau_start * (tau_end / tau_start) ** (epoch / (max_epochs - 1))``."""
        fraction = epoch / (max_epochs - 1) if max_epochs > 1 else 1.0
        fraction = min(max(fraction, 0.0), 1.0)
        self.tau.fill_(self.tau_start * (self.tau_end / self.tau_start) ** fraction)

    def hard_indices(self):
        """The hard selection: ``distinct_argmax`` of the current logits."""
        return distinct_argmax(self.logits)

    def probabilities(self, tau=None):
        """``softmax(logits / tau)`` row-wise (``tau=1`` when None)."""
        return torch.softmax(self.logits / (1.0 if tau is None else tau), dim=1)

    def relaxed_weights(self):
        """A Gumbel-softmax sample of the selection weights at the current temperature."""
        uniform = torch.rand(self.logits.shape, generator=self.generator)
        uniform = uniform.clamp(1e-10, 1.0 - 1e-7).to(self.logits.device)
        gumbel = -torch.log(-torch.log(uniform))
        return torch.softmax((self.logits + gumbel) / self.tau, dim=1)

    def forward(self, x):
        if self.training and self.logits.requires_grad:
            return x @ self.relaxed_weights().T
        if not self.hard_inference:
            return x @ self.probabilities(self.tau).T
        return x.index_select(-1, self.hard_indices().to(x.device))


class ConcreteAutoencoder(nn.Module):
    """``ConcreteSelect`` followed by a linear decoder back to every band.

    ``forward`` returns the selected bands; ``objective_inputs`` returns the
    reconstruction, the input and the selection probabilities (for
    ``ConcreteLoss``).
    """

    def __init__(self, select, n_features, generator=None):
        super().__init__()
        self.select = select
        k = select.logits.shape[0]
        self.decoder = nn.utils.skip_init(nn.Linear, k, n_features)
        with torch.no_grad():
            bound = 1.0 / math.sqrt(k)
            self.decoder.weight.uniform_(-bound, bound, generator=generator)
            self.decoder.bias.zero_()

    def forward(self, x):
        return self.select(x)

    def objective_inputs(self, x):
        return self.decoder(self.select(x)), x, self.select.probabilities()


class ConcreteLoss(nn.Module):
    """Reconstruction MSE + ``distinctness * distinctness_penalty(P)``; target ignored."""

    def __init__(self, distinctness=1.0):
        super().__init__()
        self.distinctness = float(distinctness)

    def forward(self, y_pred, y_true=None):
        recon, x, probs = y_pred
        loss = torch.mean((recon - x) ** 2)
        if self.distinctness > 0:
            loss = loss + self.distinctness * distinctness_penalty(probs)
        return loss
