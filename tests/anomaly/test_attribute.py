import numpy as np
import pytest

from skhsi.anomaly import AttributeFilterDetector
from skhsi.anomaly._attribute import small_object_map
from skhsi.metrics import roc_auc
from skhsi.pipeline import make_attribute_filter_pipeline
from tests._data import load_had

# Pixel-level ROC AUC of global RX and IsolationForest (defaults, z-scored,
# seed 0) on each development scene, from shared/data/had/README.md.
BASELINES = {
    "HYDICE_data": (0.9763, 0.9620),
    "sandiego_plane": (0.9403, 0.9713),
    "abu-airport-2": (0.8404, 0.9409),
    "abu-airport-4": (0.9526, 0.9806),
    "abu-beach-1": (0.9807, 0.9668),
    "abu-beach-2": (0.9106, 0.8971),
    "abu-urban-1": (0.9907, 0.9793),
    "abu-urban-3": (0.9513, 0.9577),
}


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_the_default_beats_rx_and_isolation_forest_on_every_real_scene(name):
    scene = load_had(name)
    scores = make_attribute_filter_pipeline().fit(scene.cube).anomaly_score(scene.cube)
    assert roc_auc(scene.mask, scores) > max(BASELINES[name])


def _blob_scene(seed=0):
    """A smooth two-material background with one 3 x 3 target of another material."""
    rng = np.random.default_rng(seed)
    endmembers = rng.uniform(0.2, 1.0, size=(3, 12))
    rows, cols = np.mgrid[:40, :40]
    share = (cols / 39.0)[..., None]
    cube = share * endmembers[0] + (1 - share) * endmembers[1]
    cube = cube + rng.normal(0, 0.01, cube.shape)
    cube[20:23, 10:13] = endmembers[2] + rng.normal(0, 0.01, (3, 3, 12))
    mask = np.zeros((40, 40), bool)
    mask[20:23, 10:13] = True
    return cube, mask


def test_a_small_target_scores_highest_and_the_scores_are_deterministic():
    cube, mask = _blob_scene()
    scores = AttributeFilterDetector().fit(cube).anomaly_score(cube)
    assert scores.shape == (40, 40)
    assert mask[np.unravel_index(scores.argmax(), scores.shape)]
    assert roc_auc(mask, scores) > 0.99
    again = AttributeFilterDetector().fit(cube).anomaly_score(cube)
    assert np.array_equal(scores, again)


def test_targets_larger_than_the_largest_area_are_background():
    cube, mask = _blob_scene()
    big = AttributeFilterDetector(areas=(4,), local_rx=False, guided_radius=0).fit(cube)
    small = AttributeFilterDetector(areas=(16,), local_rx=False, guided_radius=0).fit(cube)
    # 9-pixel target: invisible to filters of 4-pixel structures, found by 16-pixel ones.
    assert roc_auc(mask, small.anomaly_score(cube)) > 0.99
    assert big.anomaly_score(cube)[mask].mean() < small.anomaly_score(cube)[mask].mean()


def test_small_object_map_is_the_residual_of_the_area_filters():
    components = np.zeros((10, 10, 1))
    components[2:4, 2:4, 0] = 5.0    # a bright 4-pixel square
    components[7, 7, 0] = -3.0       # a dark single pixel
    residual = small_object_map(components, [2])
    assert np.all(residual[2:4, 2:4] == 0) and residual[7, 7] > 0
    residual = small_object_map(components, [5])
    # Scaled by the 99th percentile of the map: both structures, proportional to depth.
    assert residual[2, 2] / residual[7, 7] == pytest.approx(5.0 / 3.0)
    assert np.count_nonzero(residual) == 5


def test_a_batch_is_scored_cube_by_cube():
    cube, _ = _blob_scene()
    detector = AttributeFilterDetector().fit(cube)
    batch = np.stack([cube, cube[::-1]])
    maps = detector.anomaly_score(batch)
    assert maps.shape == (2, 40, 40)
    assert np.array_equal(maps[0], detector.anomaly_score(cube))
    assert np.allclose(maps[1], detector.anomaly_score(cube[::-1]))


def test_outlier_api_and_contamination():
    cube, mask = _blob_scene()
    detector = AttributeFilterDetector(contamination=0.01).fit(cube)
    pred = detector.predict(cube)
    assert pred.shape == (40, 40) and set(np.unique(pred)) == {-1, 1}
    assert (pred == -1).mean() == pytest.approx(0.01, abs=0.002)
    assert np.array_equal(pred == -1, detector.decision_function(cube) < 0)
    assert np.all(pred[mask][:4] == -1)


def test_fewer_bands_than_components_and_a_constant_cube():
    cube, _ = _blob_scene()
    detector = AttributeFilterDetector(n_components=10).fit(cube[..., :3])
    assert detector.n_components_ == 3 and detector.components_.shape == (3, 3)
    flat = AttributeFilterDetector().fit(np.ones((12, 12, 4))).anomaly_score(np.ones((12, 12, 4)))
    assert np.all(np.isfinite(flat))


def test_pixel_tables_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="works on images.*no spatial neighbours"):
        AttributeFilterDetector().fit(np.zeros((100, 5)))


@pytest.mark.parametrize("params, message", [
    (dict(areas=()), "areas must be a non-empty sequence of positive integers"),
    (dict(areas=(4, 0)), "areas must be a non-empty sequence"),
    (dict(areas=(4.5,)), "areas must be a non-empty sequence"),
    (dict(inner_window=4), "inner_window must be an odd positive integer; got 4"),
    (dict(inner_window=9, outer_window=9), "outer_window must be larger than inner_window"),
])
def test_bad_parameters_are_clear_errors(params, message):
    cube, _ = _blob_scene()
    with pytest.raises(ValueError, match=message):
        AttributeFilterDetector(**params).fit(cube)


@pytest.mark.parametrize("shape", [(1, 30, 4), (2, 2, 3)])
def test_cubes_too_small_for_a_neighbourhood_are_refused(shape):
    with pytest.raises(ValueError, match=r"at least 3 x 3 pixels; got a cube of \d+ x \d+"):
        AttributeFilterDetector().fit(np.ones(shape))


def test_the_wrong_band_count_is_refused():
    cube, _ = _blob_scene()
    detector = AttributeFilterDetector().fit(cube)
    with pytest.raises(ValueError, match="12 features"):
        detector.anomaly_score(cube[..., :5])
