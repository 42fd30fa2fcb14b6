"""Learned spectral reduction and band selection.

Both nodes have weights: torch loads when one is first accessed.
"""

import lazy_loader

__getattr__, _dir, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "_concrete": ["ConcreteBandSelector"],
    "_mixer": ["LearnableChannelMixer"],
})


def __dir__():
    return sorted(set(globals()) | set(__all__))
