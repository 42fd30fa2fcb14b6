"""Where the pixels lie on the ground: the grid of an ENVI ``map info`` field."""

from typing import NamedTuple

import numpy as np

__all__ = ["MapGrid", "map_grid"]

# ENVI's unit names (``units=...``) and their symbols on axes and scale bars.
_UNITS = {"meters": "m", "metres": "m", "km": "km", "kilometers": "km", "feet": "ft",
          "us feet": "ft", "degrees": "°", "radians": "rad"}


class MapGrid(NamedTuple):
    """A north-up grid of square or rectangular pixels.

    Attributes
    ----------
    pixel_size : tuple of 2 float
        Ground size of a pixel along columns (x) and rows (y), in ``units``.
    origin : tuple of 2 float or None
        Map coordinates (x, y) of the upper-left corner of the upper-left
        pixel; ``None`` when only the pixel size is known.
    units : str
        Unit symbol of ``pixel_size`` and ``origin`` (``"m"``, ``"ft"``, ``"°"``...).
    projection : str or None
        The projection's name (``"UTM"``...), when known.
    """

    pixel_size: tuple
    origin: object = None
    units: str = "m"
    projection: object = None


def map_grid(metadata=None, *, pixel_size=None):
    """The map grid of an image: from its ENVI ``map info``, or from a pixel size.

    ENVI's ``map info`` is ``{projection, reference pixel x, reference pixel
    y, easting, northing, x pixel size, y pixel size, [zone, North|South,]
    datum, units=...}`` with the reference pixel counted from 1 at the
    upper-left corner of the upper-left pixel. A rotated grid (``rotation=``
    not 0) keeps its pixel size but no origin, since its axes are not
    easting and northing.

    Parameters
    ----------
    metadata : dict or None
        An image's metadata (its ``"header"`` is read), or an ENVI header dict.
    pixel_size : float or None
        Ground size of a pixel in metres, for files without map info; map
        info wins when both are there.

    Returns
    -------
    MapGrid or None
        ``None`` when neither gives the ground size.

    Examples
    --------
    >>> from skhsi.io._geo import map_grid
    >>> map_grid({"map info": ["UTM", "1", "1", "500000.0", "4000000.0", "30", "30",
    ...                        "33", "North", "WGS-84", "units=Meters"]})
    MapGrid(pixel_size=(30.0, 30.0), origin=(500000.0, 4000000.0), units='m', projection='UTM')
    >>> map_grid({}, pixel_size=20)
    MapGrid(pixel_size=(20.0, 20.0), origin=None, units='m', projection=None)
    """
    header = (metadata or {}).get("header", metadata or {})
    info = header.get("map info") if isinstance(header, dict) else None
    if info is not None:
        grid = _from_map_info(info)
        if grid is not None:
            return grid
    if pixel_size is None:
        return None
    size = float(pixel_size)
    if not np.isfinite(size) or size <= 0:
        raise ValueError(f"pixel size must be a positive number of metres; got {pixel_size!r}.")
    return MapGrid((size, size))


def _from_map_info(info):
    """The grid of a parsed ``map info`` list, or None when it does not parse."""
    fields = [str(v).strip() for v in (info if isinstance(info, (list, tuple))
                                       else str(info).strip("{} ").split(","))]
    try:
        ref_x, ref_y, east, north, dx, dy = (float(v) for v in fields[1:7])
    except (ValueError, IndexError):
        return None
    if not (dx > 0 and dy > 0 and all(np.isfinite([ref_x, ref_y, east, north]))):
        return None
    options = dict(f.split("=", 1) for f in fields[7:] if "=" in f)
    units = options.get("units", "degrees" if fields[0].lower().startswith("geographic")
                        else "meters").strip().lower()
    symbol = _UNITS.get(units, units)
    rotation = float(options.get("rotation", 0) or 0)
    origin = None if rotation else (east - (ref_x - 1) * dx, north + (ref_y - 1) * dy)
    return MapGrid((dx, dy), origin, symbol, fields[0] or None)
