"""Per-pixel anomaly detectors with scikit-learn's outlier API.

:class:`RXDetector`, :class:`LocalRXDetector`,
:class:`AttributeFilterDetector`, :class:`LowRankSparseDetector`,
:class:`ConsensusDetector` and the deciders need no torch; the detectors with
weights (:class:`DeepSVDD`, :class:`AutoencoderDetector`,
:class:`VAEDetector`) load torch when first used.
"""

import importlib

from ._attribute import AttributeFilterDetector
from ._decider import QuantileBinaryDecider, RecallThresholdDecider
from ._ensemble import ConsensusDetector
from ._local_rx import LocalRXDetector
from ._low_rank import LowRankSparseDetector
from ._rx import RXDetector

__all__ = ["AttributeFilterDetector", "AutoencoderDetector", "ConsensusDetector", "DeepSVDD",
           "LocalRXDetector", "LowRankSparseDetector", "QuantileBinaryDecider",
           "RXDetector", "RecallThresholdDecider", "VAEDetector"]

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
