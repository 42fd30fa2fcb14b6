"""A U-Net segmenter: per-pixel classes of whole images, fully convolutional."""

from numbers import Integral

from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from .._node import TorchNode
from ..nn._runtime import global_rng_untouched
from ..nn._tiles import tile_size_for
from ..nn._unet import LabelledTiles, UNet
from ..nn._patch_classifier import IGNORE_INDEX
from ._patch import SpatialClassifierMixin

__all__ = ["UNetSegmenter"]


class UNetSegmenter(SpatialClassifierMixin, TorchNode, BaseEstimator):
    """U-Net-style segmenter: class probabilities for every pixel of an image.

    Read more in the :ref:`User Guide <classifiers>`.

    The network (:class:`skhsi.nn._unet.UNet`) standardises the bands and runs
    an encoder of ``n_levels`` levels (two 3 x 3 convolutions with batch norm
    and ReLU, an optional attention block, dropout, 2 x 2 max pooling), a
    bottleneck, and a decoder that upsamples (``"bilinear"`` or
    ``"transposed"`` convolution), concatenates the encoder's features of the
    same scale (skip connections) and convolves twice. With
    ``deep_supervision=True`` every decoder scale gives side logits,
    upsampled to the input size and fused by a 1 x 1 convolution (HED): the
    loss is summed over the side outputs and the fused one in training, and
    prediction uses the fused output.

    ``fit(cube, labels)`` takes ``labels`` of the cube's leading shape in
    which **0 means unlabelled**; the loss is computed on the labelled pixels
    only, and ``classes_`` excludes 0. Training reads random
    ``tile_size`` tiles (the whole cube when it is smaller), each holding at
    least one labelled pixel, flipped and rotated with their labels when
    ``augment="flip-rotate"``. Prediction runs in tiles of ``tile_size``
    with a halo of the network's receptive radius, so it equals whole-image
    prediction with memory for one tile.

    Parameters
    ----------
    hidden : int, default=32
        Channels of the first level (doubled at each level down).
    n_levels : int, default=2
        Pooling steps of the encoder.
    upsampling : {"bilinear", "transposed"}, default="bilinear"
        How the decoder doubles the resolution.
    deep_supervision : bool, default=False
        Add a loss on every decoder level, not only the last.
    attention : {None, "se", "eca", "cbam"}, default=None
        An attention block after each encoder level, pooling over a 7 x 7
        window around each pixel (so tiles predict as the whole image).
    loss, gamma, alpha, class_weight, augment, jitter_noise, jitter_brightness, \
jitter_band_dropout, init, gradient_checkpointing, compile
        As for :class:`PatchClassifier`; gradient checkpointing applies to the
        encoder blocks and the bottleneck.
    dropout : float in [0, 1), default=0.2
        Dropout probability between layers during training.
    tile_size : int, default=64
        Side of the training tiles and of the kept centre of inference tiles.
    tiles_per_epoch : int, default=16
        Random training tiles drawn per epoch.
    max_epochs : int, default=50
        Epochs of phase 2 (0: phase 1 only).
    lr : float, default=1e-3
        Learning rate of phase 2's optimizer.
    batch_size : int, default=4
        Tiles per gradient step.
    optimizer, weight_decay, l1, l2, patience, lr_schedule, callbacks, \
tensorboard_dir, verbose, device, precision, random_state
        Training parameters as for :class:`SpectralMLPClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_weight_ : ndarray of shape (n_classes,) or None
    module_ : skhsi.nn._unet.UNet
    compiled_ : bool
    net_ : skorch.NeuralNet or None
    history_ : list of dict
    n_features_in_ : int

    See Also
    --------
    PatchClassifier : A window around each pixel.

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer, T. Brox, "U-Net: convolutional networks
       for biomedical image segmentation", MICCAI 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.classification import UNetSegmenter
    >>> rng = np.random.default_rng(0)
    >>> classes = np.repeat([[1, 2]], 16, axis=0).repeat(8, axis=1)   # two halves
    >>> cube = rng.normal(size=(16, 16, 5)) + 2.0 * classes[..., None]
    >>> labels = np.zeros((16, 16), dtype=int)                       # 0 = unlabelled
    >>> labels[::4, ::4] = classes[::4, ::4]
    >>> seg = UNetSegmenter(hidden=8, n_levels=1, tile_size=16, max_epochs=15, lr=1e-2,
    ...                     random_state=0, device="cpu").fit(cube, labels)
    >>> seg.predict(cube).shape, seg.predict_proba(cube).shape
    ((16, 16), (16, 16, 2))
    >>> seg.score(cube, classes) > 0.9
    True
    """

    sample_layout = "image"

    _parameter_constraints = {
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "n_levels": [Interval(Integral, 1, None, closed="left")],
        "upsampling": [StrOptions({"bilinear", "transposed"})],
        "deep_supervision": ["boolean"],
        "attention": [StrOptions({"se", "eca", "cbam"}), None],
        "tile_size": [Interval(Integral, 1, None, closed="left")],
        "tiles_per_epoch": [Interval(Integral, 1, None, closed="left")],
        **SpatialClassifierMixin._spatial_parameter_constraints,
    }

    def __init__(self, *, hidden=32, n_levels=2, upsampling="bilinear", deep_supervision=False,
                 attention=None, loss="cross-entropy", gamma=2.0, alpha=None,
                 class_weight=None, augment="flip-rotate", jitter_noise=0.0,
                 jitter_brightness=0.0, jitter_band_dropout=0.0, dropout=0.2, init="he",
                 tile_size=64, tiles_per_epoch=16, gradient_checkpointing=False,
                 compile=False, max_epochs=50, lr=1e-3, batch_size=4, optimizer="adam",
                 weight_decay=0.0, l1=0.0, l2=0.0, patience=None, lr_schedule=None,
                 callbacks=None, tensorboard_dir=None, verbose=0, device="auto",
                 precision="float32", random_state=None):
        self.hidden = hidden
        self.n_levels = n_levels
        self.upsampling = upsampling
        self.deep_supervision = deep_supervision
        self.attention = attention
        self.loss = loss
        self.gamma = gamma
        self.alpha = alpha
        self.class_weight = class_weight
        self.augment = augment
        self.jitter_noise = jitter_noise
        self.jitter_brightness = jitter_brightness
        self.jitter_band_dropout = jitter_band_dropout
        self.dropout = dropout
        self.init = init
        self.tile_size = tile_size
        self.tiles_per_epoch = tiles_per_epoch
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Statistics and a prior bias, then ``max_epochs`` of training on labelled tiles.

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C), or a list of cubes
        y : array-like with the leading shape of ``X``, or a list of maps
            One label per pixel; 0 marks an unlabelled pixel (no loss there).

        Returns
        -------
        self
        """
        return self._fit(X, y)

    def _build_module(self, generator=None):
        with global_rng_untouched():
            module = UNet(self.n_features_in_, len(self.classes_), hidden=self.hidden,
                          n_levels=self.n_levels, upsampling=self.upsampling,
                          deep_supervision=self.deep_supervision,
                          **self._module_options(generator))
        return self._initialised(module, generator)

    def _training_subset(self, X, y, seed):
        side = tile_size_for(X, self.tile_size, self.module_.size_multiple)
        return LabelledTiles(X, self._codes(X, y), tile=side, n_tiles=self.tiles_per_epoch,
                             augment=self.augment == "flip-rotate", seed=seed,
                             ignore_index=IGNORE_INDEX), None

    def _inference_batch(self):
        return 1
