"""Streaming band moments and the principal axes they give, for fits that must not copy
the cube."""

import numpy as np
from scipy import linalg

__all__ = ["accumulate_moments", "cube_moments", "principal_axes", "project"]


def accumulate_moments(pixels, n=0, mean=None, scatter=0.0, batch_size=65536):
    """``(n, mean, scatter)`` with the rows of ``pixels`` added, ``batch_size`` at a time.

    Chan et al.'s pairwise update in float64: the scatter is the sum of squared
    deviations from the mean, so ``scatter / n`` is the population covariance.
    Input of any dtype (a memory-mapped cube too) is converted one batch at a
    time.
    """
    mean = np.zeros(pixels.shape[1]) if mean is None else mean
    for start in range(0, pixels.shape[0], batch_size):
        chunk = np.asarray(pixels[start:start + batch_size], dtype=np.float64)
        n_b, mean_b = chunk.shape[0], chunk.mean(axis=0)
        centred = chunk - mean_b
        delta = mean_b - mean
        total = n + n_b
        scatter = scatter + centred.T @ centred + np.outer(delta, delta) * (n * n_b / total)
        mean = mean + delta * (n_b / total)
        n = total
    return n, mean, scatter


def cube_moments(cubes, batch_size=65536):
    """``(n, mean, scatter)`` of the pixels of every ``(H, W, C)`` cube in ``cubes``."""
    n, mean, scatter = 0, None, 0.0
    for cube in cubes:
        n, mean, scatter = accumulate_moments(cube.reshape(-1, cube.shape[-1]), n, mean,
                                              scatter, batch_size)
    return n, mean, scatter


def principal_axes(covariance, n_components):
    """``(components, variances)``: the ``n_components`` leading eigenvectors of a
    covariance ``(C, C)`` as rows, largest variance first, and their variances (clipped at
    0). Sign convention: the largest loading of every component is positive."""
    variance, vectors = linalg.eigh(covariance)
    order = np.argsort(variance)[::-1][:n_components]
    components = vectors[:, order].T
    largest = components[np.arange(len(order)), np.abs(components).argmax(axis=1)]
    return components * np.where(largest < 0, -1.0, 1.0)[:, None], \
        np.maximum(variance[order], 0.0)


def project(pixels, mean, matrix, batch_size=65536):
    """``(pixels - mean) @ matrix`` in float64, ``batch_size`` rows at a time: a pixel table
    of any dtype (a memory-mapped cube too) is never converted whole."""
    out = np.empty((pixels.shape[0], matrix.shape[1]))
    for start in range(0, pixels.shape[0], batch_size):
        chunk = np.asarray(pixels[start:start + batch_size], dtype=np.float64)
        out[start:start + batch_size] = (chunk - mean) @ matrix
    return out
