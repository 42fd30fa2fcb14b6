"""SimCLR contrastive pretraining of a spectral transformer encoder."""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._node import TorchNode
from ..base import as_pixels, restore_shape
from ..nn import apply_module, make_generator
from ..nn._contrastive import (
    ContrastiveViews,
    NTXentLoss,
    SimCLRObjective,
    SpectralTransformer,
    interpolation_matrix,
)
from ..nn._runtime import global_rng_untouched
from ..preprocessing import BandSampler

__all__ = ["SimCLREncoder"]


class SimCLREncoder(TorchNode, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                    BaseEstimator):
    """Self-supervised spectral features: a transformer pretrained with SimCLR's NT-Xent.

    Read more in the :ref:`User Guide <representation>`.

    ``fit`` needs no labels. Phase 1 standardises the bands (per-band mean and
    standard deviation) and seeds the encoder; phase 2 (``max_epochs > 0``)
    trains it with a projection head on the NT-Xent loss of Chen et al. ("A
    Simple Framework for Contrastive Learning of Visual Representations",
    ICML 2020): two random views of every sample are pulled together and the
    other samples of the batch pushed away. The projection head is dropped
    after training; ``transform`` gives the encoder's features, for any
    scikit-learn estimator.

    The encoder is a transformer. For spectra (``patch_size=None``) the tokens
    are groups of ``band_group`` adjacent bands; for windows (``patch_size=k``)
    the tokens are the ``k x k`` pixels around each pixel (reflected at the
    borders), and ``X`` must be cubes. A class token's output is the feature
    vector.

    **Views.** Each view of a spectrum is, in order: band-sampled (with
    ``band_sampling``), smoothed, scaled in brightness, standardised, given
    noise and band dropout. A window is first cropped around its centre pixel
    (resized back), flipped and turned by quarter turns.

    **Band sampling.** The encoder always takes every band. A band-sampled
    view keeps the ``n_sampled_bands`` bands that
    :class:`~skhsi.preprocessing.BandSampler` picks with the ``band_sampling``
    strategy (``"uniform"``, ``"regions"``, ``"rgb"``: R, G, B only,
    ``"pca-loading"``) and replaces every other band by the linear
    interpolation of its nearest kept neighbours (held constant beyond the
    outermost ones), at ``wavelengths`` or, without them, at the band
    indices. Each view is band-sampled with probability 1/2, so the encoder
    learns features that a coarse spectrum and the full one share. With
    ``progressive_bands`` every view is band-sampled, and the number of kept
    bands grows across the epochs until, at the last, all are kept.

    **In a pipeline.** As the first step of a :class:`skhsi.pipeline.Pipeline`
    in front of a trained head (e.g.
    :class:`~skhsi.classification.SpectralMLPClassifier`), the encoder is
    pretrained on the pipeline's input (and the ``unlabelled`` fit parameter,
    ``<step>__unlabelled``) and, with ``trainable=True``, fine-tuned end to end
    with the head on its objective. End-to-end fine-tuning needs the spectral
    encoder: a window encoder's input is not a pixel, so it can only be a
    frozen step.

    Parameters
    ----------
    n_components : int, default=32
        Width of the features.
    hidden : int, default=64
        Token width of the transformer (a multiple of ``n_heads``).
    n_layers : int, default=2
        Transformer encoder layers.
    n_heads : int, default=4
        Attention heads per layer (``hidden`` must be a multiple).
    band_group : int, default=8
        Bands per token of a spectrum (not used with ``patch_size``).
    projection_dim : int, default=32
        Output width of the projection head (dropped after training).
    temperature : float, default=0.1
        NT-Xent temperature.
    patch_size : odd int or None, default=None
        ``None``: one spectrum per sample; ``k``: the ``k x k`` window.
    min_crop : float in (0, 1], default=0.5
        Smallest side of a window's random crop, as a fraction of
        ``patch_size``; 1 disables crops.
    band_sampling : {"uniform", "regions", "rgb", "pca-loading"} or None, default=None
        How a view drops bands: none, evenly, or at random.
    n_sampled_bands : int, default=10
        Bands a band-sampled view keeps (ignored by ``"rgb"``, which keeps 3);
        with ``progressive_bands=True``, the count of the first epoch.
    progressive_bands : bool or list of int, default=False
        ``True``: the kept count grows linearly from ``n_sampled_bands`` at
        the first epoch to all bands at the last; a list gives the count of
        each epoch (the last one holds for the epochs after it). Needs
        ``band_sampling`` other than ``"rgb"``.
    wavelengths : array-like of shape (n_features,) or None, default=None
        Band centres in nm: needed by ``"regions"`` and ``"rgb"``, and the
        positions interpolation uses.
    noise : float, default=0.1
        Standard deviation of the views' noise, in standardised units.
    brightness : float in [0, 1], default=0.2
        Views' brightness factors are uniform in ``[1 - b, 1 + b]``.
    band_dropout : float in [0, 1), default=0.1
        Probability of a band being set to its mean in a view.
    smoothing : float, default=1.0
        Largest standard deviation, in bands, of the views' spectral
        Gaussian smoothing (each view draws one in ``[0, smoothing]``).
    max_samples : int or None, default=None
        Pretrain on at most this many randomly drawn samples.
    trainable : bool, default=False
        Whether a pipeline's head fine-tunes the encoder end to end.
    gradient_checkpointing : bool, default=False
        Recompute the transformer blocks' activations in the backward pass to
        save memory, in pretraining and fine-tuning; a no-op at inference,
        which stores none.
    compile : bool, default=False
        Run the encoder through :func:`torch.compile` in pretraining. Where
        compiling is not supported (the platform, or no compiler for the
        backend) a ``RuntimeWarning`` says so and training runs uncompiled;
        inference and a pipeline's fine-tuning are never compiled.
    max_epochs : int, default=20
        Pretraining epochs; 0 keeps the random initialisation.
    lr : float, default=1e-3
        Learning rate of phase 2's optimizer.
    batch_size : int, default=256
        Samples per training batch (``2 * batch_size`` views) and per
        inference chunk.
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        Phase 2's optimizer, by name or as a torch optimizer class.
    weight_decay : float, default=0.0
        Weight decay passed to the optimizer.
    l1, l2 : float, default=0.0
        Penalties on the weights added to the training loss (both: the elastic
        net).
    patience : int or None, default=None
        Stop phase 2 after this many epochs without improvement (``None``:
        never).
    lr_schedule : {"plateau"} or None, default=None
        ``"plateau"``: reduce the learning rate when the loss stops improving.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks for phase 2 (``None``: none); not saved by
        weights-only files.
    tensorboard_dir : str, path or None, default=None
        Where to write TensorBoard logs of phase 2 (``None``: none); needs the
        tensorboard extra.
    verbose : int, default=0
        Print skorch's epoch table (1) or nothing (0).
    device : str, default="auto"
        Where training and inference run; ``"auto"`` picks CUDA when available.
        The fitted model is kept on the CPU, so it loads anywhere.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of training: ``"bfloat16"`` trains under autocast (CUDA, or
        the CPU where supported).
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the views and the order of training samples.

    Attributes
    ----------
    module_ : skhsi.nn.SpectralTransformer
        The encoder (the projection head is not kept).
    band_schedule_ : list of int
        Bands kept by band-sampled views in each epoch (empty without band
        sampling or training).
    sampled_bands_ : list of ndarray of int
        The kept bands of each epoch.
    net_ : skorch.NeuralNet or None
    history_ : list of dict
    n_features_in_ : int

    References
    ----------
    .. [1] T. Chen, S. Kornblith, M. Norouzi, G. Hinton, "A simple framework
       for contrastive learning of visual representations", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.representation import SimCLREncoder
    >>> cube = np.random.default_rng(0).normal(size=(12, 12, 16))
    >>> encoder = SimCLREncoder(8, hidden=16, max_epochs=2, random_state=0, device="cpu")
    >>> encoder.fit(cube).transform(cube).shape
    (12, 12, 8)
    >>> len(encoder.history_)
    2
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 0, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "band_group": [Interval(Integral, 1, None, closed="left")],
        "projection_dim": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "patch_size": [Interval(Integral, 1, None, closed="left"), None],
        "min_crop": [Interval(Real, 0, 1, closed="right")],
        "band_sampling": [StrOptions({"uniform", "regions", "rgb", "pca-loading"}), None],
        "n_sampled_bands": [Interval(Integral, 1, None, closed="left")],
        "progressive_bands": ["boolean", list, tuple],
        "wavelengths": ["array-like", None],
        "noise": [Interval(Real, 0, None, closed="left")],
        "brightness": [Interval(Real, 0, 1, closed="both")],
        "band_dropout": [Interval(Real, 0, 1, closed="left")],
        "smoothing": [Interval(Real, 0, None, closed="left")],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        "trainable": ["boolean"],
        "gradient_checkpointing": ["boolean"],
        "compile": ["boolean"],
        **TorchNode._training_parameter_constraints,
    }

    def __init__(self, n_components=32, *, hidden=64, n_layers=2, n_heads=4, band_group=8,
                 projection_dim=32, temperature=0.1, patch_size=None, min_crop=0.5,
                 band_sampling=None, n_sampled_bands=10, progressive_bands=False,
                 wavelengths=None, noise=0.1, brightness=0.2, band_dropout=0.1, smoothing=1.0,
                 max_samples=None, trainable=False, gradient_checkpointing=False,
                 compile=False, max_epochs=20, lr=1e-3, batch_size=256, optimizer="adam",
                 weight_decay=0.0, l1=0.0, l2=0.0, patience=None, lr_schedule=None,
                 callbacks=None, tensorboard_dir=None, verbose=0, device="auto",
                 precision="float32", random_state=None):
        self.n_components = n_components
        self.hidden = hidden
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.band_group = band_group
        self.projection_dim = projection_dim
        self.temperature = temperature
        self.patch_size = patch_size
        self.min_crop = min_crop
        self.band_sampling = band_sampling
        self.n_sampled_bands = n_sampled_bands
        self.progressive_bands = progressive_bands
        self.wavelengths = wavelengths
        self.noise = noise
        self.brightness = brightness
        self.band_dropout = band_dropout
        self.smoothing = smoothing
        self.max_samples = max_samples
        self.trainable = trainable
        self.gradient_checkpointing = gradient_checkpointing
        self.compile = compile
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.l1 = l1
        self.l2 = l2
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
        """``"pixel"`` for spectra, ``"patch"`` with ``patch_size``."""
        return "pixel" if self.patch_size is None else "patch"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        if self.patch_size is not None:  # cubes only: the pixel-table checks do not apply
            tags.input_tags.two_d_array = False
            tags.input_tags.three_d_array = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, unlabelled=None):
        """Standardise the bands and seed the encoder, then pretrain it for ``max_epochs``.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C), or a list of cubes
            Training samples; with ``patch_size``, cubes.
        y : ignored
            Contrastive pretraining uses no labels.
        unlabelled : array-like or None
            More samples to pretrain on, in the same form as ``X``: in a
            pipeline (``<step>__unlabelled``), the unlabelled pixels of a
            scene whose labelled pixels are ``X``.

        Returns
        -------
        self
        """
        return self._fit(self._with_unlabelled(X, unlabelled))

    def _fit_phase1(self, X, y=None, *, unlabelled=None):
        """A pipeline's initialisation of this step: the whole pretraining.

        Pretraining needs no labels, so it is this node's initialisation for
        the head's objective: a trainable encoder is pretrained, then
        fine-tuned with the head.
        """
        self._validate_params()
        return self._fit(self._with_unlabelled(X, unlabelled))

    def _with_unlabelled(self, X, unlabelled):
        if unlabelled is None:
            return X
        if self.sample_layout == "patch":
            return self._split_images(X)[0] + self._split_images(unlabelled)[0]
        pixels, extra = np.asarray(as_pixels(X)[0]), np.asarray(as_pixels(unlabelled)[0])
        if extra.shape[1] != pixels.shape[1]:
            raise ValueError(f"unlabelled has {extra.shape[1]} bands but X has "
                             f"{pixels.shape[1]}; both need the same bands.")
        return np.concatenate([pixels, extra])

    # -- the node contract (skhsi._node.TorchNode) ---------------------------------
    def _check_shapes(self):
        if self.hidden % self.n_heads:
            raise ValueError(f"hidden={self.hidden} must be a multiple of n_heads="
                             f"{self.n_heads}.")
        if self.patch_size is not None and self.patch_size % 2 == 0:
            raise ValueError(f"patch_size must be odd (a window centred on its pixel); got "
                             f"{self.patch_size}.")
        if self.progressive_bands is not False and self.band_sampling in (None, "rgb"):
            raise ValueError(
                "progressive_bands grows the number of bands a view keeps, so it needs "
                "band_sampling='uniform', 'regions' or 'pca-loading'; got band_sampling="
                f"{self.band_sampling!r}.")

    def _fit_statistics(self, X, y=None):
        self._check_shapes()
        pixels = X if self.sample_layout == "pixel" else np.concatenate(
            [cube.reshape(-1, cube.shape[-1]) for cube in X])
        scaler = StandardScaler().fit(pixels)
        self.module_ = self._build_module(make_generator(self._seeds[0]))
        self.module_.set_statistics(scaler.mean_, scaler.scale_)
        self.band_schedule_, self.sampled_bands_ = self._band_schedule(pixels)
        return self

    def _band_counts(self, n_features):
        if self.band_sampling is None or self.max_epochs == 0:
            return []
        if self.band_sampling == "rgb":
            return [3] * self.max_epochs
        if self.progressive_bands is True:
            start = min(self.n_sampled_bands, n_features)
            return [int(round(c)) for c in np.linspace(start, n_features, self.max_epochs)]
        if self.progressive_bands is False:
            return [self.n_sampled_bands] * self.max_epochs
        counts = list(self.progressive_bands)
        if not counts or not all(isinstance(c, Integral) and not isinstance(c, bool)
                                 and 1 <= c <= n_features for c in counts):
            raise ValueError(
                "progressive_bands must be True, False or a non-empty list of band counts "
                f"between 1 and the {n_features} bands of X; got {self.progressive_bands!r}.")
        counts = [int(c) for c in counts]
        return (counts + counts[-1:] * self.max_epochs)[:self.max_epochs]

    def _band_schedule(self, pixels):
        counts = self._band_counts(pixels.shape[1])
        bands = {}
        for count in sorted(set(counts)):
            sampler = BandSampler(count, strategy=self.band_sampling,
                                  wavelengths=self.wavelengths,
                                  random_state=int(self._seeds[2])).fit(pixels)
            bands[count] = sampler.selected_bands_
        return counts, [bands[c] for c in counts]

    def _build_module(self, generator=None):
        with global_rng_untouched():
            return SpectralTransformer(
                self.n_features_in_, self.n_components, patch_size=self.patch_size,
                band_group=self.band_group, dim=self.hidden, n_layers=self.n_layers,
                n_heads=self.n_heads, gradient_checkpointing=self.gradient_checkpointing,
                generator=generator).eval()

    def _views(self):
        n_bands = self.n_features_in_
        positions = (np.arange(n_bands) if self.wavelengths is None
                     else np.asarray(self.wavelengths, dtype=np.float64))
        distinct, schedule = [], []
        for kept in self.sampled_bands_:
            if len(kept) == n_bands:
                schedule.append(-1)
                continue
            key = tuple(np.sort(kept))
            if key not in distinct:
                distinct.append(key)
            schedule.append(distinct.index(key))
        matrices = (np.stack([interpolation_matrix(k, positions) for k in distinct])
                    if distinct else None)
        probability = 1.0 if self.progressive_bands is not False else 0.5
        return ContrastiveViews(
            noise=self.noise, brightness=self.brightness, band_dropout=self.band_dropout,
            smoothing=self.smoothing, band_matrices=matrices, schedule=schedule or None,
            sample_probability=probability, patch_size=self.patch_size,
            min_crop=self.min_crop, seed=int(self._seeds[2]))

    def _objective(self, y):
        objective = SimCLRObjective(self.module_, self._views(), self.projection_dim,
                                    compile=self.compile,
                                    generator=make_generator(self._seeds[2]))
        return objective, None

    def _make_criterion(self):
        return NTXentLoss(self.temperature)

    def _training_subset(self, X, y, seed):
        if self.sample_layout == "patch":
            return self._patch_samples(X, seed=seed, max_samples=self.max_samples), None
        if self.max_samples is None or len(X) <= self.max_samples:
            return X, y
        rows = np.sort(np.random.default_rng(seed).choice(len(X), self.max_samples,
                                                          replace=False))
        return X[rows], y

    def _trained(self, objective):
        objective._compiled = None
        return self

    # -- transform ------------------------------------------------------------------
    @property
    def _n_features_out(self):
        return self.n_components

    def transform(self, X):
        """Encoder features of every sample, keeping the leading shape.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C), or a list of cubes
            With ``patch_size``, cubes (or a list of them).

        Returns
        -------
        ndarray of shape (..., n_components), with ``X``'s float dtype
        """
        check_is_fitted(self)
        if self.sample_layout == "patch":
            cubes, kind = self._validate_images(X, reset=False)
            maps = self._map_cubes(self.module_, cubes, self.batch_size)
            dtypes = [np.asarray(c[:0, :0]).dtype for c in cubes]
            maps = [m.astype(d if d == np.float64 else np.float32, copy=False)
                    for m, d in zip(maps, dtypes)]
            return self._images_back(maps, kind)
        pixels, lead = self._check_spectral(X)
        out = apply_module(self.module_, pixels, batch_size=self.batch_size,
                           device=self._inference_device(), precision=self.precision,
                           progress=bool(self.verbose))
        return restore_shape(out.astype(pixels.dtype, copy=False), lead)

    def _as_module(self):
        check_is_fitted(self)
        if self.sample_layout == "patch":
            raise ValueError(
                "SimCLREncoder(patch_size=...) encodes windows, not pixels, so it cannot be "
                "trained in a pipeline's chain; use it as a frozen step (trainable=False) or "
                "the spectral encoder (patch_size=None).")
        return copy.deepcopy(self.module_)

    def _from_module(self, module):
        self.module_ = module.eval()
