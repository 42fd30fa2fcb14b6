"""Validation of wavelength vectors shared by the nodes that use them."""

import numpy as np

__all__ = ["check_wavelengths", "wavelength_feature_names"]


def check_wavelengths(wavelengths, n_bands):
    """Return ``wavelengths`` as a float array after checking it fits the data.

    Raises a ``ValueError`` naming what was expected and what came when the
    vector is not 1-D, has the wrong length, holds NaN/inf or is not strictly
    increasing.

    Examples
    --------
    >>> check_wavelengths([400, 500, 600], 3)
    array([400., 500., 600.])
    """
    try:
        values = np.asarray(wavelengths, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"wavelengths must be numbers in nm, got {type(wavelengths).__name__}"
        ) from exc
    if values.ndim != 1:
        raise ValueError(
            f"wavelengths must be 1-D (one per band), got shape {values.shape}."
        )
    if values.shape[0] != n_bands:
        raise ValueError(
            f"wavelengths has {values.shape[0]} values but the data has {n_bands} bands."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("wavelengths contains NaN or infinity.")
    if np.any(np.diff(values) <= 0):
        bad = int(np.flatnonzero(np.diff(values) <= 0)[0])
        raise ValueError(
            "wavelengths must be strictly increasing; "
            f"wavelengths[{bad}]={values[bad]:g} >= wavelengths[{bad + 1}]={values[bad + 1]:g}."
        )
    return values


def wavelength_feature_names(wavelengths):
    """Feature names ``"<wavelength>nm"`` (as an object array, like scikit-learn)."""
    return np.asarray([f"{w:g}nm" for w in wavelengths], dtype=object)
