"""Curve and bar plots: ROC, precision-recall, training history, band importance."""

import numbers

import numpy as np

from ._checks import _HIGHLIGHT, _band_axis, _check_mask, _new_axes, _numeric

_MUTED = "#8C8C8C"
_CHANCE_GID = "skhsi-chance"


def plot_band_importance(importances, *, wavelengths=None, ax=None, top_k=None):
    """Bar plot of an importance per band, the ``top_k`` largest highlighted.

    Parameters
    ----------
    importances : array-like of shape (n_bands,)
        E.g. selection probabilities or absolute mixer weights; larger = more important.
    wavelengths : array-like of shape (n_bands,), default=None
        x axis in nm; band index when ``None``.
    ax : matplotlib Axes, default=None
    top_k : int, default=None
        How many of the largest values to highlight (ties: lower band first).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from skhsi.plotting import plot_band_importance
    >>> ax = plot_band_importance([0.1, 0.7, 0.2, 0.9], top_k=2)
    >>> len(ax.patches)
    4
    """
    from matplotlib.patches import Patch

    imp = _numeric(importances, 1, "(n_bands,)", "importances").astype(float)
    n = imp.size
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral)
                              or not 1 <= top_k <= n):
        raise ValueError(f"top_k must be an integer in [1, {n}]; got {top_k!r}.")
    x, xlabel = _band_axis(wavelengths, n)
    top = np.zeros(n, dtype=bool)
    top[np.argsort(-imp, kind="stable")[:top_k or 0]] = True
    ax = _new_axes(ax, figsize=(7, 3.5))
    # The median step, not the smallest: overlapping spectrometers put some bands
    # a fraction of a nanometre apart.
    ax.bar(x, imp, width=0.8 * (np.median(np.diff(x)) if n > 1 else 1.0),
           color=np.where(top, _HIGHLIGHT, _MUTED))
    if top_k is not None:
        ax.legend(handles=[Patch(color=_HIGHLIGHT, label=f"top {top_k}"),
                           Patch(color=_MUTED, label="other bands")], loc="best")
    ax.set(xlabel=xlabel, ylabel="importance")
    ax.grid(axis="y", alpha=0.3)
    return ax


# ------------------------------------------------------------------------------- curves
def _plot_curve(kind, y_true, scores, ax, label):
    from sklearn import metrics

    y_true, scores = np.asarray(y_true), np.asarray(scores)
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true and scores must have the same shape; got {y_true.shape} "
                         f"and {scores.shape}.")
    y = _check_mask(y_true, scores.shape, "y_true").ravel()
    s = _numeric(scores, None, None, "scores").ravel().astype(float)
    if y.all() or not y.any():
        raise ValueError("y_true must contain both anomalies (True) and background (False); "
                         f"got {int(y.sum())} anomalies among {y.size} pixels.")
    if kind == "roc":
        fpr, tpr, _ = metrics.roc_curve(y, s)
        xy, name, value = (fpr, tpr), "AUC", metrics.roc_auc_score(y, s)
    else:
        precision, recall, _ = metrics.precision_recall_curve(y, s)
        xy, name, value = (recall, precision), "AP", metrics.average_precision_score(y, s)
    ax = _new_axes(ax, figsize=(5, 5))
    ax.plot(*xy, lw=1.8, drawstyle="default" if kind == "roc" else "steps-post",
            label=f"{label} ({name} = {value:.4f})" if label else f"{name} = {value:.4f}")
    if not any(line.get_gid() == _CHANCE_GID for line in ax.get_lines()):
        if kind == "roc":
            ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance", gid=_CHANCE_GID)
        else:
            ax.axhline(y.mean(), ls="--", color="grey", lw=1, gid=_CHANCE_GID,
                       label=f"chance (prevalence = {y.mean():.3g})")
    if kind == "roc":
        ax.set(xlabel="false positive rate", ylabel="true positive rate")
    else:
        ax.set(xlabel="recall", ylabel="precision")
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if kind == "roc" else "best")
    return ax


def plot_roc_curve(y_true, scores, *, ax=None, label=None):
    """Plot the ROC curve pooled over all pixels, its AUC in the legend, and chance.

    Parameters
    ----------
    y_true : array-like of bool, any shape
        Ground truth, ``True`` = anomaly; both classes must occur.
    scores : array-like of the same shape
        Anomaly scores, higher = more anomalous.
    ax : matplotlib Axes, default=None
        Pass the Axes of an earlier call to compare curves.
    label : str, default=None
        Curve name, shown before the AUC.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from skhsi.plotting import plot_roc_curve
    >>> ax = plot_roc_curve([[0, 0], [1, 1]], [[0.1, 0.4], [0.35, 0.8]], label="RX")
    >>> ax.get_legend().get_texts()[0].get_text()
    'RX (AUC = 0.7500)'
    """
    return _plot_curve("roc", y_true, scores, ax, label)


