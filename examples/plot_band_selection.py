"""
Selecting 10 of 200 bands
=========================

A concrete autoencoder (:class:`~skhsi.selection.ConcreteBandSelector`)
learns which 10 bands of the AVIRIS Indian Pines scene best reconstruct all
200. A fixed rule (:class:`~skhsi.preprocessing.BandSampler`, evenly spaced
bands) picks 10 as well. Both are compared by how well a linear model
rebuilds every band from their 10, and by how much Deep SVDD behind them
agrees with Deep SVDD on all bands about which pixels are the most anomalous
(the scene has no anomaly ground truth).

Placed in front of Deep SVDD in a :class:`skhsi.pipeline.Pipeline`, the
selector is fitted alone in phase 1 (it is a frozen step) and Deep SVDD then
trains on the 10 bands.

Data: AVIRIS Indian Pines, Baumgardner et al. (2015), Purdue University
Research Repository, doi:10.4231/R7RX991C (CC BY 3.0); shipped by tensorly.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LinearRegression

from skhsi.anomaly import DeepSVDD
from skhsi.datasets import load_indian_pines
from skhsi.pipeline import make_deep_svdd_pipeline, make_pipeline
from skhsi.preprocessing import BandSampler, ZScoreNormalizerGlobal
from skhsi.selection import ConcreteBandSelector

scene = load_indian_pines()
cube, wavelengths = scene.cube, scene.wavelengths

# %%
# Three pipelines
# ---------------
# A few epochs keep the example quick; the defaults train longer.
svdd = dict(max_epochs=5, random_state=0, device="cpu")
pipelines = {
    "all 200 bands": make_deep_svdd_pipeline(**svdd),
    "10 concrete bands": make_pipeline(
        ZScoreNormalizerGlobal(),
        ConcreteBandSelector(n_bands=10, max_epochs=10, random_state=0, device="cpu"),
        DeepSVDD(**svdd)),
    "10 evenly spaced bands": make_pipeline(
        ZScoreNormalizerGlobal(), BandSampler(10), DeepSVDD(**svdd)),
}
flagged = {}
for name, pipe in pipelines.items():
    start = time.perf_counter()
    pipe.fit(cube)
    seconds = time.perf_counter() - start
    scores = pipe.anomaly_score(cube)
    flagged[name] = scores >= np.quantile(scores, 0.995)
    print(f"{name:<24} fit {seconds:.1f} s")

# %%
# How well 10 bands stand for 200
# -------------------------------
# The share of the z-scored scene's variance that a linear model from the 10
# bands explains (R²), and the share of the 0.5 % most anomalous pixels of
# Deep SVDD on all bands that Deep SVDD on the 10 bands also flags.
Z = pipelines["all 200 bands"][:-1].transform(cube).reshape(-1, cube.shape[-1])
for name in ("10 concrete bands", "10 evenly spaced bands"):
    bands = pipelines[name][1].selected_bands_
    r2 = LinearRegression().fit(Z[:, bands], Z).score(Z[:, bands], Z)
    shared = (flagged[name] & flagged["all 200 bands"]).sum() / flagged["all 200 bands"].sum()
    print(f"{name:<24} R² {r2:.4f}, flags {shared:.0%} of what all bands flag")

# %%
# Which bands were chosen
# -----------------------
# The selected bands over the scene's mean spectrum, and each selection row's
# final probabilities over the bands.
selector = pipelines["10 concrete bands"][1]
sampler = pipelines["10 evenly spaced bands"][1]
print("concrete bands (nm):", np.round(np.sort(wavelengths[selector.selected_bands_])).tolist())
print("evenly spaced (nm): ", np.round(wavelengths[sampler.selected_bands_]).tolist())

fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), layout="constrained")
top.plot(wavelengths, cube.reshape(-1, cube.shape[-1]).mean(axis=0), label="scene mean")
for band in selector.selected_bands_:
    top.axvline(wavelengths[band], color="k", lw=0.8, ls="--")
top.set(xlabel="wavelength (nm)", ylabel="mean value", title="concrete selection (dashed)")
top.legend()
bottom.imshow(selector.selection_weights_, aspect="auto", cmap="viridis")
bottom.set(xlabel="band index", ylabel="selection row", title="selection probabilities")
plt.show()
