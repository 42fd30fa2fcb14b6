import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from skhsi.classification import SpectralSpatialClassifier
from tests._data import shared_file


def _fields(seed=0, noise=1.0):
    """Four 15 x 15 fields of two classes, noisy spectra, two labels per class."""
    rng = np.random.default_rng(seed)
    truth = np.repeat([[1, 2], [2, 1]], 15, axis=0).repeat(15, axis=1)
    signal = np.where(truth == 2, 1.0, -1.0)[..., None] * np.linspace(-1, 1, 8)
    cube = noise * rng.normal(size=(30, 30, 8)) + signal
    labels = np.zeros_like(truth)
    labels[[2, 5, 20, 25], [3, 25, 4, 22]] = [1, 2, 2, 1]
    return cube, labels, truth


def test_the_neighbourhood_and_the_filter_each_add_to_the_spectrum():
    cube, labels, truth = _fields()
    accuracy = {}
    for name, params in {"spectral": dict(window_sizes=(), filter_radius=0),
                         "windows": dict(filter_radius=0),
                         "filter": dict(window_sizes=()),
                         "both": {}}.items():
        model = SpectralSpatialClassifier(n_components=4, **params).fit(cube, labels)
        accuracy[name] = float((model.predict(cube) == truth).mean())
    assert accuracy["spectral"] < 0.85
    assert accuracy["windows"] > accuracy["spectral"] + 0.05
    assert accuracy["filter"] > accuracy["spectral"] + 0.05
    assert accuracy["both"] > 0.98


def test_statistics_come_from_every_pixel_and_the_classifier_from_the_labelled_ones():
    cube, labels, _ = _fields()
    model = SpectralSpatialClassifier(n_components=4, pseudo_labels=0).fit(cube, labels)
    pixels = cube.reshape(-1, 8)
    np.testing.assert_allclose(model.mean_, pixels.mean(axis=0))
    np.testing.assert_allclose(model.scale_, pixels.std(axis=0))
    assert model.estimator_.n_features_in_ == 4 * 5  # components, means over 4 windows
    assert model.estimator_.gamma == 1 / (2 * 4 * 5)  # the kernel follows the features
    assert len(model.estimator_.support_vectors_) <= 4  # fitted on the 4 labelled pixels
    assert model.classes_.tolist() == [1, 2]
    assert model.n_pseudo_labels_.tolist() == [0, 0]


def test_the_components_are_the_pca_of_the_standardised_pixels():
    cube, labels, _ = _fields()
    model = SpectralSpatialClassifier(n_components=4, pseudo_labels=0).fit(
        cube.astype(np.float32), labels)
    standard = (cube.reshape(-1, 8) - model.mean_) / model.scale_
    pca = PCA(n_components=4).fit(standard)
    signs = np.sign(np.sum(pca.components_ * model.components_, axis=1))
    np.testing.assert_allclose(model.components_, signs[:, None] * pca.components_,
                               atol=1e-5)
    np.testing.assert_allclose(model.component_scale_, np.sqrt(pca.explained_variance_),
                               rtol=1e-5)
    # The whitened components have unit variance over the pixels.
    projected = model._project(cube.astype(np.float32)).reshape(-1, 4)
    np.testing.assert_allclose(projected.var(axis=0, ddof=1), 1.0, rtol=1e-4)


def test_pseudo_labels_are_the_most_confident_unlabelled_pixels_of_each_class():
    cube, labels, truth = _fields()
    once = SpectralSpatialClassifier(n_components=4, pseudo_labels=0).fit(cube, labels)
    model = SpectralSpatialClassifier(n_components=4, pseudo_labels=50).fit(cube, labels)
    assert model.n_pseudo_labels_.tolist() == [50, 50]
    scores = once.decision_function(cube)
    ordered = np.sort(scores, axis=-1)
    lead = (ordered[..., -1] - ordered[..., -2])[labels == 0]
    winner = once.classes_[scores.argmax(axis=-1)][labels == 0]
    expected = np.zeros_like(labels)
    for label in (1, 2):  # the 50 widest leads among the unlabelled pixels it wins
        rows, cols = np.nonzero(labels == 0)
        mine = np.flatnonzero(winner == label)
        top = mine[np.argsort(-lead[mine], kind="stable")[:50]]
        expected[rows[top], cols[top]] = label
    refit = SpectralSpatialClassifier(n_components=4, pseudo_labels=0).fit(
        cube, labels + expected)
    np.testing.assert_array_equal(model.decision_function(cube), refit.decision_function(cube))
    assert (truth[expected > 0] == expected[expected > 0]).all()  # deep in the fields


def test_a_class_with_fewer_free_pixels_than_asked_gives_them_all():
    cube, labels, _ = _fields()
    once = SpectralSpatialClassifier(n_components=4, pseudo_labels=0).fit(cube, labels)
    first = np.where(labels > 0, labels, once.predict(cube))  # every free pixel, its class
    model = SpectralSpatialClassifier(n_components=4, pseudo_labels=10_000).fit(cube, labels)
    assert model.n_pseudo_labels_.tolist() == [int(((first == c) & (labels == 0)).sum())
                                               for c in (1, 2)]
    assert model.n_pseudo_labels_.sum() == labels.size - 4
    refit = SpectralSpatialClassifier(n_components=4, pseudo_labels=0).fit(cube, first)
    np.testing.assert_array_equal(model.decision_function(cube), refit.decision_function(cube))


