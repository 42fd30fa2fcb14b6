"""The default detector with a background model learned on the pixels it calls background."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval

from ._attribute import AttributeFilterDetector, _levels, _log_rarity

__all__ = ["LearnedBackgroundDetector"]

#: Share of phase 2's most anomalous training pixels that phase 1 ranks in its own top share,
#: below which ``fit`` warns that phase 2 departs from phase 1.
AGREEMENT_WARNING = 0.5


class LearnedBackgroundDetector(AttributeFilterDetector):
    """Two-phase detector: the default's statistics, then a learned background model.

    Read more in the :ref:`User Guide <learned_background>`.

    Phase 1 is :class:`AttributeFilterDetector`, the training-free default,
    fitted on the scene. Phase 2 fits ``estimator`` (by default a spectral
    :class:`AutoencoderDetector`) on the pixels phase 1 scores lowest, the
    ``background_quantile`` share of the training pixels (a background
    purified of anomalies, so the network cannot learn to reconstruct them).
    Its anomaly score, the reconstruction error, joins the global Mahalanobis
    distance in the default's global term: each is turned into a rarity (0 at
    its training median, 1 at its 99th percentile, on a log scale) and a pixel
    takes the larger, so it is globally rare when either the Gaussian
    background or the learned one cannot explain its spectrum. Everything else
    (principal components, attribute filters, local RX, guided filter, their
    scales) is the default's.

    Phase 2 cannot silently undo phase 1: ``phase1_`` is the fitted phase-1
    detector (``phase1_.anomaly_score(X)`` gives its map), and ``fit``
    reports how far the two maps agree on the training pixels
    (``rank_correlation_``, ``top_overlap_``), with a ``UserWarning`` when
    fewer than half of phase 2's most anomalous pixels are among phase 1's.

    Parameters
    ----------
    estimator : estimator or None, default=None
        Spectral anomaly detector of phase 2, fitted on a pixel table and
        scoring one with ``anomaly_score`` (non-negative, larger is more
        anomalous: a distance or a reconstruction error); cloned. ``None``:
        ``AutoencoderDetector()``.
    background_quantile : float in (0, 1], default=0.9
        Share of the training pixels, those phase 1 scores lowest, that phase 2
        learns from.
    max_samples : int, default=65536
        Background pixels drawn (without replacement, by ``random_state``) for
        phase 2 at most.
    random_state : int, RandomState instance or None, default=None
        Draws the background sample; an int also seeds ``estimator`` when it has
        a ``random_state`` parameter.
    n_components, areas, global_weight, global_area, local_rx, \
