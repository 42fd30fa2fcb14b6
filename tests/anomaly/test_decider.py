import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skhsi.anomaly import FalseAlarmDecider, QuantileBinaryDecider
from skhsi.anomaly import RecallThresholdDecider


def test_one_threshold_per_image():
    maps = np.stack([np.arange(100.0).reshape(10, 10), 1000 + np.arange(100.0).reshape(10, 10)])
    mask = QuantileBinaryDecider(quantile=0.9).fit_transform(maps)
    assert mask.shape == maps.shape
    assert mask[0].sum() == 10 and mask[1].sum() == 10


def test_ge_threshold_includes_ties():
    scores = np.array([1.0, 2.0, 2.0, 2.0])
    assert QuantileBinaryDecider(quantile=0.5).fit_transform(scores).tolist() == [False, True, True, True]


def test_any_map_size_after_fit():
    decider = QuantileBinaryDecider(quantile=0.99).fit(np.zeros((4, 4)))
    assert decider.transform(np.random.default_rng(0).random((30, 20))).sum() == 6


@pytest.mark.parametrize("shape", [(2, 2, 2, 2), ()])
def test_bad_ndim(shape):
    with pytest.raises(ValueError, match="expects anomaly scores of shape"):
        QuantileBinaryDecider().fit(np.zeros(shape))


def test_nan_scores_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        QuantileBinaryDecider().fit(np.array([[1.0, np.nan]]))


# -- FalseAlarmDecider --------------------------------------------------------------
def test_false_alarm_threshold_by_hand():
    scores = np.arange(1.0, 201.0)  # 200 reference scores
    decider = FalseAlarmDecider(false_alarm_rate=0.02).fit(scores)
    assert decider.threshold_ == 197.0  # the 4th highest: 4 of 200 flagged
    assert decider.flagged_rate_ == 0.02
    assert decider.transform(np.array([196.0, 197.0, 1e9])).tolist() == [False, True, True]
    # at most the rate, never more: 0.0249 of 200 pixels is 4.98, so 4 are flagged
    assert FalseAlarmDecider(false_alarm_rate=0.0249).fit(scores).threshold_ == 197.0
    # a rate below one pixel still flags the highest one
    assert FalseAlarmDecider(false_alarm_rate=1e-6).fit(scores).threshold_ == 200.0


def test_false_alarm_probability_is_the_conformal_p_value():
    scores = np.random.default_rng(1).normal(size=50_000)
    decider = FalseAlarmDecider().fit(scores)
    ordered = np.sort(scores)[::-1]
    ranks = np.array([1, 7, 50, 500, 5_000, 30_000])
    p = decider.false_alarm_probability(ordered[ranks - 1])
    exact = (ranks + 1) / (scores.size + 1)
    np.testing.assert_allclose(p, exact, rtol=0.02)
    assert decider.false_alarm_probability(np.array([1e9, -1e9])).tolist() == [
        1 / (scores.size + 1), 1.0]
    assert decider.tail_scores_.size <= 512  # the tail kept, not the whole scene


def test_false_alarm_threshold_applies_unchanged_to_other_maps():
    rng = np.random.default_rng(2)
    decider = FalseAlarmDecider(false_alarm_rate=0.01).fit(rng.exponential(size=(200, 200)))
    # another map of the same kind keeps the rate; one shifted by 2 is flagged
    # e**2 times as often (the exponential's tail: 0.01 * e**2 = 0.074)
    same = decider.transform(rng.exponential(size=(200, 200))).mean()
    shifted = decider.transform(2 + rng.exponential(size=(200, 200))).mean()
    assert 0.008 < same < 0.012
    assert 0.065 < shifted < 0.083


@pytest.mark.parametrize("rate", [0.0, 1.0, -0.1])
def test_false_alarm_rate_out_of_range(rate):
    with pytest.raises(ValueError, match="false_alarm_rate"):
        FalseAlarmDecider(false_alarm_rate=rate).fit(np.zeros(10))


def test_quantile_out_of_range_is_refused_in_fit():
    with pytest.raises(ValueError, match="quantile"):
        QuantileBinaryDecider(quantile=1.5).fit(np.zeros(10))


# -- RecallThresholdDecider ---------------------------------------------------------
_SCORES = np.array([0.1, 0.2, 0.9, 0.4, 0.8, 0.3])
_MASK = np.array([0, 0, 1, 1, 0, 0])


@pytest.mark.parametrize("target, threshold, precision, fpr", [
    (0.5, 0.9, 1.0, 0.0), (0.6, 0.4, 2 / 3, 0.25), (1.0, 0.4, 2 / 3, 0.25)])
