"""Benchmark: autoencoder and VAE detectors on every real scene of shared/data/had.

Protocol (the field's usual one): fit on every pixel of a scene without
labels, score every pixel, pixel-level ROC AUC against the ground-truth mask.
Rows, each with its defaults unless said:

- skhsi ``AutoencoderDetector`` and ``VAEDetector``, spectral (dense, per
  pixel), spatial (convolutional) and spatial with the blind spot, seeds
  ``--seeds`` (mean and min over seeds);
- skhsi ``RXDetector`` (global RX) and scikit-learn ``IsolationForest``
  (defaults, ``random_state=0``, z-scored pixels);
- PyOD ``AutoEncoder`` and ``VAE`` (their defaults but ``batch_size=256``,
  z-scored pixels, the same seeds), when PyOD is installed.

Seconds are the mean wall-clock time of ``fit``; compare them within one run.

Usage::

    python benchmarks/bench_autoencoders.py [--seeds 0 1 2] [--threads 2]
"""

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402
from _scenes import HAD_FILES, load_scene  # noqa: E402

import skhsi  # noqa: E402
from skhsi.anomaly import AutoencoderDetector, RXDetector, VAEDetector  # noqa: E402
from skhsi.metrics import roc_auc  # noqa: E402

SKHSI = {
    "AE spectral": (AutoencoderDetector, {}),
    "AE spatial": (AutoencoderDetector, {"spatial": True}),
    "AE spatial, blind spot": (AutoencoderDetector, {"spatial": True, "blind_spot": True}),
    "VAE spectral": (VAEDetector, {}),
    "VAE spatial": (VAEDetector, {"spatial": True}),
    "VAE spatial, blind spot": (VAEDetector, {"spatial": True, "blind_spot": True}),
}
PYOD_BATCH = 256


def _zscore(cube):
    return StandardScaler().fit_transform(cube.reshape(-1, cube.shape[-1]).astype(np.float64))


def _timed(fit):
    start = time.perf_counter()
    scores = fit()
    return scores, time.perf_counter() - start


def run_skhsi(cls, params, scene, seed):
    def fit():
        det = cls(random_state=seed, device="cpu", **params).fit(scene.cube)
        return det.anomaly_score(scene.cube)

    scores, seconds = _timed(fit)
    return roc_auc(scene.mask, scores), seconds


def run_rx(scene):
    scores, seconds = _timed(lambda: RXDetector().fit(scene.cube).anomaly_score(scene.cube))
    return roc_auc(scene.mask, scores), seconds


def run_iforest(scene):
    pixels = _zscore(scene.cube)
    scores, seconds = _timed(
        lambda: -IsolationForest(random_state=0).fit(pixels).score_samples(pixels))
    return roc_auc(scene.mask.reshape(-1), scores), seconds


def run_pyod(kind, scene, seed):
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.vae import VAE

    pixels = _zscore(scene.cube)
    cls = AutoEncoder if kind == "AutoEncoder" else VAE

    def fit():
        model = cls(batch_size=PYOD_BATCH, random_state=seed, verbose=0, device="cpu")
        return model.fit(pixels).decision_function(pixels)

    scores, seconds = _timed(fit)
    return roc_auc(scene.mask.reshape(-1), scores), seconds


def _pyod_version():
    try:
        import pyod
    except ImportError:
        return None
    return pyod.__version__


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--scenes", nargs="+", default=list(HAD_FILES), choices=list(HAD_FILES))
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "autoencoders.md")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    pyod_version = _pyod_version()

    rows = {}  # name -> scene -> (aucs, seconds)

    def add(name, scene_name, auc, seconds):
        aucs, secs = rows.setdefault(name, {}).setdefault(scene_name, ([], []))
        aucs.append(auc)
        secs.append(seconds)
        print(f"{scene_name:14s} {name:34s} AUC {auc:.4f}  fit {seconds:6.1f} s", flush=True)

    for scene_name in args.scenes:
        scene = load_scene(scene_name)
        add("skhsi `RXDetector` (global RX)", scene_name, *run_rx(scene))
        add("scikit-learn `IsolationForest`", scene_name, *run_iforest(scene))
        for label, (cls, params) in SKHSI.items():
            for seed in args.seeds:
                add(f"skhsi {label}", scene_name, *run_skhsi(cls, params, scene, seed))
        if pyod_version is not None:
            for kind in ("AutoEncoder", "VAE"):
                for seed in args.seeds:
                    add(f"PyOD `{kind}`", scene_name, *run_pyod(kind, scene, seed))

    scenes = args.scenes
    seeds = ", ".join(map(str, args.seeds))
    header = "| detector | " + " | ".join(scenes) + " | mean | min over scenes | fit s (mean) |"
    lines = [
        "# Autoencoder and VAE detectors on the real scenes",
        "",
        f"ROC AUC per scene of `shared/data/had`; seeded rows give the mean over seeds {seeds} "
        "and, in parentheses, the minimum. Fit on all pixels without labels, score all pixels. "
        f"PyOD rows use `batch_size={PYOD_BATCH}` (their default of 32 takes minutes per "
        "scene here) and z-scored pixels.",
        "",
        header,
        "|" + "---|" * (len(scenes) + 4),
    ]
    for name, per_scene in rows.items():
        cells, means, seconds = [], [], []
        for scene_name in scenes:
            aucs, secs = per_scene[scene_name]
            means.append(np.mean(aucs))
            seconds += secs
            cells.append(f"{np.mean(aucs):.4f}" if len(aucs) == 1
                         else f"{np.mean(aucs):.4f} ({np.min(aucs):.4f})")
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {np.mean(means):.4f} | {np.min(means):.4f} | {np.mean(seconds):.1f} |")
    lines += [
        "",
        f"skhsi {skhsi.__version__}, torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}, PyOD {pyod_version or 'not installed'}, Python "
        f"{platform.python_version()}, {torch.get_num_threads()} torch threads.",
        "",
    ]
    write_results("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
