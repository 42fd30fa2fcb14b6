import pickle

import joblib
import numpy as np
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import KMeans
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import LocalOutlierFactor
from sklearn.utils import get_tags

from skhsi.anomaly import RXDetector
from skhsi.anomaly import ConsensusDetector
from skhsi.datasets import make_synthetic_scene
from skhsi.metrics import roc_auc


def _members():
    return [("rx", RXDetector()), ("iforest", IsolationForest(n_estimators=50, random_state=0))]


@pytest.fixture(scope="module")
def scene():
    return make_synthetic_scene(random_state=0)


@pytest.fixture(scope="module")
def fitted(scene):
    return ConsensusDetector(_members()).fit(scene.cube)


@pytest.fixture
def pixels():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(300, 4))
    data[:6] += 6.0
    return data


def test_auc_beats_the_worse_member(scene, fitted):
    rx, iforest = fitted.estimators_
    table = scene.cube.reshape(-1, scene.cube.shape[-1])
    member_aucs = [roc_auc(scene.mask.ravel(), rx.anomaly_score(table)),
                   roc_auc(scene.mask.ravel(), -iforest.score_samples(table))]
    auc = roc_auc(scene.mask, fitted.anomaly_score(scene.cube))
    assert auc >= min(member_aucs) and auc > 0.9
    vote = ConsensusDetector(_members(), method="vote").fit(scene.cube)
    assert roc_auc(scene.mask, vote.anomaly_score(scene.cube)) > 0.9


def test_cube_batch_and_pixel_shapes(scene, fitted):
    cube = scene.cube
    assert fitted.anomaly_score(cube).shape == cube.shape[:2]
    assert fitted.predict(cube).shape == cube.shape[:2]
    batch = np.stack([cube[:16, :16], cube[16:32, :16]])
    assert fitted.decision_function(batch).shape == (2, 16, 16)
    table = cube.reshape(-1, cube.shape[-1])
    np.testing.assert_array_equal(fitted.anomaly_score(table),
                                  fitted.anomaly_score(cube).ravel())
    assert fitted.normalized_scores(cube).shape == (2,) + cube.shape[:2]
    assert fitted.n_features_in_ == cube.shape[-1]


def test_rank_normalisation_on_training_data(scene, fitted):
    table = scene.cube.reshape(-1, scene.cube.shape[-1])
    ranks = fitted.normalized_scores(table)
    rx, iforest = fitted.estimators_
    for rank, train, raw in zip(ranks, fitted.train_scores_,
                                [rx.anomaly_score(table), -iforest.score_samples(table)]):
        np.testing.assert_array_equal(train, np.sort(raw))
        # the mid-rank empirical CDF: (rank - 0.5) / n, mid-ranks for ties
        expected = (stats.rankdata(raw) - 0.5) / raw.size
        np.testing.assert_allclose(rank, expected, rtol=0, atol=1e-12)
    assert ranks.min() >= 0 and ranks.max() <= 1


def test_new_scores_beyond_the_training_range(pixels):
    model = ConsensusDetector([("rx", RXDetector())]).fit(pixels)
    far = np.vstack([np.full(4, 100.0), pixels.mean(axis=0)])
    ranks = model.normalized_scores(far)[0]
    # above every training score -> 1; the mean (RX score 0) is below all -> 0
    assert ranks.tolist() == [1.0, 0.0]


def test_subset_invariance(scene, fitted):
    table = scene.cube.reshape(-1, scene.cube.shape[-1])
    rows = np.random.default_rng(1).choice(table.shape[0], 50, replace=False)
    for model in (fitted, ConsensusDetector(_members(), method="vote").fit(scene.cube)):
        for method in ("anomaly_score", "decision_function", "predict"):
            full = getattr(model, method)(scene.cube).ravel()
            np.testing.assert_array_equal(getattr(model, method)(table[rows]), full[rows])
        one_by_one = np.concatenate([model.anomaly_score(table[r:r + 1]) for r in rows[:10]])
        np.testing.assert_array_equal(one_by_one, model.anomaly_score(table)[rows[:10]])


def test_rank_mean_offset_follows_contamination(pixels):
    model = ConsensusDetector(_members(), contamination=0.05).fit(pixels)
    pred = model.predict(pixels)
    assert np.isclose((pred == -1).mean(), 0.05, atol=0.01)
    assert np.all(pred[:6] == -1)
    np.testing.assert_allclose(model.decision_function(pixels),
                               model.score_samples(pixels) - model.offset_)


@pytest.mark.parametrize("weights, agreement", [(None, 0.5), (None, 1.0), ([3, 1], 0.7),
                                                ([1, 1], 0.5 - 1e-13)])
