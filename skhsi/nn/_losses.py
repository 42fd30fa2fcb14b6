"""Classification losses selectable by name: cross-entropy, focal, dice and their sums.

Every loss takes logits ``(N, K)`` or ``(N, K, *spatial)`` (e.g. ``(N, K, H, W)``)
and integer targets of the same shape without the class axis. Targets equal
to ``ignore_index`` (unlabelled pixels) count nowhere: not in the mean, not
in the dice sums. When every target is ignored the loss is 0 and still
carries a gradient, so a batch without labels never turns the weights into
NaN.

Means are weighted means: with per-class weights ``w``, the cross-entropy
and focal losses are ``sum_i w[y_i] l_i / sum_i w[y_i]``, as
:func:`torch.nn.functional.cross_entropy` computes them.
"""

from numbers import Integral, Real

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "LOSSES",
    "BinaryCrossEntropyLoss",
    "CrossEntropyLoss",
    "DiceLoss",
    "FocalLoss",
    "SumLoss",
    "make_loss",
]

LOSSES = ("cross-entropy", "binary-cross-entropy", "focal", "dice", "cross-entropy+dice",
          "focal+dice")


class _ClassLoss(nn.Module):
    """Shape and target checks, class weights and ``ignore_index`` shared by the losses.

    A single logit per sample (``K == 1``) is accepted for two classes and
    read as the logit of class 1 (the two-class logits ``(0, z)``), so every
    loss works for one-logit binary networks.
    """

    def __init__(self, n_classes, *, class_weight=None, ignore_index=-100):
        super().__init__()
        self.n_classes = _check_n_classes(n_classes, minimum=1)
        self.ignore_index = int(ignore_index)
        weight = _class_vector(class_weight, self.n_classes, "class_weight")
        self.register_buffer("class_weight", weight)

    def _flatten(self, logits, target):
        """``(M, K)`` two-class-expanded logits, ``(M,)`` targets and the labelled mask."""
        name = type(self).__name__
        if not torch.is_tensor(logits) or not logits.is_floating_point():
            raise TypeError(f"{name} expects float logits; got "
                            f"{getattr(logits, 'dtype', type(logits).__name__)}.")
        if not torch.is_tensor(target) or target.is_floating_point() or target.is_complex():
            raise TypeError(f"{name} expects integer class targets; got "
                            f"{getattr(target, 'dtype', type(target).__name__)}.")
        if logits.ndim < 2:
            raise ValueError(f"{name} expects logits of shape (N, K) or (N, K, H, W); got "
                             f"shape {tuple(logits.shape)}.")
        expected = (logits.shape[0],) + tuple(logits.shape[2:])
        if tuple(target.shape) != expected:
            raise ValueError(f"{name}: target must have shape {expected} for logits of shape "
                             f"{tuple(logits.shape)}; got {tuple(target.shape)}.")
        k = logits.shape[1]
        if k != self.n_classes and not (k == 1 and self.n_classes == 2):
            raise ValueError(f"{name} was made for {self.n_classes} classes, so logits need "
                             f"{self.n_classes} channels (or 1 for two classes) on axis 1; "
                             f"got {k}.")
        logits = logits.movedim(1, -1).reshape(-1, k)
        if k == 1:
            logits = torch.cat([torch.zeros_like(logits), logits], dim=1)
        target = target.reshape(-1).long()
        labelled = target != self.ignore_index
        bad = labelled & ((target < 0) | (target >= self.n_classes))
        if bool(bad.any()):
            raise ValueError(f"{name}: targets must lie in [0, {self.n_classes}) or equal "
                             f"ignore_index={self.ignore_index}; got "
                             f"{sorted(set(target[bad].tolist()))[:5]}.")
        return logits, target.clamp(0, self.n_classes - 1), labelled

    def _sample_weights(self, target, labelled):
        weight = labelled.to(torch.float32)
        if self.class_weight is not None:
            weight = weight * self.class_weight[target]
        return weight


def _weighted_mean(values, weights, logits):
    """``sum(w * v) / sum(w)``; 0 with a gradient through ``logits`` when ``sum(w) == 0``."""
    total = weights.sum()
    if float(total) == 0.0:
        return logits.sum() * 0.0
    return (values * weights).sum() / total


