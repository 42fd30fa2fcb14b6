"""Spatial block cross-validation: folds of whole blocks, a buffer gap, stratified by class.

Neighbouring pixels of a scene are nearly copies of each other, so a random
pixel split measures memory, not generalisation, and a patch model sees its
test pixels inside its training windows. :class:`SpatialBlockKFold` cuts
the image into a grid of blocks, gives every block to one test fold
(balancing the classes), and removes from each fold's training side the
pixels within ``buffer`` pixels of its test pixels.
"""

import warnings
from numbers import Integral

import numpy as np
from scipy import ndimage
from sklearn.model_selection import BaseCrossValidator
from sklearn.model_selection._split import GroupsConsumerMixin
from sklearn.utils import check_random_state

__all__ = ["SpatialBlockKFold", "labelled_pixels"]

_ON_MISSING = ("raise", "warn", "ignore")


class SpatialBlockKFold(GroupsConsumerMixin, BaseCrossValidator):
    """K-fold cross-validation over spatial blocks of an image, leak-free by a buffer.

    The image (or each image of a batch) is cut into a grid of blocks of
    ``block_shape`` pixels, starting at the top-left corner. Each block
    holding labelled pixels is the test set of exactly one fold; its
    labelled pixels are that fold's test pixels. A fold's training pixels
    are the labelled pixels of the other blocks farther than ``buffer``
    pixels (Chebyshev distance) from every test pixel. Unlabelled pixels
    are in no fold.

    Blocks are assigned to folds greedily, those of the rarest classes
    first: each block goes to the fold whose test set lacks its classes
    (the rarest first), then to the one least filled with them. So every
    fold's test set holds every class found in at least ``n_splits``
    blocks, and the classes' pixels spread over the folds.

    **Pixel estimators** (``GridSearchCV``, ``cross_val_score``): fit them
    on the labelled pixels only and tell the splitter where each one lies,
    as ``groups``: the flat position of the pixel in the image(s) of
    ``image_shape`` (:func:`labelled_pixels` returns the three)::

        X, y, positions = labelled_pixels(cube, labels)
        cv = SpatialBlockKFold(5, block_shape=16, buffer=2, image_shape=labels.shape)
        GridSearchCV(estimator, grid, cv=cv).fit(X, y, groups=positions)

    so the final refit, too, sees labelled pixels only. Without ``groups``,
    the rows of a pixel table ``X`` are every pixel of the image(s) in
    row-major order (``cube.reshape(-1, C)``); the folds then hold labelled
    rows only, but ``GridSearchCV``'s refit on all rows would not.

    **Image estimators** (fitted on a whole cube whose unlabelled pixels
    are ``0``): :meth:`split_labels` gives, per fold, the training label
    map and the test label map, each with the other pixels set to
    ``unlabelled``.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    block_shape : int or (int, int), default=(16, 16)
        Block height and width in pixels.
    buffer : int, default=0
        Labelled pixels within this many pixels of a test pixel are left out
        of training. For a patch model with ``k x k`` windows, ``buffer=k - 1``
        keeps every training window disjoint from every test window;
        ``buffer=k // 2`` keeps test pixels out of training windows.
    image_shape : (H, W), (N, H, W) or None, default=None
        The leading shape of the image(s) whose pixels are the rows of a
        pixel table ``X``. Not needed when ``X`` (or ``y``) is a cube or a
        label map of that shape.
    unlabelled : int or None, default=0
        The label of unlabelled pixels; ``None`` when every pixel is
        labelled. A boolean ``y`` (an anomaly mask) labels every pixel.
    on_missing : {"raise", "warn", "ignore"}, default="raise"
        What to do when a fold's test side or training side holds no pixel of
        a class: a ``ValueError`` naming the class, the fold and the counts, a
        ``UserWarning`` with the same text, or nothing.
    shuffle : bool, default=False
        Break ties between equally rare blocks at random, so that different
        ``random_state`` give different folds.
    random_state : int, RandomState instance or None, default=None
        Used when ``shuffle=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.model_selection import SpatialBlockKFold
    >>> labels = np.zeros((32, 32), dtype=int)
    >>> labels[:, :16], labels[:, 16:] = 1, 2
    >>> labels[::5] = 0  # some unlabelled rows
    >>> cv = SpatialBlockKFold(n_splits=2, block_shape=8, buffer=2, image_shape=(32, 32))
    >>> for train, test in cv.split(np.zeros((32 * 32, 3)), labels.reshape(-1)):
    ...     print(len(train), len(test), np.unique(labels.reshape(-1)[test]))
    250 400 [1 2]
    250 400 [1 2]
    """

    def __init__(self, n_splits=5, *, block_shape=(16, 16), buffer=0, image_shape=None,
                 unlabelled=0, on_missing="raise", shuffle=False, random_state=None):
        self.n_splits = n_splits
        self.block_shape = block_shape
        self.buffer = buffer
        self.image_shape = image_shape
        self.unlabelled = unlabelled
        self.on_missing = on_missing
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of folds, ``n_splits``."""
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Row indices ``(train, test)`` of each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, C), (H, W, C) or (N, H, W, C)
            Pixels: one per position of ``groups``, or (without ``groups``)
            every pixel of the image(s) of ``image_shape`` in row-major order.
        y : array-like of shape (n_samples,) or the leading shape of the image(s), or None
            Labels, ``unlabelled`` where there are none. ``None``: every pixel
            is labelled with one class.
        groups : array-like of int of shape (n_samples,) or None
            The flat position of each row's pixel in the image(s) of
            ``image_shape`` (``np.ravel_multi_index`` of its coordinates).

        Yields
        ------
        train, test : ndarray of int
            Indices of the rows of ``X`` (of ``X.reshape(-1, C)`` for cubes).
        """
        if groups is None:
            lead = self._leading_shape(X, y)
            labelled, codes, classes = self._encode(y, int(np.prod(lead)))
            for train, test in self._fold_masks(labelled, codes, classes, lead):
                yield np.flatnonzero(train), np.flatnonzero(test)
            return
        lead, positions = self._positions(X, y, groups)
        n_pixels = int(np.prod(lead))
        row_labelled, row_codes, classes = self._encode(y, positions.size)
        labelled = np.zeros(n_pixels, dtype=bool)
        codes = np.zeros(n_pixels, dtype=np.intp)
        labelled[positions], codes[positions] = row_labelled, row_codes
        for train, test in self._fold_masks(labelled, codes, classes, lead):
            yield np.flatnonzero(train[positions]), np.flatnonzero(test[positions])

    def split_labels(self, y, X=None):
        """Per fold, the training and the test label map of ``y``.

        For image estimators that train on a whole cube with unlabelled
        pixels: the training map keeps the labels of the fold's training
        pixels and the test map those of its test pixels; every other pixel
        (test, buffer, unlabelled) is ``unlabelled`` in them. Score only the
        test map's labelled pixels.

        Parameters
        ----------
        y : array-like of shape (H, W) or (N, H, W), or (n_pixels,) with ``image_shape``
        X : ignored, or the cube(s) whose leading shape ``y`` has

        Yields
        ------
        train_labels, test_labels : ndarray with the shape of ``y``

        Examples
        --------
        >>> import numpy as np
        >>> from skhsi.model_selection import SpatialBlockKFold
        >>> labels = np.repeat([[1, 2]], 8, axis=0).repeat(8, axis=1)  # (8, 16)
        >>> cv = SpatialBlockKFold(n_splits=2, block_shape=4, buffer=1)
        >>> for train_labels, test_labels in cv.split_labels(labels):
        ...     keep = test_labels > 0
        ...     print(keep.sum(), (train_labels > 0).sum(), np.unique(test_labels[keep]))
        64 40 [1 2]
        64 40 [1 2]
        """
        if y is None:
            raise ValueError("split_labels needs the label map y.")
        y = np.asarray(y)
        if y.dtype == bool or self.unlabelled is None:
            raise ValueError("split_labels sets the pixels out of a fold to `unlabelled`, so "
                             "it needs integer labels and unlabelled not None; with a boolean "
                             "mask or every pixel labelled, use split() indices instead.")
        lead = self._leading_shape(X, y)
        masks = self._fold_masks(*self._encode(y, y.size), lead)
        for train, test in masks:
            yield (np.where(train.reshape(y.shape), y, self.unlabelled),
                   np.where(test.reshape(y.shape), y, self.unlabelled))

    # -- internals ----------------------------------------------------------------------
    def _positions(self, X, y, groups):
        """The leading shape of ``image_shape`` and the validated row positions ``groups``."""
        if self.image_shape is None:
            raise ValueError("groups are the positions of the rows in the image(s): "
                             "SpatialBlockKFold needs image_shape=(H, W) (or (N, H, W)) too.")
        lead = _check_shape("image_shape", self.image_shape, (2, 3))
        positions = np.asarray(groups)
        n_pixels = int(np.prod(lead))
        if (positions.ndim != 1 or not np.issubdtype(positions.dtype, np.integer)
                or positions.size == 0):
            raise ValueError("groups must be the flat integer positions of the rows in the "
                             f"image(s) of image_shape={lead}; got an array of shape "
                             f"{positions.shape} and dtype {positions.dtype}.")
        if positions.min() < 0 or positions.max() >= n_pixels:
            raise ValueError(f"groups must lie in [0, {n_pixels}) for image_shape={lead}; got "
                             f"values in [{positions.min()}, {positions.max()}].")
        if np.unique(positions).size != positions.size:
            raise ValueError("groups holds a position twice: each row must be its own pixel.")
        n_rows = np.shape(X)[0] if X is not None and np.ndim(X) == 2 else positions.size
        if n_rows != positions.size or (y is not None and np.size(y) != positions.size):
            raise ValueError(f"groups has {positions.size} positions but X has {n_rows} rows"
                             + ("" if y is None else f" and y {np.size(y)} labels") + ".")
        return lead, positions

    def _leading_shape(self, X, y):
        """The leading shape of the image(s), from ``image_shape``, ``X`` or ``y``."""
        image_shape = self.image_shape
        if image_shape is not None:
            image_shape = _check_shape("image_shape", image_shape, (2, 3))
        shapes = []
        if X is not None:
            X_shape = np.shape(X)
            if len(X_shape) >= 3:
                shapes.append(("X", tuple(X_shape[:-1])))
            elif len(X_shape) == 2:
                if image_shape is None:
                    raise ValueError(
                        f"X is a pixel table of shape {X_shape}: SpatialBlockKFold needs "
                        "image_shape=(H, W) (or (N, H, W)) to know where its rows lie, e.g. "
                        "image_shape=labels.shape for X = cube.reshape(-1, C).")
                if X_shape[0] != int(np.prod(image_shape)):
                    raise ValueError(
                        f"X has {X_shape[0]} rows but image_shape={image_shape} holds "
                        f"{int(np.prod(image_shape))} pixels: pass every pixel of the "
                        "image (labelled or not), in row-major order.")
            else:
                raise ValueError(f"X must be a pixel table or cube(s); got shape {X_shape}.")
        if y is not None and np.ndim(y) >= 2:
            shapes.append(("y", tuple(np.shape(y))))
        if image_shape is not None:
            shapes.append(("image_shape", image_shape))
        if not shapes:
            raise ValueError("SpatialBlockKFold needs the image geometry: give image_shape, "
                             "a cube X (H, W, C) or a label map y (H, W).")
        name, lead = shapes[0]
        for other, shape in shapes[1:]:
            if shape != lead:
                raise ValueError(f"The leading shape of {name}, {lead}, differs from that of "
                                 f"{other}, {shape}.")
        if len(lead) not in (2, 3):
            raise ValueError(f"Images must be (H, W) or (N, H, W); got leading shape {lead}.")
        if y is not None and np.size(y) != int(np.prod(lead)):
            raise ValueError(f"y has {np.size(y)} labels but the image(s) of shape {lead} "
                             f"hold {int(np.prod(lead))} pixels.")
        return lead

    def _check_params(self):
        n_splits = self.n_splits
        if isinstance(n_splits, bool) or not isinstance(n_splits, Integral) or n_splits < 2:
            raise ValueError(f"n_splits must be an integer >= 2; got {n_splits!r}.")
        block = self.block_shape
        block = (block, block) if isinstance(block, Integral) else block
        block = _check_shape("block_shape", block, (2,))
        buffer = self.buffer
        if isinstance(buffer, bool) or not isinstance(buffer, Integral) or buffer < 0:
            raise ValueError(f"buffer must be an integer >= 0; got {buffer!r}.")
        if self.on_missing not in _ON_MISSING:
            raise ValueError(f"on_missing must be one of {_ON_MISSING}; got "
                             f"{self.on_missing!r}.")
        return int(n_splits), block, int(buffer)

    def _encode(self, y, n_pixels):
        """``(labelled, codes, classes)`` of ``n_pixels`` labels (codes index ``classes``)."""
        if y is None:
            return (np.ones(n_pixels, dtype=bool), np.zeros(n_pixels, dtype=np.intp),
                    np.array([None]))
        y = np.asarray(y).reshape(-1)
        if y.dtype == bool or self.unlabelled is None:
            labelled = np.ones(n_pixels, dtype=bool)
        else:
            labelled = y != self.unlabelled
        if not labelled.any():
            raise ValueError(f"y has no labelled pixel (all equal unlabelled="
                             f"{self.unlabelled!r}).")
        classes, inverse = np.unique(y[labelled], return_inverse=True)
        codes = np.zeros(n_pixels, dtype=np.intp)
        codes[labelled] = inverse.reshape(-1)
        return labelled, codes, classes

    def _fold_masks(self, labelled, codes, classes, lead):
        """Boolean ``(train, test)`` masks over the image grid, one pair per fold."""
        n_splits, (bh, bw), buffer = self._check_params()
        n_pixels = labelled.size
        images = (1,) + tuple(lead) if len(lead) == 2 else tuple(lead)
        n_images, height, width = images
        rows, cols = np.divmod(np.arange(height * width), width)
        blocks_per_row = -(-width // bw)
        block_of = ((rows // bh) * blocks_per_row + cols // bw)
        blocks_per_image = -(-height // bh) * blocks_per_row
        block_of = (np.arange(n_images)[:, None] * blocks_per_image + block_of).reshape(-1)
        used, block_index = np.unique(block_of[labelled], return_inverse=True)
        if len(used) < n_splits:
            raise ValueError(f"Cannot have n_splits={n_splits} greater than the number of "
                             f"blocks holding labelled pixels, {len(used)} (block_shape="
                             f"{(bh, bw)}): use smaller blocks or fewer splits.")
        counts = np.zeros((len(used), len(classes)), dtype=np.int64)
        np.add.at(counts, (block_index, codes[labelled]), 1)
        fold_of_block = self._assign(counts, n_splits)
        fold_of = np.full(n_pixels, -1)
        fold_of[labelled] = fold_of_block[block_index]
        masks = []
        for fold in range(n_splits):
            test = fold_of == fold
            near = test.reshape(images)
            if buffer:
                near = ndimage.maximum_filter(near, size=(1, 2 * buffer + 1, 2 * buffer + 1),
                                              mode="constant", cval=False)
            train = labelled & ~near.reshape(-1)
            masks.append((train, test))
        self._check_missing(masks, codes, classes, counts, (bh, bw), buffer)
        return masks

    def _assign(self, counts, n_splits):
        """The test fold of each block: rarest classes first, folds lacking them first."""
        n_blocks, n_classes = counts.shape
        present = counts > 0
        blocks_of_class = present.sum(axis=0)
        totals = counts.sum(axis=0)
        rarest = np.where(present, blocks_of_class[None, :], np.iinfo(np.int64).max).min(1)
        order = np.arange(n_blocks)
        if self.shuffle:
            order = check_random_state(self.random_state).permutation(n_blocks)
        order = order[np.lexsort((-counts.sum(axis=1)[order], rarest[order]))]
        fold_counts = np.zeros((n_splits, n_classes), dtype=np.int64)
        fold_of_block = np.empty(n_blocks, dtype=np.intp)
        for block in order:
            classes = np.flatnonzero(present[block])
            classes = classes[np.argsort(blocks_of_class[classes], kind="stable")]
            has = fold_counts[:, classes] > 0  # (n_splits, n_block_classes), rarest first
            fill = (fold_counts[:, classes] / totals[classes]) @ counts[block, classes]
            keys = [tuple(has[f]) + (fill[f], fold_counts[f].sum()) for f in range(n_splits)]
            fold = min(range(n_splits), key=keys.__getitem__)
            fold_of_block[block] = fold
            fold_counts[fold] += counts[block]
        return fold_of_block

    def _check_missing(self, masks, codes, classes, counts, block, buffer):
        if self.on_missing == "ignore":
            return
        n_classes = len(classes)
        blocks_of_class = (counts > 0).sum(axis=0)
        totals = counts.sum(axis=0)
        problems = []
        for fold, (train, test) in enumerate(masks):
            for side, mask in (("test", test), ("training", train)):
                found = np.bincount(codes[mask], minlength=n_classes)
                for c in np.flatnonzero(found == 0):
                    label = "all pixels" if classes[c] is None else f"class {_plain(classes[c])!r}"
                    problems.append(
                        f"fold {fold} has no {side} pixel of {label} ({totals[c]} labelled "
                        f"pixels in {blocks_of_class[c]} blocks of {block}, buffer={buffer}, "
                        f"n_splits={len(masks)})")
        if not problems:
            return
        message = ("SpatialBlockKFold cannot give every fold every class: " + "; ".join(
            problems) + ". Use smaller blocks, fewer splits or a smaller buffer, or "
            "on_missing='warn' / 'ignore' if the scorer does not need every class.")
        if self.on_missing == "raise":
            raise ValueError(message)
        warnings.warn(message, UserWarning, stacklevel=4)


def labelled_pixels(X, y, *, unlabelled=0):
    """The labelled pixels of cube(s), their labels and where they lie.

    What a pixel estimator is cross-validated on with
    :class:`SpatialBlockKFold`: pass ``positions`` as ``groups``.

    Parameters
    ----------
    X : array-like of shape (H, W, C) or (N, H, W, C)
    y : array-like of the leading shape of ``X``
        Labels, ``unlabelled`` where there are none; a boolean mask labels
        every pixel.
    unlabelled : int or None, default=0

    Returns
    -------
    pixels : ndarray of shape (n_labelled, C)
    labels : ndarray of shape (n_labelled,)
    positions : ndarray of int of shape (n_labelled,)
        Flat positions in the leading shape of ``X`` (row-major).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.svm import SVC
    >>> from skhsi.model_selection import SpatialBlockKFold, labelled_pixels
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat(rng.integers(1, 3, size=(6, 6)), 5, axis=0).repeat(5, axis=1)
    >>> labels[rng.random(labels.shape) < 0.5] = 0
    >>> cube = rng.normal(size=labels.shape + (4,)) + labels[..., None]
    >>> X, y, positions = labelled_pixels(cube, labels)
    >>> cv = SpatialBlockKFold(3, block_shape=5, buffer=1, image_shape=labels.shape)
    >>> search = GridSearchCV(SVC(), {"C": [0.1, 10.0]}, cv=cv).fit(X, y, groups=positions)
    >>> sorted(search.classes_.tolist()), bool(search.best_score_ > 0.8)
    ([1, 2], True)
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim not in (3, 4):
        raise ValueError(f"labelled_pixels takes a cube (H, W, C) or a batch (N, H, W, C); "
                         f"got shape {X.shape}.")
    if y.shape != X.shape[:-1]:
        raise ValueError(f"y must have the leading shape of X, {X.shape[:-1]}; got {y.shape}.")
    flat = y.reshape(-1)
    if flat.dtype == bool or unlabelled is None:
        positions = np.arange(flat.size)
    else:
        positions = np.flatnonzero(flat != unlabelled)
    return X.reshape(-1, X.shape[-1])[positions], flat[positions], positions


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_shape(name, shape, lengths):
    try:
        values = tuple(shape)
    except TypeError:
        values = None
    if (values is None or len(values) not in lengths
            or not all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 1
                       for v in values)):
        raise ValueError(f"{name} must be a tuple of {' or '.join(map(str, lengths))} "
                         f"positive integers; got {shape!r}.")
    return tuple(int(v) for v in values)
