import numpy as np
from sklearn.decomposition import PCA

from skhsi._moments import accumulate_moments, cube_moments, principal_axes, project


def test_streamed_moments_equal_numpys_whatever_the_batches():
    rng = np.random.default_rng(0)
    cubes = [rng.normal(loc=100.0, size=(7, 9, 5)).astype(np.float32),
             rng.normal(loc=100.0, scale=3.0, size=(4, 6, 5)).astype(np.float32)]
    pixels = np.concatenate([c.reshape(-1, 5) for c in cubes]).astype(np.float64)
    for batch_size in (1, 10, 1000):
        n, mean, scatter = cube_moments(cubes, batch_size)
        assert n == 87
        np.testing.assert_allclose(mean, pixels.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(scatter / (n - 1), np.cov(pixels, rowvar=False),
                                   rtol=1e-9, atol=1e-9)
    # Adding to earlier moments is the same as one pass.
    first = accumulate_moments(pixels[:40])
    n, mean, scatter = accumulate_moments(pixels[40:], *first)
    np.testing.assert_allclose(scatter, cube_moments(cubes)[2], rtol=1e-9)


def test_principal_axes_are_pcas_largest_first_with_positive_largest_loading():
    rng = np.random.default_rng(1)
    pixels = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    components, variances = principal_axes(np.cov(pixels, rowvar=False), 3)
    pca = PCA(n_components=3).fit(pixels)
    np.testing.assert_allclose(variances, pca.explained_variance_, rtol=1e-9)
    signs = np.sign(np.sum(components * pca.components_, axis=1))
    np.testing.assert_allclose(components, signs[:, None] * pca.components_, atol=1e-9)
    largest = components[np.arange(3), np.abs(components).argmax(axis=1)]
    assert np.all(largest > 0)
    assert np.all(np.diff(variances) <= 0)


def test_project_in_batches_equals_the_whole_product():
    rng = np.random.default_rng(2)
    pixels = rng.normal(size=(103, 7)).astype(np.float32)
    mean, matrix = rng.normal(size=7), rng.normal(size=(7, 3))
    expected = (pixels.astype(np.float64) - mean) @ matrix
    for batch_size in (1, 10, 1000):
        out = project(pixels, mean, matrix, batch_size)
        assert out.dtype == np.float64 and out.shape == (103, 3)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
