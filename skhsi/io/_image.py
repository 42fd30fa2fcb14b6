"""The :class:`SpectralImage` container returned by the readers."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["SpectralImage"]


def _as_optional_1d_float(value, name, n_bands):
    """Validate an optional per-band float vector of length ``n_bands``."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array with one value per band; "
            f"got an array of shape {arr.shape}."
        )
    if arr.shape[0] != n_bands:
        raise ValueError(
            f"{name} must have one value per band: expected {n_bands} values "
            f"(cube has {n_bands} bands), got {arr.shape[0]}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got NaN or inf.")
    return arr


def _as_labels(value, spatial_shape):
    """Validate a class-label map: integers >= 0 of the cube's spatial shape."""
    labels = np.asarray(value)
    if labels.shape != spatial_shape:
        raise ValueError(
            f"labels must have the cube's spatial shape: expected {spatial_shape}, "
            f"got {labels.shape}."
        )
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"labels must be integer class ids (0 = unlabelled); got dtype {labels.dtype}."
        )
    if labels.size and labels.min() < 0:
        raise ValueError(f"labels must be >= 0 (0 = unlabelled); got {labels.min()}.")
    return labels


@dataclasses.dataclass(frozen=True, eq=False)
class SpectralImage:
    """A hyperspectral cube with its spectral metadata and optional ground truth.

    The container is frozen: its fields cannot be reassigned (the arrays
    themselves are not copied, so a memory-mapped cube stays memory-mapped).

    Parameters
    ----------
    cube : ndarray of shape (H, W, C)
        The image, channels last. May be a :class:`numpy.memmap` or a view
        of one; it is never copied.
    wavelengths : ndarray of shape (C,) or None, default=None
        Band centres in nanometres, strictly increasing.
    mask : ndarray of shape (H, W), dtype bool, or None, default=None
        Ground truth, ``True`` = anomaly. Any array of 0/1 (or bool) values
        is converted to bool.
    fwhm : ndarray of shape (C,) or None, default=None
        Full width at half maximum of each band, in nanometres.
    bad_bands : ndarray of shape (C,), dtype bool, or None, default=None
        ``True`` marks a band to drop (for example a water-absorption band).
    metadata : dict, default={}
        Everything else: the parsed header, original units, the source
        path, the interleave, a citation, class names, and so on.
    labels : ndarray of shape (H, W) of non-negative int, or None, default=None
        Class labels of a classification scene, ``0`` = unlabelled. Names of
        the classes, where known, are in ``metadata["class_names"]``.

    Attributes
    ----------
    shape : tuple of int
        ``cube.shape``.
    n_bands : int
        Number of bands ``C``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.io import SpectralImage
    >>> img = SpectralImage(np.zeros((4, 5, 3)), wavelengths=[400.0, 500.0, 600.0],
    ...                     bad_bands=[False, True, False])
    >>> img.shape
    (4, 5, 3)
    >>> kept = img.drop_bad_bands()
    >>> kept.shape, kept.wavelengths.tolist()
    ((4, 5, 2), [400.0, 600.0])
    """

    cube: np.ndarray
    wavelengths: np.ndarray | None = None
    mask: np.ndarray | None = None
    fwhm: np.ndarray | None = None
    bad_bands: np.ndarray | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    labels: np.ndarray | None = None

    def __post_init__(self):
        cube = self.cube
        if not isinstance(cube, np.ndarray):
            cube = np.asarray(cube)
        if cube.ndim != 3:
            raise ValueError(
                "cube must be 3-D with shape (H, W, C), channels last; "
                f"got {cube.ndim}-D array of shape {cube.shape}."
            )
        n_rows, n_cols, n_bands = cube.shape
        object.__setattr__(self, "cube", cube)

        wl = _as_optional_1d_float(self.wavelengths, "wavelengths", n_bands)
        if wl is not None and n_bands > 1 and not np.all(np.diff(wl) > 0):
            bad = int(np.flatnonzero(np.diff(wl) <= 0)[0])
            raise ValueError(
                "wavelengths must be strictly increasing; got "
                f"wavelengths[{bad}]={wl[bad]!r} >= wavelengths[{bad + 1}]={wl[bad + 1]!r}."
            )
        object.__setattr__(self, "wavelengths", wl)
        object.__setattr__(self, "fwhm", _as_optional_1d_float(self.fwhm, "fwhm", n_bands))

        if self.mask is not None:
            mask = np.asarray(self.mask)
            if mask.shape != (n_rows, n_cols):
                raise ValueError(
                    f"mask must have the cube's spatial shape: expected "
                    f"{(n_rows, n_cols)}, got {mask.shape}."
                )
            if mask.dtype != bool:
                if not np.all(np.isin(mask, (0, 1))):
                    raise ValueError(
                        "mask must be boolean or contain only 0 and 1; got values "
                        f"{np.unique(mask)[:5].tolist()}."
                    )
                mask = mask.astype(bool)
            object.__setattr__(self, "mask", mask)

        if self.labels is not None:
            object.__setattr__(self, "labels", _as_labels(self.labels, (n_rows, n_cols)))

        if self.bad_bands is not None:
            bb = np.asarray(self.bad_bands)
            if bb.shape != (n_bands,):
                raise ValueError(
                    f"bad_bands must have one flag per band: expected shape "
                    f"({n_bands},), got {bb.shape}."
                )
            object.__setattr__(self, "bad_bands", bb.astype(bool))

        if self.metadata is None:
            object.__setattr__(self, "metadata", {})
        elif not isinstance(self.metadata, dict):
            raise TypeError(
                f"metadata must be a dict; got {type(self.metadata).__name__}."
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape ``(H, W, C)`` of the cube."""
        return tuple(self.cube.shape)

    @property
    def n_bands(self) -> int:
        """Number of spectral bands ``C``."""
        return int(self.cube.shape[2])

    def drop_bad_bands(self) -> SpectralImage:
        """Return a new image without the bands flagged in ``bad_bands``.

        The wavelengths and FWHM are subset consistently. The cube is indexed
        with a boolean array along the last axis, which reads the kept bands
        into memory; a memory-mapped cube therefore becomes an in-memory one.
        When ``bad_bands`` is ``None`` or flags nothing, ``self`` is returned.

        Returns
        -------
        SpectralImage
            The image restricted to the good bands; ``bad_bands`` is all
            ``False`` and ``metadata["dropped_bands"]`` lists the removed
            band indices.
        """
        if self.bad_bands is None or not self.bad_bands.any():
            return self
        keep = ~self.bad_bands
        metadata = dict(self.metadata)
        metadata["dropped_bands"] = np.flatnonzero(self.bad_bands).tolist()
        return SpectralImage(
            cube=self.cube[:, :, keep],
            wavelengths=None if self.wavelengths is None else self.wavelengths[keep],
            mask=self.mask,
            fwhm=None if self.fwhm is None else self.fwhm[keep],
            bad_bands=np.zeros(int(keep.sum()), dtype=bool),
            metadata=metadata,
            labels=self.labels,
        )

    def to_xarray(self):
        """The image as an :class:`xarray.DataArray` ``(y, x, band)``, for labelled work.

        The cube becomes the data; ``wavelength`` (nm, with ``units``), ``fwhm``
        and ``bad_band`` are coordinates along ``band`` when known, ``mask``
        and ``labels`` coordinates on ``(y, x)``; ``y`` and ``x`` are pixel
        indices. Plain values of ``metadata`` (strings and numbers) become
        attributes. Every skhsi node takes the result and gives DataArrays
        back; a band-dropping node fitted on it takes its wavelengths from the
        ``wavelength`` coordinate. Needs xarray (``pip install skhsi[xarray]``).

        Returns
        -------
        xarray.DataArray

        Examples
        --------
        >>> from skhsi.datasets import make_synthetic_scene
        >>> da = make_synthetic_scene((8, 9, 5), random_state=0).to_xarray()
        >>> da.dims, da.sizes["band"], str(da.coords["wavelength"].attrs["units"])
        (('y', 'x', 'band'), 5, 'nm')
        """
        try:
            import xarray as xr
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("SpectralImage.to_xarray needs xarray: pip install "
                              "'skhsi[xarray]' (or xarray).") from exc
        coords = {"y": np.arange(self.cube.shape[0]), "x": np.arange(self.cube.shape[1])}
        if self.wavelengths is not None:
            coords["wavelength"] = ("band", self.wavelengths, {"units": "nm"})
        if self.fwhm is not None:
            coords["fwhm"] = ("band", self.fwhm, {"units": "nm"})
        if self.bad_bands is not None:
            coords["bad_band"] = ("band", self.bad_bands)
        if self.mask is not None:
            coords["mask"] = (("y", "x"), self.mask)
        if self.labels is not None:
            coords["labels"] = (("y", "x"), self.labels)
        attrs = {key: value for key, value in self.metadata.items()
                 if isinstance(value, (str, int, float, bool))}
        return xr.DataArray(self.cube, dims=("y", "x", "band"), coords=coords, attrs=attrs,
                            name=str(self.metadata.get("name", "cube")))

    def __repr__(self) -> str:
        wl = self.wavelengths
        wl_txt = "None" if wl is None else f"{wl[0]:.1f}..{wl[-1]:.1f} nm"
        kind = "memmap" if _is_memmapped(self.cube) else "array"
        return (
            f"SpectralImage(shape={self.shape}, dtype={self.cube.dtype}, {kind}, "
            f"wavelengths={wl_txt}, mask={'None' if self.mask is None else 'yes'}, "
            f"labels={'None' if self.labels is None else 'yes'})"
        )


def _is_memmapped(arr):
    """Return True when ``arr`` is a memmap or a view of one."""
    base = arr
    while base is not None:
        if isinstance(base, np.memmap):
            return True
        base = getattr(base, "base", None)
    return False


#: What skhsi reads masks from (named in mask errors).
_FORMATS = ".npy (numpy), .png (an image, non-zero = anomaly), .mat (a 2-D variable) or ENVI"


def _as_mask(values, where, shape):
    """A boolean mask of ``shape`` from ``values``, or a ``ValueError`` naming ``where``."""
    if values.ndim != 2:
        raise ValueError(f"{where}: a mask must be 2-D (H, W); got shape {values.shape}. "
                         f"Masks are read from {_FORMATS}.")
    if shape is not None and values.shape != tuple(shape):
        raise ValueError(f"{where}: the mask must have the cube's spatial shape: expected "
                         f"{tuple(shape)}, got {values.shape}.")
    if values.dtype != bool:
        found = np.unique(values)
        if not np.all(np.isin(found, (0, 1))):
            raise ValueError(
                f"{where}: a mask must be boolean or hold only 0 and 1 (1 = anomaly); got "
                f"the values {found[:6].tolist()}{' ...' if found.size > 6 else ''}. A "
                "label map needs converting first, e.g. mask = labels == k."
            )
    return values.astype(bool)
