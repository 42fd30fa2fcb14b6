"""Reconstruction-based anomaly detectors: autoencoders and VAEs, spectral or spatial."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._node import TorchNode
from ..nn import apply_module, make_generator
from ..nn._runtime import global_rng_untouched
from ..nn._autoencoder import (
    SCORES,
    BlindSpotAutoencoder,
    ConvAutoencoder,
    ReconstructionLoss,
    SpectralAutoencoder,
)
from ..nn._layers import INITIALIZERS, init_weights
from ..nn._tiles import ImageTiles, tile_size_for
from ._base import SpectralOutlierMixin

__all__ = ["AutoencoderDetector", "VAEDetector"]


class AutoencoderDetector(TorchNode, SpectralOutlierMixin, BaseEstimator):
    """Anomaly detection by reconstruction error, spectral or spatial-spectral.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    An autoencoder learns to reconstruct the scene; pixels it reconstructs
    badly are anomalous. The network sees per-band standardised input and the
    anomaly score of a pixel is its mean squared reconstruction error over
    the bands, in standardised units.

    Three networks, chosen by ``spatial`` and ``blind_spot``:

    - ``spatial=False`` (sample layout ``"pixel"``): a dense autoencoder of
      each spectrum alone, ``C -> hidden (x n_layers) -> latent_dim -> ... -> C``;
    - ``spatial=True`` (sample layout ``"image"``): a convolutional
      autoencoder (``n_layers`` levels of 3 x 3 convolution, batch norm,
      LeakyReLU and 2 x 2 max pooling, then upsampling back), trained on random
      tiles and scored in overlapping tiles; it needs cubes;
    - ``spatial=True, blind_spot=True``: each pixel is reconstructed from the
      ring of its ``window x window`` neighbourhood outside a guard window of
      ``2 guard + 1`` pixels, never from itself, so an anomaly cannot be copied
      through (the learned counterpart of dual-window detectors).

    Phase 1 (always): per-band mean and standard deviation of the training
    pixels; weights from ``init``; the dense network's first and last layers
    start as the principal axes of the standardised pixels (a PCA
    reconstruction). Phase 2 (``max_epochs > 0``): the mean squared
    reconstruction error, through skorch. ``offset_`` follows from
    ``contamination`` on the training pixels.

    Parameters
    ----------
    spatial : bool, default=False
        ``False``: a per-pixel (spectral) autoencoder; ``True``: a convolutional
        one over tiles of the cube.
    blind_spot : bool, default=False
        Needs ``spatial=True``.
    window : int, default=7
        Odd side of the blind-spot neighbourhood.
    guard : int, default=1
        Half-width of the hidden centre: ``2 guard + 1`` pixels are hidden.
    hidden : int, default=64
        Width of the hidden layers (channels of the convolutions).
    n_layers : int, default=1
        Hidden layers on each side (levels of pooling for the spatial network,
        1 x 1 layers after the masked convolution for the blind spot).
    latent_dim : int, default=8
        Width of the code (the bottleneck).
    upsampling : {"bilinear", "transposed"}, default="bilinear"
        Of the spatial network's decoder.
    attention : {None, "se", "eca", "cbam"}, default=None
        An attention block after each encoder layer (after the first for the
        dense and the blind-spot networks; ``"cbam"`` looks sideways and is
        refused with the blind spot).
    init : {"glorot", "he"}, default="glorot"
        Weight initialiser of the layers (by name).
    dropout : float in [0, 1), default=0.0
        Dropout probability between layers during training.
    l1, l2 : float, default=0.0
        Penalties on the weights; both together give the elastic net.
    tile_size : int, default=32
        Side of the random training tiles and of the inference tiles (spatial).
    tiles_per_epoch : int, default=64
        Random training tiles drawn per epoch.
    augment : bool, default=True
        Random flips and 90 degree rotations of the training tiles.
    max_samples : int or None, default=65536
        Pixels phase 1's statistics (and, spectral, phase 2) use at most.
    contamination : float in (0, 0.5], default=0.01
        Fraction of training pixels flagged by ``predict``; sets ``offset_``.
    batch_size : int or None, default=None
        Samples per gradient step and per inference chunk: pixels for the
        spectral network (``None``: 1024), tiles for the spatial ones
        (``None``: 8).
    max_epochs, lr, optimizer, weight_decay, patience, lr_schedule, \
