"""Reading a ground-truth mask kept in a file of its own."""

from pathlib import Path

import numpy as np

from ._image import _as_mask

__all__ = ["read_mask"]



def read_mask(path, *, key=None, shape=None):
    """Read a binary ground-truth mask ``(H, W)`` (True = anomaly) from its own file.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` array, a ``.png`` image (any pixel that is not black is an
        anomaly; colour images are converted to grey first), a ``.mat`` file
        (the 2-D variable named ``key``, or the only 2-D variable) or an ENVI
        file with one band (``.hdr`` or its data file).
    key : str or None, default=None
        Variable of a ``.mat`` file.
    shape : tuple of int or None, default=None
        The ``(H, W)`` the mask must have, usually the cube's.

    Returns
    -------
    ndarray of bool, shape (H, W)

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the file holds no 2-D array, the choice of variable is ambiguous,
        the values are not 0/1 (or bool), or the shape is not ``shape``; every
        message names the file (and the variable).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from skhsi.io import read_mask
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(os.path.join(tmp, "gt.npy"), np.eye(3, dtype=np.uint8))
    ...     mask = read_mask(os.path.join(tmp, "gt.npy"), shape=(3, 3))
    >>> mask.dtype, int(mask.sum())
    (dtype('bool'), 3)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such mask file: {path}")
    suffix = path.suffix.lower()
    where = str(path)
    if suffix == ".npy":
        values = np.load(path, allow_pickle=False)
    elif suffix == ".png":
        import matplotlib.image

        image = matplotlib.image.imread(path)
        values = image[..., :3].mean(axis=-1) if image.ndim == 3 else image
        values = values > 0
    elif suffix == ".mat":
        values, key = _mat_variable(path, key)
        where = f"{path}, variable {key!r}"
    else:
        from ._envi import read_envi

        cube = read_envi(path, mmap=False).cube
        if cube.shape[-1] != 1:
            raise ValueError(f"{path}: a mask needs one band; the ENVI file has "
                             f"{cube.shape[-1]}.")
        values = cube[..., 0]
    return _as_mask(np.asarray(values), where, shape)


def _mat_variable(path, key):
    from ._mat import _V5File, _V73File, _listing

    import h5py

    reader = _V73File(path) if h5py.is_hdf5(path) else _V5File(path)
    shapes = reader.shapes
    if key is None:
        flat = [name for name, s in shapes.items() if len(s) == 2]
        if len(flat) != 1:
            raise ValueError(
                f"{path}: {'no' if not flat else 'more than one'} 2-D variable for the mask; "
                f"pass mask_key= (--mask-key) to choose among: {_listing(shapes)}."
            )
        key = flat[0]
    elif key not in shapes:
        raise ValueError(f"{path}: no numeric variable {key!r} for the mask; numeric "
                         f"variables found: {_listing(shapes)}.")
    return reader.load([key])[key], key
