"""Spatial transformers of cubes: edges, convolution, pooling, upsampling, patches;
filters of maps: the guided (edge-preserving) filter and area openings on max-trees.

They need the spatial neighbours of every pixel, so they take cubes
``(H, W, C)`` or batches ``(N, H, W, C)`` and refuse pixel tables. None of
them imports torch.
"""

from ._component_tree import area_opening, area_residuals
from ._filters import BandConvolution, Pool2D, SobelEdges, Upsample2D
from ._guided import guided_filter
from ._patches import PatchFeatures

__all__ = ["BandConvolution", "PatchFeatures", "Pool2D", "SobelEdges", "Upsample2D",
           "area_opening", "area_residuals", "guided_filter"]
