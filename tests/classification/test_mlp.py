import joblib
import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhsi.classification import SpectralMLPClassifier
from skhsi.nn import LOSSES
from skhsi.pipeline import make_pipeline
from skhsi.selection import ConcreteBandSelector, LearnableChannelMixer

_FAST = dict(hidden=16, max_epochs=10, device="cpu", random_state=0)


def _labelled_cube(seed=0, size=32, n_bands=30, informative=(4, 17, 25)):
    """Three classes (labels 1, 2, 3: a label map's 0 is unlabelled) that differ only in
    three bands."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(1, len(informative) + 1, size=(size, size))
    cube = rng.normal(size=(size, size, n_bands))
    for c, band in enumerate(informative, start=1):
        cube[..., band] += 3.0 * (labels == c)
    return cube, labels


def test_cube_gives_label_maps():
    cube, labels = _labelled_cube(size=16, n_bands=8, informative=(1, 5))
    names = np.array(["grass", "road"])[labels - 1]
    clf = SpectralMLPClassifier(**_FAST).fit(cube, names)
    assert list(clf.classes_) == ["grass", "road"]
    assert clf.predict(cube).shape == (16, 16)
    proba = clf.predict_proba(cube)
    assert proba.shape == (16, 16, 2)
    np.testing.assert_allclose(proba.sum(axis=-1), 1.0)
    assert clf.score(cube, names) > 0.9


def test_prior_bias_before_training():
    X = np.random.default_rng(0).normal(size=(100, 4))
    y = np.array([0] * 80 + [1] * 20)
    clf = SpectralMLPClassifier(max_epochs=0, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.module_.output.bias.detach().numpy(),
                               np.log([0.8, 0.2]), rtol=1e-6)


def test_bad_labels():
    cube, labels = _labelled_cube(size=8, n_bands=5, informative=(0, 1))
    with pytest.raises(ValueError, match="leading shape"):
        SpectralMLPClassifier(**_FAST).fit(cube, labels[:4])
    with pytest.raises(ValueError, match="Unknown label type"):
        SpectralMLPClassifier(**_FAST).fit(cube, np.random.default_rng(0).random((8, 8)))
    pipe = make_pipeline(LearnableChannelMixer(2, trainable=True), SpectralMLPClassifier())
    with pytest.raises(ValueError, match="requires y to be passed.*needs one label per pixel"):
        pipe.fit(cube)


def test_validation_and_round_trip(tmp_path):
    cube, labels = _labelled_cube(size=16, n_bands=8, informative=(1, 5))
    valid = _labelled_cube(seed=1, size=16, n_bands=8, informative=(1, 5))
    clf = SpectralMLPClassifier(**_FAST).fit(cube, labels, validation_data=valid)
    assert all("valid_accuracy" in row for row in clf.history_)
    joblib.dump(clf, tmp_path / "clf.joblib")
    loaded = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(cube), clf.predict_proba(cube))


def test_selector_and_classifier_train_jointly():
    cube, labels = _labelled_cube()
    pipe = make_pipeline(ConcreteBandSelector(n_bands=5, trainable=True, random_state=0),
                         SpectralMLPClassifier(max_epochs=30, random_state=0))
    pipe.fit(cube, labels)
    test_cube, test_labels = _labelled_cube(seed=1)
    assert pipe.score(test_cube, test_labels) > 0.9
    assert pipe.predict(test_cube).shape == (32, 32)
    assert {4, 17, 25} <= set(pipe[0].selected_bands_.tolist())


def test_mixer_and_classifier_train_jointly():
    cube, labels = _labelled_cube()
    pipe = make_pipeline(LearnableChannelMixer(4, trainable=True, random_state=0),
                         SpectralMLPClassifier(max_epochs=20, random_state=0))
    before = LearnableChannelMixer(4, trainable=True, random_state=0)
    before._fit_phase1(cube)
    pipe.fit(cube, labels)
    assert not np.allclose(pipe[0].weights_[0], before.weights_[0])
    assert pipe.score(*_labelled_cube(seed=1)) > 0.9


# -- losses, class weights, initialisers and dropout ---------------------------------


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains(loss):
    cube, labels = _labelled_cube(size=16, n_bands=8, informative=(1, 5))
    clf = SpectralMLPClassifier(loss=loss, **_FAST).fit(cube, labels)
    assert clf.history_[-1]["train_loss"] < clf.history_[0]["train_loss"]
    assert clf.score(*_labelled_cube(seed=1, size=16, n_bands=8, informative=(1, 5))) > 0.9


def test_focal_without_focus_trains_as_cross_entropy():
    cube, labels = _labelled_cube(size=16, n_bands=8, informative=(1, 3, 5))
    kwargs = dict(_FAST, max_epochs=3)
    ce = SpectralMLPClassifier(**kwargs).fit(cube, labels)
    focal = SpectralMLPClassifier(loss="focal", gamma=0.0, **kwargs).fit(cube, labels)
    np.testing.assert_allclose(focal.predict_proba(cube), ce.predict_proba(cube), atol=1e-5)


def test_class_weight_resolution_and_effect():
    rng = np.random.default_rng(0)
    n_major, n_minor = 950, 50
    y = np.array(["common"] * n_major + ["rare"] * n_minor)
    X = rng.normal(size=(1000, 4))
    X[n_major:, 0] += 1.5  # overlapping classes: the rare one is easy to ignore
    clf = SpectralMLPClassifier(class_weight="balanced", **_FAST).fit(X, y)
    np.testing.assert_allclose(clf.class_weight_, [1000 / (2 * n_major), 1000 / (2 * n_minor)])
    weighted = SpectralMLPClassifier(class_weight={"rare": 5.0}, **_FAST).fit(X, y)
    np.testing.assert_array_equal(weighted.class_weight_, [1.0, 5.0])
    plain = SpectralMLPClassifier(**_FAST).fit(X, y)
    assert plain.class_weight_ is None

    def rare_recall(model):
        return np.mean(model.predict(X[n_major:]) == "rare")

    assert rare_recall(plain) <= 0.3 and rare_recall(clf) > 0.7  # measured: 0.3 and 0.78
    with pytest.raises(ValueError, match="not in class_weight|not found in|are not in"):
        SpectralMLPClassifier(class_weight={"unknown": 2.0}, **_FAST).fit(X, y)


def test_init_and_dropout():
    X = np.random.default_rng(0).normal(size=(200, 50))
    y = np.array([0] * 150 + [1] * 50)
    default = SpectralMLPClassifier(hidden=400, max_epochs=0, random_state=0).fit(X, y)
    he = SpectralMLPClassifier(hidden=400, init="he", max_epochs=0, random_state=0).fit(X, y)
    glorot = SpectralMLPClassifier(hidden=400, init="glorot", max_epochs=0,
                                   random_state=0).fit(X, y)
    std = {name: float(model.module_.hidden.weight.detach().std())
           for name, model in [("default", default), ("he", he), ("glorot", glorot)]}
    assert std["default"] == pytest.approx(1 / np.sqrt(3 * 50), rel=0.03)
    assert std["he"] == pytest.approx(np.sqrt(2 / (1.0001 * 50)), rel=0.03)
    assert std["glorot"] == pytest.approx(np.sqrt(2 / (50 + 400)), rel=0.03)
    for model in (he, glorot):  # the prior bias survives the initialiser
        np.testing.assert_allclose(model.module_.output.bias.detach().numpy(),
                                   np.log([0.75, 0.25]), rtol=1e-6)
    cube, labels = _labelled_cube(size=16, n_bands=8, informative=(1, 5))
    kwargs = dict(_FAST, dropout=0.5, init="he")
    first = SpectralMLPClassifier(**kwargs).fit(cube, labels)
    assert first.module_.dropout.p == 0.5
    again = SpectralMLPClassifier(**kwargs).fit(cube, labels)
    np.testing.assert_array_equal(first.predict_proba(cube), again.predict_proba(cube))
    np.testing.assert_array_equal(first.predict_proba(cube), first.predict_proba(cube))
    no_dropout = SpectralMLPClassifier(**dict(kwargs, dropout=0.0)).fit(cube, labels)
    assert not np.allclose(no_dropout.predict_proba(cube), first.predict_proba(cube))
    assert first.score(cube, labels) > 0.9


def test_weights_only_round_trip_with_the_new_parameters(tmp_path):
    from skhsi.persistence import load_weights, save_weights

    cube, labels = _labelled_cube(size=16, n_bands=8, informative=(1, 5))
    clf = SpectralMLPClassifier(loss="focal+dice", alpha=[0.5, 1.0], class_weight="balanced",
                                init="glorot", dropout=0.2, **_FAST).fit(cube, labels)
    save_weights(clf, tmp_path / "clf.skhsi")
    loaded = load_weights(tmp_path / "clf.skhsi")
    np.testing.assert_array_equal(loaded.predict_proba(cube), clf.predict_proba(cube))
    np.testing.assert_array_equal(loaded.class_weight_, clf.class_weight_)


def test_bad_loss_settings():
    cube, labels = _labelled_cube(size=8, n_bands=5, informative=(0, 1, 2))
    with pytest.raises(ValueError, match="loss='binary-cross-entropy' needs two classes; y has 3"):
        SpectralMLPClassifier(loss="binary-cross-entropy", max_epochs=0).fit(cube, labels)
    with pytest.raises(ValueError, match="alpha is the focal loss's class balance"):
        SpectralMLPClassifier(loss="dice", alpha=[1, 1, 1], max_epochs=0).fit(cube, labels)
    with pytest.raises(ValueError, match=r"alpha needs one value per class \(3\); got 2"):
        SpectralMLPClassifier(loss="focal", alpha=[1, 1], max_epochs=0).fit(cube, labels)
    with pytest.raises(ValueError, match="'loss' parameter of SpectralMLPClassifier must be"):
        SpectralMLPClassifier(loss="hinge").fit(cube, labels)
    with pytest.raises(ValueError, match="'init' parameter"):
        SpectralMLPClassifier(init="orthogonal").fit(cube, labels)


@parametrize_with_checks([
    SpectralMLPClassifier(hidden=16, loss="focal", class_weight="balanced", init="glorot",
                          dropout=0.1, max_epochs=10, device="cpu", random_state=0),
])
def test_sklearn_checks_with_losses(estimator, check):
    check(estimator)


# -- one label convention for every classifier -----------------------------------------


def test_a_label_map_marks_unlabelled_pixels_with_0_and_a_vector_does_not():
    cube, labels = _labelled_cube(size=16, n_bands=8, informative=(1, 5))
    partial = labels.copy()
    partial[::2] = 0  # half the rows unlabelled
    clf = SpectralMLPClassifier(**_FAST).fit(cube, partial)
    assert list(clf.classes_) == [1, 2]
    assert set(np.unique(clf.predict(cube))) <= {1, 2}
    assert clf.score(cube, partial) == clf.score(cube[1::2], labels[1::2])
    table = SpectralMLPClassifier(**_FAST).fit(cube.reshape(-1, 8), partial.ravel())
    assert list(table.classes_) == [0, 1, 2]  # scikit-learn's semantics for a vector


@pytest.mark.parametrize("make, message", [
    (lambda labels: np.zeros_like(labels), "needs labelled pixels: every pixel of y is 0"),
    (lambda labels: np.ones_like(labels), r"needs samples of at least 2 classes in the data, "
                                          r"but the labelled pixels hold only 1 class\(es\)"),
    (lambda labels: np.where(np.arange(labels.size).reshape(labels.shape) == 5, 3, 0),
     r"needs samples of at least 2 classes.*only 1 class\(es\): \[np.int64\(3\)\]"),
    (lambda labels: labels > 1, "y is a boolean map; in a label map 0 \\(False\\) marks an "
                                "unlabelled pixel"),
])
@pytest.mark.parametrize("name", ["SpectralMLPClassifier", "PatchClassifier", "UNetSegmenter"])
def test_every_classifier_refuses_maps_it_cannot_learn_from(name, make, message):
    from skhsi import classification

    cube, labels = _labelled_cube(size=16, n_bands=8, informative=(1, 5))
    params = {"SpectralMLPClassifier": _FAST,
              "PatchClassifier": dict(_FAST, patch_size=3, hidden=8),
              "UNetSegmenter": dict(_FAST, hidden=4, n_levels=1, tile_size=16,
                                    tiles_per_epoch=1)}[name]
    with pytest.raises(ValueError, match=f"{name}: {message}" if "boolean" in message
                       else f"{name} {message}"):
        getattr(classification, name)(**params).fit(cube, make(labels))


def test_a_pixel_table_needs_two_classes_and_may_have_boolean_labels():
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match="at least 2 classes"):
        SpectralMLPClassifier(**_FAST).fit(X, np.ones(40, int))
    y = X[:, 0] > 0
    assert list(SpectralMLPClassifier(**_FAST).fit(X, y).classes_) == [False, True]
