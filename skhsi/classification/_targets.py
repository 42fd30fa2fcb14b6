"""Per-pixel label handling shared by the supervised nodes."""

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

__all__ = ["class_weights", "pixel_labels"]


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


def class_weights(class_weight, classes, y):
    """Per-class weights of ``class_weight`` in the order of ``classes``, or None.

    ``class_weight`` is ``None``, ``"balanced"`` (``n_samples / (n_classes *
    count)``) or a dict ``{label: weight}`` (labels it omits weigh 1), as
    scikit-learn's classifiers take it; ``y`` holds the training labels of
    the labelled samples (unlabelled pixels left out), ``classes`` their
    sorted unique values. The supervised nodes pass the result to
    :func:`skhsi.nn.make_loss` as its ``class_weight``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.classification._targets import class_weights
    >>> y = np.array([1, 1, 1, 2])
    >>> class_weights("balanced", np.array([1, 2]), y).tolist()
    [0.6666666666666666, 2.0]
    >>> class_weights({2: 5.0}, np.array([1, 2]), y).tolist()
    [1.0, 5.0]
    """
    if class_weight is None:
        return None
    return compute_class_weight(class_weight, classes=np.asarray(classes), y=np.asarray(y))