def test_vote_predict_agrees_with_decision_function(pixels, weights, agreement):
    model = ConsensusDetector(_members(), method="vote", weights=weights, agreement=agreement,
                              contamination=0.1).fit(pixels)
    w = np.ones(2) if weights is None else np.asarray(weights, dtype=float)
    flags = model.normalized_scores(pixels) >= 0.9
    votes = (w / w.sum()) @ flags
    pred = model.predict(pixels)
    decision = model.decision_function(pixels)
    assert np.array_equal(pred == -1, votes >= agreement - 1e-12)
    assert np.array_equal(decision < 0, pred == -1)
    assert np.array_equal(decision, model.score_samples(pixels) - model.offset_)
    assert model.offset_ == -agreement
    assert 0 < (pred == -1).sum() < pixels.shape[0]
    # the rank-mean breaks the ties within a vote level
    score = model.anomaly_score(pixels)
    mean = (w / w.sum()) @ model.normalized_scores(pixels)
    np.testing.assert_allclose(score, votes + 1e-6 * mean, rtol=0, atol=1e-15)


def test_vote_union_and_intersection(pixels):
    union = ConsensusDetector(_members(), method="vote", agreement=0.5, contamination=0.1)
    both = clone(union).set_params(agreement=1.0)
    flags = union.fit(pixels).normalized_scores(pixels) >= 0.9
    assert np.array_equal(union.predict(pixels) == -1, flags.any(axis=0))
    assert np.array_equal(both.fit(pixels).predict(pixels) == -1, flags.all(axis=0))


def test_weights_and_drop(pixels):
    rx_only = ConsensusDetector([("rx", RXDetector())]).fit(pixels).anomaly_score(pixels)
    weighted = ConsensusDetector(_members(), weights=[1, 0]).fit(pixels)
    np.testing.assert_array_equal(weighted.anomaly_score(pixels), rx_only)
    dropped = ConsensusDetector(_members()).set_params(iforest="drop").fit(pixels)
    np.testing.assert_array_equal(dropped.anomaly_score(pixels), rx_only)
    assert len(dropped.estimators_) == 1 and dropped.named_estimators_.iforest == "drop"
    np.testing.assert_array_equal(weighted.weights_, [1.0, 0.0])


def test_get_params_and_set_params_are_nested(pixels):
    model = ConsensusDetector(_members())
    params = model.get_params()
    assert params["rx__reg"] == 1e-6 and params["iforest__n_estimators"] == 50
    assert "rx" in params and "detectors" in params
    model.set_params(rx__reg=1e-2, iforest__n_estimators=7, contamination=0.05)
    model.fit(pixels)
    assert model.named_estimators_.rx.reg == 1e-2
    assert len(model.named_estimators_.iforest.estimators_) == 7
    assert model.detectors[0][1].reg == 1e-2 and not hasattr(model.detectors[0][1], "offset_")
    model.set_params(rx=RXDetector(covariance="oas"))
    assert dict(model.detectors)["rx"].covariance == "oas"
    assert model.get_params(deep=False).keys() == {
        "detectors", "method", "weights", "agreement", "contamination", "n_jobs"}


def test_clone_and_joblib_round_trip(pixels, tmp_path):
    model = ConsensusDetector(_members(), method="vote").fit(pixels)
    refit = clone(model).fit(pixels)
    np.testing.assert_array_equal(refit.anomaly_score(pixels), model.anomaly_score(pixels))
    joblib.dump(model, tmp_path / "ensemble.joblib")
    loaded = joblib.load(tmp_path / "ensemble.joblib")
    np.testing.assert_array_equal(loaded.decision_function(pixels),
                                  model.decision_function(pixels))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(pixels),
                                  model.predict(pixels))


def test_parallel_fit_equals_sequential(pixels):
    sequential = ConsensusDetector(_members()).fit(pixels)
    with joblib.parallel_backend("threading"):
        parallel = ConsensusDetector(_members(), n_jobs=2).fit(pixels)
    np.testing.assert_array_equal(parallel.anomaly_score(pixels), sequential.anomaly_score(pixels))


def test_plain_sklearn_detectors_score_cubes(scene):
    model = ConsensusDetector([("lof", LocalOutlierFactor(novelty=True)),
                               ("iforest", IsolationForest(n_estimators=20, random_state=0))])
    scores = model.fit(scene.cube).anomaly_score(scene.cube)
    assert scores.shape == scene.cube.shape[:2]
    assert roc_auc(scene.mask, scores) > 0.9


