"""Pick a fixed number of bands by a simple rule (no training)."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import SpectralMixin
from ._selector import BandSelectorMixin

__all__ = ["BandSampler", "DEFAULT_REGIONS", "RGB_NM"]

DEFAULT_REGIONS = {
    "VIS": (400.0, 700.0),
    "NIR": (700.0, 1000.0),
    "SWIR1": (1000.0, 1800.0),
    "SWIR2": (1800.0, 2500.0),
}
"""Spectral regions of ``strategy="regions"``: name -> ``[low, high)`` in nm."""

RGB_NM = (640.0, 550.0, 460.0)
"""Red, green and blue target wavelengths of ``strategy="rgb"`` in nm."""

_NEEDS_WAVELENGTHS = ("regions", "rgb")


def _spread(n_total, k):
    """``k`` evenly spaced indices in ``range(n_total)``: the centre of ``k`` equal groups."""
    return np.floor((np.arange(k) + 0.5) * n_total / k).astype(np.intp)


def _separation(n_total, k):
    """The least distance, in bands, between two ``"pca-loading"`` picks:
    ``n_total // (2k)``, at least 1."""
    return max(1, n_total // (2 * k))


def _spaced_top(importances, k, separation):
    """The ``k`` most important bands, greedily, each ``separation`` or more bands from
    the ones already kept; ascending.

    A kept band rules out at most ``2 * separation - 1`` bands, so with
    ``separation <= n_total / (2k)`` fewer than ``n_total`` are ruled out before the
    ``k``-th pick and the search always finds ``k`` bands.
    """
    free = np.ones(len(importances), dtype=bool)
    kept = []
    for band in np.argsort(-importances, kind="stable"):
        if free[band]:
            kept.append(band)
            free[max(0, band - separation + 1):band + separation] = False
            if len(kept) == k:
                break
    return np.sort(kept)


class BandSampler(SpectralMixin, BandSelectorMixin, TransformerMixin, BaseEstimator):
    """Keep ``n_bands`` bands chosen by a fixed rule.

    Read more in the :ref:`User Guide <band_selection>`.

    Strategies:

    - ``"uniform"``: evenly spaced bands, the centre band of each of
      ``n_bands`` equal groups of adjacent bands.
    - ``"regions"``: bands spread over spectral regions (``regions``, by default
      VIS 400-700, NIR 700-1000, SWIR1 1000-1800, SWIR2 1800-2500 nm, each
      ``[low, high)``) in proportion to the number of bands each region holds
      (largest remainders), evenly spaced inside each region. Bands outside
      every region are never picked. Needs ``wavelengths``.
    - ``"rgb"``: the 3 bands nearest 640, 550 and 460 nm, in red, green, blue
      order (ties go to the shorter wavelength), so that ``transform`` of a
      cube is an RGB image; ``n_bands`` is ignored. Needs ``wavelengths``.
    - ``"pca-loading"``: every band gets the importance
      ``sum_j explained_variance_ratio_[j] * |components_[j, band]|`` over the
      first ``n_bands`` principal components, and the bands are taken greedily
      by importance, each at least ``max(1, C // (2 * n_bands))`` bands away
      from every band already taken (``C`` bands in all). Neighbouring bands
      are correlated and share their loadings, so without this distance the
      picks crowd into the one absorption feature that loads most; with it
      they spread over the spectrum while still following the loadings
      (band prioritisation by loading factors, then band decorrelation, as in
      Chang et al., 1999, with spectral distance in place of their
      divergence). PCA follows the band scales, so standardise first when
      bands differ in scale.

    ``transform`` keeps the leading shape of the input and returns the bands in
    the order of ``selected_bands_`` (ascending, except for ``"rgb"``).

    Parameters
    ----------
    n_bands : int, default=10
        Number of bands to keep (not used by ``"rgb"``).
    strategy : {"uniform", "regions", "rgb", "pca-loading"}, default="uniform"
        How the bands are chosen: evenly spaced, spread over spectral regions,
        the bands nearest red, green and blue, or the largest principal-
        component loadings kept apart by a least distance.
    wavelengths : array-like of shape (n_features,) or None, default=None
        Centre wavelength of every band in nm, strictly increasing. Needed by
        ``"regions"`` and ``"rgb"``; when given, the kept wavelengths are
        recorded and name the output features.
    regions : dict or None, default=None
        ``{name: (low_nm, high_nm)}`` for ``"regions"``; ``None`` means
        :data:`DEFAULT_REGIONS`. Intervals are ``[low, high)`` and must not overlap.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomized SVD that scikit-learn's PCA may choose for large
        data (``"pca-loading"``); the other strategies are deterministic.

    Attributes
    ----------
    selected_bands_ : ndarray of int
        Indices of the kept bands, in output order.
    selected_wavelengths_ : ndarray or None
        Their wavelengths (``None`` without ``wavelengths``).
    wavelengths_out_ : ndarray or None
        The same, under the name every band-dropping node uses.
    selected_regions_ : ndarray of str or None
        Region of every kept band (``"regions"`` only).
    band_importances_ : ndarray of shape (n_features_in_,) or None
        The PCA-loading importance of every band (``"pca-loading"`` only),
        before the distance rule, so a band left out for lying near a kept
        one may rank above other kept bands.
    wavelengths_in_ : ndarray of shape (n_features_in_,) or None
        The input's band wavelengths when they came with the data (a
        ``wavelength`` coordinate) rather than as a parameter.
    n_features_in_ : int

    References
    ----------
    C.-I Chang, Q. Du, T.-L. Sun and M. L. G. Althouse, "A joint band
    prioritization and band-decorrelation approach to band selection for
    hyperspectral image classification", IEEE Transactions on Geoscience and
    Remote Sensing 37(6), 2631-2641, 1999, doi:10.1109/36.803411.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.preprocessing import BandSampler
    >>> wl = np.arange(400, 2501, 50)  # 43 bands, 400-2500 nm
    >>> cube = np.random.default_rng(0).random((4, 5, 43))
    >>> BandSampler(3).fit(cube).selected_bands_
    array([ 7, 21, 35])
    >>> sampler = BandSampler(4, strategy="regions", wavelengths=wl).fit(cube)
    >>> sampler.selected_wavelengths_
    array([ 550.,  850., 1400., 2150.])
    >>> sampler.selected_regions_.tolist()
    ['VIS', 'NIR', 'SWIR1', 'SWIR2']
    >>> rgb = BandSampler(strategy="rgb", wavelengths=wl).fit(cube)
    >>> rgb.transform(cube).shape, rgb.get_feature_names_out().tolist()
    ((4, 5, 3), ['650nm', '550nm', '450nm'])

    One broad feature (bands 6-8) and a weaker band 15 of 20; bands 6 and 8 carry
    more variance than band 15 but lie closer than ``20 // (2 * 2) = 5`` bands
    to band 7:

    >>> rng = np.random.default_rng(0)
    >>> X = 0.01 * rng.normal(size=(500, 20))
    >>> X[:, 6:9] += rng.normal(size=(500, 1)) * [0.8, 1.0, 0.8]
    >>> X[:, 15] += 0.5 * rng.normal(size=500)
    >>> pca = BandSampler(2, strategy="pca-loading").fit(X)
    >>> pca.selected_bands_
    array([ 7, 15])
    >>> sorted(np.argsort(-pca.band_importances_)[:3].tolist())  # the 3 most important
    [6, 7, 8]
    """

    _parameter_constraints = {
        "n_bands": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"uniform", "regions", "rgb", "pca-loading"})],
        "wavelengths": ["array-like", None],
        "regions": [dict, None],
        "random_state": ["random_state"],
    }

    def __init__(self, n_bands=10, *, strategy="uniform", wavelengths=None, regions=None,
                 random_state=None):
        self.n_bands = n_bands
        self.strategy = strategy
        self.wavelengths = wavelengths
        self.regions = regions
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Choose the bands.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        pixels, _ = self._validate_spectral(X, reset=True)
        n_features = self.n_features_in_
        wavelengths = self._fit_wavelengths(n_features)
        if wavelengths is None and self.strategy in _NEEDS_WAVELENGTHS:
            raise ValueError(
                f"strategy={self.strategy!r} needs `wavelengths` (nm, one per band); "
                "got wavelengths=None."
            )
        if self.strategy != "rgb" and self.n_bands > n_features:
            raise ValueError(
                f"n_bands={self.n_bands} is larger than the number of bands in X "
                f"(n_features={n_features})."
            )
        self.selected_regions_ = None
        self.band_importances_ = None
        if self.strategy == "uniform":
            bands = _spread(n_features, self.n_bands)
        elif self.strategy == "regions":
            bands = self._regions(wavelengths)
        elif self.strategy == "rgb":
            bands = self._rgb(wavelengths)
        else:
            bands = self._pca_loading(pixels)
        self.selected_bands_ = np.asarray(bands, dtype=np.intp)
        self.selected_wavelengths_ = (None if wavelengths is None
                                      else wavelengths[self.selected_bands_])
        self.wavelengths_out_ = self.selected_wavelengths_
        return self

    def _regions(self, wavelengths):
        regions = DEFAULT_REGIONS if self.regions is None else self.regions
        bounds = []
        for name, interval in regions.items():
            try:
                low, high = (float(v) for v in interval)
            except (TypeError, ValueError):
                raise ValueError(
                    f"regions[{name!r}] must be a (low_nm, high_nm) pair; got {interval!r}."
                ) from None
            if not low < high:
                raise ValueError(f"regions[{name!r}] = {interval!r} needs low < high.")
            bounds.append((low, high, str(name)))
        bounds.sort()
        for (_, high, a), (low, _, b) in zip(bounds, bounds[1:]):
            if low < high:
                raise ValueError(f"regions {a!r} and {b!r} overlap.")
        members = [np.flatnonzero((wavelengths >= lo) & (wavelengths < hi))
                   for lo, hi, _ in bounds]
        counts = np.array([len(m) for m in members])
        if self.n_bands > counts.sum():
            raise ValueError(
                f"n_bands={self.n_bands} is larger than the {counts.sum()} bands inside the "
                f"regions {[b[2] for b in bounds]} (wavelengths span "
                f"{wavelengths[0]:g}-{wavelengths[-1]:g} nm)."
            )
        quota = self.n_bands * counts / counts.sum()
        share = np.floor(quota).astype(int)
        leftover = self.n_bands - share.sum()
        share[np.argsort(-(quota - share), kind="stable")[:leftover]] += 1
        picks = [m[_spread(len(m), s)] for m, s in zip(members, share) if s > 0]
        names = [b[2] for b, s in zip(bounds, share) for _ in range(s)]
        self.selected_regions_ = np.asarray(names, dtype=object)
        return np.concatenate(picks)

    def _rgb(self, wavelengths):
        bands = [int(np.argmin(np.abs(wavelengths - target))) for target in RGB_NM]
        if len(set(bands)) < 3:
            raise ValueError(
                "strategy='rgb' needs three distinct bands nearest 640, 550 and 460 nm; "
                f"the wavelengths ({wavelengths[0]:g}-{wavelengths[-1]:g} nm) give bands "
                f"{bands}."
            )
        return bands

    def _pca_loading(self, pixels):
        k = min(self.n_bands, pixels.shape[0])
        pca = PCA(n_components=k, random_state=self.random_state).fit(
            np.asarray(pixels, dtype=np.float64))
        importances = pca.explained_variance_ratio_ @ np.abs(pca.components_)
        self.band_importances_ = importances
        return _spaced_top(importances, self.n_bands,
                           _separation(self.n_features_in_, self.n_bands))
