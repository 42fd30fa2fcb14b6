"""Keep the bands whose centre wavelength lies in a closed interval."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.feature_selection import SelectorMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..base import SpectralMixin, as_pixels, restore_shape
from ..nn import BandSelect
from ._wavelengths import check_wavelengths, wavelength_feature_names


class BandpassByWavelength(SpectralMixin, SelectorMixin, TransformerMixin, BaseEstimator):
    """Keep the bands with ``min_wavelength_nm <= wavelength <= max_wavelength_nm``.

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
    support_ : ndarray of bool, shape (n_features_in_,)
        Which bands are kept.
    wavelengths_out_ : ndarray of shape (n_kept,) or None
        Wavelengths of the kept bands.
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
        if self.wavelengths is None:
            if any(limit is not None for limit in limits):
                raise ValueError(
                    "BandpassByWavelength needs `wavelengths` (nm, one per band) to apply "
                    f"the limits {limits}; got wavelengths=None."
                )
            self.support_ = np.ones(n_bands, dtype=bool)
            self.wavelengths_out_ = None
            return self
        wavelengths = check_wavelengths(self.wavelengths, n_bands)
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
        self.support_ = support
        self.wavelengths_out_ = wavelengths[support]
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        return self.support_

    def transform(self, X):
        """Drop the bands outside the interval, keeping the leading shape.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (..., n_kept)
        """
        pixels, lead = self._check_spectral(X)
        return restore_shape(pixels[:, self.support_], lead)

    def inverse_transform(self, X):
        """Put the kept bands back in place, zeros elsewhere."""
        pixels, lead = as_pixels(X)
        return restore_shape(super().inverse_transform(pixels), lead)

    def get_feature_names_out(self, input_features=None):
        """Band names: ``"<wavelength>nm"`` when wavelengths are known."""
        check_is_fitted(self)
        if self.wavelengths_out_ is not None and input_features is None:
            return wavelength_feature_names(self.wavelengths_out_)
        return super().get_feature_names_out(input_features)

    def _as_module(self):
        check_is_fitted(self)
        return BandSelect(np.flatnonzero(self.support_))
