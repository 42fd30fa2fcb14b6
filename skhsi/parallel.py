"""Scoring and transforming cubes larger than memory with dask.

A fitted skhsi estimator's per-pixel methods (``anomaly_score``,
``score_samples``, ``decision_function``, ``predict``, ``transform``) run on
a dask array block by block: :func:`map_blocks` keeps the band axis in one
chunk and maps the method over the spatial chunks, giving a lazy dask array
with the input's leading shape. It reads the estimator's declared sample
layout: pixel nodes need nothing from their neighbours; image and patch
nodes (the spatial autoencoders) get blocks that overlap by their reach,
aligned to their pooling grid, so the result equals the in-memory one.
Anything that makes a dask array works as input, e.g.
``dask.array.from_array(read_envi(path).cube, chunks=(512, 512, -1))`` on a
memory-mapped ENVI file. For parameter searches over many machines, joblib's
dask or ray backends run ``GridSearchCV`` with skhsi estimators unchanged
(they pickle).

Needs ``dask[array]`` (``pip install "skhsi[dask]"``).
"""

import numpy as np

__all__ = ["map_blocks"]


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
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('map_blocks needs dask: pip install "dask[array]"') from exc
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
    """``(halo, multiple)`` of an image-layout estimator behind ``method``, else None."""
    from ._node import TorchNode  # torch is loaded already when such a node exists

    estimator = getattr(method, "__self__", None)
    if hasattr(estimator, "steps"):  # a Pipeline: its final step decides
        estimator = estimator.steps[-1][1]
    if not isinstance(estimator, TorchNode) or estimator.sample_layout == "pixel":
        return None
    if X.ndim != 3:
        raise ValueError(
            f"{type(estimator).__name__} works on images: map_blocks expects one cube "
            f"(H, W, C) as a dask array; got {X.ndim}-D with shape {X.shape}."
        )
    return estimator._spatial_reach()


def _map_overlapping(method, X, reach, n_outputs, dtype):
    """Blocks grown by ``halo`` on every inner side, chunks aligned to ``multiple``."""
    from dask.array.overlap import overlap, trim_internal

    halo, multiple = reach
    size = max(multiple, -(-halo // multiple) * multiple)  # a block holds its neighbours' halo
    chunks = tuple(max(size, c - c % multiple) for c in (X.chunksize[0], X.chunksize[1]))
    X = X.rechunk({0: chunks[0], 1: chunks[1]})
    depth = {0: halo, 1: halo, 2: 0}
    grown = overlap(X, depth=depth, boundary="none")
    if n_outputs is None:
        out = grown.map_blocks(method, drop_axis=2, dtype=dtype)
    else:
        out = grown.map_blocks(method, chunks=grown.chunks[:2] + ((int(n_outputs),),),
                               dtype=dtype)
    return trim_internal(out, {0: halo, 1: halo}, boundary="none")
