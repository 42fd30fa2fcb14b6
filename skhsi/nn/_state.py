"""Files of skhsi's earlier torch-based weights format, loaded without unpickling code."""

import os

import torch

__all__ = ["load_tensors"]


def load_tensors(path):
    """Read a file of the earlier ``skhsi-weights-2`` format with ``weights_only=True``.

    Only tensors and plain containers are accepted: a file holding pickled
    objects of any other type is refused by torch with an ``UnpicklingError``.
    """
    return torch.load(os.fspath(path), map_location="cpu", weights_only=True)
