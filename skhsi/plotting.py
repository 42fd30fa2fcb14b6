"""Plots for hyperspectral anomaly detection: score maps, detections, spectra, curves.

Cubes are channels last ``(H, W, C)``; masks are boolean ``(H, W)``, ``True`` = anomaly;
anomaly scores are ``(H, W)``, higher = more anomalous (a detector's ``anomaly_score``,
not its ``score_samples``); ``wavelengths`` are in nm, strictly increasing, one per band.

Every function takes ``ax=None`` (the Axes to draw on; a new figure when ``None``) and
returns that Axes, except :func:`plot_training_history`, which returns the Figure of its
panels. Nothing calls ``plt.show()``; matplotlib is imported only when drawing, so
importing this module selects no backend. Without a display, select one first:

>>> import matplotlib
>>> matplotlib.use("Agg")
"""

import numbers

import numpy as np

__all__ = ["false_rgb", "plot_band_importance", "plot_detection_overlay",
           "plot_precision_recall_curve", "plot_roc_curve", "plot_score_heatmap",
           "plot_spectra_by_label", "plot_training_history", "rgb_band_indices"]

# Cyan, magenta, yellow: apart from each other (also for the common colour-vision
# deficiencies) and from the greens, reds and browns of natural scenes.
_TP_COLOR, _FP_COLOR, _FN_COLOR = "#22D3EE", "#FF2BD6", "#FFE119"
_HIGHLIGHT, _MUTED = "#CC3311", "#8C8C8C"
_CHANCE_GID = "skhsi-chance"


# ----------------------------------------------------------------------------- validation
def _new_axes(ax, figsize=None):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _finite(arr, name):
    if arr.size == 0:
        raise ValueError(f"{name} is empty; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf values; expected finite values only.")
    return arr


def _numeric(x, ndim, layout, name):
    x = np.asarray(x)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have shape {layout}; got shape {x.shape}.")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"{name} must be numeric; got dtype {x.dtype}.")
    return _finite(x, name)


def _check_mask(mask, shape, name):
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got shape {mask.shape}.")
    if mask.dtype != bool:
        if not np.issubdtype(mask.dtype, np.number) or not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{name} must be boolean (True = anomaly) or 0/1; got dtype "
                             f"{mask.dtype}. For predict() output use `pred == -1`.")
        mask = mask.astype(bool)
    return mask


def _band_axis(wavelengths, n_bands):
    """Validated x values and axis label: wavelengths in nm, or band indices."""
    if wavelengths is None:
        return np.arange(n_bands), "band index"
    wl = np.asarray(wavelengths, dtype=float)
    if wl.shape != (n_bands,):
        raise ValueError(f"wavelengths must have shape ({n_bands},), one per band; "
                         f"got shape {wl.shape}.")
    if not np.all(np.diff(_finite(wl, "wavelengths")) > 0):
        raise ValueError("wavelengths must be strictly increasing.")
    return wl, "wavelength (nm)"


# ------------------------------------------------------------------------------- images
def plot_score_heatmap(scores, *, ax=None, cmap="inferno", normalize=True, title=None,
                       colorbar=True):
    """Show an anomaly-score map as a heatmap with a colour bar.

    Parameters
    ----------
    scores : array-like of shape (H, W)
        Anomaly scores, higher = more anomalous; NaN or inf raise ``ValueError``.
    ax : matplotlib Axes, default=None
    cmap : str or Colormap, default="inferno"
    normalize : bool, default=True
        Min-max scale the scores to [0, 1]; a constant map becomes all zeros.
    title : str, default=None
    colorbar : bool, default=True

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.plotting import plot_score_heatmap
    >>> ax = plot_score_heatmap(np.arange(12.0).reshape(3, 4))
    >>> float(ax.images[0].get_array().max())
    1.0
    """
    scores = _numeric(scores, 2, "(H, W)", "scores").astype(float)
    if normalize:
        span = np.ptp(scores)
        scores = (scores - scores.min()) / span if span > 0 else np.zeros_like(scores)
    ax = _new_axes(ax)
    limits = dict(vmin=0.0, vmax=1.0) if normalize else {}
    image = ax.imshow(scores, cmap=cmap, interpolation="nearest", **limits)
    ax.set(xticks=[], yticks=[])
    if title is not None:
        ax.set_title(title)
    if colorbar:
        label = "normalised anomaly score" if normalize else "anomaly score"
        ax.figure.colorbar(image, ax=ax, label=label, shrink=0.9)
    return ax