class _ImageDetector(BaseEstimator):
    """Needs cubes, like the spatial autoencoders; score = mean of a 3 x 3 window."""

    def fit(self, X, y=None):
        if np.ndim(X) not in (3, 4):
            raise ValueError(f"_ImageDetector needs cubes; got a {np.ndim(X)}-D array.")
        self.fit_ndim_ = np.ndim(X)
        return self

    def anomaly_score(self, X):
        if np.ndim(X) not in (3, 4):
            raise ValueError(f"_ImageDetector needs cubes; got a {np.ndim(X)}-D array.")
        norm = np.linalg.norm(np.asarray(X), axis=-1)
        return norm + np.roll(norm, 1, axis=-1) + np.roll(norm, -1, axis=-1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


def test_image_members_get_cubes_and_others_pixels(scene):
    model = ConsensusDetector([("image", _ImageDetector()), ("rx", RXDetector())])
    assert get_tags(model).input_tags.three_d_array
    assert not get_tags(model).input_tags.two_d_array
    batch = np.stack([scene.cube[:20, :20], scene.cube[20:40, :20]])
    model.fit(batch)
    assert model.named_estimators_.image.fit_ndim_ == 4
    assert model.anomaly_score(batch).shape == (2, 20, 20)
    assert model.anomaly_score(batch[0]).shape == (20, 20)
    with pytest.raises(ValueError, match="needs cubes; got a 2-D array"):
        model.anomaly_score(batch[0].reshape(-1, 60))


def test_nan_and_wrong_band_count(pixels, fitted):
    bad = pixels.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ConsensusDetector(_members()).fit(bad)
    with pytest.raises(ValueError, match="infinity"):
        fitted.anomaly_score(np.full((2, 60), np.inf))
    with pytest.raises(ValueError, match="X has 4 features, but ConsensusDetector is expecting"):
        fitted.predict(pixels)
    with pytest.raises(NotFittedError):
        ConsensusDetector(_members()).anomaly_score(pixels)


@pytest.mark.parametrize("detectors, error, match", [
    ([], ValueError, "needs at least one detector: got an empty list"),
    ([("rx", RXDetector()), ("rx", RXDetector())], ValueError,
     r"names must be unique; \['rx'\] occur more than once"),
    ([RXDetector()], ValueError, "list of \\(name, estimator\\) tuples"),
    ([("lof", LocalOutlierFactor())], TypeError,
     "'lof' \\(LocalOutlierFactor\\) has neither anomaly_score nor score_samples.*novelty=True"),
    ([("km", KMeans(2))], TypeError, "has neither anomaly_score nor score_samples"),
    ([("rx", RXDetector)], TypeError, "is the class RXDetector; pass an instance"),
    ([("rx", "drop")], ValueError, "All detectors are 'drop'"),
    ([("method", RXDetector())], ValueError, "conflict with constructor arguments"),
])
def test_bad_detectors(pixels, detectors, error, match):
    with pytest.raises(error, match=match):
        ConsensusDetector(detectors).fit(pixels)


@pytest.mark.parametrize("weights, error, match", [
    ([1.0], ValueError, r"one number per detector: got 1 weight\(s\) .* for 2 detector\(s\)"),
    ([[1.0, 2.0]], ValueError, "one number per detector"),
    ([1.0, -1.0], ValueError, "finite and non-negative; got \\[1.0, -1.0\\]"),
    ([0, 0], ValueError, "all zero; at least one must be positive"),
    (["a", "b"], TypeError, "weights must be numbers"),
])
def test_bad_weights(pixels, weights, error, match):
    with pytest.raises(error, match=match):
        ConsensusDetector(_members(), weights=weights).fit(pixels)


@pytest.mark.parametrize("params", [{"method": "median"}, {"agreement": 0.0},
                                    {"contamination": 0.6}, {"detectors": ("rx", RXDetector())}])
def test_parameter_validation(pixels, params):
    model = ConsensusDetector(_members())
    with pytest.raises(ValueError, match="parameter of ConsensusDetector must be"):
        model.set_params(**params).fit(pixels)


class _BadShape(BaseEstimator):
    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def score_samples(self, X):
        return np.zeros(len(X) + 1)


class _NaNScores(_BadShape):
    def score_samples(self, X):
        return np.full(len(X), np.nan)


def test_members_with_bad_scores(pixels):
    with pytest.raises(ValueError, match="'bad' \\(_BadShape\\) gave 301 scores for 300 pixels"):
        ConsensusDetector([("bad", _BadShape())]).fit(pixels)
    with pytest.raises(ValueError, match="gave NaN scores for 300 of 300 pixels"):
        ConsensusDetector([("nan", _NaNScores())]).fit(pixels)


def test_a_pipeline_with_an_image_step_is_given_the_cube():
    from skhsi.anomaly import LocalRXDetector
    from skhsi.datasets import make_synthetic_scene
    from skhsi.metrics import roc_auc
    from skhsi.pipeline import make_attribute_filter_pipeline

    scene = make_synthetic_scene(random_state=0)
    ensemble = ConsensusDetector([("default", make_attribute_filter_pipeline()),
                                  ("local", LocalRXDetector())]).fit(scene.cube)
    scores = ensemble.anomaly_score(scene.cube)
    assert scores.shape == (64, 64) and roc_auc(scene.mask, scores) > 0.9
    with pytest.raises(ValueError, match="works on images"):
        ensemble.anomaly_score(scene.cube.reshape(-1, scene.cube.shape[-1]))