def test_recall_threshold_by_hand(target, threshold, precision, fpr):
    decider = RecallThresholdDecider(target_recall=target).fit(_SCORES, _MASK)
    assert decider.threshold_ == threshold
    assert decider.recall_ == (0.5 if target == 0.5 else 1.0)
    assert decider.precision_ == pytest.approx(precision)
    assert decider.false_positive_rate_ == pytest.approx(fpr)
    p, r = decider.precision_, decider.recall_
    assert decider.fbeta_ == pytest.approx(5 * p * r / (4 * p + r))
    assert decider.transform(_SCORES).tolist() == (_SCORES >= threshold).tolist()
    assert decider.n_features_in_ == 6


def test_recall_threshold_with_ties_and_beta():
    scores = np.array([5.0, 5.0, 5.0, 1.0, 5.0, 0.0])
    mask = np.array([True, True, False, True, False, False])
    decider = RecallThresholdDecider(target_recall=0.5, beta=1.0).fit(scores, mask)
    # the tie at 5 brings in both negatives scored 5 as well
    assert decider.threshold_ == 5.0 and decider.recall_ == pytest.approx(2 / 3)
    assert decider.precision_ == 0.5 and decider.fbeta_ == pytest.approx(4 / 7)


@pytest.mark.parametrize("target", [0.3, 0.8, 0.95, 0.99, 1.0])
def test_recall_target_is_reached_with_the_largest_threshold(target):
    rng = np.random.default_rng(0)
    mask = rng.random((3, 20, 20)) < 0.05
    scores = rng.normal(size=mask.shape) + 2.0 * mask
    decider = RecallThresholdDecider(target_recall=target).fit(scores, mask)
    assert decider.recall_ >= target
    assert decider.recall_ == (scores[mask] >= decider.threshold_).mean()
    above = np.nextafter(decider.threshold_, np.inf)
    assert (scores[mask] >= above).mean() < target  # a larger threshold misses the target
    out = decider.transform(scores)
    assert out.dtype == bool and out.shape == scores.shape
    assert decider.false_positive_rate_ == pytest.approx(out[~mask].mean())
    assert decider.precision_ == pytest.approx(mask[out].mean())


def test_recall_threshold_applies_to_any_shape():
    decider = RecallThresholdDecider(target_recall=1.0).fit(_SCORES, _MASK)
    assert decider.transform(np.full((2, 3), 0.5)).shape == (2, 3)
    assert decider.transform(np.zeros((2, 4, 5))).shape == (2, 4, 5)
    assert decider.transform(np.float32([0.39, 0.41])).tolist() == [False, True]


def test_recall_decider_round_trips():
    decider = RecallThresholdDecider(target_recall=0.8, beta=0.5).fit(_SCORES, _MASK)
    assert clone(decider).get_params() == {"target_recall": 0.8, "beta": 0.5}
    loaded = pickle.loads(pickle.dumps(decider))
    assert loaded.threshold_ == decider.threshold_
    with pytest.raises(NotFittedError):
        RecallThresholdDecider().transform(_SCORES)


def test_recall_decider_needs_labels():
    with pytest.raises(ValueError, match="needs labelled validation data.*QuantileBinaryDecider"):
        RecallThresholdDecider().fit(_SCORES)


@pytest.mark.parametrize("scores, y, match", [
    (_SCORES, _MASK[:5], r"shape of the scores: scores have shape \(6,\), y has shape \(5,\)"),
    (_SCORES.reshape(2, 3), _MASK, r"scores have shape \(2, 3\), y has shape \(6,\)"),
    (_SCORES, np.zeros(6), "y has no anomaly"),
    (_SCORES, np.array([0, 1, 2, 0, 1, 0]), r"boolean or 0/1 mask .*got values \[2\]"),
    (_SCORES, np.array(list("abcdef")), "boolean or 0/1 mask .*got dtype <U1"),
    (np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2)), "RecallThresholdDecider expects anomaly "
                                                       "scores of shape"),
    (np.array([np.nan, 1.0]), np.array([1, 0]), "NaN"),
])
def test_recall_decider_bad_input(scores, y, match):
    with pytest.raises(ValueError, match=match):
        RecallThresholdDecider().fit(scores, y)


@pytest.mark.parametrize("params", [{"target_recall": 0.0}, {"target_recall": 1.5},
                                    {"beta": 0.0}])
def test_recall_decider_parameter_validation(params):
    with pytest.raises(ValueError, match="parameter of RecallThresholdDecider must be"):
        RecallThresholdDecider(**params).fit(_SCORES, _MASK)