class CrossEntropyLoss(_ClassLoss):
    """Softmax cross-entropy (``"cross-entropy"``), weighted by ``class_weight``."""

    def forward(self, logits, target):
        flat, target, labelled = self._flatten(logits, target)
        losses = F.cross_entropy(flat.float(), target, reduction="none")
        return _weighted_mean(losses, self._sample_weights(target, labelled), logits)


class BinaryCrossEntropyLoss(_ClassLoss):
    """Sigmoid cross-entropy of the positive class (``"binary-cross-entropy"``).

    Logits are one channel (the positive class) or two, of which the
    difference ``logit[:, 1] - logit[:, 0]`` is used. ``class_weight``
    weighs the negative and positive samples; ``alpha`` (float) is the
    weight of the positives, ``1 - alpha`` that of the negatives.
    """

    def __init__(self, n_classes=2, *, class_weight=None, alpha=None, ignore_index=-100):
        if n_classes not in (1, 2):
            raise ValueError("binary-cross-entropy is for two classes (n_classes=2, or 1 "
                             f"for a single logit); got n_classes={n_classes!r}.")
        super().__init__(2, class_weight=class_weight, ignore_index=ignore_index)
        self.register_buffer("alpha", _alpha_vector(alpha, 2))

    def forward(self, logits, target):
        flat, target, labelled = self._flatten(logits, target)
        flat = flat.float()
        z = flat[:, 1] - flat[:, 0]
        losses = F.binary_cross_entropy_with_logits(z, target.float(), reduction="none")
        weight = self._sample_weights(target, labelled)
        if self.alpha is not None:
            losses = losses * self.alpha[target]
        return _weighted_mean(losses, weight, logits)


class FocalLoss(_ClassLoss):
    """Focal loss (Lin et al., 2017): ``-alpha_t (1 - p_t)^gamma log p_t`` (``"focal"``).

    ``gamma=0`` without ``alpha`` is the cross-entropy. ``alpha`` is one
    weight per class, or a float for two classes (the positive class's
    weight, ``1 - alpha`` for the negative one).
    """

    def __init__(self, n_classes, *, gamma=2.0, alpha=None, class_weight=None,
                 ignore_index=-100):
        super().__init__(n_classes, class_weight=class_weight, ignore_index=ignore_index)
        if not float(gamma) >= 0.0:
            raise ValueError(f"gamma must be >= 0; got {gamma!r}.")
        self.gamma = float(gamma)
        self.register_buffer("alpha", _alpha_vector(alpha, self.n_classes))

    def forward(self, logits, target):
        flat, target, labelled = self._flatten(logits, target)
        log_p = F.log_softmax(flat.float(), dim=1).gather(1, target[:, None])[:, 0]
        losses = -log_p
        if self.gamma:
            losses = losses * (1.0 - log_p.exp()).clamp(min=0.0).pow(self.gamma)
        if self.alpha is not None:
            losses = losses * self.alpha[target]
        return _weighted_mean(losses, self._sample_weights(target, labelled), logits)


class DiceLoss(_ClassLoss):
    """Soft dice loss: ``1 - mean_k (2 sum p_k y_k + s) / (sum p_k + sum y_k + s)`` (``"dice"``).

    Sums run over every labelled sample of the batch (pixels of all images);
    ``p`` are the softmax probabilities, ``y`` the one-hot targets, ``s`` the
    smoothing ``smooth``. ``class_weight`` weighs the classes' terms in the
    mean. A class absent from the batch and not predicted scores 1.
    """

    def __init__(self, n_classes, *, class_weight=None, ignore_index=-100, smooth=1.0):
        super().__init__(n_classes, class_weight=class_weight, ignore_index=ignore_index)
        if not float(smooth) > 0.0:
            raise ValueError(f"smooth must be > 0; got {smooth!r}.")
        self.smooth = float(smooth)

    def forward(self, logits, target):
        flat, target, labelled = self._flatten(logits, target)
        keep = labelled.to(torch.float32)[:, None]
        proba = F.softmax(flat.float(), dim=1) * keep
        onehot = F.one_hot(target, flat.shape[1]).to(proba.dtype) * keep
        overlap = (proba * onehot).sum(dim=0)
        size = proba.sum(dim=0) + onehot.sum(dim=0)
        dice = (2.0 * overlap + self.smooth) / (size + self.smooth)
        losses = 1.0 - dice
        if self.class_weight is None:
            return losses.mean()
        return (losses * self.class_weight).sum() / self.class_weight.sum()


