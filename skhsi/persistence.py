"""Weights-only saving and loading of fitted skhsi estimators and pipelines.

``joblib``/``pickle`` round trips are exact but run code on load, so a file
from an untrusted source must not be unpickled. :func:`save_weights` writes
only tensors, numbers, strings and lists/dicts of them (read back by
``torch.load(weights_only=True)``, which refuses anything else), with a
SHA-256 checksum over all of it; :func:`load_weights` verifies the checksum,
rebuilds the estimator from its class — which must be one of skhsi's public
estimator classes —, validates its parameters, sets only fitted attributes
(public names ending in ``_``), and checks that the result can score data.
Training-only objects (the skorch ``net_``, callbacks) and paths (a
pipeline's ``memory``, ``tensorboard_dir``) are neither saved nor restored.
Every problem with a file is a ``ValueError`` naming it.
"""

import hashlib
import importlib
import io
import numbers

import numpy as np

from ._node import TorchNode
from .base import SpectralMixin
from .nn._state import load_tensors, save_tensors

__all__ = ["save_weights", "load_weights"]

_FORMAT = "skhsi-weights-2"
#: Parameters that name places or code: never saved, defaults on load.
_NOT_RESTORED = ("memory", "callbacks", "tensorboard_dir")
_ALLOWED_MODULES = ("skhsi.anomaly", "skhsi.preprocessing", "skhsi.decomposition",
                    "skhsi.selection", "skhsi.classification", "skhsi.spatial",
                    "skhsi.pipeline", "skhsi.representation")


def save_weights(estimator, path):
    """Save a fitted skhsi estimator or Pipeline without pickled code.

    Parameters
    ----------
    estimator : fitted skhsi estimator or :class:`skhsi.pipeline.Pipeline`
    path : str or path

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from skhsi.anomaly import RXDetector
    >>> from skhsi.persistence import save_weights, load_weights
    >>> X = np.random.default_rng(0).normal(size=(50, 4))
    >>> rx = RXDetector().fit(X)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_weights(rx, os.path.join(tmp, "rx.pt"))
    ...     again = load_weights(os.path.join(tmp, "rx.pt"))
    >>> bool(np.array_equal(again.anomaly_score(X), rx.anomaly_score(X)))
    True
    """
    import torch

    buffer = io.BytesIO()
    torch.save({"estimator": _encode_estimator(estimator)}, buffer)
    body = buffer.getvalue()
    save_tensors(path, {"format": _FORMAT, "sha256": hashlib.sha256(body).hexdigest(),
                        "body": torch.frombuffer(bytearray(body), dtype=torch.uint8)})


def load_weights(path):
    """Load an estimator written by :func:`save_weights`.

    Raises
    ------
    ValueError
        For any file that is not an intact skhsi weights file: unreadable,
        truncated, foreign, of another format, with a checksum that does not
        match (damaged or altered), naming a class that is not a public skhsi
        estimator, with invalid parameters, with state the class does not
        have, or whose state does not fit together.
    """
    import torch

    payload = _read(lambda: load_tensors(path), path, "not a readable weights file")
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
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
    return _read(lambda: _decode_estimator(content["estimator"]), path,
                 "its estimator cannot be rebuilt")


def _read(step, path, what):
    """Run ``step``; any failure is a ``ValueError`` naming the file."""
    import pickle

    try:
        return step()
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: {what}: {exc}") from exc
    except pickle.UnpicklingError as exc:
        if "unsupported global" not in str(exc).lower():  # no code in it: damaged or foreign
            raise ValueError(f"{path}: {what} (the data is not a weights file's).") from exc
        raise ValueError(
            f"{path}: refused: the file holds pickled objects other than tensors and plain "
            "values, which could run code when loaded; a skhsi weights file never does. "
            "Do not load it with pickle or torch.load(weights_only=False) unless you trust "
            "its source."
        ) from exc
    except (OSError, EOFError, RuntimeError, KeyError, TypeError, AttributeError,
            IndexError) as exc:
        raise ValueError(f"{path}: {what} ({type(exc).__name__}: {exc}).") from exc


def _encode_estimator(estimator):
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
        params = dict(params, steps=[[name, _encode_estimator(step)]
                                     for name, step in params["steps"]])
    else:
        if estimator.get_params(deep=False).get("callbacks"):
            raise ValueError("Estimators with callbacks cannot be saved weights-only; "
                             "set callbacks=None first.")
        module = _module_attribute(estimator)
        state = {key: _encode_value(value) for key, value in vars(estimator).items()
                 if key.endswith("_") and key not in ("net_", module) and key not in params}
        if module is not None:
            state[module] = {"__module_state__": getattr(estimator, module).state_dict()}
    return {"class": f"{public}.{cls.__name__}",
            "params": {k: _encode_value(v) for k, v in params.items() if k != "steps"}
            | ({"steps": params["steps"]} if "steps" in params else {}),
            "state": state}


