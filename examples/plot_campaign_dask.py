"""
Scoring a campaign of ENVI files on a dask cluster
==================================================

A flight campaign is many files of the same area and sensor: fit a detector
once, then score every file block by block on a dask cluster, writing one
score map per file. :func:`skhsi.parallel.from_envi` gives a lazy dask array
whose blocks the workers read from the file themselves, and
:func:`skhsi.parallel.store_scores` writes the block-wise scores into a
``.npy`` file, each worker writing its own blocks, so neither the cubes nor
the score maps have to fit in the memory of any one process.

The campaign here is synthetic, so that the example runs anywhere and has a
ground truth: one scene from :func:`skhsi.datasets.make_synthetic_scene` (a
mixed background with planted sub-pixel targets) cut into three flight lines,
written as ENVI files in a temporary folder. With your own files, start at
:func:`~skhsi.parallel.from_envi`.
"""

# %%
# The campaign: three ENVI files
# ------------------------------
# Three adjacent flight lines of 64 x 64 pixels and 60 bands, with their
# target masks (kept aside here to score the result; the detector never sees
# them).
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster

from skhsi.datasets import make_synthetic_scene
from skhsi.io import read_envi, write_envi
from skhsi.metrics import roc_auc
from skhsi.parallel import from_envi, store_scores
from skhsi.pipeline import make_deep_svdd_pipeline
from skhsi.plotting import plot_score_heatmap

scene = make_synthetic_scene((192, 64, 60), n_targets=24, random_state=0)
workdir = tempfile.TemporaryDirectory(prefix="campaign-")
folder = Path(workdir.name)
masks = {}
for k in range(3):
    rows = slice(64 * k, 64 * (k + 1))
    header, _ = write_envi(folder / f"line_{k}.hdr", scene.cube[rows], scene.wavelengths,
                           interleave="bil")
    masks[header] = scene.mask[rows]
print(f"{len(masks)} files in {folder.name}:", ", ".join(p.name for p in sorted(masks)))

# %%
# Fit once, on a sample of the campaign
# -------------------------------------
# A fitted detector does not care how pixels are arranged, so it is fitted on
# a random sample of pixels drawn from every file (memory-mapped, read only
# where indexed) and then scores whole files.
rng = np.random.default_rng(0)
sample = np.concatenate([
    read_envi(path).cube.reshape(-1, 60)[np.sort(rng.choice(64 * 64, 1500, replace=False))]
    for path in sorted(masks)])
detector = make_deep_svdd_pipeline(hidden=32, n_rff=128, rep_dim=16, max_epochs=5,
                                   random_state=0, device="cpu").fit(sample)
print(f"fitted on {sample.shape[0]} pixels of {sample.shape[1]} bands")

# %%
# Score every file on a local cluster
# -----------------------------------
# ``LocalCluster`` starts a scheduler and workers on this machine; a
# ``Client`` makes it dask's scheduler for everything computed while it is
# open. Here the two workers are threads of this process (torch and numpy
# release the GIL while they compute); ``processes=True``, or
# ``Client("tcp://scheduler:8786")`` for a cluster of machines sharing the
# files' folder, runs the same code in worker processes. Each file is read in
# blocks of 32 lines.
with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                  dashboard_address=":0") as cluster, Client(cluster):
    outputs = {}
    for path in sorted(masks):
        cube = from_envi(path, chunks=(32, -1, -1))
        outputs[path] = store_scores(detector.anomaly_score, cube,
                                     path.with_name(path.stem + "_scores.npy"))

# %%
# Summary
# -------
# The score maps are ordinary ``.npy`` files; ``np.load(..., mmap_mode="r")``
# reads them without loading them. They equal the scores computed in memory.
for path, out in outputs.items():
    scores = np.load(out, mmap_mode="r")
    assert np.allclose(scores, detector.anomaly_score(read_envi(path).cube), rtol=1e-5)
    print(f"{out.name}: {scores.shape}, targets {int(masks[path].sum())}, "
          f"ROC AUC {roc_auc(masks[path], scores):.3f}")

# %%
# One score map
# -------------
path = sorted(masks)[1]
fig, ax = plt.subplots(figsize=(5, 4.5))
plot_score_heatmap(np.load(outputs[path]), ax=ax, title=f"{path.stem}: Deep SVDD score")
ax.contour(masks[path], levels=[0.5], colors="cyan", linewidths=0.8)
plt.show()

workdir.cleanup()
