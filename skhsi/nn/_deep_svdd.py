"""Deep SVDD building blocks (Ruff et al., ICML 2018) in plain torch.

``DeepSVDDProjection`` maps spectra to an embedding, ``DeepSVDDCenterTracker``
holds the hypersphere centre (an exponential moving average of the training
embeddings, updated only in training mode), ``DeepSVDDScores`` turns embeddings
into squared distances and holds the radius, and ``DeepSVDDSoftBoundaryLoss``
is the soft-boundary (or one-class) objective.
"""

import math

import torch
from torch import nn

__all__ = [
    "RandomFourierFeatures",
    "DeepSVDDProjection",
    "DeepSVDDCenterTracker",
    "DeepSVDDScores",
    "DeepSVDDNet",
    "DeepSVDDSoftBoundaryLoss",
]


class RandomFourierFeatures(nn.Module):
    """Fixed random Fourier features approximating the RBF kernel.

    ``phi(x) = sqrt(2 / D) * cos(x W + b)`` with ``W ~ N(0, 2 gamma)`` and
    ``b ~ U(0, 2 pi)``, so that ``phi(x) . phi(y) ~ exp(-gamma ||x - y||^2)``
    (Rahimi and Recht, 2007). ``W`` and ``b`` are buffers, never trained.
    """

    def __init__(self, n_features, n_components, gamma, generator=None):
        super().__init__()
        weight = torch.randn(n_features, n_components, generator=generator)
        weight *= math.sqrt(2.0 * gamma)
        offset = torch.rand(n_components, generator=generator) * (2.0 * math.pi)
        self.register_buffer("weight", weight)
        self.register_buffer("offset", offset)
        self.scale = math.sqrt(2.0 / n_components)

    def forward(self, x):
        return self.scale * torch.cos(x @ self.weight + self.offset)


class DeepSVDDProjection(nn.Module):
    """Two-layer MLP ``C -> hidden -> rep_dim`` without bias terms.

    Bias-free layers keep the network from mapping every input to a constant
    (the hypersphere collapse of Ruff et al.). With ``kernel="rbf"`` the input
    first passes through fixed random Fourier features.
    """

    def __init__(self, n_features, *, hidden=128, rep_dim=32, kernel="linear",
                 n_rff=2048, gamma=None, negative_slope=0.01, generator=None):
        super().__init__()
        if kernel == "rbf":
            gamma = 1.0 / n_features if gamma is None else gamma
            self.features = RandomFourierFeatures(n_features, n_rff, gamma, generator)
            width = n_rff
        else:
            self.features = nn.Identity()
            width = n_features
        # skip_init: the default initialisation would draw from the global RNG.
        self.hidden = nn.utils.skip_init(nn.Linear, width, hidden, bias=False)
        self.activation = nn.LeakyReLU(negative_slope)
        self.output = nn.utils.skip_init(nn.Linear, hidden, rep_dim, bias=False)
        for layer in (self.hidden, self.output):
            _kaiming_uniform(layer.weight, negative_slope, generator)

    def forward(self, x):
        return self.output(self.activation(self.hidden(self.features(x))))


class DeepSVDDCenterTracker(nn.Module):
    """Hypersphere centre, a buffer updated by EMA in training mode only.

    ``c <- (1 - alpha) c + alpha mean(z)`` after each training batch, with the
    batch mean detached from the graph; ``alpha=0`` keeps the centre fixed.
    Coordinates closer to 0 than ``eps`` are pushed to ``+-eps`` so that a
    network with zero weights cannot reach the centre.
    """

    def __init__(self, rep_dim, alpha=0.1, eps=0.1):
        super().__init__()
        self.alpha = float(alpha)
        self.eps = float(eps)
        self.register_buffer("center", torch.zeros(rep_dim))

    @torch.no_grad()
    def set_center(self, center):
        self.center.copy_(self._nudge(torch.as_tensor(center, dtype=self.center.dtype)))

    def _nudge(self, center):
        small = center.abs() < self.eps
        sign = torch.where(center < 0, -1.0, 1.0).to(center.dtype)
        return torch.where(small, sign * self.eps, center)

    def forward(self, z):
        if self.training and self.alpha > 0 and z.shape[0] > 0:
            with torch.no_grad():
                updated = (1 - self.alpha) * self.center + self.alpha * z.mean(dim=0)
                self.center.copy_(self._nudge(updated))
        return self.center


