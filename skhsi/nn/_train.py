"""Phase-2 training through skorch: one ``NeuralNet`` over a chain of modules.

The chain is the torch modules of the steps in front of a node (its
*prefix*) followed by the node's own module, whose ``objective_inputs``
method produces what the criterion consumes. Every training control comes
from a skorch callback: progress bar, early stopping, learning-rate
schedules, best-model checkpoints and TensorBoard.
"""

import copy
import sys
import tempfile

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    LRScheduler,
    ProgressBar,
    TensorBoard,
)

from ._runtime import apply_module, autocast, make_generator, resolve_device
from ._tiles import ImageTiles, TileEpoch

__all__ = [
    "OPTIMIZERS",
    "EpochSchedule",
    "ObjectiveChain",
    "ScoreMapTensorBoard",
    "ValidationScoring",
    "fit_objective",
    "history_as_list",
    "resolve_device",
]

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


class ObjectiveChain(torch.nn.Module):
    """``prefix`` modules in order, then ``head``.

    ``forward`` returns ``head.objective_inputs(features)`` (what the
    criterion needs); ``score`` returns ``head(features)``.
    """

    def __init__(self, prefix, head):
        super().__init__()
        self.prefix = torch.nn.Sequential(*prefix)
        self.head = head

    def forward(self, x):
        features = self.prefix(x)
        if hasattr(self.head, "objective_inputs"):
            return self.head.objective_inputs(features)
        return self.head(features)

    def score(self, x):
        return self.head(self.prefix(x))


class _ScoreView(torch.nn.Module):
    def __init__(self, chain):
        super().__init__()
        self.chain = chain

    def forward(self, x):
        return self.chain.score(x)


class ValidationScoring(Callback):
    """Score held-out pixels after every epoch and record ``valid_<name>``.

    ``metric(outputs)`` receives the chain's outputs for ``X`` (one row per
    pixel) and returns a float, higher = better. Evaluation runs in eval mode,
    so stateful modules (the EMA centre) are not updated by it.
    """

    def __init__(self, X, metric, name="auc", batch_size=65536, image_shape=None):
        self.X = X
        self.metric = metric
        self.name = name
        self.batch_size = batch_size
        self.image_shape = image_shape

    def on_epoch_end(self, net, **kwargs):
        outputs = apply_module(
            _ScoreView(net.module_), self.X, batch_size=self.batch_size, device=net.device
        )
        self.outputs_ = outputs
        value = float(self.metric(outputs))
        key = f"valid_{self.name}"
        previous = [row[key] for row in net.history[:-1] if key in row]
        net.history.record(key, value)
        net.history.record(f"{key}_best", not previous or value > max(previous))


class _Net(NeuralNet):
    """``NeuralNet`` with mixed precision and weight penalties.

    With ``precision="bfloat16"`` the module runs in mixed precision (bfloat16
    needs no loss scaling); the loss is computed in float32 from the outputs.
    ``l1`` and ``l2`` add ``l1 * sum|w| + l2 * sum w^2`` over the trainable
    weights (tensors of two or more dimensions: linear and convolution
    kernels, not biases or norms) to the training loss; both together are
    the elastic net.
    """

    def __init__(self, *args, precision="float32", l1=0.0, l2=0.0, **kwargs):
        self.precision = precision
        self.l1 = l1
        self.l2 = l2
        super().__init__(*args, **kwargs)

    def infer(self, x, **fit_params):
        with autocast(self.device, self.precision):
            return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(_to_float32(y_pred), y_true, X=X, training=training)
        if training and (self.l1 or self.l2):
            for weight in self.module_.parameters():
                if weight.requires_grad and weight.ndim > 1:
                    if self.l1:
                        loss = loss + self.l1 * weight.abs().sum()
                    if self.l2:
                        loss = loss + self.l2 * weight.pow(2).sum()
        return loss


def _to_float32(value):
    if isinstance(value, (tuple, list)):
        return type(value)(_to_float32(v) for v in value)
    if torch.is_tensor(value) and value.is_floating_point():
        return value.float()
    return value


class EpochSchedule(Callback):
    """Call ``set_epoch(epoch, max_epochs)`` on every submodule that defines it.

    Runs at the start of each epoch (``epoch`` counts from 0), so that
    schedules such as an annealed temperature live in the modules themselves
    and work wherever the module sits in a trained chain.
    """

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history) - 1
        for module in net.module_.modules():
            if hasattr(module, "set_epoch"):
                module.set_epoch(epoch, net.max_epochs)


def _resolve_optimizer(optimizer):
    if isinstance(optimizer, str):
        return OPTIMIZERS[optimizer]
    return optimizer


