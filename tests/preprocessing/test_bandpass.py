import numpy as np
import pytest

from skhsi.preprocessing import BandpassByWavelength

WL = [400.0, 500.0, 600.0, 700.0, 800.0, 900.0]


def test_keeps_closed_interval(cube):
    bp = BandpassByWavelength(500, 700, wavelengths=WL).fit(cube)
    out = bp.transform(cube)
    assert np.array_equal(out, cube[..., 1:4])
    assert np.array_equal(bp.wavelengths_out_, [500.0, 600.0, 700.0])
    assert list(bp.get_feature_names_out()) == ["500nm", "600nm", "700nm"]
    assert np.array_equal(bp.get_support(indices=True), [1, 2, 3])


def test_open_ended_limits(cube):
    assert BandpassByWavelength(650, wavelengths=WL).fit_transform(cube).shape[-1] == 3
    assert BandpassByWavelength(None, 650, wavelengths=WL).fit_transform(cube).shape[-1] == 3


def test_without_limits_keeps_everything(cube):
    bp = BandpassByWavelength().fit(cube)
    assert np.array_equal(bp.transform(cube), cube)
    assert bp.wavelengths_out_ is None


def test_inverse_transform_puts_bands_back(cube):
    bp = BandpassByWavelength(500, 700, wavelengths=WL).fit(cube)
    back = bp.inverse_transform(bp.transform(cube))
    assert back.shape == cube.shape
    assert np.array_equal(back[..., 1:4], cube[..., 1:4])
    assert not back[..., [0, 4, 5]].any()


def test_module_matches_transform(cube):
    import torch

    bp = BandpassByWavelength(500, 800, wavelengths=WL).fit(cube)
    pixels = cube.reshape(-1, 6)
    out = bp._as_module()(torch.tensor(pixels, dtype=torch.float32)).numpy()
    assert np.allclose(out, bp.transform(pixels))


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(min_wavelength_nm=1000, wavelengths=WL), r"No band lies in \[1000"),
        (dict(min_wavelength_nm=500, wavelengths=WL[:5]), "wavelengths has 5 values but the data has 6"),
        (dict(min_wavelength_nm=500, wavelengths=WL[::-1]), "strictly increasing"),
        (dict(min_wavelength_nm=500, wavelengths=[[400, 500, 600, 700, 800, 900]]), "1-D"),
        (dict(min_wavelength_nm=500), "needs `wavelengths`"),
        (dict(min_wavelength_nm=800, max_wavelength_nm=500, wavelengths=WL), "larger than"),
        (dict(min_wavelength_nm=500, wavelengths=[400, np.nan, 600, 700, 800, 900]), "NaN"),
    ],
)
def test_errors(cube, params, message):
    with pytest.raises(ValueError, match=message):
        BandpassByWavelength(**params).fit(cube)
