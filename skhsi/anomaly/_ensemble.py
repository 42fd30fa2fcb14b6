"""Consensus of several anomaly detectors on rank-normalised scores."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context, clone
from sklearn.utils import Bunch, get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.parallel import Parallel, delayed

from ..base import restore_shape
from ._base import SpectralOutlierMixin

__all__ = ["ConsensusDetector"]

# The vote's tie-break: rank-mean times this is added to the vote fraction.
_TIE_BREAK = 1e-6
# Scores within this fraction of the training scores' magnitude tie in the ranks.
_TIE_RTOL = 1e-9
# Rounding slack of the weighted sums compared with ``agreement`` and ``1 - contamination``.
_SLACK = 1e-12


class ConsensusDetector(SpectralOutlierMixin, _BaseComposition):
    """Consensus of anomaly detectors, each rank-normalised against its training scores.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    Every member is cloned and fitted on the training data. A member's anomaly
    score (``anomaly_score(X)`` where it has one, else ``-score_samples(X)``,
    so plain scikit-learn detectors such as :class:`~sklearn.ensemble.IsolationForest`
    and ``LocalOutlierFactor(novelty=True)`` fit in) is mapped to its mid-rank
    empirical CDF among the member's own training scores,
    ``r = (#{train < s} + #{train <= s}) / (2 n_train)``, a value in [0, 1].
    On the training pixels this is rank normalisation, ``(rank - 0.5) / n_train``
    with mid-ranks for ties; on new pixels it depends only on the pixel and
    the training scores, not on the rest of the batch (scores closer than
    1e-9 times the largest training score magnitude count as tied, so that a
    member's rounding, which can depend on the batch size, does not move a
    rank). Scores on incompatible scales (Mahalanobis distances, path
    lengths, reconstruction errors) thus become comparable. The members are
    combined by ``method``:

    - ``"rank-mean"``: the anomaly score is the weighted mean ``m`` of the
      members' normalised scores. ``offset_`` is set from ``contamination``
      as in scikit-learn, so ``predict`` flags the fraction ``contamination``
      of the training pixels with the highest ``m``.
    - ``"vote"``: a member flags a pixel when its normalised score is
      ``>= 1 - contamination`` (the member's ``contamination`` top fraction
      of the training pixels); ``v`` is the weighted fraction of the members
      that flag the pixel. The anomaly score is ``v + 1e-6 * m``: the
      rank-mean breaks the ties between pixels with the same vote, so the
      ranking stays informative. ``predict`` flags the pixels with
      ``v >= agreement`` (up to rounding, 1e-12), ``offset_ = -agreement``.
      The score is clipped so that it is ``> agreement`` exactly on those
      pixels and ``<= agreement`` elsewhere.

    For both methods ``decision_function = score_samples - offset_ =
    -anomaly_score - offset_`` is negative exactly where ``predict`` is -1.

    A member whose tags declare image input (``input_tags.three_d_array``,
    as the spatial autoencoders, filters and image detectors do; for a
    pipeline, any step's tags) gets the input as the ensemble got it, a cube or a batch of
    cubes, and its score maps are flattened. Every other member gets the
    pixel table ``(n_pixels, C)``, so plain scikit-learn detectors work on
    cubes too. The ensemble's outputs have the input's leading shape:
    ``(n,)`` for pixels, ``(H, W)`` for a cube, ``(N, H, W)`` for a batch.

    Parameters
    ----------
    detectors : list of (str, estimator) tuples
        The members, as in :class:`~sklearn.ensemble.VotingClassifier`. A
        member's parameters are set as ``name__param``; a member set to
        ``"drop"`` is left out.
    method : {"rank-mean", "vote"}, default="rank-mean"
        How the normalised scores are combined (see above).
    weights : array-like of shape (n_detectors,), default=None
        Non-negative weight of every member (of ``"drop"`` ones too, which are
        ignored), not all zero; ``None`` weighs the members equally.
    agreement : float in (0, 1], default=0.5
        ``"vote"`` only: weighted fraction of flagging members from which a
        pixel is an anomaly.
    contamination : float in (0, 0.5], default=0.01
        ``"rank-mean"``: fraction of training pixels flagged by ``predict``,
        sets ``offset_``. ``"vote"``: top fraction of its training pixels
        each member flags.
    n_jobs : int, default=None
        Members fitted in parallel by joblib; ``None`` is 1 unless in a
        :func:`joblib.parallel_backend` context, -1 is all processors.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members (without the dropped ones), in order.
    named_estimators_ : :class:`~sklearn.utils.Bunch`
        The fitted members by name (dropped ones are ``"drop"``).
    train_scores_ : list of ndarray of shape (n_train,)
        Every fitted member's sorted anomaly scores of the training pixels.
    weights_ : ndarray of shape (len(estimators_),)
        The weights of the fitted members, normalised to sum to 1.
    offset_ : float
    n_features_in_ : int

    Notes
    -----
    ``method``, ``weights``, ``agreement`` and ``contamination`` take effect
    at ``fit``; change them with ``set_params`` and fit again. Members are
    scored one after the other; ``n_jobs`` parallelises their fitting.

    Examples
    --------
    >>> from sklearn.ensemble import IsolationForest
    >>> from skhsi.anomaly import RXDetector
    >>> from skhsi.anomaly import ConsensusDetector
    >>> from skhsi.datasets import make_synthetic_scene
    >>> from skhsi.metrics import roc_auc
    >>> scene = make_synthetic_scene(random_state=0)
    >>> ensemble = ConsensusDetector(
    ...     [("rx", RXDetector()), ("iforest", IsolationForest(random_state=0))]
    ... ).fit(scene.cube)
    >>> scores = ensemble.anomaly_score(scene.cube)
    >>> scores.shape, bool(roc_auc(scene.mask, scores) > 0.9)
    ((64, 64), True)
    >>> ensemble.set_params(rx__reg=1e-3).get_params()["rx__reg"]
    0.001
    """

    _parameter_constraints = {
        "detectors": [list],
        "method": [StrOptions({"rank-mean", "vote"})],
        "weights": ["array-like", None],
        "agreement": [Interval(Real, 0, 1, closed="right")],
        "contamination": SpectralOutlierMixin._contamination_constraint,
        "n_jobs": [None, Integral],
    }

    def __init__(self, detectors, *, method="rank-mean", weights=None, agreement=0.5,
                 contamination=0.01, n_jobs=None):
        self.detectors = detectors
        self.method = method
        self.weights = weights
        self.agreement = agreement
        self.contamination = contamination
        self.n_jobs = n_jobs

    # -- parameters of the members (name__param) --------------------------------
    def get_params(self, deep=True):
        """Parameters of the ensemble and, with ``deep``, of every member as ``name__param``.

        Parameters
        ----------
        deep : bool, default=True

        Returns
        -------
        dict
        """
        return self._get_params("detectors", deep=deep)

    def set_params(self, **params):
        """Set parameters of the ensemble, a whole member (``name=``) or ``name__param``.

        Parameters
        ----------
        **params : dict

        Returns
        -------
        self
        """
        self._set_params("detectors", **params)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            members = [est for _, est in self.detectors if not _is_drop(est)]
            if any(_takes_images(est) for est in members):
                tags.input_tags.three_d_array = True
                tags.input_tags.two_d_array = all(
                    get_tags(est).input_tags.two_d_array for est in members)
        except Exception:  # malformed detectors: fit says what is wrong
            pass
        return tags

    # -- fit --------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit every member on ``X`` and keep its sorted training scores.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        names, members = self._check_detectors()
        weights = self._check_weights(names, members)
        pixels, lead = self._validate_spectral(X, reset=True)
        kept = [(name, est) for name, est in zip(names, members) if not _is_drop(est)]
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_and_score)(clone(est), pixels, lead, name) for name, est in kept
        )
        self.estimators_ = [est for est, _ in fitted]
        self.named_estimators_ = Bunch()
        fitted_by_name = {name: est for (name, _), (est, _) in zip(kept, fitted)}
        for name, est in zip(names, members):
            self.named_estimators_[name] = fitted_by_name.get(name, est)
        self.train_scores_ = [np.sort(scores) for _, scores in fitted]
        self.weights_ = weights / weights.sum()
        self._restore()
        if self.method == "vote":
            self.offset_ = -float(self.agreement)
        else:
            self._set_offset(self._combine([scores for _, scores in fitted]))
        return self

    def _check_detectors(self):
        detectors = self.detectors
        if len(detectors) == 0:
            raise ValueError(
                "ConsensusDetector needs at least one detector: got an empty list. Pass "
                "detectors=[(name, estimator), ...], e.g. [('rx', RXDetector())]."
            )
        for item in detectors:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError(
                    "detectors must be a list of (name, estimator) tuples with str names; "
                    f"got the item {item!r}."
                )
        names, members = zip(*detectors)
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"Detector names must be unique; {duplicates} occur more than once "
                             f"in {list(names)}.")
        self._validate_names(names)  # clashes with parameters, "__" in a name
        if all(_is_drop(est) for est in members):
            raise ValueError("All detectors are 'drop'; at least one must be an estimator.")
        for name, est in zip(names, members):
            if _is_drop(est):
                continue
            if isinstance(est, type):
                raise TypeError(f"Detector {name!r} is the class {est.__name__}; pass an "
                                f"instance, {est.__name__}().")
            if not hasattr(est, "fit"):
                raise TypeError(f"Detector {name!r} ({type(est).__name__}) has no fit method; "
                                "expected an anomaly detector.")
            if not (hasattr(est, "anomaly_score") or hasattr(est, "score_samples")):
                raise TypeError(
                    f"Detector {name!r} ({type(est).__name__}) has neither anomaly_score nor "
                    "score_samples, so it cannot score new pixels; use a skhsi detector or "
                    "a scikit-learn outlier detector (LocalOutlierFactor needs novelty=True)."
                )
        return names, members

    def _check_weights(self, names, members):
        n = len(names)
        if self.weights is None:
            weights = np.ones(n)
        else:
            try:
                weights = np.asarray(self.weights, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"weights must be numbers, one per detector; got "
                                f"{self.weights!r}.") from exc
            if weights.ndim != 1 or weights.size != n:
                raise ValueError(
                    f"weights must have one number per detector: got {weights.size} "
                    f"weight(s) (shape {weights.shape}) for {n} detector(s) {list(names)}."
                )
            if not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError(f"weights must be finite and non-negative; got "
                                 f"{weights.tolist()}.")
        kept = np.array([not _is_drop(est) for est in members])
        if not weights[kept].sum() > 0:
            raise ValueError("weights of the detectors used are all zero; at least one must be "
                             f"positive. Got {weights.tolist()} for {list(names)}.")
        return weights[kept]

    def _spatial_reach(self):
        """The widest reach of the members (fitted ones once fitted)."""
        from ..base import spatial_reach, widest_reach

        members = getattr(self, "estimators_", None)
        if members is None:
            members = [d for _, d in self.detectors if not _is_drop(d)]
        return widest_reach(spatial_reach(m) for m in members)

    def _restore(self):
        # The combination rule of the fit (also rebuilt after a weights-only load).
        self._rule = (self.method, float(self.contamination), float(self.agreement))
        if hasattr(self, "named_estimators_") and not isinstance(self.named_estimators_, Bunch):
            self.named_estimators_ = Bunch(**self.named_estimators_)
        return self

    # -- scoring ----------------------------------------------------------------
    def _map(self, X):
        pixels, lead = self._check_spectral(X)
        return restore_shape(self._anomaly_scores(pixels, lead), lead)

    def _anomaly_scores(self, pixels, lead=None):
        """Consensus scores of a validated pixel table (of a cube when ``lead`` is given)."""
        return self._combine(self._all_member_scores(pixels, lead))

    def _all_member_scores(self, pixels, lead):
        names = [name for name, est in self.named_estimators_.items() if not _is_drop(est)]
        return [_member_scores(est, pixels, lead, name)
                for name, est in zip(names, self.estimators_)]

    def normalized_scores(self, X):
        """Every member's rank-normalised score, in [0, 1].

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (n_members, n), (n_members, H, W) or (n_members, N, H, W)
        """
        pixels, lead = self._check_spectral(X)
        ranks = self._ranks(self._all_member_scores(pixels, lead))
        return ranks if lead is None else ranks.reshape((len(ranks),) + tuple(lead))

    def _ranks(self, member_scores):
        return np.stack([_mid_rank_cdf(train, scores)
                         for train, scores in zip(self.train_scores_, member_scores)])

    def _combine(self, member_scores):
        method, contamination, agreement = self._rule
        ranks = self._ranks(member_scores)
        # Weighted sums member by member, not a matrix product: a pixel's sum is
        # then the same whatever the batch (BLAS kernels round by batch size).
        mean = _weighted_sum(self.weights_, ranks)
        if method == "rank-mean":
            return mean
        votes = _weighted_sum(self.weights_, ranks >= 1.0 - contamination - _SLACK)
        flagged = votes >= agreement - _SLACK
        score = votes + _TIE_BREAK * mean
        return np.where(flagged, np.maximum(score, np.nextafter(agreement, np.inf)),
                        np.minimum(score, agreement))


def _is_drop(estimator):
    return isinstance(estimator, str) and estimator == "drop"


def _takes_images(estimator):
    """Whether a member needs cubes: its tags declare 3-D input (for a pipeline, any step's).

    Per-pixel skhsi steps accept cubes as well as pixel tables, so a pipeline
    with one image step (e.g. a bandpass in front of an image detector) is
    given the cube.
    """
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:
        return any(_takes_images(step) for _, step in steps
                   if step is not None and not isinstance(step, str))
    try:
        return bool(get_tags(estimator).input_tags.three_d_array)
    except Exception:  # not a scikit-learn estimator: give it pixels
        return False


def _member_input(estimator, pixels, lead):
    return restore_shape(pixels, lead) if _takes_images(estimator) else pixels


def _fit_and_score(estimator, pixels, lead, name):
    estimator.fit(_member_input(estimator, pixels, lead))
    return estimator, _member_scores(estimator, pixels, lead, name)


def _member_scores(estimator, pixels, lead, name):
    """A member's anomaly scores (higher = more anomalous) as a flat float vector."""
    X, n_pixels = _member_input(estimator, pixels, lead), pixels.shape[0]
    if hasattr(estimator, "anomaly_score"):
        scores = estimator.anomaly_score(X)
    else:
        scores = np.negative(np.asarray(estimator.score_samples(X), dtype=np.float64))
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size != n_pixels:
        raise ValueError(
            f"Detector {name!r} ({type(estimator).__name__}) gave {scores.size} scores for "
            f"{n_pixels} pixels; expected one score per pixel."
        )
    n_nan = np.count_nonzero(np.isnan(scores))
    if n_nan:
        raise ValueError(f"Detector {name!r} ({type(estimator).__name__}) gave NaN scores for "
                         f"{n_nan} of {n_pixels} pixels.")
    return scores


def _weighted_sum(weights, rows):
    total = np.zeros(rows.shape[1])
    for weight, row in zip(weights, rows):
        total += weight * row
    return total


def _mid_rank_cdf(sorted_train, scores):
    """``(#{train < s} + #{train <= s}) / (2 n_train)`` for every score ``s``.

    Training scores closer to ``s`` than ``_TIE_RTOL`` times the largest
    finite training magnitude count as equal to it, so a member's rounding
    (a matrix product rounds differently for another batch size) does not
    move a pixel across a training score.
    """
    finite = sorted_train[np.isfinite(sorted_train)]
    tol = _TIE_RTOL * (float(np.abs(finite).max()) if finite.size else 0.0)
    below = np.searchsorted(sorted_train, scores - tol, side="left")
    at_or_below = np.searchsorted(sorted_train, scores + tol, side="right")
    return (below + at_or_below) / (2.0 * sorted_train.size)
