"""ONNX export of fitted detectors and pipelines.

:func:`to_onnx` writes the inference graph of a fitted skhsi detector,
transformer or pipeline (skhsi's or scikit-learn's) as an ONNX model that
onnxruntime, or any ONNX runtime, serves without skhsi, torch or
scikit-learn. This module reads the fitted state of every step; the torch
modules that mirror the steps and the export itself live in
:mod:`skhsi.nn._export`, imported on the first call (``import skhsi.export``
loads no torch). It needs the ``onnx`` extra: ``pip install skhsi[onnx]``.
"""

import json
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline as _SkPipeline
from sklearn.utils.validation import check_is_fitted

from . import __version__
from ._files import atomic_write
from .base import is_torch_node, spatial_reach

__all__ = ["to_onnx"]

# Steps that cannot be exported, and why (the error names the step and says so).
_SPATIAL_DETECTOR = ("scores a pixel from its image neighbourhood with scipy filters and "
                     "iterative per-image computations that have no ONNX counterpart")
_REFUSED = {
    "AttributeFilterDetector": _SPATIAL_DETECTOR,
    "LearnedBackgroundDetector": _SPATIAL_DETECTOR,
    "LocalRXDetector": _SPATIAL_DETECTOR,
    "LowRankSparseDetector": "decomposes every image it scores by an iterative solver "
                             "(robust PCA), which is not a fixed inference graph",
    "ConsensusDetector": "ranks its members' scores against stored training scores; export "
                         "the members one by one instead",
    "QuantileBinaryDecider": "thresholds each image at its own quantile; apply the quantile "
                             "to the exported scores",
    "RecallThresholdDecider": "is a threshold, not a graph; compare the exported scores "
                              "with its threshold_",
    "SpectralMLPClassifier": "is a classifier; to_onnx exports anomaly scores and transforms",
    "SobelEdges": "is a spatial filter (scipy.ndimage) outside skhsi's torch chain",
    "Pool2D": "is a spatial filter (scipy.ndimage) outside skhsi's torch chain",
    "BandConvolution": "is a spatial transform; only a detector with weights may be spatial",
    "Upsample2D": "is a spatial transform; only a detector with weights may be spatial",
    "PatchFeatures": "is a spatial transform; only a detector with weights may be spatial",
}


def to_onnx(estimator, path, *, opset=None):
    """Export a fitted detector, transformer or pipeline to an ONNX file.

    The graph reproduces what skhsi computes: for a detector (or a pipeline
    ending in one) its ``anomaly_score`` (higher = more anomalous); for a
    transformer or a pipeline of transformers its ``transform``. The input is
    a float32 pixel table ``(n_pixels, n_bands)`` with a dynamic first axis,
    named ``"pixels"``; a pipeline whose detector is spatial (an
    :class:`~skhsi.anomaly.AutoencoderDetector` with ``spatial=True``) takes
    one cube ``(height, width, n_bands)``, named ``"cube"``, with dynamic
    height and width. The output, float32, is ``"anomaly_score"`` of shape
    ``(n_pixels,)`` or ``(height, width)``, or ``"features"`` of shape
    ``(n_pixels, n_features)``.

    The file's metadata (``metadata_props``) records the skhsi version, the
    classes of the steps, the band count, the input wavelengths when the
    model was fitted with them, and, for a detector, ``anomaly_threshold``
    (``-offset_``: ``predict`` flags scores above it).

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A skhsi estimator, a :class:`skhsi.pipeline.Pipeline` or a
        scikit-learn ``Pipeline`` of exportable steps (``"passthrough"``
        steps are skipped, nested pipelines are followed).
    path : str or path-like
        The ``.onnx`` file to write. It is written through a temporary file
        and moved into place: on any error nothing is written.
    opset : int or None, default=None
        The ONNX opset; ``None`` takes the exporter's default. At least 18.

    Returns
    -------
    onnx.ModelProto
        The model that was written.

    Raises
    ------
    TypeError
        A step has no ONNX counterpart (e.g. ``AttributeFilterDetector``,
        ``IsolationForest``, a fitted ``SVC``); the message names the step
        and its class.
    ValueError
        A step that may only come last does not, or ``opset`` is too old.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from skhsi.anomaly import RXDetector
    >>> from skhsi.datasets import make_synthetic_scene
    >>> from skhsi.export import to_onnx
    >>> scene = make_synthetic_scene((20, 20, 8), random_state=0)
    >>> rx = RXDetector().fit(scene.cube)
    >>> path = os.path.join(tempfile.mkdtemp(), "rx.onnx")
    >>> model = to_onnx(rx, path)
    >>> session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    >>> pixels = scene.cube.reshape(-1, 8).astype(np.float32)
    >>> scores = session.run(None, {"pixels": pixels})[0]
    >>> scores.shape, bool(np.allclose(scores, rx.anomaly_score(pixels), rtol=1e-5))
    ((400,), True)
    """
    if opset is not None and (isinstance(opset, bool) or not isinstance(opset, (int, np.integer))
                              or opset < 18):
        raise ValueError(f"opset must be an integer of at least 18 (the torch.export-based "
                         f"exporter's oldest), or None; got {opset!r}.")
    _require_onnx()
    steps = _flatten(estimator)
    stages, kind = _stages(steps)
    first = steps[0][1]
    n_bands = int(first.n_features_in_)
    cube = stages[-1][0] == "image_network"
    input_name = "cube" if cube else "pixels"
    output_name = "features" if kind == "transform" else "anomaly_score"

    from .nn import _export

    graph = _export.build_graph(stages)
    model = _export.export_onnx(graph, n_bands, cube=cube, opset=opset,
                                input_name=input_name, output_name=output_name)
    _set_metadata(model, estimator, steps, n_bands, input_name, output_name, kind)
    import onnx

    onnx.checker.check_model(model)
    data = model.SerializeToString()
    atomic_write(Path(path), lambda fh: fh.write(data))
    return model


