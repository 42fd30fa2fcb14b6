"""ENVI headers: parsing, typed access to header values, formatting for writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["parse_envi_header", "read_envi_header"]

#: ENVI ``data type`` code -> numpy dtype (byte order applied separately).
ENVI_DTYPES = {
    1: np.dtype(np.uint8), 2: np.dtype(np.int16), 3: np.dtype(np.int32),
    4: np.dtype(np.float32), 5: np.dtype(np.float64), 6: np.dtype(np.complex64),
    9: np.dtype(np.complex128), 12: np.dtype(np.uint16), 13: np.dtype(np.uint32),
    14: np.dtype(np.int64), 15: np.dtype(np.uint64),
}
_DTYPE_CODES = {dt: code for code, dt in ENVI_DTYPES.items()}
_MICRO = {"micrometers", "micrometer", "microns", "micron", "um", "µm", "μm"}
_NANO = {"nanometers", "nanometer", "nm"}


def _norm_key(key):
    return " ".join(key.lower().split())


def _parse_value(key, raw):
    """Turn the text inside ``{...}`` into a list (floats where all numeric)."""
    if key == "description":
        return raw.strip()
    items = [item.strip() for item in raw.split(",")]
    if items == [""]:
        return []
    try:
        return [float(item) for item in items]
    except ValueError:
        return items


def parse_envi_header(text, source="<string>"):
    """Parse the text of an ENVI header into a dict.

    Parameters
    ----------
    text : str
        Full header text. The first non-blank line must be ``ENVI``.
    source : str, default="<string>"
        Name used in error messages.

    Returns
    -------
    dict
        Keys lower-cased with runs of blanks collapsed (``"Data  Type"`` ->
        ``"data type"``). Scalar values are stripped strings; ``{...}`` values
        are lists, of floats when every item is numeric, else of strings;
        ``description`` stays one string. A repeated key keeps its last value.

    Raises
    ------
    ValueError
        If the text does not start with ``ENVI``, a line has an empty key, or a
        ``{`` is never closed.

    Notes
    -----
    Lines starting with ``;`` are comments; other lines without ``=`` are
    skipped, as ENVI, GDAL and Spectral Python do.

    Examples
    --------
    >>> hdr = parse_envi_header('''ENVI
    ... ; a comment
    ... Samples = 4
    ... wavelength = {400.5, 500,
    ...   600}''')
    >>> hdr["samples"], hdr["wavelength"]
    ('4', [400.5, 500.0, 600.0])
    """
    lines = text.lstrip("\ufeff").splitlines()
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first == len(lines) or lines[first].strip().upper() != "ENVI":
        got = lines[first].strip()[:40] if first < len(lines) else ""
        raise ValueError(
            f"{source}: not an ENVI header: the first line must be 'ENVI', got {got!r}."
        )
    header = {}
    i = first + 1
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith(";") or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        key = _norm_key(key)
        if not key:
            raise ValueError(f"{source}, line {lineno}: empty key in {stripped[:60]!r}.")
        value = value.strip()
        if not value.startswith("{"):
            header[key] = value
            continue
        depth = value.count("{") - value.count("}")
        parts = [value]
        while depth > 0 and i < len(lines):
            nxt = lines[i].strip()
            i += 1
            if nxt.startswith(";"):
                continue
            parts.append(nxt)
            depth += nxt.count("{") - nxt.count("}")
        if depth > 0:
            raise ValueError(
                f"{source}, line {lineno}: unbalanced braces: the '{{' opening the "
                f"value of {key!r} is never closed."
            )
        joined = "\n".join(parts)
        inner = joined[1:joined.rfind("}")]
        header[key] = _parse_value(key, inner)
    return header


def read_envi_header(path):
    """Read and parse an ENVI ``.hdr`` file; see :func:`parse_envi_header`.

    Parameters
    ----------
    path : str or path-like
        The header file.

    Returns
    -------
    dict
        The parsed header.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ENVI header not found: {path}")
    text = path.read_bytes().decode("utf-8", errors="replace")
    return parse_envi_header(text, source=str(path))


def _int_key(header, key, source, default=None, minimum=0):
    if key not in header:
        if default is not None:
            return default
        raise ValueError(f"{source}: required header key {key!r} is missing.")
    value = header[key]
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ValueError(
            f"{source}: header key {key!r} must be an integer >= {minimum}; got {value!r}."
        )
    return number


def _band_vector(header, key, n_bands, source):
    values = header.get(key)
    if values is None:
        return None
    if isinstance(values, str) or any(isinstance(v, str) for v in values):
        raise ValueError(f"{source}: header key {key!r} must be a {{...}} list of numbers.")
    if len(values) != n_bands:
        raise ValueError(
            f"{source}: {key!r} count mismatch: expected {n_bands} values (one per "
            f"band), got {len(values)}."
        )
    return np.asarray(values, dtype=np.float64)


def _int_list(values):
    """Integers of a numeric header list, or None when it is not one."""
    if not isinstance(values, list) or not all(
        isinstance(v, float) and v.is_integer() for v in values
    ):
        return None
    return [int(v) for v in values]


def _wavelength_scale(units, wavelengths):
    """Factor to nanometres and a note on how it was chosen."""
    key = (units or "").strip().lower()
    if key in _MICRO:
        return 1000.0, "micrometers"
    if key in _NANO:
        return 1.0, "nanometers"
    if key in ("millimeters", "millimeter", "mm"):
        return 1e6, "millimeters"
    # Unknown or missing units: values below 100 can only be micrometres.
    if wavelengths is not None and np.nanmax(wavelengths) < 100:
        return 1000.0, "micrometers (assumed: max < 100)"
    return 1.0, "nanometers (assumed)"


def _format_value(key, value):
    """Format one header value, checking it reads back unchanged."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        items = [_format_value(key, v) for v in value]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        if "{" in value or "}" in value or (key != "description" and "\n" in value):
            raise ValueError(
                f"metadata[{key!r}]: braces, and newlines outside 'description', "
                f"cannot be stored in an ENVI header; got {value[:60]!r}."
            )
        return "{" + value + "}" if key == "description" else value
    raise TypeError(
        f"metadata[{key!r}] must be a str, number or list of those; "
        f"got {type(value).__name__}."
    )
