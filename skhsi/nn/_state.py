"""Weights-only files: tensors and plain Python values, loaded without unpickling code."""

import os

import torch

from .._files import atomic_write

__all__ = ["save_tensors", "load_tensors"]


def save_tensors(path, payload):
    """Write ``payload`` (nested dicts/lists of tensors, numbers, strings, None) atomically."""
    atomic_write(os.path.abspath(os.fspath(path)), lambda f: torch.save(payload, f))


def load_tensors(path):
    """Read a file written by :func:`save_tensors` with ``weights_only=True``.

    Only tensors and plain containers are accepted: a file holding pickled
    objects of any other type is refused by torch with an ``UnpicklingError``.
    """
    return torch.load(os.fspath(path), map_location="cpu", weights_only=True)