def fit_objective(prefix, head, criterion, X, y=None, *, max_epochs, lr, batch_size,
                  optimizer="adam", weight_decay=0.0, patience=None, lr_schedule=None,
                  callbacks=None, tensorboard_dir=None, verbose=0, device="cpu", seed=0,
                  validation=None, extra_callbacks=(), precision="float32", l1=0.0, l2=0.0):
    """Train ``prefix`` + ``head`` against ``criterion`` with a skorch ``NeuralNet``.

    Submodules that define ``set_epoch(epoch, max_epochs)`` are told the
    epoch at its start (``EpochSchedule``). Modules are trained in place; on
    return they are back on the CPU in eval mode, and the returned net's
    ``device`` is ``"cpu"`` so that it pickles and loads on a machine without
    CUDA.

    Parameters
    ----------
    prefix : list of torch.nn.Module
        Modules of the steps in front of ``head``; parameters with
        ``requires_grad=False`` stay frozen.
    head : torch.nn.Module
        The node's module; its ``objective_inputs(features)`` output (or its
        ``forward``) is passed to ``criterion``.
    criterion : torch.nn.Module
        ``criterion(y_pred, y_true)``; ``y_true`` is a placeholder when ``y``
        is None.
    X : ndarray of shape (n_pixels, n_features), or a torch ``Dataset``
        Pixels (the ``"pixel"`` layout), the random tiles of the ``"image"``
        layout (an :class:`ImageTiles`, told the epoch at its start) or the
        windows of the ``"patch"`` layout (a ``PatchSamples``); a dataset
        yields ``(sample, target)`` pairs and ``y`` is then None.
    y : ndarray or None
    seed : int
        Seeds the shuffling of the training pixels (no global RNG is touched).
    validation : tuple (X_valid, metric, name[, image_shape]) or None
        Held-out pixels scored after every epoch; the best epoch's weights are
        restored at the end (skorch ``Checkpoint`` in a temporary directory).
        With ``image_shape`` (the leading shape of the validation cube(s)),
        TensorBoard also receives the first validation image's score map.
    extra_callbacks : list of (name, Callback)
        Node-specific monitors (e.g. the Deep SVDD radius).
    precision : {"float32", "bfloat16"}
        ``"bfloat16"`` trains with automatic mixed precision.
    l1, l2 : float
        Weight penalties added to the training loss (see ``_Net``).

    Returns
    -------
    net : skorch.NeuralNet
    """
    device = resolve_device(device)
    chain = ObjectiveChain(prefix, head)
    cbs = [("epoch_schedule", EpochSchedule())]
    if isinstance(X, ImageTiles):
        cbs.append(("tile_epoch", TileEpoch(X)))
    cbs += [(name, cb) for name, cb in extra_callbacks]
    cbs += [(f"user_{i}", copy.deepcopy(cb)) for i, cb in enumerate(callbacks or [])]
    if verbose and sys.stderr.isatty():  # tqdm's bar redraws with control characters
        cbs.append(("progress", ProgressBar()))
    if patience is not None:
        cbs.append(("early_stopping", EarlyStopping(
            monitor="train_loss", patience=patience, sink=_sink(verbose))))
    if lr_schedule == "plateau":
        cbs.append(("lr_schedule", LRScheduler(
            policy="ReduceLROnPlateau", monitor="train_loss", factor=0.5, patience=5)))
    workdir = None
    if validation is not None:
        X_valid, metric, name, *image_shape = validation
        workdir = tempfile.TemporaryDirectory(prefix="skhsi-best-")
        cbs.append(("validation", ValidationScoring(
            X_valid, metric, name, image_shape=image_shape[0] if image_shape else None)))
        cbs.append(("best", Checkpoint(
            monitor=f"valid_{name}_best", f_params="best.pt", f_optimizer=None,
            f_criterion=None, f_history=None, dirname=workdir.name, load_best=True,
            sink=_sink(verbose))))
    if tensorboard_dir is not None:
        cbs.append(("tensorboard", _tensorboard(tensorboard_dir)))
    generator = make_generator(seed)
    net = _Net(
        module=chain,
        precision=precision,
        criterion=criterion,
        optimizer=_resolve_optimizer(optimizer),
        lr=lr,
        optimizer__weight_decay=weight_decay,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        iterator_train__generator=generator,
        callbacks=cbs,
        verbose=int(verbose),
        device=device,
        torch_load_kwargs={"weights_only": True},
        l1=l1,
        l2=l2,
    )
    if not isinstance(X, torch.utils.data.Dataset):  # tiles and windows come as datasets
        X = np.ascontiguousarray(X, dtype=np.float32)
    try:
        net.fit(X, y)
    finally:
        if workdir is not None:
            workdir.cleanup()
        chain.cpu()
        chain.eval()
    # Writers, file handles and held data are not part of the fitted model.
    transient = ("tensorboard", "validation", "best", "tile_epoch")
    net.callbacks_ = [(n, cb) for n, cb in net.callbacks_ if n not in transient]
    net.callbacks = [(n, cb) for n, cb in net.callbacks if n not in transient]
    net.device = "cpu"
    return net


def history_as_list(net):
    """Per-epoch records of a skorch net, without the per-batch entries."""
    return [{k: v for k, v in row.items() if k != "batches"} for row in net.history]


def _sink(verbose):
    return print if verbose else (lambda *args, **kwargs: None)


def _tensorboard_key(key):
    if key in ("train_loss", "valid_loss"):
        return f"Loss/{key}"
    if key.startswith("valid_"):
        return f"Validation/{key[len('valid_'):]}"
    return key


class ScoreMapTensorBoard(TensorBoard):
    """skorch's TensorBoard logging, plus the first validation image's score map.

    Scalars of the history are logged every epoch (``Loss/train_loss``,
    ``radius``, ``n_outside``, ``Validation/<metric>``); when the validation
    data are images, their min-max normalised anomaly-score map is logged as
    ``validation/score_map``.
    """

    def __init__(self, writer, **kwargs):
        kwargs.setdefault("key_mapper", _tensorboard_key)
        super().__init__(writer, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        validation = dict(net.callbacks_).get("validation")
        if validation is None or validation.image_shape is None:
            return
        shape = tuple(validation.image_shape)
        if len(shape) not in (2, 3):
            return
        size = int(np.prod(shape[-2:]))
        image = np.asarray(validation.outputs_[:size], dtype=np.float64).reshape(shape[-2:])
        span = image.max() - image.min()
        image = (image - image.min()) / span if span > 0 else np.zeros_like(image)
        self.writer.add_image("validation/score_map", image,
                              global_step=net.history[-1]["epoch"], dataformats="HW")


def _tensorboard(logdir):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tensorboard_dir needs the 'tensorboard' package: pip install tensorboard"
        ) from exc
    return ScoreMapTensorBoard(SummaryWriter(log_dir=str(logdir)))