def _require_onnx():
    missing = []
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(f"skhsi.export.to_onnx needs {' and '.join(missing)}: install the "
                          "extra with pip install 'skhsi[onnx]'.")


def _flatten(estimator, prefix=""):
    """``[(name, step), ...]`` of a (nested) pipeline, without passthrough steps."""
    if isinstance(estimator, _SkPipeline):
        steps = []
        for name, step in estimator.steps:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            steps += _flatten(step, f"{prefix}{name}__")
        if not steps:
            raise ValueError("The pipeline has no step to export (all are passthrough).")
        return steps
    if isinstance(estimator, type):
        raise TypeError(f"to_onnx expects a fitted estimator; got the class "
                        f"{estimator.__name__}.")
    return [(prefix.rstrip("_") or type(estimator).__name__, estimator)]


def _refuse(name, step, reason):
    return TypeError(f"Step {name!r} ({type(step).__name__}) cannot be exported to ONNX: it "
                     f"{reason}. Exportable steps: {_exportable()}.")


def _exportable():
    """The steps ``to_onnx`` converts, from the converters themselves."""
    by_package = {}
    for key in _CONVERTERS:
        package, name = key.split(".")
        by_package.setdefault(package, []).append(name)
    return ("skhsi: " + ", ".join(by_package["skhsi"])
            + ", and any other skhsi detector with weights; scikit-learn: "
            + ", ".join(by_package["sklearn"]))


def _stages(steps):
    """The stages of the graph, and whether it ends in a score or a transform."""
    stages = []
    for i, (name, step) in enumerate(steps):
        last = i == len(steps) - 1
        cls = type(step).__name__
        if cls in _REFUSED and type(step).__module__.startswith("skhsi."):
            raise _refuse(name, step, _REFUSED[cls])
        convert = _converter(step)
        if convert is None:
            raise _refuse(name, step, "has no torch or ONNX equivalent in skhsi.export")
        check_is_fitted(step)
        stage, kind = convert(step)
        if kind == "score" and not last:
            raise ValueError(f"Step {name!r} ({cls}) gives anomaly scores, so it must be the "
                             "last step of the pipeline to be exported.")
        if stage is not None:
            stages.append(stage)
    if not stages:
        stages.append(("select", {"indices": np.arange(steps[0][1].n_features_in_)}))
    return stages, kind


def _converter(step):
    """The step's converter: its class's (or a parent's), else the default of a detector
    with weights (its network's scores), else ``None``."""
    for cls in type(step).__mro__:
        key = f"{cls.__module__.split('.')[0]}.{cls.__name__}"
        if key in _CONVERTERS:
            return _CONVERTERS[key]
    if is_torch_node(step) and hasattr(step, "anomaly_score"):
        return _network
    return None


