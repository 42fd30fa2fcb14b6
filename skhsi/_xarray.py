"""xarray in, xarray out: labelled cubes through skhsi's nodes.

A node method given an :class:`xarray.DataArray` works on its values with the
spectral dimension last, and gives its result back as a DataArray with the
input's other dimensions, their coordinates, its name and its attributes:
scores and masks with the spatial dimensions only, transformed cubes with a
``wavelength`` dimension (the kept bands' wavelengths, when they are known)
or a ``component`` dimension (projections, features). The spectral dimension
is the one named ``wavelength``, ``band``, ``bands``, ``spectral`` or
``channel``; its wavelengths come from a coordinate named ``wavelength`` (or
the dimension's own coordinate when it is called ``wavelength``), in the
units its ``units`` attribute names (nanometres when it has none, unless all
values are below 100: micrometres). Band-dropping nodes whose ``wavelengths``
parameter is ``None`` use those wavelengths in ``fit``.

Only the outermost call converts: a pipeline converts once, and its steps
see plain arrays. xarray itself is never imported here: an object is a
DataArray when its class says so.
"""

import contextvars
import functools
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SPECTRAL_DIMS", "coordinate_wavelengths", "is_dataarray", "xarray_aware"]

#: Names a DataArray's spectral dimension may have, in the order they are looked for.
SPECTRAL_DIMS = ("wavelength", "band", "bands", "spectral", "channel")

#: Wavelengths (nm) of the DataArray being fitted, for the band-dropping nodes.
_WAVELENGTHS = contextvars.ContextVar("skhsi_coordinate_wavelengths", default=None)
_INSIDE = contextvars.ContextVar("skhsi_inside_xarray_call", default=False)

#: Node methods that take data first; ``fit``-like ones return the estimator.
WRAPPED = ("fit", "partial_fit", "transform", "fit_transform", "inverse_transform",
           "anomaly_score", "score_samples", "decision_function", "predict",
           "predict_proba", "fit_predict", "fit_anomaly_score")


def is_dataarray(X):
    """Whether ``X`` is an :class:`xarray.DataArray` (without importing xarray)."""
    cls = type(X)
    return cls.__name__ == "DataArray" and cls.__module__.split(".")[0] == "xarray"


def coordinate_wavelengths(n_bands):
    """The wavelengths (nm) of the DataArray being fitted, if it has ``n_bands`` bands."""
    wavelengths = _WAVELENGTHS.get()
    if wavelengths is None or len(wavelengths) != n_bands:
        return None
    return wavelengths


@dataclass
class _Layout:
    dims: tuple
    shape: tuple
    coords: dict = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    name: object = None
    wavelengths: np.ndarray = None


def _split(X):
    """``(values with the spectral dimension last, layout)`` of a DataArray."""
    spectral = next((d for d in SPECTRAL_DIMS if d in X.dims), None)
    if spectral is None:
        raise ValueError(
            f"An xarray.DataArray needs a spectral dimension named one of {SPECTRAL_DIMS}; "
            f"got dimensions {tuple(X.dims)}. Rename it, e.g. X.rename({{'{X.dims[-1]}': "
            "'band'})."
        )
    others = tuple(d for d in X.dims if d != spectral)
    values = np.asarray(X.transpose(*others, spectral).values)
    coords = {name: coord for name, coord in X.coords.items()
              if set(coord.dims) <= set(others)}
    return values, _Layout(dims=others, shape=values.shape[:-1], coords=coords, attrs=dict(X.attrs), name=X.name,
                           wavelengths=_wavelengths_of(X, spectral))


def _wavelengths_of(X, spectral):
    from .io._envi_header import _wavelength_scale

    coord = X.coords.get("wavelength")
    if coord is None or coord.dims != (spectral,):
        return None
    values = np.asarray(coord.values, dtype=np.float64)
    scale, _ = _wavelength_scale(coord.attrs.get("units"), values)
    return values * scale


def _join(values, layout, wavelengths):
    """``values`` as a DataArray laid out like the input, or unchanged when it is not data."""
    import xarray as xr

    if not isinstance(values, np.ndarray) or values.ndim not in (len(layout.dims),
                                                                  len(layout.dims) + 1):
        return values
    if values.shape[:len(layout.dims)] != layout.shape:
        return values
    dims, coords = layout.dims, dict(layout.coords)
    if values.ndim == len(layout.dims) + 1:
        if wavelengths is not None and len(wavelengths) == values.shape[-1]:
            dims = dims + ("wavelength",)
            coords["wavelength"] = ("wavelength", np.asarray(wavelengths, dtype=np.float64),
                                    {"units": "nm"})
        else:
            dims = dims + ("component",)
    return xr.DataArray(values, dims=dims, coords=coords, attrs=layout.attrs, name=layout.name)


def _output_wavelengths(estimator, wavelengths, values):
    """The wavelengths of a transformed cube's bands: the kept ones, or the input's."""
    if wavelengths is None or not isinstance(values, np.ndarray) or values.ndim == 0:
        return None
    n_out = values.shape[-1]
    steps = [step for _, step in getattr(estimator, "steps", [])] or [estimator]
    current = wavelengths
    for step in steps:
        kept = getattr(step, "selected_bands_", None)
        if kept is not None and current is not None and len(current) == getattr(
                step, "n_features_in_", -1):
            current = current[np.asarray(kept)]
    return current if current is not None and len(current) == n_out else None


def xarray_aware(method):
    """Let a node method take a DataArray and give one back (see the module docstring)."""
    returns_self = method.__name__ in ("fit", "partial_fit")

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        if _INSIDE.get() or not is_dataarray(X):
            return method(self, X, *args, **kwargs)
        values, layout = _split(X)
        if "y" in kwargs and is_dataarray(kwargs["y"]):
            kwargs["y"] = np.asarray(kwargs["y"].transpose(*layout.dims).values)
        elif args and is_dataarray(args[0]):
            args = (np.asarray(args[0].transpose(*layout.dims).values),) + args[1:]
        inside, given = _INSIDE.set(True), _WAVELENGTHS.set(layout.wavelengths)
        try:
            out = method(self, values, *args, **kwargs)
        finally:
            _WAVELENGTHS.reset(given)
            _INSIDE.reset(inside)
        if returns_self or out is self:
            return out
        return _join(out, layout, _output_wavelengths(self, layout.wavelengths, out))

    wrapper.__skhsi_xarray__ = True
    return wrapper


def wrap_methods(cls, *, inherited=False):
    """Make the data methods of ``cls`` xarray-aware (once each).

    By default only the methods defined on ``cls`` itself; with ``inherited``
    also those it inherits (for :class:`skhsi.pipeline.Pipeline`, whose
    methods come from scikit-learn). Methods behind ``available_if`` keep it.
    """
    from sklearn.utils._available_if import _AvailableIfDescriptor

    for name in WRAPPED:
        owners = cls.__mro__ if inherited else (cls,)
        method = next((klass.__dict__[name] for klass in owners if name in klass.__dict__),
                      None)
        if isinstance(method, _AvailableIfDescriptor):
            if not getattr(method.fn, "__skhsi_xarray__", False):
                setattr(cls, name, _AvailableIfDescriptor(xarray_aware(method.fn), method.check,
                                                          method.attribute_name))
        elif callable(method) and not getattr(method, "__skhsi_xarray__", False):
            setattr(cls, name, xarray_aware(method))
    return cls
