"""Reading multi-band GeoTIFF scenes as labelled cubes, through rioxarray."""

import re

import numpy as np

from ._envi_header import _MICRO, _NANO, _wavelength_scale

__all__ = ["read_geotiff"]

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")


def read_geotiff(path, *, wavelengths=None, wavelength_units=None):
    """Read a multi-band GeoTIFF (or any raster GDAL reads) as an :class:`xarray.DataArray`.

    The raster is opened with :func:`rioxarray.open_rasterio`, which keeps the
    georeferencing (``x``/``y`` coordinates, ``spatial_ref``, nodata and the
    file's tags), and gets a ``wavelength`` coordinate in nm along ``band``:
    from ``wavelengths`` when given, else from the bands' ``wavelength``
    tags (as GDAL writes for ENVI-derived files), else from band descriptions
    that are numbers (``"450.5"``, ``"450.5 nm"``, ``"0.45 um"``). Units come
    from ``wavelength_units``, the tags' ``wavelength_units``, a unit in the
    description, or the usual rule (values below 100 are micrometres). Every
    skhsi node takes the result (:ref:`the data model <data_model>`). Needs
    the ``geotiff`` extra (``pip install skhsi[geotiff]``: rioxarray,
    rasterio).

    Parameters
    ----------
    path : str or path-like
    wavelengths : array-like of shape (n_bands,) or None, default=None
        Band centres, in ``wavelength_units`` (nm by default).
    wavelength_units : str or None, default=None
        ``"nm"``, ``"um"``/``"micrometers"``, ...

    Returns
    -------
    xarray.DataArray of shape (band, y, x)
        Loaded lazily; the values are read when a node uses them.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``wavelengths`` has the wrong length.
    """
    from pathlib import Path

    try:
        import rasterio
        import rioxarray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("read_geotiff needs rioxarray: pip install 'skhsi[geotiff]'.") \
            from exc
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    da = rioxarray.open_rasterio(path)
    n_bands = da.sizes["band"]
    units = wavelength_units
    if wavelengths is None:
        with rasterio.open(path) as src:
            wavelengths, found_units = _band_wavelengths(src)
        units = units or found_units
    if wavelengths is None:
        return da
    values = np.asarray(wavelengths, dtype=np.float64).ravel()
    if values.size != n_bands:
        raise ValueError(f"{path}: {values.size} wavelengths for {n_bands} bands.")
    scale, _ = _wavelength_scale(units, values)
    return da.assign_coords(wavelength=("band", values * scale, {"units": "nm"}))


def _band_wavelengths(src):
    """Wavelengths and their units from the bands' tags or descriptions, or ``(None, None)``."""
    tags = [src.tags(i) for i in range(1, src.count + 1)]
    units = next((t.get("wavelength_units") for t in tags if t.get("wavelength_units")),
                 src.tags().get("wavelength_units"))
    if all("wavelength" in t for t in tags):
        try:
            return [float(t["wavelength"]) for t in tags], units
        except ValueError:
            pass
    found = []
    for text in src.descriptions:
        match = _NUMBER.search(text or "")
        if match is None:
            return None, None
        found.append(float(match.group()))
        rest = (text or "")[match.end():].strip().lower()
        units = units or (rest if rest in _MICRO | _NANO else None)
    return found, units
