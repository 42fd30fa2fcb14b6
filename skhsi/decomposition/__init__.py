"""Spectral decompositions: PCA initialised by SVD, optionally fine-tuned.

:class:`TrainablePCA` has weights: torch loads when it is first accessed.
"""

import lazy_loader

__getattr__, _dir, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "_pca": ["TrainablePCA"],
})


def __dir__():
    return sorted(set(globals()) | set(__all__))
