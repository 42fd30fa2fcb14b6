"""Learned spectral reduction and band selection."""

from ._concrete import ConcreteBandSelector
from ._mixer import LearnableChannelMixer

__all__ = ["ConcreteBandSelector", "LearnableChannelMixer"]
