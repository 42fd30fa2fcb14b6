"""Leak-free model selection for images: spatial block cross-validation."""

from ._split import SpatialBlockKFold, labelled_pixels

__all__ = ["SpatialBlockKFold", "labelled_pixels"]