local_rx_components, inner_window, outer_window, guided_radius, guided_eps, \
guide_components, contamination
        As for :class:`AttributeFilterDetector` (they are phase 1's too).

    Attributes
    ----------
    phase1_ : AttributeFilterDetector
        Phase 1, fitted on the same cubes: the fallback map.
    estimator_ : estimator
        Phase 2's background model, fitted on the background sample.
    background_threshold_ : float
        Phase-1 score at or below which a training pixel counts as background.
    n_background_ : int
        Background pixels phase 2 was fitted on.
    rank_correlation_ : float
        Spearman correlation of the phase-1 and phase-2 maps of the training
        pixels.
    top_overlap_ : float
        Share of phase 2's ``contamination`` most anomalous training pixels that
        are also among phase 1's.
    distance_levels_ : ndarray of shape (2, 2)
        Median and 99th percentile (columns) of the training pixels' global
        Mahalanobis distances and of the background model's scores (rows).
    mean_, components_, explained_variance_, n_components_, covariance_, \
area_scales_, small_scale_, local_rx_quantiles_, guide_low_, guide_high_, \
offset_, n_features_in_
        As for :class:`AttributeFilterDetector`.

    See Also
    --------
    AttributeFilterDetector : phase 1 alone, the default.
    AutoencoderDetector : the background model alone.

    Notes
    -----
    A pixel's score depends on the same neighbourhood as phase 1's (the
    background model scores each spectrum alone), so block-wise scoring with
    the same halo gives the whole image's scores. Fitting computes phase 1's
    statistics and structure maps once for both phases and trains the
    network once; a GPU (``estimator=AutoencoderDetector(device="cuda")``)
    moves its training and scoring there, the filters stay on the CPU.

    Examples
    --------
    >>> from skhsi.anomaly import AutoencoderDetector, LearnedBackgroundDetector
    >>> from skhsi.datasets import make_synthetic_scene
    >>> from skhsi.metrics import roc_auc
    >>> scene = make_synthetic_scene(random_state=0)
    >>> det = LearnedBackgroundDetector(AutoencoderDetector(max_epochs=5, device="cpu"),
    ...                                 random_state=0)
    >>> scores = det.fit_anomaly_score(scene.cube)
    >>> scores.shape, bool(roc_auc(scene.mask, scores) > 0.9)
    ((64, 64), True)
    >>> bool(det.top_overlap_ > 0.5)
    True
    """

    _parameter_constraints = {
        **AttributeFilterDetector._parameter_constraints,
        "estimator": [HasMethods(["fit", "anomaly_score"]), None],
        "background_quantile": [Interval(Real, 0, 1, closed="right")],
        "max_samples": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, background_quantile=0.9, max_samples=65536,
                 random_state=None, n_components=10, areas=(4, 9, 16, 36, 64),
                 global_weight=0.8, global_area=576, local_rx=True, local_rx_components=3,
                 inner_window=9, outer_window=21, guided_radius=2, guided_eps=1e-3,
                 guide_components=5, contamination=0.01):
        super().__init__(n_components=n_components, areas=areas, global_weight=global_weight,
                         global_area=global_area, local_rx=local_rx,
                         local_rx_components=local_rx_components, inner_window=inner_window,
                         outer_window=outer_window, guided_radius=guided_radius,
                         guided_eps=guided_eps, guide_components=guide_components,
                         contamination=contamination)
        self.estimator = estimator
        self.background_quantile = background_quantile
        self.max_samples = max_samples
        self.random_state = random_state

    # -- fit: phase 1's statistics and maps are computed once and serve both phases -------
    _PHASE1_STATE = ("mean_", "components_", "explained_variance_", "n_components_",
                     "covariance_", "n_features_in_")

    def _fit_validated(self, cubes, batched):
        # The raw training pixels, for phase 2; while they are set, the background model's
        # column of the features is left for _fit_scores to fill.
        self._training_cubes = cubes
        try:
            return super()._fit_validated(cubes, batched)
        finally:
            del self._training_cubes

    def _fit_scores(self, features):
        k = self.n_components_
        names = AttributeFilterDetector._parameter_constraints
        phase1 = AttributeFilterDetector(**{name: getattr(self, name) for name in names})
        for name in self._PHASE1_STATE:
            value = getattr(self, name)
            setattr(phase1, name, value.copy() if isinstance(value, np.ndarray) else value)
        phase1._restore()
        # Phase 1 on the same features, global RX's distance only: its fit, done once.
        view = [f[..., :k + 1] for f in features]
        averaged, local = phase1._fit_structures(view)
        first = phase1._fit_fusion(view, averaged, local)
        for map_, cube in zip(first, self._training_cubes):
            phase1._check_finite(map_, cube.shape)
        scores1 = np.concatenate([m.ravel() for m in first]).astype(np.float64)
        phase1._set_offset(scores1)
        for name in ("area_scales_", "small_scale_", "local_rx_quantiles_"):
            setattr(self, name, getattr(phase1, name))
        # Phase 2: the background model learns the pixels phase 1 scores lowest.
        self.estimator_ = self._fit_background_model(scores1)
        for f, cube in zip(features, self._training_cubes):
            pixels, column = cube.reshape(-1, cube.shape[-1]), f.reshape(-1, f.shape[-1])
            for start in range(0, pixels.shape[0], self._BLOCK):
                column[start:start + self._BLOCK, k + 1] = \
                    self._model_scores(pixels[start:start + self._BLOCK])
        second = self._fit_fusion(features, averaged, local)
        self.phase1_ = phase1
        self._report_agreement(scores1, np.concatenate([m.ravel() for m in second]))
        return second

    def _fit_background_model(self, scores1):
        """``estimator`` fitted on (a sample of) the pixels phase 1 scores lowest."""
        pixels_in = [c.reshape(-1, c.shape[-1]) for c in self._training_cubes]
        self.background_threshold_ = float(np.quantile(scores1, self.background_quantile))
        background = np.flatnonzero(scores1 <= self.background_threshold_)
        rng = check_random_state(self.random_state)
        if background.size > self.max_samples:
            background = np.sort(rng.choice(background, self.max_samples, replace=False))
        self.n_background_ = int(background.size)
        offsets = np.cumsum([0] + [p.shape[0] for p in pixels_in])
        sample = np.concatenate([p[background[(background >= lo) & (background < hi)] - lo]
                                 for p, lo, hi in zip(pixels_in, offsets[:-1], offsets[1:])])
        return self._make_estimator(rng).fit(sample)

    def _make_estimator(self, rng):
        if self.estimator is None:
            from ._autoencoder import AutoencoderDetector

            estimator = AutoencoderDetector()
        else:
            estimator = clone(self.estimator)
        if "random_state" in estimator.get_params() and self.random_state is not None:
            estimator.set_params(random_state=int(rng.randint(np.iinfo(np.int32).max)))
        return estimator

    # -- the global distances: global RX's and the background model's ---------------------
    _N_DISTANCES = 2

    def _global_distances(self, pixels, whitened):
        distances = super()._global_distances(pixels, whitened)
        if getattr(self, "_training_cubes", None) is not None:  # in fit: filled once trained
            return np.column_stack([distances, np.zeros_like(distances)])
        return np.column_stack([distances, self._model_scores(pixels)])

    def _model_scores(self, pixels):
        """The background model's scores of a pixel table, checked."""
        scores = np.asarray(self.estimator_.anomaly_score(pixels), dtype=np.float64)
        if scores.shape != (pixels.shape[0],):
            raise ValueError(
                f"{type(self).__name__}: the background model {type(self.estimator_).__name__} "
                f"must give one score per pixel of a pixel table; got shape {scores.shape} for "
                f"{pixels.shape[0]} pixels."
            )
        if scores.size and not np.all(np.isfinite(scores) & (scores >= 0)):
            raise ValueError(
                f"{type(self).__name__}: the background model "
                f"{type(self.estimator_).__name__} must give finite, non-negative anomaly "
                f"scores (a distance or a reconstruction error); got values from "
                f"{np.nanmin(scores):.4g} to {np.nanmax(scores):.4g}."
            )
        return scores

    def _fit_distance_levels(self, distances):
        self.distance_levels_ = np.array([_levels(distances[:, j]) for j in range(2)])

    def _rarity(self, distances):
        """The larger of the two distances' rarities (each as the default's)."""
        return np.maximum(*(_log_rarity(distances[..., j], *self.distance_levels_[j])
                            for j in range(2)))

    def _report_agreement(self, first, second):
        self.rank_correlation_ = float(spearmanr(first, second).statistic) \
            if np.ptp(first) > 0 and np.ptp(second) > 0 else 0.0
        k = max(1, int(np.floor(self.contamination * first.size)))
        top1 = np.argpartition(first, first.size - k)[-k:]
        top2 = np.argpartition(second, second.size - k)[-k:]
        self.top_overlap_ = float(np.isin(top2, top1).mean())
        if self.top_overlap_ < AGREEMENT_WARNING:
            warnings.warn(
                f"{type(self).__name__}: only {self.top_overlap_:.0%} of phase 2's "
                f"{k} most anomalous training pixels are among phase 1's (rank correlation "
                f"{self.rank_correlation_:.2f}); compare with phase1_.anomaly_score(X) before "
                f"trusting phase 2.", UserWarning, stacklevel=3)
