"""The base of every node with weights: one fit sequence, persistence, a sample layout.

:class:`TorchNode` owns what every node with trainable weights does the same
way, so that a node only says what is its own:

- the **fit sequence**: parameter validation (``_fit_context`` in ``fit``,
  ``_validate_params`` when a pipeline calls ``_fit_phase1``), input
  validation, seeds drawn from ``random_state``, the reset of the fitted
  training state (``net_``, ``history_``), phase 1 (``_fit_statistics``),
  phase 2 through skorch when ``max_epochs > 0`` (``_fit_gradient``) and the
  final statistics (``_finish_fit``);
- **persistence**: ``_build_module()`` rebuilds an untrained module of the
  fitted sizes, into which :func:`skhsi.persistence.load_weights` loads the
  saved parameters, then ``_restore()`` recomputes what is derived;
- the declared **sample layout** (``sample_layout``) that the pipeline, the
  trainer, inference, model files and dask scoring read.

A subclass implements ``_fit_statistics(X, y)``, ``_build_module(generator)``,
``_make_criterion()`` and ``fit`` (a one-line call of ``_fit`` with its own
docstring), and overrides the optional hooks when it needs them; see
``docs/development.rst`` for the recipe.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from sklearn.utils.validation import check_is_fitted, validate_data

from ._checks import check_finite_values
from .base import ModuleStepMixin, SpatialReach, SpectralMixin, as_pixels
from .nn import _patches, _train
from .nn._patches import apply_patch_module
from .nn._tiles import apply_image_module

__all__ = ["TorchNode", "TRAINING_PARAMETER_CONSTRAINTS"]

#: ``_parameter_constraints`` of the flat skorch training parameters.
TRAINING_PARAMETER_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 0, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "optimizer": [StrOptions(set(_train.OPTIMIZERS)), callable],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "l1": [Interval(Real, 0, None, closed="left")],
    "l2": [Interval(Real, 0, None, closed="left")],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
    "lr_schedule": [StrOptions({"plateau"}), None],
    "callbacks": [list, None],
    "tensorboard_dir": [str, os.PathLike, None],
    "verbose": ["verbose"],
    "device": [str, torch.device],
    "precision": [StrOptions({"float32", "bfloat16"})],
    "random_state": ["random_state"],
}


class TorchNode(ModuleStepMixin, SpectralMixin):
    """Base class of the nodes with trainable weights (see the module docstring).

    Class attributes
    ----------------
    sample_layout : {"pixel", "patch", "image"}
        What one sample is; ``"pixel"`` for the spectral nodes.
    _module_attribute : str or None
        The fitted attribute holding the node's torch module (``"module_"``);
        model files save its ``state_dict`` and rebuild it with
        ``_build_module()``. ``None`` when the fitted state is all arrays.
    """

    _training_parameter_constraints = TRAINING_PARAMETER_CONSTRAINTS
    _module_attribute = "module_"

    # -- the fit sequence -----------------------------------------------------------
    def _fit(self, X, y=None, *, validation_data=None):
        """Phase 1, then phase 2 when ``max_epochs > 0``, then ``_finish_fit``.

        Called by the subclass's ``fit`` (decorated with ``_fit_context``,
        which has validated the parameters).
        """
        if self.max_epochs > 0:
            self._device()  # an unknown or missing device fails before any work
        X_train, y_train = self._start_fit(X, y)
        if self.max_epochs > 0:
            self._fit_gradient(X_train, y_train, seed=self._phase2_seed(),
                               validation=self._validation(validation_data))
        elif validation_data is not None:
            self._validation(validation_data)  # still checked
        self._finish_fit(X_train)
        return self

    def _fit_phase1(self, X, y=None):
        """Phase 1 only: what a :class:`~skhsi.pipeline.Pipeline` calls on its head
        and on its trainable steps before it trains the chain."""
        self._validate_params()
        self._start_fit(X, y)
        return self

    def _start_fit(self, X, y):
        if self.sample_layout == "pixel":
            data, lead = self._validate_spectral(X, reset=True)
            targets = self._targets(y, lead, data.shape[0])
        else:
            data, _ = self._validate_images(X, reset=True)
            targets = self._targets(y, None, None)
        self._seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=3)
        self.net_ = None
        self.history_ = []
        self._fit_statistics(data, targets)
        return data, targets

    def _training_input(self, X):
        """``X`` as phase 2 trains on it: a pixel table, or a list of cubes (image layout)."""
        if self.sample_layout == "pixel":
            return np.asarray(as_pixels(X)[0])
        return self._split_images(X)[0]

    # -- image-layout input --------------------------------------------------------
    def _validate_images(self, X, *, reset):
        """Validated cubes of an image-layout node, and how to give results back.

        ``X`` is one cube ``(H, W, C)``, a batch ``(N, H, W, C)`` or a list of
        cubes of different sizes. A pixel table is refused: the node needs the
        spatial neighbours of every pixel.

        In ``fit`` (``reset=True``) every value is validated by scikit-learn.
        For scoring, the band count and dtype are checked here and the values
        (NaN, infinity) by the tiled inference as it reads each tile, so that
        a memory-mapped cube is never read whole just to be validated.

        Returns
        -------
        cubes : list of ndarray (H, W, C), float32 or float64
        kind : {"cube", "batch", "list"}
        """
        items, kind = self._split_images(X)
        if not reset:  # scoring: checked here by shape and dtype, tile by tile for values
            return [_check_scoring_cube(self, item) for item in items], kind
        cubes = []
        for i, item in enumerate(items):
            pixels = validate_data(self, np.asarray(item).reshape(-1, item.shape[-1]),
                                   reset=i == 0, dtype=[np.float64, np.float32])
            check_finite_values(pixels, type(self).__name__)
            cubes.append(pixels.reshape(item.shape[:2] + (pixels.shape[1],)))
        return cubes, kind

    def _split_images(self, X):
        """The cubes of ``X`` (unvalidated) and the kind of container they came in."""
        if isinstance(X, (list, tuple)):
            items, kind = list(X), "list"
            if not items:
                raise ValueError(f"{type(self).__name__} got an empty list of cubes.")
        else:
            arr = X if hasattr(X, "ndim") else np.asarray(X)
            if arr.ndim == 3:
                items, kind = [arr], "cube"
            elif arr.ndim == 4:
                items, kind = list(arr), "batch"
            else:
                raise ValueError(
                    f"{type(self).__name__} works on images (sample_layout="
                    f"{self.sample_layout!r}): expected a cube (H, W, C), a batch of cubes "
                    f"(N, H, W, C) or a list of cubes; got a {arr.ndim}-D array of shape "
                    f"{arr.shape}. A pixel table has no spatial neighbours."
                )
        cubes = []
        for i, item in enumerate(items):
            item = item if hasattr(item, "ndim") else np.asarray(item)
            if item.ndim != 3:
                raise ValueError(
                    f"{type(self).__name__} expects cubes (H, W, C); item {i} has shape "
                    f"{np.shape(item)}."
                )
            cubes.append(item)
        return cubes, kind

    # -- spatial inference ------------------------------------------------------------
    def _spatial_reach(self):
        """The node's :class:`~skhsi.base.SpatialReach`, read from its layout.

        Image nodes read it from their module (``receptive_radius``, rounded
        up to ``size_multiple``, the grid their pooling needs); patch nodes
        reach ``patch_size // 2``; pixel nodes reach nothing. Tiled inference,
        serving and dask scoring use it.
        """
        if self.sample_layout == "pixel":
            return SpatialReach()
        if self.sample_layout == "patch":
            return SpatialReach(self.patch_size // 2)
        module = self.module_
        multiple = module.size_multiple
        return SpatialReach(-(-module.receptive_radius // multiple) * multiple, multiple)

    def _map_cubes(self, module, cubes, batch_size):
        """Outputs of ``module`` over each cube by the node's layout, in flat memory.

        ``"image"``: overlapping tiles of ``tile_size`` with the halo of
        :meth:`_spatial_reach`; ``"patch"``: the window of every pixel,
        ``batch_size`` windows at a time.
        """
        device, precision = self._inference_device(), self.precision
        if self.sample_layout == "patch":
            return [apply_patch_module(module, cube, size=self.patch_size,
                                       batch_size=batch_size, device=device,
                                       precision=precision) for cube in cubes]
        halo, multiple, _ = self._spatial_reach()
        return [apply_image_module(module, cube, tile=self.tile_size, halo=halo,
                                   multiple=multiple, device=device, precision=precision)
                for cube in cubes]

    def _patch_samples(self, cubes, targets=None, *, seed, max_samples=None):
        """Training windows of a patch node: every pixel's, or ``max_samples`` drawn at random.

        ``targets`` is a list of per-cube maps (or None); pixels whose target
        is negative are left out (a label of -1 marks an unlabelled pixel).
        """
        positions, values = [], []
        for i, cube in enumerate(cubes):
            rows, cols = np.meshgrid(np.arange(cube.shape[0]), np.arange(cube.shape[1]),
                                     indexing="ij")
            keep = np.ones(rows.shape, dtype=bool) if targets is None else targets[i] >= 0
            positions.append(np.column_stack([np.full(keep.sum(), i), rows[keep], cols[keep]]))
            if targets is not None:
                values.append(targets[i][keep])
        positions = np.concatenate(positions)
        values = None if targets is None else np.concatenate(values)
        if max_samples is not None and len(positions) > max_samples:
            rows = np.sort(np.random.default_rng(seed).choice(len(positions), max_samples,
                                                              replace=False))
            positions = positions[rows]
            values = None if values is None else values[rows]
        return _patches.PatchSamples(cubes, self.patch_size, positions, values)

    @staticmethod
    def _images_back(maps, kind):
        """Per-cube results in the shape the input came in."""
        if kind == "cube":
            return maps[0]
        if kind == "batch":
            return np.stack(maps)
        return maps

    def _phase2_seed(self):
        """Seed of phase 2's shuffling (the second of the three drawn seeds)."""
        return self._seeds[1]

    # -- hooks a node may override ---------------------------------------------------
    def _targets(self, y, leading_shape, n_samples):
        """What the node trains on besides ``X``; unsupervised nodes ignore ``y``."""
        return None

    def _fit_statistics(self, X, y):  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    def _build_module(self, generator=None):  # pragma: no cover - every subclass
        raise NotImplementedError

    def _make_criterion(self):  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    def _objective(self, y):
        """What phase 2 trains: ``(module, targets)``.

        ``module``'s ``objective_inputs`` (or output) feed the criterion with
        ``targets``; the default trains ``module_`` on ``y`` as given. A node
        whose objective wraps its module (a decoder for reconstruction, a
        classifier head) or encodes its targets returns those instead.
        """
        return self.module_, y

    def _trained(self, objective):
        """After phase 2: keep what training changed (``objective`` is the trained module)."""
        return self

    def _extra_callbacks(self):
        """Node-specific skorch callbacks, as ``(name, callback)`` pairs."""
        return []

    def _training_subset(self, X, y, seed):
        """The samples phase 2 trains on; all of them unless a node caps them."""
        return X, y

    def _validation(self, validation_data, X_valid=None):
        """``(X, metric, name[, leading_shape])`` for the trainer, or ``None``.

        Nodes without a validation metric refuse ``validation_data``.
        """
        if validation_data is not None:
            raise ValueError(f"{type(self).__name__} takes no validation_data.")
        return None

    def _finish_fit(self, X):
        """After training: statistics that depend on the trained weights (by default, the
        attributes that mirror them, :meth:`_sync`)."""
        self._sync()
        return self

    def _restore(self):
        """After :func:`skhsi.persistence.load_weights`: the attributes that mirror the
        loaded weights."""
        self._sync()
        return self

    def _sync(self):
        """Set the public attributes that mirror the module's weights (none by default)."""

    def _as_module(self):
        """The node's own trained module (nodes that build a new one override this)."""
        check_is_fitted(self)
        return self.module_

    # -- phase 2 ---------------------------------------------------------------------
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
            l1=self.l1,
            l2=self.l2,
            patience=self.patience,
            lr_schedule=self.lr_schedule,
            callbacks=self.callbacks,
            tensorboard_dir=self.tensorboard_dir,
            verbose=self.verbose,
            device=self._device(),
            precision=self.precision,
        )

    def _fit_gradient(self, X, y=None, *, prefix=(), seed=0, validation=None):
        """Phase 2: train ``prefix`` + this node's objective module on ``X``."""
        X, y = self._training_subset(X, y, seed)
        objective, targets = self._objective(y)
        self.net_ = _train.fit_objective(
            list(prefix),
            objective,
            self._make_criterion(),
            X,
            targets,
            seed=seed,
            validation=validation,
            extra_callbacks=self._extra_callbacks(),
            **self._training_kwargs(),
        )
        self.history_ = _train.history_as_list(self.net_)
        self._trained(objective)
        return self


def _check_scoring_cube(estimator, cube):
    """A cube to score: numeric, with the band count seen in ``fit`` (values: per tile)."""
    check_is_fitted(estimator)
    name = type(estimator).__name__
    if cube.shape[-1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {cube.shape[-1]} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    dtype = np.asarray(cube[:0, :0]).dtype
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
        raise ValueError(f"{name} expects real numeric cubes; got dtype {dtype}.")
    if 0 in cube.shape:
        raise ValueError(f"{name} got an empty cube of shape {cube.shape}.")
    return cube
