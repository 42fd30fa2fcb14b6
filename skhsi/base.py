"""Shared machinery of skhsi's nodes: shapes, validation and two-phase fitting.

Every node accepts a pixel table ``(n_pixels, n_bands)``, a cube
``(H, W, n_bands)`` or a batch of cubes ``(N, H, W, n_bands)``. Input is
flattened to a pixel table, validated by scikit-learn's ``validate_data`` and
the result is reshaped back to the input's leading shape. The 2-D path is
plain scikit-learn.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .nn import _train

__all__ = [
    "as_pixels",
    "restore_shape",
    "SpectralMixin",
    "TorchTrainingMixin",
]

_SHAPES = "a pixel table (n_pixels, n_bands), a cube (H, W, n_bands) or a batch of cubes (N, H, W, n_bands)"


def as_pixels(X):
    """Split ``X`` into a pixel table and its leading shape.

    Parameters
    ----------
    X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)

    Returns
    -------
    pixels : ndarray of shape (n_pixels, C)
    leading_shape : tuple
        ``X.shape[:-1]``; ``restore_shape`` puts it back.

    Examples
    --------
    >>> import numpy as np
    >>> pixels, lead = as_pixels(np.zeros((4, 5, 3)))
    >>> pixels.shape, lead
    ((20, 3), (4, 5))
    """
    if sparse.issparse(X):
        raise TypeError(
            f"Sparse input is not supported: expected {_SHAPES} as a dense array, "
            f"got {type(X).__name__}; convert it with X.toarray()."
        )
    if not (hasattr(X, "__array__") or isinstance(X, (list, tuple))):
        raise TypeError(f"Expected {_SHAPES} as an array, got {type(X).__name__}.")
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        X = np.asarray(X)
        ndim = X.ndim
    if ndim == 2:
        return X, None
    if ndim not in (3, 4):
        shape = np.shape(X)
        raise ValueError(
            f"Expected {_SHAPES}; got a {ndim}-D array of shape {shape}. "
            "Reshape your data: a single spectrum is X.reshape(1, -1)."
        )
    X = np.asarray(X)
    return X.reshape(-1, X.shape[-1]), X.shape[:-1]


def restore_shape(values, leading_shape):
    """Reshape per-pixel ``values`` to ``leading_shape`` (+ trailing dims)."""
    if leading_shape is None:
        return values
    return values.reshape(tuple(leading_shape) + values.shape[1:])


class SpectralMixin:
    """Validation of pixel tables, cubes and batches of cubes.

    ``_validate_spectral`` returns a validated float pixel table and the
    leading shape; ``_check_spectral`` does the same for a fitted estimator,
    checking the band count learned in ``fit``.
    """

    def _validate_spectral(self, X, *, reset, dtype=None):
        pixels, lead = as_pixels(X)
        dtype = [np.float64, np.float32] if dtype is None else dtype
        pixels = validate_data(self, pixels, reset=reset, dtype=dtype)
        return pixels, lead

    def _check_spectral(self, X, dtype=None):
        check_is_fitted(self)
        return self._validate_spectral(X, reset=False, dtype=dtype)


class TorchTrainingMixin:
    """Flat skorch training parameters shared by every node with weights.

    A node using it implements ``_objective_module()`` (the torch module whose
    ``objective_inputs`` feed the criterion), ``_make_criterion()`` and may add
    callbacks through ``_extra_callbacks()``. ``_fit_gradient`` runs phase 2
    through a skorch ``NeuralNet`` held in ``net_``; ``prefix`` holds the torch
    modules of the pipeline steps in front of the node (empty when the node is
    fitted alone).
    """

    _training_parameter_constraints = {
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [StrOptions(set(_train.OPTIMIZERS)), callable],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "lr_schedule": [StrOptions({"plateau"}), None],
        "callbacks": [list, None],
        "tensorboard_dir": [str, os.PathLike, None],
        "verbose": ["verbose"],
        "device": [str],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "random_state": ["random_state"],
    }

    def _device(self):
        return _train.resolve_device(self.device)

    def _inference_device(self):
        """The device for scoring: ``device``, or the CPU when CUDA is gone.

        A model trained with ``device="cuda"`` and loaded on a machine without
        CUDA still predicts (on the CPU, with a warning); training there is an
        error instead.
        """
        try:
            return self._device()
        except ValueError:
            warnings.warn(
                f"device={self.device!r} is not available here; scoring on the CPU.",
                RuntimeWarning, stacklevel=3,
            )
            return "cpu"

    def _training_kwargs(self):
        return dict(
            max_epochs=self.max_epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            weight_decay=self.weight_decay,
            patience=self.patience,
            lr_schedule=self.lr_schedule,
            callbacks=self.callbacks,
            tensorboard_dir=self.tensorboard_dir,
            verbose=self.verbose,
            device=self._device(),
            precision=self.precision,
        )

    def _extra_callbacks(self):
        return []

    def _training_subset(self, X, y, seed):
        """The pixels phase 2 trains on; all of them unless a node caps them."""
        return X, y

    def _fit_gradient(self, X, y=None, *, prefix=(), seed=0, validation=None):
        """Phase 2: train ``prefix`` + this node's module on ``X`` (pixels)."""
        X, y = self._training_subset(X, y, seed)
        self.net_ = _train.fit_objective(
            list(prefix),
            self._objective_module(),
            self._make_criterion(),
            X,
            y,
            seed=seed,
            validation=validation,
            extra_callbacks=self._extra_callbacks(),
            **self._training_kwargs(),
        )
        self.history_ = _train.history_as_list(self.net_)
        return self
