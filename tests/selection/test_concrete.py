import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from skhsi.anomaly import DeepSVDD
from skhsi.metrics import roc_auc_scorer
from skhsi.nn import ConcreteSelect, distinct_argmax, distinctness_penalty
from skhsi.pipeline import make_pipeline
from skhsi.preprocessing import ZScoreNormalizerGlobal
from skhsi.selection import ConcreteBandSelector

_FAST = dict(max_epochs=2, batch_size=64, device="cpu", random_state=0)
_SVDD = dict(max_epochs=3, n_rff=64, hidden=16, rep_dim=4, batch_size=64, device="cpu",
             random_state=0)


@pytest.fixture
def data():
    """Six sources, each repeated over four neighbouring bands, plus noise."""
    rng = np.random.default_rng(0)
    sources = rng.normal(size=(400, 6))
    return np.repeat(sources, 4, axis=1) + 0.05 * rng.normal(size=(400, 24))


def test_penalty_finite_for_one_hot_rows():
    probs = torch.eye(5)[[0, 0, 3]].requires_grad_(True)
    value = distinctness_penalty(probs)
    value.backward()
    assert torch.isfinite(value) and value.item() == pytest.approx(1.0 / 3.0)
    assert torch.all(torch.isfinite(probs.grad))
    assert float(distinctness_penalty(torch.eye(5)[[0, 1, 2]])) == 0.0


def test_collisions_go_to_next_best_band():
    scores = torch.tensor([[5.0, 4.0, 0.0, 0.0], [6.0, 1.0, 0.0, 3.0], [5.5, 0.0, 2.0, 0.0]])
    assert distinct_argmax(scores).tolist() == [1, 0, 2]


