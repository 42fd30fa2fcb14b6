"""PCA with scikit-learn's SVD as initialisation and optional gradient fine-tuning."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._node import TorchNode
from ..base import as_pixels, restore_shape
from ..nn import BestReconstruction, PCAProjection, ReconstructionOrthogonalityLoss, as_numpy


def whitening_scale(explained_variance, eps):
    """What whitened components are divided by: ``sqrt(max(variance, eps))``."""
    return np.sqrt(np.maximum(explained_variance, eps))


class TrainablePCA(TorchNode, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                   BaseEstimator):
    """Principal component analysis per pixel, optionally fine-tuned by gradient.

    Read more in the :ref:`User Guide <band_selection>`.

    Phase 1 (always) is scikit-learn's :class:`~sklearn.decomposition.PCA`
    (exact solver, float64, scikit-learn's sign convention from
    ``svd_flip``): without fine-tuning, ``transform`` equals
    ``PCA(n_components, whiten=whiten).fit(X).transform(X)``. With
    ``init_method="random"`` the components are instead a random orthonormal
    basis, and the variance attributes describe the data along it.

    Phase 2 (``max_epochs > 0``) trains the components through a skorch
    ``NeuralNet`` against the reconstruction error
    ``mean((x_hat - x)^2) + orthogonality * ||W W^T - I||_F^2`` with
    ``x_hat = (x - mean_) W^T W + mean_``. The reconstruction error of every
    epoch is measured on the training pixels and the best weights are kept,
    the initial ones when no epoch beats them, so fine-tuning never leaves the
    model worse than its initialisation (``best_epoch_``, ``history_``). From
    the SVD on the training pixels there is nothing to gain by construction
    (Eckart-Young); fine-tuning pays off from ``init_method="random"`` or end
    to end in :class:`skhsi.pipeline.Pipeline`: with ``trainable=True`` in
    front of a node with weights (e.g. :class:`~skhsi.anomaly.DeepSVDD`) the
    components are trained against that node's objective, and as the final
    step the pipeline's trainable steps are trained against this
    reconstruction error (a trainable step in front can lower it trivially,
    e.g. by shrinking its output; freeze such steps).

    ``mean_`` and the whitening divisors ``sqrt(explained_variance_)`` stay
    at their phase-1 values; fine-tuning changes ``components_`` only.

    Parameters
    ----------
    n_components : int, default=10
        Number of components; at most the number of bands and of pixels.
    whiten : bool, default=False
        Divide each coordinate by ``sqrt(explained_variance_)`` (unit variance).
    init_method : {"svd", "random"}, default="svd"
        Phase-1 components: the leading right singular vectors, or a random
        orthonormal basis drawn from ``random_state``.
    eps : float, default=1e-6
        Smallest explained variance divided by when whitening.
    trainable : bool, default=False
        Whether end-to-end training in :class:`skhsi.pipeline.Pipeline` may
        update the components when this node is not the final step.
    orthogonality : float, default=1.0
        Weight of the orthogonality penalty in phase 2 alone.
    max_epochs : int, default=0
        Epochs of phase 2; 0 keeps the phase-1 components.
    lr : float, default=1e-3
        Learning rate of phase 2's optimizer.
    batch_size : int, default=1024
        Training batch size.
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        Phase 2's optimizer, by name or as a torch optimizer class.
    weight_decay : float, default=0.0
        Weight decay passed to the optimizer.
    l1, l2 : float, default=0.0
        Penalties on the weights added to the training loss (both: the elastic net).
    patience : int or None, default=None
        Stop when the training loss has not improved for this many epochs.
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
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where training and inference run; ``"auto"`` picks CUDA when available.
        The fitted model is kept on the CPU, so it loads anywhere.
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"`` fine-tunes with automatic mixed precision.
    random_state : int, RandomState instance or None, default=None
        Seeds the random initialisation and the order of training pixels.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features_in_,)
    components_ : ndarray of shape (n_components_, n_features_in_)
    explained_variance_ : ndarray of shape (n_components_,)
        Variance of the training pixels along each phase-1 component (``ddof=1``).
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        ``explained_variance_`` as a fraction of the total variance of all
        bands, as in scikit-learn (sums to at most 1).
    singular_values_ : ndarray of shape (n_components_,)
    noise_variance_ : float
        Mean variance of the discarded directions (scikit-learn's definition).
    n_components_ : int
    net_ : skorch.NeuralNet or None
        The phase-2 net (``None`` without fine-tuning).
    history_ : list of dict
        Per epoch: ``train_loss``, ``reconstruction_mse`` on the training
        pixels and ``reconstruction_mse_best``.
    best_epoch_ : int
        Epoch whose weights were kept; 0 = the initialisation.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from skhsi.decomposition import TrainablePCA
    >>> cube = np.random.default_rng(0).normal(size=(20, 30, 8))
    >>> pca = TrainablePCA(3).fit(cube)
    >>> pca.transform(cube).shape
    (20, 30, 3)
    >>> reference = PCA(3).fit_transform(cube.reshape(-1, 8))
    >>> bool(np.allclose(pca.transform(cube).reshape(-1, 3), reference))
    True
    >>> tuned = TrainablePCA(3, max_epochs=2, device="cpu", random_state=0).fit(cube)
    >>> tuned.best_epoch_  # no epoch beats the SVD on the training pixels
    0
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "whiten": ["boolean"],
        "init_method": [StrOptions({"svd", "random"})],
        "eps": [Interval(Real, 0, None, closed="left")],
        "trainable": ["boolean"],
        "orthogonality": [Interval(Real, 0, None, closed="left")],
        **TorchNode._training_parameter_constraints,
    }

    def __init__(self, n_components=10, *, whiten=False, init_method="svd", eps=1e-6,
                 trainable=False, orthogonality=1.0, max_epochs=0, lr=1e-3, batch_size=1024,
                 optimizer="adam", weight_decay=0.0, l1=0.0, l2=0.0, patience=None,
                 lr_schedule=None, callbacks=None, tensorboard_dir=None, verbose=0,
                 device="auto", precision="float32", random_state=None):
        self.n_components = n_components
        self.whiten = whiten
        self.init_method = init_method
        self.eps = eps
        self.trainable = trainable
        self.orthogonality = orthogonality
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
        """Phase 1 (PCA), then ``max_epochs`` of reconstruction fine-tuning.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored

        Returns
        -------
        self
        """
        return self._fit(X, y)

    # -- the node contract (skhsi._node.TorchNode) ---------------------------------
    _module_attribute = None  # the state is components_ and mean_

    def _fit_statistics(self, pixels, y=None):
        n_samples, n_features = pixels.shape
        k = self.n_components
        if k > n_features:
            raise ValueError(
                f"n_components={k} must be at most the number of bands "
                f"(n_features={n_features})."
            )
        if k > n_samples:
            raise ValueError(
                f"n_components={k} must be at most the number of pixels (n_samples={n_samples})."
            )
        data = np.asarray(pixels, dtype=np.float64)
        solver = "covariance_eigh" if n_samples >= n_features else "full"
        pca = PCA(n_components=k, svd_solver=solver).fit(data)
        self.mean_ = pca.mean_
        self.n_components_ = int(pca.n_components_)
        self.noise_variance_ = float(pca.noise_variance_)
        if self.init_method == "svd":
            self.components_ = np.ascontiguousarray(pca.components_)
            self.explained_variance_ = pca.explained_variance_
            self.explained_variance_ratio_ = pca.explained_variance_ratio_
            self.singular_values_ = pca.singular_values_
        else:
            rng = np.random.default_rng(self._seeds[0])
            basis, _ = np.linalg.qr(rng.standard_normal((n_features, k)))
            self.components_ = np.ascontiguousarray(basis.T)
            projected = (data - self.mean_) @ self.components_.T
            ddof = 1 if n_samples > 1 else 0
            self.explained_variance_ = projected.var(axis=0, ddof=ddof)
            total = data.var(axis=0, ddof=ddof).sum()
            self.explained_variance_ratio_ = (self.explained_variance_ / total if total > 0
                                              else np.zeros(k))
            self.singular_values_ = np.sqrt(self.explained_variance_ * max(n_samples - 1, 1))
        self.best_epoch_ = 0
        return self

    def _build_module(self, generator=None):
        return self._as_module()

    def _objective(self, y):
        return self._as_module(), None

    def _trained(self, objective):
        self._from_module(objective)
        self.best_epoch_ = int(dict(self.net_.callbacks_)["best_reconstruction"].best_epoch_)
        return self

    def _make_criterion(self):
        return ReconstructionOrthogonalityLoss(self.orthogonality)

    def _extra_callbacks(self):
        return [("best_reconstruction", BestReconstruction())]

    def _whitening_scale(self):
        return whitening_scale(self.explained_variance_, self.eps)

    def _as_module(self):
        check_is_fitted(self)
        scale = self._whitening_scale() if self.whiten else None
        return PCAProjection(self.mean_, self.components_, scale)

    def _from_module(self, module):
        self.components_ = as_numpy(module.components).astype(np.float64)

    # -- transformer API ------------------------------------------------------------
    @property
    def _n_features_out(self):
        return self.n_components_

    def transform(self, X):
        """Project onto the components, keeping the leading shape.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (..., n_components_), the float dtype of ``X``
        """
        pixels, lead = self._check_spectral(X)
        out = (pixels - self.mean_) @ self.components_.T
        if self.whiten:
            out /= self._whitening_scale()
        return restore_shape(out.astype(pixels.dtype, copy=False), lead)

    def inverse_transform(self, X):
        """Map coordinates back to spectra: ``X @ components_ + mean_`` (un-whitened).

        Parameters
        ----------
        X : array-like of shape (n, n_components_), (H, W, n_components_) or
            (N, H, W, n_components_)

        Returns
        -------
        ndarray of shape (..., n_features_in_)
        """
        check_is_fitted(self)
        Z, lead = as_pixels(X)
        Z = np.asarray(Z, dtype=np.float64)
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"inverse_transform expects {self.n_components_} components per pixel; "
                f"got {Z.shape[1]}."
            )
        if self.whiten:
            Z = Z * self._whitening_scale()
        return restore_shape(Z @ self.components_ + self.mean_, lead)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
