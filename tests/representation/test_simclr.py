"""SimCLREncoder: the NT-Xent loss, the views, features, pretraining on a real scene,
end-to-end fine-tuning, persistence, scikit-learn's checks and errors."""

import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline as make_sk_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhsi.classification import SpectralMLPClassifier
from skhsi.nn import nt_xent
from skhsi.nn._contrastive import ContrastiveViews, interpolation_matrix
from skhsi.persistence import load_weights, save_weights
from skhsi.pipeline import Pipeline
from skhsi.representation import SimCLREncoder
from tests._data import shared_file

_SMALL = dict(hidden=16, n_layers=1, n_heads=2, band_group=4, max_epochs=2, batch_size=32,
              device="cpu", random_state=0)


def _small(**params):
    return SimCLREncoder(8, **{**_SMALL, **params})


# -- the loss ------------------------------------------------------------------------------
def _nt_xent_reference(z1, z2, temperature):
    z = np.concatenate([z1, z2]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n = len(z1)
    total = 0.0
    for i in range(2 * n):
        pair = i + n if i < n else i - n
        others = [np.exp(z[i] @ z[k] / temperature) for k in range(2 * n) if k != i]
        total += -np.log(np.exp(z[i] @ z[pair] / temperature) / np.sum(others))
    return total / (2 * n)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0])
def test_nt_xent_matches_a_loop_over_the_anchors(temperature):
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    got = nt_xent(torch.tensor(z1), torch.tensor(z2), temperature)
    assert float(got) == pytest.approx(_nt_xent_reference(z1, z2, temperature), rel=1e-10)


def test_nt_xent_one_pair_zero_vectors_and_shapes():
    assert float(nt_xent(torch.ones(1, 3), -torch.ones(1, 3))) == 0.0  # no negatives
    z = torch.zeros(4, 3, requires_grad=True)
    loss = nt_xent(z, torch.randn(4, 3, generator=torch.Generator().manual_seed(0)))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()
    with pytest.raises(ValueError, match=r"two \(N, D\) batches of the same shape"):
        nt_xent(torch.zeros(4, 3), torch.zeros(5, 3))


# -- the views -----------------------------------------------------------------------------
def test_interpolation_matrix_keeps_kept_bands_and_interpolates_the_others():
    positions = np.array([400.0, 410, 430, 460, 500, 550])
    x = np.array([1.0, 2, 3, 4, 5, 6]) ** 2
    out = x @ interpolation_matrix([4, 1], positions).T
    assert out[1] == x[1] and out[4] == x[4]
    assert out[0] == x[1] and out[5] == x[4]  # constant beyond the outermost kept bands
    assert np.allclose(out[2:4], np.interp(positions[2:4], positions[[1, 4]], x[[1, 4]]))


def _identity_standardize(x):
    return x


def test_views_without_augmentation_are_the_standardised_input():
    x = torch.randn(20, 7, generator=torch.Generator().manual_seed(0))
    views = ContrastiveViews(seed=0)
    assert torch.equal(views(x, lambda v: (v - 1.0) / 2.0), (x - 1.0) / 2.0)


