"""Per-pixel anomaly detectors with scikit-learn's outlier API.

:class:`RXDetector` and :class:`QuantileBinaryDecider` need no torch; the
detectors with weights (:class:`DeepSVDD`) load torch when first used.
"""

import importlib

from ._decider import QuantileBinaryDecider
from ._rx import RXDetector

__all__ = ["DeepSVDD", "QuantileBinaryDecider", "RXDetector"]

# Detectors with weights, imported on first access so that RX stays torch-free.
_LAZY = {"DeepSVDD": "._deep_svdd"}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