class DeepSVDDScores(nn.Module):
    """Squared distance of each embedding to the centre; holds the radius.

    The radius is a learnable parameter used by the soft-boundary objective.
    """

    def __init__(self, radius=0.0):
        super().__init__()
        self.radius = nn.Parameter(torch.tensor(float(radius)))

    def forward(self, z, center):
        return torch.sum((z - center) ** 2, dim=-1)


class DeepSVDDNet(nn.Module):
    """Projection, centre tracker and scores in one module.

    ``forward`` returns the squared distance of each pixel to the centre
    (higher = more anomalous); ``objective_inputs`` returns what
    ``DeepSVDDSoftBoundaryLoss`` needs: the distances and the radius.
    """

    def __init__(self, projection, tracker, scores):
        super().__init__()
        self.projection = projection
        self.tracker = tracker
        self.scores = scores

    def embed(self, x):
        return self.projection(x)

    def forward(self, x):
        z = self.projection(x)
        return self.scores(z, self.tracker(z))

    def objective_inputs(self, x):
        return self.forward(x), self.scores.radius


class DeepSVDDSoftBoundaryLoss(nn.Module):
    """Deep SVDD objective on squared distances ``d``.

    ``objective="soft-boundary"``: ``R^2 + 1/nu * mean(max(0, d - R^2))``
    (Ruff et al., ICML 2018), whose minimiser over ``R`` leaves a fraction
    ``nu`` of the training pixels outside the sphere. ``objective="one-class"``:
    ``mean(d)``. The target argument is ignored (training is unsupervised).
    """

    def __init__(self, nu=0.1, objective="soft-boundary"):
        super().__init__()
        if objective not in ("soft-boundary", "one-class"):
            raise ValueError(
                f"objective must be 'soft-boundary' or 'one-class', got {objective!r}"
            )
        self.nu = float(nu)
        self.objective = objective

    def forward(self, y_pred, y_true=None):
        dist, radius = y_pred
        if self.objective == "one-class":
            return dist.mean()
        r2 = radius ** 2
        return r2 + torch.relu(dist - r2).mean() / self.nu


def _kaiming_uniform(weight, negative_slope, generator):
    fan_in = weight.shape[1]
    gain = math.sqrt(2.0 / (1 + negative_slope ** 2))
    bound = gain * math.sqrt(3.0 / fan_in)
    with torch.no_grad():
        weight.uniform_(-bound, bound, generator=generator)


class _Embedding(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.embed(x)


def build_deep_svdd(n_features, *, hidden, rep_dim, kernel, n_rff, gamma, alpha, generator):
    """A ``DeepSVDDNet`` with freshly initialised weights (centre and radius unset)."""
    projection = DeepSVDDProjection(
        n_features, hidden=hidden, rep_dim=rep_dim, kernel=kernel, n_rff=n_rff,
        gamma=gamma, generator=generator,
    )
    return DeepSVDDNet(projection, DeepSVDDCenterTracker(rep_dim, alpha=alpha), DeepSVDDScores())


def init_center(net, X, *, batch_size, device="cpu"):
    """Set the centre to the mean embedding of the rows of ``X`` (chunked)."""
    from ._runtime import apply_module

    embeddings = apply_module(_Embedding(net), X, batch_size=batch_size, device=device)
    net.tracker.set_center(torch.as_tensor(embeddings.astype("float64").mean(axis=0)))


@torch.no_grad()
def set_radius(net, radius):
    """Set the radius held by ``net``."""
    net.scores.radius.fill_(float(radius))
