"""On-the-fly augmentation of training batches: dihedral flips/rotations, spectral jitter.

The supervised nodes call these functions in their training step (train
mode only). Randomness comes from the ``torch.Generator`` passed in, never
from torch's global generator, so a seeded fit is reproducible.
"""

from numbers import Real

import torch

__all__ = ["flip_rotate", "spectral_jitter"]


def _draw(kind, shape, generator, device, dtype=torch.float32, high=None):
    """Random numbers from ``generator`` (on its own device), moved to ``device``."""
    source = generator.device if generator is not None else device
    if kind == "int":
        values = torch.randint(high, shape, generator=generator, device=source)
    elif kind == "uniform":
        values = torch.rand(shape, generator=generator, device=source, dtype=dtype)
    else:
        values = torch.randn(shape, generator=generator, device=source, dtype=dtype)
    return values.to(device)


def flip_rotate(*tensors, generator=None, rotate=True):
    """The same random flips and quarter turns for all ``tensors``, per batch element.

    Each batch element draws a horizontal flip, a vertical flip and a
    rotation by ``k * 90`` degrees (``k`` in 0..3), all uniform, and every
    tensor's element gets the same transform: image tensors ``(N, C, H, W)``
    (or ``(N, 1, C, H, W)`` for 3-D convolutions) move together with label
    maps ``(N, H, W)``. The spatial axes are the last two.

    Parameters
    ----------
    *tensors : torch.Tensor
        One or more tensors with the same batch size ``N`` (axis 0) and the
        same spatial size ``(H, W)`` (the last two axes).
    generator : torch.Generator or None
    rotate : bool, default=True
        Quarter turns need square patches (``H == W``); ``rotate=False``
        only flips, which suits any shape.

    Returns
    -------
    tuple of torch.Tensor, or one tensor when one was given
        New tensors of the input shapes.

    Examples
    --------
    >>> import torch
    >>> from skhsi.nn import flip_rotate
    >>> images = torch.arange(2 * 3 * 4 * 4.0).reshape(2, 3, 4, 4)
    >>> labels = images[:, 0].long()
    >>> out, out_labels = flip_rotate(images, labels, generator=torch.Generator().manual_seed(0))
    >>> bool((out[:, 0].long() == out_labels).all()), out.shape
    (True, torch.Size([2, 3, 4, 4]))
    """
    if not tensors:
        raise ValueError("flip_rotate needs at least one tensor.")
    first = tensors[0]
    for i, tensor in enumerate(tensors):
        if not torch.is_tensor(tensor):
            raise TypeError(f"flip_rotate expects torch tensors; argument {i} is a "
                            f"{type(tensor).__name__}.")
        if tensor.ndim < 3:
            raise ValueError(f"flip_rotate expects (N, ..., H, W) tensors; argument {i} has "
                             f"shape {tuple(tensor.shape)}.")
        if tensor.shape[0] != first.shape[0] or tensor.shape[-2:] != first.shape[-2:]:
            raise ValueError(
                "flip_rotate needs the same batch size and spatial size (N, ..., H, W) for "
                f"all tensors; got shapes {[tuple(t.shape) for t in tensors]}.")
    n, (h, w) = first.shape[0], first.shape[-2:]
    if rotate and h != w:
        raise ValueError(f"Quarter turns need square patches; got spatial size {h} x {w}. "
                         "Use rotate=False to flip only.")
    device = first.device
    flips_h = _draw("int", (n,), generator, device, high=2).bool()
    flips_v = _draw("int", (n,), generator, device, high=2).bool()
    turns = _draw("int", (n,), generator, device, high=4) if rotate else \
        torch.zeros(n, dtype=torch.long, device=device)
    code = flips_h.long() * 8 + flips_v.long() * 4 + turns
    outputs = [tensor.clone() for tensor in tensors]
    for value in torch.unique(code).tolist():
        if value == 0:
            continue
        rows = torch.nonzero(code == value)[:, 0]
        for out, tensor in zip(outputs, tensors):
            part = tensor[rows]
            if value & 8:
                part = part.flip(-1)
            if value & 4:
                part = part.flip(-2)
            if value & 3:
                part = torch.rot90(part, value & 3, dims=(-2, -1))
            out[rows] = part
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def spectral_jitter(x, *, noise=0.0, brightness=0.0, band_dropout=0.0, channel_dim=1,
                    generator=None):
    """Random spectral perturbations of a batch: brightness, additive noise, band dropout.

    In that order: every sample is multiplied by a factor drawn uniformly
    from ``[1 - brightness, 1 + brightness]``, Gaussian noise of standard
    deviation ``noise`` is added to every value, and each band of each
    sample is set to 0 with probability ``band_dropout`` (not rescaled: on
    z-scored input 0 is the band's mean).

    Parameters
    ----------
    x : torch.Tensor
        A float batch, samples on axis 0 and bands on ``channel_dim``:
        ``(N, C)`` pixels, ``(N, C, H, W)`` images, ``(N, 1, C, H, W)`` with
        ``channel_dim=2``.
    noise : float >= 0, default=0.0
        In the input's units (inputs are typically z-scored).
    brightness : float in [0, 1], default=0.0
    band_dropout : float in [0, 1), default=0.0
    channel_dim : int, default=1
    generator : torch.Generator or None

    Returns
    -------
    torch.Tensor
        A new tensor; ``x`` is unchanged.

    Examples
    --------
    >>> import torch
    >>> from skhsi.nn import spectral_jitter
    >>> x = torch.ones(1000, 20)
    >>> out = spectral_jitter(x, band_dropout=0.25, generator=torch.Generator().manual_seed(0))
    >>> abs(float((out == 0).float().mean()) - 0.25) < 0.02
    True
    """
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise TypeError(f"spectral_jitter expects a float tensor; got "
                        f"{getattr(x, 'dtype', type(x).__name__)}.")
    if x.ndim < 2:
        raise ValueError(f"spectral_jitter expects a batch (N, C, ...); got shape "
                         f"{tuple(x.shape)}.")
    if not -x.ndim <= channel_dim < x.ndim or channel_dim % x.ndim == 0:
        raise ValueError(f"channel_dim must name a band axis of a {x.ndim}-D batch (not the "
                         f"batch axis 0); got {channel_dim}.")
    _check_range("noise", noise, 0.0, None)
    _check_range("brightness", brightness, 0.0, 1.0)
    _check_range("band_dropout", band_dropout, 0.0, 1.0, upper_open=True)
    channel_dim %= x.ndim
    per_sample = (x.shape[0],) + (1,) * (x.ndim - 1)
    per_band = tuple(s if d in (0, channel_dim) else 1 for d, s in enumerate(x.shape))
    out = x.clone()
    if brightness:
        factor = _draw("uniform", per_sample, generator, x.device, dtype=x.dtype)
        out = out * (1.0 - brightness + 2.0 * brightness * factor)
    if noise:
        out = out + noise * _draw("normal", tuple(x.shape), generator, x.device, dtype=x.dtype)
    if band_dropout:
        keep = _draw("uniform", per_band, generator, x.device) >= band_dropout
        out = out * keep.to(x.dtype)
    return out


def _check_range(name, value, low, high, upper_open=False):
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a float; got {type(value).__name__}.")
    above = high is not None and (value >= high if upper_open else value > high)
    if not value >= low or above:
        bracket = ")" if upper_open else "]"
        interval = f"[{low}, {'inf' if high is None else high}{bracket if high else ')'}"
        raise ValueError(f"{name} must lie in {interval}; got {value!r}.")
