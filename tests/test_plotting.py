import re
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

import skhsi  # noqa: E402
from skhsi.plotting._images import RGB_RANGE  # noqa: E402
from skhsi.plotting import (  # noqa: E402
    false_rgb,
    plot_band_importance,
    plot_detection_overlay,
    plot_precision_recall_curve,
    plot_roc_curve,
    plot_score_heatmap,
    plot_spectra_by_label,
    plot_training_history,
    rgb_band_indices,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def cube(rng):
    return rng.random((6, 7, 12))


@pytest.fixture
def wavelengths():
    return np.linspace(400.0, 950.0, 12)  # 50 nm steps


@pytest.fixture
def tiny_masks():
    truth = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=bool)
    pred = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=bool)
    return truth, pred  # TP 2, FP 2, FN 2 at distinct pixels


@pytest.fixture
def history():
    return [
        {"epoch": e, "train_loss": 1.0 / e, "radius": 2.0 - 0.1 * e, "n_outside": 10 - e,
         "valid_auc": (0.8 + 0.01 * e) if e % 2 == 0 else None,
         "train_loss_best": e == 3, "batches": [{"train_loss": 1.0}], "dur": 0.5}
        for e in range(1, 6)
    ]


def global_rx(cube):
    """Mahalanobis distance of every pixel to the scene mean (global RX)."""
    pixels = cube.reshape(-1, cube.shape[-1]).astype(float)
    centred = pixels - pixels.mean(axis=0)
    inv_cov = np.linalg.pinv(np.cov(pixels, rowvar=False))
    return np.einsum("ij,jk,ik->i", centred, inv_cov, centred).reshape(cube.shape[:2])


def legend_texts(ax):
    legend = ax.get_legend() or ax.figure.legends[0]
    return [t.get_text() for t in legend.get_texts()]


# ------------------------------------------------------------------------------ heatmap
def test_heatmap_shows_real_scores_with_a_robust_stretch(rng):
    scores = rng.normal(size=(20, 20)) * 5 + 3
    scores[0, 0] = 1e6  # one extreme pixel must not take the whole colour range
    ax = plot_score_heatmap(scores, title="RX")
    assert isinstance(ax, Axes)
    image = ax.images[0]
    np.testing.assert_array_equal(image.get_array(), scores)
    low, high = np.percentile(scores, [1.0, 99.5])
    assert (image.norm.vmin, image.norm.vmax) == pytest.approx((low, high))
    assert ax.get_title() == "RX"
    colorbar = ax.figure.axes[1]
    assert "anomaly score,\n1-99.5 percentile stretch" in colorbar.get_ylabel()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("column (pixel)", "row (pixel)")


def test_heatmap_minmax_and_log_stretches(rng):
    scores = rng.random((4, 5)) * 100 + 1
    ax = plot_score_heatmap(scores, stretch="minmax", colorbar=False)
    assert (ax.images[0].norm.vmin, ax.images[0].norm.vmax) == (scores.min(), scores.max())
    assert len(ax.figure.axes) == 1
    ax = plot_score_heatmap(scores, log=True)
    assert type(ax.images[0].norm).__name__ == "LogNorm"
    assert "log scale" in ax.figure.axes[1].get_ylabel()


def test_heatmap_bad_options_are_clear_errors(rng):
    with pytest.raises(ValueError, match="log=True needs positive scores"):
        plot_score_heatmap(np.zeros((3, 3)), log=True)
    with pytest.raises(ValueError, match="stretch must be one of"):
        plot_score_heatmap(np.ones((3, 3)), stretch="linear")
    with pytest.raises(ValueError, match="percentiles must satisfy"):
        plot_score_heatmap(np.ones((3, 3)), percentiles=(50, 10))


def test_heatmap_constant_map_draws_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_score_heatmap(np.full((3, 3), 7.0))
        ax.figure.canvas.draw()
    np.testing.assert_array_equal(ax.images[0].get_array(), np.full((3, 3), 7.0))


def test_heatmap_draws_on_given_axes(rng):
    _, ax = plt.subplots()
    assert plot_score_heatmap(rng.random((3, 3)), ax=ax, colorbar=False) is ax


