"""Weights-only saving and loading of fitted skhsi estimators and pipelines.

``joblib``/``pickle`` round trips are exact but run code on load, so a file
from an untrusted source must not be unpickled. :func:`save_weights` writes
only numbers, strings, lists/dicts of them and numeric arrays (a JSON tree
and ``.npy`` arrays in an uncompressed zip, read back with
``allow_pickle=False``), with a SHA-256 checksum over all of it;
:func:`load_weights` verifies the checksum, rebuilds the estimator from its
class — which must be one of skhsi's public estimator classes —, validates
its parameters, sets only fitted attributes (public names ending in ``_``),
and checks that the result can score data. Neither needs torch unless the
model holds a torch module. Training-only objects (the skorch ``net_``,
callbacks) and paths (a pipeline's ``memory``, ``tensorboard_dir``) are
neither saved nor restored. Every problem with a file is a ``ValueError``
naming it.
"""

import hashlib
import importlib
import io
import json
import numbers
import os
import sys
import zipfile

import numpy as np

from ._files import atomic_write, naming_file
from ._registry import ESTIMATOR_PACKAGES
from .base import SpectralMixin, documented_attributes, is_torch_node

__all__ = ["save_weights", "load_weights", "file_sha256"]

_FORMAT = "skhsi-weights-3"
#: Files of this format (torch's pickle-free subset) still load, through torch.
_TORCH_FORMAT = "skhsi-weights-2"
#: Parameters that name places or code: never saved, defaults on load.
_NOT_RESTORED = ("memory", "callbacks", "tensorboard_dir")
_ALLOWED_MODULES = tuple(f"skhsi.{package}" for package in ESTIMATOR_PACKAGES) \
    + ("skhsi.pipeline",)
#: The most bands a model may declare: the load-time probe allocates a few pixels of it.
MAX_FEATURES = 100_000
#: Torch dtypes a module's state may hold, by name.
_TENSOR_DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32",
                  "int64", "uint8", "bool", "complex64", "complex128")


def save_weights(estimator, path):
    """Save a fitted skhsi estimator or Pipeline without pickled code.

    The file is a zip holding ``format.npy``, ``sha256.npy`` and
    ``body.npy``; the body is itself an ``.npz`` of a JSON tree (class names,
    parameters, fitted attributes) and the numeric arrays it refers to. It is
    written atomically: a reader sees the old file or the whole new one.

    Parameters
    ----------
    estimator : fitted skhsi estimator or :class:`skhsi.pipeline.Pipeline`
    path : str or path

    Returns
    -------
    str
        The SHA-256 of the written file, as ``sha256sum`` prints it: give it
        to :func:`load_weights` (or ``skhsi score --model-sha256``) to load
        exactly this model and nothing else.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from skhsi.anomaly import RXDetector
    >>> from skhsi.persistence import save_weights, load_weights
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> rx = RXDetector().fit(X)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     digest = save_weights(rx, os.path.join(tmp, "rx.skhsi"))
    ...     again = load_weights(os.path.join(tmp, "rx.skhsi"), sha256=digest)
    >>> bool(np.array_equal(again.anomaly_score(X), rx.anomaly_score(X)))
    True
    """
    arrays = []
    tree = {"estimator": _encode_estimator(estimator, arrays)}
    body = _npz({"tree": np.array(json.dumps(tree, allow_nan=True))}
                | {f"a{i}": array for i, array in enumerate(arrays)})
    content = _npz({"format": np.array(_FORMAT),
                    "sha256": np.array(hashlib.sha256(body).hexdigest()),
                    "body": np.frombuffer(body, dtype=np.uint8)})
    atomic_write(os.path.abspath(os.fspath(path)), lambda f: f.write(content))
    return hashlib.sha256(content).hexdigest()


