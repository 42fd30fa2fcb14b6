"""Few labels, many pixels: spectral-spatial features from the whole cube, edge-preserving
filtering of the class scores."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from .._labels import check_classes, unlabelled
from .._moments import cube_moments, principal_axes, project
from ..base import SpatialReach
from ..spatial._base import CubeInputMixin
from ..spatial._guided import box_mean, guided_filter
from ._label_maps import LabelMapMixin

__all__ = ["SpectralSpatialClassifier"]

_BLOCK = 65536  # pixels projected, and classified, at a time


class SpectralSpatialClassifier(CubeInputMixin, LabelMapMixin, ClassifierMixin,
                                BaseEstimator):
    """A pixel classifier for few labels that learns from every pixel of the cube.

    Read more in the :ref:`User Guide <classifiers>`.

    With a handful of labelled pixels per class, what the other pixels of the
    scene say is worth more than any model of the labelled ones. ``fit(cube,
    label_map)`` (0 = unlabelled) uses every pixel of the cube for the
    statistics and the labelled ones only for the classifier:

    1. **Statistics of the whole cube.** The bands are standardised and
       projected on the first ``n_components`` principal components of all
       the pixels, labelled or not (whitened: each component at unit variance).
    2. **Spatial features.** Each component is averaged over square windows
       of every size in ``window_sizes``, so a pixel is described by its
       spectrum and by its neighbourhood's.
    3. **Classifier.** ``estimator`` (default: an RBF ``SVC(C=100)`` with
       ``gamma = 1 / (2 n_features)``) is fitted on the features of the
       labelled pixels.
    4. **Edge-preserving filtering** (Kang, Li and Benediktsson, 2014): the
       class scores (``decision_function``, else ``predict_proba``) are
       smoothed by a guided filter (:func:`skhsi.spatial.guided_filter`)
       guided by the first ``guide_components`` components, each scaled to
       [0, 1] over the training pixels, so a field's pixels agree and its
       edges stay where the image puts them; each pixel takes the class of
       its highest filtered score.
    5. **Self-training** (``pseudo_labels > 0``): for each class, the
       ``pseudo_labels`` unlabelled pixels of the training cube that steps 3
       and 4 assign to it with the widest lead of its filtered score over
       the runner-up become labels of that class, and the classifier is
       fitted again on the labelled and pseudo-labelled pixels. The same
       number per class keeps the classes balanced, and the filtered scores
       lead most deep inside fields, so the pseudo-labels carry what the
       labels missed of each field's spread (a field's far side, its other
       soil) at little risk of a wrong class.

    Everything a prediction depends on beyond a pixel's neighbourhood is
    learned in ``fit``; a pixel's class depends on the pixels within
    ``max(window_sizes) // 2 + 2 filter_radius`` of it, so a large image
    predicted in blocks with that halo gives the whole image's labels.
    There is no randomness unless ``estimator`` has some.

    Memory: the statistics of step 1 are accumulated, the projection computed
    and the classifier applied a block of pixels at a time, so ``fit`` and
    ``predict`` make no float64 copy of the cube; what they hold beyond it is
    the features, ``n_components * (1 + len(window_sizes))`` float64 values
    per pixel (100 with the defaults), and the class scores.

    Parameters
    ----------
    estimator : classifier or None, default=None
        A scikit-learn classifier with ``decision_function`` or
        ``predict_proba``; ``None`` is ``SVC(C=100, gamma=1 / (2 n_features))``
        (RBF kernel; the features are whitened, so the kernel's width follows
        their spread: about twice as wide as with scikit-learn's
        ``gamma="scale"``, which fits a few labels too closely). It is cloned
        in ``fit``.
    n_components : int, default=20
        Principal components of the standardised bands (at most the band
        count).
    window_sizes : tuple of odd int, default=(5, 9, 17, 33)
        Sides of the square windows whose means describe a pixel's
        neighbourhood, from its close surroundings to its field (the sides
        roughly double); empty for spectral features only.
    filter_radius : int, default=3
        Radius of the guided filter of the class scores; 0 turns it off.
    filter_eps : float, default=0.01
        Ridge of the guided filter, in the squared units of the [0, 1] guide:
        smaller keeps finer edges.
    guide_components : int, default=3
        Components that guide the filter.
    pseudo_labels : int, default=200
        Pixels per class added as pseudo-labels before the classifier is
        fitted a second time (step 5); 0 fits it once, on the labelled
        pixels only. A class predicted on fewer unlabelled pixels adds them
        all. With the default SVC, more pseudo-labels keep more support
        vectors, and ``predict`` takes longer.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (0, the unlabelled mark, excluded).
    mean_ : ndarray of shape (n_features_in_,)
        Band means of the training pixels.
    scale_ : ndarray of shape (n_features_in_,)
        Band standard deviations of the training pixels (1 where constant).
    components_ : ndarray of shape (n_components_, n_features_in_)
        Principal axes of the standardised training pixels.
    component_scale_ : ndarray of shape (n_components_,)
        Standard deviation of each component over the training pixels.
    n_components_ : int
        Components kept.
    guide_low_ : ndarray of shape (n_guide,)
        Smallest value of each guide component over the training pixels.
    guide_high_ : ndarray of shape (n_guide,)
        Largest value of each guide component over the training pixels.
    estimator_ : classifier
        The fitted classifier of the labelled (and pseudo-labelled) pixels'
        features.
    n_pseudo_labels_ : ndarray of shape (n_classes,)
        Pseudo-labels added per class, in ``classes_`` order (zeros when
        ``pseudo_labels=0``).
    n_features_in_ : int
        Number of bands seen in ``fit``.

    See Also
    --------
    skhsi.classification.PatchClassifier : a trained patch network.
    skhsi.spatial.guided_filter : the edge-preserving filter.

    References
    ----------
    .. [1] X. Kang, S. Li and J. A. Benediktsson, "Spectral-spatial
       hyperspectral image classification with edge-preserving filtering",
       IEEE Transactions on Geoscience and Remote Sensing 52(5), 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.classification import SpectralSpatialClassifier
    >>> rng = np.random.default_rng(0)
    >>> truth = np.repeat([[1, 2], [2, 1]], 15, axis=0).repeat(15, axis=1)   # four fields
    >>> signal = np.where(truth == 2, 1.0, -1.0)[..., None] * np.linspace(-1, 1, 8)
    >>> cube = rng.normal(size=(30, 30, 8)) + signal                 # noisy spectra
    >>> labels = np.zeros_like(truth); labels[[2, 5, 20, 25], [3, 25, 4, 22]] = [1, 2, 2, 1]
    >>> spectral = SpectralSpatialClassifier(n_components=4, window_sizes=(), filter_radius=0,
    ...                                      pseudo_labels=0)       # the spectra alone
    >>> full = SpectralSpatialClassifier(n_components=4)               # 2 labels per class
    >>> [round(float((m.fit(cube, labels).predict(cube) == truth).mean()), 3)
    ...  for m in (spectral, full)]
    [0.819, 0.991]
    >>> full.n_pseudo_labels_.tolist()                                 # per class
    [200, 200]
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "window_sizes": [tuple, list],
        "filter_radius": [Interval(Integral, 0, None, closed="left")],
        "filter_eps": [Interval(Real, 0, None, closed="neither")],
        "guide_components": [Interval(Integral, 1, None, closed="left")],
        "pseudo_labels": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, estimator=None, *, n_components=20, window_sizes=(5, 9, 17, 33),
                 filter_radius=3, filter_eps=0.01, guide_components=3, pseudo_labels=200):
        self.estimator = estimator
        self.n_components = n_components
        self.window_sizes = window_sizes
        self.filter_radius = filter_radius
        self.filter_eps = filter_eps
        self.guide_components = guide_components
        self.pseudo_labels = pseudo_labels

    def _spatial_reach(self):
        """The widest window's half side, plus the guided filter's ``2 radius``."""
        return SpatialReach(max(self._windows(), default=1) // 2 + 2 * self.filter_radius)

    def _windows(self):
        sizes = list(self.window_sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 and s % 2
                   for s in sizes):
            raise ValueError(f"window_sizes must hold odd positive integers (a window has a "
                             f"centre pixel); got {self.window_sizes!r}.")
        return [int(s) for s in sizes]

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Learn the statistics from every pixel and the classifier from the labelled ones.

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C)
        y : array-like of shape (H, W) or (N, H, W)
            Label map, 0 = unlabelled; at least two classes.

        Returns
        -------
        self
        """
        self._windows()
        cubes, _ = self._validate_cubes(X, reset=True)
        maps = self._label_maps(cubes, self._targets(y, None, None))
        self.classes_ = np.unique(self._labelled_values(maps))
        check_classes(self.classes_, type(self).__name__)
        # Streaming moments: the pixels are never copied whole.
        n, self.mean_, scatter = cube_moments(cubes)
        std = np.sqrt(np.diag(scatter) / n)
        self.scale_ = np.where(std > 0, std, 1.0)
        covariance = scatter / max(n - 1, 1) / np.outer(self.scale_, self.scale_)
        k = min(self.n_components, covariance.shape[0], n)
        self.components_, variance = principal_axes(covariance, k)
        self.n_components_ = int(k)
        scale = np.sqrt(variance)
        self.component_scale_ = np.where(scale > 0, scale, 1.0)
        projected = [self._project(c) for c in cubes]
        n_guide = min(self.guide_components, k)
        self.guide_low_ = np.min([p[..., :n_guide].min(axis=(0, 1)) for p in projected], axis=0)
        self.guide_high_ = np.max([p[..., :n_guide].max(axis=(0, 1)) for p in projected],
                                  axis=0)
        features = [self._features(p).reshape(-1, self._n_features()) for p in projected]
        labels = np.concatenate([m.reshape(-1) for m in maps])
        self.estimator_ = self._fitted_estimator(features, labels)
        self.n_pseudo_labels_ = np.zeros(len(self.classes_), dtype=np.intp)
        if self.pseudo_labels > 0:
            scores = np.concatenate([
                self._filtered_scores(p, f).reshape(-1, len(self.classes_))
                for p, f in zip(projected, features)])
            labels, self.n_pseudo_labels_ = self._with_pseudo_labels(scores, labels)
            if self.n_pseudo_labels_.any():
                self.estimator_ = self._fitted_estimator(features, labels)
        return self

    def _fitted_estimator(self, features, labels):
        """A fresh ``estimator`` (or the default SVC) fitted on the labelled pixels.

        ``features``: one ``(n_pixels, n_features)`` table per cube; ``labels``: theirs,
        concatenated. Only the labelled rows are gathered."""
        keep = ~unlabelled(labels)
        starts = np.cumsum([0] + [len(f) for f in features])
        rows = np.concatenate([f[keep[a:b]] for f, a, b in zip(features, starts, starts[1:])])
        estimator = clone(self.estimator) if self.estimator is not None else \
            _default_estimator(rows.shape[1])
        return estimator.fit(rows, labels[keep])

    def _with_pseudo_labels(self, scores, labels):
        """The labels plus, per class, the ``pseudo_labels`` unlabelled pixels of the
        widest lead of their filtered score over the runner-up (and the count per class)."""
        ordered = np.sort(scores, axis=-1)
        lead = ordered[:, -1] - ordered[:, -2]
        winner = np.argmax(scores, axis=-1)
        free = unlabelled(labels)
        labels = labels.copy()
        counts = np.zeros(len(self.classes_), dtype=np.intp)
        for j, label in enumerate(self.classes_):
            candidates = np.flatnonzero(free & (winner == j))
            chosen = candidates[np.argsort(-lead[candidates], kind="stable")][
                :self.pseudo_labels]
            labels[chosen] = label
            counts[j] = len(chosen)
        return labels, counts

    def _project(self, cube):
        """``(H, W, n_components_)``: the whitened principal components of a cube, computed
        a block of pixels at a time (no float64 copy of the cube)."""
        axes = (self.components_ / self.scale_).T / self.component_scale_
        return project(cube.reshape(-1, cube.shape[-1]), self.mean_, axes, _BLOCK).reshape(
            cube.shape[:2] + (self.n_components_,))

    def _n_features(self):
        return self.n_components_ * (1 + len(self._windows()))

    def _features(self, projected):
        """The components and their window means, ``(H, W, n_features)``, written into one
        array."""
        k = self.n_components_
        out = np.empty(projected.shape[:2] + (self._n_features(),))
        out[..., :k] = projected
        for i, size in enumerate(self._windows(), start=1):
            out[..., i * k:(i + 1) * k] = box_mean(projected, size // 2)
        return out

    def _score_maps(self, X):
        check_is_fitted(self, "classes_")
        cubes, batched = self._validate_cubes(X, reset=False)
        maps = []
        for cube in cubes:
            projected = self._project(cube)
            features = self._features(projected).reshape(-1, self._n_features())
            maps.append(self._filtered_scores(projected, features))
        return maps, batched

    def _filtered_scores(self, projected, features):
        """``(H, W, n_classes)``: the classifier's scores of a cube's pixel features,
        smoothed by the guided filter."""
        method = getattr(self.estimator_, "decision_function", None) or \
            self.estimator_.predict_proba
        # A block of pixels at a time: a one-vs-one SVC's pairwise margins stay small.
        scores = np.empty((features.shape[0], len(self.classes_)))
        for start in range(0, features.shape[0], _BLOCK):
            block = np.asarray(method(features[start:start + _BLOCK]), dtype=np.float64)
            if block.ndim == 1:  # a binary decision function: the second class's margin
                block = np.stack([-block, block], axis=-1)
            if block.shape[1:] != (len(self.classes_),):
                raise ValueError(
                    f"{type(self).__name__}: the estimator's {method.__name__} must give one "
                    f"score per class ({len(self.classes_)} columns); got shape "
                    f"{block.shape} (an SVC with decision_function_shape='ovo' gives one per "
                    f"pair of classes: use 'ovr').")
            scores[start:start + _BLOCK] = block
        scores = scores.reshape(projected.shape[:2] + (-1,))
        if self.filter_radius > 0:
            guide = self._guide(projected)
            scores = np.stack([guided_filter(guide, scores[..., j], radius=self.filter_radius,
                                             eps=self.filter_eps)
                               for j in range(scores.shape[-1])], axis=-1)
        return scores

    def _guide(self, projected):
        n = len(self.guide_low_)
        span = np.where(self.guide_high_ > self.guide_low_, self.guide_high_ - self.guide_low_,
                        1.0)
        return np.clip((projected[..., :n] - self.guide_low_) / span, 0.0, 1.0).astype(
            np.float32)

    def decision_function(self, X):
        """The filtered class scores: ``(H, W, n_classes)`` per cube, in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (H, W, n_classes) or (N, H, W, n_classes)
        """
        maps, batched = self._score_maps(X)
        return self._cubes_back(maps, batched)

    def predict(self, X):
        """The class of the highest filtered score per pixel: a label map.

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (H, W) or (N, H, W)
        """
        maps, batched = self._score_maps(X)
        return self._cubes_back([self.classes_[np.argmax(m, axis=-1)] for m in maps], batched)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


def _default_estimator(n_features):
    from sklearn.svm import SVC

    return SVC(C=100, gamma=1.0 / (2 * n_features))
