"""Scoring and transforming cubes larger than memory with dask.

A fitted skhsi estimator's per-pixel methods (``anomaly_score``,
``score_samples``, ``decision_function``, ``predict``, ``transform``) run on
a dask array block by block: :func:`map_blocks` keeps the band axis in one
chunk and maps the method over the spatial chunks, giving a lazy dask array
with the input's leading shape. It reads the estimator's declared spatial
reach (:func:`skhsi.base.spatial_reach`, a pipeline's adds up over its
steps): per-pixel estimators need nothing from their neighbours; spatial
ones (local RX, convolutions, image networks) get blocks that overlap by
their reach, aligned to their pooling grid, so the result equals the
in-memory one. Estimators whose scores depend on the whole image are
refused with a ``ValueError``.
Anything that makes a dask array works as input, e.g.
``dask.array.from_array(read_envi(path).cube, chunks=(512, 512, -1))`` on a
memory-mapped ENVI file. On a ``dask.distributed`` cluster, where every
task is pickled to a worker process, :func:`from_envi` gives a dask array
whose blocks the workers read from the file themselves (a memory map would be
pickled whole), and :func:`store_scores` writes a block-wise result into one
``.npy`` file, each worker writing its own blocks (a ``numpy.memmap`` target
of ``dask.array.store`` would be pickled as a copy, and the writes lost).
For parameter searches over many machines, joblib's dask or ray backends run
``GridSearchCV`` with skhsi estimators unchanged (they pickle).

Needs ``dask[array]`` (``pip install "skhsi[dask]"``).
"""

import os
from pathlib import Path

import numpy as np

from ._files import staged_file

__all__ = ["from_envi", "map_blocks", "store_scores"]


def _dask_array():
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('skhsi.parallel needs dask: pip install "dask[array]"') from exc
    return da


def map_blocks(method, X, *, n_outputs=None, dtype=np.float64):
    """Apply a fitted estimator's per-pixel method to a dask array, block-wise.

    Parameters
    ----------
    method : callable
        A bound method of a fitted estimator, such as ``pipe.anomaly_score``
        or ``pipe.transform``, taking ``(..., C)`` and returning ``(...)`` or
        ``(..., K)``.
    X : dask.array.Array of shape (n, C), (H, W, C) or (N, H, W, C)
        Rechunked so that the band axis is one chunk.
    n_outputs : int or None, default=None
        ``None`` when ``method`` returns one value per pixel (scores,
        predictions); ``K`` when it returns ``K`` values per pixel (a transform).
    dtype : numpy dtype, default=float64
        dtype of the result (``predict`` gives integers).

    Returns
    -------
    dask.array.Array
        Lazy; ``.compute()`` runs the blocks, in parallel with dask's scheduler.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skhsi.anomaly import RXDetector
    >>> from skhsi.parallel import map_blocks
    >>> cube = np.random.default_rng(0).normal(size=(64, 48, 5))
    >>> rx = RXDetector().fit(cube)
    >>> lazy = map_blocks(rx.anomaly_score, da.from_array(cube, chunks=(16, 16, 5)))
    >>> lazy.shape, bool(np.allclose(lazy.compute(), rx.anomaly_score(cube)))
    ((64, 48), True)
    """
    da = _dask_array()
    if not isinstance(X, da.Array):
        raise TypeError(f"map_blocks expects a dask array, got {type(X).__name__}.")
    if X.ndim not in (2, 3, 4):
        raise ValueError(
            "Expected a dask array of shape (n, C), (H, W, C) or (N, H, W, C); "
            f"got {X.ndim}-D with shape {X.shape}."
        )
    band_axis = X.ndim - 1
    X = X.rechunk({band_axis: -1})
    reach = _spatial_reach(method, X)
    if reach is not None:
        return _map_overlapping(method, X, reach, n_outputs, dtype)
    if n_outputs is None:
        return X.map_blocks(method, drop_axis=band_axis, dtype=dtype)
    return X.map_blocks(method, chunks=X.chunks[:-1] + ((int(n_outputs),),), dtype=dtype)


