import numpy as np
import pytest

from skhsi.anomaly import QuantileBinaryDecider


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
