"""Per-pixel anomaly detectors with scikit-learn's outlier API."""

from ._decider import QuantileBinaryDecider
from ._deep_svdd import DeepSVDD
from ._rx import RXDetector

__all__ = ["DeepSVDD", "QuantileBinaryDecider", "RXDetector"]
