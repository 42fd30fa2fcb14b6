"""Scale every pixel spectrum to unit Euclidean length."""

import numpy as np

from ._per_pixel import PerPixelTransform


class PerPixelUnitNorm(PerPixelTransform):
    """Divide each spectrum by its L2 norm: ``x / max(||x||_2, eps)``.

    Read more in the :ref:`User Guide <band_selection>`.

    Every pixel is treated on its own (nothing is learned from the data but
    the band count). Spectra with a norm of at least ``eps`` end with norm 1;
    an all-zero spectrum stays zero rather than becoming NaN. This removes
    overall brightness, so pixels that differ from the background only in
    brightness become indistinguishable after it.

    Parameters
    ----------
    eps : float, default=1e-8
        Smallest norm divided by.

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.preprocessing import PerPixelUnitNorm
    >>> out = PerPixelUnitNorm().fit_transform(np.array([[3.0, 4.0], [0.0, 0.0]]))
    >>> out
    array([[0.6, 0.8],
           [0. , 0. ]])
    """

    def _per_pixel(self, pixels):
        norms = np.linalg.norm(pixels, axis=1, keepdims=True)
        return pixels / np.maximum(norms, self.eps)

    def _as_module(self):
        from ..nn import PerPixelUnitNorm

        return PerPixelUnitNorm(self.eps)
