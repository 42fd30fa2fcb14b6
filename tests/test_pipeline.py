import io

import joblib
import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skhsi.anomaly import DeepSVDD, RXDetector
from skhsi.metrics import roc_auc, roc_auc_scorer
from skhsi.pipeline import Pipeline, make_deep_svdd_pipeline, make_pipeline
from skhsi.preprocessing import BandpassByWavelength, PerPixelUnitNorm, ZScoreNormalizerGlobal

SMALL = dict(n_rff=64, hidden=16, rep_dim=4, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def strip(hydice):
    """The top 40 rows of HYDICE (8 of its 19 anomalous pixels)."""
    return hydice.cube[:40].astype(np.float32), hydice.mask[:40]


@pytest.mark.slow  # 11 s: Deep SVDD trained on two real scenes
def test_default_pipeline_beats_rx_on_both_scenes(hydice, sandiego):
    for scene in (hydice, sandiego):
        pipe = make_deep_svdd_pipeline(random_state=0, device="cpu").fit(scene.cube)
        auc = roc_auc(scene.mask, pipe.anomaly_score(scene.cube))
        rx = roc_auc(scene.mask, RXDetector().fit(scene.cube).anomaly_score(scene.cube))
        assert auc >= rx
        assert auc > 0.975


def test_phase1_then_one_phase2(cube):
    pipe = make_pipeline(ZScoreNormalizerGlobal(trainable=True), DeepSVDD(max_epochs=3, **SMALL))
    pipe.fit(cube)
    z, det = pipe[0], pipe[-1]
    pixels = cube.reshape(-1, 6)
    assert not np.allclose(z.mean_, pixels.mean(axis=0))
    assert len(det.history_) == 3
    assert det.net_.module_.prefix[0].mean.shape == (6,)


def test_frozen_steps_keep_their_statistics(cube):
    pipe = make_pipeline(ZScoreNormalizerGlobal(), DeepSVDD(max_epochs=3, **SMALL)).fit(cube)
    pixels = cube.reshape(-1, 6)
    assert np.allclose(pipe[0].mean_, pixels.mean(axis=0))
    assert np.allclose(pipe[0].std_, pixels.std(axis=0))


def test_scores_equal_head_on_transformed_input(cube):
    pipe = make_pipeline(BandpassByWavelength(), PerPixelUnitNorm(),
                         ZScoreNormalizerGlobal(trainable=True), DeepSVDD(max_epochs=2, **SMALL))
    pipe.fit(cube)
    Xt = pipe[:-1].transform(cube)
    assert np.array_equal(pipe.anomaly_score(cube), pipe[-1].anomaly_score(Xt))
    assert np.array_equal(pipe.predict(cube), pipe[-1].predict(Xt))
    assert np.array_equal(pipe.fit_predict(cube), pipe.predict(cube))
    # offset_ is computed on the trained chain: contamination of the training pixels.
    assert np.isclose((pipe.predict(cube) == -1).mean(), 0.01, atol=0.01)


def test_sklearn_steps_in_front_of_the_chain(cube):
    pipe = make_pipeline(StandardScaler(), ZScoreNormalizerGlobal(trainable=True),
                         DeepSVDD(max_epochs=2, **SMALL))
    assert pipe.fit(cube.reshape(-1, 6)).anomaly_score(cube.reshape(-1, 6)).shape == (120,)


def test_trainable_step_behind_a_non_torch_step_is_an_error(cube):
    pipe = make_pipeline(ZScoreNormalizerGlobal(trainable=True), FunctionTransformer(),
                         DeepSVDD(max_epochs=2, **SMALL))
    with pytest.raises(ValueError, match="trainable=True but sit in front of a step without"):
        pipe.fit(cube.reshape(-1, 6))


def test_plain_sklearn_final_step(cube):
    pipe = make_pipeline(ZScoreNormalizerGlobal(), IsolationForest(random_state=0))
    scores = pipe.fit(cube.reshape(-1, 6)).score_samples(cube.reshape(-1, 6))
    assert scores.argmin() == 3 * 10 + 4


def test_validation_data_selects_the_best_epoch(strip):
    X, mask = strip
    pipe = make_pipeline(ZScoreNormalizerGlobal(), DeepSVDD(max_epochs=5, lr=1e-2, **SMALL))
    pipe.fit(X, validation_data=(X, mask))
    best = max(row["valid_auc"] for row in pipe[-1].history_)
    assert roc_auc(mask, pipe.anomaly_score(X)) == pytest.approx(best, abs=1e-3)


def test_unknown_fit_parameter_is_an_error(cube):
    pipe = make_pipeline(ZScoreNormalizerGlobal(), DeepSVDD(max_epochs=1, **SMALL))
    with pytest.raises(ValueError, match="must be '<step>__<param>'"):
        pipe.fit(cube, sample_weight=None)


def test_grid_search_over_a_two_phase_parameter(strip):
    X, mask = strip
    pipe = make_pipeline(ZScoreNormalizerGlobal(), DeepSVDD(max_epochs=2, **SMALL))
    search = GridSearchCV(pipe, {"deepsvdd__rep_dim": [2, 8]}, scoring=roc_auc_scorer, cv=2)
    search.fit(X, mask)
    assert search.best_params_["deepsvdd__rep_dim"] in (2, 8)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_[-1].module_.tracker.center.shape[0] == search.best_params_["deepsvdd__rep_dim"]


def test_grid_search_in_parallel(strip):
    X, mask = strip
    pipe = make_pipeline(ZScoreNormalizerGlobal(), DeepSVDD(max_epochs=1, **SMALL))
    search = GridSearchCV(pipe, {"deepsvdd__hidden": [4, 8]}, scoring=roc_auc_scorer, cv=2,
                          n_jobs=2)
    search.fit(X, mask)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_joblib_round_trip_reproduces_scores(cube):
    pipe = make_pipeline(ZScoreNormalizerGlobal(trainable=True), DeepSVDD(max_epochs=2, **SMALL))
    pipe.fit(cube)
    buffer = io.BytesIO()
    joblib.dump(pipe, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    assert isinstance(loaded, Pipeline)
    assert np.array_equal(loaded.anomaly_score(cube), pipe.anomaly_score(cube))


def test_set_params_and_step_names():
    pipe = make_deep_svdd_pipeline(random_state=0)
    assert [name for name, _ in pipe.steps] == ["bandpass", "zscore", "deepsvdd"]
    pipe.set_params(deepsvdd__rep_dim=8)
    assert pipe[-1].rep_dim == 8
    assert [name for name, _ in make_deep_svdd_pipeline(unit_norm=True).steps] == [
        "bandpass", "unitnorm", "zscore", "deepsvdd"]


def test_frozen_nodes_with_weights_train_alone_the_same_way(cube):
    """A frozen node with max_epochs > 0 trains its own objective before the head's phase 2,
    whatever the node (TrainablePCA and LearnableChannelMixer alike)."""
    from skhsi.decomposition import TrainablePCA
    from skhsi.selection import LearnableChannelMixer

    train = dict(max_epochs=3, batch_size=32, device="cpu", random_state=0)
    for step in (TrainablePCA(3, **train), LearnableChannelMixer(3, **train)):
        pipe = make_pipeline(ZScoreNormalizerGlobal(), step, DeepSVDD(max_epochs=2, **SMALL))
        pipe.fit(cube)
        assert len(pipe[1].history_) == 3, type(step).__name__
        assert len(pipe[-1].history_) == 2
        alone = type(step)(3, **train).fit(pipe[0].transform(cube))
        assert np.allclose(pipe[1].transform(pipe[0].transform(cube)),
                           alone.transform(pipe[0].transform(cube)))


def test_trainable_node_runs_phase1_only_then_trains_with_the_head(cube):
    from skhsi.decomposition import TrainablePCA

    pca = TrainablePCA(3, trainable=True, max_epochs=5, device="cpu", random_state=0)
    pipe = make_pipeline(ZScoreNormalizerGlobal(), pca, DeepSVDD(max_epochs=2, **SMALL))
    pipe.fit(cube)
    assert pipe[1].history_ == []          # no training of its own
    assert len(pipe[-1].history_) == 2     # trained through the head's objective
    svd = TrainablePCA(3).fit(pipe[0].transform(cube))
    assert not np.allclose(pipe[1].components_, svd.components_)


def test_every_node_with_weights_takes_weight_penalties(cube):
    """l1 / l2 are training parameters of every node with weights; they shrink the weights."""
    from skhsi.classification import SpectralMLPClassifier

    def squared_norm(module):
        return sum(float((p.detach() ** 2).sum()) for p in module.parameters() if p.ndim > 1)

    y = (cube[..., 0] > 0).astype(int) + 1  # a label map: classes 1 and 2
    for cls, params in ((DeepSVDD, SMALL), (SpectralMLPClassifier, dict(hidden=8, device="cpu",
                                                                       random_state=0))):
        plain = cls(max_epochs=10, **params).fit(cube, y)
        shrunk = cls(max_epochs=10, l2=1e-1, **params).fit(cube, y)
        assert squared_norm(shrunk.module_) < squared_norm(plain.module_), cls.__name__
        with pytest.raises(ValueError, match="'l1' parameter"):
            cls(l1=-1.0, **params).fit(cube, y)
