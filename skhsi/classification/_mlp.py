"""A per-pixel MLP classifier that can close a two-phase pipeline."""

from numbers import Integral, Real

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._labels import (check_classes, check_label_map, class_weights, labelled_values,
                       pixel_labels, unlabelled)
from .._node import TorchNode
from ..base import as_pixels, restore_shape
from ..nn import LOSSES, SpectralMLP, apply_module, make_generator, make_loss
from ..nn._layers import INITIALIZERS
from ..nn._patch_classifier import IGNORE_INDEX


class SpectralMLPClassifier(TorchNode, ClassifierMixin, BaseEstimator):
    """Pixel classifier: a one-hidden-layer MLP trained on a loss chosen by name.

    Read more in the :ref:`User Guide <classifiers>`.

    ``fit`` runs two phases. Phase 1: seeded weights and an output bias equal
    to the log label frequencies, so the untrained network already predicts
    the training label distribution. Phase 2 (``max_epochs > 0``): the
    ``loss`` (cross-entropy by default) through skorch. As the final step of a
    :class:`skhsi.pipeline.Pipeline` it is the *head*: phase 2 trains it
    together with the steps in front of it that have ``trainable=True`` (a
    :class:`~skhsi.selection.ConcreteBandSelector` or
    :class:`~skhsi.selection.LearnableChannelMixer`), with labels given per
    pixel. Standardised input (e.g.
    :class:`~skhsi.preprocessing.ZScoreNormalizerGlobal`) trains best.

    Labels follow skhsi's one convention: with a pixel table ``X``, ``y`` is
    a vector and every value is a class, as in scikit-learn; with a cube
    ``X``, ``y`` is a label map whose 0 (``""`` for strings) marks an
    unlabelled pixel, as for :class:`PatchClassifier` and
    :class:`UNetSegmenter`: unlabelled pixels are left out of ``classes_``,
    the class weights and the loss (their spectra still reach the statistics
    of the steps in front). Labels are encoded as positions in ``classes_``
    (the sorted unique labels, as ``LabelEncoder`` does); at least two
    classes are needed.

    Parameters
    ----------
    hidden : int, default=64
        Width of the hidden layer.
    loss : {"cross-entropy", "binary-cross-entropy", "focal", "dice", \
"cross-entropy+dice", "focal+dice"}, default="cross-entropy"
        The training objective (:func:`skhsi.nn.make_loss`); the dice terms
        are computed over each batch of pixels. ``"binary-cross-entropy"``
        needs two classes.
    gamma : float, default=2.0
        Focusing exponent of the focal loss.
    alpha : float, array-like of shape (n_classes,) or None, default=None
        Class balance of the focal and binary losses: one factor per class
        (in the order of ``classes_``), or for two classes the factor of the
        second class (``1 - alpha`` for the first).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn:
        ``{label: weight}`` (labels left out weigh 1) or ``"balanced"``
        (inversely proportional to the class frequencies of ``y``).
    init : {"glorot", "he"} or None, default=None
        Initialisation of the weights (Glorot/Xavier uniform or He/Kaiming normal);
        ``None`` draws them uniformly in ``+-1/sqrt(fan_in)``, as torch's
        linear layers do. The output bias is the log prior either way.
    dropout : float in [0, 1), default=0.0
        Dropout on the hidden layer during training.
    max_epochs : int, default=30
        Epochs of phase 2 (0: phase 1 only).
    lr : float, default=1e-2
        Learning rate of phase 2's optimizer.
    batch_size : int, default=128
        Training batch size, and the chunk size of inference. Small batches
        give a trainable selector in front enough steps to settle.
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
        Seeds the weights and the order of training pixels.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_weight_ : ndarray of shape (n_classes,) or None
        The weight of each class in the loss, from ``class_weight``.
    module_ : skhsi.nn.SpectralMLP
    net_ : skorch.NeuralNet or None
    history_ : list of dict
    n_features_in_ : int

    See Also
    --------
    PatchClassifier : Spatial context from a window.

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal loss for
       dense object detection", ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.classification import SpectralMLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(1, 3, size=(16, 16))      # a label map: 0 would be unlabelled
    >>> cube = rng.normal(size=(16, 16, 6)) + 3.0 * (labels == 2)[..., None]
    >>> clf = SpectralMLPClassifier(max_epochs=10, random_state=0, device="cpu")
    >>> clf.fit(cube, labels).predict(cube).shape
    (16, 16)
    >>> clf.score(cube, labels) > 0.9
    True
    """

    _parameter_constraints = {
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions(set(LOSSES))],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="both"), "array-like", None],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "init": [StrOptions(set(INITIALIZERS)), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        **TorchNode._training_parameter_constraints,
    }

    def __init__(self, hidden=64, *, loss="cross-entropy", gamma=2.0, alpha=None,
                 class_weight=None, init=None, dropout=0.0, max_epochs=30, lr=1e-2,
                 batch_size=128, optimizer="adam",
                 weight_decay=0.0, l1=0.0, l2=0.0, patience=None, lr_schedule=None, callbacks=None,
                 tensorboard_dir=None, verbose=0, device="auto", precision="float32",
                 random_state=None):
        self.hidden = hidden
        self.loss = loss
        self.gamma = gamma
        self.alpha = alpha
        self.class_weight = class_weight
        self.init = init
        self.dropout = dropout
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
    def fit(self, X, y, *, validation_data=None):
        """Prior-initialised weights, then ``max_epochs`` of training on ``loss``.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : array-like with the leading shape of ``X``
            One label per pixel.
        validation_data : tuple (X_valid, y_valid) or None
            When given, the epoch with the best validation accuracy is kept.

        Returns
        -------
        self
        """
        return self._fit(X, y, validation_data=validation_data)

    # -- the node contract (skhsi._node.TorchNode) ---------------------------------
    def _targets(self, y, leading_shape, n_samples):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None: it needs one label per pixel.")
        labels = pixel_labels(y, leading_shape, n_samples)
        # A map (y shaped like a cube's pixels): 0 marks unlabelled pixels.
        self._label_map = leading_shape is not None and len(leading_shape) >= 2
        if self._label_map:
            check_label_map(labels, type(self).__name__)
        return labels

    def _fit_statistics(self, pixels, labels):
        labelled = labelled_values(labels, type(self).__name__) if self._label_map \
            else np.asarray(labels).reshape(-1)
        self.classes_, counts = np.unique(labelled, return_counts=True)
        check_classes(self.classes_, type(self).__name__)
        self.class_weight_ = class_weights(self.class_weight, self.classes_, labelled)
        self._make_criterion()  # a loss that does not fit the classes fails before training
        self.module_ = self._build_module(make_generator(self._seeds[0]),
                                          log_prior=np.log(counts / counts.sum()))
        return self

    def _build_module(self, generator=None, log_prior=None):
        n_classes = len(self.classes_)
        prior = np.zeros(n_classes) if log_prior is None else log_prior
        # Phase 1 seeds the dropout masks; a module rebuilt from a model file
        # only predicts, so any seed does.
        seed = 0 if generator is None else int(self._seeds[2])
        return SpectralMLP(self.n_features_in_, n_classes, hidden=self.hidden,
                           log_prior=prior, generator=generator,
                           init=None if generator is None else self.init,
                           dropout=self.dropout, seed=seed).eval()

    def _encode(self, labels, label_map=False):
        """Positions in ``classes_``; the unlabelled pixels of a label map are ignored."""
        labels = np.asarray(labels).reshape(-1)
        free = unlabelled(labels) if label_map else np.zeros(labels.shape, bool)
        codes = np.searchsorted(self.classes_, labels)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unknown = (self.classes_[codes] != labels) & ~free
        if unknown.any():
            raise ValueError(
                f"y contains labels not seen in fit: {np.unique(labels[unknown])[:5]}; "
                f"known classes are {self.classes_}."
            )
        return np.where(free, IGNORE_INDEX, codes).astype(np.int64)

    def _objective(self, y):
        return self.module_, self._encode(y, getattr(self, "_label_map", False))

    def _make_criterion(self):
        if self.loss == "binary-cross-entropy" and len(self.classes_) != 2:
            raise ValueError(f"loss='binary-cross-entropy' needs two classes; y has "
                             f"{len(self.classes_)}: {self.classes_[:10]}.")
        alpha = self.alpha
        if alpha is not None and not isinstance(alpha, Real):
            alpha = np.asarray(alpha, dtype=np.float64).tolist()
        return make_loss(self.loss, n_classes=len(self.classes_),
                         class_weight=self.class_weight_, gamma=self.gamma, alpha=alpha)

    def _validation(self, validation_data, X_valid=None):
        """``(pixels, accuracy, "accuracy")`` for skorch from ``(X_valid, y_valid)``.

        ``X_valid`` replaces the validation pixels when a pipeline has already
        brought them to the input of its trained chain.
        """
        if validation_data is None:
            return None
        cube, y_valid = validation_data
        pixels, lead = as_pixels(cube)
        if X_valid is None:
            pixels, lead = self._validate_spectral(cube, reset=False)
        else:
            pixels = X_valid
        codes = self._encode(pixel_labels(y_valid, lead, pixels.shape[0]),
                             label_map=lead is not None and len(lead) >= 2)
        labelled = codes != IGNORE_INDEX

        def accuracy(logits):
            return float(np.mean(np.argmax(logits, axis=1)[labelled] == codes[labelled]))

        return pixels, accuracy, "accuracy"

    # -- prediction -----------------------------------------------------------------
    def _logits(self, X):
        check_is_fitted(self, "classes_")
        pixels, lead = self._check_spectral(X)
        logits = apply_module(self.module_, pixels, batch_size=self.batch_size,
                              device=self._inference_device(), precision=self.precision,
                              progress=bool(self.verbose))
        return logits.astype(np.float64), lead

    def predict_proba(self, X):
        """Class probabilities per pixel: shape ``(..., n_classes)``."""
        logits, lead = self._logits(X)
        return restore_shape(softmax(logits, axis=1), lead)

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``."""
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """Most probable class per pixel, with the input's leading shape (a label map)."""
        logits, lead = self._logits(X)
        return restore_shape(self.classes_[np.argmax(logits, axis=1)], lead)

    def score(self, X, y, sample_weight=None):
        """Accuracy over the labelled pixels.

        ``y`` has the leading shape of ``X``: a vector for a pixel table (every
        pixel counts), a label map for a cube (0 = unlabelled, left out).

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : array-like with the leading shape of ``X``
        sample_weight : array-like with the leading shape of ``X`` or None

        Returns
        -------
        float
        """
        pred = np.asarray(self.predict(X)).reshape(-1)
        y = np.asarray(y).reshape(-1)
        keep = ~unlabelled(y) if np.ndim(X) >= 3 else np.ones(y.shape, bool)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight).reshape(-1)[keep]
        return accuracy_score(y[keep], pred[keep], sample_weight=sample_weight)
