"""Anomalies of every size: area attribute filters, a global spectral term, guided smoothing."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from ..base import SpatialReach
from ..spatial._component_tree import area_residuals
from ..spatial._guided import guided_filter
from ._base import SpectralOutlierMixin
from ._image import ImageOutlierMixin, check_windows
from ._local_rx import local_rx
from ._rx import whitener

__all__ = ["AttributeFilterDetector"]

_AREA_SCALE = 99.0  # percentile of a training map that scales it (ignores the strongest 1 %)
_GLOBAL_SCALE = 99.0  # percentile of the training distances that sets the global term's unit
_N_QUANTILES = 1001  # quantiles of the training local-RX scores kept for their ranks
_LOCAL_RX_REG = 1e-3


class AttributeFilterDetector(ImageOutlierMixin, BaseEstimator):
    """Anomalies of every size: multi-scale area attribute filters fused with a global term.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    Small targets (a pixel to a few dozen) differ from what surrounds them;
    larger objects and spectrally obvious ones differ from the scene as a
    whole. The detector scores both and fuses them, following the attribute
    and edge-preserving filtering of Kang et al. (IEEE TGRS 2017) for the
    first:

    1. **Pixel stage.** Every pixel is projected on the first
       ``n_components`` principal components of the training pixels (in
       their own units, so strong components weigh most), and its squared
       Mahalanobis distance to the training pixels over all bands (global
       RX, the same ridge as :class:`RXDetector`) is computed.
    2. **Small structures.** For every component and every area ``a`` in
       ``areas``, the area opening removes the bright connected structures
       of fewer than ``a`` pixels and the area closing the dark ones
       (max-trees, :func:`skhsi.spatial.area_residuals`); the residuals,
       summed over the components, map the structures smaller than ``a``.
       Each area's map is divided by its 99th percentile over the training
       pixels, and the maps are averaged. With ``local_rx=True`` this map is
       multiplied by each pixel's rank among the training pixels under
       dual-window RX on the first ``local_rx_components`` components
       (:class:`LocalRXDetector`), so a small structure scores high when its
       spectrum also differs from its ring of neighbours.
    3. **Global term.** The distance ``d`` becomes
       ``log(max(d / median, 1)) / log(p99 / median)`` (median and 99th
       percentile of the training distances: 1 at the training pixels' 99th
       percentile), and its bright structures of fewer than ``global_area``
       pixels are kept (the residual of an area opening): a spectrally rare
       object of up to ``global_area`` pixels scores its rarity over its
       whole extent, while rare structures larger than that (a shoreline, a
       field of another crop) count as background.
    4. **Fusion.** The two maps are added, the global one weighted by
       ``global_weight``, and a guided filter
       (:func:`skhsi.spatial.guided_filter`) guided by the first
       ``guide_components`` components, each scaled to [0, 1] over the
       training pixels, smooths the sum inside objects and keeps their edges.

    Everything a score depends on beyond a pixel's neighbourhood (the
    projection, the covariance, the percentiles and ranks) is learned in
    ``fit``; a pixel's score depends on the pixels within
    ``max(max(areas) - 1, global_area - 1, outer_window // 2) +
    2 guided_radius`` of it, so scoring an image in blocks with that halo
    gives the whole image's scores (``skhsi score`` does). There is no
    randomness.

    Parameters
    ----------
    n_components : int, default=10
        Principal components filtered.
    areas : tuple of int, default=(4, 9, 16, 36, 64)
        Object sizes in pixels (2 x 2 up to 8 x 8 squares) of the small-structure
        maps.
    global_weight : float, default=0.8
        Weight of the global term; 0 leaves only the small structures.
    global_area : int, default=576
        Largest object (pixels, a 24 x 24 square) the global term scores as an
        object; rarer structures that are larger count as background.
    local_rx : bool, default=True
        Weight the small-structure map by the local-RX rank of every pixel.
    local_rx_components : int, default=3
        Principal components the local RX compares (each scaled to unit
        variance over the training pixels).
    inner_window, outer_window : int, default=9, 21
        Windows of the local RX (see :class:`LocalRXDetector`).
    guided_radius : int, default=2
        Radius of the guided filter; 0 turns it off.
    guided_eps : float, default=1e-3
        Ridge of the guided filter, in the squared units of the [0, 1] guide.
    guide_components : int, default=5
        Leading components that guide the filter (capped at ``n_components``).
    contamination : float in (0, 0.5], default=0.01
        Fraction of training pixels flagged by ``predict``; sets ``offset_``.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features_in_,)
        Mean of the training pixels.
    components_ : ndarray of shape (n_components_, n_features_in_)
        Principal axes of the training pixels.
    explained_variance_ : ndarray of shape (n_components_,)
        Variance of the training pixels along each axis.
    n_components_ : int
        Components kept (``n_components``, at most the band count).
    covariance_ : ndarray of shape (n_features_in_, n_features_in_)
        Band covariance of the training pixels with RX's ridge, for the
        global distance.
    area_scales_ : ndarray of shape (len(areas),)
        99th percentile of each area's training map.
    small_scale_ : float
        99th percentile of the averaged small-structure map of the training
        pixels.
    local_rx_quantiles_ : ndarray of shape (1001,) or None
        Quantiles of the training pixels' local-RX scores (their ranks).
    distance_median_, distance_scale_ : float
        Median and 99th percentile of the training pixels' global distances.
    guide_low_, guide_high_ : ndarray of shape (guide_components,)
        Range of every guide component over the training pixels.
    offset_ : float
        Threshold of ``decision_function``, set from ``contamination``.
    n_features_in_ : int
        Bands seen in ``fit``.

    See Also
    --------
    LocalRXDetector : dual-window RX alone.
    RXDetector : the global distance alone.
    skhsi.pipeline.make_attribute_filter_pipeline : the default pipeline.

    References
    ----------
    .. [1] X. Kang, X. Zhang, S. Li, K. Li, J. Li, J. A. Benediktsson,
       "Hyperspectral anomaly detection with attribute and edge-preserving
       filters", IEEE TGRS 55(10), 2017.
    .. [2] K. He, J. Sun, X. Tang, "Guided image filtering", IEEE TPAMI 35(6),
       2013.
    .. [3] I. S. Reed, X. Yu, "Adaptive multiple-band CFAR detection of an
       optical pattern with unknown spectral distribution", IEEE TASSP 38(10),
       1990.

    Examples
    --------
    >>> from skhsi.anomaly import AttributeFilterDetector
    >>> from skhsi.datasets import make_synthetic_scene
    >>> from skhsi.metrics import roc_auc
    >>> scene = make_synthetic_scene(random_state=0)
    >>> scores = AttributeFilterDetector().fit_anomaly_score(scene.cube)
    >>> scores.shape, bool(roc_auc(scene.mask, scores) > 0.9)
    ((64, 64), True)
    """

    _N_DISTANCES = 1  # global distances per pixel in the features

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "areas": ["array-like"],
        "global_weight": [Interval(Real, 0, None, closed="left")],
        "global_area": [Interval(Integral, 1, None, closed="left")],
        "local_rx": ["boolean"],
        "local_rx_components": [Interval(Integral, 1, None, closed="left")],
        "inner_window": [Interval(Integral, 1, None, closed="left")],
        "outer_window": [Interval(Integral, 3, None, closed="left")],
        "guided_radius": [Interval(Integral, 0, None, closed="left")],
        "guided_eps": [Interval(Real, 0, None, closed="neither")],
        "guide_components": [Interval(Integral, 1, None, closed="left")],
        "contamination": SpectralOutlierMixin._contamination_constraint,
    }

    def __init__(self, *, n_components=10, areas=(4, 9, 16, 36, 64), global_weight=0.8,
                 global_area=576, local_rx=True, local_rx_components=3, inner_window=9,
                 outer_window=21, guided_radius=2, guided_eps=1e-3, guide_components=5,
                 contamination=0.01):
        self.n_components = n_components
        self.areas = areas
        self.global_weight = global_weight
        self.global_area = global_area
        self.local_rx = local_rx
        self.local_rx_components = local_rx_components
        self.inner_window = inner_window
        self.outer_window = outer_window
        self.guided_radius = guided_radius
        self.guided_eps = guided_eps
        self.guide_components = guide_components
        self.contamination = contamination

    def _fit(self, X):
        areas = np.asarray(self.areas)
        if (areas.ndim != 1 or areas.size == 0 or not np.issubdtype(areas.dtype, np.integer)
                or np.any(areas < 1)):
            raise ValueError(
                f"areas must be a non-empty sequence of positive integers (object sizes in "
                f"pixels); got {self.areas!r}."
            )
        if self.local_rx:
            check_windows(self.inner_window, self.outer_window)
        return super()._fit(X)

    def _spatial_reach(self):
        """The farthest any stage looks, plus the guided filter's ``2 radius``."""
        reach = int(np.max(self.areas)) - 1
        if self.global_weight > 0:
            reach = max(reach, int(self.global_area) - 1)
        if self.local_rx:
            reach = max(reach, self.outer_window // 2)
        return SpatialReach(reach + 2 * self.guided_radius)

    # -- fitted state ------------------------------------------------------------------
    def _fit_background(self, covariance, n_samples):
        covariance = covariance.copy()
        n_bands = covariance.shape[0]
        covariance[np.diag_indices(n_bands)] += 1e-6 * max(np.trace(covariance) / n_bands,
                                                          np.finfo(float).tiny)
        self.covariance_ = covariance
        self._restore()

    def _restore(self):
        self._whitener = whitener(self.covariance_)
        return self

    def _fit_scores(self, features):
        averaged, local = self._fit_structures(features)
        return self._fit_fusion(features, averaged, local)

    def _fit_structures(self, features):
        """The small-structure and local-RX maps of the training features, their scales
        learned on the way: ``(averaged maps, local-RX maps)``, one of each per cube."""
        parts = [self._parts(f) for f in features]
        small = [p[0] for p in parts]
        self.area_scales_ = np.array([_positive_percentile(
            np.concatenate([s[j].ravel() for s in small]), _AREA_SCALE)
            for j in range(len(self.areas))])
        averaged = [np.tensordot(1.0 / (self.area_scales_ * len(self.areas)), s, axes=1)
                    for s in small]
        self.small_scale_ = _positive_percentile(np.concatenate([a.ravel() for a in averaged]),
                                                 _AREA_SCALE)
        self.local_rx_quantiles_ = None
        if self.local_rx:
            pooled = np.concatenate([p[1].ravel() for p in parts])
            self.local_rx_quantiles_ = np.quantile(pooled, np.linspace(0, 1, _N_QUANTILES))
        return averaged, [p[1] for p in parts]

    def _fit_fusion(self, features, averaged, local):
        """The training maps from the features and their structure maps, learning the global
        term's levels and the guide's range on the way."""
        self._fit_distance_levels(np.concatenate([
            f[..., self.n_components_:].reshape(-1, self._N_DISTANCES) for f in features]))
        n = self._n_guide()
        self.guide_low_ = np.min([f[..., :n].min(axis=(0, 1)) for f in features], axis=0) \
            / self._guide_scale()
        self.guide_high_ = np.max([f[..., :n].max(axis=(0, 1)) for f in features], axis=0) \
            / self._guide_scale()
        return [self._fuse(f, a, loc) for f, a, loc in zip(features, averaged, local)]

    # -- the two stages ------------------------------------------------------------------
    def _pixel_features(self, cube):
        """``(H, W, n_components_ + n)`` float32: the components, then the ``n`` global
        distances (one here)."""
        pixels = cube.reshape(-1, cube.shape[-1])
        k = self.n_components_
        project = self._projection()
        out = np.empty((pixels.shape[0], k + self._N_DISTANCES), dtype=np.float32)
        for start in range(0, pixels.shape[0], self._BLOCK):
            raw = pixels[start:start + self._BLOCK]
            both = (np.asarray(raw, dtype=np.float64) - self.mean_) @ project
            out[start:start + self._BLOCK, :k] = both[:, :k]
            out[start:start + self._BLOCK, k:] = \
                self._global_distances(raw, both[:, k:]).reshape(len(raw), -1)
        return out.reshape(cube.shape[:2] + (-1,))

    def _projection(self):
        """``(C, n_components_ + C)``: the principal axes, then the whitener of the global
        distance (one product for both)."""
        return np.hstack([self.components_.T, self._whitener])

    def _global_distances(self, pixels, whitened):
        """The global term's distances of every pixel (here one: squared Mahalanobis)."""
        return np.einsum("ij,ij->i", whitened, whitened)

    def _score_features(self, features):
        weights = 1.0 / (self.area_scales_ * len(self.areas))
        averaged, local = self._parts(features, weights)
        return self._fuse(features, averaged, local)

    def _parts(self, features, weights=None):
        """The small-structure maps ``(len(areas), H, W)`` (or, given ``weights``, their
        weighted sum ``(H, W)``) and the local-RX map."""
        height, width, _ = features.shape
        combine = weights is not None
        # One map per area (fit, for their scales) in float32; their weighted sum in float64.
        small = np.zeros((height, width)) if combine else \
            np.zeros((len(self.areas), height, width), dtype=np.float32)
        for k in range(self.n_components_):
            area_residuals(features[..., k], self.areas, weights=weights, out=small,
                           combine=combine)
        local = None
        if self.local_rx:
            n = min(self.local_rx_components, self.n_components_)
            local = local_rx(features[..., :n], self.inner_window, self.outer_window,
                             _LOCAL_RX_REG, scale=self._component_scale()[:n])
        return small, local

    def _fuse(self, features, averaged, local):
        scores = averaged / self.small_scale_
        if self.local_rx:
            ranks = np.interp(local, self.local_rx_quantiles_, np.linspace(0, 1, _N_QUANTILES))
            scores *= ranks
        if self.global_weight > 0:
            scores += self.global_weight * self._global_term(features[..., self.n_components_:])
        if self.guided_radius > 0:
            # The components scaled to [0, 1] over the training pixels, in float32.
            span = np.where(self.guide_high_ > self.guide_low_,
                            self.guide_high_ - self.guide_low_, 1.0)
            guide = np.array(features[..., :self._n_guide()], dtype=np.float32)
            guide -= (self.guide_low_ * self._guide_scale()).astype(np.float32)
            guide /= (span * self._guide_scale()).astype(np.float32)
            np.clip(guide, 0.0, 1.0, out=guide)
            scores = guided_filter(guide, scores, radius=self.guided_radius,
                                   eps=self.guided_eps)
        return scores

    def _fit_distance_levels(self, distances):
        """Learn the rarity's levels from the training pixels' distances ``(n, 1)``."""
        self.distance_median_, self.distance_scale_ = _levels(distances[:, 0])

    def _rarity(self, distances):
        """``(H, W)``: 0 up to the training median, 1 at the training 99th percentile, on a
        log scale, from the distances ``(H, W, 1)``."""
        return _log_rarity(distances[..., 0], self.distance_median_, self.distance_scale_)

    def _global_term(self, distances):
        return area_residuals(self._rarity(distances), [self.global_area], dark=False)[0]

    def _n_guide(self):
        return min(self.guide_components, self.n_components_)

    def _guide_scale(self):
        return self._component_scale()[:self._n_guide()]


def _levels(distances):
    """Median and ``_GLOBAL_SCALE`` th percentile of distances (the latter above the former)."""
    distances = np.asarray(distances, dtype=np.float64)
    median = _positive_percentile(distances, 50.0)
    return median, max(_positive_percentile(distances, _GLOBAL_SCALE), median * (1 + 1e-6))


def _log_rarity(distances, median, top):
    """``log(max(d / median, 1)) / log(top / median)``, in float64."""
    return np.log(np.maximum(np.asarray(distances, dtype=np.float64) / median, 1.0)) \
        / np.log(top / median)


def _positive_percentile(values, q):
    """The ``q`` th percentile of ``values``, or their largest value when that is 0 (a map that
    is 0 almost everywhere), or 1 when all are 0."""
    value = float(np.percentile(values, q))
    if value > 0:
        return value
    top = float(np.max(values))
    return top if top > 0 else 1.0
