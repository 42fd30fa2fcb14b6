import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.utils._param_validation import InvalidParameterError

from skhsi.anomaly import RXDetector
from skhsi.inspection import band_importance
from skhsi.pipeline import make_pipeline
from skhsi.preprocessing import BandpassByWavelength


@pytest.fixture(scope="module")
def data():
    X = np.random.default_rng(0).normal(size=(300, 8))
    return X, LinearRegression().fit(X, 2.0 * X[:, 5])


def test_only_the_relevant_band_matters(data):
    X, model = data
    result = band_importance(model, X)
    assert result.importances.shape == (8,)
    assert np.argmax(result.importances) == 5
    assert np.all(np.delete(result.importances, 5) < 1e-8)
    assert result.wavelengths is None


def test_scoring_drop_and_windows(data):
    X, model = data
    y = 2.0 * X[:, 5]
    result = band_importance(model, X, scoring=lambda est, X, y: est.score(X, y), y=y,
                             window=3, baseline="zero", n_jobs=2)
    assert result.importances[5] > 0.9  # R^2 falls from 1 to ~0
    np.testing.assert_array_equal(result.importances[3:6], result.importances[5])
    np.testing.assert_allclose(result.importances[:3], 0, atol=1e-8)


def test_anomaly_cube_with_wavelengths():
    rng = np.random.default_rng(1)
    cube = rng.normal(size=(20, 20, 6))
    mask = np.zeros((20, 20), dtype=bool)
    mask[5, 5] = mask[12, 3] = mask[15, 17] = True
    cube[mask, 2] += 8.0
    wl = [450, 550, 650, 750, 850, 950]
    pipe = make_pipeline(BandpassByWavelength(wavelengths=wl), RXDetector()).fit(cube)
    result = band_importance(pipe, cube, scoring="roc_auc", y=mask)
    assert np.argmax(result.importances) == 2
    np.testing.assert_array_equal(result.wavelengths, wl)
    plain = band_importance(pipe, cube)
    assert plain.importances.shape == (6,) and np.all(plain.importances > 0)


def test_errors(data):
    X, model = data
    with pytest.raises(InvalidParameterError, match="baseline"):
        band_importance(model, X, baseline="median")
    with pytest.raises(InvalidParameterError, match="window"):
        band_importance(model, X, window=0)
    with pytest.raises(ValueError, match="NaN"):
        band_importance(model, np.where(X > 2, np.nan, X))
    with pytest.raises(TypeError, match="pass `scoring`"):
        band_importance(object(), X)
    with pytest.raises(ValueError, match="anomaly scorers need the ground-truth mask"):
        band_importance(make_pipeline(RXDetector()).fit(X), X, scoring="roc_auc")


def test_drop_importance_finds_the_band_the_anomalies_differ_in():
    rng = np.random.default_rng(0)
    cube = rng.normal(size=(30, 30, 6))
    mask = np.zeros((30, 30), bool)
    mask[rng.integers(0, 30, 12), rng.integers(0, 30, 12)] = True
    cube[mask, 2] += 6.0  # the anomalies differ in band 2 only
    rx = RXDetector().fit(cube)
    drop = band_importance(rx, cube, method="drop", scoring="roc_auc", y=mask)
    assert int(np.argmax(drop.importances)) == 2 and drop.importances[2] > 0.3
    assert np.abs(np.delete(drop.importances, 2)).max() < 0.02


def test_drop_importance_needs_a_scoring_and_two_groups():
    X = np.random.default_rng(0).normal(size=(50, 4))
    rx = RXDetector().fit(X)
    with pytest.raises(ValueError, match="needs scoring="):
        band_importance(rx, X, method="drop")
    with pytest.raises(ValueError, match="at least two groups"):
        band_importance(rx, X, method="drop", window=4, scoring="roc_auc",
                        y=np.arange(50) < 3)
