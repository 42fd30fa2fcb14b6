"""Plain torch modules and losses behind skhsi's estimators.

Nothing here imports scikit-learn: the estimators in the other subpackages
build on these modules, never the other way round.
"""

from ._callbacks import SphereMonitor
from ._deep_svdd import (
    DeepSVDDCenterTracker,
    DeepSVDDNet,
    DeepSVDDProjection,
    DeepSVDDScores,
    DeepSVDDSoftBoundaryLoss,
    RandomFourierFeatures,
)
from ._preprocessing import BandSelect, PerPixelUnitNorm, ZScore
from ._runtime import apply_module, as_numpy, as_tensor, make_generator, resolve_device
from ._pca import BestReconstruction, PCAProjection, ReconstructionOrthogonalityLoss
from ._scaling import AffinePerBand, PerPixelStandardize
from ._classifier import PixelCrossEntropy, SpectralMLP
from ._concrete import (
    ConcreteAutoencoder,
    ConcreteLoss,
    ConcreteSelect,
    distinct_argmax,
    distinctness_penalty,
)
from ._mixer import ChannelMixer, MixerObjective, ReconstructionLoss, batch_min_max
from ._losses import LOSSES, make_loss
from ._augment import flip_rotate, spectral_jitter
from ._patch_classifier import PatchCNN
from ._unet import UNet
from ._contrastive import NTXentLoss, SpectralTransformer, nt_xent

__all__ = [
    "BandSelect",
    "DeepSVDDCenterTracker",
    "DeepSVDDNet",
    "DeepSVDDProjection",
    "DeepSVDDScores",
    "DeepSVDDSoftBoundaryLoss",
    "PerPixelUnitNorm",
    "RandomFourierFeatures",
    "SphereMonitor",
    "ZScore",
    "apply_module",
    "as_numpy",
    "as_tensor",
    "make_generator",
    "resolve_device",
    "AffinePerBand",
    "BestReconstruction",
    "PCAProjection",
    "PerPixelStandardize",
    "ReconstructionOrthogonalityLoss",
    "ChannelMixer",
    "ConcreteAutoencoder",
    "ConcreteLoss",
    "ConcreteSelect",
    "MixerObjective",
    "PixelCrossEntropy",
    "ReconstructionLoss",
    "SpectralMLP",
    "batch_min_max",
    "distinct_argmax",
    "distinctness_penalty",
    "LOSSES",
    "make_loss",
    "flip_rotate",
    "spectral_jitter",
    "NTXentLoss",
    "SpectralTransformer",
    "nt_xent",
    "PatchCNN",
    "UNet",
]
