import numpy as np
import pytest

from skhsi.anomaly import LowRankSparseDetector
from skhsi.anomaly._low_rank import robust_pca
from skhsi.metrics import roc_auc
from tests._data import load_had


def test_robust_pca_separates_low_rank_and_sparse():
    rng = np.random.default_rng(0)
    low = rng.normal(size=(400, 2)) @ rng.normal(size=(2, 100))
    sparse = np.zeros_like(low)
    where = rng.random(low.shape) < 0.01
    sparse[where] = rng.choice([-10.0, 10.0], size=where.sum())
    found, rank, n_iter = robust_pca(low + sparse, tol=1e-8, max_iter=500)
    assert rank == 2 and n_iter < 500
    assert np.abs(found - sparse).max() < 1e-3
    assert np.linalg.norm(low + sparse - found - low) / np.linalg.norm(low) < 1e-5


def test_a_zero_matrix_has_no_sparse_part():
    sparse, rank, n_iter = robust_pca(np.zeros((5, 4)))
    assert not sparse.any() and rank == 0 and n_iter == 0


def test_real_scene_floor(hydice):
    # Measured 0.9938 on HYDICE (global RX: 0.9763).
    scores = LowRankSparseDetector().fit(hydice.cube).anomaly_score(hydice.cube)
    assert scores.shape == (100, 80)
    assert roc_auc(hydice.mask, scores) > 0.985


def test_each_image_of_a_batch_is_decomposed_alone(cube):
    detector = LowRankSparseDetector(max_iter=30).fit(cube)
    batch = np.stack([cube, cube[::-1]])
    maps = detector.anomaly_score(batch)
    assert maps.shape == (2, 12, 10)
    assert np.allclose(maps[0], detector.anomaly_score(cube))
    assert np.allclose(maps[1], detector.anomaly_score(cube[::-1]))
    assert np.unravel_index(maps[0].argmax(), (12, 10)) == (3, 4)


def test_outlier_api(cube):
    detector = LowRankSparseDetector(contamination=0.05).fit(cube)
    assert detector.predict(cube)[3, 4] == -1
    assert np.array_equal(detector.predict(cube) == -1, detector.decision_function(cube) < 0)
    assert detector.rank_ >= 1 and detector.n_iter_ >= 1


def test_bad_lam_is_a_clear_error(cube):
    with pytest.raises(ValueError, match="lam"):
        LowRankSparseDetector(lam=-1.0).fit(cube)


@pytest.mark.slow
def test_abu_beach_1_floor():
    scene = load_had("abu-beach-1")
    # Measured 0.9738 (global RX 0.9807: robust PCA alone is not the default).
    scores = LowRankSparseDetector().fit(scene.cube).anomaly_score(scene.cube)
    assert roc_auc(scene.mask, scores) > 0.965
