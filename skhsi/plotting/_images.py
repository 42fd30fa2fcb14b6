"""Image plots: score heatmaps, false-colour renderings, detections, spectra by label."""

import numbers

import numpy as np

from ._checks import _HIGHLIGHT, _band_axis, _check_mask, _new_axes, _numeric

# Sky blue, vermillion, yellow of the Okabe-Ito palette: told apart with the
# common colour-vision deficiencies, and none of them the colour of a scene's
# vegetation, soil, water or pale roads.
_TP_COLOR, _FP_COLOR, _FN_COLOR = "#56B4E9", "#D55E00", "#F0E442"


_STRETCHES = ("percentile", "minmax")


def plot_score_heatmap(scores, *, ax=None, cmap="inferno", stretch="percentile",
                       percentiles=(1.0, 99.5), log=False, title=None, colorbar=True):
    """Show an anomaly-score map as a heatmap, with the real scores on the colour bar.

    A min-max stretch lets the one or two most extreme pixels take the bright
    end of the colour map and leaves the rest of the scene dark. The default
    stretch maps the ``percentiles`` of the scores to the ends of the colour
    map instead (the pixels beyond them are shown at the ends, and the colour
    bar's arrows say so); the image and the colour bar keep the scores' own
    values, so maps of one detector stay comparable.

    Parameters
    ----------
    scores : array-like of shape (H, W)
        Anomaly scores, higher = more anomalous; NaN or inf raise ``ValueError``.
    ax : matplotlib Axes, default=None
    cmap : str or Colormap, default="inferno"
    stretch : {"percentile", "minmax"}, default="percentile"
        Colour limits at the ``percentiles`` of the scores, or at their
        minimum and maximum.
    percentiles : tuple of 2 floats, default=(1.0, 99.5)
        Low and high percentiles of the ``"percentile"`` stretch.
    log : bool, default=False
        Logarithmic colour scale (scores must be positive), for scores that
        span orders of magnitude such as RX's Mahalanobis distances.
    title : str, default=None
    colorbar : bool, default=True

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.plotting import plot_score_heatmap
    >>> scores = np.arange(400.0).reshape(20, 20); scores[0, 0] = 1e6   # one extreme pixel
    >>> ax = plot_score_heatmap(scores)
    >>> image = ax.images[0]
    >>> float(image.get_array().max()), round(float(image.norm.vmax), 3)   # real values, robust top
    (1000000.0, 398.005)
    """
    from matplotlib.colors import LogNorm, Normalize

    scores = _numeric(scores, 2, "(H, W)", "scores").astype(float)
    if stretch not in _STRETCHES:
        raise ValueError(f"stretch must be one of {_STRETCHES}; got {stretch!r}.")
    low_p, high_p = percentiles
    if not 0 <= low_p < high_p <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100; got {percentiles}.")
    values = scores
    if log:
        if not np.all(scores > 0):
            raise ValueError(
                f"log=True needs positive scores; the smallest is {scores.min():g}. Shift "
                "them (scores - scores.min() + a small number) or keep a linear scale."
            )
        values = np.log(scores)
    if stretch == "percentile":
        vmin, vmax = np.percentile(values, [low_p, high_p])
    else:
        vmin, vmax = values.min(), values.max()
    if log:
        vmin, vmax = np.exp(vmin), np.exp(vmax)
    if vmax <= vmin:  # a (nearly) constant map
        vmax = vmin * (1 + 1e-9) + 1e-12 if vmin > 0 or not log else vmin
    norm = (LogNorm if log else Normalize)(vmin=vmin, vmax=vmax)
    ax = _new_axes(ax)
    image = ax.imshow(scores, cmap=cmap, norm=norm, interpolation="nearest")
    ax.set(xticks=[], yticks=[])
    if title is not None:
        ax.set_title(title)
    if colorbar:
        below, above = scores.min() < vmin, scores.max() > vmax
        extend = {(True, True): "both", (True, False): "min", (False, True): "max",
                  (False, False): "neither"}[(bool(below), bool(above))]
        label = "anomaly score" + (" (log scale)" if log else "")
        if stretch == "percentile" and (below or above):
            label += f", {low_p:g}-{high_p:g} percentile stretch"
        ax.figure.colorbar(image, ax=ax, label=label, shrink=0.9, extend=extend)
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
                           alpha=0.6, title=None, background="muted"):
    """Show detections over a false-colour image of the scene.

    With a ground truth, true positives, false positives and misses (false
    negatives) are painted in sky blue, vermillion and yellow (Okabe-Ito
    colours, distinct with the common colour-vision deficiencies); without
    one (``mask_true=None``) the flagged pixels are painted in vermillion. The
    legend, right of the image, gives the pixel count of each and names the
    bands shown as red, green and blue (with their wavelengths when known).

    Parameters
    ----------
    cube : array-like of shape (H, W, C)
    mask_true : array-like of bool, shape (H, W), or None
        Ground truth, ``True`` = anomaly (0/1 integers accepted); ``None`` when
        the scene has none.
    mask_pred : array-like of bool, shape (H, W)
        Detections, ``True`` = flagged.
    wavelengths : array-like of shape (C,), default=None
        Picks the background's bands, see :func:`false_rgb`; with wavelengths
        the background is a true-colour rendering (640, 550, 460 nm).
    ax : matplotlib Axes, default=None
    alpha : float in [0, 1], default=0.6
        Opacity of the painted pixels.
    title : str, default=None
    background : {"muted", "colour"}, default="muted"
        ``"muted"`` shows the false-colour image mostly desaturated (30 %
        colour, 70 % its grey value), so that the painted pixels stand out
        on any scene; ``"colour"`` shows it as :func:`false_rgb` renders it.

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
    ['true positive: 2', 'false positive: 2', 'missed (false negative): 2', 'R, G, B: bands 2, 2, 1']
    >>> ax = plot_detection_overlay(np.ones((6, 6, 4)), None, pred,
    ...                             wavelengths=[460, 550, 640, 800])
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['flagged: 4', 'R, G, B: bands 2, 1, 0 (640, 550, 460 nm)']
    """
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    cube = _numeric(cube, 3, "(H, W, C)", "cube")
    pred = _check_mask(mask_pred, cube.shape[:2], "mask_pred")
    if mask_true is None:
        layers = (("flagged", pred, _FP_COLOR),)
    else:
        truth = _check_mask(mask_true, cube.shape[:2], "mask_true")
        layers = (("true positive", truth & pred, _TP_COLOR),
                  ("false positive", ~truth & pred, _FP_COLOR),
                  ("missed (false negative)", truth & ~pred, _FN_COLOR))
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha}.")
    if background not in ("muted", "colour"):
        raise ValueError(f"background must be 'muted' or 'colour'; got {background!r}.")
    image = false_rgb(cube, wavelengths)
    if background == "muted":
        grey = image @ np.array([0.299, 0.587, 0.114])
        image = 0.3 * image + 0.7 * grey[..., None]
    layer, handles = np.zeros(pred.shape + (4,)), []
    for name, where, color in layers:
        layer[where] = (*to_rgb(color), alpha)
        handles.append(Patch(facecolor=color, edgecolor="black", label=f"{name}: {where.sum()}"))
    handles.append(Patch(facecolor="none", edgecolor="none",
                         label=_rgb_caption(wavelengths, cube.shape[-1])))
    new_figure = ax is None
    if new_figure:  # an Axes the exact shape of the image, at most 4.5 in high, 7 in wide
        import matplotlib.pyplot as plt

        h, w = pred.shape
        img_h = min(4.5, 7.0 * h / w)
        img_w, margin = img_h * w / h, 0.1
        ax = plt.figure(figsize=(img_w + 2 * margin, img_h + 2 * margin)).add_axes((0, 0, 1, 1))
    ax.imshow(image, interpolation="nearest")
    ax.imshow(layer, interpolation="nearest")
    ax.set(xticks=[], yticks=[])
    if title is not None:
        ax.set_title(title)
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


def _rgb_caption(wavelengths, n_bands):
    """Which bands the false-colour background shows, for the legend."""
    bands = rgb_band_indices(wavelengths, n_bands)
    text = "R, G, B: bands " + ", ".join(str(b) for b in bands)
    if wavelengths is not None:
        nm = np.asarray(wavelengths, dtype=float)[list(bands)]
        text += " (" + ", ".join(f"{w:.0f}" for w in nm) + " nm)"
    return text


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
