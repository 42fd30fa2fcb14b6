"""Spectral decompositions: PCA initialised by SVD, optionally fine-tuned."""

from ._pca import TrainablePCA

__all__ = ["TrainablePCA"]