def file_sha256(path):
    """The SHA-256 of a file's bytes, as ``sha256sum`` prints it.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    str
        64 lowercase hexadecimal digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_weights(path, *, sha256=None):
    """Load an estimator written by :func:`save_weights`.

    The file's own checksum guards its integrity (damage, truncation, a
    change after saving), not its origin: anyone can write a valid file.
    To load only a model you know, pin it by the digest that
    :func:`save_weights` returned (or ``sha256sum`` printed where it was
    made).

    Parameters
    ----------
    path : str or path
    sha256 : str or None, default=None
        The expected SHA-256 of the whole file (64 hexadecimal digits). The
        file is refused, before anything in it is read, when its digest
        differs.

    Returns
    -------
    estimator
        The fitted estimator or pipeline.

    Raises
    ------
    ValueError
        For any file that is not an intact skhsi weights file: unreadable,
        truncated, foreign, of another format, with a checksum that does not
        match (damaged or altered) or a digest other than ``sha256``, naming
        a class that is not a public skhsi estimator, with invalid
        parameters, with state the class does not have, declaring more than
        ``MAX_FEATURES`` bands, or whose state does not fit together or
        scores non-finite values.
    """
    if sha256 is not None:
        _check_digest(path, sha256)
    kind = _read(lambda: _container_kind(path), path, "not a readable weights file")
    if kind == "torch":
        content = _load_torch_format(path)
        return _read(lambda: _decode_estimator(content["estimator"], None), path,
                     "its estimator cannot be rebuilt")
    outer = _read(lambda: _load_npz(path), path, "not a readable weights file")
    found = _text(outer.get("format"))
    if found != _FORMAT:
        raise ValueError(f"{path} is not a skhsi weights file (expected format {_FORMAT!r}"
                         + (f", found {found!r}" if found else "") + ").")
    body, digest = outer.get("body"), _text(outer.get("sha256"))
    if body is None or body.dtype != np.uint8 or body.ndim != 1 or digest is None:
        raise ValueError(f"{path}: the weights file lacks its body or checksum.")
    raw = body.tobytes()
    if hashlib.sha256(raw).hexdigest() != digest:
        raise ValueError(f"{path}: the checksum does not match: the file is damaged or was "
                         "altered after it was saved.")
    inner = _read(lambda: _load_npz(io.BytesIO(raw)), path, "its body is not readable")
    tree = _read(lambda: json.loads(_text(inner.pop("tree", None)) or "null"), path,
                 "its body is not readable")
    if not isinstance(tree, dict) or "estimator" not in tree:
        raise ValueError(f"{path}: the weights file holds no estimator.")
    return _read(lambda: _decode_estimator(tree["estimator"], inner), path,
                 "its estimator cannot be rebuilt")


def _check_digest(path, expected):
    if not (isinstance(expected, str) and len(expected) == 64
            and all(c in "0123456789abcdefABCDEF" for c in expected)):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {expected!r}.")
    try:
        actual = file_sha256(path)
    except OSError as exc:
        raise ValueError(f"{path}: not a readable weights file ({type(exc).__name__}: "
                         f"{exc}).") from exc
    if actual != expected.lower():
        raise ValueError(f"{path}: its SHA-256 is {actual}, not the expected {expected.lower()}: "
                         "this is not the pinned model.")


def _npz(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _container_kind(path):
    """``"npz"`` for this format, ``"torch"`` for the earlier torch-based one."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any(name.endswith("data.pkl") for name in names):
        return "torch"
    return "npz"


