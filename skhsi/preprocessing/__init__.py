"""Spectral preprocessing: band selection by wavelength and normalisation."""

from ._bandpass import BandpassByWavelength
from ._unit_norm import PerPixelUnitNorm
from ._zscore import ZScoreNormalizerGlobal
from ._sampling import BandSampler
from ._scaling import MinMaxScalerPerBand, PerPixelStandardizer

__all__ = ["BandpassByWavelength", "PerPixelUnitNorm", "ZScoreNormalizerGlobal",
           "BandSampler", "MinMaxScalerPerBand", "PerPixelStandardizer"]