def test_band_sampled_views_keep_the_sampled_bands_and_interpolate_the_rest():
    x = torch.randn(400, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    matrix = interpolation_matrix([1, 4, 7], np.arange(9))
    views = ContrastiveViews(band_matrices=matrix[None], schedule=[0], seed=0)
    out = views(x.float(), _identity_standardize).double()
    expected = x @ torch.as_tensor(matrix).T
    sampled = torch.isclose(out, expected, atol=1e-5).all(dim=1)
    unchanged = torch.isclose(out, x, atol=1e-6).all(dim=1)
    assert bool((sampled | unchanged).all())
    assert 0.4 < float(sampled.double().mean()) < 0.6  # each view with probability 1/2
    assert torch.allclose(out[sampled][:, [1, 4, 7]], x[sampled][:, [1, 4, 7]], atol=1e-6)
    always = ContrastiveViews(band_matrices=matrix[None], schedule=[0], sample_probability=1.0)
    assert torch.allclose(always(x.float(), _identity_standardize).double(), expected, atol=1e-5)


def test_progressive_schedule_follows_the_epoch():
    x = torch.randn(50, 6, generator=torch.Generator().manual_seed(0))
    matrix = interpolation_matrix([0, 5], np.arange(6))
    views = ContrastiveViews(band_matrices=matrix[None], schedule=[0, -1],
                             sample_probability=1.0)
    assert torch.allclose(views(x, _identity_standardize), x @ torch.as_tensor(
        matrix, dtype=torch.float32).T, atol=1e-6)
    views.set_epoch(1, 2)  # -1: every band kept
    assert torch.equal(views(x, _identity_standardize), x)
    views.set_epoch(5, 2)  # the last entry holds
    assert torch.equal(views(x, _identity_standardize), x)


def test_smoothing_keeps_flat_spectra_and_damps_noise():
    flat = torch.full((10, 30), 3.0)
    views = ContrastiveViews(smoothing=2.0, seed=0)
    assert torch.allclose(views(flat, _identity_standardize), flat)
    noisy = torch.randn(500, 30, generator=torch.Generator().manual_seed(1))
    smoothed = views(noisy, _identity_standardize)
    assert float(smoothed.var()) < 0.7 * float(noisy.var())


def test_jitter_draws_differ_between_views_and_repeat_with_the_seed():
    x = torch.randn(30, 8, generator=torch.Generator().manual_seed(0))
    params = dict(noise=0.1, brightness=0.2, band_dropout=0.2, smoothing=1.0, seed=3)
    a, b = ContrastiveViews(**params), ContrastiveViews(**params)
    first, second = a(x, _identity_standardize), a(x, _identity_standardize)
    assert not torch.equal(first, second)
    assert torch.equal(first, b(x, _identity_standardize))


def test_window_views_flip_and_turn_around_the_centre_pixel():
    windows = torch.randn(64, 5, 5, 3, generator=torch.Generator().manual_seed(0))
    views = ContrastiveViews(patch_size=5, min_crop=1.0, seed=0)
    out = views(windows, _identity_standardize)
    assert out.shape == windows.shape
    assert torch.equal(out[:, 2, 2], windows[:, 2, 2])  # the centre stays put
    dihedral = [windows.rot90(k, dims=(1, 2)) for k in range(4)]
    dihedral += [w.flip(1) for w in dihedral]
    match = torch.stack([(out == d).flatten(1).all(1) for d in dihedral]).any(0)
    assert bool(match.all()) and not torch.equal(out, windows)


def test_window_crops_zoom_in_around_the_centre():
    rows = torch.arange(9.0).reshape(1, 9, 1, 1).expand(200, 9, 9, 1).contiguous()
    out = ContrastiveViews(patch_size=9, min_crop=0.5, seed=0)(rows, _identity_standardize)
    span = out.amax(dim=(1, 2, 3)) - out.amin(dim=(1, 2, 3))
    assert bool((span <= 8.0 + 1e-5).all()) and bool((span < 7.0).any())  # zoomed in
    low, high = out.amin(dim=(1, 2, 3)), out.amax(dim=(1, 2, 3))
    assert bool(((low <= 4.0 + 1e-5) & (high >= 4.0 - 1e-5)).all())  # the centre row is in


# -- the estimator -------------------------------------------------------------------------
def test_features_keep_the_leading_shape_and_repeat_with_the_seed(cube):
    encoder = _small().fit(cube)
    out = encoder.transform(cube)
    assert out.shape == (12, 10, 8) and out.dtype == np.float64 and np.isfinite(out).all()
    assert np.array_equal(encoder.transform(cube.reshape(-1, 6)), out.reshape(-1, 8))
    batch = np.stack([cube, cube[::-1]])
    assert np.array_equal(encoder.transform(batch)[1], encoder.transform(cube[::-1]))
    assert encoder.transform(cube.astype(np.float32)).dtype == np.float32
    assert np.array_equal(_small().fit(cube).transform(cube), out)
    assert not np.allclose(_small(random_state=1).fit(cube).transform(cube), out)
    assert list(encoder.get_feature_names_out()[:2]) == ["simclrencoder0", "simclrencoder1"]
    assert len(encoder.history_) == 2 and encoder.band_schedule_ == []


def test_pretraining_lowers_the_contrastive_loss(cube):
    encoder = _small(max_epochs=8, batch_size=120).fit(np.tile(cube, (2, 2, 1)))
    losses = [row["train_loss"] for row in encoder.history_]
    assert losses[-1] < losses[0]


def test_window_encoder_maps_cubes(cube):
    encoder = _small(patch_size=3).fit(cube)
    assert encoder.sample_layout == "patch"
    assert encoder.transform(cube).shape == (12, 10, 8)
    assert encoder.transform([cube, cube[:5]])[1].shape == (5, 10, 8)
    with pytest.raises(ValueError, match="works on images"):
        encoder.transform(cube.reshape(-1, 6))


def test_band_schedules(cube):
    wl = np.linspace(420, 900, 6)
    fixed = _small(band_sampling="uniform", n_sampled_bands=2, max_epochs=3).fit(cube)
    assert fixed.band_schedule_ == [2, 2, 2]
    grown = _small(band_sampling="pca-loading", n_sampled_bands=2, progressive_bands=True,
                   max_epochs=3).fit(cube)
    assert grown.band_schedule_ == [2, 4, 6]
    assert [len(b) for b in grown.sampled_bands_] == [2, 4, 6]
    listed = _small(band_sampling="uniform", progressive_bands=[1, 3], max_epochs=4).fit(cube)
    assert listed.band_schedule_ == [1, 3, 3, 3]
    rgb = _small(band_sampling="rgb", wavelengths=wl).fit(cube)
    assert rgb.band_schedule_ == [3, 3] and list(rgb.sampled_bands_[0]) == [2, 1, 0]


def test_gradient_checkpointing_trains_the_same_weights(cube):
    plain = _small().fit(cube).transform(cube)
    checkpointed = _small(gradient_checkpointing=True).fit(cube).transform(cube)
    assert np.allclose(plain, checkpointed, atol=1e-5)


def test_compile_where_unsupported_is_a_noted_no_op(cube, monkeypatch):
    monkeypatch.setattr(torch._dynamo, "is_dynamo_supported", lambda: False)
    with pytest.warns(RuntimeWarning, match="torch.compile is not supported on this platform"):
        compiled = _small(compile=True).fit(cube)
    assert np.array_equal(compiled.transform(cube), _small().fit(cube).transform(cube))


@pytest.mark.slow
def test_compile_trains_close_to_eager(cube):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a platform without a compiler falls back, noted
        compiled = _small(compile=True).fit(cube).transform(cube)
    assert np.allclose(compiled, _small().fit(cube).transform(cube), atol=1e-3)


def test_bfloat16_training_gives_close_features(cube):
    out = _small(precision="bfloat16").fit(cube).transform(cube)
    assert np.isfinite(out).all() and out.shape == (12, 10, 8)
    full = _small().fit(cube).transform(cube)  # the same seed in float32
    assert np.corrcoef(out.ravel(), full.ravel())[0, 1] > 0.99  # measured 0.9994
    assert np.abs(out - full).max() < 0.1 * np.abs(full).max()  # measured 0.05


def test_unlabelled_pixels_join_the_pretraining(cube):
    together = _small().fit(cube[:6], unlabelled=cube[6:])
    assert np.array_equal(together.transform(cube),
                          _small().fit(cube.reshape(-1, 6)).transform(cube))
    with pytest.raises(ValueError, match="unlabelled has 5 bands but X has 6"):
        _small().fit(cube, unlabelled=cube[..., :5])


def _fitted_encoders(cube):
    return (_small(band_sampling="uniform", n_sampled_bands=2).fit(cube),
            _small(patch_size=3).fit(cube))


def test_joblib_round_trip_is_bit_exact(cube, tmp_path):
    for encoder in _fitted_encoders(cube):
        joblib.dump(encoder, tmp_path / "m.joblib")
        loaded = joblib.load(tmp_path / "m.joblib")
        assert np.array_equal(loaded.transform(cube), encoder.transform(cube))
        assert loaded.band_schedule_ == encoder.band_schedule_


def test_weights_only_round_trip_is_bit_exact(cube, tmp_path):
    for encoder in _fitted_encoders(cube):
        save_weights(encoder, tmp_path / "m.pt")
        loaded = load_weights(tmp_path / "m.pt")
        assert type(loaded) is SimCLREncoder and loaded.net_ is None
        assert np.array_equal(loaded.transform(cube), encoder.transform(cube))


def test_fitting_leaves_global_rngs_alone(cube):
    torch_state, numpy_state = torch.random.get_rng_state().clone(), np.random.get_state()[1]
    _small(band_sampling="pca-loading", n_sampled_bands=2, patch_size=3).fit(cube)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state)


