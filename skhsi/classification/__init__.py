"""Classifiers: per pixel (they can close a two-phase pipeline as its trained head), per
window and per image (label maps in which 0 marks an unlabelled pixel).

The classifiers with weights load torch when one is first accessed;
:class:`SpectralSpatialClassifier` needs none.
"""

import lazy_loader

__getattr__, _dir, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "_mlp": ["SpectralMLPClassifier"],
    "_patch": ["PatchClassifier"],
    "_spectral_spatial": ["SpectralSpatialClassifier"],
    "_unet": ["UNetSegmenter"],
})


def __dir__():
    return sorted(set(globals()) | set(__all__))
