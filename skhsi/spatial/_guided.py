"""Edge-preserving smoothing of a map guided by an image: the guided filter."""

import numpy as np
from scipy import ndimage

__all__ = ["box_mean", "guided_filter"]


def box_mean(image, radius):
    """Mean over the ``(2 radius + 1)`` square window of every pixel (reflected borders).

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, K)
        Leading two axes are rows and columns; further axes are filtered
        independently.
    radius : int

    Returns
    -------
    ndarray of the shape of ``image``, float64
    """
    size = (2 * radius + 1, 2 * radius + 1) + (1,) * (np.ndim(image) - 2)
    return ndimage.uniform_filter(np.asarray(image, dtype=np.float64), size=size,
                                  mode="reflect")


def guided_filter(guide, src, *, radius=2, eps=1e-3, rows_per_strip=None):
    """Smooth ``src`` where ``guide`` is flat and keep its edges where ``guide`` has them.

    The guided filter of He, Sun and Tang (ECCV 2010, TPAMI 2013): in every
    ``(2 radius + 1)`` window the output is an affine function of the guide,
    ``q = a^T I + b``, fitted to ``src`` by ridge regression with penalty
    ``eps``; the per-window coefficients are averaged over the windows that
    cover a pixel. A multi-channel guide (``(H, W, K)``, e.g. the first
    principal components of a cube) uses the colour variant, which solves a
    ``K x K`` system per pixel. ``eps`` is in the guide's squared units:
    scale the guide to [0, 1] for a resolution-free choice. The output at a
    pixel depends on the pixels within ``2 radius`` of it; the image is
    processed in strips of ``rows_per_strip`` rows with that margin, so
    memory grows with the width, not the area.

    Parameters
    ----------
    guide : ndarray of shape (H, W) or (H, W, K)
    src : ndarray of shape (H, W)
        The map to filter (e.g. anomaly scores).
    radius : int, default=2
        Window radius in pixels.
    eps : float, default=1e-3
        Ridge penalty; larger smooths across weaker guide edges.
    rows_per_strip : int or None, default=None
        Rows filtered at a time (the result does not depend on it); ``None``:
        strips of about 65,536 pixels.

    Returns
    -------
    ndarray of shape (H, W), float64

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.spatial import guided_filter
    >>> guide = np.zeros((8, 8)); guide[:, 4:] = 1.0              # an edge at column 4
    >>> noisy = guide + np.random.default_rng(0).normal(0, 0.1, (8, 8))
    >>> out = guided_filter(guide, noisy, radius=1, eps=1e-3)
    >>> bool(np.abs(out - guide).mean() < np.abs(noisy - guide).mean())
    True
    """
    guide = np.asarray(guide)
    src = np.asarray(src)
    if guide.ndim == 2:
        guide = guide[..., None]
    if guide.ndim != 3 or src.ndim != 2 or guide.shape[:2] != src.shape:
        raise ValueError(
            "guided_filter expects a guide of shape (H, W) or (H, W, K) and a map of shape "
            f"(H, W) with the same H and W; got guide {np.shape(guide)} and map {src.shape}."
        )
    if radius < 0 or eps <= 0:
        raise ValueError(f"guided_filter needs radius >= 0 and eps > 0; got radius={radius}, "
                         f"eps={eps}.")
    height, width = src.shape
    margin = 2 * radius
    if rows_per_strip is None:
        rows_per_strip = max(4 * margin + 1, (1 << 16) // width)
    out = np.empty(src.shape)
    for top in range(0, height, int(rows_per_strip)):
        bottom = min(top + int(rows_per_strip), height)
        lo, hi = max(0, top - margin), min(height, bottom + margin)
        filtered = _guided_strip(np.asarray(guide[lo:hi], dtype=np.float64),
                                 np.asarray(src[lo:hi], dtype=np.float64), radius, eps)
        out[top:bottom] = filtered[top - lo:bottom - lo]
    return out


def _guided_strip(guide, src, radius, eps):
    """The guided filter of a strip (exact away from its cut edges)."""
    n_channels = guide.shape[-1]
    mean_guide = box_mean(guide, radius)
    mean_src = box_mean(src, radius)
    cov_guide_src = box_mean(guide * src[..., None], radius) - mean_guide * mean_src[..., None]
    products = guide[..., :, None] * guide[..., None, :]
    cov_guide = box_mean(products.reshape(src.shape + (-1,)), radius).reshape(products.shape)
    cov_guide -= mean_guide[..., :, None] * mean_guide[..., None, :]
    cov_guide += eps * np.eye(n_channels)
    a = np.linalg.solve(cov_guide, cov_guide_src[..., None])[..., 0]
    b = mean_src - np.einsum("hwk,hwk->hw", a, mean_guide)
    return np.einsum("hwk,hwk->hw", box_mean(a, radius), guide) + box_mean(b, radius)
