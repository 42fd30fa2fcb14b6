"""Anomalies as small objects: area attribute filters on principal components."""

from numbers import Integral, Real

import numpy as np
from skimage.morphology import area_closing, area_opening, max_tree
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from ..base import GLOBAL, SpatialReach
from ..spatial._guided import guided_filter
from ._base import SpectralOutlierMixin
from ._image import ImageOutlierMixin, check_windows, image_rank
from ._local_rx import local_rx

__all__ = ["AttributeFilterDetector", "small_object_map"]

_ROBUST_MAX = 99.0  # percentile that scales each area's map (ignores the few strongest pixels)


class AttributeFilterDetector(ImageOutlierMixin, BaseEstimator):
    """Small-object detector: area attribute filters, local RX and a guided filter.

    Anomalies in a scene are small: a few to a few dozen pixels that differ
    from what surrounds them. This detector follows the attribute and
    edge-preserving filtering of Kang et al. (IEEE TGRS 2017) with a local
    spectral check:

    1. project each pixel on the first ``n_components`` principal
       components learned in ``fit`` (in their own units, so that the
       strong components weigh most and noise components little);
    2. for every component and every area ``a`` in ``areas``, the area
       opening removes the bright connected structures smaller than ``a``
       pixels and the area closing the dark ones (max-tree filters of
       scikit-image); the residual ``(x - opening) + (closing - x)``,
       summed over the components, is a map of the structures smaller than
       ``a``. Each area's map is scaled by its 99th percentile and the maps
       are summed, so targets of any size up to ``max(areas)`` count;
    3. with ``local_rx=True``, the map is multiplied by each pixel's rank
       (in (0, 1]) under dual-window RX (:class:`LocalRXDetector`), so a
       small structure scores high only when its spectrum also differs
       from its surroundings;
    4. a guided filter (:func:`skhsi.spatial.guided_filter`) guided by the
       first ``guide_components`` components, each scaled to [0, 1], smooths
       the map inside objects and keeps their edges.

    The projection is learned in ``fit``; everything else is computed on the
    cube being scored. There is no randomness: the scores are the same for
    every run.

    Parameters
    ----------
    n_components : int, default=10
        Principal components filtered.
    areas : tuple of int, default=(4, 9, 16, 36, 64)
        Object sizes in pixels (2 x 2 up to 8 x 8 squares); structures larger
        than ``max(areas)`` count as background.
    local_rx : bool, default=True
        Weight the map by the local-RX rank of every pixel.
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
    n_components_ : int
    offset_ : float
    n_features_in_ : int

    See Also
    --------
    LocalRXDetector, RXDetector, skhsi.pipeline.make_attribute_filter_pipeline

    Examples
    --------
    >>> from skhsi.anomaly import AttributeFilterDetector
    >>> from skhsi.datasets import make_synthetic_scene
    >>> from skhsi.metrics import roc_auc
    >>> scene = make_synthetic_scene(random_state=0)
    >>> scores = AttributeFilterDetector().fit(scene.cube).anomaly_score(scene.cube)
    >>> scores.shape, bool(roc_auc(scene.mask, scores) > 0.9)
    ((64, 64), True)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "areas": ["array-like"],
        "local_rx": ["boolean"],
        "inner_window": [Interval(Integral, 1, None, closed="left")],
        "outer_window": [Interval(Integral, 3, None, closed="left")],
        "guided_radius": [Interval(Integral, 0, None, closed="left")],
        "guided_eps": [Interval(Real, 0, None, closed="neither")],
        "guide_components": [Interval(Integral, 1, None, closed="left")],
        "contamination": SpectralOutlierMixin._contamination_constraint,
    }

    def __init__(self, *, n_components=10, areas=(4, 9, 16, 36, 64), local_rx=True,
                 inner_window=9, outer_window=21, guided_radius=2, guided_eps=1e-3,
                 guide_components=5, contamination=0.01):
        self.n_components = n_components
        self.areas = areas
        self.local_rx = local_rx
        self.inner_window = inner_window
        self.outer_window = outer_window
        self.guided_radius = guided_radius
        self.guided_eps = guided_eps
        self.guide_components = guide_components
        self.contamination = contamination

    def fit(self, X, y=None):
        areas = np.asarray(self.areas)
        if (areas.ndim != 1 or areas.size == 0 or not np.issubdtype(areas.dtype, np.integer)
                or np.any(areas < 1)):
            raise ValueError(
                f"areas must be a non-empty sequence of positive integers (object sizes in "
                f"pixels); got {self.areas!r}."
            )
        if self.local_rx:
            check_windows(self.inner_window, self.outer_window)
        return super().fit(X, y)

    fit.__doc__ = ImageOutlierMixin.fit.__doc__

    def _spatial_reach(self):
        """Global: every map is scaled by its percentile and ranked within the image."""
        return SpatialReach(GLOBAL)

    def _score_cube(self, components):
        scores = small_object_map(components, self.areas)
        if self.local_rx:
            scores *= image_rank(local_rx(components / self._component_scale(),
                                          self.inner_window, self.outer_window, reg=1e-3))
        if self.guided_radius > 0:
            guide = components[..., :self.guide_components]
            low, high = guide.min(axis=(0, 1)), guide.max(axis=(0, 1))
            guide = (guide - low) / np.where(high > low, high - low, 1.0)
            scores = guided_filter(guide, scores, radius=self.guided_radius,
                                   eps=self.guided_eps)
        return scores


def small_object_map(components, areas):
    """Multi-scale area-attribute residual of a cube of components ``(H, W, K)``.

    For each area the residuals of the area opening and closing of every
    component are summed; each area's map is scaled by its 99th percentile
    and the scaled maps are summed. See :class:`AttributeFilterDetector`.
    """
    height, width, k = components.shape
    residuals = np.zeros((len(areas), height, width))
    for i in range(k):
        band = np.ascontiguousarray(components[..., i])
        # One max-tree per component and polarity serves every area.
        bright = max_tree(band)
        dark = max_tree(-band)
        for j, area in enumerate(areas):
            residuals[j] += band - area_opening(band, int(area), parent=bright[0],
                                                tree_traverser=bright[1])
            residuals[j] += area_closing(band, int(area), parent=dark[0],
                                         tree_traverser=dark[1]) - band
    total = np.zeros((height, width))
    for residual in residuals:
        scale = np.percentile(residual, _ROBUST_MAX)
        if scale <= 0:
            scale = residual.max()
        total += residual / scale if scale > 0 else residual
    return total