def test_heatmap_rejects_nan_and_wrong_shape():
    scores = np.ones((3, 3))
    scores[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        plot_score_heatmap(scores)
    with pytest.raises(ValueError, match=r"shape \(H, W\); got shape \(2, 3, 4\)"):
        plot_score_heatmap(np.ones((2, 3, 4)))


# ---------------------------------------------------------------------------- false RGB
def test_rgb_band_indices_nearest_wavelengths(wavelengths):
    # 400, 450, ..., 950 nm: 640 -> 650 (index 5), 550 -> 550 (3), 460 -> 450 (1)
    assert rgb_band_indices(wavelengths, 12) == (5, 3, 1)
    assert rgb_band_indices(wavelengths, 12, rgb_nm=(900, 2000, 0)) == (10, 11, 0)


def test_rgb_band_indices_without_wavelengths_use_band_fractions():
    assert rgb_band_indices(None, 101) == (75, 50, 25)
    assert rgb_band_indices(None, 162) == (121, 80, 40)
    assert rgb_band_indices(None, 1) == (0, 0, 0)


def test_rgb_band_indices_validation(wavelengths):
    with pytest.raises(ValueError, match=r"shape \(12,\).*got shape \(11,\)"):
        rgb_band_indices(wavelengths[:-1], 12)
    with pytest.raises(ValueError, match="strictly increasing"):
        rgb_band_indices(wavelengths[::-1], 12)
    with pytest.raises(ValueError, match="positive integer"):
        rgb_band_indices(None, 0)
    with pytest.raises(ValueError, match="rgb_nm must hold 3"):
        rgb_band_indices(wavelengths, 12, rgb_nm=(600, 500))


def _unit(rgb):
    """``false_rgb``'s output back on [0, 1] (before the display range)."""
    low, high = RGB_RANGE
    return (rgb - low) / (high - low)


def test_false_rgb_uses_the_selected_bands(cube, wavelengths):
    rgb = _unit(false_rgb(cube, wavelengths, percentiles=(0, 100), gamma=1.0))
    for channel, band in enumerate((5, 3, 1)):
        b = cube[..., band]
        np.testing.assert_allclose(rgb[..., channel], 0.1 + 0.8 * (b - b.min()) / (b.max() - b.min()))


def test_false_rgb_keeps_the_extremes_in_order_and_off_black_and_white(rng):
    cube = rng.normal(size=(60, 70, 3)) * 100 + 1000
    cube[0, 0] = 1500  # glints
    cube[0, 1] = 1300
    cube[1, 1] = 1e9
    cube[1, 0] = 1.0  # a deep shadow
    rgb = false_rgb(cube, percentiles=(2, 98))
    low, high = RGB_RANGE
    assert low <= rgb.min() and rgb.max() <= high
    eight_bit = np.round(rgb * 255)
    assert not ((eight_bit == 0) | (eight_bit == 255)).any()  # no channel black or white
    assert rgb[0, 0, 0] > rgb[0, 1, 0] > np.median(rgb[..., 0]) > rgb[1, 0, 0]
    # inside the percentiles the stretch is linear, with gamma on top
    flat = _unit(false_rgb(cube, percentiles=(2, 98), gamma=1.0))
    red = cube[..., rgb_band_indices(None, 3)[0]]
    lo, hi = np.percentile(red, [2, 98])
    inside = (red > lo) & (red < hi)
    np.testing.assert_allclose(flat[..., 0][inside], 0.1 + 0.8 * (red[inside] - lo) / (hi - lo))
    np.testing.assert_allclose(_unit(false_rgb(cube, percentiles=(2, 98), gamma=2.0)),
                               flat ** 0.5)


def test_false_rgb_ignores_no_data_zeros_in_its_percentiles(rng):
    cube = rng.random((50, 50, 3)) + 1.0
    with_fill = cube.copy()
    with_fill[:, :25] = 0  # half the image is the file's no-data fill
    np.testing.assert_allclose(false_rgb(with_fill)[:, 25:], false_rgb(cube[:, 25:]))


def test_false_rgb_constant_band_and_integer_cube():
    cube = np.full((4, 4, 5), 9, dtype=np.uint16)
    rgb = false_rgb(cube)
    assert np.ptp(rgb) == 0 and RGB_RANGE[0] < rgb[0, 0, 0] < RGB_RANGE[1]


def test_false_rgb_validation(cube):
    with pytest.raises(ValueError, match=r"cube must have shape \(H, W, C\); got shape \(6, 7\)"):
        false_rgb(cube[..., 0])
    with pytest.raises(ValueError, match="percentiles"):
        false_rgb(cube, percentiles=(98, 2))
    bad = cube.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="cube contains NaN or inf"):
        false_rgb(bad)


