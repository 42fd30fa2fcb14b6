"""Torch modules that reproduce fitted skhsi steps, and their export to ONNX.

:mod:`skhsi.export` reads the fitted state of every step of a detector or a
pipeline into a *stage*: a kind and its numbers (``("standardize", {"mean":
..., "scale": ...})``) or a fitted torch module. :func:`build_graph` turns the
stages into one module, and :func:`export_onnx` exports it with
``torch.onnx.export(..., dynamo=True)``, the ``torch.export``-based exporter
(it needs ``onnxscript``; the TorchScript exporter is deprecated).

Precision follows skhsi's: the statistical steps (band selection, per-band
and per-pixel scaling, projections, RX) compute in float64, as skhsi does
with the integer or float64 cubes that sensors deliver; the networks compute
in float32, as skhsi's do. The graph takes float32 and returns float32.
"""

import contextlib
import copy
import logging
import warnings

import torch
from torch import nn

from ._mixer import batch_min_max
from ._preprocessing import BandSelect, PerPixelUnitNorm
from ._scaling import PerPixelStandardize

__all__ = ["STAGE_KINDS", "build_graph", "export_onnx"]


def _buffer(module, name, values):
    module.register_buffer(name, torch.as_tensor(values, dtype=torch.float64).clone())


class Standardize(nn.Module):
    """``(x - mean) / scale`` per band (z-score, ``StandardScaler``)."""

    def __init__(self, mean, scale):
        super().__init__()
        _buffer(self, "mean", mean)
        _buffer(self, "scale", scale)

    def forward(self, x):
        return (x - self.mean) / self.scale


class Affine(nn.Module):
    """``x * scale + offset`` per band, clipped to ``clip`` when given (min-max scaling)."""

    def __init__(self, scale, offset, clip=None):
        super().__init__()
        _buffer(self, "scale", scale)
        _buffer(self, "offset", offset)
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))

    def forward(self, x):
        x = x * self.scale + self.offset
        return x if self.clip is None else x.clamp(*self.clip)


class Projection(nn.Module):
    """``(x - mean) @ components.T``, divided by ``divisor`` when given (PCA, soft selection)."""

    def __init__(self, mean, components, divisor=None):
        super().__init__()
        _buffer(self, "mean", mean)
        _buffer(self, "components_t", torch.as_tensor(components, dtype=torch.float64).T)
        self.whiten = divisor is not None
        if self.whiten:
            _buffer(self, "divisor", divisor)

    def forward(self, x):
        z = (x - self.mean) @ self.components_t
        return z / self.divisor if self.whiten else z


class Mahalanobis(nn.Module):
    """RX: ``||(x - location) @ whitener||^2``, with ``whitener = L^-T`` of the covariance."""

    def __init__(self, location, whitener):
        super().__init__()
        _buffer(self, "location", location)
        _buffer(self, "whitener", whitener)

    def forward(self, x):
        white = (x - self.location) @ self.whitener
        return (white * white).sum(dim=-1)


class MixThenScale(nn.Module):
    """A channel mixer's raw output, min-max scaled over all rows (one image) when asked."""

    def __init__(self, mixer, eps=None):
        super().__init__()
        self.mixer = mixer
        self.eps = eps

    def forward(self, x):
        z = self.mixer.mix(x.float()).double()
        return z if self.eps is None else batch_min_max(z, self.eps)


