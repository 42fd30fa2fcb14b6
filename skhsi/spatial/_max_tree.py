"""The numba kernels of :mod:`skhsi.spatial._component_tree`: max-tree and area opening."""

import numba
import numpy as np

__all__ = ["max_tree", "opening"]


@numba.njit(cache=True, nogil=True)
def _find_root(zpar, p):
    root = p
    while zpar[root] != root:
        root = zpar[root]
    while zpar[p] != root:  # path compression
        nxt = zpar[p]
        zpar[p] = root
        p = nxt
    return root


@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
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
