"""Checks of input values shared by every validation path (no scikit-learn, no torch)."""

import numpy as np

__all__ = ["MAX_ABS_VALUE", "check_finite_values"]

#: The largest magnitude skhsi accepts in data. Statistics square the values
#: (covariances, norms, distances), some in float32, whose squares overflow
#: beyond about 1.8e19; no spectral measurement comes near it.
MAX_ABS_VALUE = 1e18


def check_finite_values(values, where):
    """Refuse NaN, infinity and finite values beyond :data:`MAX_ABS_VALUE`.

    The values are read in blocks, with no copy of the whole array.

    Parameters
    ----------
    values : ndarray
        Real values of any shape; the last axis is the bands.
    where : str
        Who checks (an estimator's name), for the message.

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
    if values.dtype.kind != "f" or not values.size:
        return values
    flat = values.reshape(-1, values.shape[-1]) if values.ndim >= 2 else values.reshape(-1, 1)
    step = max(1, (1 << 20) // flat.shape[1])
    for start in range(0, flat.shape[0], step):
        block = flat[start:start + step]
        low, high = block.min(), block.max()  # NaN propagates: the test below fails
        if not (low >= -MAX_ABS_VALUE and high <= MAX_ABS_VALUE):
            bad = ~(np.abs(block) <= MAX_ABS_VALUE)  # NaN, infinity or too large
            row, band = np.unravel_index(np.argmax(bad), block.shape)
            _refuse(values, block[row, band], start + row, band, where)
    return values


def _refuse(values, value, pixel, band, where):
    at = (f"pixel {pixel} (row-major), band {band}" if values.ndim >= 2
          else f"position {pixel}")
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
