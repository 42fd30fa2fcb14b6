"""Extreme values, for every public estimator: a finite value beyond what statistics can
square (1e39, beyond float32; +-1e200, beyond float64 squares) is refused by name, position
and limit, in fit and in scoring, never turned into NaN, zeros or a missed outlier; values
within the limit give finite, correct results. ``benchmarks/bench_bad_inputs.py`` runs the
wider matrix (NaN, infinity, constant and tiny cubes, band counts, dtypes, views)."""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier

from skhsi._checks import MAX_ABS_VALUE, check_finite_values

from .test_reach import _CUBE, _LABELS, _MAPS, CASES, PIPELINES, _method

_ALL = [pytest.param(est, id=f"{name}-{i}") for name, ests in CASES.items()
        for i, est in enumerate(ests) if name not in _MAPS] + \
       [pytest.param(pipe, id=name) for name, pipe in PIPELINES.items()]
_LIMIT = r"beyond the largest magnitude skhsi accepts \(1e\+18\), at pixel \d+ \(row-major\), " \
         r"band 3"


def _with(value):
    cube = _CUBE.cube.astype(np.float64)
    cube[6, 5, 3] = value  # pixel 6 * 29 + 5 = 179, labelled 1
    return cube


def _fit(estimator, cube=None):
    """Fit as tests/test_reach.py does, on a float64 cube (float32 cannot hold 1e39)."""
    from skhsi.classification import SpectralMLPClassifier

    cube = _CUBE.cube.astype(np.float64) if cube is None else cube
    if isinstance(estimator, SpectralMLPClassifier):
        keep = _LABELS.ravel() > 0
        return estimator.fit(cube.reshape(-1, cube.shape[-1])[keep], _LABELS.ravel()[keep])
    if is_classifier(estimator):
        return estimator.fit(cube, _LABELS)
    return estimator.fit(cube)


@pytest.mark.parametrize("value", [1e39, 1e200, -1e200])
@pytest.mark.parametrize("estimator", _ALL)
def test_fit_refuses_values_beyond_the_limit_by_name(estimator, value):
    with pytest.raises(ValueError, match=f"the input holds {value:.3g}".replace("+", r"\+")
                       + ", " + _LIMIT):
        _fit(clone(estimator), _with(value))


@pytest.mark.parametrize("estimator", _ALL)
def test_scoring_refuses_values_beyond_the_limit_by_name(estimator):
    fitted = _fit(clone(estimator))
    with pytest.raises(ValueError, match=r"the input holds 1e\+200, beyond the largest "
                                         r"magnitude skhsi accepts \(1e\+18\)"):
        _method(fitted)(_with(1e200))


@pytest.mark.parametrize("name", ["RXDetector", "LocalRXDetector", "AttributeFilterDetector",
                                  "LowRankSparseDetector"])
def test_a_huge_value_within_the_limit_scores_highest(name):
    cube = _with(1e15)
    detector = clone(CASES[name][0]).fit(cube)
    scores = np.asarray(detector.anomaly_score(cube))
    assert np.isfinite(scores).all()
    assert np.unravel_index(np.argmax(scores), scores.shape) == (6, 5)


@pytest.mark.parametrize("name", ["PerPixelUnitNorm", "PerPixelStandardizer"])
def test_per_pixel_transforms_keep_a_huge_pixel(name):
    out = clone(CASES[name][0]).fit_transform(_with(1e17))
    assert np.isfinite(out).all() and np.abs(out[6, 5]).max() > 0.5


def test_the_message_names_nan_and_infinity_too():
    with pytest.raises(ValueError, match="RX: the input contains NaN at pixel 179"):
        check_finite_values(_with(np.nan), "RX")
    with pytest.raises(ValueError, match=r"RX: the input contains -inf \(infinity\) at pixel 179"):
        check_finite_values(_with(-np.inf), "RX")
    at_the_limit = _with(MAX_ABS_VALUE)
    assert check_finite_values(at_the_limit, "RX") is at_the_limit  # accepted, not copied