# -- pipelines -----------------------------------------------------------------------------
def _two_class_scene(seed=0):
    rng = np.random.default_rng(seed)
    labels = (np.arange(24)[:, None] + np.arange(24)[None, :] >= 24).astype(int)
    shapes = np.stack([np.linspace(0, 1, 12), np.linspace(1, 0, 12)])
    cube = shapes[labels] + 0.3 * rng.normal(size=(24, 24, 12))
    return cube, labels


def _fine_tuned(trainable, cube, labels, train):
    encoder = _small(trainable=trainable, max_epochs=3)
    pipe = Pipeline([("simclr", encoder),
                     ("mlp", SpectralMLPClassifier(hidden=16, max_epochs=15, device="cpu",
                                                   random_state=0))])
    return pipe.fit(cube[train], labels[train], simclr__unlabelled=cube)


def test_a_trainable_encoder_is_pretrained_then_fine_tuned_with_the_head():
    cube, labels = _two_class_scene()
    train = np.zeros(labels.shape, bool)
    train[::4, ::4] = True
    pretrained = _small(max_epochs=3).fit(cube[train], unlabelled=cube).module_.state_dict()
    frozen = _fine_tuned(False, cube, labels, train)
    tuned = _fine_tuned(True, cube, labels, train)
    for name, value in frozen["simclr"].module_.state_dict().items():
        assert torch.equal(value, pretrained[name])  # the head left the frozen encoder alone
    changed = [name for name, value in tuned["simclr"].module_.state_dict().items()
               if not torch.equal(value, pretrained[name])]
    assert "output.weight" in changed and "embed.weight" in changed
    test = ~train
    before, after = frozen.score(cube[test], labels[test]), tuned.score(cube[test], labels[test])
    assert after >= before + 0.05 and after > 0.8, (before, after)  # measured 0.72 -> 0.84