class SumLoss(nn.Module):
    """The sum of losses over the same ``(logits, target)`` (e.g. cross-entropy + dice)."""

    def __init__(self, *losses):
        super().__init__()
        self.losses = nn.ModuleList(losses)

    def forward(self, logits, target):
        total = self.losses[0](logits, target)
        for loss in self.losses[1:]:
            total = total + loss(logits, target)
        return total


def make_loss(name, *, n_classes, class_weight=None, gamma=2.0, alpha=None, ignore_index=-100):
    """The classification loss called ``name``, as an ``nn.Module``.

    Parameters
    ----------
    name : {"cross-entropy", "binary-cross-entropy", "focal", "dice", \
"cross-entropy+dice", "focal+dice"}
    n_classes : int
        ``K``, the number of channels of the logits. Two classes may also
        come as a single logit (of class 1). For ``"binary-cross-entropy"``
        ``n_classes`` is 2 (or 1, for a single logit).
    class_weight : sequence of K floats or None
        Per-class weights of the samples (of the classes' terms for dice).
    gamma : float, default=2.0
        Focusing exponent of the focal loss.
    alpha : float, sequence of K floats or None
        Focal class balance: one factor per class, or for two classes a float,
        the positive class's factor (``1 - alpha`` for the negative class).
        ``"binary-cross-entropy"`` takes it too.
    ignore_index : int, default=-100
        Targets with this value are left out.

    Returns
    -------
    loss : torch.nn.Module
        ``loss(logits, target)`` is a scalar: ``logits`` float ``(N, K)`` or
        ``(N, K, H, W)``, ``target`` integer ``(N,)`` or ``(N, H, W)``.

    Examples
    --------
    >>> import torch
    >>> from skhsi.nn import make_loss
    >>> loss = make_loss("focal+dice", n_classes=3, ignore_index=-1)
    >>> logits = torch.zeros(2, 3, 4, 4, requires_grad=True)
    >>> target = torch.full((2, 4, 4), -1)
    >>> target[:, 0, 0] = 2
    >>> value = loss(logits, target)
    >>> value.shape, bool(torch.isfinite(value))
    (torch.Size([]), True)
    """
    common = dict(class_weight=class_weight, ignore_index=ignore_index)
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {name!r}.")
    if name == "binary-cross-entropy":
        return BinaryCrossEntropyLoss(n_classes, alpha=alpha, **common)
    if name != "focal" and name != "focal+dice" and alpha is not None:
        raise ValueError(f"alpha is the focal loss's class balance; loss {name!r} takes "
                         "class_weight instead.")
    parts = []
    for part in name.split("+"):
        if part == "cross-entropy":
            parts.append(CrossEntropyLoss(n_classes, **common))
        elif part == "focal":
            parts.append(FocalLoss(n_classes, gamma=gamma, alpha=alpha, **common))
        else:
            parts.append(DiceLoss(n_classes, **common))
    return parts[0] if len(parts) == 1 else SumLoss(*parts)


def _check_n_classes(n_classes, minimum):
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < minimum:
        raise ValueError(f"n_classes must be an integer >= {minimum}; got {n_classes!r}.")
    return int(n_classes)


def _class_vector(values, n_classes, name):
    """A float32 tensor of ``n_classes`` finite non-negative values, or None."""
    if values is None:
        return None
    vector = torch.as_tensor(values, dtype=torch.float32).reshape(-1)
    if vector.numel() != n_classes:
        raise ValueError(f"{name} needs one value per class ({n_classes}); got "
                         f"{vector.numel()}.")
    if not bool(torch.isfinite(vector).all()) or bool((vector < 0).any()):
        raise ValueError(f"{name} must be finite and non-negative; got {vector.tolist()}.")
    if not bool((vector > 0).any()):
        raise ValueError(f"{name} needs a positive value for some class; got all zeros.")
    return vector


def _alpha_vector(alpha, n_classes):
    """Per-class focal factors: a float means ``(1 - alpha, alpha)`` for two classes."""
    if alpha is None:
        return None
    if isinstance(alpha, Real) and not isinstance(alpha, bool):
        if n_classes != 2:
            raise ValueError(f"a float alpha weighs the positive class of two classes; with "
                             f"{n_classes} classes give one value per class.")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"a float alpha must lie in [0, 1]; got {alpha!r}.")
        return torch.tensor([1.0 - alpha, alpha], dtype=torch.float32)
    return _class_vector(alpha, n_classes, "alpha")