def test_any_classifier_with_scores_and_string_labels():
    cube, labels, truth = _fields()
    names = np.array(["", "crop", "soil"])[labels]
    model = SpectralSpatialClassifier(LogisticRegression(), n_components=4).fit(cube, names)
    assert model.classes_.tolist() == ["crop", "soil"]
    assert model.decision_function(cube).shape == (30, 30, 2)
    assert (model.predict(cube) == np.array(["", "crop", "soil"])[truth]).mean() > 0.95
    assert model.score(cube, names) == 1.0


def test_scores_a_block_of_pixels_at_a_time_with_the_same_result(monkeypatch):
    from skhsi.classification import _spectral_spatial

    cube, labels, _ = _fields()
    whole = SpectralSpatialClassifier(n_components=4).fit(cube, labels)
    monkeypatch.setattr(_spectral_spatial, "_BLOCK", 37)  # 900 pixels: 25 blocks
    blocks = SpectralSpatialClassifier(n_components=4).fit(cube, labels)
    np.testing.assert_allclose(blocks.decision_function(cube), whole.decision_function(cube),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(blocks.components_, whole.components_, rtol=1e-12, atol=1e-12)


def test_an_estimator_with_one_score_per_pair_of_classes_is_refused():
    rng = np.random.default_rng(0)
    cube = rng.normal(size=(12, 12, 5))
    labels = np.zeros((12, 12), dtype=int)
    labels[0, :8] = [1, 1, 2, 2, 3, 3, 4, 4]
    model = SpectralSpatialClassifier(SVC(decision_function_shape="ovo"), n_components=3)
    with pytest.raises(ValueError, match=r"one score per class \(4 columns\); got shape "
                                         r"\(144, 6\).*decision_function_shape='ovo'"):
        model.fit(cube, labels)


def test_a_batch_gives_a_batch_and_blocks_give_the_whole_image():
    cube, labels, _ = _fields()
    model = SpectralSpatialClassifier(n_components=4, window_sizes=(5, 9)).fit(
        np.stack([cube, cube]), np.stack([labels, labels]))
    whole = model.predict(cube)
    assert model.predict(np.stack([cube, cube])).shape == (2, 30, 30)
    halo = 9 // 2 + 2 * 3
    top = model.predict(cube[:15 + halo])[:15]
    bottom = model.predict(cube[15 - halo:])[halo:]
    assert np.array_equal(np.concatenate([top, bottom]), whole)


@pytest.mark.parametrize("params, message", [
    (dict(window_sizes=(4,)), "window_sizes must hold odd positive integers"),
    (dict(window_sizes=(True,)), "window_sizes must hold odd positive integers"),
    (dict(filter_eps=0), "filter_eps"),
])
def test_bad_parameters(params, message):
    cube, labels, _ = _fields()
    with pytest.raises(ValueError, match=message):
        SpectralSpatialClassifier(**params).fit(cube, labels)


def test_bad_labels():
    cube, labels, _ = _fields()
    with pytest.raises(ValueError, match="requires y to be passed"):
        SpectralSpatialClassifier().fit(cube, None)
    with pytest.raises(ValueError, match=r"leading shape of X, \(30, 30\)"):
        SpectralSpatialClassifier().fit(cube, labels[:10])
    with pytest.raises(ValueError, match="boolean map"):
        SpectralSpatialClassifier().fit(cube, labels > 0)
    with pytest.raises(ValueError, match="two classes|2 classes|at least"):
        SpectralSpatialClassifier().fit(cube, (labels == 1).astype(int))


def _salinas_a_disjoint(n, seed):
    """The disjoint protocol of shared/data/cls/README.md: the cube, its truth, the
    labels (``n`` per class from columns 0-42) and the test mask (columns 43-85)."""
    from scipy.io import loadmat

    cube = loadmat(shared_file("cls/SalinasA.mat"))["salinasA"].astype(np.float32)
    gt = loadmat(shared_file("cls/SalinasA_gt.mat"))["salinasA_gt"].astype(np.int64)
    rng = np.random.default_rng(seed)
    train = np.zeros_like(gt)
    for label in np.unique(gt[gt > 0]):
        pool = np.flatnonzero((gt == label) & (np.arange(gt.shape[1]) < 43)[None, :])
        train.flat[rng.choice(pool, n, replace=False)] = label
    test = (gt > 0) & (np.arange(gt.shape[1]) >= 43)[None, :]
    return cube, gt, train, test


def test_salinas_a_few_labels_beat_the_svc_baselines():
    """10 labels per class, seed 0."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    cube, gt, train, test = _salinas_a_disjoint(10, seed=0)
    left, labels = cube[:, :43], train[:, :43]
    model = SpectralSpatialClassifier().fit(left, labels)
    ours = float((model.predict(cube)[test] == gt[test]).mean())
    pixels = left.reshape(-1, cube.shape[-1])
    scaler = StandardScaler().fit(pixels)  # the stronger baseline: statistics of every pixel
    svc = SVC(C=100).fit(scaler.transform(pixels[labels.ravel() > 0]),
                         labels.ravel()[labels.ravel() > 0])
    baseline = float((svc.predict(scaler.transform(cube[test])) == gt[test]).mean())
    assert ours > 0.98 and ours > baseline + 0.02, (ours, baseline)


def test_salinas_a_pseudo_labels_rescue_a_draw_from_one_corner():
    """Seed 4, 5 labels per class: the five corn labels lie in one corner of the field."""
    cube, gt, train, test = _salinas_a_disjoint(5, seed=4)
    accuracy = {}
    for k in (0, 200):
        model = SpectralSpatialClassifier(pseudo_labels=k).fit(cube[:, :43], train[:, :43])
        accuracy[k] = float((model.predict(cube)[test] == gt[test]).mean())
    assert accuracy[0] < 0.85 and accuracy[200] > 0.95, accuracy
