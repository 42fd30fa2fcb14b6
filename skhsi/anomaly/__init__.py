"""Per-pixel anomaly detectors with scikit-learn's outlier API.

:class:`RXDetector` and :class:`QuantileBinaryDecider` need no torch; the
detectors with weights (:class:`DeepSVDD`, :class:`AutoencoderDetector`,
:class:`VAEDetector`) load torch when first used.
"""

import importlib

from ._decider import QuantileBinaryDecider
from ._rx import RXDetector

__all__ = ["AutoencoderDetector", "DeepSVDD", "QuantileBinaryDecider", "RXDetector",
           "VAEDetector"]

# Detectors with weights, imported on first access so that RX stays torch-free.
_LAZY = {"AutoencoderDetector": "._autoencoder", "DeepSVDD": "._deep_svdd",
         "VAEDetector": "._autoencoder"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
