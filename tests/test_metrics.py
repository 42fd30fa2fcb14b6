import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import GridSearchCV

from skhsi import metrics as M

# --------------------------------------------------------------------------- fixtures
# TP = 2 (0,0),(1,1); FP = 2 (0,2),(1,0); FN = 1 (0,1); TN = 1 (1,2)
TRUE = np.array([[1, 1, 0], [0, 1, 0]], dtype=bool)
PRED = np.array([[1, 0, 1], [1, 1, 0]], dtype=bool)


@pytest.fixture(scope="module")
def planted():
    """Gaussian pixels with every 20th one replaced by a far-away outlier."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = np.zeros(600, dtype=bool)
    y[::20] = True
    X[y] += rng.choice([-6.0, 6.0], size=(y.sum(), 5))
    return X, y


@pytest.fixture(scope="module")
def forest(planted):
    X, y = planted
    return IsolationForest(n_estimators=100, random_state=0).fit(X)


class OnlyAnomalyScore:
    def __init__(self, est):
        self.est = est

    def anomaly_score(self, X):
        return -self.est.score_samples(X)


class OnlyScoreSamples:
    def __init__(self, est):
        self.est = est

    def score_samples(self, X):
        return self.est.score_samples(X)


class OnlyDecisionFunction:
    def __init__(self, est):
        self.est = est

    def decision_function(self, X):
        return self.est.decision_function(X)


# ------------------------------------------------------------------- decision metrics
def test_decision_metrics_hand_computed():
    assert M.iou(TRUE, PRED) == pytest.approx(2 / 5)
    assert M.precision(TRUE, PRED) == pytest.approx(2 / 4)
    assert M.recall(TRUE, PRED) == pytest.approx(2 / 3)
    assert M.fbeta(TRUE, PRED) == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert M.fbeta(TRUE, PRED, beta=2.0) == pytest.approx(5 * 2 / (5 * 2 + 4 * 1 + 2))


@pytest.mark.parametrize("metric", [M.iou, M.precision, M.recall, M.fbeta])
def test_sign_conventions_of_decisions_agree(metric):
    expected = metric(TRUE, PRED)
    sklearn_labels = np.where(PRED, -1, 1)
    assert metric(TRUE, sklearn_labels) == expected
    assert metric(TRUE.astype(int), PRED.astype(np.uint8)) == expected
    assert metric(TRUE.astype(float), sklearn_labels.astype(float)) == expected
    assert metric(TRUE.ravel(), PRED.ravel()) == expected


@pytest.mark.parametrize(
    "y_true, y_pred, expected",
    [
        # (iou, precision, recall, f1)
        ([0, 0, 0], [False] * 3, (1.0, 1.0, 1.0, 1.0)),  # nothing to find, nothing flagged
        ([0, 0, 0], [True, False, False], (0.0, 0.0, 0.0, 0.0)),  # only false alarms
        ([1, 0, 0], [False] * 3, (0.0, 0.0, 0.0, 0.0)),  # everything missed
    ],
)
def test_zero_division_conventions(y_true, y_pred, expected):
    got = tuple(f(y_true, y_pred) for f in (M.iou, M.precision, M.recall, M.fbeta))
    assert got == expected


def test_integer_all_ones_is_read_as_outlier_labels():
    # predict() flagging nothing returns all +1: every pixel normal
    assert M.recall([1, 0, 0], [1, 1, 1]) == 0.0
    assert M.iou([0, 0, 0], np.ones(3, dtype=int)) == 1.0
    assert M.iou([1, 1, 1], np.ones(3, dtype=bool)) == 1.0


# ---------------------------------------------------------------------- score metrics
def test_auc_and_ap_match_sklearn_on_random_data():
    rng = np.random.default_rng(1)
    y = rng.random((4, 8, 9)) < 0.1
    s = rng.normal(size=y.shape) + y
    assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y.ravel(), s.ravel()))
    assert M.average_precision(y, s) == pytest.approx(
        skm.average_precision_score(y.ravel(), s.ravel())
    )


def test_recall_at_fpr_matches_brute_force():
    rng = np.random.default_rng(2)
    y = rng.random(300) < 0.2
    s = np.round(rng.normal(size=300) + 1.5 * y, 1)  # with ties
    for fpr in (0.0, 0.01, 0.1, 0.5, 1.0):
        best = max(
            (s[y] >= t).mean()
            for t in np.append(np.unique(s), np.inf)
            if (s[~y] >= t).mean() <= fpr
        )
        assert M.recall_at_fpr(y, s, fpr=fpr) == pytest.approx(best)
    assert M.recall_at_fpr([1, 0, 0, 0], [0.5, 0.9, 0.1, 0.0], fpr=0.0) == 0.0
    assert M.recall_at_fpr([1, 0, 0, 0], [0.5, 0.9, 0.1, 0.0], fpr=1 / 3) == 1.0


def test_threshold_for_recall():
    y = np.array([1, 1, 1, 1, 0, 0])
    s = np.array([0.9, 0.7, 0.4, 0.2, 0.5, 0.95])
    assert M.threshold_for_recall(y, s, recall=0.75) == 0.4
    assert M.threshold_for_recall(y, s, recall=0.76) == 0.2
    assert M.threshold_for_recall(y, s, recall=1.0) == 0.2
    assert M.threshold_for_recall(y, s, recall=0.1) == 0.9
    rng = np.random.default_rng(3)
    y, s = rng.random(200) < 0.3, rng.normal(size=200)
    t = M.threshold_for_recall(y, s, recall=0.95)
    assert M.recall(y, s >= t) >= 0.95
    assert M.recall(y, s > t) < 0.95  # highest such threshold


def test_best_fbeta_threshold_matches_brute_force():
    rng = np.random.default_rng(4)
    y = rng.random(150) < 0.25
    s = np.round(rng.normal(size=150) + y, 1)
    for beta in (0.5, 1.0, 2.0):
        t, f = M.best_fbeta_threshold(y, s, beta=beta)
        brute = max(M.fbeta(y, s >= u, beta=beta) for u in np.unique(s))
        assert f == pytest.approx(brute)
        assert M.fbeta(y, s >= t, beta=beta) == pytest.approx(f)
    assert M.best_fbeta_threshold([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.7]) == pytest.approx((0.6, 0.8))


# ------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: M.roc_auc(np.zeros((2, 3)), np.zeros(6)), r"y_true has shape \(2, 3\) but scores has shape \(6,\)"),
        (lambda: M.iou(np.zeros(4), np.zeros((1, 4))), r"y_true has shape \(4,\) but y_pred has shape \(1, 4\)"),
        (lambda: M.roc_auc([0, 1, 0], [0.1, np.nan, 0.3]), "NaN or inf in 1 of 3"),
        (lambda: M.average_precision([0, 1], [0.1, np.inf]), "NaN or inf"),
        (lambda: M.roc_auc([], []), "y_true is empty"),
        (lambda: M.iou(np.zeros((0, 3)), np.zeros((0, 3))), "y_true is empty"),
        (lambda: M.roc_auc([1, 2, 1], [0.1, 0.2, 0.3]), r"0/1 mask .*values \[2\]"),
        (lambda: M.recall([0.0, 0.5], [0, 1]), r"0/1 mask .*values \[0.5\]"),
        (lambda: M.iou(["a", "b"], [0, 1]), "0/1 mask .*dtype"),
        (lambda: M.roc_auc([0, 1], ["a", "b"]), "scores must be numeric"),
        (lambda: M.iou([0, 1, 1], [0, 2, 1]), r"\{-1, \+1\} .*values \[0, 1, 2\]"),
        (lambda: M.iou([0, 1, 1], [-1, 0, 1]), r"outlier labels"),
        (lambda: M.roc_auc([0, 0, 0], [0.1, 0.2, 0.3]), "no anomalies"),
        (lambda: M.average_precision([1, 1], [0.1, 0.2]), "no normal pixels"),
        (lambda: M.recall_at_fpr([0, 0], [0.1, 0.2]), "no anomalies"),
        (lambda: M.threshold_for_recall([0, 0], [0.1, 0.2]), "no anomalies"),
        (lambda: M.best_fbeta_threshold([0, 0], [0.1, 0.2]), "no anomalies"),
        (lambda: M.recall_at_fpr([0, 1], [0.1, 0.2], fpr=1.5), r"fpr must be in \[0, 1\]"),
        (lambda: M.threshold_for_recall([0, 1], [0.1, 0.2], recall=0), r"recall must be in \(0, 1\]"),
        (lambda: M.fbeta([0, 1], [0, 1], beta=0), "beta must be positive"),
        (lambda: M.best_fbeta_threshold([0, 1], [0.1, 0.2], beta=-1), "beta must be positive"),
        (lambda: M.make_anomaly_scorer(M.iou, needs="labels"), "needs must be"),
        (lambda: M.get_scorer("accuracy"), "unknown scorer 'accuracy'"),
        (lambda: M.roc_auc_scorer(OnlyScoreSamples(None), np.zeros((2, 1)), None), "need the ground-truth mask"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="metric must be callable"):
        M.make_anomaly_scorer("roc_auc")
    with pytest.raises(TypeError, match="object has none of anomaly_score"):
        M.roc_auc_scorer(object(), np.zeros((2, 1)), np.array([0, 1]))


# ---------------------------------------------------------------------------- scorers
def test_scorer_on_isolation_forest_and_sign_conventions(planted, forest):
    X, y = planted
    auc = M.roc_auc_scorer(forest, X, y)
    assert auc > 0.9
    assert auc == pytest.approx(M.roc_auc(y, -forest.score_samples(X)))
    for wrapped in (OnlyAnomalyScore, OnlyScoreSamples, OnlyDecisionFunction):
        assert M.roc_auc_scorer(wrapped(forest), X, y) == pytest.approx(auc)
        ap = M.average_precision_scorer(wrapped(forest), X, y)
        assert ap == pytest.approx(M.average_precision_scorer(forest, X, y))


def test_anomaly_score_takes_precedence():
    class Both:
        def anomaly_score(self, X):
            return X[:, 0]

        def score_samples(self, X):
            return X[:, 0]  # the opposite ranking

    X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0, 0, 1])
    assert M.roc_auc_scorer(Both(), X, y) == 1.0


def test_decision_scorers_use_predict(planted, forest):
    X, y = planted
    flagged = forest.predict(X) == -1
    assert M.iou_scorer(forest, X, y) == pytest.approx(M.iou(y, flagged))
    assert M.precision_scorer(forest, X, y) == pytest.approx(M.precision(y, flagged))
    assert M.recall_scorer(forest, X, y) == pytest.approx(M.recall(y, flagged))
    assert M.f1_scorer(forest, X, y) == pytest.approx(M.fbeta(y, flagged))
    assert M.recall_scorer(forest, X, y) > 0.9
    f2 = M.make_anomaly_scorer(M.fbeta, needs="decisions", beta=2.0)
    assert f2(forest, X, y) == pytest.approx(M.fbeta(y, flagged, beta=2.0))


def test_scorer_pools_cube_maps():
    class CubeDetector:
        def score_samples(self, X):  # (H, W, C) -> (H, W)
            return -X.sum(axis=-1)

    rng = np.random.default_rng(5)
    cube = rng.normal(size=(6, 7, 3))
    mask = cube.sum(axis=-1) > 2.0
    assert M.roc_auc_scorer(CubeDetector(), cube, mask) == 1.0
    assert M.recall_at_fpr_scorer(CubeDetector(), cube, mask) == 1.0


def test_grid_search_single_metric(planted):
    X, y = planted
    search = GridSearchCV(
        IsolationForest(random_state=0), {"n_estimators": [10, 50]},
        scoring=M.roc_auc_scorer, cv=2,
    ).fit(X, y)
    assert np.isfinite(search.best_score_) and search.best_score_ > 0.9


def test_grid_search_multi_metric(planted):
    X, y = planted
    search = GridSearchCV(
        IsolationForest(random_state=0), {"n_estimators": [10, 50]},
        scoring={"auc": M.roc_auc_scorer, "iou": M.get_scorer("iou")}, refit="auc", cv=2,
    ).fit(X, y)
    assert np.isfinite(search.best_score_)
    assert np.all(np.isfinite(search.cv_results_["mean_test_iou"]))
    assert search.best_score_ == search.cv_results_["mean_test_auc"].max()


def test_scorer_registry():
    assert set(M.SCORERS) == {
        "roc_auc", "average_precision", "recall_at_fpr", "iou", "precision", "recall", "f1",
    }
    assert M.get_scorer("roc_auc") is M.roc_auc_scorer
    assert M.get_scorer("f1") is M.f1_scorer
    assert M.get_scorer(M.iou_scorer) is M.iou_scorer
    with pytest.raises(TypeError):
        M.SCORERS["auc"] = M.roc_auc_scorer


def test_scorer_pickles(planted, forest):
    X, y = planted
    scorer = M.make_anomaly_scorer(M.recall_at_fpr, fpr=0.05)
    again = pickle.loads(pickle.dumps(scorer))
    assert again(forest, X, y) == scorer(forest, X, y)
    assert repr(again) == "make_anomaly_scorer(recall_at_fpr, needs='scores', fpr=0.05)"


# ------------------------------------------------------------------------- properties
masks_and_scores = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        hnp.arrays(bool, n),
        hnp.arrays(np.float64, n, elements=st.floats(-1e3, 1e3)),
        hnp.arrays(bool, n),
    )
).filter(lambda t: 0 < t[0].sum() < t[0].size)


@settings(max_examples=60, deadline=None)
@given(masks_and_scores)
def test_auc_of_negated_scores(data):
    y, s, _ = data
    assert M.roc_auc(y, s) + M.roc_auc(y, -s) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(masks_and_scores, st.sampled_from([(1, 1, -1), (1, -1, 1), (-1, 1, 1)]))
def test_invariant_to_reshaping_pixels_into_cubes(data, axes):
    y, s, p = data
    n = y.size
    shape = tuple(n if a == -1 else a for a in axes)
    for metric, other in [(M.roc_auc, s), (M.average_precision, s), (M.iou, p), (M.fbeta, p)]:
        assert metric(y.reshape(shape), other.reshape(shape)) == metric(y, other)
    assert M.best_fbeta_threshold(y.reshape(shape), s.reshape(shape)) == M.best_fbeta_threshold(y, s)


@settings(max_examples=60, deadline=None)
@given(masks_and_scores)
def test_f1_is_a_function_of_iou(data):
    y, _, p = data
    j = M.iou(y, p)
    assert M.fbeta(y, p) == pytest.approx(2 * j / (1 + j))
    assert j <= min(M.precision(y, p), M.recall(y, p)) + 1e-12