# -- converters: fitted state -> (stage, "transform" | "score") -------------------------
def _select(step):
    indices = np.asarray(step.selected_bands_, dtype=np.int64)
    if np.array_equal(indices, np.arange(step.n_features_in_)):
        return None, "transform"  # every band, in order: nothing to compute
    return ("select", {"indices": indices}), "transform"


def _concrete(step):
    if step.use_hard_inference:
        return _select(step)
    weights = np.asarray(step.selection_weights_, dtype=np.float64)
    return ("project", {"mean": np.zeros(weights.shape[1]), "components": weights}), "transform"


def _zscore(step):
    return ("standardize", {"mean": step.mean_, "scale": step.std_ + step.eps}), "transform"


def _minmax(step):
    return ("affine", {"scale": step.scale_, "offset": step.min_}), "transform"


def _unit_norm(step):
    return ("unit_norm", {"eps": step.eps}), "transform"


def _pixel_standardize(step):
    return ("pixel_standardize", {"eps": step.eps}), "transform"


def _trainable_pca(step):
    from .decomposition._pca import whitening_scale

    divisor = whitening_scale(step.explained_variance_, step.eps) if step.whiten else None
    return ("project", {"mean": step.mean_, "components": step.components_,
                        "divisor": divisor}), "transform"


def _mixer(step):
    eps = step.module_.eps if step.normalize_output else None
    return ("mixer", {"module": step.module_, "eps": eps}), "transform"


def _rx(step):
    from .anomaly._rx import whitener

    check_is_fitted(step)
    return ("mahalanobis", {"location": step.location_,
                            "whitener": whitener(step.covariance_)}), "score"


def _network(step):
    check_is_fitted(step, "offset_")
    if step.sample_layout == "image":
        halo, multiple, _ = spatial_reach(step)
        return ("image_network", {"module": step.module_, "halo": halo,
                                  "multiple": multiple}), "score"
    return ("network", {"module": step.module_}), "score"


def _sk_standard(step):
    n = step.n_features_in_
    mean = np.zeros(n) if step.mean_ is None else step.mean_
    scale = np.ones(n) if step.scale_ is None else step.scale_
    return ("standardize", {"mean": mean, "scale": scale}), "transform"


def _sk_minmax(step):
    clip = tuple(step.feature_range) if step.clip else None
    return ("affine", {"scale": step.scale_, "offset": step.min_, "clip": clip}), "transform"


def _sk_pca(step):
    divisor = None
    if step.whiten:
        divisor = np.sqrt(step.explained_variance_)
        divisor = np.maximum(divisor, np.finfo(divisor.dtype).eps)
    return ("project", {"mean": step.mean_, "components": step.components_,
                        "divisor": divisor}), "transform"


_CONVERTERS = {
    "skhsi.BandpassByWavelength": _select,
    "skhsi.BandSampler": _select,
    "skhsi.ConcreteBandSelector": _concrete,
    "skhsi.ZScoreNormalizerGlobal": _zscore,
    "skhsi.MinMaxScalerPerBand": _minmax,
    "skhsi.PerPixelUnitNorm": _unit_norm,
    "skhsi.PerPixelStandardizer": _pixel_standardize,
    "skhsi.TrainablePCA": _trainable_pca,
    "skhsi.LearnableChannelMixer": _mixer,
    "skhsi.RXDetector": _rx,
    "sklearn.StandardScaler": _sk_standard,
    "sklearn.MinMaxScaler": _sk_minmax,
    "sklearn.PCA": _sk_pca,
}


def _set_metadata(model, estimator, steps, n_bands, input_name, output_name, kind):
    model.producer_name = "skhsi"
    model.producer_version = __version__
    model.doc_string = (f"{type(estimator).__name__} exported by skhsi {__version__}: "
                        f"{input_name} -> {output_name}")
    props = {
        "skhsi_version": __version__,
        "estimator": type(estimator).__name__,
        "steps": json.dumps([[name, type(step).__name__] for name, step in steps]),
        "n_bands": str(n_bands),
        "input": input_name,
        "output": output_name,
    }
    wavelengths = getattr(steps[0][1], "wavelengths_in_", None)
    if wavelengths is not None:
        props["wavelengths"] = json.dumps([float(w) for w in wavelengths])
    if kind == "score":
        props["score"] = "anomaly_score: higher is more anomalous"
        offset = getattr(steps[-1][1], "offset_", None)
        if offset is not None:
            props["anomaly_threshold"] = repr(-float(offset))
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
