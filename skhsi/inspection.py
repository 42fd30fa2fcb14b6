"""Which bands a fitted model relies on: occlusion and drop-column band importance."""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .base import as_pixels
from .metrics import get_scorer
from .preprocessing._wavelengths import check_wavelengths

__all__ = ["band_importance"]

_OUTPUTS = ("anomaly_score", "predict_proba", "decision_function", "transform", "predict")


def _output_method(estimator):
    for name in _OUTPUTS:
        if hasattr(estimator, name):
            return getattr(estimator, name)
    raise TypeError(
        f"{type(estimator).__name__} has none of {', '.join(_OUTPUTS)}; pass `scoring` "
        "to measure the importance by the drop of a score instead."
    )


def _first_step_wavelengths(estimator, n_bands):
    first = estimator.steps[0][1] if hasattr(estimator, "steps") else estimator
    wavelengths = getattr(first, "wavelengths_in_", None)  # also those of a fitted DataArray
    if wavelengths is None:
        wavelengths = getattr(first, "wavelengths", None)
    if wavelengths is None:
        return None
    return check_wavelengths(wavelengths, n_bands)


@validate_params(
    {
        "estimator": [object],
        "X": ["array-like"],
        "window": [Interval(Integral, 1, None, closed="left")],
        "baseline": [StrOptions({"mean", "zero"})],
        "scoring": [str, callable, None],
        "y": ["array-like", None],
        "n_jobs": [Integral, None],
        "method": [StrOptions({"occlusion", "drop"})],
    },
    prefer_skip_nested_validation=True,
)
def band_importance(estimator, X, *, window=1, baseline="mean", scoring=None, y=None,
                    n_jobs=None, method="occlusion"):
    """Importance of every band for a fitted estimator, by occlusion or by dropping it.

    The bands are cut into consecutive groups of ``window`` bands. With
    ``method="occlusion"`` each group in turn is replaced by its per-band
    mean over ``X`` (or by 0) and the fitted estimator is applied again.
    Without ``scoring`` the importance is the mean absolute change of the
    estimator's output, the first it has of ``anomaly_score``,
    ``predict_proba``, ``decision_function``, ``transform`` and ``predict``;
    with ``scoring`` it is the drop of ``scoring(estimator, X, y)``
    (positive = the score gets worse without the band). With
    ``method="drop"`` (a drop-column importance; needs ``scoring``) a clone
    of the estimator is refitted on ``X`` without each group and scored
    there: the importance is how much worse the score gets when the model
    never had the bands. Every band of a group gets the group's importance.
    ``X`` keeps its shape, so cube-based models see cubes.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
    X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        Data to measure on.
    window : int, default=1
        Bands occluded together; larger windows cost fewer evaluations
        (``ceil(C / window)``) and suit strongly correlated neighbours.
    baseline : {"mean", "zero"}, default="mean"
        Value the occluded bands take.
    scoring : str, callable or None, default=None
        A scorer ``scoring(estimator, X, y) -> float`` (greater is better) or
        the name of one in :mod:`skhsi.metrics` (e.g. ``"roc_auc"``, with the
        ground-truth mask as ``y``).
    y : array-like or None, default=None
        Passed to ``scoring``.
    n_jobs : int or None, default=None
        Groups evaluated in parallel threads (joblib); each holds one copy of ``X``.
    method : {"occlusion", "drop"}, default="occlusion"
        Occlude the bands of the fitted estimator, or refit it without them
        (``ceil(C / window)`` fits; the estimator's parameters must not fix
        the band count, e.g. no ``wavelengths=``).

    Returns
    -------
    result : Bunch
        ``importances`` (ndarray of shape (C,)) and ``wavelengths`` (those
        the first step was fitted with, ``wavelengths_in_``, else its
        ``wavelengths`` parameter, or None).

    Notes
    -----
    Occlusion misleads for detectors that whiten the bands (RX, local RX):
    replacing a group by its mean breaks the band correlations the inverse
    covariance was fitted on, so every group looks important. Use
    ``method="drop"`` with a ``scoring`` to ask which bands the detector
    needs.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skhsi.inspection import band_importance
    >>> from skhsi.plotting import plot_band_importance
    >>> X = np.random.default_rng(0).normal(size=(200, 6))
    >>> model = LinearRegression().fit(X, 3 * X[:, 2])
    >>> result = band_importance(model, X)
    >>> int(np.argmax(result.importances))
    2
    >>> ax = plot_band_importance(result.importances, wavelengths=result.wavelengths, top_k=1)
    """
    pixels, lead = as_pixels(X)
    pixels = np.asarray(pixels)
    n_bands = pixels.shape[1]
    if pixels.shape[0] == 0:
        raise ValueError("X holds no pixels; band importance needs at least one.")
    if not np.all(np.isfinite(pixels)):
        raise ValueError("X contains NaN or infinity.")
    fill = pixels.mean(axis=0, dtype=np.float64) if baseline == "mean" else np.zeros(n_bands)
    dtype = pixels.dtype if pixels.dtype in (np.float32, np.float64) else np.float64
    reference = np.asarray(pixels, dtype=dtype)

    def shaped(pixel_table):  # back to X's leading shape, any band count
        return pixel_table if lead is None else pixel_table.reshape(
            tuple(lead) + (pixel_table.shape[1],))

    groups = [np.arange(start, min(start + window, n_bands))
              for start in range(0, n_bands, window)]
    if method == "drop":
        if scoring is None:
            raise ValueError(
                "method='drop' compares scores of models fitted with and without each group "
                "of bands, so it needs scoring= (e.g. 'roc_auc' with the mask as y)."
            )
        if len(groups) < 2:
            raise ValueError(f"method='drop' needs at least two groups of bands; "
                             f"window={window} covers all {n_bands}.")
    if scoring is None:
        output = _output_method(estimator)
        base = np.asarray(output(shaped(reference)), dtype=np.float64)
    else:
        scorer = get_scorer(scoring)
        base_score = float(scorer(estimator, shaped(reference), y))

    def importance(group):
        if method == "drop":  # refit a clone on the other bands and score it there
            X_kept = shaped(np.delete(reference, group, axis=1))
            return base_score - float(scorer(clone(estimator).fit(X_kept, y), X_kept, y))
        Xo = reference.copy()
        Xo[:, group] = fill[group]
        Xo = shaped(Xo)
        if scoring is None:
            return float(np.mean(np.abs(np.asarray(output(Xo), dtype=np.float64) - base)))
        return base_score - float(scorer(estimator, Xo, y))

    values = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(importance)(g) for g in groups)
    importances = np.empty(n_bands)
    for group, value in zip(groups, values):
        importances[group] = value
    return Bunch(importances=importances,
                 wavelengths=_first_step_wavelengths(estimator, n_bands))