def _load_npz(source):
    """Every array of an uncompressed ``.npz``, read without unpickling."""
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"member {info.filename!r} is compressed; a weights file "
                                 "stores its members as they are.")
    if hasattr(source, "seek"):
        source.seek(0)
    with np.load(source, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _text(value):
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind == "U":
        return str(value)
    return None


def _load_torch_format(path):
    """A file of the earlier format: torch's pickle-free loader (needs torch)."""
    import torch

    from .nn._state import load_tensors

    payload = _read(lambda: load_tensors(path), path, "not a readable weights file")
    if not isinstance(payload, dict) or payload.get("format") != _TORCH_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else None
        raise ValueError(f"{path} is not a skhsi weights file (expected format {_FORMAT!r}"
                         + (f", found {found!r}; save the model again" if found else "")
                         + ").")
    body, digest = payload.get("body"), payload.get("sha256")
    if not isinstance(body, torch.Tensor) or body.dtype != torch.uint8 or body.ndim != 1 \
            or not isinstance(digest, str):
        raise ValueError(f"{path}: the weights file lacks its body or checksum.")
    raw = body.numpy().tobytes()
    if hashlib.sha256(raw).hexdigest() != digest:
        raise ValueError(f"{path}: the checksum does not match: the file is damaged or was "
                         "altered after it was saved.")
    content = _read(lambda: torch.load(io.BytesIO(raw), weights_only=True), path,
                    "its body is not readable")
    if not isinstance(content, dict) or "estimator" not in content:
        raise ValueError(f"{path}: the weights file holds no estimator.")
    return content


def _read(step, path, what):
    """Run ``step``; any failure is a ``ValueError`` naming the file."""
    import pickle

    try:
        return naming_file(path, what, step,
                           (OSError, EOFError, RuntimeError, KeyError, TypeError,
                            AttributeError, IndexError, zipfile.BadZipFile))
    except pickle.UnpicklingError as exc:
        if "unsupported global" not in str(exc).lower():  # no code in it: damaged or foreign
            raise ValueError(f"{path}: {what} (the data is not a weights file's).") from exc
        raise ValueError(
            f"{path}: refused: the file holds pickled objects other than tensors and plain "
            "values, which could run code when loaded; a skhsi weights file never does. "
            "Do not load it with pickle or torch.load(weights_only=False) unless you trust "
            "its source."
        ) from exc


def _encode_estimator(estimator, arrays):
    cls = type(estimator)
    if not cls.__module__.startswith("skhsi."):
        raise TypeError(
            f"save_weights saves skhsi estimators, got {cls.__module__}.{cls.__name__}; "
            "save an estimator with other parts (e.g. an ensemble with a scikit-learn "
            "member) with joblib, from a trusted source only."
        )
    public = _public_module(cls)
    params = {key: value for key, value in estimator.get_params(deep=False).items()
              if key not in _NOT_RESTORED}
    state = {}
    if "steps" in params:
        params = dict(params, steps=[[name, _encode_estimator(step, arrays)]
                                     for name, step in params["steps"]])
    else:
        if estimator.get_params(deep=False).get("callbacks"):
            raise ValueError("Estimators with callbacks cannot be saved weights-only; "
                             "set callbacks=None first.")
        module = _module_attribute(estimator)
        state = {key: _encode_value(value, arrays) for key, value in vars(estimator).items()
                 if key.endswith("_") and key not in ("net_", module) and key not in params}
        if module is not None and getattr(estimator, module, None) is not None:
            # fitted (an unfitted one, e.g. an ensemble's member parameter, has no module)
            state[module] = {"__module_state__": _encode_module_state(
                getattr(estimator, module).state_dict(), arrays)}
    return {"class": f"{public}.{cls.__name__}",
            "params": {k: _encode_value(v, arrays) for k, v in params.items() if k != "steps"}
            | ({"steps": params["steps"]} if "steps" in params else {}),
            "state": state}


def _encode_module_state(state_dict, arrays):
    """A torch ``state_dict`` as arrays (bfloat16, which numpy lacks, as float32)."""
    import torch

    entries = {}
    for name, tensor in state_dict.items():
        dtype = str(tensor.dtype).removeprefix("torch.")
        values = tensor.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            values = values.float()
        arrays.append(values.numpy().copy())
        entries[name] = {"__tensor__": len(arrays) - 1, "dtype": dtype}
    return entries


def _decode_module_state(entries, arrays):
    import torch

    if arrays is None:  # the earlier format stores the tensors themselves
        return entries
    if not isinstance(entries, dict):
        raise ValueError("a module state must map parameter names to tensors.")
    state = {}
    for name, entry in entries.items():
        if not (isinstance(entry, dict) and set(entry) == {"__tensor__", "dtype"}
                and entry["dtype"] in _TENSOR_DTYPES):
            raise ValueError(f"module state entry {name!r} is not a tensor of a known dtype.")
        values = _array(entry["__tensor__"], arrays)
        state[name] = torch.from_numpy(values.copy()).to(getattr(torch, entry["dtype"]))
    return state


def _array(index, arrays):
    key = f"a{index}" if isinstance(index, int) and not isinstance(index, bool) else None
    if key not in arrays:
        raise ValueError(f"the tree refers to an array {index!r} the file does not hold.")
    return arrays[key]


def _public_classes():
    """The classes a weights file may name: skhsi's public estimator classes, by path.

    Classes are looked up on first use, so a file with no torch-backed node
    loads without importing torch.
    """
    names = {}
    for module_name in _ALLOWED_MODULES:
        module = importlib.import_module(module_name)
        for attr in getattr(module, "__all__", ()):
            names[f"{module_name}.{attr}"] = (module, attr)
    return names


def _public_class(path):
    from sklearn.base import BaseEstimator

    module, attr = _public_classes().get(path, (None, None)) if isinstance(path, str) \
        else (None, None)
    obj = getattr(module, attr, None) if module is not None else None
    return obj if isinstance(obj, type) and issubclass(obj, BaseEstimator) else None


def _public_module(cls):
    """The public module exporting ``cls``: its defining module's package."""
    parts = cls.__module__.split(".")
    while parts and parts[-1].startswith("_"):
        parts.pop()
    name = ".".join(parts)
    module = sys.modules.get(name)
    if name in _ALLOWED_MODULES and module is not None \
            and cls.__name__ in getattr(module, "__all__", ()) \
            and getattr(module, cls.__name__, None) is cls:
        return name
    raise TypeError(f"{cls.__name__} is not a public skhsi estimator.")


def _decode_estimator(data, arrays):
    if not isinstance(data, dict) or not {"class", "params", "state"} <= set(data):
        raise ValueError("an estimator entry needs 'class', 'params' and 'state'.")
    cls = _public_class(data["class"])
    if cls is None:
        raise ValueError(f"Refusing to load class {data['class']!r}: not a public skhsi "
                         "estimator class.")
    if not isinstance(data["params"], dict) or not isinstance(data["state"], dict):
        raise ValueError("an estimator's 'params' and 'state' must be mappings.")
    params = {k: _decode_value(v, arrays) for k, v in data["params"].items()
              if k not in ("steps",) + _NOT_RESTORED}
    if "steps" in data["params"]:
        params["steps"] = [(step_name, _decode_estimator(step, arrays))
                           for step_name, step in data["params"]["steps"]]
    estimator = cls(**params)
    estimator._validate_params()  # a file's parameters meet the class's constraints
    state = dict(data["state"])
    attribute = _module_attribute(estimator)
    module_state = state.pop(attribute, None) if attribute is not None else None
    documented = documented_attributes(cls)
    for key, value in state.items():
        if not (isinstance(key, str) and key.isidentifier() and key.endswith("_")
                and not key.startswith("_") and not hasattr(cls, key)
                and (documented is None or key in documented)):
            raise ValueError(f"state entry {key!r} is not a fitted attribute of {cls.__name__}.")
        setattr(estimator, key, _decode_value(value, arrays))
    _check_feature_count(estimator)
    if module_state is not None:
        module = estimator._build_module()
        module.load_state_dict(_decode_module_state(module_state["__module_state__"], arrays))
        setattr(estimator, attribute, module.eval())
    if is_torch_node(estimator):
        estimator.net_ = None
    if isinstance(estimator, SpectralMixin) and data["state"]:  # fitted: rebuild its caches
        estimator._restore()
    if data["state"] or "steps" in params:
        _check_usable(estimator)
    return estimator


def _check_feature_count(estimator):
    """Refuse a declared band count no model has, before anything is allocated for it."""
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is None:
        return
    if not isinstance(n_features, numbers.Integral) or isinstance(n_features, bool) \
            or not 1 <= n_features <= MAX_FEATURES:
        raise ValueError(f"{type(estimator).__name__} declares n_features_in_={n_features!r}; "
                         f"a model has 1 to {MAX_FEATURES} bands.")


def _check_usable(estimator):
    """Score a few zero pixels: state of the wrong shape or kind fails here, not later.

    The probe is a 4 x 4 cube for estimators whose tags take cubes only
    (``input_tags.two_d_array`` false; a pipeline with any such step), else
    four pixels.
    """
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is None:
        first = estimator.steps[0][1] if hasattr(estimator, "steps") else None
        n_features = getattr(first, "n_features_in_", None)
    method_name = next((m for m in ("anomaly_score", "transform", "predict")
                        if hasattr(estimator, m)), None)
    if n_features is None or method_name is None:
        return
    from sklearn.utils import get_tags

    def steps(est):  # a pipeline needs cubes when any of its steps does
        return [s for _, step in est.steps for s in steps(step)] if hasattr(est, "steps") \
            else [est]

    cubes_only = any(not get_tags(step).input_tags.two_d_array for step in steps(estimator))
    probe = np.zeros((4, 4, int(n_features)) if cubes_only else (4, int(n_features)))
    try:
        values = np.asarray(getattr(estimator, method_name)(probe))
    except ValueError as exc:
        raise ValueError(f"the saved state of {type(estimator).__name__} does not fit "
                         f"together: {exc}") from exc
    except Exception as exc:
        raise ValueError(f"the saved state of {type(estimator).__name__} does not fit "
                         f"together ({type(exc).__name__}: {exc}).") from exc
    if values.dtype.kind in "fc" and not np.isfinite(values).all():
        raise ValueError(f"the saved state of {type(estimator).__name__} gives non-finite "
                         f"values from its {method_name} of zero pixels.")


def _module_attribute(estimator):
    """The fitted attribute holding the node's torch module, as the node declares it."""
    return estimator._module_attribute if is_torch_node(estimator) else None


def _encode_value(value, arrays):
    if value is None or isinstance(value, (bool, str, np.bool_)):
        return value if not isinstance(value, np.bool_) else bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return {"__strings__": [str(v) for v in value]}
        arrays.append(np.ascontiguousarray(value).copy())
        return {"__ndarray__": len(arrays) - 1}
    if isinstance(value, (list, tuple)):
        return {"__tuple__" if isinstance(value, tuple) else "__list__":
                [_encode_value(v, arrays) for v in value]}
    if isinstance(value, dict):  # keys keep their type: class labels may be integers
        return {"__items__": [[_encode_value(k, arrays), _encode_value(v, arrays)]
                              for k, v in value.items()]}
    if hasattr(value, "get_params") and hasattr(value, "fit"):
        # A member of an ensemble: saved as its own class, parameters and state.
        return {"__estimator__": _encode_estimator(value, arrays)}
    raise TypeError(f"Cannot save a value of type {type(value).__name__} weights-only.")


def _decode_value(value, arrays):
    if isinstance(value, list):
        raise ValueError("a list in a skhsi weights file must be marked as a list or tuple.")
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        if arrays is None:  # the earlier format stores a tensor
            return value["__ndarray__"].numpy()
        return _array(value["__ndarray__"], arrays)
    if "__strings__" in value:
        return np.asarray(value["__strings__"], dtype=object)
    if "__list__" in value:
        return [_decode_value(v, arrays) for v in value["__list__"]]
    if "__tuple__" in value:
        return tuple(_decode_value(v, arrays) for v in value["__tuple__"])
    if "__items__" in value:
        items = [(_decode_value(k, arrays), _decode_value(v, arrays))
                 for k, v in value["__items__"]]
        if not all(isinstance(k, (bool, int, float, str, type(None))) for k, _ in items):
            raise ValueError("A dictionary key in a skhsi weights file is not a plain value.")
        return dict(items)
    if "__dict__" in value:  # files written before keys kept their type
        return {k: _decode_value(v, arrays) for k, v in value["__dict__"].items()}
    if "__estimator__" in value:
        return _decode_estimator(value["__estimator__"], arrays)
    raise ValueError(f"Unexpected entry in a skhsi weights file: {sorted(value)}.")