# ------------------------------------------------------------------------------ overlay
def test_overlay_legend_counts_tp_fp_fn(cube, tiny_masks):
    truth, pred = tiny_masks
    ax = plot_detection_overlay(cube[:3, :4], truth, pred)
    assert isinstance(ax, Axes)
    counts = {}
    *layers, caption = legend_texts(ax)
    for text in layers:
        name, n = re.fullmatch(r"(.+): (\d+)", text).groups()
        counts[name] = int(n)
    assert counts == {"true positive": 2, "false positive": 2, "missed (outlined)": 2}
    assert re.fullmatch(r"R, G, B: bands \d+, \d+, \d+", caption)


def test_overlay_paints_three_distinct_colours(cube, tiny_masks):
    truth, pred = tiny_masks
    ax = plot_detection_overlay(cube[:3, :4], truth.astype(int), pred, alpha=0.5)
    layer = np.asarray(ax.images[1].get_array())
    tp, fp, fn = layer[0, 0], layer[0, 2], layer[0, 1]
    assert len({tuple(tp), tuple(fp)}) == 2 and tp[3] == fp[3] == 0.5
    assert fn[3] == 0 and layer[1, 0, 3] == 0  # misses and true negatives stay unfilled
    handles = ax.figure.legends[0].legend_handles
    colours = {to_rgba(h.get_facecolor()) for h in handles[:2]} | {to_rgba(handles[2].get_color())}
    assert len(colours) == 3
    # the misses are outlined along their pixel edges: each edge between a missed
    # pixel and one that is not (or the border) once, in pixel coordinates
    missed = np.pad(truth & ~pred, 1)
    vertical = np.nonzero(missed[1:-1, 1:] != missed[1:-1, :-1])
    horizontal = np.nonzero(missed[1:, 1:-1] != missed[:-1, 1:-1])
    edges = {(c - 0.5, r - 0.5, c - 0.5, r + 0.5) for r, c in zip(*vertical)} | {
        (c - 0.5, r - 0.5, c + 0.5, r - 0.5) for r, c in zip(*horizontal)}
    segments = np.asarray(ax.collections[0].get_segments()).reshape(-1, 4).round(6)
    assert {tuple(float(v) for v in seg) for seg in segments} == edges
    assert len(segments) == len(edges) == 8  # two separate missed pixels


@pytest.mark.parametrize("shape", [(100, 80), (80, 100), (40, 160), (8, 300), (3, 4),
                                   (1000, 60)])
def test_overlay_legend_sits_below_the_image_and_leaves_little_blank(rng, shape, tmp_path):
    mask = np.zeros(shape, dtype=bool)
    mask[:3, :3] = True
    ax = plot_detection_overlay(rng.random(shape + (5,)), mask, mask[::-1] | mask,
                                title="Detected anomalies", subtitle="a caption " * 8)
    ax.figure.canvas.draw()
    legend = ax.figure.legends[0].get_window_extent()
    assert legend.y1 <= ax.get_window_extent().y0
    assert legend.x1 <= ax.figure.bbox.x1 and legend.y0 >= ax.figure.bbox.y0
    # the saved picture: no blank band wider than a tenth of it on any side
    ax.figure.savefig(tmp_path / "o.png", dpi=60, bbox_inches="tight")
    from matplotlib.image import imread

    ink = (imread(tmp_path / "o.png")[..., :3] < 0.97).any(axis=-1)
    cols, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
    assert cols[0] < 0.1 * ink.shape[1] and cols[-1] > 0.9 * ink.shape[1]
    assert rows[0] < 0.1 * ink.shape[0] and rows[-1] > 0.9 * ink.shape[0]


def test_overlay_and_heatmap_axes_in_metres_or_map_units_with_a_scale_bar(rng):
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    from skhsi.io._geo import map_grid

    cube, mask = rng.random((40, 60, 4)), np.zeros((40, 60), bool)
    grid = map_grid({"map info": ["UTM", "1", "1", "500000", "4000000", "30", "30", "33",
                                  "North", "WGS-84", "units=Meters"]})
    ax = plot_detection_overlay(cube, None, mask, grid=grid)
    assert ax.images[0].get_extent() == [500000, 501800, 3998800, 4000000]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("easting (m)", "northing (m)")
    bars = [a for a in ax.artists if isinstance(a, AnchoredSizeBar)]
    assert [b.txt_label.get_text() for b in bars] == ["200 m"]  # at most a quarter of 1.8 km
    ax = plot_score_heatmap(rng.random((40, 60)), grid=map_grid({}, pixel_size=20))
    assert ax.images[0].get_extent() == [0, 1200, 800, 0]
    assert [a.txt_label.get_text() for a in ax.artists] == ["200 m"]
    assert len(plot_score_heatmap(rng.random((40, 60))).artists) == 0  # pixels: no bar