def test_a_window_encoder_cannot_be_fine_tuned_with_a_pixel_head(cube):
    labels = (cube[..., 0] > 0).astype(int) + 1  # a label map: classes 1 and 2
    pipe = Pipeline([("simclr", _small(patch_size=3, trainable=True)),
                     ("mlp", SpectralMLPClassifier(max_epochs=1, device="cpu"))])
    with pytest.raises(ValueError, match="trainable=True but sit in front"):
        pipe.fit(cube, labels)
    pipe.set_params(simclr__trainable=False).fit(cube, labels)
    assert pipe.predict(cube).shape == (12, 10)


# -- a real scene --------------------------------------------------------------------------
def _salinas_a():
    from scipy.io import loadmat

    cube = loadmat(shared_file("cls/SalinasA.mat"))["salinasA"].astype(np.float64)
    labels = loadmat(shared_file("cls/SalinasA_gt.mat"))["salinasA_gt"].astype(int)
    return cube, labels


def _left_half_split(labels, n, seed):
    """``n`` labelled pixels per class from columns 0-42; every labelled pixel right of them."""
    rng = np.random.default_rng(seed)
    columns = np.broadcast_to(np.arange(labels.shape[1]), labels.shape)
    train = np.zeros(labels.shape, bool)
    for label in np.unique(labels[labels > 0]):
        pool = np.flatnonzero((labels == label) & (columns < 43))
        if len(pool):
            train.flat[rng.choice(pool, min(n, len(pool)), replace=False)] = True
    return train, (labels > 0) & (columns >= 43)


