import joblib
import numpy as np
import pytest

from skhsi.classification import SpectralMLPClassifier
from skhsi.pipeline import make_pipeline
from skhsi.selection import ConcreteBandSelector, LearnableChannelMixer

_FAST = dict(hidden=16, max_epochs=10, device="cpu", random_state=0)


def _labelled_cube(seed=0, size=32, n_bands=30, informative=(4, 17, 25)):
    """Three classes that differ only in three bands."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(informative), size=(size, size))
    cube = rng.normal(size=(size, size, n_bands))
    for c, band in enumerate(informative):
        cube[..., band] += 3.0 * (labels == c)
    return cube, labels


def test_cube_gives_label_maps():
    cube, labels = _labelled_cube(size=16, n_bands=8, informative=(1, 5))
    names = np.array(["grass", "road"])[labels]
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
