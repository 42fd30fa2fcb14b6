import numpy as np
import pytest

from skhsi.anomaly import AttributeFilterDetector, RXDetector
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


def _blob_scene(seed=0, side=40):
    """A smooth two-material background with one 3 x 3 target of another material."""
    rng = np.random.default_rng(seed)
    endmembers = rng.uniform(0.2, 1.0, size=(3, 12))
    rows, cols = np.mgrid[:side, :side]
    share = (cols / (side - 1.0))[..., None]
    cube = share * endmembers[0] + (1 - share) * endmembers[1]
    cube = cube + rng.normal(0, 0.01, cube.shape)
    cube[20:23, 10:13] = endmembers[2] + rng.normal(0, 0.01, (3, 3, 12))
    mask = np.zeros((side, side), bool)
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


def _large_object_scene(side=14, seed=1):
    """A 70 x 70 blob background with a ``side x side`` object of a foreign material."""
    cube, _ = _blob_scene(seed, side=70)
    rng = np.random.default_rng(seed + 10)
    foreign = rng.uniform(0.2, 1.0, size=12)
    mask = np.zeros(cube.shape[:2], bool)
    mask[35:35 + side, 40:40 + side] = True
    cube[mask] = foreign + rng.normal(0, 0.01, (mask.sum(), 12))
    return cube, mask


def test_a_large_foreign_object_is_found_by_the_global_term():
    # 400 pixels (8 % of the image): larger than every area of the small-structure maps,
    # and enough of the image to pull global RX's covariance towards it.
    cube, mask = _large_object_scene(side=20)
    fused = AttributeFilterDetector().fit_anomaly_score(cube)
    small_only = AttributeFilterDetector(global_weight=0).fit_anomaly_score(cube)
    rx = RXDetector().fit(cube).anomaly_score(cube)
    # Measured: 0.991 fused, 0.786 without the global term, 0.948 for global RX.
    assert roc_auc(mask, fused) > max(0.98, roc_auc(mask, rx))
    assert roc_auc(mask, small_only) < 0.85


def test_rare_structures_larger_than_global_area_are_background():
    cube, mask = _large_object_scene()
    detector = AttributeFilterDetector(global_area=100, guided_radius=0, local_rx=False,
                                       areas=(4,)).fit(cube)
    assert roc_auc(mask, detector.anomaly_score(cube)) < 0.9


def test_fit_anomaly_score_equals_fit_then_score():
    cube, mask = _large_object_scene()
    detector = AttributeFilterDetector()
    scores = detector.fit_anomaly_score(cube)
    # fit keeps one float32 map per area (for their scales): equal to float32 rounding.
    np.testing.assert_allclose(scores, AttributeFilterDetector().fit(cube).anomaly_score(cube),
                               rtol=1e-6, atol=1e-6)
    assert np.array_equal(detector.fit_predict(cube), detector.predict(cube))
    pipe = make_attribute_filter_pipeline()
    fitted = pipe.fit_anomaly_score(cube)
    np.testing.assert_allclose(pipe.anomaly_score(cube), fitted, rtol=1e-6, atol=1e-6)
    assert np.allclose(fitted, scores, rtol=1e-6)


def test_a_score_depends_on_the_pixels_within_the_declared_reach_alone():
    cube, _ = _large_object_scene()
    detector = AttributeFilterDetector(areas=(4, 9), global_area=16, inner_window=3,
                                       outer_window=9, guided_radius=1).fit(cube)
    reach = detector._spatial_reach().halo
    assert reach == 15 + 2
    assert AttributeFilterDetector()._spatial_reach().halo == 575 + 4
    whole = detector.anomaly_score(cube)
    cut = detector.anomaly_score(cube[5:])  # the first 5 rows are beyond the reach of row 22
    assert np.allclose(cut[reach:], whole[5 + reach:], rtol=1e-9, atol=1e-12)
    assert not np.allclose(cut[:3], whole[5:8], rtol=1e-9, atol=1e-12)


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
    (dict(global_area=0), "'global_area' parameter of AttributeFilterDetector must be"),
    (dict(global_weight=-1.0), "'global_weight' parameter of AttributeFilterDetector must be"),
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
