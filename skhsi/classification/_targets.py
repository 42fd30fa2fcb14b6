"""Per-pixel label handling shared by the supervised nodes."""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

__all__ = ["pixel_labels"]


def pixel_labels(y, leading_shape, n_pixels):
    """Flatten per-pixel labels ``y`` to one label per row of the pixel table.

    ``y`` has the leading shape of ``X``: ``(n_pixels,)`` for a pixel table
    (a column vector is accepted with a ``DataConversionWarning``, as in
    scikit-learn), ``(H, W)`` for a cube, ``(N, H, W)`` for a batch of cubes.
    Continuous targets are refused.
    """
    if leading_shape is None:
        y = column_or_1d(y, warn=True)
    else:
        y = np.asarray(y)
        if y.shape != tuple(leading_shape):
            raise ValueError(
                f"y must have the leading shape of X, {tuple(leading_shape)} (one label "
                f"per pixel); got shape {y.shape}."
            )
        y = y.reshape(-1)
    if y.shape[0] != n_pixels:
        raise ValueError(f"y has {y.shape[0]} labels but X has {n_pixels} pixels.")
    check_classification_targets(y)
    return y
