"""
Detecting anomalies in the HYDICE scene
=======================================

Fit the recommended Deep SVDD pipeline and the classic RX detector to the
bundled HYDICE urban scene (100 x 80 pixels, 162 bands, 19 anomalous pixels:
cars and roofs), compare their ROC AUC, show their anomaly-score maps and
overlay the pixels flagged by a per-image quantile threshold on the scene.

Both detectors are unsupervised: they are fitted on the whole unlabelled cube,
and the ground-truth mask is only used to evaluate them.
"""

# %%
# Load the scene
# --------------
# :func:`skhsi.datasets.load_scene` returns a :class:`skhsi.io.SpectralImage`:
# the cube ``(H, W, C)`` (channels last) and the boolean ground-truth mask
# ``(H, W)``, ``True`` = anomaly.
import matplotlib.pyplot as plt

from skhsi.anomaly import QuantileBinaryDecider, RXDetector
from skhsi.datasets import load_scene
from skhsi.metrics import average_precision, roc_auc
from skhsi.pipeline import make_deep_svdd_pipeline
from skhsi.plotting import plot_detection_overlay, plot_roc_curve, plot_score_heatmap

scene = load_scene("hydice")
cube, mask = scene.cube, scene.mask
print(f"cube {cube.shape} {cube.dtype}, {int(mask.sum())} anomalous pixels")

# %%
# Fit the detectors
# -----------------
# :func:`~skhsi.pipeline.make_deep_svdd_pipeline` chains a (no-op) bandpass, a
# per-band z-score and :class:`~skhsi.anomaly.DeepSVDD`. Its ``fit`` first
# initialises every step from statistics (band means and standard deviations,
# the hypersphere centre), then trains the Deep SVDD network for
# ``max_epochs`` epochs. :class:`~skhsi.anomaly.RXDetector` only needs the
# background mean and covariance.
deep_svdd = make_deep_svdd_pipeline(max_epochs=5, random_state=0, device="cpu")
deep_svdd.fit(cube)
rx = RXDetector().fit(cube)

# %%
# ``anomaly_score`` keeps the cube's leading shape: a cube ``(H, W, C)`` gives
# a map ``(H, W)``, higher = more anomalous.
scores = {"Deep SVDD": deep_svdd.anomaly_score(cube), "RX": rx.anomaly_score(cube)}
for name, score_map in scores.items():
    print(f"{name:9s}  map {score_map.shape}  ROC AUC {roc_auc(mask, score_map):.4f}  "
          f"AP {average_precision(mask, score_map):.4f}")

# %%
# Score maps
# ----------
# :func:`skhsi.plotting.plot_score_heatmap` scales each map to [0, 1].
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), layout="constrained")
axes[0].imshow(mask, cmap="gray", interpolation="nearest")
axes[0].set(title="ground truth", xticks=[], yticks=[])
for ax, (name, score_map) in zip(axes[1:], scores.items()):
    plot_score_heatmap(score_map, ax=ax, title=name)

# %%
# ROC curves
# ----------
# Passing the Axes of the first call draws both curves on one plot. In
# practice only low false-positive rates matter (1 % of this scene is 80
# pixels), so we zoom in on them.
ax = None
for name, score_map in scores.items():
    ax = plot_roc_curve(mask, score_map, ax=ax, label=name)
ax.set_xlim(0, 0.1)

# %%
# From scores to a mask
# ---------------------
# :class:`~skhsi.anomaly.QuantileBinaryDecider` flags, per image, the pixels
# whose score is at least the image's ``quantile``. With ``quantile=0.997``
# about 0.3 % of the 8000 pixels (24) are flagged, a little more than the 19
# anomalous ones. The overlay paints hits, false alarms and misses over a
# false-colour image of the scene.
decider = QuantileBinaryDecider(quantile=0.997)
flagged = decider.fit_transform(scores["Deep SVDD"])
threshold = decider.thresholds(scores["Deep SVDD"]).item()
print(f"threshold {threshold:.3g}: {int(flagged.sum())} pixels flagged, "
      f"{int((flagged & mask).sum())} of them anomalous")
plot_detection_overlay(cube, mask, flagged)
plt.show()
