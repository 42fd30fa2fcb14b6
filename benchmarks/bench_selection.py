"""Benchmark: learned spectral reduction and band selection on the real scenes of shared/data/had.

On both real scenes of shared/data/had (``hydice``, ``sandiego``), z-scored per band:

(a) reconstruction MSE of the z-scored bands from k = 3, 10, 30 features:
    :class:`~skhsi.selection.LearnableChannelMixer` (one linear layer, trained
    alone on reconstruction), :class:`~skhsi.selection.ConcreteBandSelector`
    (concrete autoencoder) and scikit-learn's ``PCA`` for reference. To
    compare like with like, every method's features are mapped back to the
    bands by the same least-squares linear fit (for PCA this is exactly its
    reconstruction), and the MSE is averaged over pixels and bands;
(b) the concrete selector's bands at k = 10 for three seeds and their
    pairwise Jaccard overlap;
(c) Deep SVDD on all bands (``make_deep_svdd_pipeline``) against pipelines
    with 10 selected (concrete) or mixed bands in front of Deep SVDD, the
    reducer either fitted alone and frozen or trained end to end through the
    Deep SVDD objective: ROC AUC and fit time.

Torch runs on one CPU thread (``--threads``) so that times are comparable on
a shared machine. Prints markdown tables and writes them to
``benchmarks/results/selection.md``.

Usage::

    python benchmarks/bench_selection.py [--threads 1] [--out PATH]
"""

import argparse
import itertools
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402

import numpy as np  # noqa: E402
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression

from skhsi.anomaly import DeepSVDD
from _scenes import load_scene  # noqa: E402
from skhsi.metrics import roc_auc
from skhsi.pipeline import make_deep_svdd_pipeline, make_pipeline
from skhsi.preprocessing import ZScoreNormalizerGlobal
from skhsi.selection import ConcreteBandSelector, LearnableChannelMixer

SCENES = ("hydice", "sandiego")
KS = (3, 10, 30)
SEEDS = (0, 1, 2)


def _mse_from(features, target):
    fit = LinearRegression().fit(features, target)
    return float(np.mean((fit.predict(features) - target) ** 2))


def reconstruction(pixels, seeds_k10):
    rows, bands = [], {}
    for k in KS:
        pca = PCA(k, random_state=0).fit(pixels)
        mse_pca = float(np.mean((pca.inverse_transform(pca.transform(pixels)) - pixels) ** 2))
        t0 = time.perf_counter()
        mixer = LearnableChannelMixer(k, normalize_output=False, init_method="xavier",
                                      max_epochs=50, lr=1e-2, batch_size=256, device="cpu",
                                      random_state=0).fit(pixels)
        t_mix = time.perf_counter() - t0
        t0 = time.perf_counter()
        sel = ConcreteBandSelector(k, device="cpu", random_state=0).fit(pixels)
        t_sel = time.perf_counter() - t0
        if k == 10:
            bands[0] = sel.selected_bands_
        rows.append((k, mse_pca, _mse_from(mixer.transform(pixels), pixels), t_mix,
                     _mse_from(sel.transform(pixels), pixels), t_sel))
    for seed in seeds_k10:
        if seed not in bands:
            bands[seed] = ConcreteBandSelector(10, device="cpu",
                                               random_state=seed).fit(pixels).selected_bands_
    return rows, bands


def _svdd(**kw):
    return DeepSVDD(random_state=0, device="cpu", **kw)


def detection_pipelines():
    def reducer_pipe(reducer):
        return make_pipeline(ZScoreNormalizerGlobal(random_state=0), reducer, _svdd())

    return {
        "Deep SVDD, all bands": lambda: make_deep_svdd_pipeline(random_state=0, device="cpu"),
        "concrete 10, fitted alone (frozen)": lambda: reducer_pipe(
            ConcreteBandSelector(10, device="cpu", random_state=0)),
        "concrete 10, end to end": lambda: reducer_pipe(
            ConcreteBandSelector(10, trainable=True, random_state=0)),
        "mixer 10, fitted alone (frozen)": lambda: reducer_pipe(
            LearnableChannelMixer(10, device="cpu", random_state=0)),
        "mixer 10, end to end": lambda: reducer_pipe(
            LearnableChannelMixer(10, trainable=True, random_state=0)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "selection.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    lines = [
        "# Spectral reduction and band selection",
        "",
        f"Produced by `benchmarks/bench_selection.py` on {platform.machine()}, "
        f"torch {torch.__version__}, {args.threads} CPU thread(s), device cpu. "
        "Scenes z-scored per band.",
        "",
    ]
    recon, jaccard, detect = [], [], []
    for name in SCENES:
        scene = load_scene(name)
        cube = scene.cube.astype(np.float64)
        pixels = ZScoreNormalizerGlobal().fit_transform(cube.reshape(-1, cube.shape[-1]))
        rows, bands = reconstruction(pixels, SEEDS)
        recon += [(name,) + row for row in rows]
        sets = {seed: set(b.tolist()) for seed, b in bands.items()}
        pairs = [len(sets[a] & sets[b]) / len(sets[a] | sets[b])
                 for a, b in itertools.combinations(SEEDS, 2)]
        jaccard.append((name, {s: sorted(sets[s]) for s in SEEDS}, float(np.mean(pairs)),
                        float(np.min(pairs))))
        for label, build in detection_pipelines().items():
            pipe = build()
            t0 = time.perf_counter()
            pipe.fit(cube)
            elapsed = time.perf_counter() - t0
            detect.append((name, label, roc_auc(scene.mask, pipe.anomaly_score(cube)), elapsed))
            print(f"{name:9s} {label:36s} AUC {detect[-1][2]:.4f}  {elapsed:6.1f} s", flush=True)

    lines += ["## (a) Reconstruction MSE of the z-scored bands", "",
              "Least-squares linear map from the k features back to all bands; mean over "
              "pixels and bands (1.0 = predicting the band means).", "",
              "| scene | k | PCA | mixer | mixer fit s | concrete | concrete fit s |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {s} | {k} | {p:.4f} | {m:.4f} | {tm:.1f} | {c:.4f} | {tc:.1f} |"
              for s, k, p, m, tm, c, tc in recon]
    lines += ["", "## (b) Concrete selector at k = 10: bands per seed and overlap", "",
              "| scene | seed 0 | seed 1 | seed 2 | mean Jaccard | min Jaccard |",
              "|---|---|---|---|---:|---:|"]
    lines += [f"| {s} | {b[0]} | {b[1]} | {b[2]} | {mj:.2f} | {nj:.2f} |"
              for s, b, mj, nj in jaccard]
    lines += ["", "## (c) Anomaly detection: Deep SVDD behind 10 selected or mixed bands", "",
              "Deep SVDD defaults (RBF features, one-class objective, 20 epochs), random_state=0; "
              "'fitted alone' = the reducer trained on its own reconstruction objective and "
              "kept fixed, 'end to end' = initialised, then trained through the Deep SVDD "
              "objective.", "",
              "| scene | pipeline | ROC AUC | fit s |", "|---|---|---:|---:|"]
    lines += [f"| {s} | {label} | {auc:.4f} | {t:.1f} |" for s, label, auc, t in detect]
    text = "\n".join(lines) + "\n"
    write_results(text, args.out)
    return text


if __name__ == "__main__":
    main()
