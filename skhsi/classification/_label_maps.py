"""Label maps for the classifiers of cubes: one map per cube, 0 = unlabelled (torch-free)."""

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import check_classification_targets

from .._labels import check_label_map, labelled_values, unlabelled

__all__ = ["LabelMapMixin"]


class LabelMapMixin:
    """``y`` as label maps of the cubes' leading shapes, their labelled values, and
    ``score`` as the accuracy over the labelled pixels; for the classifiers whose
    ``predict`` gives a label map per cube.
    """

    def _targets(self, y, leading_shape, n_samples):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None: it needs a label map (0 = unlabelled) per cube.")
        return y

    def _label_maps(self, cubes, y):
        """``y`` as one label map per cube, checked against the cubes' leading shapes.

        ``y`` is a map ``(H, W)`` for one cube, ``(N, H, W)`` for a batch, a
        list of maps for a list of cubes, or all maps flattened into one
        vector (what a pipeline hands its head).
        """
        shapes = [tuple(c.shape[:2]) for c in cubes]
        if isinstance(y, (list, tuple)) and len(y) == len(cubes) and \
                all(np.shape(m) == s for m, s in zip(y, shapes)):
            return [np.asarray(m) for m in y]
        try:
            arr = np.asarray(y)
        except ValueError:  # maps of different shapes, not matching the cubes
            arr = np.empty(0)
        if len(cubes) == 1 and arr.shape == shapes[0]:
            return [arr]
        if arr.ndim == 3 and len(arr) == len(cubes) and \
                all(m.shape == s for m, s in zip(arr, shapes)):
            return list(arr)
        sizes = [h * w for h, w in shapes]
        if arr.ndim == 1 and arr.size == sum(sizes):  # a pipeline's flattened maps
            splits = np.cumsum(sizes)[:-1]
            return [part.reshape(s) for part, s in zip(np.split(arr, splits), shapes)]
        expected = shapes[0] if len(shapes) == 1 else (
            (len(shapes),) + shapes[0] if len(set(shapes)) == 1 else "one map per cube")
        raise ValueError(
            f"y must have the leading shape of X, {expected} (one label per pixel, 0 = "
            f"unlabelled); got {'a list' if isinstance(y, (list, tuple)) else 'shape'} "
            f"{np.shape(y) if not isinstance(y, (list, tuple)) else [np.shape(m) for m in y]}."
        )

    def _labelled_values(self, maps):
        for m in maps:
            check_label_map(m, type(self).__name__)
        values = labelled_values(np.concatenate([m.reshape(-1) for m in maps]),
                                 type(self).__name__)
        check_classification_targets(values)
        return values

    def score(self, X, y, sample_weight=None):
        """Accuracy over the labelled pixels of ``y`` (0 = unlabelled, left out).

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C), or a list of cubes
        y : array-like with the leading shape of ``X``
        sample_weight : array-like with the leading shape of ``X`` or None

        Returns
        -------
        float
        """
        predicted = self.predict(X)
        cubes = predicted if isinstance(predicted, list) else list(
            np.asarray(predicted).reshape((-1,) + np.shape(predicted)[-2:]))
        maps = self._label_maps([np.empty(m.shape + (0,)) for m in cubes], y)
        truth = np.concatenate([m.reshape(-1) for m in maps])
        pred = np.concatenate([m.reshape(-1) for m in cubes])
        keep = ~unlabelled(truth)
        if not keep.any():
            raise ValueError("score needs labelled pixels: every pixel of y is 0 "
                             "(unlabelled).")
        if sample_weight is not None:
            weights = np.concatenate([np.asarray(w).reshape(-1) for w in self._label_maps(
                [np.empty(m.shape + (0,)) for m in cubes], sample_weight)])
            sample_weight = weights[keep]
        return accuracy_score(truth[keep], pred[keep], sample_weight=sample_weight)

