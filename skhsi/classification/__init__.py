"""Per-pixel classifiers; they can close a two-phase pipeline as its trained head."""

from ._mlp import SpectralMLPClassifier

__all__ = ["SpectralMLPClassifier"]
