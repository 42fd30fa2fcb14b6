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

from ._curves import (plot_band_importance, plot_precision_recall_curve, plot_roc_curve,
                      plot_training_history)
from ._images import (false_rgb, plot_detection_overlay, plot_score_heatmap,
                      plot_spectra_by_label, rgb_band_indices)

__all__ = ["false_rgb", "plot_band_importance", "plot_detection_overlay",
           "plot_precision_recall_curve", "plot_roc_curve", "plot_score_heatmap",
           "plot_spectra_by_label", "plot_training_history", "rgb_band_indices"]