def test_distinct_reproducible_bands(data):
    kwargs = dict(n_bands=6, max_epochs=50, lr=0.05, batch_size=64, device="cpu")
    first = ConcreteBandSelector(random_state=3, **kwargs).fit(data)
    again = ConcreteBandSelector(random_state=3, **kwargs).fit(data)
    assert len(set(first.selected_bands_.tolist())) == 6
    np.testing.assert_array_equal(first.selected_bands_, again.selected_bands_)
    np.testing.assert_array_equal(first.transform(data), data[:, first.selected_bands_])
    # trained, the selection covers the six sources (one band of each group of four)
    assert len(set((first.selected_bands_ // 4).tolist())) == 6
    assert first.tau_ == pytest.approx(0.1)
    np.testing.assert_allclose(first.selection_weights_.sum(axis=1), 1.0)
    assert first.selection_weights_.shape == (6, 24)


def test_cube_support_and_inverse(data):
    cube = data.reshape(20, 20, 24)
    sel = ConcreteBandSelector(n_bands=4, **_FAST).fit(cube)
    out = sel.transform(cube)
    assert out.shape == (20, 20, 4)
    back = sel.inverse_transform(out)
    assert back.shape == cube.shape
    np.testing.assert_array_equal(back[..., sel.selected_bands_], out)
    assert sel.get_support().sum() == 4


def test_wavelengths_and_feature_names(data):
    wl = np.linspace(400, 1000, 24)
    sel = ConcreteBandSelector(n_bands=3, wavelengths=wl, **_FAST).fit(data)
    np.testing.assert_array_equal(sel.selected_wavelengths_, wl[sel.selected_bands_])
    assert list(sel.get_feature_names_out()) == [f"{w:g}nm" for w in wl[sel.selected_bands_]]
    plain = ConcreteBandSelector(n_bands=3, **_FAST).fit(data)
    assert plain.selected_wavelengths_ is None
    assert list(plain.get_feature_names_out()) == [f"x{i}" for i in plain.selected_bands_]


def test_bad_input(data):
    with pytest.raises(ValueError, match=r"n_bands=30 is larger .*n_features = 24"):
        ConcreteBandSelector(n_bands=30, **_FAST).fit(data)
    with pytest.raises(ValueError, match="wavelengths has 3 values but the data has 24"):
        ConcreteBandSelector(wavelengths=[400, 500, 600], **_FAST).fit(data)
    with pytest.raises(ValueError, match="strictly increasing"):
        ConcreteBandSelector(wavelengths=np.arange(24)[::-1], **_FAST).fit(data)
    sel = ConcreteBandSelector(**_FAST).fit(data)
    with pytest.raises(ValueError, match="24 features"):
        sel.transform(data[:, :10])


def test_round_trip(data, tmp_path):
    sel = ConcreteBandSelector(n_bands=3, use_hard_inference=False, **_FAST).fit(data)
    joblib.dump(sel, tmp_path / "sel.joblib")
    loaded = joblib.load(tmp_path / "sel.joblib")
    np.testing.assert_array_equal(loaded.transform(data), sel.transform(data))
    np.testing.assert_array_equal(loaded.selected_bands_, sel.selected_bands_)


def test_module_modes():
    module = ConcreteSelect(6, 2, seed=0)
    x = torch.randn(5, 6)
    module.train()
    assert module(x).shape == (5, 2)
    module.set_epoch(4, 5)
    assert float(module.tau) == pytest.approx(0.1)
    module.eval()
    np.testing.assert_array_equal(module(x).numpy(), x[:, module.hard_indices()].numpy())
    module.train()
    module.requires_grad_(False)  # a frozen selector selects even in training mode
    np.testing.assert_array_equal(module(x).numpy(), x[:, module.hard_indices()].numpy())


def test_end_to_end_with_deep_svdd(data):
    cube = data.reshape(20, 20, 24).copy()
    cube[3, 3] += 6.0
    pipe = make_pipeline(ZScoreNormalizerGlobal(),
                         ConcreteBandSelector(n_bands=5, trainable=True, random_state=0),
                         DeepSVDD(**_SVDD))
    pipe.fit(cube)
    scores = pipe.anomaly_score(cube)
    assert scores.shape == (20, 20) and np.all(np.isfinite(scores))
    sel = pipe[1]
    initial = ConcreteBandSelector(n_bands=5, trainable=True, random_state=0)
    initial._fit_phase1(pipe[0].transform(cube))
    assert not np.allclose(sel.module_.logits.detach().numpy(),
                           initial.module_.logits.detach().numpy())
    assert sel.tau_ == pytest.approx(0.1)
    assert len(set(sel.selected_bands_.tolist())) == 5


def test_grid_search_with_masks_on_hydice(hydice):
    scene = hydice
    bands = slice(0, None, 8)
    tiles = np.stack([scene.cube[0:32, 16:48, bands], scene.cube[64:96, 8:40, bands]])
    masks = np.stack([scene.mask[0:32, 16:48], scene.mask[64:96, 8:40]])
    assert masks.reshape(2, -1).any(axis=1).all()
    pipe = make_pipeline(ZScoreNormalizerGlobal(),
                         ConcreteBandSelector(trainable=True, random_state=0),
                         DeepSVDD(**{**_SVDD, "max_epochs": 2}))
    search = GridSearchCV(pipe, {"concretebandselector__n_bands": [3, 6]},
                          scoring=roc_auc_scorer, cv=2)
    search.fit(tiles.astype(np.float32), masks)
    assert search.best_params_["concretebandselector__n_bands"] in (3, 6)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.anomaly_score(tiles[:1]).shape == (1, 32, 32)


def test_frozen_step_is_fitted_alone(data):
    cube = data.reshape(20, 20, 24)
    pipe = make_pipeline(ConcreteBandSelector(n_bands=4, **_FAST), DeepSVDD(**_SVDD)).fit(cube)
    alone = ConcreteBandSelector(n_bands=4, **_FAST).fit(cube)
    np.testing.assert_array_equal(pipe[0].selected_bands_, alone.selected_bands_)
    np.testing.assert_array_equal(pipe[0].module_.logits.detach().numpy(),
                                  alone.module_.logits.detach().numpy())