def rgb_band_indices(wavelengths, n_bands, rgb_nm=(640, 550, 460)):
    """Indices of the bands shown as red, green and blue.

    Parameters
    ----------
    wavelengths : array-like of shape (n_bands,) or None
        Band centres in nm. When ``None`` the bands at 75 %, 50 % and 25 % of the band
        range are used (long to short, as red, green, blue) and ``rgb_nm`` is ignored.
    n_bands : int
    rgb_nm : tuple of 3 floats, default=(640, 550, 460)
        Red, green and blue wavelengths in nm; the nearest band is taken, so a sensor
        that misses the visible range gets its edge bands.

    Returns
    -------
    indices : tuple of 3 int

    Examples
    --------
    >>> from skhsi.plotting import rgb_band_indices
    >>> rgb_band_indices([450, 500, 550, 600, 650], 5)
    (4, 2, 0)
    >>> rgb_band_indices(None, 101)
    (75, 50, 25)
    """
    if isinstance(n_bands, bool) or not isinstance(n_bands, numbers.Integral) or n_bands < 1:
        raise ValueError(f"n_bands must be a positive integer; got {n_bands!r}.")
    if wavelengths is None:
        return tuple(int(round(f * (n_bands - 1))) for f in (0.75, 0.5, 0.25))
    wl, _ = _band_axis(wavelengths, n_bands)
    targets = np.asarray(rgb_nm, dtype=float)
    if targets.shape != (3,):
        raise ValueError(f"rgb_nm must hold 3 wavelengths; got shape {targets.shape}.")
    return tuple(int(np.argmin(np.abs(wl - t))) for t in targets)


def false_rgb(cube, wavelengths=None, *, rgb_nm=(640, 550, 460), percentiles=(2, 98)):
    """Render a cube as a false-colour RGB image.

    The bands nearest ``rgb_nm`` (without wavelengths: the bands at 75 %, 50 % and 25 %
    of the band range, see :func:`rgb_band_indices`) are each stretched linearly between
    their own ``percentiles`` and clipped to [0, 1].

    Parameters
    ----------
    cube : array-like of shape (H, W, C)
    wavelengths : array-like of shape (C,), default=None
    rgb_nm : tuple of 3 floats, default=(640, 550, 460)
    percentiles : tuple of 2 floats, default=(2, 98)
        Percentiles of each channel mapped to 0 and 1.

    Returns
    -------
    rgb : ndarray of shape (H, W, 3), float64, values in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.plotting import false_rgb
    >>> rgb = false_rgb(np.random.default_rng(0).random((4, 5, 10)))
    >>> rgb.shape, float(rgb.min()), float(rgb.max())
    ((4, 5, 3), 0.0, 1.0)
    """
    cube = _numeric(cube, 3, "(H, W, C)", "cube")
    lo_p, hi_p = percentiles
    if not 0 <= lo_p < hi_p <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100; got {percentiles}.")
    bands = cube[..., list(rgb_band_indices(wavelengths, cube.shape[-1], rgb_nm))]
    bands = bands.astype(float)
    lo, hi = np.percentile(bands.reshape(-1, 3), [lo_p, hi_p], axis=0)
    return np.clip((bands - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0)


def plot_detection_overlay(cube, mask_true, mask_pred, *, wavelengths=None, ax=None,
                           alpha=0.6):
    """Show detections over a false-colour image of the scene.

    True positives, false positives and misses (false negatives) are painted in cyan,
    magenta and yellow; the legend, right of the image, gives the pixel count of each.

    Parameters
    ----------
    cube : array-like of shape (H, W, C)
    mask_true, mask_pred : array-like of bool, shape (H, W)
        Ground truth and detections, ``True`` = anomaly (0/1 integers accepted).
    wavelengths : array-like of shape (C,), default=None
        Picks the background's bands, see :func:`false_rgb`.
    ax : matplotlib Axes, default=None
    alpha : float in [0, 1], default=0.6
        Opacity of the painted pixels.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.plotting import plot_detection_overlay
    >>> truth = np.zeros((6, 6), dtype=bool); truth[2:4, 2:4] = True
    >>> pred = np.zeros((6, 6), dtype=bool); pred[2:4, 3:5] = True
    >>> ax = plot_detection_overlay(np.ones((6, 6, 4)), truth, pred)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['true positive: 2', 'false positive: 2', 'missed (false negative): 2']
    """
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    cube = _numeric(cube, 3, "(H, W, C)", "cube")
    truth = _check_mask(mask_true, cube.shape[:2], "mask_true")
    pred = _check_mask(mask_pred, cube.shape[:2], "mask_pred")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha}.")
    background = false_rgb(cube, wavelengths)
    layer, handles = np.zeros(truth.shape + (4,)), []
    for name, where, color in (("true positive", truth & pred, _TP_COLOR),
                               ("false positive", ~truth & pred, _FP_COLOR),
                               ("missed (false negative)", truth & ~pred, _FN_COLOR)):
        layer[where] = (*to_rgb(color), alpha)
        handles.append(Patch(facecolor=color, edgecolor="black", label=f"{name}: {where.sum()}"))
    new_figure = ax is None
    if new_figure:  # an Axes the exact shape of the image, at most 4.5 in high, 7 in wide
        import matplotlib.pyplot as plt

        h, w = truth.shape
        img_h = min(4.5, 7.0 * h / w)
        img_w, margin = img_h * w / h, 0.1
        ax = plt.figure(figsize=(img_w + 2 * margin, img_h + 2 * margin)).add_axes((0, 0, 1, 1))
    ax.imshow(background, interpolation="nearest")
    ax.imshow(layer, interpolation="nearest")
    ax.set(xticks=[], yticks=[])
    legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       borderaxespad=0, frameon=False)
    if new_figure:  # grow the figure to the legend's measured size, keep the image's
        box = legend.get_window_extent()
        fig_w = 1.02 * img_w + box.width / ax.figure.dpi + 3 * margin
        fig_h = max(img_h, box.height / ax.figure.dpi) + 2 * margin
        ax.figure.set_size_inches(fig_w, fig_h)
        ax.set_position((margin / fig_w, 1 - (margin + img_h) / fig_h, img_w / fig_w,
                         img_h / fig_h))
    return ax