def test_overlay_validation(cube, tiny_masks):
    truth, pred = tiny_masks
    match = r"mask_pred must have shape \(3, 4\); got shape \(4, 3\)"
    with pytest.raises(ValueError, match=match):
        plot_detection_overlay(cube[:3, :4], truth, pred.T)
    with pytest.raises(ValueError, match=r"pred == -1"):
        plot_detection_overlay(cube[:3, :4], truth, np.where(pred, -1, 1))
    with pytest.raises(ValueError, match="alpha"):
        plot_detection_overlay(cube[:3, :4], truth, pred, alpha=2)


# ------------------------------------------------------------------------------ spectra
def test_spectra_by_label_means_and_bands(cube, wavelengths):
    mask = np.zeros(cube.shape[:2], dtype=bool)
    mask[:2, :3] = True
    ax = plot_spectra_by_label(cube, mask, wavelengths=wavelengths, labels=("bg", "target"))
    background, anomaly = ax.get_lines()
    np.testing.assert_allclose(background.get_xdata(), wavelengths)
    np.testing.assert_allclose(anomaly.get_ydata(), cube[mask].mean(axis=0))
    np.testing.assert_allclose(background.get_ydata(), cube[~mask].mean(axis=0))
    assert [line.get_label() for line in (background, anomaly)] == ["bg (n=36)", "target (n=6)"]
    assert len(ax.collections) == 2  # one shaded ± std band per label
    assert ax.get_xlabel() == "wavelength (nm)"


def test_spectra_by_label_band_index_and_empty_label(cube):
    ax = plot_spectra_by_label(cube, np.zeros(cube.shape[:2], dtype=bool))
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(12))
    assert ax.get_xlabel() == "band index"


def test_spectra_by_label_validation(cube, wavelengths):
    mask = np.zeros(cube.shape[:2], dtype=bool)
    with pytest.raises(ValueError, match=r"wavelengths must have shape \(12,\)"):
        plot_spectra_by_label(cube, mask, wavelengths=wavelengths[:5])
    with pytest.raises(ValueError, match=r"mask must have shape \(6, 7\); got shape \(7, 6\)"):
        plot_spectra_by_label(cube, mask.T)
    with pytest.raises(ValueError, match="labels must hold 2"):
        plot_spectra_by_label(cube, mask, labels=("only",))


# ----------------------------------------------------------------------------- training
def test_training_history_one_panel_per_numeric_key(history):
    fig = plot_training_history(history)
    assert isinstance(fig, Figure)
    assert [a.get_ylabel() for a in fig.axes] == [
        "train_loss", "radius", "n_outside", "valid_auc", "dur"]
    loss = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(loss.get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_allclose(loss.get_ydata(), [1 / e for e in range(1, 6)])
    auc = fig.axes[3].get_lines()[0]  # valid only on even epochs
    np.testing.assert_allclose(auc.get_xdata(), [2, 4])
    assert fig.axes[-1].get_xlabel() == "epoch"


def test_training_history_to_list_and_keys(history):
    class History:
        def to_list(self):
            return history

    fig = plot_training_history(History(), keys=["radius"])
    assert [a.get_ylabel() for a in fig.axes] == ["radius"]
    no_epoch = [{"loss": v} for v in (3.0, np.float32(2.0))]
    line = plot_training_history(no_epoch).axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), [1, 2])


def test_training_history_on_given_axes(history):
    fig, axes = plt.subplots(1, 2)
    assert plot_training_history(history, keys=["train_loss", "radius"], ax=axes) is fig
    with pytest.raises(ValueError, match=r"one Axes per key \(2\); got 1"):
        plot_training_history(history, keys=["train_loss", "radius"], ax=axes[0])


def test_training_history_validation(history):
    with pytest.raises(ValueError, match="history is empty"):
        plot_training_history([])
    with pytest.raises(ValueError, match=r"\['batches'\] are not numeric"):
        plot_training_history(history, keys=["batches"])
    with pytest.raises(ValueError, match="no numeric entries"):
        plot_training_history([{"epoch": 1, "note": "x"}])
    with pytest.raises(ValueError, match="list of dicts"):
        plot_training_history([0.5, 0.4])