def _spatial_reach(method, X):
    """``(halo, multiple)`` of the estimator behind ``method`` (its declared reach,
    :func:`skhsi.base.spatial_reach`), or None when it scores pixels alone."""
    from .base import SpatialReach, spatial_reach

    estimator = getattr(method, "__self__", None)
    reach = SpatialReach() if estimator is None else spatial_reach(estimator)
    if reach == SpatialReach():
        return None
    name = type(estimator).__name__
    if reach.is_global:
        raise ValueError(
            f"{name} depends on the whole image it is given, so block-wise scores would "
            "differ from whole-image scores; score it in memory, or choose a detector "
            "whose reach is finite."
        )
    if reach.zoom != 1:
        raise ValueError(f"{name} changes the pixel grid (by a factor {reach.zoom}); "
                         "map_blocks keeps every block's pixel grid.")
    if X.ndim != 3:
        raise ValueError(
            f"{name} compares pixels with their neighbours: map_blocks expects one cube "
            f"(H, W, C) as a dask array; got {X.ndim}-D with shape {X.shape}."
        )
    halo, multiple = reach.halo, reach.multiple
    return -(-halo // multiple) * multiple, multiple


def _map_overlapping(method, X, reach, n_outputs, dtype):
    """Blocks grown by ``halo`` on every inner side, chunks aligned to ``multiple``."""
    from dask.array.overlap import overlap, trim_internal

    halo, multiple = reach
    size = max(multiple, -(-halo // multiple) * multiple)  # a block holds its neighbours' halo
    chunks = [max(size, c - c % multiple) for c in (X.chunksize[0], X.chunksize[1])]
    # An axis no longer than the halo is one block, which needs no overlap.
    depth = {axis: 0 if chunks[axis] >= X.shape[axis] else halo for axis in (0, 1)}
    chunks = [min(c, n) for c, n in zip(chunks, X.shape[:2])]
    X = X.rechunk({0: chunks[0], 1: chunks[1]})
    depth[2] = 0
    grown = overlap(X, depth=depth, boundary="none")
    if n_outputs is None:
        out = grown.map_blocks(method, drop_axis=2, dtype=dtype)
    else:
        out = grown.map_blocks(method, chunks=grown.chunks[:2] + ((int(n_outputs),),),
                               dtype=dtype)
    return trim_internal(out, {0: depth[0], 1: depth[1]}, boundary="none")


class _EnviBlocks:
    """An ENVI file as an array-like for ``dask.array.from_array``: every
    ``[key]`` opens the file's memory map and copies out the indexed block, so
    pickling it sends the path, not the data."""

    ndim = 3

    def __init__(self, path):
        from .io import read_envi

        cube = read_envi(path).cube
        self.path = str(path)
        self.shape = cube.shape
        self.dtype = cube.dtype.newbyteorder("=")

    def __getitem__(self, key):
        from .io import read_envi

        return np.array(read_envi(self.path).cube[key], dtype=self.dtype)


def from_envi(path, *, chunks=(512, 512, -1)):
    """A lazy dask array ``(H, W, C)`` over an ENVI file, read block by block.

    Each block is read from the file's memory map by the process that computes
    it, so a ``dask.distributed`` worker reads only its own blocks and nothing
    of the file travels through the scheduler. On a cluster of several
    machines, the file must be on storage every worker reaches under the same
    path. Use :func:`skhsi.io.read_envi` for the wavelengths and metadata.

    Parameters
    ----------
    path : str or path-like
        The ENVI header or data file (found as :func:`~skhsi.io.read_envi` does).
    chunks : tuple or str, default=(512, 512, -1)
        Dask chunks of ``(lines, samples, bands)``; ``-1`` keeps an axis whole.

    Returns
    -------
    dask.array.Array
        In the file's dtype, native byte order.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skhsi.io import write_envi
    >>> from skhsi.parallel import from_envi
    >>> cube = np.arange(4 * 6 * 3, dtype=np.float32).reshape(4, 6, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     hdr, _ = write_envi(tmp + "/scene", cube, interleave="bil")
    ...     lazy = from_envi(hdr, chunks=(2, 3, -1))
    ...     print(lazy.numblocks, np.array_equal(lazy.compute(), cube))
    (2, 2, 1) True
    """
    da = _dask_array()
    from dask.base import tokenize

    source = _EnviBlocks(path)
    stat = os.stat(path)
    name = "from-envi-" + tokenize(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
    return da.from_array(source, chunks=chunks, name=name, lock=False, asarray=False,
                         meta=np.empty((0, 0, 0), dtype=source.dtype))


class _NpyBlocks:
    """A ``dask.array.store`` target: every write opens the ``.npy`` file's
    memory map, so each worker writes its blocks into the same file."""

    def __init__(self, path):
        self.path = str(path)

    def __setitem__(self, key, value):
        out = np.load(self.path, mmap_mode="r+")
        out[key] = value
        out.flush()


def store_scores(method, X, path, *, n_outputs=None, dtype=np.float32):
    """Score a dask array block-wise and write the result into a ``.npy`` file.

    :func:`map_blocks` of ``method`` over ``X``, computed by dask's current
    scheduler (a ``dask.distributed`` ``Client`` when one is active) and
    written block by block with :func:`dask.array.store`: no process holds
    more than the blocks it is computing, so inputs and results may be larger
    than memory. The file is written under a temporary name beside ``path``
    and moved into place when every block is in; on error it is removed and
    an existing ``path`` is left as it was. Read the result with
    ``numpy.load(path, mmap_mode="r")``. On a cluster of several machines,
    ``path`` must be on storage every worker reaches under the same name.

    Parameters
    ----------
    method : callable
        A bound per-pixel method of a fitted estimator, as for :func:`map_blocks`.
    X : dask.array.Array of shape (n, C), (H, W, C) or (N, H, W, C)
        The input, e.g. from :func:`from_envi`.
    path : str or path-like
        The ``.npy`` file to write.
    n_outputs : int or None, default=None
        As for :func:`map_blocks`: ``None`` for one value per pixel.
    dtype : numpy dtype, default=float32
        dtype of the file.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, dask.array as da, numpy as np
    >>> from skhsi.anomaly import RXDetector
    >>> from skhsi.parallel import store_scores
    >>> cube = np.random.default_rng(0).normal(size=(64, 48, 5))
    >>> rx = RXDetector().fit(cube)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = store_scores(rx.anomaly_score, da.from_array(cube, chunks=(16, 48, 5)),
    ...                        tmp + "/scores.npy")
    ...     scores = np.load(out)
    >>> scores.shape, scores.dtype, bool(np.allclose(scores, rx.anomaly_score(cube)))
    ((64, 48), dtype('float32'), True)
    """
    da = _dask_array()
    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise ValueError(f"store_scores writes a .npy file; got {str(path)!r}.")
    lazy = map_blocks(method, X, n_outputs=n_outputs).astype(dtype)
    tmp = staged_file(path, lambda fh: None)
    try:
        np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=lazy.shape).flush()
        da.store(lazy, _NpyBlocks(tmp), lock=False)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
