"""Reading and writing ENVI images (``.hdr`` header + raw binary data file)."""

from __future__ import annotations

import mmap as _mmap
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from .._files import staged_file
from ._envi_header import (
    _DTYPE_CODES,
    ENVI_DTYPES,
    _band_vector,
    _format_value,
    _int_key,
    _int_list,
    _norm_key,
    _wavelength_scale,
    read_envi_header,
)
from ._image import SpectralImage

__all__ = ["read_envi", "write_envi"]

_DATA_EXTS = (".bil", ".bip", ".bsq", ".img", ".raw", ".dat", "")
_INTERLEAVES = ("bsq", "bil", "bip")
_ADVICE = {"random": "MADV_RANDOM", "normal": "MADV_NORMAL",
           "sequential": "MADV_SEQUENTIAL"}
# Keys write_envi derives from the cube; values given for them in ``metadata`` are ignored.
_RESERVED = {"samples", "lines", "bands", "header offset", "data type", "interleave",
             "byte order", "wavelength", "wavelength units", "fwhm", "bbl", "file type"}


def _find_files(path):
    """Return ``(header_path, data_path)`` for a header or a data file path."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not an ENVI header or data file.")
    folder = path.parent
    names = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    if path.suffix.lower() == ".hdr":
        base = path.name[: -len(path.suffix)]
        stem = Path(base).stem if Path(base).suffix.lower() in _DATA_EXTS else base
        candidates = [folder / base] if (folder / base).is_file() else []
        for ext in _DATA_EXTS:
            hit = names.get((stem + ext).lower())
            if hit is not None and hit not in candidates and hit != path:
                candidates.append(hit)
        if not candidates:
            tried = ", ".join(stem + e for e in _DATA_EXTS if e)
            raise FileNotFoundError(
                f"ENVI data file for header {path} not found; looked for {base!r}, "
                f"{tried} (any case) in {folder}."
            )
        return path, candidates[0]
    for name in (path.name + ".hdr", path.stem + ".hdr"):
        hit = names.get(name.lower())
        if hit is not None:
            return hit, path
    raise FileNotFoundError(
        f"ENVI header for {path} not found; looked for {path.name + '.hdr'!r} and "
        f"{path.stem + '.hdr'!r} (any case) in {folder}."
    )


def source_files(path):
    """The files a reader reads for ``path``: an ENVI header and its data file, or the
    file itself (``.mat``, ``.npy``, a mask image, or an ENVI file without its partner)."""
    path = Path(path)
    if path.suffix.lower() in (".mat", ".npy", ".png", ".pt", ".json"):
        return [path]
    try:
        return list(_find_files(path))
    except (FileNotFoundError, OSError):
        return [path]


_BLOCK_BYTES = 64 << 20  # bytes read at a time by ``read_envi(mmap=False)``


def _read_into_memory(data_path, dtype, offset, file_shape, to_hwc, progress=False):
    """Read the data file block by block into a native-order (H, W, C) array.

    Plain reads, no memory map: the result is the only copy held. With
    ``progress``, a tqdm bar counts the bytes read.
    """
    out_hwc = np.empty([file_shape[i] for i in to_hwc], dtype=dtype.newbyteorder("="))
    out = out_hwc.transpose(np.argsort(to_hwc))  # the same array seen in file order
    per_row = int(np.prod(file_shape[1:])) * dtype.itemsize
    step = max(1, _BLOCK_BYTES // per_row)
    buf = np.empty(min(step, file_shape[0]) * per_row, dtype=np.uint8)
    starts = range(0, file_shape[0], step)
    bar = None
    if progress and len(starts) > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(starts) * per_row * step, unit="B", unit_scale=True,
                   desc=f"reading {Path(data_path).name}", leave=False)
    with open(data_path, "rb") as fh:
        fh.seek(offset)
        for r in starts:
            n = min(step, file_shape[0] - r)
            chunk = buf[: n * per_row]
            if fh.readinto(chunk) != chunk.size:
                raise ValueError(f"{data_path}: data file ended early.")
            out[r:r + n] = chunk.view(dtype).reshape((n,) + tuple(file_shape[1:]))
            if bar is not None:
                bar.update(chunk.size)
    if bar is not None:
        bar.close()
    return out_hwc


def read_envi(path, *, mmap=True, access="normal", verbose=False):
    """Read an ENVI image as a :class:`SpectralImage`.

    Parameters
    ----------
    path : str or path-like
        The ``.hdr`` file or the data file. The partner is found next to it:
        for a header ``name.hdr`` or ``name.ext.hdr`` the data file is
        ``name.ext`` or ``name`` with one of ``.bil .bip .bsq .img .raw .dat``
        or no extension; for a data file the header is ``file.ext.hdr`` or
        ``file.hdr``. Extensions match in any case.
    mmap : bool, default=True
        If True, ``cube`` is a read-only ``(lines, samples, bands)`` view of a
        :class:`numpy.memmap` in the file's own byte order: nothing is read
        until it is indexed. If False, the cube is read into a C-contiguous
        array in native byte order (the fastest way to load a whole file).
    access : {"normal", "random", "sequential"}, default="normal"
        Access-pattern hint given to the kernel for the memory map
        (``madvise``); ignored when ``mmap=False`` or where unsupported.
        ``"normal"`` lets the kernel read ahead, the fast choice for
        streaming blocks of lines (chunked inference). ``"random"`` reads and
        maps only the pages an index touches: use it to pick single bands or
        spectra out of a large file, where read-ahead would read, and map,
        most of the file. See the user guide for measured numbers.
    verbose : bool, default=False
        With ``mmap=False``, show a progress bar while the file is read.

    Returns
    -------
    SpectralImage
        ``wavelengths`` and ``fwhm`` in nanometres, ``bad_bands`` from ``bbl``
        (0 = bad), ``metadata`` with the parsed ``header``, ``path``,
        ``header_path``, ``interleave``, ``byte_order``, ``header_offset``,
        ``wavelength_units`` (as written in the header, or None) and
        ``default_bands`` (1-based, as in ENVI, or None).

    Raises
    ------
    FileNotFoundError
        If the file, its header or its data file is missing.
    ValueError
        If the header is malformed, lacks ``samples``, ``lines``, ``bands`` or
        ``data type``, names an unknown data type, interleave or byte order,
        has a per-band list of the wrong length, or if the data file is
        smaller than ``header offset + lines*samples*bands*itemsize``.

    Notes
    -----
    A missing ``interleave`` means ``bsq``, a missing ``byte order`` means
    0 (little-endian) and a missing ``header offset`` means 0, as in GDAL.
    A data file larger than expected gives a warning and its tail is ignored.
    Wavelength units ``micrometers``/``microns``/``um`` are converted to nm;
    with unknown or missing units, wavelengths whose maximum is below 100 are
    taken as micrometres. Units ``index`` (band numbers) or wavelengths that
    are not strictly increasing give ``wavelengths=None`` (with a warning for
    the latter); the raw list stays in ``metadata["header"]``.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skhsi.io import read_envi, write_envi
    >>> cube = np.arange(24, dtype=np.uint16).reshape(2, 3, 4)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = write_envi(tmp + "/scene.bil", cube, [450.0, 550.0, 650.0, 750.0],
    ...                    interleave="bil")
    ...     img = read_envi(tmp + "/scene.hdr", mmap=False)
    >>> img.shape, bool((img.cube == cube).all()), img.wavelengths.tolist()
    ((2, 3, 4), True, [450.0, 550.0, 650.0, 750.0])
    """
    header_path, data_path = _find_files(path)
    header = read_envi_header(header_path)
    src = str(header_path)
    samples = _int_key(header, "samples", src, minimum=1)
    lines = _int_key(header, "lines", src, minimum=1)
    bands = _int_key(header, "bands", src, minimum=1)
    code = _int_key(header, "data type", src)
    if code not in ENVI_DTYPES:
        raise ValueError(
            f"{src}: unknown ENVI data type {code}; supported: {sorted(ENVI_DTYPES)}."
        )
    offset = _int_key(header, "header offset", src, default=0)
    order = _int_key(header, "byte order", src, default=0)
    if order not in (0, 1):
        raise ValueError(f"{src}: 'byte order' must be 0 or 1; got {order}.")
    interleave = str(header.get("interleave", "bsq")).strip().lower()
    if interleave not in _INTERLEAVES:
        raise ValueError(
            f"{src}: unknown interleave {header['interleave']!r}; expected bsq, bil or bip."
        )
    dtype = ENVI_DTYPES[code].newbyteorder("<" if order == 0 else ">")

    expected = offset + lines * samples * bands * dtype.itemsize
    actual = data_path.stat().st_size
    if actual < expected:
        raise ValueError(
            f"{data_path}: data file has the wrong size: expected {expected} bytes "
            f"(header offset {offset} + {lines}*{samples}*{bands} values * "
            f"{dtype.itemsize} bytes), got {actual}."
        )
    if actual > expected:
        warnings.warn(
            f"{data_path}: data file has {actual - expected} bytes more than the header "
            "describes; they are ignored.", stacklevel=2,
        )
    file_shape = {"bsq": (bands, lines, samples), "bil": (lines, bands, samples),
                  "bip": (lines, samples, bands)}[interleave]
    to_hwc = {"bsq": (1, 2, 0), "bil": (0, 2, 1), "bip": (0, 1, 2)}[interleave]
    if access not in _ADVICE:
        raise ValueError(f"access must be one of {sorted(_ADVICE)}; got {access!r}.")
    if mmap:
        raw = np.memmap(data_path, dtype=dtype, mode="r", offset=offset, shape=file_shape)
        cube = raw.transpose(to_hwc)
        advice = getattr(_mmap, _ADVICE[access], None)
        handle = getattr(raw, "_mmap", None)
        if advice is not None and hasattr(handle, "madvise"):
            handle.madvise(advice)
    else:
        cube = _read_into_memory(data_path, dtype, offset, file_shape, to_hwc,
                                 progress=verbose)

    units = header.get("wavelength units")
    units = units if isinstance(units, str) else None
    wavelengths = _band_vector(header, "wavelength", bands, src)
    fwhm = _band_vector(header, "fwhm", bands, src)
    scale, units_used = _wavelength_scale(units, wavelengths if wavelengths is not None
                                          else fwhm)
    if units is not None and units.strip().lower() == "index":
        wavelengths, fwhm, units_used = None, None, "index"
    if wavelengths is not None:
        wavelengths = wavelengths * scale
        if bands > 1 and not np.all(np.diff(wavelengths) > 0):
            warnings.warn(f"{src}: wavelengths are not strictly increasing; "
                          "wavelengths set to None.", stacklevel=2)
            wavelengths = None
    if fwhm is not None:
        fwhm = fwhm * scale
    bbl = _band_vector(header, "bbl", bands, src)
    default_bands = header.get("default bands")
    metadata = {
        "header": header, "path": str(data_path), "header_path": str(header_path),
        "interleave": interleave, "byte_order": "little" if order == 0 else "big",
        "header_offset": offset, "data_type": code, "wavelength_units": units,
        "wavelength_units_used": units_used,
        "default_bands": _int_list(default_bands),
    }
    return SpectralImage(cube=cube, wavelengths=wavelengths, fwhm=fwhm,
                         bad_bands=None if bbl is None else bbl == 0, metadata=metadata)


def _output_paths(path, interleave):
    path = Path(path)
    if path.suffix.lower() == ".hdr":
        base = path.with_suffix("")
        data = base if base.suffix else base.with_name(base.name + "." + interleave)
        return path, data
    if path.suffix:
        return path.with_suffix(".hdr"), path
    return path.with_name(path.name + ".hdr"), path.with_name(path.name + "." + interleave)


def _atomic_write(target, write):
    """Stage ``write(fileobj)`` in a temporary file beside ``target``; return its path."""
    return staged_file(target, write, fsync=True)


def write_envi(path, cube, wavelengths=None, *, interleave="bsq", byte_order="little",
               fwhm=None, bad_bands=None, metadata=None, chunk_bytes=64 * 2**20):
    """Write a cube as an ENVI header and data file, atomically.

    Parameters
    ----------
    path : str or path-like
        Output name. ``x.img`` writes ``x.img`` + ``x.hdr``; ``x.hdr`` or ``x``
        writes ``x.hdr`` + ``x.<interleave>``; ``x.bil.hdr`` writes ``x.bil`` +
        ``x.bil.hdr``.
    cube : array-like of shape (H, W, C)
        Channels last, any dtype ENVI supports: uint8, int16, int32, float32,
        float64, complex64, complex128, uint16, uint32, int64, uint64. A
        :class:`numpy.memmap` is streamed in chunks, never loaded whole.
    wavelengths : array-like of shape (C,) or None, default=None
        Band centres in nanometres, strictly increasing; written with
        ``wavelength units = Nanometers``.
    interleave : {"bsq", "bil", "bip"}, default="bsq"
        Band layout in the data file.
    byte_order : {"little", "big", "native"}, default="little"
        Byte order of the data file.
    fwhm : array-like of shape (C,) or None, default=None
        Band widths in nanometres.
    bad_bands : array-like of bool, shape (C,), or None, default=None
        ``True`` = bad; written as ``bbl`` (0 = bad).
    metadata : dict or None, default=None
        Extra header keys (str, numbers, or lists of those). Keys that
        describe the layout (``samples``, ``lines``, ``bands``, ``data type``,
        ``interleave``, ``byte order``, ``header offset``, ``wavelength``,
        ``wavelength units``, ``fwhm``, ``bbl``, ``file type``) are derived
        from the arguments, and values given for them here are ignored, so
        ``metadata=img.metadata["header"]`` of a read image is accepted.
    chunk_bytes : int, default=64 MiB
        Size of the blocks the data is converted and written in.

    Returns
    -------
    header_path, data_path : pathlib.Path
        The two files written.

    Notes
    -----
    Both files are first written to temporary files in the target folder and
    then moved into place with :func:`os.replace` (data first, header last),
    so neither file is ever seen half-written; on error the temporary files
    are removed and existing files are left as they were.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skhsi.io import write_envi
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     hdr, data = write_envi(tmp + "/x", np.zeros((2, 2, 3), np.float32),
    ...                            interleave="bip")
    ...     print(hdr.name, data.name, data.stat().st_size)
    x.hdr x.bip 48
    """
    interleave = str(interleave).lower()
    if interleave not in _INTERLEAVES:
        raise ValueError(f"interleave must be 'bsq', 'bil' or 'bip'; got {interleave!r}.")
    orders = {"little": "<", "big": ">", "native": "<" if sys.byteorder == "little" else ">"}
    if byte_order not in orders:
        raise ValueError(f"byte_order must be 'little', 'big' or 'native'; got {byte_order!r}.")
    if not isinstance(cube, np.ndarray):
        cube = np.asarray(cube)
    code = _DTYPE_CODES.get(cube.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(
            f"cube dtype {cube.dtype} has no ENVI data type; use one of "
            f"{sorted({str(d) for d in ENVI_DTYPES.values()})}."
        )
    image = SpectralImage(cube, wavelengths=wavelengths, fwhm=fwhm, bad_bands=bad_bands)
    lines, samples, bands = cube.shape
    out_dtype = cube.dtype.newbyteorder(orders[byte_order])

    header = {"description": "written by skhsi", "samples": samples, "lines": lines,
              "bands": bands, "header offset": 0, "file type": "ENVI Standard",
              "data type": code, "interleave": interleave,
              "byte order": 0 if orders[byte_order] == "<" else 1}
    for key, value in (metadata or {}).items():
        norm = _norm_key(str(key))
        if not norm or "=" in norm:
            raise ValueError(f"metadata key {key!r} is not a valid ENVI header key.")
        if norm not in _RESERVED:
            header[norm] = value
    if image.wavelengths is not None:
        header["wavelength units"] = "Nanometers"
        header["wavelength"] = image.wavelengths
    if image.fwhm is not None:
        header["fwhm"] = image.fwhm
    if image.bad_bands is not None:
        header["bbl"] = (~image.bad_bands).astype(int)
    text = "ENVI\n" + "".join(f"{k} = {_format_value(k, v)}\n" for k, v in header.items())

    def write_data(fh):
        if interleave == "bsq":
            step = max(1, chunk_bytes // max(1, samples * cube.dtype.itemsize))
            for b in range(bands):
                for r in range(0, lines, step):
                    fh.write(np.ascontiguousarray(cube[r:r + step, :, b], out_dtype).data)
            return
        row_bytes = samples * bands * cube.dtype.itemsize
        step = max(1, chunk_bytes // max(1, row_bytes))
        for r in range(0, lines, step):
            block = cube[r:r + step]
            if interleave == "bil":
                block = block.transpose(0, 2, 1)
            fh.write(np.ascontiguousarray(block, out_dtype).data)

    header_path, data_path = _output_paths(path, interleave)
    data_tmp = _atomic_write(data_path, write_data)
    try:
        header_tmp = _atomic_write(header_path, lambda fh: fh.write(text.encode("utf-8")))
    except BaseException:
        os.unlink(data_tmp)
        raise
    os.replace(data_tmp, data_path)
    os.replace(header_tmp, header_path)
    return header_path, data_path
