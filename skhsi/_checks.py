"""Checks of input values shared by every validation path (no scikit-learn, no torch)."""

import numpy as np

__all__ = ["MAX_ABS_VALUE", "check_finite_values"]

#: The largest magnitude skhsi accepts in data. Statistics square the values
#: (covariances, norms, distances), some in float32, whose squares overflow
#: beyond about 1.8e19; no spectral measurement comes near it.
MAX_ABS_VALUE = 1e18


def check_finite_values(values, where, *, allow_nan=False):
    """Refuse NaN, infinity and finite values beyond :data:`MAX_ABS_VALUE`.

    Parameters
    ----------
    values : ndarray
        Real values of any shape; the last axis is the bands.
    where : str
        Who checks (an estimator's name), for the message.
    allow_nan : bool, default=False
        Let NaN through (its check is elsewhere); infinity and huge values are
        still refused.

    Returns
    -------
    ndarray
        ``values``, unchanged.

    Raises
    ------
    ValueError
        Naming the first offending value, its position and the limit.
    """
    values = np.asarray(values)
    if values.dtype.kind not in "fc" or not values.size:
        return values
    magnitude = np.abs(values)
    bad = magnitude > MAX_ABS_VALUE
    if not allow_nan:
        bad |= np.isnan(magnitude)
    if not bad.any():
        return values
    position = np.unravel_index(np.argmax(bad), values.shape)
    value = values[position]
    at = "position " + ", ".join(map(str, position))
    if values.ndim >= 2:
        at = (f"pixel {np.ravel_multi_index(position[:-1], values.shape[:-1])} (row-major), "
              f"band {position[-1]}")
    if np.isnan(value):
        raise ValueError(f"{where}: the input contains NaN at {at}; skhsi scores finite "
                         "values only: mask or fill missing values first.")
    what = (f"contains {value} (infinity)" if np.isinf(value) else
            f"holds {value:.3g}, beyond the largest magnitude skhsi accepts "
            f"({MAX_ABS_VALUE:.0e}),")
    raise ValueError(
        f"{where}: the input {what} at {at}. Values must be finite and within "
        f"±{MAX_ABS_VALUE:.0e}, because statistics square them: rescale the data first (a "
        "global scale changes neither RX-type scores nor standardised features)."
    )