# ------------------------------------------------------------------------------- curves
def test_roc_legend_auc_equals_sklearn(rng):
    y = rng.random((3, 10, 10)) < 0.1
    scores = rng.normal(size=y.shape) + 1.5 * y
    ax = plot_roc_curve(y, scores, label="RX")
    assert isinstance(ax, Axes)
    text = legend_texts(ax)[0]
    auc = float(re.fullmatch(r"RX \(AUC = ([\d.]+)\)", text).group(1))
    assert auc == pytest.approx(roc_auc_score(y.ravel(), scores.ravel()), abs=5e-5)
    chance = [line for line in ax.get_lines() if line.get_label() == "chance"]
    assert len(chance) == 1
    np.testing.assert_array_equal(chance[0].get_xydata(), [[0, 0], [1, 1]])


def test_roc_curves_share_one_chance_line(rng):
    y = rng.random(200) < 0.2
    ax = plot_roc_curve(y, rng.random(200), label="a")
    plot_roc_curve(y, rng.random(200), ax=ax, label="b")
    assert sum(line.get_label() == "chance" for line in ax.get_lines()) == 1
    assert len(ax.get_lines()) == 3


def test_precision_recall_legend_ap_equals_sklearn(rng):
    y = rng.random((20, 20)) < 0.05
    scores = rng.normal(size=y.shape) + 2 * y
    ax = plot_precision_recall_curve(y, scores)
    ap = float(re.fullmatch(r"AP = ([\d.]+)", legend_texts(ax)[0]).group(1))
    assert ap == pytest.approx(average_precision_score(y.ravel(), scores.ravel()), abs=5e-5)
    assert legend_texts(ax)[1] == f"chance (prevalence = {y.mean():.3g})"
    plot_precision_recall_curve(y, rng.random(y.shape), ax=ax, label="noise")
    assert legend_texts(ax)[2].startswith("noise (AP = ")
    assert ax.get_xlabel() == "recall" and ax.get_ylabel() == "precision"


@pytest.mark.parametrize("plot", [plot_roc_curve, plot_precision_recall_curve])
def test_curve_validation(plot):
    with pytest.raises(ValueError, match="both anomalies"):
        plot(np.zeros(5, dtype=bool), np.arange(5.0))
    with pytest.raises(ValueError, match=r"same shape; got \(5,\) and \(4,\)"):
        plot(np.array([0, 1, 0, 1, 0]), np.arange(4.0))
    with pytest.raises(ValueError, match="scores contains NaN"):
        plot(np.array([0, 1, 0]), np.array([0.1, np.nan, 0.2]))


# ------------------------------------------------------------------------------- bands
def test_band_importance_highlights_top_k(wavelengths):
    importances = np.array([0.1, 0.9, 0.3, 0.8, 0.2, 0.0, 0.5, 0.4, 0.6, 0.05, 0.7, 0.15])
    ax = plot_band_importance(importances, wavelengths=wavelengths, top_k=3)
    assert isinstance(ax, Axes)
    bars = ax.patches
    assert len(bars) == 12
    np.testing.assert_allclose([b.get_height() for b in bars], importances)
    np.testing.assert_allclose([b.get_x() + b.get_width() / 2 for b in bars], wavelengths)
    highlight = {i for i, b in enumerate(bars) if b.get_facecolor() != bars[0].get_facecolor()}
    assert highlight == {1, 3, 10}
    assert legend_texts(ax) == ["top 3", "other bands"]
    assert ax.get_xlabel() == "wavelength (nm)"


def test_band_importance_validation(wavelengths):
    with pytest.raises(ValueError, match=r"top_k must be an integer in \[1, 3\]; got 4"):
        plot_band_importance([1.0, 2.0, 3.0], top_k=4)
    with pytest.raises(ValueError, match=r"importances must have shape \(n_bands,\)"):
        plot_band_importance(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"wavelengths must have shape \(3,\)"):
        plot_band_importance([1.0, 2.0, 3.0], wavelengths=wavelengths)


# ------------------------------------------------------------------------ all functions
def _draw_all(cube, mask, scores, history):
    yield plot_score_heatmap(scores)
    yield plot_detection_overlay(cube, mask, scores > np.quantile(scores, 0.95))
    yield plot_spectra_by_label(cube, mask)
    yield plot_training_history(history)
    yield plot_roc_curve(mask, scores)
    yield plot_precision_recall_curve(mask, scores)
    yield plot_band_importance(cube.std(axis=(0, 1)), top_k=3)


