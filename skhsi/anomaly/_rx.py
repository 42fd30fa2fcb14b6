"""Global RX detector: Mahalanobis distance to the background distribution."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg, stats
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from .._moments import accumulate_moments
from ._base import SpectralOutlierMixin

#: ``covariance`` options and their estimators in ``sklearn.covariance`` (imported in fit).
_COVARIANCES = {"empirical": "EmpiricalCovariance", "ledoit-wolf": "LedoitWolf", "oas": "OAS"}


class RXDetector(SpectralOutlierMixin, BaseEstimator):
    """Global Reed-Xiaoli (RX) anomaly detector.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    The anomaly score of a pixel is its squared Mahalanobis distance to the
    mean of the training pixels, ``(x - mu)^T S^-1 (x - mu)``. The covariance
    ``S`` comes from a scikit-learn covariance estimator and is regularised by
    adding ``reg * trace(S) / n_bands`` to its diagonal, so that it stays
    invertible when bands are collinear. Scoring runs in chunks of
    ``batch_size`` pixels.

    Parameters
    ----------
    covariance : {"empirical", "ledoit-wolf", "oas"}, default="empirical"
        Covariance estimator (``sklearn.covariance``). The empirical one is
        accumulated ``batch_size`` pixels at a time in float64, so ``fit`` holds
        no copy of the pixels; the shrinkage estimators need them all at once
        (a float64 copy, and scikit-learn's centred one).
    reg : float, default=1e-6
        Ridge added to the diagonal, relative to the mean band variance.
    contamination : float in (0, 0.5], default=0.01
        Fraction of training pixels flagged by ``predict``; sets ``offset_``.
    batch_size : int, default=65536
        Pixels scored (and, for the empirical covariance, accumulated) at a time.

    Attributes
    ----------
    location_ : ndarray of shape (n_features_in_,)
    covariance_ : ndarray of shape (n_features_in_, n_features_in_)
        Regularised covariance.
    offset_ : float
    n_samples_seen_ : int
        Pixels the statistics were computed from.
    n_features_in_ : int

    See Also
    --------
    LocalRXDetector : RX against a ring around each pixel.
    AttributeFilterDetector : The default: spatial structure and global rarity.

    References
    ----------
    .. [1] I. S. Reed, X. Yu, "Adaptive multiple-band CFAR detection of an
       optical pattern with unknown spectral distribution", IEEE Transactions
       on Acoustics, Speech and Signal Processing 38(10), 1990.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.anomaly import RXDetector
    >>> rng = np.random.default_rng(0)
    >>> cube = rng.normal(size=(30, 30, 5))
    >>> cube[3, 4] += 8
    >>> rx = RXDetector().fit(cube)
    >>> scores = rx.anomaly_score(cube)
    >>> scores.shape, np.unravel_index(scores.argmax(), scores.shape)
    ((30, 30), (np.int64(3), np.int64(4)))
    """

    _parameter_constraints = {
        "covariance": [StrOptions(set(_COVARIANCES))],
        "reg": [Interval(Real, 0, None, closed="left")],
        "contamination": SpectralOutlierMixin._contamination_constraint,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, covariance="empirical", reg=1e-6, contamination=0.01,
                 batch_size=65536):
        self.covariance = covariance
        self.reg = reg
        self.contamination = contamination
        self.batch_size = batch_size

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate the background mean and covariance.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        pixels, _ = self._validate_spectral(X, reset=True)
        if self.covariance == "empirical":
            # Block by block in float64: no copy of the pixels, whatever their count.
            n, location, scatter = accumulate_moments(pixels, batch_size=self.batch_size)
            covariance = scatter / n
        else:  # the shrinkage estimators need every pixel at once
            data = np.asarray(pixels, dtype=np.float64)
            with warnings.catch_warnings():  # one sample: said below, in RX's terms
                warnings.filterwarnings("ignore", message="Only one sample available")
                estimator = _covariance_estimator(self.covariance).fit(data)
            n, location, covariance = data.shape[0], estimator.location_, estimator.covariance_
            del data
        _check_background(covariance, n, self.reg)
        self._set_statistics(location, covariance, n)
        self._set_offset(self._anomaly_scores(pixels))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add the pixels of ``X`` to the running mean and covariance.

        For cubes that do not fit in memory: feed them chunk by chunk, then
        score (e.g. with :func:`skhsi.parallel.map_blocks`). Only the empirical
        covariance can be accumulated. As the training scores are not kept,
        ``offset_`` is the ``1 - contamination`` quantile of the chi-squared
        distribution with ``n_bands`` degrees of freedom, the distribution of
        RX scores of a Gaussian background (``fit`` uses the empirical
        quantile of the training scores instead).

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        if self.covariance != "empirical":
            raise ValueError(
                "partial_fit accumulates the empirical covariance only; got "
                f"covariance={self.covariance!r}. Use fit, or covariance='empirical'."
            )
        first = not hasattr(self, "n_samples_seen_")
        pixels, _ = self._validate_spectral(X, reset=first)
        if first:
            n, mean, scatter = 0, np.zeros(self.n_features_in_), 0.0
        else:
            n, mean, scatter = self.n_samples_seen_, self.location_, self._scatter()
        n, mean, scatter = accumulate_moments(pixels, n, mean, scatter, self.batch_size)
        self._set_statistics(mean, scatter / n, n)
        self.offset_ = -float(stats.chi2.isf(self.contamination, df=self.n_features_in_))
        return self

    def _set_statistics(self, location, covariance, n_samples):
        covariance = np.array(covariance, dtype=np.float64)
        n_bands = covariance.shape[0]
        covariance[np.diag_indices(n_bands)] += self._ridge(np.trace(covariance), n_bands)
        self.location_ = np.asarray(location, dtype=np.float64)
        self.covariance_ = covariance
        self.n_samples_seen_ = int(n_samples)
        self._restore()

    def _ridge(self, trace, n_bands):
        return self.reg * max(trace / n_bands, np.finfo(float).tiny)

    def _scatter(self):
        """Sum of squared deviations behind ``covariance_`` (the ridge taken out).

        The ridge is ``reg * trace(S) / C`` of the empirical covariance ``S``,
        so ``trace(covariance_) = (1 + reg) trace(S)``.
        """
        n_bands = self.covariance_.shape[0]
        trace = np.trace(self.covariance_) / (1.0 + self.reg)
        empirical = self.covariance_ - self._ridge(trace, n_bands) * np.eye(n_bands)
        return empirical * self.n_samples_seen_

    def _restore(self):
        self._whitener = whitener(self.covariance_)

    def _anomaly_scores(self, pixels):
        out = np.empty(pixels.shape[0], dtype=np.float64)
        for start in range(0, pixels.shape[0], self.batch_size):
            centred = np.asarray(pixels[start:start + self.batch_size], dtype=np.float64)
            white = (centred - self.location_) @ self._whitener
            out[start:start + self.batch_size] = np.einsum("ij,ij->i", white, white)
        return out


def _covariance_estimator(name):
    """A new ``sklearn.covariance`` estimator for the ``covariance`` option ``name``."""
    from sklearn import covariance  # imports the other detectors do not need

    return getattr(covariance, _COVARIANCES[name])()


def whitener(covariance):
    """``W`` with ``W W^T = covariance^-1``: the Mahalanobis distance is ``||(x - mu) W||^2``.

    From the Cholesky factor ``S = L L^T``: ``W = L^-T``.
    """
    n_bands = covariance.shape[0]
    return linalg.solve_triangular(linalg.cholesky(covariance, lower=True), np.eye(n_bands),
                                   lower=True).T


def _check_background(covariance, n_samples, reg):
    """A ``ValueError`` when the training pixels give no background spread, a warning when
    only the ridge keeps the covariance invertible."""
    n_bands = covariance.shape[0]
    if n_samples < 2 or not np.trace(covariance) > 0:
        raise ValueError(
            f"RXDetector needs training pixels that vary: got {n_samples} sample(s) "
            + ("" if n_samples < 2 else "that are all the same ")
            + "(pixels), so there is no background covariance to measure distances against."
        )
    if n_samples <= n_bands:
        warnings.warn(
            f"RXDetector: {n_samples} training pixels for {n_bands} bands, so the sample "
            f"covariance is singular and only the ridge (reg={reg:g}) keeps it invertible; "
            "use covariance='ledoit-wolf' or 'oas', or fewer bands.", UserWarning, stacklevel=3)
