import numpy as np
import pytest

from skhsi.anomaly import RXDetector
from skhsi.metrics import roc_auc


def test_real_scenes_auc(hydice, sandiego):
    # The shared benchmark README measured 0.9763 and 0.9403 for global RX.
    for scene, floor in ((hydice, 0.975), (sandiego, 0.94)):
        rx = RXDetector().fit(scene.cube)
        assert roc_auc(scene.mask, rx.anomaly_score(scene.cube)) > floor


def test_scores_are_mahalanobis(cube):
    rx = RXDetector(reg=0.0).fit(cube)
    pixels = cube.reshape(-1, 6)
    centred = pixels - pixels.mean(axis=0)
    expected = np.einsum("ij,jk,ik->i", centred, np.linalg.inv(np.cov(pixels.T, bias=True)), centred)
    assert np.allclose(rx.anomaly_score(pixels), expected)


def test_outlier_api_conventions(cube):
    rx = RXDetector(contamination=0.05).fit(cube)
    score = rx.score_samples(cube)
    assert np.array_equal(rx.anomaly_score(cube), -score)
    assert np.allclose(rx.decision_function(cube), score - rx.offset_)
    pred = rx.predict(cube)
    assert set(np.unique(pred)) == {-1, 1}
    assert pred[3, 4] == -1
    assert np.isclose((pred == -1).mean(), 0.05, atol=0.01)
    assert np.array_equal(rx.fit_predict(cube), pred)


@pytest.mark.parametrize("covariance", ["empirical", "ledoit-wolf", "oas"])
def test_covariance_estimators_find_the_planted_anomaly(cube, covariance):
    scores = RXDetector(covariance=covariance).fit(cube).anomaly_score(cube)
    assert np.unravel_index(scores.argmax(), scores.shape) == (3, 4)


def test_collinear_bands_stay_finite(cube):
    data = np.concatenate([cube, cube[..., :1]], axis=-1)
    scores = RXDetector().fit(data).anomaly_score(data)
    assert np.all(np.isfinite(scores))


def test_chunked_scoring_equals_one_pass(hydice):
    a = RXDetector(batch_size=37).fit(hydice.cube).anomaly_score(hydice.cube)
    b = RXDetector().fit(hydice.cube).anomaly_score(hydice.cube)
    assert np.allclose(a, b)