# ------------------------------------------------------------------------- spectral axis
def plot_spectra_by_label(cube, mask, *, wavelengths=None, ax=None,
                          labels=("background", "anomaly")):
    """Plot the mean spectrum ± one standard deviation (shaded) of each mask label.

    Parameters
    ----------
    cube : array-like of shape (H, W, C)
    mask : array-like of bool, shape (H, W)
        ``False`` pixels are summarised as ``labels[0]``, ``True`` ones as ``labels[1]``;
        a label without pixels is left out.
    wavelengths : array-like of shape (C,), default=None
        x axis in nm; band index when ``None``.
    ax : matplotlib Axes, default=None
    labels : tuple of 2 str, default=("background", "anomaly")

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.plotting import plot_spectra_by_label
    >>> cube = np.random.default_rng(0).random((5, 5, 8))
    >>> mask = np.zeros((5, 5), dtype=bool); mask[0, 0] = True
    >>> ax = plot_spectra_by_label(cube, mask)
    >>> [line.get_label() for line in ax.get_lines()]
    ['background (n=24)', 'anomaly (n=1)']
    """
    cube = _numeric(cube, 3, "(H, W, C)", "cube")
    mask = _check_mask(mask, cube.shape[:2], "mask")
    if len(labels) != 2:
        raise ValueError(f"labels must hold 2 names (background, anomaly); got {labels!r}.")
    x, xlabel = _band_axis(wavelengths, cube.shape[-1])
    ax = _new_axes(ax, figsize=(7, 4))
    for name, where, color in ((labels[0], ~mask, "#4477AA"), (labels[1], mask, _HIGHLIGHT)):
        pixels = cube[where].astype(float)
        if len(pixels):
            mean, std = pixels.mean(axis=0), pixels.std(axis=0)
            ax.plot(x, mean, color=color, lw=1.8, label=f"{name} (n={len(pixels)})")
            ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, lw=0)
    ax.set(xlabel=xlabel, ylabel="value (mean ± std)", xlim=(x[0], x[-1]))
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return ax


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
    ax.bar(x, imp, width=0.8 * (np.min(np.diff(x)) if n > 1 else 1.0),
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
