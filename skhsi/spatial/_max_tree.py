"""The numba kernels of :mod:`skhsi.spatial._component_tree`: max-tree and area opening.

Compiled code is cached on disk (loading it is much faster than compiling):
where numba puts it (the package's ``__pycache__``, else the
user's cache directory, or ``NUMBA_CACHE_DIR``), or, when neither is writable
(a read-only install and no home directory), in a directory under the
temporary directory that only this user can write; without one, the kernels
are compiled in every process.
"""

import os
import stat
import tempfile

import numba
import numpy as np

__all__ = ["max_tree", "opening"]


def _private_cache_dir():
    """``<tempdir>/skhsi-numba-<uid>``, when it is (or can be made) a directory of this
    user's that no one else can write, else ``None``. Numba's index files are pickles, so
    a directory that others can write would run their code."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return None
    path = os.path.join(tempfile.gettempdir(), f"skhsi-numba-{getuid()}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
        if (not stat.S_ISDIR(info.st_mode) or info.st_uid != getuid()
                or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            return None
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return None
    return path


def _jit(func):
    """``numba.njit(cache=True, nogil=True)``, with the fallbacks of the module docstring."""
    try:
        return numba.njit(cache=True, nogil=True)(func)
    except RuntimeError:  # numba found no writable cache directory
        pass
    folder = _private_cache_dir()
    if folder is None:
        return numba.njit(nogil=True)(func)
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = folder  # read once, when the dispatcher picks its cache
    try:
        return numba.njit(cache=True, nogil=True)(func)
    finally:
        numba.config.CACHE_DIR = saved


@_jit
def _find_root(zpar, p):
    root = p
    while zpar[root] != root:
        root = zpar[root]
    while zpar[p] != root:  # path compression
        nxt = zpar[p]
        zpar[p] = root
        p = nxt
    return root


@_jit
def max_tree(values, height, width, order, reverse):
    """Canonical parent and component area of every pixel.

    ``order`` sorts ``values`` ascending; with ``reverse`` the tree is the
    min-tree (the max-tree of ``-values``), processed in the opposite order.
    """
    n = height * width
    parent = np.empty(n, np.int32)
    zpar = np.full(n, -1, np.int32)
    for i in range(n):
        p = order[i] if reverse else order[n - 1 - i]
        parent[p] = p
        zpar[p] = p
        row = p // width
        col = p - row * width
        for k in range(4):
            if k == 0:
                if row == 0:
                    continue
                q = p - width
            elif k == 1:
                if row == height - 1:
                    continue
                q = p + width
            elif k == 2:
                if col == 0:
                    continue
                q = p - 1
            else:
                if col == width - 1:
                    continue
                q = p + 1
            if zpar[q] == -1:
                continue
            root = _find_root(zpar, q)
            if root != p:
                parent[root] = p
                zpar[root] = p
    for i in range(n):  # root first: canonical parents
        p = order[n - 1 - i] if reverse else order[i]
        q = parent[p]
        if values[parent[q]] == values[q]:
            parent[p] = parent[q]
    area = np.ones(n, np.int32)
    for i in range(n - 1):  # leaves first
        p = order[i] if reverse else order[n - 1 - i]
        area[parent[p]] += area[p]
    return parent, area


@_jit
def opening(values, order, reverse, parent, area, min_area, out):
    """Area opening (closing with ``reverse``) of ``values`` from its tree, into ``out``."""
    n = values.shape[0]
    for i in range(n):  # root first
        p = order[n - 1 - i] if reverse else order[i]
        q = parent[p]
        if p == q:
            out[p] = values[p]
        elif values[q] != values[p] and area[p] >= min_area:
            out[p] = values[p]
        else:
            out[p] = out[q]
    return out
