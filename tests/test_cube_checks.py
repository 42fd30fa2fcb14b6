"""The scikit-learn contract, on cubes, for the estimators scikit-learn's own checks skip.

``parametrize_with_checks`` feeds pixel tables, so it skips every estimator tagged
``three_d_array`` only (the image detectors, the spatial filters, the spatial classifiers,
the window encoder) and cannot drive the recall decider (score maps and a mask). These
checks apply to them what applies to any estimator: cloning and parameters, ``fit``
returning ``self`` and leaving its input alone, refitting giving the same model, pickling
giving identical outputs, ``n_features_in_`` and a clear error for another band count, and
``NotFittedError`` before ``fit``.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags

from .test_reach import _CUBE, _LABELS, CASES, _method

_MAPS = {"QuantileBinaryDecider", "FalseAlarmDecider", "RecallThresholdDecider"}
_CUBE_ONLY = [pytest.param(est, id=f"{name}-{i}") for name, ests in CASES.items()
              for i, est in enumerate(ests)
              if name in _MAPS or not get_tags(est).input_tags.two_d_array]


def _data(estimator):
    """What the estimator is fitted on: ``(X, y)``."""
    if type(estimator).__name__ in _MAPS:
        scores = np.random.default_rng(0).random((20, 30))
        return scores, (scores > 0.9 if type(estimator).__name__ == "RecallThresholdDecider"
                        else None)
    cube = _CUBE.cube.astype(np.float32)
    return cube, (_LABELS if is_classifier(estimator) else None)


def _fit(estimator, X, y):
    return estimator.fit(X) if y is None else estimator.fit(X, y)


def test_the_cube_only_estimators_are_the_ones_scikit_learn_skips():
    names = {p.id.rsplit("-", 1)[0] for p in _CUBE_ONLY}
    assert {"AttributeFilterDetector", "LocalRXDetector", "SobelEdges", "BandConvolution",
            "Pool2D", "Upsample2D", "PatchFeatures", "PatchClassifier", "UNetSegmenter",
            "RecallThresholdDecider"} <= names


@pytest.mark.parametrize("estimator", _CUBE_ONLY)
def test_clone_and_parameters(estimator):
    twin = clone(estimator)  # members of an ensemble are cloned too: compare by repr
    assert twin is not estimator and repr(twin.get_params()) == repr(estimator.get_params())
    params = estimator.get_params(deep=False)
    again = clone(estimator).set_params(**params).get_params(deep=False)
    assert repr(again) == repr(params)


@pytest.mark.parametrize("estimator", _CUBE_ONLY)
def test_not_fitted_before_fit(estimator):
    X, _ = _data(estimator)
    with pytest.raises(NotFittedError):
        _method(clone(estimator))(X)


@pytest.mark.parametrize("estimator", _CUBE_ONLY)
def test_fit_returns_self_leaves_its_input_alone_and_refits_the_same(estimator):
    X, y = _data(estimator)
    before = X.copy()
    first = clone(estimator)
    assert _fit(first, X, y) is first
    assert np.array_equal(X, before)
    out = np.asarray(_method(first)(X))
    assert np.array_equal(X, before)
    again = np.asarray(_method(_fit(first, X, y))(X))  # fitted twice: the same model
    np.testing.assert_allclose(again, out, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("estimator", _CUBE_ONLY)
def test_pickling_gives_identical_outputs(estimator):
    X, y = _data(estimator)
    fitted = _fit(clone(estimator), X, y)
    loaded = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(np.asarray(_method(loaded)(X)), np.asarray(_method(fitted)(X)))


@pytest.mark.parametrize("estimator", [p for p in _CUBE_ONLY
                                       if p.id.rsplit("-", 1)[0] not in _MAPS])
def test_band_count_is_recorded_and_checked(estimator):
    X, y = _data(estimator)
    fitted = _fit(clone(estimator), X, y)
    assert fitted.n_features_in_ == X.shape[-1]
    with pytest.raises(ValueError, match=f"{X.shape[-1] - 1}.*{X.shape[-1]}|"
                                         f"{X.shape[-1]}.*{X.shape[-1] - 1}"):
        _method(fitted)(X[..., :-1])
