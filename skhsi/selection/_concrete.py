"""Band selection by a concrete autoencoder (Abid et al., ICML 2019)."""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._node import TorchNode
from ..base import restore_shape
from ..nn import ConcreteAutoencoder, ConcreteLoss, ConcreteSelect, as_numpy, make_generator
from ..preprocessing._selector import BandSelectorMixin
from ..preprocessing._wavelengths import check_wavelengths


class ConcreteBandSelector(TorchNode, BandSelectorMixin, TransformerMixin,
                           BaseEstimator):
    """Select ``n_bands`` bands with a concrete autoencoder (Abid et al., ICML 2019).

    Read more in the :ref:`User Guide <band_selection>`.

    A selection layer holds logits of shape ``(n_bands, C)``; during training
    each of its rows draws a Gumbel-softmax sample at temperature ``tau``, a
    soft one-hot vector over the bands, and a linear decoder reconstructs all
    ``C`` bands from the ``n_bands`` mixtures (mean squared error). ``tau``
    decays exponentially from ``tau_start`` (first epoch) to ``tau_end``
    (last epoch), so the samples harden into a choice of single bands. At
    inference each row keeps its most probable band.

    ``fit`` runs two phases. Phase 1: uniform logits (zeros plus Gaussian
    noise of scale 0.01 from ``random_state``, so that the initial choice is a
    seeded random set of bands). Phase 2 (``max_epochs > 0``): the concrete
    autoencoder above, trained through skorch.

    In a :class:`skhsi.pipeline.Pipeline`, a ``trainable=True`` selector is
    only initialised in phase 1 and then trained against the final step's
    objective (relaxed in training mode, hard in evaluation), with ``tau``
    annealed over the pipeline's epochs; the distinctness penalty then does
    not apply, the final resolution below does. A frozen selector
    (``trainable=False``) is fitted as when alone and then kept fixed.

    **Distinct bands.** Two rows choosing the same band waste a slot. The
    training loss adds ``distinctness`` times the mean off-diagonal of
    ``P P^T`` (``P = softmax(logits)``, one row per selected band), which is 0
    for rows on different bands and stays finite for one-hot rows. At the
    end, the choice is made distinct in any case: rows are served in
    decreasing order of their top probability, each taking its best band not
    already taken (a colliding row gets its next-best distinct band).

    **Order.** ``selected_bands_`` lists the bands in the order of the
    selection rows, and ``transform`` returns the bands in that order (which
    is the order a trained downstream step expects). ``get_support`` is
    scikit-learn's unordered mask; ``inverse_transform`` puts every column
    back at its band.

    Parameters
    ----------
    n_bands : int, default=3
        Number of bands to select (at most the band count).
    tau_start : float, default=10.0
        Temperature of the first training epoch.
    tau_end : float, default=0.1
        Temperature of the last training epoch.
    max_epochs : int, default=50
        Epochs of phase 2 when fitted alone; 0 keeps the random initial choice.
    use_hard_inference : bool, default=True
        ``transform`` picks the selected bands. With False it returns the
        mixtures ``X @ selection_weights_.T`` instead (soft selection).
    wavelengths : array-like of shape (C,) or None, default=None
        Band centres in nm (strictly increasing) for ``selected_wavelengths_``
        and the ``"<w>nm"`` feature names.
    distinctness : float, default=1.0
        Weight of the distinctness penalty; 0 switches it off.
    trainable : bool, default=False
        Whether end-to-end training in a :class:`~skhsi.pipeline.Pipeline`
        updates the selection (see above).
    lr : float, default=2e-2
        The logits move by about ``lr`` per step: the default is larger, and
        the batches smaller, than the other nodes' so that a selection forms
        within tens of epochs.
    batch_size : int, default=256
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
        Seeds the logit noise, the Gumbel noise, the decoder and the order of
        training pixels: the same value selects the same bands on CPU.

    Attributes
    ----------
    module_ : skhsi.nn.ConcreteSelect
    selected_bands_ : ndarray of int, shape (n_bands,)
        Chosen band indices, in output order.
    selected_wavelengths_ : ndarray of shape (n_bands,) or None
    wavelengths_out_ : ndarray of shape (n_bands,) or None
        Same as ``selected_wavelengths_`` (the name every band-dropping node uses).
    selection_weights_ : ndarray of shape (n_bands, C)
        ``softmax(logits / tau_)``: each row's probabilities over the bands.
    tau_ : float
        Temperature reached at the end of training.
    net_ : skorch.NeuralNet or None
    history_ : list of dict
    wavelengths_in_ : ndarray of shape (n_features_in_,) or None
        The input's band wavelengths when they came with the data (a
        ``wavelength`` coordinate) rather than as a parameter.
    n_features_in_ : int

    See Also
    --------
    BandSampler : Bands chosen without training.
    LearnableChannelMixer : Mixing bands instead of choosing them.

    References
    ----------
    .. [1] A. Abid, M. F. Balin, J. Zou, "Concrete autoencoders: differentiable
       feature selection and reconstruction", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.selection import ConcreteBandSelector
    >>> rng = np.random.default_rng(0)
    >>> cube = rng.normal(size=(12, 12, 10))
    >>> sel = ConcreteBandSelector(n_bands=3, max_epochs=5, random_state=0, device="cpu",
    ...                            wavelengths=np.arange(400, 500, 10))
    >>> sel.fit_transform(cube).shape
    (12, 12, 3)
    >>> len(set(sel.selected_bands_.tolist()))
    3
    >>> sel.get_feature_names_out().shape
    (3,)
    """

    _parameter_constraints = {
        "n_bands": [Interval(Integral, 1, None, closed="left")],
        "tau_start": [Interval(Real, 0, None, closed="neither")],
        "tau_end": [Interval(Real, 0, None, closed="neither")],
        "use_hard_inference": ["boolean"],
        "wavelengths": ["array-like", None],
        "distinctness": [Interval(Real, 0, None, closed="left")],
        "trainable": ["boolean"],
        **TorchNode._training_parameter_constraints,
    }

    def __init__(self, n_bands=3, *, tau_start=10.0, tau_end=0.1, max_epochs=50,
                 use_hard_inference=True, wavelengths=None, distinctness=1.0,
                 trainable=False, lr=2e-2, batch_size=256, optimizer="adam",
                 weight_decay=0.0, l1=0.0, l2=0.0, patience=None, lr_schedule=None, callbacks=None,
                 tensorboard_dir=None, verbose=0, device="auto", precision="float32",
                 random_state=None):
        self.n_bands = n_bands
        self.tau_start = tau_start
        self.tau_end = tau_end
        self.max_epochs = max_epochs
        self.use_hard_inference = use_hard_inference
        self.wavelengths = wavelengths
        self.distinctness = distinctness
        self.trainable = trainable
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
        """Initialise the selection, then train the concrete autoencoder.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : ignored (the objective is unsupervised)

        Returns
        -------
        self
        """
        return self._fit(X, y)

    # -- the node contract (skhsi._node.TorchNode) ---------------------------------
    def _fit_statistics(self, pixels, y=None):
        n_features = pixels.shape[1]
        if self.n_bands > n_features:
            raise ValueError(
                f"n_bands={self.n_bands} is larger than the number of bands in X "
                f"(n_features = {n_features})."
            )
        self._fit_wavelengths(n_features)
        self.module_ = self._build_module(int(self._seeds[0]))
        self._sync()
        return self

    def _build_module(self, generator=None):
        """The selection module; ``generator`` is the integer seed of its logits."""
        return ConcreteSelect(self.n_features_in_, self.n_bands, tau_start=self.tau_start,
                              tau_end=self.tau_end, seed=0 if generator is None else generator,
                              hard_inference=self.use_hard_inference).eval()

    def _objective(self, y):
        return ConcreteAutoencoder(self.module_, self.n_features_in_,
                                   generator=make_generator(self._seeds[2])), None

    def _make_criterion(self):
        return ConcreteLoss(self.distinctness)

    def _sync(self):
        wavelengths = getattr(self, "wavelengths_in_", None)
        if wavelengths is None and self.wavelengths is not None:  # files without it
            wavelengths = check_wavelengths(self.wavelengths, self.n_features_in_)
        module = self.module_
        self.selected_bands_ = as_numpy(module.hard_indices()).astype(np.intp)
        self.tau_ = float(module.tau)
        self.selection_weights_ = as_numpy(module.probabilities(module.tau)).astype(np.float64)
        self.selected_wavelengths_ = (None if wavelengths is None
                                      else wavelengths[self.selected_bands_])
        self.wavelengths_out_ = self.selected_wavelengths_

    # -- selection ------------------------------------------------------------------
    def transform(self, X):
        """Keep the selected bands (in ``selected_bands_`` order) and the leading shape.

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

        Returns
        -------
        ndarray of shape (..., n_bands)
        """
        pixels, lead = self._check_spectral(X)
        if self.use_hard_inference:
            out = pixels[:, self.selected_bands_]
        else:
            out = pixels @ self.selection_weights_.T.astype(pixels.dtype)
        return restore_shape(out, lead)

    def _as_module(self):
        check_is_fitted(self)
        return copy.deepcopy(self.module_)

    def _from_module(self, module):
        self.module_ = module
        self._sync()
