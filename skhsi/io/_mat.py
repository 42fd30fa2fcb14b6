"""Reading hyperspectral scenes from MATLAB ``.mat`` files (v4 to v7.3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import naming_file
from ._envi_header import _wavelength_scale
from ._image import SpectralImage, _as_mask

__all__ = ["read_mat"]

_NUMERIC = {"double", "single", "int8", "uint8", "int16", "uint16", "int32", "uint32",
            "int64", "uint64", "logical"}
_CUBE_NAMES = ("data", "cube", "x", "img")
_MASK_NAMES = ("map", "gt", "mask", "groundtruth")
_WL_NAMES = ("wavelength", "wavelengths", "wl")


def _unreadable(path, step):
    """Run ``step``; a file scipy or h5py cannot parse is a ``ValueError`` naming it."""
    from scipy.io.matlab import MatReadError

    return naming_file(path, "not a readable .mat file", step,
                       (MatReadError, NotImplementedError, OSError, KeyError, TypeError,
                        EOFError))


class _V5File:
    """MATLAB v4-v7.2 file read with :func:`scipy.io.loadmat`."""

    format = "mat-v5"

    def __init__(self, path):
        import scipy.io

        self.path = path
        self.shapes = {name: tuple(shape) for name, shape, cls in scipy.io.whosmat(path)
                       if cls in _NUMERIC}

    def load(self, names):
        import scipy.io

        data = scipy.io.loadmat(self.path, variable_names=list(names))
        return {name: np.asarray(data[name]) for name in names}


class _V73File:
    """MATLAB v7.3 (HDF5) file read with h5py, axes put back in MATLAB order."""

    format = "mat-v7.3"

    def __init__(self, path):
        import h5py

        self.path = path
        self.shapes = {}
        with h5py.File(path, "r") as fh:
            for name, obj in fh.items():
                if not isinstance(obj, h5py.Dataset) or name.startswith("#"):
                    continue
                cls = obj.attrs.get("MATLAB_class", b"")
                cls = cls.decode() if isinstance(cls, bytes) else str(cls)
                numeric = obj.dtype.kind in "biufc" or _is_h5_complex(obj.dtype)
                if numeric and (cls in _NUMERIC or not cls):
                    self.shapes[name] = tuple(reversed(obj.shape))

    def load(self, names):
        import h5py

        out = {}
        with h5py.File(self.path, "r") as fh:
            for name in names:
                arr = fh[name][()]
                if _is_h5_complex(arr.dtype):
                    arr = arr["real"] + 1j * arr["imag"]
                out[name] = np.asarray(arr).T
        return out


def _is_h5_complex(dtype):
    return dtype.names is not None and set(dtype.names) == {"real", "imag"}


def _listing(shapes):
    return ", ".join(f"{k} {v}" for k, v in sorted(shapes.items())) or "none"


def _pick(shapes, key, ndim, names, what, path):
    """Choose a variable: the given key, else the only one / the one with a usual name."""
    if key is not None:
        if key not in shapes:
            raise ValueError(
                f"{path}: no numeric variable {key!r} for the {what}; numeric "
                f"variables found: {_listing(shapes)}."
            )
        return key
    fits = [k for k, s in shapes.items() if len(s) == ndim]
    named = [k for k in fits if k.lower() in names]
    if what == "cube" and len(fits) == 1:
        return fits[0]
    if len(named) == 1:
        return named[0]
    if what == "cube" and not fits:
        raise ValueError(
            f"{path}: no 3-D numeric array found for the cube; numeric variables "
            f"found: {_listing(shapes)}."
        )
    if len(named) > 1 or (what == "cube" and len(fits) > 1):
        cands = named if len(named) > 1 else fits
        raise ValueError(
            f"{path}: ambiguous {what}: candidates {sorted(cands)}; pass "
            f"{'cube_key' if what == 'cube' else 'mask_key'}= to choose."
        )
    return None


def read_mat(path, *, cube_key=None, mask_key=None):
    """Read a hyperspectral scene from a MATLAB ``.mat`` file.

    Parameters
    ----------
    path : str or path-like
        A MATLAB file of any version: v4 to v7.2 are read with
        :func:`scipy.io.loadmat`, v7.3 (HDF5) with :mod:`h5py`, whose arrays
        come in reversed axis order and are transposed back.
    cube_key : str or None, default=None
        Variable holding the cube ``(H, W, C)``. By default the only 3-D
        numeric array, or, if there are several, the one named ``data``,
        ``cube``, ``X`` or ``img`` (any case).
    mask_key : str or None, default=None
        Variable holding the ground truth ``(H, W)`` (0/1 or bool, 1 = anomaly). By
        default the 2-D array named ``map``, ``gt``, ``mask`` or
        ``groundtruth`` (any case), if there is one; else no mask.

    Returns
    -------
    SpectralImage
        Wavelengths come from a variable ``wavelength``, ``wavelengths`` or
        ``wl`` if present (values below 100 are taken as micrometres and
        converted to nm). ``metadata`` holds ``path``, ``format``
        (``"mat-v5"`` or ``"mat-v7.3"``), the keys used and ``variables``
        (name -> shape of every numeric variable).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If no 3-D numeric array is found, the choice is ambiguous, a given key
        is missing (each message lists the variables found), or the mask or
        wavelengths do not match the cube.

    Examples
    --------
    >>> import tempfile, numpy as np, scipy.io
    >>> from skhsi.io import read_mat
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     scipy.io.savemat(tmp + "/scene.mat", {"data": np.ones((4, 5, 3)),
    ...                                          "map": np.eye(4, 5)})
    ...     img = read_mat(tmp + "/scene.mat")
    >>> img.shape, int(img.mask.sum()), img.metadata["format"]
    ((4, 5, 3), 4, 'mat-v5')
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    import h5py  # imported here so that ``import skhsi.io`` stays light

    reader = _unreadable(path, lambda: _V73File(path) if h5py.is_hdf5(path)
                         else _V5File(path))
    shapes = reader.shapes
    cube_name = _pick(shapes, cube_key, 3, _CUBE_NAMES, "cube", path)
    if len(shapes[cube_name]) != 3:
        raise ValueError(
            f"{path}: variable {cube_name!r} must be 3-D (H, W, C); got shape "
            f"{shapes[cube_name]}."
        )
    mask_name = _pick(shapes, mask_key, 2, _MASK_NAMES, "mask", path)
    wl_names = [k for k in shapes if k.lower() in _WL_NAMES and k != cube_name]
    wl_name = wl_names[0] if len(wl_names) == 1 else None
    wanted = [n for n in (cube_name, mask_name, wl_name) if n is not None]
    arrays = _unreadable(path, lambda: reader.load(wanted))

    cube = arrays[cube_name]
    mask = None
    if mask_name is not None:
        mask = _as_mask(np.asarray(arrays[mask_name]), f"{path}, variable {mask_name!r}",
                        cube.shape[:2])
    wavelengths, units_used = None, None
    if wl_name is not None:
        wavelengths = np.asarray(arrays[wl_name], dtype=np.float64).ravel()
        scale, units_used = _wavelength_scale(None, wavelengths)
        wavelengths = wavelengths * scale
    metadata = {"path": str(path), "format": reader.format, "cube_key": cube_name,
                "mask_key": mask_name, "wavelength_key": wl_name,
                "wavelength_units_used": units_used, "variables": dict(shapes)}
    return SpectralImage(cube=cube, wavelengths=wavelengths, mask=mask, metadata=metadata)
