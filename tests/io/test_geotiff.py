import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
pytest.importorskip("rioxarray")

from rasterio.transform import from_origin  # noqa: E402

from skhsi.anomaly import RXDetector  # noqa: E402
from skhsi.io import read_geotiff  # noqa: E402


def _write(path, cube, *, descriptions=None, tags=None):
    height, width, n_bands = cube.shape
    with rasterio.open(path, "w", driver="GTiff", height=height, width=width, count=n_bands,
                       dtype="float32", crs="EPSG:32616",
                       transform=from_origin(500000.0, 4200000.0, 30.0, 30.0)) as dst:
        for i in range(n_bands):
            dst.write(cube[..., i].astype(np.float32), i + 1)
            if descriptions is not None:
                dst.set_band_description(i + 1, descriptions[i])
            if tags is not None:
                dst.update_tags(i + 1, **tags[i])


@pytest.fixture
def cube():
    data = np.random.default_rng(0).normal(size=(12, 10, 4)).astype(np.float32)
    data[3, 4] += 8
    return data


def test_wavelengths_from_band_descriptions_and_the_georeferencing(tmp_path, cube):
    _write(tmp_path / "s.tif", cube, descriptions=["450 nm", "550 nm", "650 nm", "850 nm"])
    da = read_geotiff(tmp_path / "s.tif")
    assert da.dims == ("band", "y", "x")
    np.testing.assert_allclose(da["wavelength"], [450, 550, 650, 850])
    assert da["x"].values[0] == pytest.approx(500015.0)  # pixel centres from the transform
    scores = RXDetector().fit(da).anomaly_score(da)
    assert scores.dims == ("y", "x") and "spatial_ref" in scores.coords
    assert np.unravel_index(int(scores.values.argmax()), scores.shape) == (3, 4)
    np.testing.assert_allclose(scores.values, RXDetector().fit(cube).anomaly_score(cube),
                               rtol=1e-6)


def test_wavelengths_from_band_tags_in_micrometres(tmp_path, cube):
    tags = [{"wavelength": str(w), "wavelength_units": "micrometers"}
            for w in (0.45, 0.55, 0.65, 0.85)]
    _write(tmp_path / "t.tif", cube, tags=tags)
    np.testing.assert_allclose(read_geotiff(tmp_path / "t.tif")["wavelength"],
                               [450, 550, 650, 850])


def test_given_wavelengths_and_a_file_without_any(tmp_path, cube):
    _write(tmp_path / "u.tif", cube)
    assert "wavelength" not in read_geotiff(tmp_path / "u.tif").coords
    da = read_geotiff(tmp_path / "u.tif", wavelengths=[0.4, 0.5, 0.6, 0.7],
                      wavelength_units="um")
    np.testing.assert_allclose(da["wavelength"], [400, 500, 600, 700])
    with pytest.raises(ValueError, match="3 wavelengths for 4 bands"):
        read_geotiff(tmp_path / "u.tif", wavelengths=[400, 500, 600])
    with pytest.raises(FileNotFoundError, match="No such file"):
        read_geotiff(tmp_path / "none.tif")