def plot_precision_recall_curve(y_true, scores, *, ax=None, label=None):
    """Plot the precision-recall curve pooled over all pixels, its AP in the legend.

    The dashed line is the precision of a random detector: the anomaly prevalence.
    Parameters and return value are those of :func:`plot_roc_curve`.

    Examples
    --------
    >>> from skhsi.plotting import plot_precision_recall_curve
    >>> ax = plot_precision_recall_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> ax.get_legend().get_texts()[0].get_text()
    'AP = 0.8333'
    """
    return _plot_curve("pr", y_true, scores, ax, label)


# ----------------------------------------------------------------------------- training
def _scalar(value):
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        arr = np.asarray(value)
    except Exception:  # objects numpy cannot wrap are simply not numeric
        return None
    return float(arr) if arr.ndim == 0 and arr.dtype.kind in "iuf" else None


def plot_training_history(history, *, keys=None, ax=None):
    """Plot each numeric entry of a training history against the epoch, one panel each.

    Parameters
    ----------
    history : list of dict, or object with ``.to_list()`` (e.g. a skorch ``History``)
        One dict per epoch, e.g. ``{"epoch": 1, "train_loss": 0.3, "radius": 1.2}``.
        The x axis is ``"epoch"`` when every row has one, else 1, 2, ... Non-numeric
        entries (lists, strings, booleans such as ``train_loss_best``) are skipped; an
        entry missing or ``None`` in some epochs is drawn where present.
    keys : list of str, default=None
        Entries to plot; all numeric entries but ``"epoch"`` when ``None``.
    ax : Axes or sequence of Axes, default=None
        One Axes per key; a new figure with one panel per key when ``None``.

    Returns
    -------
    fig : matplotlib Figure
        The figure holding the panels (a Figure, not an Axes: there is one per key).

    Examples
    --------
    >>> from skhsi.plotting import plot_training_history
    >>> history = [{"epoch": 1, "train_loss": 0.9, "radius": 2.0, "batches": []},
    ...            {"epoch": 2, "train_loss": 0.5, "radius": 1.5, "batches": []}]
    >>> fig = plot_training_history(history)
    >>> [a.get_ylabel() for a in fig.axes]
    ['train_loss', 'radius']
    """
    from matplotlib.ticker import MaxNLocator

    rows = list(history.to_list() if hasattr(history, "to_list") else history or [])
    if not rows:
        raise ValueError("history is empty; expected at least one epoch (a list of dicts).")
    bad = [type(row).__name__ for row in rows if not hasattr(row, "keys")]
    if bad:
        raise ValueError(f"history must be a list of dicts, one per epoch; got a {bad[0]} row.")
    names = list(dict.fromkeys(k for row in rows for k in row))
    present = {k: [row[k] for row in rows if row.get(k) is not None] for k in names}
    numeric = [k for k in names if present[k] and all(_scalar(v) is not None
                                                      for v in present[k])]
    plottable = [k for k in numeric if k != "epoch"]
    if keys is None:
        keys = plottable
        if not keys:
            raise ValueError(f"history has no numeric entries to plot; got keys {names}.")
    else:
        keys = [keys] if isinstance(keys, str) else list(keys)
        missing = [k for k in keys if k not in numeric]
        if not keys or missing:
            raise ValueError(f"keys {missing or keys} are not numeric history entries; "
                             f"expected some of {plottable}.")
    if len(present.get("epoch", [])) == len(rows) and "epoch" in numeric:
        epochs = np.array([_scalar(row["epoch"]) for row in rows])
    else:
        epochs = np.arange(1, len(rows) + 1, dtype=float)
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(keys), 1, sharex=True, squeeze=False, layout="constrained",
                                 figsize=(6, 1.2 + 1.8 * len(keys)))
        axes = axes[:, 0]
    else:
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if axes.size != len(keys):
            raise ValueError(f"ax must hold one Axes per key ({len(keys)}); got {axes.size}.")
        fig = axes[0].figure
    for panel, key in zip(axes, keys):
        values = np.array([np.nan if row.get(key) is None else _scalar(row[key])
                           for row in rows], dtype=float)
        seen = np.isfinite(values)
        panel.plot(epochs[seen], values[seen], marker="o", ms=3, lw=1.5)
        panel.set_ylabel(key)
        panel.grid(alpha=0.3)
    axes[-1].set_xlabel("epoch")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig
