"""Keep the bands whose centre wavelength lies in a closed interval."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

from ..base import SpectralMixin
from ._selector import BandSelectorMixin


class BandpassByWavelength(SpectralMixin, BandSelectorMixin, TransformerMixin, BaseEstimator):
    """Keep the bands with ``min_wavelength_nm <= wavelength <= max_wavelength_nm``.

    Read more in the :ref:`User Guide <band_selection>`.

    Parameters
    ----------
    min_wavelength_nm : float or None, default=None
        Lower limit in nanometres (inclusive); ``None`` means no lower limit.
    max_wavelength_nm : float or None, default=None
        Upper limit in nanometres (inclusive); ``None`` means no upper limit.
    wavelengths : array-like of shape (n_bands,) or None, default=None
        Centre wavelength of every band in nanometres, strictly increasing.
        Required as soon as a limit is set; without limits every band is kept.

    Attributes
    ----------
    selected_bands_ : ndarray of int
        Indices of the kept bands (``get_support()`` gives the boolean mask).
    wavelengths_out_ : ndarray of shape (n_kept,) or None
        Wavelengths of the kept bands.
    wavelengths_in_ : ndarray of shape (n_features_in_,) or None
        The input's band wavelengths when they came with the data (a
        ``wavelength`` coordinate) rather than as a parameter.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.preprocessing import BandpassByWavelength
    >>> cube = np.random.default_rng(0).random((4, 5, 6))
    >>> bp = BandpassByWavelength(500, 700, wavelengths=[400, 500, 600, 700, 800, 900])
    >>> bp.fit_transform(cube).shape
    (4, 5, 3)
    >>> bp.wavelengths_out_
    array([500., 600., 700.])
    """

    _parameter_constraints = {
        "min_wavelength_nm": [Interval(Real, None, None, closed="neither"), None],
        "max_wavelength_nm": [Interval(Real, None, None, closed="neither"), None],
        "wavelengths": ["array-like", None],
    }

    def __init__(self, min_wavelength_nm=None, max_wavelength_nm=None, wavelengths=None):
        self.min_wavelength_nm = min_wavelength_nm
        self.max_wavelength_nm = max_wavelength_nm
        self.wavelengths = wavelengths

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Choose the bands inside the interval.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        self._validate_spectral(X, reset=True)
        n_bands = self.n_features_in_
        limits = (self.min_wavelength_nm, self.max_wavelength_nm)
        wavelengths = self._fit_wavelengths(n_bands)
        if wavelengths is None:
            if any(limit is not None for limit in limits):
                raise ValueError(
                    "BandpassByWavelength needs `wavelengths` (nm, one per band) to apply "
                    f"the limits {limits}; got wavelengths=None (and no DataArray with a "
                    "wavelength coordinate)."
                )
            self.selected_bands_ = np.arange(n_bands)
            self.wavelengths_out_ = None
            return self
        low = -np.inf if self.min_wavelength_nm is None else self.min_wavelength_nm
        high = np.inf if self.max_wavelength_nm is None else self.max_wavelength_nm
        if low > high:
            raise ValueError(
                f"min_wavelength_nm={low} is larger than max_wavelength_nm={high}."
            )
        support = (wavelengths >= low) & (wavelengths <= high)
        if not support.any():
            raise ValueError(
                f"No band lies in [{low}, {high}] nm; the wavelengths span "
                f"{wavelengths[0]:g}-{wavelengths[-1]:g} nm."
            )
        self.selected_bands_ = np.flatnonzero(support)
        self.wavelengths_out_ = wavelengths[support]
        return self
