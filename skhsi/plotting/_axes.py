"""What image plots share: coordinates on the axes, a scale bar, outlines, titles."""

import textwrap

import numpy as np


def _image_extent(shape, grid):
    """``(extent, xlabel, ylabel)`` of an ``(H, W)`` image on ``grid`` (a MapGrid or None).

    Without a grid the axes count pixels (column, row from the upper left);
    with a pixel size only they give the distance from the upper-left corner;
    with an origin they give map coordinates (easting, northing).
    """
    h, w = shape
    if grid is None:
        return (-0.5, w - 0.5, h - 0.5, -0.5), "column (pixel)", "row (pixel)"
    dx, dy = grid.pixel_size
    unit = grid.units
    if grid.origin is None:
        return (0.0, w * dx, h * dy, 0.0), f"x ({unit})", f"y ({unit})"
    x0, y0 = grid.origin
    names = ("longitude", "latitude") if unit == "°" else ("easting", "northing")
    return ((x0, x0 + w * dx, y0 - h * dy, y0), f"{names[0]} ({unit})",
            f"{names[1]} ({unit})")


def _decorate_axes(ax, shape, grid, *, scalebar=True):
    """Coordinates on the axes and, when the ground size is known, a scale bar."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    _, xlabel, ylabel = _image_extent(shape, grid)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7, length=2.5)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=5, integer=grid is None))
        formatter = ScalarFormatter(useOffset=False)
        formatter.set_scientific(False)
        axis.set_major_formatter(formatter)
    ax.tick_params(axis="y", labelrotation=90)
    for label in ax.get_yticklabels():
        label.set_verticalalignment("center")
    if scalebar and grid is not None and grid.units != "°":
        _scale_bar(ax, shape[1] * grid.pixel_size[0], grid.units)


def _nice_length(span):
    """The largest 1, 2 or 5 times a power of ten that is at most a quarter of ``span``."""
    target = span / 4
    power = 10.0 ** np.floor(np.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target)


def _scale_bar(ax, width, units):
    """A scale bar of a round length in the lower-right corner, on a light box."""
    from matplotlib.font_manager import FontProperties
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    length = _nice_length(width)
    text = (f"{length / 1000:g} km" if units == "m" and length >= 1000
            else f"{length:g} {units}")
    bar = AnchoredSizeBar(ax.transData, length, text, "lower right", pad=0.3, sep=3,
                          borderpad=0.5, frameon=True, size_vertical=0,
                          fontproperties=FontProperties(size=7))
    bar.patch.set(facecolor="white", alpha=0.8, edgecolor="none")
    ax.add_artist(bar)
    return bar


def _outline_segments(mask, extent):
    """The pixel edges between ``mask`` and its outside, as line segments in data units.

    An outline marks a region without hiding what is in it; drawn along the
    pixel edges it stays exact at any zoom and in vector output.
    """
    h, w = mask.shape
    left, right, bottom, top = extent
    dx, dy = (right - left) / w, (bottom - top) / h  # dy < 0 when y grows upward
    padded = np.pad(mask, 1)
    rows, cols = np.nonzero(padded[1:-1, 1:] != padded[1:-1, :-1])  # vertical edges
    vertical = np.stack([np.stack([left + cols * dx, top + rows * dy], -1),
                         np.stack([left + cols * dx, top + (rows + 1) * dy], -1)], 1)
    rows, cols = np.nonzero(padded[1:, 1:-1] != padded[:-1, 1:-1])  # horizontal edges
    horizontal = np.stack([np.stack([left + cols * dx, top + rows * dy], -1),
                           np.stack([left + (cols + 1) * dx, top + rows * dy], -1)], 1)
    return np.concatenate([vertical, horizontal])


def _titles(ax, title, subtitle, new_figure, width_in):
    """A title and a smaller caption line: the figure's own when it made the figure."""
    if subtitle is not None:
        subtitle = textwrap.fill(subtitle, width=max(30, int(width_in * 14)))
    if new_figure and title is not None and subtitle is not None:
        ax.figure.suptitle(title, fontsize=11, x=0.02, ha="left")
        ax.set_title(subtitle, fontsize=7.5, color="0.25", loc="left")
    elif title is not None or subtitle is not None:
        ax.set_title("\n".join(t for t in (title, subtitle) if t is not None))
