import os

import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import area_closing
from skimage.morphology import area_opening as sk_area_opening

from skhsi.spatial import area_opening, area_residuals


def _image(shape, seed, levels=None):
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(rng.normal(size=shape), 1.5) + 0.2 * rng.normal(size=shape)
    return image if levels is None else np.round(image * levels) / levels  # flat zones


def _brute_force_opening(image, area):
    """The highest level at which each pixel's 4-connected upper set has ``area`` pixels."""
    out = np.full(image.shape, image.min())
    for level in np.unique(image):
        labels, _ = ndimage.label(image >= level)
        sizes = np.bincount(labels.ravel())
        big = (labels > 0) & (sizes[labels] >= area)
        out[big] = np.maximum(out[big], level)
    return out


@pytest.mark.parametrize("shape, levels", [((31, 17), None), ((24, 24), 4), ((1, 25), 3),
                                           ((25, 1), None), ((1, 1), None)])
@pytest.mark.parametrize("area", [1, 2, 5, 16, 64, 2000])
def test_openings_and_closings_equal_the_definition(shape, levels, area):
    image = _image(shape, 0, levels)
    np.testing.assert_array_equal(area_opening(image, area), _brute_force_opening(image, area))
    np.testing.assert_array_equal(area_opening(image, area, dark=True),
                                  -_brute_force_opening(-image, area))


@pytest.mark.parametrize("area", [2, 9, 40])
def test_openings_and_closings_equal_scikit_image(area):
    image = _image((60, 45), 2, levels=5)
    np.testing.assert_array_equal(area_opening(image, area), sk_area_opening(image, area))
    # scikit-image closes through 1 - image: equal up to its rounding.
    np.testing.assert_allclose(area_opening(image, area, dark=True), area_closing(image, area),
                               rtol=0, atol=1e-14)


def test_residuals_of_several_areas_from_one_tree():
    image = _image((30, 35), 1, levels=6)
    areas = [3, 9, 30]
    res = area_residuals(image, areas, weights=[1.0, 2.0, 0.5])
    for j, (a, w) in enumerate(zip(areas, [1.0, 2.0, 0.5])):
        expected = w * ((image - sk_area_opening(image, a)) + (area_closing(image, a) - image))
        np.testing.assert_allclose(res[j], expected, atol=1e-12)
    bright = area_residuals(image, areas, dark=False)
    np.testing.assert_allclose(bright[1], image - sk_area_opening(image, 9), atol=1e-12)
    total = area_residuals(image, areas, out=area_residuals(image, areas))
    np.testing.assert_allclose(total, 2 * area_residuals(image, areas), atol=1e-12)


def test_reach_is_the_area_less_one():
    # A 1-pixel-wide bright line of 12 pixels survives an opening of area 12; seen through a
    # window of radius 11 around its end it still has 12 pixels, through radius 10 it does not.
    image = np.zeros((40, 40))
    image[5, 3:15] = 1.0
    whole = area_opening(image, 12)
    assert whole[5, 3] == 1.0
    window = image[:, 3:3 + 12]  # columns within 11 of column 3
    assert area_opening(window, 12)[5, 0] == 1.0
    assert area_opening(image[:, 3:3 + 11], 12)[5, 0] == 0.0


@pytest.mark.parametrize("image, areas, message", [
    (np.zeros((3, 4, 2)), [2], "expected a 2-D image"),
    (np.zeros((3, 4)), [0], "areas must be positive"),
    (np.zeros((3, 4)), [], "areas must be positive"),
])
def test_bad_input(image, areas, message):
    with pytest.raises(ValueError, match=message):
        area_residuals(image, areas)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX user ids")
def test_kernels_cache_in_a_private_temporary_directory_when_numba_finds_none(
        tmp_path, monkeypatch):
    import numba
    from numba.core import caching

    from skhsi.spatial import _max_tree

    # numba's only locator left is NUMBA_CACHE_DIR, unset: no writable cache directory
    monkeypatch.setattr(caching.CacheImpl, "_locator_classes",
                        [caching.UserProvidedCacheLocator])
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(_max_tree.tempfile, "gettempdir", lambda: str(tmp_path))
    kernel = _max_tree._jit(_max_tree.opening.py_func)
    values = np.array([0.0, 2.0, 0.0])
    order = np.argsort(values, kind="stable").astype(np.int32)
    parent, area = _max_tree.max_tree(values, 1, 3, order, False)
    out = kernel(values, order, False, parent, area, 2, np.empty(3))
    np.testing.assert_array_equal(out, [0.0, 0.0, 0.0])
    folder = tmp_path / f"skhsi-numba-{os.getuid()}"
    assert (folder.stat().st_mode & 0o777) == 0o700 and any(folder.rglob("*.nbi"))
    assert numba.config.CACHE_DIR == ""

    folder.chmod(0o770)  # a directory others may write is never used
    assert _max_tree._private_cache_dir() is None
    assert _max_tree._jit(_max_tree.opening.py_func)(
        values, order, False, parent, area, 2, np.empty(3)).tolist() == [0.0, 0.0, 0.0]
