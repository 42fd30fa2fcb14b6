"""Dual-window (local) RX: each pixel against the ring of pixels around it."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from ..spatial._guided import box_mean
from ._base import SpectralOutlierMixin
from ..base import SpatialReach
from ._image import ImageOutlierMixin, check_windows

__all__ = ["LocalRXDetector", "local_rx"]


class LocalRXDetector(ImageOutlierMixin, BaseEstimator):
    """Dual-window RX: Mahalanobis distance of a pixel to its local background.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    The background of a pixel is the ring between an inner (guard) window,
    which should be larger than the targets so that they do not leak into
    their own background, and an outer window. Its mean and covariance are
    computed with box filters over the cube's first ``n_components``
    principal components (each scaled to unit variance over the training
    pixels), so the cost does not grow with the window. The covariance gets a ridge of ``reg`` times
    its mean eigenvalue. Borders are reflected.

    The principal components and their scales are learned in ``fit``; the
    local statistics are always those of the ring of the cube being scored,
    so a pixel's score depends on the pixels within ``outer_window // 2`` of
    it and nothing else: scoring an image in blocks with that halo gives the
    whole image's scores.

    Parameters
    ----------
    n_components : int, default=10
        Principal components the distance is computed in.
    inner_window : int, default=9
        Odd side of the guard window (pixels), centred on the pixel.
    outer_window : int, default=21
        Odd side of the outer window; the background is the ring between the two.
    reg : float, default=1e-3
        Ridge added to every local covariance, relative to its mean eigenvalue.
    contamination : float in (0, 0.5], default=0.01
        Fraction of training pixels flagged by ``predict``; sets ``offset_``.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features_in_,)
        Mean of the training pixels.
    components_ : ndarray of shape (n_components_, n_features_in_)
        Principal axes of the training pixels.
    explained_variance_ : ndarray of shape (n_components_,)
    n_components_ : int
    background_center_ : ndarray of shape (n_components_,)
        Median of each component over the training pixels, in training
        standard deviations: the rings' statistics are computed around it.
    background_bound_ : ndarray of shape (n_components_,)
        ``1e4`` times the 99th percentile of each component's distance from
        ``background_center_``: values beyond it count as the bound in the
        rings' statistics (a pixel's own value is used as it is). With both,
        one extreme pixel (which moves the mean and the principal axes) cannot
        cancel the running sums of the box filters: the scores are the
        dual-window RX distances all the same.
    offset_ : float
    n_features_in_ : int

    See Also
    --------
    RXDetector : RX against the whole scene.
    AttributeFilterDetector : The default, which fuses a local-RX weight.

    References
    ----------
    .. [1] S. Matteoli, M. Diani, G. Corsini, "A tutorial overview of anomaly
       detection in hyperspectral images", IEEE Aerospace and Electronic
       Systems Magazine 25(7), 2010.

    Examples
    --------
    >>> from skhsi.anomaly import LocalRXDetector
    >>> from skhsi.datasets import make_synthetic_scene
    >>> from skhsi.metrics import roc_auc
    >>> scene = make_synthetic_scene(random_state=0)
    >>> scores = LocalRXDetector().fit(scene.cube).anomaly_score(scene.cube)
    >>> scores.shape, bool(roc_auc(scene.mask, scores) > 0.9)
    ((64, 64), True)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "inner_window": [Interval(Integral, 1, None, closed="left")],
        "outer_window": [Interval(Integral, 3, None, closed="left")],
        "reg": [Interval(Real, 0, None, closed="neither")],
        "contamination": SpectralOutlierMixin._contamination_constraint,
    }

    def __init__(self, *, n_components=10, inner_window=9, outer_window=21, reg=1e-3,
                 contamination=0.01):
        self.n_components = n_components
        self.inner_window = inner_window
        self.outer_window = outer_window
        self.reg = reg
        self.contamination = contamination

    def fit(self, X, y=None):
        check_windows(self.inner_window, self.outer_window)
        return super().fit(X, y)

    fit.__doc__ = ImageOutlierMixin.fit.__doc__

    def _spatial_reach(self):
        """The outer window's half-side: the ring is all a pixel is compared with."""
        return SpatialReach(self.outer_window // 2)

    def _fit_scores(self, features):
        scale = self._component_scale()
        step = max(1, sum(f.shape[0] * f.shape[1] for f in features) // 1_000_000)
        sample = np.concatenate([f.reshape(-1, f.shape[-1])[::step] / scale
                                 for f in features])  # at most ~1e6 pixels
        self.background_center_ = np.median(sample, axis=0)
        typical = np.percentile(np.abs(sample - self.background_center_), 99, axis=0)
        self.background_bound_ = _BOUND * np.where(typical > 0, typical, 1.0)
        return super()._fit_scores(features)

    def _score_features(self, components):
        return local_rx(components, self.inner_window, self.outer_window, self.reg,
                        scale=self._component_scale(),
                        center=getattr(self, "background_center_", None),
                        bound=getattr(self, "background_bound_", None))


def local_rx(z, inner_window, outer_window, reg, *, scale=None, center=None, bound=None,
             rows_per_strip=64):
    """Dual-window RX scores of a cube of components ``(H, W, K)``; see :class:`LocalRXDetector`.

    The cube is processed in strips of ``rows_per_strip`` rows (plus the
    outer window's margin, reflected at the borders), each converted to
    float64, divided by ``scale`` and shifted by ``-center`` (per component)
    on its own, so memory grows with the width, not the area. Values beyond
    ``bound`` (per component, after the shift) count as the bound in the
    rings' statistics. A pixel's score depends on the
    pixels within ``outer_window // 2`` of it alone.
    """
    z = np.asarray(z)
    height, width, k = z.shape
    margin = outer_window // 2
    # "symmetric" padding is scipy.ndimage's "reflect" border of the whole image.
    rows = np.pad(np.arange(height), margin, mode="symmetric")
    out = np.empty((height, width))
    for top in range(0, height, rows_per_strip):
        bottom = min(top + rows_per_strip, height)
        strip = np.asarray(z[rows[top:bottom + 2 * margin]], dtype=np.float64)
        if scale is not None:
            strip /= scale
        if center is not None:
            strip -= center
        strip = np.pad(strip, ((0, 0), (margin, margin), (0, 0)), mode="symmetric")
        scores = _ring_distance(strip, inner_window, outer_window, reg, bound=bound)
        out[top:bottom] = scores[margin:margin + bottom - top, margin:margin + width]
    return out


#: Scaled values beyond this many times a component's typical magnitude count as the
#: bound in the rings' statistics: box filters keep running sums, and one value 1e15
#: times the others would cancel every later window's second moments in float64.
_BOUND = 1e4


def _ring_distance(z, inner_window, outer_window, reg, *, bound=None):
    """Mahalanobis distance of every pixel of ``z`` to its ring (valid away from the edges).

    With ``bound`` (per component), the rings' mean and covariance are computed from
    ``z`` clipped to ``[-bound, bound]``; each pixel's own values are used as they are.
    """
    height, width, k = z.shape
    background = z if bound is None else np.clip(z, -bound, bound)
    n_inner, n_outer = inner_window ** 2, outer_window ** 2
    n_ring = n_outer - n_inner

    def ring_mean(values):
        return (box_mean(values, outer_window // 2) * n_outer
                - box_mean(values, inner_window // 2) * n_inner) / n_ring

    mean = ring_mean(background)
    second = ring_mean((background[..., :, None] * background[..., None, :])
                       .reshape(height, width, k * k))
    cov = second.reshape(height, width, k, k) - mean[..., :, None] * mean[..., None, :]
    ridge = reg * np.maximum(np.trace(cov, axis1=2, axis2=3) / k, np.finfo(float).tiny)
    cov += ridge[..., None, None] * np.eye(k)
    centred = z - mean
    solved = np.linalg.solve(cov, centred[..., None])[..., 0]
    return np.einsum("hwk,hwk->hw", centred, solved)
