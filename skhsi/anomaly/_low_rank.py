"""Low-rank background plus sparse anomalies: robust PCA of each image."""

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..base import GLOBAL, SpatialReach, restore_shape
from ._base import SpectralOutlierMixin

__all__ = ["LowRankSparseDetector", "robust_pca"]


class LowRankSparseDetector(SpectralOutlierMixin, BaseEstimator):
    """Robust PCA detector: a low-rank background and sparse anomalies.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    The pixels of an image, standardised per band with the mean and standard
    deviation learned in ``fit``, form a matrix ``M`` (pixels x bands) that
    is split into a low-rank background ``L`` and a sparse part ``S`` by
    principal component pursuit (Candes et al., J. ACM 2011),
    ``min ||L||_* + lam ||S||_1`` subject to ``M = L + S``, solved by the
    inexact augmented Lagrange multiplier method (Lin, Chen and Ma, 2010).
    The anomaly score of a pixel is the L1 norm of its row of ``S``: what
    the background of the image cannot explain.

    The decomposition is of the image being scored (a cube, each cube of a
    batch, or a pixel table taken as one image), so the score of a pixel
    depends on the other pixels of its image, as for every detector that
    models the scene's background. No randomness is involved.

    Parameters
    ----------
    lam : float or None, default=None
        Weight of the sparse term; ``None`` is the theory's
        ``1 / sqrt(max(n_pixels, n_bands))``.
    max_iter : int, default=100
        Iterations of the augmented Lagrange multiplier method.
    tol : float, default=1e-6
        Stop when ``||M - L - S||_F <= tol ||M||_F``.
    contamination : float in (0, 0.5], default=0.01
        Fraction of training pixels flagged by ``predict``; sets ``offset_``.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features_in_,)
    scale_ : ndarray of shape (n_features_in_,)
    rank_ : int
        Rank of the background of the training image.
    n_iter_ : int
        Iterations the training decomposition took.
    offset_ : float
    n_features_in_ : int

    See Also
    --------
    RXDetector : A Gaussian background instead of a low-rank one.

    References
    ----------
    .. [1] E. J. Candès, X. Li, Y. Ma, J. Wright, "Robust principal component
       analysis?", Journal of the ACM 58(3), 2011.

    Examples
    --------
    >>> from skhsi.anomaly import LowRankSparseDetector
    >>> from skhsi.datasets import make_synthetic_scene
    >>> from skhsi.metrics import roc_auc
    >>> scene = make_synthetic_scene(random_state=0)
    >>> scores = LowRankSparseDetector().fit(scene.cube).anomaly_score(scene.cube)
    >>> scores.shape, bool(roc_auc(scene.mask, scores) > 0.9)
    ((64, 64), True)
    """

    _parameter_constraints = {
        "lam": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "contamination": SpectralOutlierMixin._contamination_constraint,
    }

    def __init__(self, *, lam=None, max_iter=100, tol=1e-6, contamination=0.01):
        self.lam = lam
        self.max_iter = max_iter
        self.tol = tol
        self.contamination = contamination

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the band standardisation, decompose the training image(s), set ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        pixels, lead = self._validate_spectral(X, reset=True)
        pixels = np.asarray(pixels, dtype=np.float64)
        self.mean_ = pixels.mean(axis=0)
        scale = pixels.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        scores = []
        for image in _images(pixels, lead):
            sparse, rank, n_iter = robust_pca(self._standardise(image), self.lam,
                                              self.max_iter, self.tol)
            scores.append(np.abs(sparse).sum(axis=1))
        self.rank_, self.n_iter_ = int(rank), int(n_iter)
        self._set_offset(np.concatenate(scores))
        return self

    def _standardise(self, pixels):
        return (np.asarray(pixels, dtype=np.float64) - self.mean_) / self.scale_

    def _map(self, X):
        check_is_fitted(self)
        pixels, lead = self._check_spectral(X)
        scores = [np.abs(robust_pca(self._standardise(image), self.lam, self.max_iter,
                                    self.tol)[0]).sum(axis=1)
                  for image in _images(pixels, lead)]
        return restore_shape(np.concatenate(scores), lead)

    def _spatial_reach(self):
        """Global: the background is decomposed from the whole image being scored."""
        return SpatialReach(GLOBAL)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _images(pixels, lead):
    """The pixel tables of the images of ``X``: a batch ``(N, H, W)`` has N of them."""
    if lead is not None and len(lead) == 3:
        per_image = int(np.prod(lead[1:]))
        return [pixels[i * per_image:(i + 1) * per_image] for i in range(lead[0])]
    return [pixels]


def robust_pca(matrix, lam=None, max_iter=100, tol=1e-6):
    """Principal component pursuit of ``matrix`` by the inexact ALM method.

    Parameters
    ----------
    matrix : ndarray of shape (m, n)
    lam : float or None
        Sparse weight; ``None`` is ``1 / sqrt(max(m, n))``.
    max_iter : int
    tol : float

    Returns
    -------
    sparse : ndarray of shape (m, n)
        The sparse part ``S`` (the low-rank part is ``matrix - S``).
    rank : int
        Rank of the low-rank part.
    n_iter : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.anomaly._low_rank import robust_pca
    >>> rng = np.random.default_rng(0)
    >>> low = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 20))
    >>> corrupted = low.copy(); corrupted[5, 3] += 30.0
    >>> sparse, rank, _ = robust_pca(corrupted)
    >>> rank, np.unravel_index(np.abs(sparse).argmax(), sparse.shape), round(sparse[5, 3], 3)
    (2, (np.int64(5), np.int64(3)), np.float64(30.0))
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    m, n = matrix.shape
    lam = 1.0 / np.sqrt(max(m, n)) if lam is None else float(lam)
    norm_fro = np.linalg.norm(matrix)
    if norm_fro == 0:
        return np.zeros_like(matrix), 0, 0
    norm_two = np.linalg.norm(matrix, 2)
    dual = matrix / max(norm_two, np.abs(matrix).max() / lam)
    mu, rho = 1.25 / norm_two, 1.5
    mu_max = mu * 1e7
    sparse = np.zeros_like(matrix)
    rank = 0
    for n_iter in range(1, max_iter + 1):
        low, rank = _singular_value_threshold(matrix - sparse + dual / mu, 1.0 / mu)
        target = matrix - low + dual / mu
        sparse = np.sign(target) * np.maximum(np.abs(target) - lam / mu, 0.0)
        gap = matrix - low - sparse
        dual += mu * gap
        mu = min(mu * rho, mu_max)
        if np.linalg.norm(gap) <= tol * norm_fro:
            break
    return sparse, rank, n_iter


def _singular_value_threshold(matrix, threshold):
    """``U max(s - threshold, 0) V^T`` and its rank.

    From the eigendecomposition of the small Gram matrix (bands x bands for
    a pixel table) rather than a full SVD: the singular values that survive
    the threshold are the large ones, which the Gram matrix keeps accurately.
    """
    if matrix.shape[0] < matrix.shape[1]:
        low, rank = _singular_value_threshold(matrix.T, threshold)
        return low.T, rank
    eigenvalues, vectors = linalg.eigh(matrix.T @ matrix)
    singular = np.sqrt(np.maximum(eigenvalues, 0.0))
    keep = singular > threshold
    shrunk = vectors[:, keep] * ((singular[keep] - threshold) / singular[keep])
    return (matrix @ shrunk) @ vectors[:, keep].T, int(keep.sum())
