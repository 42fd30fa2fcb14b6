import numpy as np
import pytest

from skhsi.preprocessing import PerPixelUnitNorm


def test_unit_length_and_zero_spectra(cube):
    data = cube.copy()
    data[0, 0] = 0.0
    out = PerPixelUnitNorm().fit_transform(data)
    norms = np.linalg.norm(out, axis=-1)
    assert norms[0, 0] == 0.0
    assert np.allclose(np.delete(norms.ravel(), 0), 1.0)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_float_dtype(cube, dtype):
    assert PerPixelUnitNorm().fit_transform(cube.astype(dtype)).dtype == dtype


def test_module_matches_transform(cube):
    import torch

    node = PerPixelUnitNorm().fit(cube)
    pixels = cube.reshape(-1, 6)
    out = node._as_module()(torch.tensor(pixels, dtype=torch.float32)).numpy()
    assert np.allclose(out, node.transform(pixels), atol=1e-6)
