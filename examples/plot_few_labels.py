"""
Few labels: a classifier that learns from every pixel
=====================================================

With ten labelled pixels per class, what the unlabelled pixels of the scene
say is worth more than any model of the labelled ones.
:class:`~skhsi.classification.SpectralSpatialClassifier` takes its
statistics (standardisation, whitened principal components) from every pixel
of the cube, describes each pixel by its components and their means over
windows of 5 to 33 pixels a side, fits an SVM on the labelled pixels,
smooths the class scores along the image's edges, and fits the SVM again
with the 200 most confident unlabelled pixels of each class added as labels
(self-training).

This example classifies Indian Pines (the labelled scene that ships with
skhsi) from 10 labels per class, drawn from one half of a split by spatial
blocks (:class:`~skhsi.model_selection.SpatialBlockKFold`), so that no test
pixel lies next to a training one, and compares it with an RBF SVC on the
z-scored spectra. ``benchmarks/bench_few_labels_indian_pines.py`` runs the
same comparison over five seeds and three label counts; the user guide gives
its numbers.
"""

# %%
# Labels from one half of a spatial-block split
# ----------------------------------------------
# ``split_labels`` gives a training and a test label map (0 = unlabelled).
# Ten pixels per class are drawn from the training map; every pixel of the
# test map is scored.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skhsi.classification import SpectralSpatialClassifier
from skhsi.datasets import load_indian_pines
from skhsi.model_selection import SpatialBlockKFold

scene = load_indian_pines()
cube, truth = scene.cube.astype(np.float32), scene.labels
cv = SpatialBlockKFold(n_splits=2, block_shape=(15, 15), buffer=2, shuffle=True,
                       random_state=0, on_missing="ignore")
train_map, test_map = next(iter(cv.split_labels(truth)))
rng = np.random.default_rng(0)
labels = np.zeros_like(truth)
for c in np.unique(train_map[train_map > 0]):
    pool = np.flatnonzero(train_map == c)
    labels.flat[rng.choice(pool, min(10, pool.size), replace=False)] = c
test = (test_map > 0) & np.isin(test_map, np.unique(labels[labels > 0]))
print(f"{np.count_nonzero(labels)} labelled pixels, {np.count_nonzero(test)} test pixels")

# %%
# The SVC on the spectra against the spectral-spatial classifier
# --------------------------------------------------------------
# The SVC sees the labelled spectra only; the spectral-spatial classifier is
# given the whole cube and the label map, and learns its statistics from
# every pixel (the test pixels' labels are never seen).
pixels = cube.reshape(-1, cube.shape[-1])
known = labels.ravel() > 0
svc = make_pipeline(StandardScaler(), SVC(C=100)).fit(pixels[known], labels.ravel()[known])
svc_map = svc.predict(pixels).reshape(truth.shape)
clf = SpectralSpatialClassifier().fit(cube, labels)
ours = clf.predict(cube)
print(f"pseudo-labels added: {clf.n_pseudo_labels_.sum()} ({clf.n_pseudo_labels_.min()} "
      f"to {clf.n_pseudo_labels_.max()} per class)")
for name, predicted in (("RBF SVC on the spectra", svc_map),
                        ("SpectralSpatialClassifier", ours)):
    print(f"{name}: overall accuracy {np.mean(predicted[test] == truth[test]):.3f}")

# %%
# The maps on the test blocks
# ---------------------------
# Pixels outside the test blocks are left blank. The spectral-spatial
# classifier's fields are whole where the SVC's are speckled.
shown = np.where(test, truth, 0)
fig, axes = plt.subplots(1, 3, figsize=(11, 4), layout="constrained")
for ax, (title, image) in zip(axes, (("truth", shown),
                                     ("RBF SVC on the spectra", np.where(test, svc_map, 0)),
                                     ("SpectralSpatialClassifier", np.where(test, ours, 0)))):
    ax.imshow(np.ma.masked_equal(image, 0), cmap="tab20", vmin=1, vmax=20,
              interpolation="nearest")
    ax.set_title(title)
    ax.set_axis_off()
plt.show()
