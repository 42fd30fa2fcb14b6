"""Shared machinery of skhsi's nodes: shapes, validation and the module-step contract.

Every per-pixel node accepts a pixel table ``(n_pixels, n_bands)``, a cube
``(H, W, n_bands)`` or a batch of cubes ``(N, H, W, n_bands)``. Input is
flattened to a pixel table, validated by scikit-learn's ``validate_data`` and
the result is reshaped back to the input's leading shape. The 2-D path is
plain scikit-learn.

This module imports no torch: the nodes with weights build on
:class:`skhsi._node.TorchNode`, which does.
"""

import inspect
import math
import sys
from fractions import Fraction
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_is_fitted, validate_data

from ._checks import check_finite_values

__all__ = [
    "GLOBAL",
    "SAMPLE_LAYOUTS",
    "SpatialReach",
    "as_pixels",
    "documented_attributes",
    "is_torch_node",
    "restore_shape",
    "spatial_reach",
    "ModuleStepMixin",
    "SpectralMixin",
]

#: What one training or inference sample of a node is: a spectrum (``"pixel"``),
#: a ``k x k`` window around each pixel (``"patch"``) or a whole cube or tile
#: (``"image"``).
SAMPLE_LAYOUTS = ("pixel", "patch", "image")

#: The reach of a step whose output at a pixel depends on the whole image.
GLOBAL = "global"

_SHAPES = "a pixel table (n_pixels, n_bands), a cube (H, W, n_bands) or a batch of cubes (N, H, W, n_bands)"


def documented_attributes(cls):
    """The names in the ``Attributes`` section of a class's numpydoc docstring.

    The docstring is the one list of what a fitted estimator holds: model
    files set no other attribute, and the test suite checks that ``fit``
    sets none that is not listed. ``None`` when the class has no docstring
    (``python -OO``).

    Parameters
    ----------
    cls : type

    Returns
    -------
    frozenset of str or None

    Examples
    --------
    >>> from skhsi.anomaly import RXDetector
    >>> sorted(documented_attributes(RXDetector))[:2]
    ['covariance_', 'location_']
    """
    doc = inspect.getdoc(cls)
    if not doc:
        return None
    lines = doc.splitlines()
    names = set()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == "Attributes" and set(lines[i + 1].strip()) == {"-"}:
            for entry, underline in zip(lines[i + 2:], lines[i + 3:] + [""]):
                if underline.strip() and set(underline.strip()) == {"-"}:
                    break  # the next section's title
                if entry and not entry[0].isspace():
                    names.update(n.strip() for n in entry.partition(" : ")[0].split(","))
    return frozenset(names)


def is_torch_node(obj):
    """Whether ``obj`` is a node with weights (a :class:`skhsi._node.TorchNode`).

    Answered without importing torch: no such node exists until the module
    defining them has been imported.
    """
    node = sys.modules.get("skhsi._node")
    return node is not None and isinstance(obj, node.TorchNode)


def as_pixels(X):
    """Split ``X`` into a pixel table and its leading shape.

    Parameters
    ----------
    X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

    Returns
    -------
    pixels : ndarray of shape (n_pixels, C)
    leading_shape : tuple
        ``X.shape[:-1]``; ``restore_shape`` puts it back.

    Examples
    --------
    >>> import numpy as np
    >>> pixels, lead = as_pixels(np.zeros((4, 5, 3)))
    >>> pixels.shape, lead
    ((20, 3), (4, 5))
    """
    if sparse.issparse(X):
        raise TypeError(
            f"Sparse input is not supported: expected {_SHAPES} as a dense array, "
            f"got {type(X).__name__}; convert it with X.toarray()."
        )
    if not (hasattr(X, "__array__") or isinstance(X, (list, tuple))):
        raise TypeError(f"Expected {_SHAPES} as an array, got {type(X).__name__}.")
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        X = np.asarray(X)
        ndim = X.ndim
    if ndim == 2:
        return X, None
    if ndim not in (3, 4):
        shape = np.shape(X)
        raise ValueError(
            f"Expected {_SHAPES}; got a {ndim}-D array of shape {shape}. "
            "Reshape your data: a single spectrum is X.reshape(1, -1)."
        )
    X = np.asarray(X)
    return X.reshape(-1, X.shape[-1]), X.shape[:-1]


def restore_shape(values, leading_shape):
    """Reshape per-pixel ``values`` to ``leading_shape`` (+ trailing dims)."""
    if leading_shape is None:
        return values
    return values.reshape(tuple(leading_shape) + values.shape[1:])


class SpatialReach(NamedTuple):
    """How far a step's output at one pixel looks into its image.

    Attributes
    ----------
    halo : int or "global"
        Pixels (Chebyshev distance, in the step's input grid) that the output
        at a pixel depends on: 0 for per-pixel steps, the half-window of a
        convolution or a local window, ``GLOBAL`` for steps whose output
        depends on the whole image.
    multiple : int
        Blocks must start at, and span, multiples of this many pixels for
        their outputs to equal the whole image's (pooling grids).
    zoom : Fraction
        Output pixels per input pixel along each axis (1 unless the step
        pools or upsamples).
    """

    halo: object = 0
    multiple: int = 1
    zoom: Fraction = Fraction(1)

    @property
    def is_global(self):
        return self.halo == GLOBAL

    @property
    def blockwise(self):
        """Whether blocks with a halo of ``halo`` rows give the whole image's outputs."""
        return not self.is_global and self.zoom == 1


