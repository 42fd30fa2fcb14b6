"""Self-supervised representations: encoders pretrained without labels.

:class:`SimCLREncoder` pretrains a spectral transformer with SimCLR's
contrastive NT-Xent loss; its features feed any scikit-learn estimator, or a
:class:`skhsi.pipeline.Pipeline` head that fine-tunes it end to end.
"""

from ._simclr import SimCLREncoder

__all__ = ["SimCLREncoder"]
