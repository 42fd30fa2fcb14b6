import numpy as np
import pytest

from skhsi.spatial import guided_filter
from skhsi.spatial._guided import box_mean


def test_a_constant_map_stays_constant():
    guide = np.random.default_rng(0).random((9, 11, 2))
    assert np.allclose(guided_filter(guide, np.full((9, 11), 3.0)), 3.0)


def test_a_flat_guide_gives_the_double_box_mean():
    # With a flat guide a = 0 and b = the box mean, so q = box(box(p)).
    src = np.random.default_rng(1).random((12, 12))
    out = guided_filter(np.zeros((12, 12)), src, radius=1, eps=1e-3)
    assert np.allclose(out, box_mean(box_mean(src, 1), 1))


def test_the_guide_itself_passes_through_when_eps_is_small():
    guide = np.random.default_rng(2).random((10, 10))
    assert np.allclose(guided_filter(guide, guide, radius=2, eps=1e-8), guide, atol=1e-4)


def test_a_one_channel_colour_guide_equals_the_grey_guide():
    rng = np.random.default_rng(3)
    guide, src = rng.random((8, 9)), rng.random((8, 9))
    assert np.allclose(guided_filter(guide, src), guided_filter(guide[..., None], src))


def test_edges_of_the_guide_are_kept():
    guide = np.zeros((10, 10)); guide[:, 5:] = 1.0
    src = guide + np.random.default_rng(4).normal(0, 0.05, (10, 10))
    out = guided_filter(guide, src, radius=2, eps=1e-4)
    assert out[:, 6:].min() > 0.8 and out[:, :4].max() < 0.2


@pytest.mark.parametrize("guide, src, message", [
    (np.zeros((4, 4)), np.zeros((4, 5)), "same H and W"),
    (np.zeros((4, 4, 2, 2)), np.zeros((4, 4)), "guide of shape"),
])
def test_shape_errors(guide, src, message):
    with pytest.raises(ValueError, match=message):
        guided_filter(guide, src)


def test_bad_radius_or_eps():
    with pytest.raises(ValueError, match="radius >= 0 and eps > 0"):
        guided_filter(np.zeros((4, 4)), np.zeros((4, 4)), eps=0)
