import numpy as np
import pytest

from skhsi.io import SpectralImage


def test_fields_and_properties():
    cube = np.zeros((4, 5, 3), dtype=np.uint16)
    img = SpectralImage(cube, wavelengths=[400, 500, 600], mask=np.eye(4, 5),
                        fwhm=[10, 10, 12], bad_bands=[0, 1, 0])
    assert img.cube is cube
    assert img.shape == (4, 5, 3) and img.n_bands == 3
    assert img.wavelengths.dtype == np.float64
    assert img.mask.dtype == bool and img.mask.sum() == 4
    assert img.bad_bands.tolist() == [False, True, False]
    assert img.metadata == {}
    assert "SpectralImage(shape=(4, 5, 3)" in repr(img)


def test_frozen():
    img = SpectralImage(np.zeros((2, 2, 2)))
    with pytest.raises(AttributeError):
        img.cube = np.ones((2, 2, 2))


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 5), (7,)])
def test_cube_must_be_3d(shape):
    with pytest.raises(ValueError, match=r"cube must be 3-D .*got %d-D" % len(shape)):
        SpectralImage(np.zeros(shape))


def test_wavelength_count():
    with pytest.raises(ValueError, match=r"expected 3 values .* got 2"):
        SpectralImage(np.zeros((2, 2, 3)), wavelengths=[400, 500])


@pytest.mark.parametrize("wl", [[400, 400, 500], [500, 450, 600]])
def test_wavelengths_strictly_increasing(wl):
    with pytest.raises(ValueError, match="strictly increasing"):
        SpectralImage(np.zeros((2, 2, 3)), wavelengths=wl)


def test_wavelengths_finite_and_1d():
    with pytest.raises(ValueError, match="finite"):
        SpectralImage(np.zeros((2, 2, 2)), wavelengths=[400, np.nan])
    with pytest.raises(ValueError, match="1-D"):
        SpectralImage(np.zeros((2, 2, 2)), wavelengths=[[400, 500]])


def test_mask_shape_and_values():
    with pytest.raises(ValueError, match=r"expected \(2, 3\), got \(3, 2\)"):
        SpectralImage(np.zeros((2, 3, 4)), mask=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        SpectralImage(np.zeros((2, 3, 4)), mask=np.full((2, 3), 2))


def test_bad_bands_shape():
    with pytest.raises(ValueError, match=r"expected shape \(3,\), got \(2,\)"):
        SpectralImage(np.zeros((2, 2, 3)), bad_bands=[True, False])


def test_metadata_type():
    with pytest.raises(TypeError, match="metadata must be a dict"):
        SpectralImage(np.zeros((2, 2, 2)), metadata=[1])


def test_drop_bad_bands():
    cube = np.arange(2 * 2 * 4).reshape(2, 2, 4)
    img = SpectralImage(cube, wavelengths=[1, 2, 3, 4], fwhm=[5, 6, 7, 8],
                        bad_bands=[True, False, True, False], metadata={"a": 1})
    out = img.drop_bad_bands()
    np.testing.assert_array_equal(out.cube, cube[:, :, [1, 3]])
    assert out.wavelengths.tolist() == [2, 4]
    assert out.fwhm.tolist() == [6, 8]
    assert out.bad_bands.tolist() == [False, False]
    assert out.metadata["dropped_bands"] == [0, 2] and out.metadata["a"] == 1
    assert "dropped_bands" not in img.metadata


def test_drop_bad_bands_noop():
    img = SpectralImage(np.zeros((2, 2, 2)))
    assert img.drop_bad_bands() is img
    img = SpectralImage(np.zeros((2, 2, 2)), bad_bands=[False, False])
    assert img.drop_bad_bands() is img


def test_io_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, skhsi.io; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