def _public_classes():
    """The classes a weights file may name: skhsi's public estimator classes, by path."""
    from sklearn.base import BaseEstimator

    classes = {}
    for name in _ALLOWED_MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr, None)
            if isinstance(obj, type) and issubclass(obj, BaseEstimator):
                classes[f"{name}.{attr}"] = obj
    return classes


def _public_module(cls):
    for path, known in _public_classes().items():
        if known is cls:
            return path.rpartition(".")[0]
    raise TypeError(f"{cls.__name__} is not a public skhsi estimator.")


def _decode_estimator(data):
    if not isinstance(data, dict) or not {"class", "params", "state"} <= set(data):
        raise ValueError("an estimator entry needs 'class', 'params' and 'state'.")
    cls = _public_classes().get(data["class"]) if isinstance(data["class"], str) else None
    if cls is None:
        raise ValueError(f"Refusing to load class {data['class']!r}: not a public skhsi "
                         "estimator class.")
    params = {k: _decode_value(v) for k, v in data["params"].items()
              if k not in ("steps",) + _NOT_RESTORED}
    if "steps" in data["params"]:
        params["steps"] = [(step_name, _decode_estimator(step))
                           for step_name, step in data["params"]["steps"]]
    estimator = cls(**params)
    estimator._validate_params()  # a file's parameters meet the class's constraints
    state = dict(data["state"])
    attribute = _module_attribute(estimator)
    module_state = state.pop(attribute, None) if attribute is not None else None
    for key, value in state.items():
        if not (isinstance(key, str) and key.isidentifier() and key.endswith("_")
                and not key.startswith("_") and not hasattr(cls, key)):
            raise ValueError(f"state entry {key!r} is not a fitted attribute of {cls.__name__}.")
        setattr(estimator, key, _decode_value(value))
    if module_state is not None:
        module = estimator._build_module()
        module.load_state_dict(module_state["__module_state__"])
        setattr(estimator, attribute, module.eval())
    if isinstance(estimator, TorchNode):
        estimator.net_ = None
    if isinstance(estimator, SpectralMixin) and data["state"]:  # fitted: rebuild its caches
        estimator._restore()
    if data["state"] or "steps" in params:
        _check_usable(estimator)
    return estimator


def _check_usable(estimator):
    """Score a few zero pixels: state of the wrong shape or kind fails here, not later."""
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is None:
        first = estimator.steps[0][1] if hasattr(estimator, "steps") else None
        n_features = getattr(first, "n_features_in_", None)
    method = next((getattr(estimator, m) for m in ("anomaly_score", "transform", "predict")
                   if hasattr(estimator, m)), None)
    if n_features is None or method is None:
        return
    for probe in (np.zeros((4, 4, int(n_features))), np.zeros((4, int(n_features)))):
        try:
            method(probe)
            return
        except ValueError as exc:
            if "works on images" in str(exc) or "expects anomaly scores" in str(exc):
                continue
            raise ValueError(f"the saved state of {type(estimator).__name__} does not fit "
                             f"together: {exc}") from exc
        except Exception as exc:
            raise ValueError(f"the saved state of {type(estimator).__name__} does not fit "
                             f"together ({type(exc).__name__}: {exc}).") from exc


def _module_attribute(estimator):
    """The fitted attribute holding the node's torch module, as the node declares it."""
    return estimator._module_attribute if isinstance(estimator, TorchNode) else None


def _encode_value(value):
    import torch

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return {"__strings__": [str(v) for v in value]}
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value)).clone()}
    if isinstance(value, (list, tuple)):
        return {"__tuple__" if isinstance(value, tuple) else "__list__":
                [_encode_value(v) for v in value]}
    if isinstance(value, dict):  # keys keep their type: class labels may be integers
        return {"__items__": [[_encode_value(k), _encode_value(v)] for k, v in value.items()]}
    if hasattr(value, "get_params") and hasattr(value, "fit"):
        # A member of an ensemble: saved as its own class, parameters and state.
        return {"__estimator__": _encode_estimator(value)}
    raise TypeError(f"Cannot save a value of type {type(value).__name__} weights-only.")


def _decode_value(value):
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        return value["__ndarray__"].numpy()
    if "__strings__" in value:
        return np.asarray(value["__strings__"], dtype=object)
    if "__list__" in value:
        return [_decode_value(v) for v in value["__list__"]]
    if "__tuple__" in value:
        return tuple(_decode_value(v) for v in value["__tuple__"])
    if "__items__" in value:
        items = [(_decode_value(k), _decode_value(v)) for k, v in value["__items__"]]
        if not all(isinstance(k, (bool, int, float, str, type(None))) for k, _ in items):
            raise ValueError("A dictionary key in a skhsi weights file is not a plain value.")
        return dict(items)
    if "__dict__" in value:  # files written before keys kept their type
        return {k: _decode_value(v) for k, v in value["__dict__"].items()}
    if "__estimator__" in value:
        return _decode_estimator(value["__estimator__"])
    raise ValueError(f"Unexpected entry in a skhsi weights file: {sorted(value)}.")
