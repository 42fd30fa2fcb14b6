import numpy as np
import pytest

from skhsi.anomaly import LocalRXDetector
from skhsi.anomaly._local_rx import local_rx
from skhsi.metrics import roc_auc
from tests._data import load_had


def _brute_force(z, row, col, inner, outer, reg):
    """Local RX of one pixel from its explicit ring of (reflected) neighbours."""
    pad = outer // 2
    padded = np.pad(z, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
    window = padded[row:row + outer, col:col + outer]
    keep = np.ones((outer, outer), bool)
    g0 = (outer - inner) // 2
    keep[g0:g0 + inner, g0:g0 + inner] = False
    ring = window[keep]
    mean = ring.mean(axis=0)
    cov = np.cov(ring.T, bias=True)
    cov += reg * np.trace(cov) / z.shape[-1] * np.eye(z.shape[-1])
    d = z[row, col] - mean
    return d @ np.linalg.solve(cov, d)


def test_box_filter_scores_equal_the_explicit_ring():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(15, 13, 3)) * [3.0, 1.0, 0.5]
    scores = local_rx(z, 3, 7, 1e-3)
    for row, col in [(0, 0), (7, 6), (14, 12), (2, 11)]:
        assert scores[row, col] == pytest.approx(_brute_force(z, row, col, 3, 7, 1e-3),
                                                 rel=1e-8)


def test_strips_give_the_whole_image_result():
    components = np.random.default_rng(2).normal(size=(23, 9, 2))
    whole = local_rx(components, 3, 9, 1e-3, rows_per_strip=100)
    assert np.allclose(local_rx(components, 3, 9, 1e-3, rows_per_strip=5), whole, rtol=1e-10)


def test_a_planted_target_is_found():
    rng = np.random.default_rng(1)
    cube = rng.normal(size=(30, 30, 6))
    cube[10, 12] += 6.0
    scores = LocalRXDetector(inner_window=3, outer_window=9).fit(cube).anomaly_score(cube)
    assert np.unravel_index(scores.argmax(), scores.shape) == (10, 12)


def test_real_scene_floor():
    # Measured 0.9811 on abu-airport-4 (global RX: 0.9526).
    scene = load_had("abu-airport-4")
    scores = LocalRXDetector().fit(scene.cube).anomaly_score(scene.cube)
    assert roc_auc(scene.mask, scores) > 0.975


@pytest.mark.parametrize("params, message", [
    (dict(inner_window=2), "inner_window must be an odd positive integer; got 2"),
    (dict(outer_window=10), "outer_window must be an odd positive integer; got 10"),
    (dict(inner_window=7, outer_window=5), "outer_window must be larger than inner_window"),
])
def test_bad_windows_are_clear_errors(params, message):
    with pytest.raises(ValueError, match=message):
        LocalRXDetector(**params).fit(np.zeros((10, 10, 3)))


def test_pixel_tables_are_refused():
    with pytest.raises(ValueError, match="works on images"):
        LocalRXDetector().fit(np.zeros((50, 3)))
