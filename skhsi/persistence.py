"""Weights-only saving and loading of fitted skhsi estimators and pipelines.

``joblib``/``pickle`` round trips are exact but run code on load, so a file
from an untrusted source must not be unpickled. :func:`save_weights` writes
only tensors, numbers, strings and lists/dicts of them (read back by
``torch.load(weights_only=True)``, which refuses anything else);
:func:`load_weights` rebuilds the estimator from its class name — which
must be one of skhsi's public estimators — its parameters and that state.
Training-only objects (the skorch ``net_``, callbacks) are not saved.
"""

import importlib
import numbers

import numpy as np

from ._node import TorchNode
from .base import SpectralMixin
from .nn._state import load_tensors, save_tensors

__all__ = ["save_weights", "load_weights"]

_FORMAT = "skhsi-weights-1"
_ALLOWED_MODULES = ("skhsi.anomaly", "skhsi.preprocessing", "skhsi.decomposition",
                    "skhsi.selection", "skhsi.classification", "skhsi.spatial",
                    "skhsi.pipeline")


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
    save_tensors(path, {"format": _FORMAT, "estimator": _encode_estimator(estimator)})


def load_weights(path):
    """Load an estimator written by :func:`save_weights`.

    Raises
    ------
    ValueError
        When the file is not a skhsi weights file or names a class outside skhsi.
    """
    payload = load_tensors(path)
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a skhsi weights file (expected format {_FORMAT!r}).")
    return _decode_estimator(payload["estimator"])


def _encode_estimator(estimator):
    cls = type(estimator)
    if not cls.__module__.startswith("skhsi."):
        raise TypeError(
            f"save_weights saves skhsi estimators, got {cls.__module__}.{cls.__name__}; "
            "save an estimator with other parts (e.g. an ensemble with a scikit-learn "
            "member) with joblib, from a trusted source only."
        )
    public = _public_module(cls)
    params = estimator.get_params(deep=False)
    state = {}
    if "steps" in params:
        params = dict(params, steps=[[name, _encode_estimator(step)]
                                     for name, step in params["steps"]])
    else:
        for key in ("callbacks",):
            if params.get(key):
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


def _public_module(cls):
    for name in _ALLOWED_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, cls.__name__, None) is cls:
            return name
    raise TypeError(f"{cls.__name__} is not a public skhsi estimator.")


def _decode_estimator(data):
    public, _, name = data["class"].rpartition(".")
    if public not in _ALLOWED_MODULES:
        raise ValueError(f"Refusing to load class {data['class']!r}: not a skhsi estimator.")
    cls = getattr(importlib.import_module(public), name, None)
    if cls is None:
        raise ValueError(f"Unknown skhsi estimator {data['class']!r}.")
    params = {k: _decode_value(v) for k, v in data["params"].items() if k != "steps"}
    if "steps" in data["params"]:
        params["steps"] = [(step_name, _decode_estimator(step))
                           for step_name, step in data["params"]["steps"]]
    estimator = cls(**params)
    state = dict(data["state"])
    attribute = _module_attribute(estimator)
    module_state = state.pop(attribute, None) if attribute is not None else None
    for key, value in state.items():
        setattr(estimator, key, _decode_value(value))
    if module_state is not None:
        module = estimator._build_module()
        module.load_state_dict(module_state["__module_state__"])
        setattr(estimator, attribute, module.eval())
    if isinstance(estimator, TorchNode):
        estimator.net_ = None
    if isinstance(estimator, SpectralMixin) and data["state"]:  # fitted: rebuild its caches
        estimator._restore()
    return estimator


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
    if isinstance(value, dict):
        return {"__dict__": {str(k): _encode_value(v) for k, v in value.items()}}
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
    if "__dict__" in value:
        return {k: _decode_value(v) for k, v in value["__dict__"].items()}
    if "__estimator__" in value:
        return _decode_estimator(value["__estimator__"])
    raise ValueError(f"Unexpected entry in a skhsi weights file: {sorted(value)}.")
