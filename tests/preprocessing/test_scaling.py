import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError

from skhsi.nn import as_tensor
from skhsi.preprocessing import MinMaxScalerPerBand, PerPixelStandardizer


@pytest.fixture(scope="module")
def cube():
    return np.random.default_rng(0).normal(3.0, 2.0, size=(2, 5, 6, 4))


@pytest.mark.parametrize("feature_range", [(0, 1), (-1, 1)])
def test_minmax_matches_sklearn(cube, feature_range):
    scaler = MinMaxScalerPerBand(feature_range=feature_range).fit(cube)
    pixels = cube.reshape(-1, 4)
    ref = MinMaxScaler(feature_range=feature_range).fit(pixels)
    out = scaler.transform(cube)
    assert out.shape == cube.shape
    assert_allclose(out.reshape(-1, 4), ref.transform(pixels))
    assert_allclose(out.reshape(-1, 4).min(axis=0), feature_range[0])
    assert_allclose(out.reshape(-1, 4).max(axis=0), feature_range[1])
    assert_allclose(scaler.inverse_transform(out), cube)
    torch_out = scaler._as_module()(as_tensor(pixels)).numpy()
    assert_allclose(torch_out, out.reshape(-1, 4), rtol=1e-5, atol=1e-6)


def test_minmax_partial_fit_equals_fit(cube):
    streamed = MinMaxScalerPerBand().partial_fit(cube[0]).partial_fit(cube[1])
    assert_allclose(streamed.scale_, MinMaxScalerPerBand().fit(cube).scale_)
    assert streamed.n_samples_seen_ == 60


def test_minmax_errors(cube):
    with pytest.raises(ValueError, match="Minimum of desired feature range"):
        MinMaxScalerPerBand(feature_range=(1, 0)).fit(cube)
    with pytest.raises(InvalidParameterError, match="feature_range"):
        MinMaxScalerPerBand(feature_range=[0, 1]).fit(cube)
    with pytest.raises(ValueError, match="4 features"):
        MinMaxScalerPerBand().fit(cube).transform(cube[..., :3])


def test_per_pixel_standardizer(cube):
    out = PerPixelStandardizer().fit_transform(cube)
    assert out.shape == cube.shape
    assert_allclose(out.mean(axis=-1), 0, atol=1e-12)
    assert_allclose(out.std(axis=-1), 1)
    flat = PerPixelStandardizer().fit_transform(np.full((2, 4), 7.0))
    assert np.all(flat == 0)
    pixels = cube.reshape(-1, 4).astype(np.float32)
    torch_out = PerPixelStandardizer()._as_module()(as_tensor(pixels)).numpy()
    assert_allclose(torch_out, PerPixelStandardizer().fit_transform(pixels), atol=1e-5)
    with pytest.raises(InvalidParameterError, match="eps"):
        PerPixelStandardizer(eps=0).fit(cube)