def spatial_reach(estimator):
    """The :class:`SpatialReach` of a step, a pipeline or an ensemble.

    Every skhsi estimator declares its reach (``_spatial_reach()``); a
    pipeline's adds up along its steps (a step after a pooling step reaches
    further in the input's pixels), an ensemble's is its widest member's, and
    anything else (a scikit-learn transformer or detector of pixel tables)
    reaches 0. Serving, dask scoring and tiled inference read this one
    declaration.

    Examples
    --------
    >>> from skhsi.anomaly import LocalRXDetector, RXDetector
    >>> from skhsi.base import spatial_reach
    >>> from skhsi.pipeline import make_pipeline
    >>> from skhsi.spatial import SobelEdges
    >>> spatial_reach(RXDetector()).halo, spatial_reach(LocalRXDetector()).halo
    (0, 10)
    >>> spatial_reach(make_pipeline(SobelEdges(), LocalRXDetector())).halo
    11
    """
    steps = getattr(estimator, "steps", None)
    if steps is not None:
        return chain_reach(spatial_reach(step) for _, step in steps
                           if step is not None and step != "passthrough")
    declared = getattr(estimator, "_spatial_reach", None)
    if declared is None:
        return SpatialReach()
    return declared()


def chain_reach(reaches):
    """The reach of steps applied one after the other (in the first step's pixels)."""
    halo, multiple, zoom = 0, 1, Fraction(1)
    for reach in reaches:
        if reach.is_global:
            return SpatialReach(GLOBAL, 1, zoom * reach.zoom)
        halo += math.ceil(reach.halo / zoom)
        multiple = math.lcm(multiple, math.ceil(reach.multiple / zoom))
        zoom *= reach.zoom
    return SpatialReach(halo, multiple, zoom)


def widest_reach(reaches):
    """The reach of steps applied side by side to one image (an ensemble's members)."""
    reaches = list(reaches) or [SpatialReach()]
    if any(r.is_global for r in reaches):
        return SpatialReach(GLOBAL, 1, reaches[0].zoom)
    return SpatialReach(max(r.halo for r in reaches),
                        math.lcm(*(r.multiple for r in reaches)), reaches[0].zoom)


class SpectralMixin:
    """Validation of pixel tables, cubes and batches of cubes.

    ``_validate_spectral`` returns a validated float pixel table and the
    leading shape; ``_check_spectral`` does the same for a fitted estimator,
    checking the band count learned in ``fit``. The data methods of every
    subclass (``fit``, ``transform``, ``anomaly_score``, ...) also take an
    :class:`xarray.DataArray` and give one back (:mod:`skhsi._xarray`).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        from ._xarray import wrap_methods

        wrap_methods(cls, inherited=True)

    def _validate_spectral(self, X, *, reset, dtype=None):
        pixels, lead = as_pixels(X)
        dtype = [np.float64, np.float32] if dtype is None else dtype
        pixels = validate_data(self, pixels, reset=reset, dtype=dtype)
        check_finite_values(pixels, type(self).__name__)
        return pixels, lead

    def _check_spectral(self, X, dtype=None):
        check_is_fitted(self)
        return self._validate_spectral(X, reset=False, dtype=dtype)

    def _spatial_reach(self):
        """Per-pixel: the output at a pixel depends on its spectrum alone."""
        return SpatialReach()

    def _restore(self):
        """Recompute derived state after :func:`skhsi.persistence.load_weights`.

        The fitted attributes a model file holds are set first; a node whose
        other state derives from them (RX's inverse covariance, a selector's
        chosen bands) rebuilds it here.
        """
        return self


class ModuleStepMixin:
    """The contract of a step that has a torch counterpart.

    A step with this mixin can sit inside the chain of torch modules that a
    :class:`skhsi.pipeline.Pipeline` trains end to end. It declares

    - ``sample_layout`` (class attribute, one of :data:`SAMPLE_LAYOUTS`):
      what its module consumes. Per-pixel steps are ``"pixel"``: their module
      maps channels-last tensors of any leading shape ``(..., C)`` to
      ``(..., K)``;
    - ``_as_module()``: a torch module computing what ``transform`` computes,
      from the fitted state (a new module or a copy: the step's own state is
      never changed by training the chain);
    - ``_from_module(module)``: copies trained parameters back; called only
      on steps with ``trainable=True`` after the chain was trained. Steps
      without trainable parameters keep the default, which refuses.
    """

    sample_layout = "pixel"

    def _as_module(self):  # pragma: no cover - every subclass implements it
        raise NotImplementedError(f"{type(self).__name__} must implement _as_module().")

    def _from_module(self, module):
        raise ValueError(f"{type(self).__name__} has no trainable parameters to copy back.")
