import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils._param_validation import InvalidParameterError

from skhsi.anomaly import DeepSVDD
from skhsi.decomposition import TrainablePCA
from skhsi.metrics import roc_auc_scorer
from skhsi.nn import as_tensor
from skhsi.pipeline import make_pipeline
from skhsi.preprocessing import ZScoreNormalizerGlobal

_FAST_SVDD = dict(max_epochs=2, batch_size=256, n_rff=32, hidden=16, rep_dim=4,
                  device="cpu", random_state=0)


@pytest.fixture(scope="module")
def pixels(indian_pines):
    """2000 z-scored pixels of the embedded real scene."""
    cube = indian_pines.cube.astype(np.float64)
    rows = np.random.default_rng(0).choice(145 * 145, 2000, replace=False)
    X = cube.reshape(-1, cube.shape[-1])[rows]
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _mse(pca, X):
    return float(np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2))


@pytest.mark.parametrize("whiten", [False, True])
def test_matches_sklearn(pixels, whiten):
    ours = TrainablePCA(10, whiten=whiten).fit(pixels)
    ref = PCA(10, whiten=whiten).fit(pixels)
    assert_allclose(ours.transform(pixels), ref.transform(pixels), rtol=1e-6, atol=1e-8)
    assert_allclose(ours.components_, ref.components_, atol=1e-8)
    assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-8)
    assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-8)
    assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-8)
    assert_allclose(ours.mean_, ref.mean_)
    Z = ref.transform(pixels)
    assert_allclose(ours.inverse_transform(Z), ref.inverse_transform(Z), atol=1e-8)


def test_sign_convention_and_ratio(pixels):
    pca = TrainablePCA(30).fit(pixels)
    largest = np.argmax(np.abs(pca.components_), axis=1)
    assert np.all(pca.components_[np.arange(30), largest] > 0)  # svd_flip on the rows
    assert pca.explained_variance_ratio_.sum() <= 1.0
    full = TrainablePCA(pixels.shape[1]).fit(pixels)
    assert_allclose(full.explained_variance_ratio_.sum(), 1.0)


def test_cube_shape_dtype_and_module():
    cube = np.random.default_rng(1).normal(size=(2, 6, 5, 7)).astype(np.float32)
    pca = TrainablePCA(3, whiten=True).fit(cube)
    out = pca.transform(cube)
    assert out.shape == (2, 6, 5, 3) and out.dtype == np.float32
    assert pca.inverse_transform(out).shape == cube.shape
    torch_out = pca._as_module()(as_tensor(cube.reshape(-1, 7))).detach().numpy()
    assert_allclose(torch_out, out.reshape(-1, 3), atol=1e-5)
    assert pca.get_feature_names_out().tolist() == [f"trainablepca{i}" for i in range(3)]


def test_fine_tuning_never_worse_than_svd(pixels):
    init = TrainablePCA(10).fit(pixels)
    tuned = TrainablePCA(10, max_epochs=3, lr=1e-2, batch_size=512, device="cpu",
                         random_state=0).fit(pixels)
    assert len(tuned.history_) == 3 and "reconstruction_mse" in tuned.history_[0]
    assert _mse(tuned, pixels) <= _mse(init, pixels) * (1 + 1e-6)


def test_bad_epochs_fall_back_to_init(pixels):
    init = TrainablePCA(5).fit(pixels)
    wild = TrainablePCA(5, max_epochs=2, lr=5.0, optimizer="sgd", batch_size=512,
                        device="cpu", random_state=0).fit(pixels)
    assert wild.best_epoch_ == 0
    assert_allclose(wild.components_, init.components_, atol=1e-6)


def test_fine_tuning_from_random_init_improves(pixels):
    rand = TrainablePCA(5, init_method="random", random_state=0).fit(pixels)
    tuned = TrainablePCA(5, init_method="random", max_epochs=3, lr=1e-2, batch_size=256,
                         device="cpu", random_state=0).fit(pixels)
    assert tuned.best_epoch_ > 0
    assert _mse(tuned, pixels) < _mse(rand, pixels)
    assert rand.explained_variance_ratio_.sum() <= 1.0


def _scenes(n=4, size=12, bands=8, seed=0):
    rng = np.random.default_rng(seed)
    cubes = rng.normal(size=(n, size, size, bands))
    masks = np.zeros((n, size, size), dtype=bool)
    masks[:, 3, 4] = masks[:, 8, 8] = True
    cubes[masks] += 4.0
    return cubes, masks


@pytest.mark.parametrize("trainable", [True, False])
def test_end_to_end_in_front_of_deep_svdd(pixels, trainable):
    pipe = make_pipeline(ZScoreNormalizerGlobal(), TrainablePCA(10, trainable=trainable),
                         DeepSVDD(**_FAST_SVDD))
    pipe.fit(pixels[:1000])
    init = TrainablePCA(10).fit(ZScoreNormalizerGlobal().fit_transform(pixels[:1000]))
    changed = not np.allclose(pipe[1].components_, init.components_, atol=1e-6)
    assert changed == trainable
    assert pipe.anomaly_score(pixels[:5]).shape == (5,)


def test_as_final_step_of_pipeline():
    cubes, _ = _scenes()
    pipe = make_pipeline(ZScoreNormalizerGlobal(),
                         TrainablePCA(3, max_epochs=2, lr=1e-2, device="cpu", random_state=0))
    out = pipe.fit_transform(cubes)
    assert out.shape == (4, 12, 12, 3)
    assert len(pipe[-1].history_) == 2
    assert_allclose(out, pipe[-1].transform(pipe[0].transform(cubes)))


def test_grid_search_over_components():
    cubes, masks = _scenes()
    pipe = make_pipeline(ZScoreNormalizerGlobal(), TrainablePCA(2, trainable=True),
                         DeepSVDD(**{**_FAST_SVDD, "max_epochs": 1}))
    search = GridSearchCV(pipe, {"trainablepca__n_components": [2, 6]},
                          scoring=roc_auc_scorer, cv=KFold(2)).fit(cubes, masks)
    assert search.best_params_["trainablepca__n_components"] in (2, 6)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_joblib_round_trip(tmp_path, pixels):
    pca = TrainablePCA(4, whiten=True, init_method="random", max_epochs=1, batch_size=512,
                       device="cpu", random_state=0).fit(pixels)
    joblib.dump(pca, tmp_path / "pca.joblib")
    loaded = joblib.load(tmp_path / "pca.joblib")
    assert_array_equal(loaded.transform(pixels), pca.transform(pixels))


def test_errors():
    X = np.random.default_rng(0).normal(size=(20, 5))
    with pytest.raises(ValueError, match=r"n_components=6 must be at most the number of bands"):
        TrainablePCA(6).fit(X)
    with pytest.raises(ValueError, match=r"number of pixels \(n_samples=3\)"):
        TrainablePCA(4).fit(X[:3])
    with pytest.raises(InvalidParameterError, match="init_method"):
        TrainablePCA(2, init_method="pca").fit(X)
    pca = TrainablePCA(2).fit(X)
    with pytest.raises(ValueError, match="5 features"):
        pca.transform(X[:, :4])
    with pytest.raises(ValueError, match="expects 2 components"):
        pca.inverse_transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        TrainablePCA(2).fit(np.where(X > 1, np.nan, X))
