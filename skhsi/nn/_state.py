"""Weights-only files: tensors and plain Python values, loaded without unpickling code."""

import os
import tempfile

import torch

__all__ = ["save_tensors", "load_tensors"]


def save_tensors(path, payload):
    """Write ``payload`` (nested dicts/lists of tensors, numbers, strings, None) atomically."""
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".skhsi-")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_tensors(path):
    """Read a file written by :func:`save_tensors` with ``weights_only=True``.

    Only tensors and plain containers are accepted: a file holding pickled
    objects of any other type is refused by torch with an ``UnpicklingError``.
    """
    return torch.load(os.fspath(path), map_location="cpu", weights_only=True)
