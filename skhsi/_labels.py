"""Labels, one convention for every supervised node (torch-free, shared).

A **label map** (``y`` with the spatial shape of a cube ``X``: ``(H, W)``,
``(N, H, W)`` or one map per cube) marks unlabelled pixels with 0 (or ``""``
for string labels), for every classifier; a boolean map is refused, since
its ``False`` would read as unlabelled. A **vector** of labels for a pixel
table follows scikit-learn: every value is a class. Either way, fitting
needs at least two classes.
"""

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

__all__ = ["class_weights", "pixel_labels", "unlabelled", "check_label_map",
           "labelled_values", "check_classes"]


def unlabelled(values):
    """Boolean mask of the unlabelled pixels of a label map: 0 (numeric) or ``""``."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        return values == 0
    if values.dtype.kind == "U":
        return values == ""
    return np.array([v == 0 or v == "" for v in values.ravel()],
                    dtype=bool).reshape(values.shape)


def check_label_map(values, where):
    """Refuse a boolean label map: its ``False`` pixels would read as unlabelled."""
    if np.asarray(values).dtype == bool:
        raise ValueError(
            f"{where}: y is a boolean map; in a label map 0 (False) marks an unlabelled "
            "pixel, so True would be the only class. Give integer class labels, e.g. "
            "mask.astype(int) + 1 for two classes (1 = False, 2 = True).")
    return values


def labelled_values(label_map, where):
    """The labels of the labelled pixels of a label map (flattened), never empty."""
    values = np.asarray(check_label_map(label_map, where)).reshape(-1)
    values = values[~unlabelled(values)]
    if values.size == 0:
        raise ValueError(f"{where} needs labelled pixels: every pixel of y is 0, which marks "
                         "an unlabelled pixel.")
    return values


def check_classes(classes, where):
    """At least two classes to tell apart, as scikit-learn's classifiers require."""
    if len(classes) < 2:
        raise ValueError(
            f"{where} needs samples of at least 2 classes in the data, but the labelled "
            f"pixels hold only {len(classes)} class(es): {list(classes)}.")
    return classes


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
    >>> from skhsi._labels import class_weights
    >>> y = np.array([1, 1, 1, 2])
    >>> class_weights("balanced", np.array([1, 2]), y).tolist()
    [0.6666666666666666, 2.0]
    >>> class_weights({2: 5.0}, np.array([1, 2]), y).tolist()
    [1.0, 5.0]
    """
    if class_weight is None:
        return None
    return compute_class_weight(class_weight, classes=np.asarray(classes), y=np.asarray(y))