callbacks, tensorboard_dir, verbose, device, precision, random_state
        Training parameters as for :class:`~skhsi.anomaly.DeepSVDD`.

    Attributes
    ----------
    module_ : torch.nn.Module
    offset_ : float
    history_ : list of dict
    net_ : skorch.NeuralNet or None
    n_features_in_ : int

    See Also
    --------
    VAEDetector : The variational version.
    DeepSVDD : A one-class hypersphere.

    References
    ----------
    .. [1] A. Krull, T.-O. Buchholz, F. Jug, "Noise2Void - learning denoising
       from single noisy images", CVPR 2019 (the blind spot).

    Examples
    --------
    >>> from skhsi.anomaly import AutoencoderDetector
    >>> from skhsi.datasets import make_synthetic_scene
    >>> scene = make_synthetic_scene((32, 32, 20), random_state=0)
    >>> det = AutoencoderDetector(spatial=True, blind_spot=True, max_epochs=2,
    ...                           tile_size=16, random_state=0, device="cpu")
    >>> det.fit(scene.cube).anomaly_score(scene.cube).shape
    (32, 32)
    >>> AutoencoderDetector(max_epochs=2, random_state=0).fit(scene.cube).sample_layout
    'pixel'
    """

    variational = False

    _parameter_constraints = {
        "spatial": ["boolean"],
        "blind_spot": ["boolean"],
        "window": [Interval(Integral, 3, None, closed="left")],
        "guard": [Interval(Integral, 0, None, closed="left")],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 0, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "upsampling": [StrOptions({"bilinear", "transposed"})],
        "attention": [StrOptions({"se", "eca", "cbam"}), None],
        "init": [StrOptions(set(INITIALIZERS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "tile_size": [Interval(Integral, 1, None, closed="left")],
        "tiles_per_epoch": [Interval(Integral, 1, None, closed="left")],
        "augment": ["boolean"],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "contamination": SpectralOutlierMixin._contamination_constraint,
        **TorchNode._training_parameter_constraints,
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, spatial=False, blind_spot=False, window=7, guard=1, hidden=64,
                 n_layers=1, latent_dim=8, upsampling="bilinear", attention=None,
                 init="glorot", dropout=0.0, l1=0.0, l2=0.0, tile_size=32,
                 tiles_per_epoch=64, augment=True, max_samples=65536, contamination=0.01,
                 max_epochs=20, lr=1e-3, batch_size=None, optimizer="adam",
                 weight_decay=0.0, patience=None, lr_schedule=None, callbacks=None,
                 tensorboard_dir=None, verbose=0, device="auto", precision="float32",
                 random_state=None):
        self.spatial = spatial
        self.blind_spot = blind_spot
        self.window = window
        self.guard = guard
        self.hidden = hidden
        self.n_layers = n_layers
        self.latent_dim = latent_dim
        self.upsampling = upsampling
        self.attention = attention
        self.init = init
        self.dropout = dropout
        self.l1 = l1
        self.l2 = l2
        self.tile_size = tile_size
        self.tiles_per_epoch = tiles_per_epoch
        self.augment = augment
        self.max_samples = max_samples
        self.contamination = contamination
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.callbacks = callbacks
        self.tensorboard_dir = tensorboard_dir
        self.verbose = verbose
        self.device = device
        self.precision = precision
        self.random_state = random_state

    @property
    def sample_layout(self):
        """``"image"`` for the spatial networks, ``"pixel"`` for the spectral one."""
        return "image" if self.spatial else "pixel"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.spatial:  # cubes only: scikit-learn's pixel-table checks do not apply
            tags.input_tags.two_d_array = False
            tags.input_tags.three_d_array = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Statistical initialisation, then ``max_epochs`` of reconstruction training.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C), or a list of cubes
            Training pixels (unlabelled); the spatial networks need cubes.
        y : ignored

        Returns
        -------
        self
        """
        return self._fit(X, y)

    # -- the node contract (skhsi._node.TorchNode) ---------------------------------
    def _vae_options(self):
        return {}

    def _build_module(self, generator=None):
        # Phase 1 seeds dropout and the VAE noise; a module rebuilt from a
        # model file only scores, so any seed does.
        seed = 0 if generator is None else int(self._seeds[2])
        common = dict(hidden=self.hidden, n_layers=self.n_layers, latent_dim=self.latent_dim,
                      variational=self.variational, dropout=self.dropout,
                      attention=self.attention, seed=seed, **self._vae_options())
        with global_rng_untouched():
            if not self.spatial:
                module = SpectralAutoencoder(self.n_features_in_, **common)
            elif self.blind_spot:
                module = BlindSpotAutoencoder(self.n_features_in_, window=self.window,
                                              guard=self.guard, **common)
            else:
                common["n_levels"] = common.pop("n_layers")
                module = ConvAutoencoder(self.n_features_in_, upsampling=self.upsampling,
                                         **common)
        if generator is not None:
            init_weights(module, self.init, generator=generator)
            module.start_at_unit_variance()
        return module.eval()

    def _fit_statistics(self, X, y=None):
        if self.blind_spot and not self.spatial:
            raise ValueError("blind_spot=True hides a pixel from its own reconstruction "
                             "with its neighbours: it needs spatial=True.")
        if self.spatial and self.guard >= self.window // 2:
            raise ValueError(f"guard={self.guard} must be smaller than window // 2 = "
                             f"{self.window // 2}: the ring around it would be empty.")
        pixels = self._sample_pixels(X)
        mean, std = pixels.mean(axis=0), pixels.std(axis=0)
        self.module_ = self._build_module(make_generator(self._seeds[0]))
        self.module_.set_statistics(mean, std)
        if not self.spatial:
            z = (pixels - mean) / np.maximum(std, 1e-8)
            k = min(self.hidden if self.n_layers else self.latent_dim, *z.shape)
            self.module_.set_pca(PCA(k, random_state=int(self._seeds[2])).fit(z).components_)
        return self

    def _sample_pixels(self, X):
        """At most ``max_samples`` training pixels, drawn with the node's third seed."""
        if self.spatial:
            X = np.concatenate([c.reshape(-1, c.shape[-1]) for c in X])
        if self.max_samples is None or X.shape[0] <= self.max_samples:
            return np.asarray(X, dtype=np.float64)
        rng = np.random.default_rng(self._seeds[2])
        rows = np.sort(rng.choice(X.shape[0], self.max_samples, replace=False))
        return np.asarray(X[rows], dtype=np.float64)

    def _make_criterion(self):
        return ReconstructionLoss(**({"beta": self.beta} if self.variational else {}))

    def _training_subset(self, X, y, seed):
        if not self.spatial:
            return self._sample_pixels(X).astype(np.float32), None
        if self.blind_spot:
            smallest = min(min(c.shape[:2]) for c in X)
            if smallest < self.window:
                raise ValueError(
                    f"{type(self).__name__}(blind_spot=True) compares every pixel with its "
                    f"{self.window} x {self.window} window, but a training cube is only "
                    f"{smallest} pixels on its smallest side: the cube is smaller than the "
                    "window; give larger cubes or a smaller window.")
        side = tile_size_for(X, self.tile_size, self.module_.size_multiple)
        return ImageTiles(X, tile=side, n_tiles=self.tiles_per_epoch, augment=self.augment,
                          seed=seed), None

    def _batch_size(self):
        if self.batch_size is not None:
            return self.batch_size
        return 8 if self.spatial else 1024

    def _training_kwargs(self):
        return dict(super()._training_kwargs(), batch_size=self._batch_size())

    def _finish_fit(self, X):
        scores = self._scores_of(X)
        self._set_offset(np.concatenate([np.ravel(s) for s in scores]) if self.spatial
                         else scores)
        return self

    # -- scoring --------------------------------------------------------------------
    def _scores_of(self, X):
        """Scores of validated training data: a pixel table, or a list of cubes."""
        device, precision = self._inference_device(), self.precision
        if not self.spatial:
            return apply_module(self.module_, X, batch_size=self._batch_size(), device=device,
                                precision=precision,
                                progress=bool(self.verbose)).astype(np.float64)
        return [m.astype(np.float64) for m in self._map_cubes(self.module_, X, batch_size=1)]

    def _anomaly_scores(self, pixels):
        check_is_fitted(self, "offset_")
        return self._scores_of(pixels)

    def _map(self, X):
        if not self.spatial:
            return super()._map(X)
        check_is_fitted(self, "offset_")
        cubes, kind = self._validate_images(X, reset=False)
        return self._images_back(self._scores_of(cubes), kind)



