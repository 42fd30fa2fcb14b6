"""Self-supervised representations: encoders pretrained without labels.

:class:`SimCLREncoder` pretrains a spectral transformer with SimCLR's
contrastive NT-Xent loss; its features feed any scikit-learn estimator, or a
:class:`skhsi.pipeline.Pipeline` head that fine-tunes it end to end. Torch
loads when it is first accessed.
"""

import lazy_loader

__getattr__, _dir, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "_simclr": ["SimCLREncoder"],
})


def __dir__():
    return sorted(set(globals()) | set(__all__))
