"""Image plots: score heatmaps, false-colour renderings, detections, spectra by label."""

import numbers

import numpy as np

from ._axes import _decorate_axes, _image_extent, _outline_segments, _titles
from ._checks import _HIGHLIGHT, _band_axis, _check_mask, _new_axes, _numeric

# Sky blue, vermillion, yellow of the Okabe-Ito palette: told apart with the
# common colour-vision deficiencies, and none of them the colour of a scene's
# vegetation, soil, water or pale roads. Yellow outlines, never fills.
_TP_COLOR, _FP_COLOR, _FN_COLOR = "#56B4E9", "#D55E00", "#F0E442"


_STRETCHES = ("percentile", "minmax")


def plot_score_heatmap(scores, *, ax=None, cmap="inferno", stretch="percentile",
                       percentiles=(1.0, 99.5), log=False, title=None, subtitle=None,
                       colorbar=True, grid=None):
    """Show an anomaly-score map as a heatmap, with the real scores on the colour bar.

    A min-max stretch lets the one or two most extreme pixels take the bright
    end of the colour map and leaves the rest of the scene dark. The default
    stretch maps the ``percentiles`` of the scores to the ends of the colour
    map instead (the pixels beyond them are shown at the ends, and the colour
    bar's arrows say so); the image and the colour bar keep the scores' own
    values, so maps of one detector stay comparable. The axes give pixel
    coordinates, or ground or map coordinates and a scale bar with a ``grid``.

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
    subtitle : str, default=None
        A smaller caption line under the title (scene, detector, threshold).
    colorbar : bool, default=True
    grid : MapGrid or None, default=None
        Where the pixels lie on the ground (:func:`skhsi.io.map_grid`):
        axes in metres or map units and a scale bar; pixel axes when ``None``.

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
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('column (pixel)', 'row (pixel)')
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
    new_figure = ax is None
    if new_figure:
        ax, width_in = _image_figure(scores.shape, extra_width=1.2)
    else:
        width_in = ax.figure.get_size_inches()[0]
    extent, _, _ = _image_extent(scores.shape, grid)
    image = ax.imshow(scores, cmap=cmap, norm=norm, interpolation="nearest", extent=extent)
    _decorate_axes(ax, scores.shape, grid)
    _titles(ax, title, subtitle, new_figure, width_in)
    if colorbar:
        below, above = scores.min() < vmin, scores.max() > vmax
        extend = {(True, True): "both", (True, False): "min", (False, True): "max",
                  (False, False): "neither"}[(bool(below), bool(above))]
        label = "anomaly score" + (" (log scale)" if log else "")
        if stretch == "percentile" and (below or above):
            label += f",\n{low_p:g}-{high_p:g} percentile stretch"
        bar = ax.figure.colorbar(image, ax=ax, shrink=0.9, extend=extend, pad=0.02)
        bar.set_label(label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    return ax


def _image_figure(shape, extra_width=0.0):
    """A new figure for an ``(H, W)`` image with axes and titles around it:
    the image at most 4.5 in high and 6 in wide, the figure at least 3.6 in wide."""
    import matplotlib.pyplot as plt

    h, w = shape
    img_h = min(4.5, 6.0 * h / w)
    img_w = img_h * w / h
    fig_w = max(3.6, img_w + 0.8 + extra_width)
    figure = plt.figure(figsize=(fig_w, img_h + 1.3), layout="constrained")
    return figure.add_subplot(), fig_w


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


#: The display range of :func:`false_rgb`: the darkest and brightest values it
#: gives, 5 and 250 of 255 in an 8-bit picture, so that no pixel is rendered
#: pure black or pure white.
RGB_RANGE = (0.02, 0.98)


def false_rgb(cube, wavelengths=None, *, rgb_nm=(640, 550, 460), percentiles=(1, 99),
              gamma=1.5):
    """Render a cube as a true- or false-colour RGB image, without clipping.

    The bands nearest ``rgb_nm`` (without wavelengths: the bands at 75 %, 50 % and 25 %
    of the band range, see :func:`rgb_band_indices`) are each stretched linearly so
    that their own ``percentiles`` (over the valid pixels: those not zero in all three
    bands, the no-data fill of many files) span 10 % to 90 % of the display range.
    Values beyond the percentiles are not clipped: they roll off smoothly
    (exponentially, with the slope of the linear part) into the last 10 % at
    each end, so the brightest and darkest pixels keep their detail and their
    order, and no pixel is rendered pure black or pure white (the result lies
    within [0.02, 0.98], 5 to 250 in an 8-bit picture). ``gamma`` then
    brightens (``> 1``) or darkens
    (``< 1``) the middle tones: ``out = in ** (1 / gamma)``; the default 1.5
    lifts shadows and dark vegetation, which a linear stretch of reflectance
    renders near black, without washing out bright soil.

    Parameters
    ----------
    cube : array-like of shape (H, W, C)
    wavelengths : array-like of shape (C,), default=None
    rgb_nm : tuple of 3 floats, default=(640, 550, 460)
    percentiles : tuple of 2 floats, default=(1, 99)
        Percentiles of each channel at 10 % and 90 % of the display range.
    gamma : float > 0, default=1.5

    Returns
    -------
    rgb : ndarray of shape (H, W, 3), float64, values within [0.02, 0.98]

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.plotting import false_rgb
    >>> cube = np.random.default_rng(0).random((40, 50, 10)); cube[0, 0] = 1e3   # one glint
    >>> rgb = false_rgb(cube)
    >>> rgb.shape, round(float(rgb.max()), 3)   # the glint at the top, not beyond it
    ((40, 50, 3), 0.98)
    >>> int((np.round(rgb * 255) == 255).sum()), int((np.round(rgb * 255) == 0).sum())
    (0, 0)
    """
    cube = _numeric(cube, 3, "(H, W, C)", "cube")
    lo_p, hi_p = percentiles
    if not 0 <= lo_p < hi_p <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100; got {percentiles}.")
    if not (isinstance(gamma, numbers.Real) and np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a positive number; got {gamma!r}.")
    bands = cube[..., list(rgb_band_indices(wavelengths, cube.shape[-1], rgb_nm))]
    bands = bands.astype(float)
    flat = bands.reshape(-1, 3)
    valid = flat[np.any(flat != 0, axis=1)]
    lo, hi = np.percentile(valid if len(valid) else flat, [lo_p, hi_p], axis=0)
    span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
    x = (bands - lo) / span  # the percentiles at 0 and 1
    knee, end = 0.1, 1.0  # 10 % roll-off at each end of [0, 1]
    slope = 1.0 - 2 * knee
    inner = knee + slope * x
    upper = end - knee * np.exp(-slope * (x - 1.0) / knee)
    lower = knee * np.exp(slope * np.minimum(x, 0.0) / knee)
    unit = np.where(x > 1.0, upper, np.where(x < 0.0, lower, inner))
    unit = unit ** (1.0 / gamma)
    low, high = RGB_RANGE
    return low + (high - low) * unit


def plot_detection_overlay(cube, mask_true, mask_pred, *, wavelengths=None, ax=None,
                           alpha=0.85, title=None, subtitle=None, background="muted",
                           grid=None):
    """Show detections over a true- or false-colour image of the scene.

    With a ground truth, true positives and false positives are filled in sky
    blue and vermillion, and the missed anomalies (false negatives) are
    outlined in yellow along their pixel edges, so the target they mark stays
    visible (Okabe-Ito colours, distinct with the common colour-vision
    deficiencies); without one (``mask_true=None``) the flagged pixels are
    filled in vermillion. The legend, below the image, gives the pixel count
    of each and names the bands shown as red, green and blue (with their
    wavelengths when known). The background is rendered by :func:`false_rgb`,
    which clips no pixel to black or white. The axes give pixel coordinates,
    or ground or map coordinates and a scale bar with a ``grid``.

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
    alpha : float in [0, 1], default=0.85
        Opacity of the filled pixels.
    title : str, default=None
    subtitle : str, default=None
        A smaller caption line under the title (scene, detector, threshold).
    background : {"muted", "colour"}, default="muted"
        ``"muted"`` shows the rendering mostly desaturated (30 % colour, 70 %
        its grey value), so that the painted pixels stand out on any scene;
        ``"colour"`` shows it as :func:`false_rgb` renders it.
    grid : MapGrid or None, default=None
        Where the pixels lie on the ground (:func:`skhsi.io.map_grid`).

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
    >>> [t.get_text() for t in ax.figure.legends[0].get_texts()]
    ['true positive: 2', 'false positive: 2', 'missed (outlined): 2', 'R, G, B: bands 2, 2, 1']
    >>> len(ax.collections[0].get_segments())   # the missed pixels' outline: 6 edges
    6
    >>> ax = plot_detection_overlay(np.ones((6, 6, 4)), None, pred,
    ...                             wavelengths=[460, 550, 640, 800])
    >>> [t.get_text() for t in ax.figure.legends[0].get_texts()]
    ['flagged: 4', 'R, G, B: bands 2, 1, 0 (640, 550, 460 nm)']
    """
    import matplotlib.patheffects as path_effects
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgb
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    cube = _numeric(cube, 3, "(H, W, C)", "cube")
    pred = _check_mask(mask_pred, cube.shape[:2], "mask_pred")
    if mask_true is None:
        fills, missed = (("flagged", pred, _FP_COLOR),), None
    else:
        truth = _check_mask(mask_true, cube.shape[:2], "mask_true")
        fills = (("true positive", truth & pred, _TP_COLOR),
                 ("false positive", ~truth & pred, _FP_COLOR))
        missed = truth & ~pred
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha}.")
    if background not in ("muted", "colour"):
        raise ValueError(f"background must be 'muted' or 'colour'; got {background!r}.")
    image = false_rgb(cube, wavelengths)
    if background == "muted":
        grey = image @ np.array([0.299, 0.587, 0.114])
        image = 0.3 * image + 0.7 * grey[..., None]
    layer, handles = np.zeros(pred.shape + (4,)), []
    for name, where, color in fills:
        layer[where] = (*to_rgb(color), alpha)
        handles.append(Patch(facecolor=color, edgecolor="black", linewidth=0.5,
                             label=f"{name}: {where.sum()}"))
    halo = [path_effects.Stroke(linewidth=2.6, foreground="black"), path_effects.Normal()]
    if missed is not None:
        handles.append(Line2D([], [], color=_FN_COLOR, linewidth=1.4, path_effects=halo,
                              label=f"missed (outlined): {missed.sum()}"))
    handles.append(Patch(facecolor="none", edgecolor="none",
                         label=_rgb_caption(wavelengths, cube.shape[-1])))
    new_figure = ax is None
    if new_figure:
        ax, width_in = _image_figure(pred.shape)
    else:
        width_in = ax.figure.get_size_inches()[0]
    extent, _, _ = _image_extent(pred.shape, grid)
    ax.imshow(image, interpolation="nearest", extent=extent)
    ax.imshow(layer, interpolation="nearest", extent=extent)
    if missed is not None:
        outline = LineCollection(_outline_segments(missed, extent), colors=_FN_COLOR,
                                 linewidths=1.2, capstyle="projecting")
        outline.set_path_effects(halo)
        ax.add_collection(outline)
    _decorate_axes(ax, pred.shape, grid)
    _titles(ax, title, subtitle, new_figure, width_in)
    ax.figure.legend(handles=handles, loc="outside lower left", ncols=2 if width_in > 4.5
                     else 1, fontsize=7.5, frameon=False, handlelength=1.4,
                     columnspacing=1.2)
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
