"""Learnable channel mixing: stacked 1x1 reduction layers (DRCNN)."""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.decomposition import PCA
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._labels import pixel_labels
from .._node import TorchNode
from ..base import GLOBAL, SpatialReach, restore_shape
from ..nn import (
    ChannelMixer,
    MixerObjective,
    PixelCrossEntropy,
    ReconstructionLoss,
    apply_module,
    as_numpy,
    make_generator,
)


class LearnableChannelMixer(TorchNode, ClassNamePrefixFeaturesOutMixin,
                            TransformerMixin, BaseEstimator):
    """Learned spectral reduction by stacked 1x1 mixing layers (DRCNN).

    Read more in the :ref:`User Guide <band_selection>`.

    The data-reduction part of the DRCNN of Zeegers et al. ("Task-driven
    learned hyperspectral data reduction using end-to-end supervised deep
    learning", J. Imaging 6(12), 2020): linear layers over the bands, e.g.
    ``C -> 16 -> 8 -> 3``, with LeakyReLU between consecutive layers, and
    each output channel min-max normalised to [0, 1].

    **Per-image normalisation.** With ``normalize_output=True``, ``transform``
    scales every output channel to [0, 1] using its minimum and maximum over
    one *image*: a pixel table ``(n, C)`` is one image (all its rows), a cube
    ``(H, W, C)`` is one image, and a batch ``(N, H, W, C)`` is ``N`` images,
    each normalised on its own. The torch module (``_as_module``) normalises
    over the rows of the batch it is given (a differentiable min-max), which is
    the same when it sees the whole image and, during end-to-end training,
    over each mini-batch of pixels. A constant channel maps to 0. Because of
    the normalisation, transforming a subset of the rows is not the same as
    transforming them with the rest of the image.

    ``fit`` runs two phases. Phase 1: weights from ``init_method``. Phase 2
    (``max_epochs > 0``): without ``y``, a linear decoder back to the ``C``
    bands is trained with the mixer on the reconstruction MSE; with ``y``
    (integer labels per pixel), a linear classifier on cross-entropy.

    In a :class:`skhsi.pipeline.Pipeline`, a ``trainable=True`` mixer is only
    initialised in phase 1 and then trained against the final step's
    objective; a frozen one (``trainable=False``) is fitted as when alone
    (both phases, with the pipeline's ``y`` if any) and then kept fixed.

    Parameters
    ----------
    n_outputs : int, default=3
        Output channels (used when ``reduction_scheme`` is None).
    reduction_scheme : list of int or None, default=None
        Layer widths, starting with the band count: ``[C, 16, 8, 3]`` gives
        three layers. ``None`` means ``[C, n_outputs]`` (one linear layer).
    leaky_relu_negative_slope : float, default=0.01
        Slope of the leaky ReLU between the mixing layers.
    use_bias : bool, default=True
        Give the mixing layers a bias.
    use_activation : bool, default=True
        Put a LeakyReLU between consecutive layers.
    normalize_output : bool, default=True
        Per-image min-max normalisation of each output channel (see above).
    init_method : {"xavier", "kaiming", "pca", "zeros"}, default="xavier"
        ``"pca"``: the first layer projects onto the top principal components
        of the training pixels (centred through its bias); further layers and
        rows beyond the available components use ``"xavier"``. ``"zeros"``
        starts every weight at 0 (a degenerate start for stacked layers).
    trainable : bool, default=False
        Whether end-to-end training in a :class:`~skhsi.pipeline.Pipeline`
        updates the weights (see above).
    max_epochs : int, default=20
        Epochs of phase 2 when fitted alone; 0 keeps the initialisation.
    lr : float, default=1e-3
        Learning rate of phase 2's optimizer.
    batch_size : int, default=1024
        Training batch size, and the chunk size of inference.
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        Phase 2's optimizer, by name or as a torch optimizer class.
    weight_decay : float, default=0.0
        Weight decay passed to the optimizer.
    l1, l2 : float, default=0.0
        Penalties on the weights added to the training loss (both: the elastic net).
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
        ``"bfloat16"`` trains with automatic mixed precision.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the PCA and the order of training pixels.

    Attributes
    ----------
    module_ : skhsi.nn.ChannelMixer
    reduction_scheme_ : list of int
    weights_ : list of ndarray
        Weight matrix ``(n_out, n_in)`` of every layer.
    biases_ : list of ndarray or None
    objective_ : {"reconstruction", "classification"} or None
        What phase 2 trained alone (None without phase 2).
    net_ : skorch.NeuralNet or None
    history_ : list of dict
    n_features_in_ : int

    See Also
    --------
    ConcreteBandSelector : Choosing bands instead of mixing them.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.selection import LearnableChannelMixer
    >>> cube = np.random.default_rng(0).normal(size=(10, 12, 20))
    >>> mixer = LearnableChannelMixer(4, reduction_scheme=[20, 8, 4], max_epochs=2,
    ...                               random_state=0, device="cpu")
    >>> out = mixer.fit_transform(cube)
    >>> out.shape, float(out.min()), float(out.max())
    ((10, 12, 4), 0.0, 1.0)
    >>> mixer.get_feature_names_out()[:2]
    array(['learnablechannelmixer0', 'learnablechannelmixer1'], dtype=object)
    """

    _parameter_constraints = {
        "n_outputs": [Interval(Integral, 1, None, closed="left")],
        "reduction_scheme": [list, tuple, None],
        "leaky_relu_negative_slope": [Interval(Real, 0, None, closed="left")],
        "use_bias": ["boolean"],
        "use_activation": ["boolean"],
        "normalize_output": ["boolean"],
        "init_method": [StrOptions({"xavier", "kaiming", "pca", "zeros"})],
        "trainable": ["boolean"],
        **TorchNode._training_parameter_constraints,
    }

    def __init__(self, n_outputs=3, *, reduction_scheme=None, leaky_relu_negative_slope=0.01,
                 use_bias=True, use_activation=True, normalize_output=True,
                 init_method="xavier", trainable=False, max_epochs=20, lr=1e-3,
                 batch_size=1024, optimizer="adam", weight_decay=0.0, l1=0.0, l2=0.0,
                 patience=None, lr_schedule=None, callbacks=None, tensorboard_dir=None,
                 verbose=0, device="auto", precision="float32", random_state=None):
        self.n_outputs = n_outputs
        self.reduction_scheme = reduction_scheme
        self.leaky_relu_negative_slope = leaky_relu_negative_slope
        self.use_bias = use_bias
        self.use_activation = use_activation
        self.normalize_output = normalize_output
        self.init_method = init_method
        self.trainable = trainable
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Initialise the weights, then train them alone for ``max_epochs``.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : array-like or None
            Integer labels with the leading shape of ``X``: phase 2 then
            trains a linear classifier on the mixer's output instead of a
            reconstruction decoder.

        Returns
        -------
        self
        """
        return self._fit(X, y)

    # -- the node contract (skhsi._node.TorchNode) ---------------------------------
    def _targets(self, y, leading_shape, n_samples):
        return None if y is None else pixel_labels(y, leading_shape, n_samples)

    def _sizes(self, n_bands):
        if self.reduction_scheme is None:
            return [n_bands, self.n_outputs]
        sizes = list(self.reduction_scheme)
        if len(sizes) < 2 or not all(isinstance(s, Integral) and s >= 1 for s in sizes):
            raise ValueError(
                "reduction_scheme must list at least two positive integers (the band "
                f"count, then the layer widths); got {self.reduction_scheme!r}."
            )
        if sizes[0] != n_bands:
            raise ValueError(
                f"reduction_scheme starts with {sizes[0]} but X has {n_bands} bands; "
                "its first entry must be the band count."
            )
        return [int(s) for s in sizes]

    def _build_module(self, generator=None):
        return ChannelMixer(self.reduction_scheme_, negative_slope=self.leaky_relu_negative_slope,
                            use_bias=self.use_bias, use_activation=self.use_activation,
                            normalize_output=self.normalize_output)

    def _fit_statistics(self, pixels, y=None):
        sizes = self._sizes(pixels.shape[1])
        self.reduction_scheme_ = sizes
        module = self._build_module()
        method = "xavier" if self.init_method == "pca" else self.init_method
        module.initialize(method, negative_slope=self.leaky_relu_negative_slope,
                          generator=make_generator(self._seeds[0]))
        if self.init_method == "pca":
            n_components = min(sizes[1], pixels.shape[0], pixels.shape[1])
            pca = PCA(n_components=n_components, random_state=int(self._seeds[2]))
            pca.fit(pixels)
            module.set_first_layer(pca.components_, -pca.components_ @ pca.mean_)
        self.module_ = module.eval()
        self.objective_ = None
        self._sync()
        return self

    def _objective(self, y):
        if y is None:
            self.objective_ = "reconstruction"  # of this step's own input
            n_targets, target = self.n_features_in_, None
        else:
            self.objective_ = "classification"
            target = LabelEncoder().fit_transform(np.asarray(y).reshape(-1)).astype(np.int64)
            n_targets = int(target.max()) + 1
        return MixerObjective(self.module_, n_targets, mode=self.objective_,
                              generator=make_generator(self._seeds[2])), target

    def _make_criterion(self):
        if self.objective_ == "classification":
            return PixelCrossEntropy()
        return ReconstructionLoss()

    def _sync(self):
        self.weights_ = [as_numpy(layer.weight).astype(np.float64)
                         for layer in self.module_.layers]
        self.biases_ = (None if not self.use_bias else
                        [as_numpy(layer.bias).astype(np.float64)
                         for layer in self.module_.layers])

    # -- transform ------------------------------------------------------------------
    @property
    def _n_features_out(self):
        return self.reduction_scheme_[-1]

    def transform(self, X):
        """Mix the bands; output channels min-max normalised per image.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (..., n_outputs), with ``X``'s float dtype
        """
        pixels, lead = self._check_spectral(X)
        out = apply_module(self.module_.unnormalized().eval(), pixels,
                           batch_size=self.batch_size, device=self._inference_device(),
                           precision=self.precision, progress=bool(self.verbose))
        out = out.astype(pixels.dtype, copy=False)
        if self.normalize_output:
            out = _min_max_per_image(out, lead, self.module_.eps)
        return restore_shape(out, lead)

    def _spatial_reach(self):
        """Global with ``normalize_output`` (min and max over the image), else per pixel."""
        return SpatialReach(GLOBAL if self.normalize_output else 0)

    def _as_module(self):
        check_is_fitted(self)
        return copy.deepcopy(self.module_)

    def _from_module(self, module):
        self.module_ = module
        self._sync()


def _min_max_per_image(out, lead, eps):
    n_images = 1 if lead is None or len(lead) < 3 else int(np.prod(lead[:-2]))
    images = out.reshape(n_images, -1, out.shape[-1])
    low = images.min(axis=1, keepdims=True)
    span = np.maximum(images.max(axis=1, keepdims=True) - low, eps)
    return ((images - low) / span).reshape(out.shape)
