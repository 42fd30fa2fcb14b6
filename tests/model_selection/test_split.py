import numpy as np
import pytest
from scipy.io import loadmat
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skhsi.model_selection import SpatialBlockKFold, labelled_pixels

from .._data import shared_file


def _salinas_a():
    cube = loadmat(shared_file("cls/SalinasA.mat"))["salinasA"].astype(np.float32)
    labels = loadmat(shared_file("cls/SalinasA_gt.mat"))["salinasA_gt"].astype(np.int64)
    return cube, labels


def _patchy_labels(shape=(40, 50), seed=0):
    """Classes 1..3 in random 5 x 5 patches, a quarter of the pixels unlabelled."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(1, 4, size=(-(-shape[0] // 5), -(-shape[1] // 5)))
    labels = np.kron(coarse, np.ones((5, 5), dtype=int))[:shape[0], :shape[1]]
    labels[rng.random(shape) < 0.25] = 0
    return labels


def _chebyshev_gap(train, test, shape):
    """The smallest Chebyshev distance between a train and a test pixel."""
    tr = np.column_stack(np.unravel_index(train, shape))
    te = np.column_stack(np.unravel_index(test, shape))
    return np.abs(tr[:, None, :] - te[None, :, :]).max(axis=2).min()


@pytest.mark.parametrize("buffer", [0, 1, 3])
def test_folds_partition_labelled_pixels_and_keep_the_buffer(buffer):
    labels = _patchy_labels()
    flat = labels.reshape(-1)
    cv = SpatialBlockKFold(n_splits=4, block_shape=(8, 10), buffer=buffer,
                           image_shape=labels.shape)
    folds = list(cv.split(np.zeros((flat.size, 2)), flat))
    assert len(folds) == cv.get_n_splits() == 4
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.flatnonzero(flat))  # a partition
    blocks = (np.arange(40)[:, None] // 8) * 5 + np.arange(50)[None, :] // 10
    for train, test in folds:
        assert (flat[train] > 0).all() and (flat[test] > 0).all()
        assert np.intersect1d(train, test).size == 0
        assert _chebyshev_gap(train, test, labels.shape) > buffer
        # Whole blocks: no block has pixels on both sides of the test boundary.
        assert not set(blocks.reshape(-1)[test]) & set(blocks.reshape(-1)[train])
        # The train side is every labelled pixel farther than buffer from the test pixels.
        others = np.setdiff1d(np.flatnonzero(flat), test)
        rows, cols = np.unravel_index(others, labels.shape)
        trows, tcols = np.unravel_index(test, labels.shape)
        far = np.array([np.maximum(abs(trows - r), abs(tcols - c)).min() > buffer
                        for r, c in zip(rows, cols)])
        np.testing.assert_array_equal(train, others[far])


def test_cube_input_batches_and_split_labels_agree():
    labels = _patchy_labels((24, 24))
    cube = np.zeros(labels.shape + (3,))
    cv = SpatialBlockKFold(n_splits=3, block_shape=6, buffer=1)
    from_cube = list(cv.split(cube, labels))
    from_table = list(SpatialBlockKFold(n_splits=3, block_shape=6, buffer=1,
                                        image_shape=(24, 24)).split(cube.reshape(-1, 3),
                                                                    labels.reshape(-1)))
    for (a, b), (c, d) in zip(from_cube, from_table):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    for (train, test), (train_map, test_map) in zip(from_cube, cv.split_labels(labels)):
        assert train_map.shape == test_map.shape == labels.shape
        np.testing.assert_array_equal(np.flatnonzero(train_map), train)
        np.testing.assert_array_equal(np.flatnonzero(test_map), test)
        np.testing.assert_array_equal(test_map.reshape(-1)[test], labels.reshape(-1)[test])
    # A batch of two images: blocks never span images, the buffer stays inside each.
    batch = np.stack([labels, _patchy_labels((24, 24), seed=1)])
    for train, test in cv.split(None, batch):
        for image in range(2):
            own = lambda idx: idx[idx // (24 * 24) == image] % (24 * 24)  # noqa: E731
            if own(train).size and own(test).size:
                assert _chebyshev_gap(own(train), own(test), (24, 24)) > 1


def test_anomaly_masks_spread_anomalies_over_folds():
    mask = np.zeros((60, 60), dtype=bool)
    for r, c in [(4, 4), (4, 44), (34, 24), (54, 54), (44, 14), (24, 54)]:
        mask[r:r + 2, c:c + 2] = True  # six small targets amid six blocks
    cv = SpatialBlockKFold(n_splits=3, block_shape=10, buffer=2)
    folds = list(cv.split(None, mask))
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(mask.size))  # every pixel labelled
    for train, test in folds:
        assert mask.reshape(-1)[test].sum() == 8  # two targets per fold
        assert mask.reshape(-1)[train].sum() == 16


def test_shuffle_and_random_state():
    labels = _patchy_labels()
    kwargs = dict(n_splits=3, block_shape=5, image_shape=labels.shape)

    def tests(cv):
        return [test.tolist() for _, test in cv.split(None, labels.reshape(-1))]

    assert tests(SpatialBlockKFold(**kwargs)) == tests(SpatialBlockKFold(**kwargs))
    seeded = tests(SpatialBlockKFold(**kwargs, shuffle=True, random_state=0))
    assert seeded == tests(SpatialBlockKFold(**kwargs, shuffle=True, random_state=0))
    assert seeded != tests(SpatialBlockKFold(**kwargs, shuffle=True, random_state=1))


def test_errors_name_the_class_and_the_counts():
    labels = np.ones((20, 20), dtype=int)
    labels[:5, :5] = 2  # class 2 in a single block
    cv = SpatialBlockKFold(n_splits=2, block_shape=5)
    with pytest.raises(ValueError, match=r"fold 0 has no training pixel of class 2 .*"
                       r"fold 1 has no test pixel of class 2 \(25 labelled "
                       r"pixels in 1 blocks of \(5, 5\), buffer=0, n_splits=2\)"):
        list(cv.split(None, labels))
    with pytest.warns(UserWarning, match="fold 1 has no test pixel of class 2"):
        cv = SpatialBlockKFold(n_splits=2, block_shape=5, on_missing="warn")
        assert len(list(cv.split(None, labels))) == 2
    cv = SpatialBlockKFold(n_splits=2, block_shape=5, on_missing="ignore")
    assert len(list(cv.split(None, labels))) == 2
    with pytest.raises(ValueError, match="needs image_shape=.*labels.shape"):
        list(SpatialBlockKFold().split(np.zeros((400, 3)), labels.reshape(-1)))
    with pytest.raises(ValueError, match=r"X has 399 rows but image_shape=\(20, 20\) holds 400"):
        list(SpatialBlockKFold(image_shape=(20, 20)).split(np.zeros((399, 3)), None))
    with pytest.raises(ValueError, match=r"n_splits=5 greater than the number of blocks.*, 4 "):
        list(SpatialBlockKFold(5, block_shape=10).split(None, labels))
    with pytest.raises(ValueError, match="no labelled pixel"):
        list(SpatialBlockKFold(2).split(None, np.zeros((20, 20), dtype=int)))
    with pytest.raises(ValueError, match="block_shape must be a tuple of 2 positive integers"):
        list(SpatialBlockKFold(2, block_shape=(4, 0)).split(None, labels))
    with pytest.raises(ValueError, match="buffer must be an integer >= 0; got -1"):
        list(SpatialBlockKFold(2, buffer=-1).split(None, labels))
    with pytest.raises(ValueError, match="on_missing must be one of"):
        list(SpatialBlockKFold(2, on_missing="skip").split(None, labels))
    with pytest.raises(ValueError, match=r"leading shape of X, \(20, 21\), differs .* y"):
        list(SpatialBlockKFold(2).split(np.zeros((20, 21, 3)), labels))
    with pytest.raises(ValueError, match="needs integer labels and unlabelled not None"):
        list(SpatialBlockKFold(2).split_labels(labels > 1))


def test_salinas_a_stratified_folds():
    _, labels = _salinas_a()
    flat = labels.reshape(-1)
    cv = SpatialBlockKFold(n_splits=5, block_shape=8, buffer=2, image_shape=labels.shape)
    classes, totals = np.unique(flat[flat > 0], return_counts=True)
    for train, test in cv.split(None, flat):
        counts = np.array([(flat[test] == c).sum() for c in classes])
        assert (counts > 0).all() and (np.isin(classes, flat[train])).all()
        # Every class's test share lies near 1 / n_splits.
        assert np.all(np.abs(counts / totals - 0.2) < 0.07), counts / totals
        assert _chebyshev_gap(train, test, labels.shape) > 2
    # Large blocks: class 1 lies in 3 blocks of 16 x 16, too few for five folds.
    with pytest.raises(ValueError, match=r"no test pixel of class 1 \(391 labelled pixels in "
                                         r"3 blocks of \(16, 16\)"):
        list(SpatialBlockKFold(5, block_shape=16, image_shape=labels.shape).split(None, flat))


def test_positions_as_groups_match_the_full_table():
    labels = _patchy_labels()
    cube = np.random.default_rng(0).normal(size=labels.shape + (3,))
    X, y, positions = labelled_pixels(cube, labels)
    assert X.shape == (positions.size, 3) and (y > 0).all()
    np.testing.assert_array_equal(X, cube[labels > 0])
    cv = SpatialBlockKFold(n_splits=4, block_shape=7, buffer=2, image_shape=labels.shape)
    full = list(cv.split(cube.reshape(-1, 3), labels.reshape(-1)))
    for (train, test), (full_train, full_test) in zip(cv.split(X, y, positions), full):
        np.testing.assert_array_equal(positions[train], full_train)
        np.testing.assert_array_equal(positions[test], full_test)
    with pytest.raises(ValueError, match="needs image_shape"):
        list(SpatialBlockKFold(2).split(X, y, positions))
    with pytest.raises(ValueError, match=r"groups has \d+ positions but X has 5 rows"):
        list(cv.split(X[:5], y[:5], positions))
    with pytest.raises(ValueError, match=r"groups must lie in \[0, 2000\)"):
        list(cv.split(X, y, positions + 2000))
    with pytest.raises(ValueError, match="holds a position twice"):
        list(cv.split(X[:2], y[:2], np.array([3, 3])))
    with pytest.raises(ValueError, match="flat integer positions"):
        list(cv.split(X, y, positions.astype(float)))


def test_grid_search_with_an_svc_pipeline_on_salinas_a():
    cube, labels = _salinas_a()
    X, y, positions = labelled_pixels(cube, labels)
    cv = SpatialBlockKFold(n_splits=3, block_shape=8, buffer=2, image_shape=labels.shape)
    search = GridSearchCV(make_pipeline(StandardScaler(), SVC()), {"svc__C": [1.0, 100.0]},
                          cv=cv)
    search.fit(X, y, groups=positions)
    assert set(search.classes_) == {1, 10, 11, 12, 13, 14}
    assert search.best_score_ > 0.85
    scores = cross_val_score(make_pipeline(StandardScaler(), SVC(C=100.0)), X, y,
                             groups=positions, cv=cv)
    assert scores.shape == (3,) and scores.min() > 0.8
