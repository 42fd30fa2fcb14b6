import numpy as np
import pytest

from skhsi.preprocessing import ZScoreNormalizerGlobal


def test_matches_numpy_statistics(indian_pines):
    cube = indian_pines.cube
    z = ZScoreNormalizerGlobal().fit(cube)
    pixels = cube.reshape(-1, cube.shape[-1]).astype(np.float64)
    assert np.allclose(z.mean_, pixels.mean(axis=0))
    assert np.allclose(z.std_, pixels.std(axis=0))
    out = z.transform(cube).reshape(pixels.shape)
    assert np.allclose(out.mean(axis=0), 0, atol=1e-9)
    assert np.allclose(out.std(axis=0), 1, atol=1e-6)
    assert z.n_samples_seen_ == pixels.shape[0]


def test_sample_n_is_reproducible(indian_pines):
    a = ZScoreNormalizerGlobal(sample_n=500, random_state=3).fit(indian_pines.cube)
    b = ZScoreNormalizerGlobal(sample_n=500, random_state=3).fit(indian_pines.cube)
    c = ZScoreNormalizerGlobal(sample_n=500, random_state=4).fit(indian_pines.cube)
    assert a.n_samples_seen_ == 500
    assert np.array_equal(a.mean_, b.mean_)
    assert not np.array_equal(a.mean_, c.mean_)


def test_partial_fit_equals_fit(indian_pines):
    pixels = indian_pines.cube.reshape(-1, indian_pines.cube.shape[-1]).astype(np.float64)
    streamed = ZScoreNormalizerGlobal()
    for chunk in np.array_split(pixels, 7):
        streamed.partial_fit(chunk)
    whole = ZScoreNormalizerGlobal().fit(pixels)
    assert np.allclose(streamed.mean_, whole.mean_)
    assert np.allclose(streamed.std_, whole.std_)


def test_inverse_transform(cube):
    z = ZScoreNormalizerGlobal().fit(cube)
    assert np.allclose(z.inverse_transform(z.transform(cube)), cube)


def test_band_count_mismatch_is_an_error(cube):
    z = ZScoreNormalizerGlobal().fit(cube)
    with pytest.raises(ValueError, match="X has 4 features, but ZScoreNormalizerGlobal is expecting 6"):
        z.transform(cube[..., :4])


def test_module_round_trip(cube):
    import torch

    z = ZScoreNormalizerGlobal().fit(cube)
    module = z._as_module()
    pixels = cube.reshape(-1, 6)
    out = module(torch.tensor(pixels, dtype=torch.float32)).detach().numpy()
    assert np.allclose(out, z.transform(pixels), atol=1e-5)
    with torch.no_grad():
        module.mean += 1.0
        module.log_std -= 0.5
    z._from_module(module)
    assert np.all(z.std_ > 0)
    assert np.allclose(z.transform(pixels), module(torch.tensor(pixels, dtype=torch.float32)).detach().numpy(), atol=1e-5)


def test_values_whose_variance_overflows_are_an_error_not_nan():
    X = np.arange(1.0, 11.0)[:, None] * np.array([[1e200, 1.0]])
    with pytest.raises(ValueError, match=r"ZScoreNormalizerGlobal: the input holds 1e\+200, "
                                         r"beyond the largest magnitude skhsi accepts"):
        ZScoreNormalizerGlobal().fit(X)
