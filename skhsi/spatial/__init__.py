"""Spatial transformers of cubes: edges, convolution, pooling, upsampling, patches,
and the guided (edge-preserving) filter of maps.

They need the spatial neighbours of every pixel, so they take cubes
``(H, W, C)`` or batches ``(N, H, W, C)`` and refuse pixel tables. None of
them imports torch.
"""

from ._filters import BandConvolution, Pool2D, SobelEdges, Upsample2D
from ._guided import guided_filter
from ._patches import PatchFeatures

__all__ = ["BandConvolution", "PatchFeatures", "Pool2D", "SobelEdges", "Upsample2D",
           "guided_filter"]