class _Float32(nn.Module):
    """A fitted float32 network, given float32 input whatever came before."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x.float())


def _fitted(module):
    return copy.deepcopy(module).cpu().float().eval()


def _stage(kind, params):
    if kind == "select":
        return BandSelect(params["indices"])
    if kind == "standardize":
        return Standardize(params["mean"], params["scale"])
    if kind == "affine":
        return Affine(params["scale"], params["offset"], params.get("clip"))
    if kind == "project":
        return Projection(params["mean"], params["components"], params.get("divisor"))
    if kind == "unit_norm":
        return PerPixelUnitNorm(params["eps"])
    if kind == "pixel_standardize":
        return PerPixelStandardize(params["eps"])
    if kind == "mixer":
        return MixThenScale(_fitted(params["module"]), params.get("eps"))
    if kind == "mahalanobis":
        return Mahalanobis(params["location"], params["whitener"])
    if kind == "network":
        return _Float32(_fitted(params["module"]))
    raise ValueError(f"Unknown stage kind {kind!r}; expected one of {STAGE_KINDS}.")


#: What :func:`build_graph` accepts; ``"image_network"`` only as the last stage.
STAGE_KINDS = ("select", "standardize", "affine", "project", "unit_norm",
               "pixel_standardize", "mixer", "mahalanobis", "network", "image_network")


def _reflect(size, start, stop):
    """Indices ``start .. stop-1`` of an axis of ``size``, reflected at its ends (any depth)."""
    idx = torch.arange(start, stop)
    period = torch.full((), 2 * (size - 1), dtype=torch.long).clamp_min(1)
    idx = torch.remainder(idx, period)
    return torch.where(idx >= size, period - idx, idx)


class PixelGraph(nn.Module):
    """A pixel table ``(n, C)`` float32 through the stages, float32 out."""

    def __init__(self, stages):
        super().__init__()
        self.stages = nn.ModuleList(stages)

    def forward(self, pixels):
        x = pixels.double()
        for stage in self.stages:
            x = stage(x)
        return x.float()


class CubeGraph(nn.Module):
    """A cube ``(H, W, C)`` float32: per-pixel stages, then a fully convolutional head.

    The head sees the cube reflected at its borders by ``halo`` pixels and
    padded to a multiple of ``multiple``, as skhsi's tiled inference reads
    it, and its output is cropped back to ``(H, W)``.
    """

    def __init__(self, stages, head, *, halo, multiple):
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.head = head
        self.halo = int(halo)
        self.multiple = int(multiple)

    def forward(self, cube):
        height, width, bands = cube.shape
        x = cube.reshape(height * width, bands).double()
        for stage in self.stages:
            x = stage(x)
        x = x.float().reshape(1, height, width, x.shape[-1])
        m, halo = self.multiple, self.halo
        rows = _reflect(height, -halo, (height + m - 1) // m * m + halo)
        cols = _reflect(width, -halo, (width + m - 1) // m * m + halo)
        x = x.index_select(1, rows).index_select(2, cols)
        out = self.head(x)[0]
        return out[halo:halo + height, halo:halo + width].float()


def build_graph(stages):
    """One module computing ``stages``: a list of ``(kind, params)``.

    A last stage ``("image_network", {"module", "halo", "multiple"})`` makes
    a :class:`CubeGraph` (cube in, map out); otherwise a :class:`PixelGraph`.
    """
    *pixel, last = stages
    if last[0] == "image_network":
        params = last[1]
        return CubeGraph([_stage(*s) for s in pixel], _fitted(params["module"]),
                         halo=params["halo"], multiple=params["multiple"]).eval()
    return PixelGraph([_stage(*s) for s in stages]).eval()


def export_onnx(graph, n_bands, *, cube, opset=None, input_name, output_name):
    """The ONNX model of ``graph`` (an ``onnx.ModelProto``), with dynamic leading axes.

    ``cube=False``: input ``(n_pixels, n_bands)``; ``cube=True``: input
    ``(height, width, n_bands)``. The example input used to trace the graph
    has 8 (or 16 x 16) rows so that no axis is specialised to 0 or 1.
    """
    from torch.export import Dim

    if cube:
        example = torch.zeros(16, 16, n_bands)
        dims = {0: Dim("height", min=1), 1: Dim("width", min=1)}
    else:
        example = torch.zeros(8, n_bands)
        dims = {0: Dim("n_pixels", min=0)}
    with torch.no_grad(), _quiet_exporter():
        program = torch.onnx.export(
            graph, (example,), dynamo=True, opset_version=opset, input_names=[input_name],
            output_names=[output_name], dynamic_shapes=(dims,),
            external_data=False, verbose=False,
        )
    return program.model_proto


@contextlib.contextmanager
def _quiet_exporter():
    """Silence what the exporter says about itself (a missing torchvision, deprecations
    inside torch) for the duration of one export; the caller's settings come back after."""
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
            yield
    finally:
        logger.setLevel(level)
