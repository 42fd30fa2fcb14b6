"""Deep SVDD anomaly detector: statistical init, then optional gradient training."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._node import TorchNode
from ..base import as_pixels
from ..nn import DeepSVDDSoftBoundaryLoss, SphereMonitor, apply_module, as_numpy, make_generator
from ..nn._deep_svdd import build_deep_svdd, init_center, set_radius
from ._base import SpectralOutlierMixin
from ._monitor import validation_metric


class DeepSVDD(TorchNode, SpectralOutlierMixin, BaseEstimator):
    """Deep Support Vector Data Description (Ruff et al., ICML 2018) per pixel.

    Read more in the :ref:`User Guide <anomaly_detection>`.

    A bias-free two-layer MLP (``C -> hidden -> rep_dim``; with
    ``kernel="rbf"`` fixed random Fourier features come first) maps every
    spectrum to an embedding; the anomaly score is the squared distance of the
    embedding to a centre.

    ``fit`` runs two phases. Phase 1 (always): random weights from
    ``random_state``, centre = mean embedding of the training pixels (nudged
    away from 0), radius = square root of the ``1 - nu`` quantile of the
    squared distances. Phase 2 (``max_epochs > 0``): gradient training of the
    projection and radius through a skorch ``NeuralNet`` (held in ``net_``),
    with the centre tracked by an exponential moving average of the training
    embeddings. ``max_epochs=0`` keeps the statistical initialisation only.

    Parameters
    ----------
    rep_dim : int, default=32
        Embedding size.
    hidden : int, default=128
        Width of the hidden layer.
    kernel : {"rbf", "linear"}, default="rbf"
        ``"rbf"`` puts ``n_rff`` random Fourier features of the RBF kernel
        ``exp(-gamma ||x - y||^2)`` in front of the MLP.
    n_rff : int, default=1024
        Number of random Fourier features.
    gamma : float or None, default=None
        RBF kernel width; ``None`` means ``1 / n_features`` (suited to
        standardised bands).
    objective : {"one-class", "soft-boundary"}, default="one-class"
        ``"one-class"`` minimises the mean squared distance; ``"soft-boundary"``
        minimises ``R^2 + 1/nu * mean(max(0, d - R^2))`` with a learned radius
        ``R``. The soft boundary puts all its gradient on the pixels outside the
        sphere, which in an unlabelled scene are mostly the anomalies, and
        pulls them in; the one-class objective is the default for that reason.
    nu : float in (0, 1], default=0.1
        Soft-boundary trade-off: the fraction of training pixels the learned
        sphere leaves outside. Also sets the initial radius.
    alpha : float in [0, 1], default=0.1
        EMA rate of the centre during training (0 keeps it fixed).
    contamination : float in (0, 0.5], default=0.01
        Fraction of training pixels flagged by ``predict``; sets ``offset_``.
    max_samples : int or None, default=65536
        Phase 2 trains on at most this many pixels, drawn at random (seeded by
        ``random_state``) when there are more, so that the training cost of a
        large scene stays that of a moderate one; ``None`` trains on all.
        The centre, the radius and ``offset_`` always use every pixel.
    max_epochs : int, default=20
        Epochs of phase 2; 0 for the statistical initialisation only.
    lr : float, default=1e-3
        Learning rate of phase 2's optimizer.
    batch_size : int, default=1024
        Training batch size, and the chunk size of inference.
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        Phase 2's optimizer, by name or as a torch optimizer class.
    weight_decay : float, default=1e-6
        Weight decay passed to the optimizer.
    l1, l2 : float, default=0.0
        Penalties on the weights added to the training loss (both: the elastic net).
    patience : int or None, default=None
        Stop when the training loss has not improved for this many epochs.
    lr_schedule : {"plateau"} or None, default=None
        ``"plateau"`` halves the learning rate when the training loss has not
        improved for 5 epochs.
    validation_metric : {"auc", "ap", "iou"}, default="auc"
        Metric on ``validation_data`` (see ``fit``) that selects the best epoch.
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks; copies are used, the given objects stay untouched.
    tensorboard_dir : str, path or None, default=None
        Log training to TensorBoard there (needs ``tensorboard``).
    verbose : int, default=0
        Progress bars (training epochs, scoring of large inputs) and the
        per-epoch table when > 0; silent when 0.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where training and inference run; ``"auto"`` picks CUDA when available.
        The fitted model is kept on the CPU, so it loads anywhere.
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"`` trains and scores with automatic mixed precision
        (``torch.autocast``), for GPUs with fast bfloat16 arithmetic.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights and the order of training pixels.

    Attributes
    ----------
    module_ : skhsi.nn.DeepSVDDNet
        The projection, centre and radius.
    center_ : ndarray of shape (rep_dim,)
    radius_ : float
    offset_ : float
    net_ : skorch.NeuralNet or None
        The trained net (``None`` when ``max_epochs=0``).
    history_ : list of dict
        Per epoch: ``train_loss``, ``radius``, ``n_outside`` (training pixels
        outside the sphere) and validation metrics when given.
    n_features_in_ : int

    See Also
    --------
    AutoencoderDetector : Reconstruction error instead of a hypersphere.

    References
    ----------
    .. [1] L. Ruff, R. Vandermeulen, N. Görnitz, L. Deecke, S. A. Siddiqui, A.
       Binder, E. Müller, M. Kloft, "Deep one-class classification", ICML 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.anomaly import DeepSVDD
    >>> rng = np.random.default_rng(0)
    >>> cube = rng.normal(size=(20, 20, 8)).astype("float32")
    >>> cube[5, 5] += 6
    >>> det = DeepSVDD(max_epochs=2, random_state=0, device="cpu").fit(cube)
    >>> scores = det.anomaly_score(cube)
    >>> scores.shape, det.predict(cube).shape
    ((20, 20), (20, 20))
    >>> bool(scores[5, 5] > np.median(scores))
    True
    """

    _parameter_constraints = {
        "rep_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "kernel": [StrOptions({"rbf", "linear"})],
        "n_rff": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "objective": [StrOptions({"one-class", "soft-boundary"})],
        "nu": [Interval(Real, 0, 1, closed="right")],
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "contamination": SpectralOutlierMixin._contamination_constraint,
        "validation_metric": [StrOptions({"auc", "ap", "iou"})],
        "max_samples": [Interval(Integral, 1, None, closed="left"), None],
        **TorchNode._training_parameter_constraints,
    }

    def __init__(self, *, rep_dim=32, hidden=128, kernel="rbf", n_rff=1024, gamma=None,
                 objective="one-class", nu=0.1, alpha=0.1, contamination=0.01,
                 max_samples=65536, max_epochs=20, lr=1e-3, batch_size=1024, optimizer="adam",
                 weight_decay=1e-6, l1=0.0, l2=0.0, patience=None, lr_schedule=None,
                 validation_metric="auc", callbacks=None, tensorboard_dir=None, verbose=0,
                 device="auto", precision="float32", random_state=None):
        self.rep_dim = rep_dim
        self.hidden = hidden
        self.kernel = kernel
        self.n_rff = n_rff
        self.gamma = gamma
        self.objective = objective
        self.nu = nu
        self.alpha = alpha
        self.contamination = contamination
        self.max_samples = max_samples
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.l1 = l1
        self.l2 = l2
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.validation_metric = validation_metric
        self.callbacks = callbacks
        self.tensorboard_dir = tensorboard_dir
        self.verbose = verbose
        self.device = device
        self.precision = precision
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, validation_data=None):
        """Statistical initialisation, then ``max_epochs`` of gradient training.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
            Training pixels (unlabelled).
        y : ignored
        validation_data : tuple (X_valid, mask_valid) or None
            Held-out cube(s) and their boolean anomaly masks. When given, the
            epoch with the best ``validation_metric`` is kept.

        Returns
        -------
        self
        """
        return self._fit(X, y, validation_data=validation_data)

    # -- the node contract (skhsi._node.TorchNode) ---------------------------------
    def _fit_statistics(self, pixels, y=None):
        self.module_ = self._build_module(make_generator(self._seeds[0]))
        init_center(self.module_, pixels, batch_size=self.batch_size, device=self._device())
        self._set_radius_from(pixels)
        return self

    def _build_module(self, generator=None):
        return build_deep_svdd(
            self.n_features_in_, hidden=self.hidden, rep_dim=self.rep_dim, kernel=self.kernel,
            n_rff=self.n_rff, gamma=self.gamma, alpha=self.alpha, generator=generator,
        ).eval()

    def _set_radius_from(self, pixels):
        dist = self._distances(pixels)
        set_radius(self.module_, np.sqrt(np.quantile(dist, 1.0 - self.nu)))
        return dist

    def _finish_fit(self, pixels):
        if self.objective == "one-class":
            dist = self._set_radius_from(pixels)
        else:
            dist = self._distances(pixels)
        self.center_ = as_numpy(self.module_.tracker.center).astype(np.float64)
        self.radius_ = float(abs(self.module_.scores.radius.item()))
        self._set_offset(dist)
        return self

    def _training_subset(self, X, y, seed):
        if self.max_samples is None or X.shape[0] <= self.max_samples:
            return X, y
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(X.shape[0], self.max_samples, replace=False))
        return X[rows], (None if y is None else y[rows])

    def _make_criterion(self):
        return DeepSVDDSoftBoundaryLoss(nu=self.nu, objective=self.objective)

    def _extra_callbacks(self):
        quantile = 1.0 - self.nu if self.objective == "one-class" else None
        return [("sphere", SphereMonitor(quantile))]

    def _validation(self, validation_data, X_valid=None):
        """``(pixels, metric, name)`` for skorch from ``(X_valid, mask_valid)``.

        ``X_valid`` replaces the validation cube's pixels when a pipeline has
        already brought them to the input of its trained chain.
        """
        if validation_data is None:
            return None
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError("validation_data must be a pair (X_valid, mask_valid); got "
                             f"{type(validation_data).__name__}.")
        cube, mask = validation_data
        pixels, lead = as_pixels(cube)
        if X_valid is None:
            pixels, _ = self._validate_spectral(pixels, reset=False)
        else:
            pixels = X_valid
        metric = validation_metric(self.validation_metric, mask, lead, self.contamination,
                                   n_pixels=pixels.shape[0])
        return pixels, metric, self.validation_metric, lead

    # -- scoring --------------------------------------------------------------------
    def _distances(self, pixels):
        return apply_module(self.module_, pixels, batch_size=self.batch_size,
                            device=self._inference_device(), precision=self.precision,
                            progress=bool(self.verbose)).astype(np.float64)

    def _anomaly_scores(self, pixels):
        check_is_fitted(self, "offset_")
        return self._distances(pixels)