def _probe_accuracy(features, labels, n=10):
    scores = []
    for seed in range(3):
        train, test = _left_half_split(labels, n, seed)
        probe = make_sk_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        probe.fit(features[train], labels[train])
        scores.append(probe.score(features[test], labels[test]))
    return float(np.mean(scores))


_SALINAS = dict(hidden=32, band_group=16, noise=0.05, brightness=0.1, band_sampling="uniform",
                n_sampled_bands=20, device="cpu", random_state=0)


@pytest.mark.slow
def test_pretraining_improves_a_linear_probe_on_salinas_a():
    cube, labels = _salinas_a()
    random_init = SimCLREncoder(max_epochs=0, **_SALINAS).fit(cube).transform(cube)
    pretrained = SimCLREncoder(max_epochs=10, **_SALINAS).fit(cube).transform(cube)
    before, after = _probe_accuracy(random_init, labels), _probe_accuracy(pretrained, labels)
    assert after > before + 0.08, (before, after)
    assert after > 0.85, after


# -- scikit-learn's checks and errors ------------------------------------------------------
_ROWS = ("float32 matrix products differ in the last bits with the number of rows "
         "(BLAS blocking); differences are ~1e-6 relative")


@parametrize_with_checks([_small(), _small(patch_size=3, band_sampling="uniform",
                                           n_sampled_bands=1)])
def test_sklearn_compatible(estimator, check):
    from ..test_common import run_check

    flaky = {"check_methods_subset_invariance"} if estimator.patch_size is None else ()
    run_check(estimator, check, flaky, reason=_ROWS)


@pytest.mark.parametrize("params, message", [
    (dict(hidden=10, n_heads=4), "hidden=10 must be a multiple of n_heads=4"),
    (dict(patch_size=4), "patch_size must be odd"),
    (dict(progressive_bands=True), "progressive_bands .* needs band_sampling"),
    (dict(band_sampling="rgb", progressive_bands=[3]), "progressive_bands .* needs"),
    (dict(band_sampling="uniform", progressive_bands=[2, 9]), "between 1 and the 6 bands"),
    (dict(band_sampling="rgb"), "needs `wavelengths`"),
    (dict(band_sampling="uniform", n_sampled_bands=7), "n_bands=7 is larger"),
    (dict(temperature=0.0), "'temperature' parameter"),
    (dict(device="gpu"), "device must be 'auto'"),
])
def test_bad_parameters_are_refused(cube, params, message):
    with pytest.raises(ValueError, match=message):
        _small(**params).fit(cube)


def test_bad_input_is_refused(cube):
    with pytest.raises(ValueError, match="works on images"):
        _small(patch_size=3).fit(cube.reshape(-1, 6))
    encoder = _small()
    with pytest.raises(Exception, match="not fitted"):
        encoder.transform(cube)
    encoder.fit(cube)
    with pytest.raises(ValueError, match="X has 5 features, but SimCLREncoder is expecting 6"):
        encoder.transform(cube[..., :5])
    bad = cube.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clone(encoder).fit(bad)
