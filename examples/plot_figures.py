"""
Every figure, on the real scene and on a synthetic one
======================================================

Fit the recommended Deep SVDD pipeline and RX, then draw what hyperspectral
users look at: the anomaly score map, the flagged pixels over a true-colour
image, mean ± std spectra, the training curves of phase 2, the importance of
every band (occlusion of 8-band windows) — on the AVIRIS Indian Pines scene,
which ships with a dependency of skhsi — and, where a ground-truth mask is
needed, hits, false alarms and misses and the ROC and precision-recall curves,
on a synthetic scene with planted targets
(:func:`skhsi.datasets.make_synthetic_scene`). Every figure is also written as
a PNG into ``skhsi-figures/`` (or the folder named by the ``SKHSI_FIGURES``
environment variable).

Indian Pines: Baumgardner, M. F., Biehl, L. L., Landgrebe, D. A. (2015), Purdue
University Research Repository, doi:10.4231/R7RX991C (CC BY 3.0).
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt

from skhsi.anomaly import QuantileBinaryDecider, RXDetector
from skhsi.datasets import load_indian_pines, make_synthetic_scene
from skhsi.inspection import band_importance
from skhsi.metrics import roc_auc
from skhsi.pipeline import make_deep_svdd_pipeline
from skhsi.plotting import (
    plot_band_importance,
    plot_detection_overlay,
    plot_precision_recall_curve,
    plot_roc_curve,
    plot_score_heatmap,
    plot_spectra_by_label,
    plot_training_history,
)

out = Path(os.environ.get("SKHSI_FIGURES", "skhsi-figures"))
out.mkdir(parents=True, exist_ok=True)


def save(figure, name):
    figure.savefig(out / f"{name}.png", dpi=110, bbox_inches="tight")


# %%
# Fit both detectors on both scenes
# ---------------------------------
scenes = {"indian_pines": load_indian_pines(),
          "synthetic": make_synthetic_scene((80, 80, 100), n_targets=16, random_state=0)}
results = {}
for name, scene in scenes.items():
    pipe = make_deep_svdd_pipeline(max_epochs=5, random_state=0, device="cpu").fit(scene.cube)
    scores = {"Deep SVDD": pipe.anomaly_score(scene.cube),
              "RX": RXDetector().fit(scene.cube).anomaly_score(scene.cube)}
    results[name] = scene, pipe, scores
    if scene.mask is not None:
        print(name, {method: round(roc_auc(scene.mask, s), 4) for method, s in scores.items()})

# %%
# Score maps and detections
# -------------------------
# The flagged pixels are those at or above the 99.5 % quantile of each map.
# Without a mask (Indian Pines) the overlay shows the flagged pixels; with one
# (the synthetic scene) it tells hits, false alarms and misses apart.
for name, (scene, pipe, scores) in results.items():
    ax = plot_score_heatmap(scores["Deep SVDD"], title=f"Deep SVDD anomaly score, {name}")
    save(ax.figure, f"{name}_heatmap")
    flagged = QuantileBinaryDecider(quantile=0.995).fit_transform(scores["Deep SVDD"])
    ax = plot_detection_overlay(scene.cube, scene.mask, flagged, wavelengths=scene.wavelengths,
                                title=f"{name}: Deep SVDD detections")
    save(ax.figure, f"{name}_overlay")

# %%
# Spectra
# -------
# Indian Pines: the flagged pixels against the rest; synthetic: the targets
# against the background.
for name, (scene, pipe, scores) in results.items():
    if scene.mask is None:
        where = QuantileBinaryDecider(quantile=0.995).fit_transform(scores["Deep SVDD"])
        names = ("rest of the scene", "flagged")
    else:
        where, names = scene.mask, ("background", "target")
    ax = plot_spectra_by_label(scene.cube, where, wavelengths=scene.wavelengths, labels=names)
    ax.set_title(f"{name}: mean ± std spectra")
    save(ax.figure, f"{name}_spectra")

# %%
# Phase-2 training curves
# -----------------------
for name, (scene, pipe, scores) in results.items():
    figure = plot_training_history(pipe[-1].history_,
                                   keys=["train_loss", "radius", "n_outside"])
    figure.suptitle(f"{name}: Deep SVDD training")
    save(figure, f"{name}_training")

# %%
# Detection curves (they need a mask: the synthetic scene)
# --------------------------------------------------------
scene, pipe, scores = results["synthetic"]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for method, score_map in scores.items():
    plot_roc_curve(scene.mask, score_map, ax=left, label=method)
    plot_precision_recall_curve(scene.mask, score_map, ax=right, label=method)
fig.suptitle("synthetic scene")
save(fig, "synthetic_curves")

# %%
# Band importance
# ---------------
# How much the Deep SVDD scores of Indian Pines change when a window of 8 bands
# is replaced by its mean, on the wavelength axis.
scene, pipe, scores = results["indian_pines"]
importance = band_importance(pipe, scene.cube, window=8)
ax = plot_band_importance(importance.importances, wavelengths=scene.wavelengths, top_k=8)
ax.set_title("indian_pines: band importance (8-band occlusion)")
save(ax.figure, "indian_pines_band_importance")

print(f"figures written to {out}/")
plt.show()
