"""
Detecting anomalies in a real scene without ground truth
========================================================

Fit skhsi's default small-object detector, the Deep SVDD pipeline and the
classic RX detector to the AVIRIS
Indian Pines scene (145 x 145 pixels, 200 bands, farmland in Indiana), which
ships inside a dependency of skhsi (``tensorly``), so nothing is downloaded.
Show their anomaly-score maps, overlay the pixels flagged by a per-image
quantile threshold on a true-colour rendering, and see where the flagged pixels
fall among the scene's land-cover classes.

The scene has no anomaly ground truth, so there is no ROC AUC here: what the
detectors flag is judged by looking at it and by the classes it falls in. The
detectors are unsupervised; the class labels are only read afterwards, to
describe what was flagged.

Data: Baumgardner, M. F., Biehl, L. L., Landgrebe, D. A. (2015). 220 Band
AVIRIS Hyperspectral Image Data Set: June 12, 1992 Indian Pine Test Site 3.
Purdue University Research Repository. doi:10.4231/R7RX991C (CC BY 3.0).
"""

# %%
# Load the scene
# --------------
# :func:`skhsi.datasets.load_indian_pines` returns a
# :class:`skhsi.io.SpectralImage`: the cube ``(H, W, C)`` (channels last), the
# band centres in nm, and the land-cover labels ``(H, W)`` (0 = unlabelled:
# roads, buildings, field edges).
import matplotlib.pyplot as plt
import numpy as np

from skhsi.anomaly import QuantileBinaryDecider, RXDetector
from skhsi.datasets import load_indian_pines
from skhsi.pipeline import make_attribute_filter_pipeline, make_deep_svdd_pipeline
from skhsi.plotting import plot_detection_overlay, plot_score_heatmap, plot_spectra_by_label

scene = load_indian_pines()
cube, wavelengths, labels = scene.cube, scene.wavelengths, scene.labels
classes = {0: "unlabelled", **scene.metadata["class_names"]}
print(f"cube {cube.shape} {cube.dtype}, {wavelengths[0]:.0f}-{wavelengths[-1]:.0f} nm, "
      f"{int((labels > 0).sum())} labelled pixels")

# %%
# Fit the detectors
# -----------------
# :func:`~skhsi.pipeline.make_attribute_filter_pipeline`, the default of
# ``skhsi detect``, looks for small objects whose spectra differ from their
# surroundings: area attribute filters on the first principal components,
# weighted by local RX and smoothed by a guided filter. It trains nothing.
# :func:`~skhsi.pipeline.make_deep_svdd_pipeline` chains a (no-op) bandpass, a
# per-band z-score and :class:`~skhsi.anomaly.DeepSVDD`. Its ``fit`` first
# initialises every step from statistics (band means and standard deviations,
# the hypersphere centre), then trains the Deep SVDD network for
# ``max_epochs`` epochs. :class:`~skhsi.anomaly.RXDetector` only needs the
# background mean and covariance.
default = make_attribute_filter_pipeline().fit(cube)
deep_svdd = make_deep_svdd_pipeline(max_epochs=5, random_state=0, device="cpu")
deep_svdd.fit(cube)
rx = RXDetector().fit(cube)

# %%
# ``anomaly_score`` keeps the cube's leading shape: a cube ``(H, W, C)`` gives
# a map ``(H, W)``, higher = more anomalous.
scores = {"default (small objects)": default.anomaly_score(cube),
          "Deep SVDD": deep_svdd.anomaly_score(cube), "RX": rx.anomaly_score(cube)}
fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
for ax, (name, score_map) in zip(axes, scores.items()):
    plot_score_heatmap(score_map, ax=ax, title=name)

# %%
# From scores to flagged pixels
# -----------------------------
# :class:`~skhsi.anomaly.QuantileBinaryDecider` flags, per image, the pixels
# whose score is at least the image's ``quantile``: with ``quantile=0.995``,
# the 0.5 % most anomalous pixels (106 of 21,025). The overlay paints them
# over a true-colour rendering (the bands nearest 640, 550 and 460 nm).
decider = QuantileBinaryDecider(quantile=0.995)
flagged = {name: decider.fit_transform(score_map) for name, score_map in scores.items()}
ax = plot_detection_overlay(cube, None, flagged["default (small objects)"],
                            wavelengths=wavelengths, alpha=0.9,
                            title="default detector: the 0.5 % most anomalous pixels")

# %%
# Where the flagged pixels fall
# -----------------------------
# Nearly nine in ten of the pixels the default detector flags lie off the
# fields, on the unlabelled ground (roads, buildings), and most of the rest on
# the small, rare classes such as the stone and steel towers: small objects,
# which is what an anomaly detector should find in farmland. Deep SVDD and RX
# also flag pixels of whole fields whose spectra are rare in the scene.
for name, where in flagged.items():
    ids, counts = np.unique(labels[where], return_counts=True)
    order = np.argsort(-counts)
    print(f"{name}: " + ", ".join(f"{classes[i]} {c}" for i, c in zip(ids[order], counts[order])))
agreement = (flagged["Deep SVDD"] & flagged["RX"]).sum() / flagged["RX"].sum()
print(f"pixels flagged by both Deep SVDD and RX: {agreement:.0%}")

# %%
# Spectra of the flagged pixels
# -----------------------------
# The mean spectrum (± one standard deviation) of the flagged pixels against
# that of the rest of the scene, on the wavelength axis.
ax = plot_spectra_by_label(cube, flagged["default (small objects)"], wavelengths=wavelengths,
                           labels=("rest of the scene", "flagged"))
ax.set_title("default detector: flagged pixels vs the rest")
plt.show()