def test_every_plot_saves_png(tmp_path, cube, history, rng):
    mask = np.zeros(cube.shape[:2], dtype=bool)
    mask[2:4, 3:5] = True
    scores = rng.random(mask.shape) + mask
    for i, drawn in enumerate(_draw_all(cube, mask, scores, history)):
        fig = drawn if isinstance(drawn, Figure) else drawn.figure
        path = tmp_path / f"plot{i}.png"
        fig.savefig(path)
        assert path.stat().st_size > 0


def test_no_plot_calls_show(monkeypatch, cube, history, rng):
    def refuse(*args, **kwargs):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", refuse)
    mask = np.zeros(cube.shape[:2], dtype=bool)
    mask[0, 0] = True
    assert len(list(_draw_all(cube, mask, rng.random(mask.shape), history))) == 7


def test_import_does_not_load_pyplot():
    code = "import sys, skhsi.plotting; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(skhsi.__file__).parents[1], check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- real data
def test_hydice_scene_renders(hydice, tmp_path):
    cube, mask = hydice.cube, hydice.mask
    scores = global_rx(cube)
    assert roc_auc_score(mask.ravel(), scores.ravel()) > 0.9
    ax = plot_roc_curve(mask, scores, label="global RX")
    assert "global RX (AUC = 0." in legend_texts(ax)[0]
    pred = scores >= np.quantile(scores, 0.995)
    ax = plot_detection_overlay(cube, mask, pred)
    tp = int(re.search(r"\d+", legend_texts(ax)[0]).group())
    assert tp == int((mask & pred).sum()) > 0
    # the rendering clips no pixel to black or white in any channel
    eight_bit = np.round(np.asarray(ax.images[0].get_array()) * 255)
    assert not ((eight_bit == 0) | (eight_bit == 255)).any()
    ax.figure.savefig(tmp_path / "overlay.png")
    assert (tmp_path / "overlay.png").stat().st_size > 0


def test_band_importance_bars_stay_visible_at_spectrometer_overlaps():
    # Two bands 0.4 nm apart (as where AVIRIS's spectrometers overlap) must not
    # shrink every bar to a fraction of a nanometre.
    wl = np.r_[np.linspace(400, 690, 30), 690.4, np.linspace(700, 990, 30)]
    ax = plot_band_importance(np.ones(61), wavelengths=wl)
    assert min(b.get_width() for b in ax.patches) > 5


def test_overlay_background_is_muted_unless_asked(cube):
    from skhsi.plotting import false_rgb

    pred = np.zeros(cube.shape[:2], bool)
    colour = plot_detection_overlay(cube, None, pred, background="colour")
    np.testing.assert_allclose(colour.images[0].get_array(), false_rgb(cube))
    muted = np.asarray(plot_detection_overlay(cube, None, pred).images[0].get_array())
    rgb = false_rgb(cube)
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(muted, 0.3 * rgb + 0.7 * grey[..., None])
    with pytest.raises(ValueError, match="background must be 'muted' or 'colour'"):
        plot_detection_overlay(cube, None, pred, background="grey")


_HAD_SCENES = ["HYDICE_data", "sandiego_plane", "abu-airport-2", "abu-airport-4",
               "abu-beach-1", "abu-beach-2", "abu-urban-1", "abu-urban-3"]


@pytest.mark.parametrize("name", _HAD_SCENES + ["indian_pines"])
def test_no_real_scene_renders_a_pixel_black_or_white(name):
    from tests._data import load_had

    if name == "indian_pines":
        from skhsi.datasets import load_indian_pines

        scene = load_indian_pines()
    else:
        scene = load_had(name)
    rgb = false_rgb(scene.cube, scene.wavelengths)
    eight_bit = np.round(rgb * 255).astype(int)
    black = int((eight_bit == 0).all(axis=-1).sum())
    white = int((eight_bit == 255).all(axis=-1).sum())
    clipped_channels = int(((eight_bit == 0) | (eight_bit == 255)).sum())
    assert (black, white, clipped_channels) == (0, 0, 0)
    # and the rendering uses its range (gamma 1.5 lifts the 1st percentile to 58 of 255)
    assert eight_bit.min() < 70 and eight_bit.max() > 215
