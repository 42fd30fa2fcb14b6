"""Per-pixel anomaly detectors with scikit-learn's outlier API.

:class:`RXDetector`, :class:`LocalRXDetector`,
:class:`AttributeFilterDetector`, :class:`LowRankSparseDetector`,
:class:`LearnedBackgroundDetector` (until it fits its default network),
:class:`ConsensusDetector` and the deciders need no torch; the detectors with
weights (:class:`DeepSVDD`, :class:`AutoencoderDetector`,
:class:`VAEDetector`) load torch when first used.
"""

import lazy_loader

from ._attribute import AttributeFilterDetector
from ._decider import FalseAlarmDecider, QuantileBinaryDecider, RecallThresholdDecider
from ._ensemble import ConsensusDetector
from ._learned_background import LearnedBackgroundDetector
from ._local_rx import LocalRXDetector
from ._low_rank import LowRankSparseDetector
from ._rx import RXDetector

# Detectors with weights, imported on first access so that the others stay torch-free.
__getattr__, _dir, _lazy = lazy_loader.attach(__name__, submod_attrs={
    "_autoencoder": ["AutoencoderDetector", "VAEDetector"],
    "_deep_svdd": ["DeepSVDD"],
})

__all__ = ["AttributeFilterDetector", "AutoencoderDetector", "ConsensusDetector", "DeepSVDD",
           "FalseAlarmDecider", "LearnedBackgroundDetector", "LocalRXDetector",
           "LowRankSparseDetector", "QuantileBinaryDecider", "RXDetector",
           "RecallThresholdDecider", "VAEDetector"]


def __dir__():
    return sorted(set(globals()) | set(__all__))
