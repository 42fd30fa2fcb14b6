"""Classifiers: per pixel (they can close a two-phase pipeline as its trained head), per
window and per image (label maps in which 0 marks an unlabelled pixel)."""

from ._mlp import SpectralMLPClassifier
from ._patch import PatchClassifier
from ._unet import UNetSegmenter

__all__ = ["SpectralMLPClassifier", "PatchClassifier", "UNetSegmenter"]