class VAEDetector(AutoencoderDetector):
    """Anomaly detection with a variational autoencoder, spectral or spatial-spectral.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    The networks of :class:`AutoencoderDetector` with a variational code: the
    encoder gives a mean ``mu`` and a log-variance ``log sigma^2`` per latent
    unit, training decodes ``mu + sigma * eps`` (reparameterisation, noise
    from the node's own generator) and adds ``beta`` times the KL divergence
    to N(0, I) (per band) to the reconstruction error (a beta-VAE; ``beta=1``
    is the plain VAE). Inference decodes ``mu``.

    Parameters
    ----------
    beta : float > 0, default=1.0
        Weight of the KL term (``beta=1``: the plain VAE; larger: a more
        disentangled, blurrier code).
    score_type : {"reconstruction", "latent", "both"}, default="reconstruction"
        The anomaly score: the reconstruction error of ``mu``'s decoding, the
        KL term of the pixel's code, or their sum (error + ``beta`` KL).
    spatial, blind_spot, window, guard, hidden, n_layers, latent_dim, upsampling, \
attention, init, dropout, l1, l2, tile_size, tiles_per_epoch, augment, max_samples, \
contamination, max_epochs, lr, batch_size, optimizer, weight_decay, patience, \
lr_schedule, callbacks, tensorboard_dir, verbose, device, precision, random_state
        As for :class:`AutoencoderDetector`.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained VAE (encoder to ``mu`` and ``log sigma^2``, decoder).
    offset_ : float
        Threshold of ``decision_function``: the ``contamination`` quantile
        of the training scores.
    history_ : list of dict
    net_ : skorch.NeuralNet or None
    n_features_in_ : int

    See Also
    --------
    AutoencoderDetector : The plain autoencoder.

    References
    ----------
    .. [1] D. P. Kingma, M. Welling, "Auto-encoding variational Bayes", ICLR
       2014.
    .. [2] I. Higgins et al., "beta-VAE: learning basic visual concepts with a
       constrained variational framework", ICLR 2017.

    Examples
    --------
    >>> from skhsi.anomaly import VAEDetector
    >>> from skhsi.datasets import make_synthetic_scene
    >>> scene = make_synthetic_scene((32, 32, 20), random_state=0)
    >>> vae = VAEDetector(beta=0.5, score_type="both", max_epochs=2, random_state=0,
    ...                   device="cpu")
    >>> vae.fit(scene.cube).anomaly_score(scene.cube).shape
    (32, 32)
    """

    variational = True

    _parameter_constraints = {
        **AutoencoderDetector._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="neither")],
        "score_type": [StrOptions(set(SCORES))],
    }

    def __init__(self, *, beta=1.0, score_type="reconstruction", spatial=False, blind_spot=False,
                 window=7, guard=1, hidden=64, n_layers=1, latent_dim=8,
                 upsampling="bilinear", attention=None, init="glorot", dropout=0.0, l1=0.0,
                 l2=0.0, tile_size=32, tiles_per_epoch=64, augment=True, max_samples=65536,
                 contamination=0.01, max_epochs=20, lr=1e-3, batch_size=None,
                 optimizer="adam", weight_decay=0.0, patience=None, lr_schedule=None,
                 callbacks=None, tensorboard_dir=None, verbose=0, device="auto",
                 precision="float32", random_state=None):
        self.beta = beta
        self.score_type = score_type
        super().__init__(
            spatial=spatial, blind_spot=blind_spot, window=window, guard=guard, hidden=hidden,
            n_layers=n_layers, latent_dim=latent_dim, upsampling=upsampling,
            attention=attention, init=init, dropout=dropout, l1=l1, l2=l2,
            tile_size=tile_size, tiles_per_epoch=tiles_per_epoch, augment=augment,
            max_samples=max_samples, contamination=contamination, max_epochs=max_epochs,
            lr=lr, batch_size=batch_size, optimizer=optimizer, weight_decay=weight_decay,
            patience=patience, lr_schedule=lr_schedule, callbacks=callbacks,
            tensorboard_dir=tensorboard_dir, verbose=verbose, device=device,
            precision=precision, random_state=random_state)

    def _vae_options(self):
        return {"beta": self.beta, "score": self.score_type}
