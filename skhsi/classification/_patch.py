"""Spatial classifiers of label maps: the shared base and the patch classifier.

Both spatial classifiers, :class:`PatchClassifier` and
:class:`~skhsi.classification.UNetSegmenter`, are fitted as ``fit(cube,
labels)`` with ``labels`` of the cube's leading shape in which **0 means
unlabelled**: those pixels are ignored by the loss and ``classes_`` excludes
0. They predict per pixel with the cube's leading shape.
"""

from numbers import Integral, Real

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._node import TorchNode
from ..nn import make_generator
from ..nn._layers import INITIALIZERS, init_weights
from ..nn._losses import LOSSES, make_loss
from ..nn._patch_classifier import (
    IGNORE_INDEX,
    PatchCNN,
    SideOutputLoss,
    TrainingObjective,
    init_conv3d,
)
from ..nn._runtime import global_rng_untouched
from .._labels import check_classes, class_weights, unlabelled
from ._label_maps import LabelMapMixin

__all__ = ["PatchClassifier", "SpatialClassifierMixin"]


class SpatialClassifierMixin(LabelMapMixin, ClassifierMixin):
    """What the spatial classifiers share: label maps, losses, class weights, prediction.

    A subclass sets ``sample_layout`` (``"patch"`` or ``"image"``), builds its
    module in ``_build_module`` (with ``set_statistics`` and ``set_prior``
    methods) and turns validated cubes and code maps into training samples in
    ``_training_subset``.
    """

    _spatial_parameter_constraints = {
        "loss": [StrOptions(set(LOSSES))],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="both"), "array-like", None],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "augment": [StrOptions({"flip-rotate"}), None],
        "jitter_noise": [Interval(Real, 0, None, closed="left")],
        "jitter_brightness": [Interval(Real, 0, None, closed="left")],
        "jitter_band_dropout": [Interval(Real, 0, 1, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "init": [StrOptions(set(INITIALIZERS))],
        "gradient_checkpointing": ["boolean"],
        "compile": ["boolean"],
        **TorchNode._training_parameter_constraints,
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Cubes in: scikit-learn's checks, which feed pixel tables, do not
        # apply (tests/classification checks the same contract on cubes).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    def _codes(self, cubes, y):
        """Per-cube int64 maps of class positions in ``classes_``; unlabelled: ignored."""
        maps = self._label_maps(cubes, y)
        codes = []
        for labels in maps:
            free = unlabelled(labels)
            flat = labels.reshape(-1)
            positions = np.clip(np.searchsorted(self.classes_, flat), 0,
                                len(self.classes_) - 1)
            known = (self.classes_[positions] == flat) | free.reshape(-1)
            if not known.all():
                raise ValueError(
                    f"y contains labels not seen in fit: {np.unique(flat[~known])[:5]}; "
                    f"known classes are {self.classes_}.")
            code = np.where(free.reshape(-1), IGNORE_INDEX, positions).astype(np.int64)
            codes.append(code.reshape(labels.shape))
        return codes

    # -- phase 1 -------------------------------------------------------------------
    def _fit_statistics(self, cubes, y):
        if self.sample_layout == "patch" and self.patch_size % 2 == 0:
            raise ValueError(f"patch_size must be odd so that a window has a centre pixel; "
                             f"got {self.patch_size}.")
        labels = self._labelled_values(self._label_maps(cubes, y))
        self.classes_, counts = np.unique(labels, return_counts=True)
        check_classes(self.classes_, type(self).__name__)
        self.class_weight_ = self._class_weights(labels)
        pixels = np.concatenate([c.reshape(-1, c.shape[-1]) for c in cubes])
        self.module_ = self._build_module(make_generator(self._seeds[0]))
        self.module_.set_statistics(pixels.mean(axis=0), pixels.std(axis=0))
        self.module_.set_prior(np.log(counts / counts.sum()))
        self.compiled_ = False
        self._make_criterion()  # loss options that do not fit together fail before training
        return self

    def _class_weights(self, labels):
        """Per-class loss weights in the order of ``classes_`` (``None``: all equal)."""
        weights = class_weights(self.class_weight, self.classes_, labels)
        return None if weights is None else np.asarray(weights, dtype=np.float64)

    def _module_options(self, generator):
        """Options every spatial module takes."""
        return dict(
            attention=self.attention, dropout=self.dropout,
            gradient_checkpointing=self.gradient_checkpointing,
            jitter=dict(noise=self.jitter_noise, brightness=self.jitter_brightness,
                        band_dropout=self.jitter_band_dropout),
            # Phase 1 seeds dropout and jitter; a module rebuilt from a model
            # file only predicts, so any seed does.
            seed=0 if generator is None else int(self._seeds[2]),
        )

    def _initialised(self, module, generator):
        if generator is not None:
            init_weights(module, self.init, generator=generator)
            init_conv3d(module, self.init, generator=generator)
        return module.eval()

    # -- phase 2 -------------------------------------------------------------------
    def _make_criterion(self):
        weights = None if self.class_weight_ is None else list(map(float, self.class_weight_))
        alpha = self.alpha
        if alpha is not None and not isinstance(alpha, Real):
            alpha = list(map(float, np.asarray(alpha, dtype=np.float64).ravel()))
        return SideOutputLoss(make_loss(self.loss, n_classes=len(self.classes_),
                                        class_weight=weights, gamma=self.gamma, alpha=alpha,
                                        ignore_index=IGNORE_INDEX))

    def _objective(self, y):
        return TrainingObjective(self.module_, compile=self.compile), y

    def _trained(self, objective):
        self.compiled_ = objective.compiled()
        objective.release()
        return self

    # -- prediction ----------------------------------------------------------------
    def _logit_maps(self, X):
        check_is_fitted(self, "classes_")
        cubes, kind = self._validate_images(X, reset=False)
        maps = self._map_cubes(self.module_, cubes, batch_size=self._inference_batch())
        return [m.astype(np.float64) for m in maps], kind

    def predict_proba(self, X):
        """Class probabilities per pixel: ``(H, W, n_classes)`` for a cube,
        ``(N, H, W, n_classes)`` for a batch, a list for a list of cubes."""
        maps, kind = self._logit_maps(X)
        return self._images_back([softmax(m, axis=-1) for m in maps], kind)

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba`` (computed from the logits)."""
        maps, kind = self._logit_maps(X)
        return self._images_back([log_softmax(m, axis=-1) for m in maps], kind)

    def predict(self, X):
        """The most probable class per pixel: a label map with the cube's leading shape."""
        maps, kind = self._logit_maps(X)
        return self._images_back([self.classes_[np.argmax(m, axis=-1)] for m in maps], kind)


class PatchClassifier(SpatialClassifierMixin, TorchNode, BaseEstimator):
    """Spatial-spectral CNN classifying each pixel from the ``k x k`` window around it.

    Read more in the :ref:`User Guide <classifiers>`.

    The network (:class:`skhsi.nn._patch_classifier.PatchCNN`) standardises
    the bands, embeds the spectrum of every pixel of the window (a 1 x 1
    convolution, or with ``conv3d=True`` two 3-D convolutions over bands and
    space), applies ``n_layers`` blocks of 3 x 3 convolution, batch norm,
    ReLU, an optional attention block and dropout, and classifies from the
    centre pixel's features and the window's mean. Windows reach beyond the
    border by reflection.

    ``fit(cube, labels)`` takes ``labels`` of the cube's leading shape in
    which **0 means unlabelled**: only the labelled pixels' windows are
    training samples, and ``classes_`` (the sorted other labels; any labels
    scikit-learn accepts for classification) excludes 0. Phase 1: per-band
    mean and standard deviation of every pixel (labelled or not) and an
    output bias equal to the log class frequencies, so the untrained network
    predicts the label distribution. Phase 2 (``max_epochs > 0``): the
    ``loss`` on the labelled windows, through skorch.

    Parameters
    ----------
    patch_size : int, default=9
        Odd window side.
    hidden : int, default=32
        Channels of the convolutions.
    n_layers : int, default=2
        3 x 3 convolution blocks.
    conv3d : bool, default=False
        Embed the spectrum by 3-D convolutions rather than a 1 x 1 convolution.
    attention : {None, "se", "eca", "cbam"}, default=None
        An attention block after each 3 x 3 block, pooling over the window.
    loss : {"cross-entropy", "binary-cross-entropy", "focal", "dice", \
"cross-entropy+dice", "focal+dice"}, default="cross-entropy"
        Training loss by name (one of ``skhsi.nn.LOSSES``).
    gamma : float, default=2.0
        Focusing exponent of the focal losses.
    alpha : float, array-like or None, default=None
        Balancing weight of the focal losses.
    class_weight : dict, "balanced" or None, default=None
        Per-class loss weights: ``{label: weight}``, or ``"balanced"``
        (inversely proportional to the labelled pixels of each class).
    augment : {"flip-rotate"} or None, default="flip-rotate"
        Random flips and 90 degree rotations of the training windows.
    jitter_noise, jitter_brightness, jitter_band_dropout : float, default=0.0
        Spectral jitter of the standardised training windows: Gaussian noise of
        that standard deviation, a random brightness factor of that spread,
        and the probability of dropping a band (``0``: none).
    dropout : float in [0, 1), default=0.2
        Dropout probability between layers during training.
    init : {"glorot", "he"}, default="he"
        Weight initialiser of the layers (by name).
    windows_per_epoch : int, default=256
        The least number of windows in an epoch: with fewer labelled pixels
        their windows are repeated (each as often as the others, give or take
        one) until the epoch has that many, so that a few labels still get
        enough gradient steps; with more, an epoch is one pass over them.
    max_samples : int or None, default=None
        Labelled windows phase 2 trains on at most (drawn at random).
    gradient_checkpointing : bool, default=False
        Recompute the convolution blocks' activations in the backward pass
        instead of keeping them (``torch.utils.checkpoint``): less memory for
        large batches, more compute. Training only.
    compile : bool, default=False
        Compile the training forward pass with :func:`torch.compile`; where
        compilation is not available it trains without, with a
        ``RuntimeWarning``. ``compiled_`` says whether it was used.
    max_epochs : int, default=40
        Epochs of phase 2 (0: phase 1 only).
    lr : float, default=1e-3
        Learning rate of phase 2's optimizer.
    batch_size : int, default=64
        Windows per gradient step; inference reads ``max(batch_size, 1024)``
        windows at a time.
    optimizer, weight_decay, l1, l2, patience, lr_schedule, callbacks, \
tensorboard_dir, verbose, device, precision, random_state
        Training parameters as for :class:`SpectralMLPClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_weight_ : ndarray of shape (n_classes,) or None
    module_ : skhsi.nn._patch_classifier.PatchCNN
    compiled_ : bool
    net_ : skorch.NeuralNet or None
    history_ : list of dict
    n_features_in_ : int

    See Also
    --------
    UNetSegmenter : Whole images instead of windows.
    SpectralMLPClassifier : Spectra alone.

    References
    ----------
    .. [1] J. Hu, L. Shen, G. Sun, "Squeeze-and-excitation networks", CVPR
       2018.
    .. [2] Q. Wang, B. Wu, P. Zhu, P. Li, W. Zuo, Q. Hu, "ECA-Net: efficient
       channel attention for deep convolutional neural networks", CVPR 2020.
    .. [3] S. Woo, J. Park, J.-Y. Lee, I. S. Kweon, "CBAM: convolutional block
       attention module", ECCV 2018.
    .. [4] T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal loss for
       dense object detection", ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.classification import PatchClassifier
    >>> rng = np.random.default_rng(0)
    >>> classes = np.repeat([[1, 2]], 16, axis=0).repeat(8, axis=1)   # two halves
    >>> cube = rng.normal(size=(16, 16, 5)) + 2.0 * classes[..., None]
    >>> labels = np.zeros((16, 16), dtype=int)                       # 0 = unlabelled
    >>> labels[::4, ::4] = classes[::4, ::4]
    >>> clf = PatchClassifier(patch_size=3, hidden=8, max_epochs=20, random_state=0,
    ...                       device="cpu").fit(cube, labels)
    >>> clf.classes_
    array([1, 2])
    >>> clf.predict(cube).shape, clf.predict_proba(cube).shape
    ((16, 16), (16, 16, 2))
    >>> clf.score(cube, classes) > 0.9
    True
    """

    sample_layout = "patch"

    _parameter_constraints = {
        "patch_size": [Interval(Integral, 1, None, closed="left")],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 0, None, closed="left")],
        "conv3d": ["boolean"],
        "attention": [StrOptions({"se", "eca", "cbam"}), None],
        "windows_per_epoch": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        **SpatialClassifierMixin._spatial_parameter_constraints,
    }

    def __init__(self, patch_size=9, *, hidden=32, n_layers=2, conv3d=False, attention=None,
                 loss="cross-entropy", gamma=2.0, alpha=None, class_weight=None,
                 augment="flip-rotate", jitter_noise=0.0, jitter_brightness=0.0,
                 jitter_band_dropout=0.0, dropout=0.2, init="he", windows_per_epoch=256,
                 max_samples=None,
                 gradient_checkpointing=False, compile=False, max_epochs=40, lr=1e-3,
                 batch_size=64, optimizer="adam", weight_decay=0.0, l1=0.0, l2=0.0,
                 patience=None, lr_schedule=None, callbacks=None, tensorboard_dir=None,
                 verbose=0, device="auto", precision="float32", random_state=None):
        self.patch_size = patch_size
        self.hidden = hidden
        self.n_layers = n_layers
        self.conv3d = conv3d
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
        self.windows_per_epoch = windows_per_epoch
        self.max_samples = max_samples
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
        """Statistics and a prior bias, then ``max_epochs`` of training on the labelled windows.

        Parameters
        ----------
        X : array-like of shape (H, W, C) or (N, H, W, C), or a list of cubes
        y : array-like with the leading shape of ``X``, or a list of maps
            One label per pixel; 0 marks an unlabelled pixel.

        Returns
        -------
        self
        """
        return self._fit(X, y)

    def _build_module(self, generator=None):
        with global_rng_untouched():
            module = PatchCNN(self.n_features_in_, len(self.classes_),
                              patch_size=self.patch_size, hidden=self.hidden,
                              n_layers=self.n_layers, conv3d=self.conv3d,
                              augment=self.augment == "flip-rotate",
                              **self._module_options(generator))
        return self._initialised(module, generator)

    def _training_subset(self, X, y, seed):
        samples = self._patch_samples(X, self._codes(X, y), seed=seed,
                                      max_samples=self.max_samples)
        n = len(samples)
        if n < self.windows_per_epoch:  # repeat the few labelled windows evenly
            rows = np.arange(self.windows_per_epoch) % n
            samples.positions = samples.positions[rows]
            samples.targets = samples.targets[rows]
        return samples, None

    def _inference_batch(self):
        return max(self.batch_size, 1024)
