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


def test_chunked_scoring_equals_one_pass(indian_pines):
    a = RXDetector(batch_size=37).fit(indian_pines.cube).anomaly_score(indian_pines.cube)
    b = RXDetector().fit(indian_pines.cube).anomaly_score(indian_pines.cube)
    assert np.allclose(a, b)


def test_partial_fit_equals_fit(indian_pines):
    pixels = indian_pines.cube.reshape(-1, indian_pines.cube.shape[-1])
    streamed = RXDetector(batch_size=999)
    for chunk in np.array_split(pixels, 5):
        streamed.partial_fit(chunk)
    whole = RXDetector().fit(indian_pines.cube)
    assert streamed.n_samples_seen_ == whole.n_samples_seen_ == 145 * 145
    np.testing.assert_allclose(streamed.location_, whole.location_)
    np.testing.assert_allclose(streamed.covariance_, whole.covariance_, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(streamed.anomaly_score(indian_pines.cube),
                               whole.anomaly_score(indian_pines.cube), rtol=1e-6)


def test_partial_fit_offset_is_the_chi2_quantile(cube):
    from scipy import stats

    rx = RXDetector(contamination=0.05).partial_fit(cube)
    assert rx.offset_ == pytest.approx(-stats.chi2.isf(0.05, df=6))
    assert rx.predict(cube)[3, 4] == -1


def test_partial_fit_continues_after_a_weights_only_load(indian_pines, tmp_path):
    from skhsi.persistence import load_weights, save_weights

    pixels = indian_pines.cube.reshape(-1, indian_pines.cube.shape[-1])
    rx = RXDetector().partial_fit(pixels[:8000])
    save_weights(rx, tmp_path / "rx.pt")
    loaded = load_weights(tmp_path / "rx.pt").partial_fit(pixels[8000:])
    whole = RXDetector().fit(pixels)
    np.testing.assert_allclose(loaded.covariance_, whole.covariance_, rtol=1e-8, atol=1e-8)


def test_partial_fit_needs_the_empirical_covariance(cube):
    with pytest.raises(ValueError, match="empirical covariance only; got covariance='oas'"):
        RXDetector(covariance="oas").partial_fit(cube)


@pytest.mark.parametrize("X, message", [
    (np.ones((1, 3)), "got 1 sample"),
    (np.ones((10, 3)), "got 10 sample.* that are all the same"),
])
def test_training_data_without_spread_is_an_error_not_infinite_scores(X, message):
    with pytest.raises(ValueError, match=f"RXDetector needs training pixels that vary: {message}"):
        RXDetector().fit(X)


def test_fewer_pixels_than_bands_warns_and_stays_finite():
    X = np.random.default_rng(0).normal(size=(3, 5))
    with pytest.warns(UserWarning, match="3 training pixels for 5 bands"):
        rx = RXDetector().fit(X)
    assert np.all(np.isfinite(rx.anomaly_score(X)))


def test_fit_works_block_by_block_without_copying_the_pixels():
    import tracemalloc

    rng = np.random.default_rng(0)
    pixels = rng.normal(size=(100_000, 64)).astype(np.float32)  # 25.6 MB
    tracemalloc.start()
    try:
        rx = RXDetector(batch_size=4096).fit(pixels)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A float64 copy alone would be twice the pixels; fit needs a few float64 blocks of
    # 4096 pixels and one score per pixel (the training scores set offset_).
    assert peak < 0.5 * pixels.nbytes
    # 25 blocks accumulated give the statistics of all the pixels at once (ridge apart).
    whole = pixels.astype(np.float64)
    expected = np.cov(whole, rowvar=False, bias=True)
    expected[np.diag_indices(64)] += rx.reg * np.trace(expected) / 64
    np.testing.assert_allclose(rx.location_, whole.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rx.covariance_, expected, rtol=1e-9, atol=1e-12)
    assert np.isclose((rx.anomaly_score(pixels) > -rx.offset_).mean(), 0.01, atol=1e-3)
