"""Behaviour shared by the nodes that keep a subset of the bands."""

import numpy as np
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .._xarray import coordinate_wavelengths
from ..base import ModuleStepMixin, as_pixels, restore_shape
from ._wavelengths import check_wavelengths, wavelength_feature_names

__all__ = ["BandSelectorMixin"]


class BandSelectorMixin(ModuleStepMixin, SelectorMixin):
    """Band selection on pixel tables, cubes and batches of cubes.

    The node sets ``selected_bands_`` (indices of the kept bands, in output
    order), ``wavelengths_in_`` (the wavelengths it was fitted with: its
    ``wavelengths`` parameter, or the ``wavelength`` coordinate of a fitted
    :class:`xarray.DataArray`, or ``None``) and ``wavelengths_out_`` (the kept
    bands' wavelengths, or ``None``) in ``fit``. ``get_support`` is scikit-learn's unordered mask.
    """

    def _fit_wavelengths(self, n_bands):
        """The band wavelengths for ``fit``: the ``wavelengths`` parameter, else those of
        the :class:`xarray.DataArray` being fitted (its ``wavelength`` coordinate), else
        ``None``. Kept as ``wavelengths_in_``."""
        if self.wavelengths is not None:
            wavelengths = check_wavelengths(self.wavelengths, n_bands)
        else:
            wavelengths = coordinate_wavelengths(n_bands)
            if wavelengths is not None:
                wavelengths = check_wavelengths(wavelengths, n_bands)
        self.wavelengths_in_ = wavelengths
        return wavelengths

    def _get_support_mask(self):
        check_is_fitted(self)
        mask = np.zeros(self.n_features_in_, dtype=bool)
        mask[self.selected_bands_] = True
        return mask

    def transform(self, X):
        """Keep the selected bands, in ``selected_bands_`` order, and the leading shape.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (..., n_selected)
            A view of the (validated) input when the kept bands are one run of
            consecutive bands in order, as a no-op bandpass's are; a copy
            otherwise.
        """
        pixels, lead = self._check_spectral(X)
        bands = self.selected_bands_
        if len(bands) and np.array_equal(bands, np.arange(bands[0], bands[0] + len(bands))):
            return restore_shape(pixels[:, bands[0]:bands[0] + len(bands)], lead)
        return restore_shape(pixels[:, bands], lead)

    def inverse_transform(self, X):
        """Put every kept band back in place, zeros elsewhere."""
        check_is_fitted(self)
        pixels, lead = as_pixels(X)
        pixels = np.asarray(pixels)
        n_kept = len(self.selected_bands_)
        if pixels.shape[1] != n_kept:
            raise ValueError(
                f"X has {pixels.shape[1]} features, but {type(self).__name__} keeps "
                f"{n_kept} bands."
            )
        out = np.zeros((pixels.shape[0], self.n_features_in_), dtype=pixels.dtype)
        out[:, self.selected_bands_] = pixels
        return restore_shape(out, lead)

    def get_feature_names_out(self, input_features=None):
        """Names of the kept bands: ``"<wavelength>nm"`` when wavelengths are known."""
        check_is_fitted(self)
        if self.wavelengths_out_ is not None and input_features is None:
            return wavelength_feature_names(self.wavelengths_out_)
        names = _check_feature_names_in(self, input_features)
        return np.asarray(names, dtype=object)[self.selected_bands_]

    def _as_module(self):
        check_is_fitted(self)
        from ..nn import BandSelect

        return BandSelect(self.selected_bands_)
