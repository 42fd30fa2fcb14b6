"""Benchmark: a U-Net segmenter of anomalies, trained on other scenes (leave one scene out).

On the eight scenes of ``shared/data/had`` (read with ``benchmarks/_scenes.py``):
for each held-out scene, ``UNetSegmenter`` is trained on the seven others
with their anomaly masks as label maps (1 = background, 2 = anomaly; every
pixel labelled) and scores the held-out scene with the probability of the
anomaly class; pixel-level ROC AUC against its mask, beside global RX
(``RXDetector``, fitted on the held-out scene itself, without labels).

The scenes come from different sensors with different band counts and
carry no wavelengths, so they are brought to a common input without labels:
each scene is reduced to its own first ``--components`` principal
components, whitened (``sklearn.decomposition.PCA(whiten=True)``, fitted on
that scene's pixels). The signs of principal components are arbitrary, so a
component means different things in different scenes; what transfers is the
shape of the anomalies (small objects that stand out of their surroundings
in some components), which is what a spatial network can learn. The U-Net
trains with ``--losses`` (dice and focal by default, both suited to the rare
anomaly class), seed ``--seed``.

Usage::

    python benchmarks/bench_segmentation.py [--losses dice focal] [--threads 1]
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
from sklearn.decomposition import PCA

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402
from _scenes import HAD_FILES, load_scene  # noqa: E402

import skhsi  # noqa: E402
from skhsi.anomaly import RXDetector  # noqa: E402
from skhsi.classification import UNetSegmenter  # noqa: E402
from skhsi.metrics import roc_auc  # noqa: E402

UNET = dict(hidden=16, n_levels=2, tile_size=32, tiles_per_epoch=32, batch_size=8,
            max_epochs=30, device="cpu")


def common_input(cube, components, seed):
    """The scene's first principal components, whitened (fitted on the scene itself)."""
    pixels = cube.reshape(-1, cube.shape[-1]).astype(np.float64)
    reduced = PCA(components, whiten=True, random_state=seed).fit_transform(pixels)
    return reduced.reshape(cube.shape[:2] + (components,)).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--losses", nargs="+", default=["dice", "focal"])
    parser.add_argument("--components", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "segmentation.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")

    scenes = {name: load_scene(name) for name in HAD_FILES}
    inputs = {name: common_input(s.cube, args.components, args.seed)
              for name, s in scenes.items()}
    labels = {name: np.where(np.asarray(s.mask, dtype=bool), 2, 1) for name, s in scenes.items()}

    aucs = {}  # row -> scene -> auc
    seconds = {}
    for held_out, scene in scenes.items():
        start = time.perf_counter()
        rx = RXDetector().fit(scene.cube).anomaly_score(scene.cube)
        seconds.setdefault("RX", []).append(time.perf_counter() - start)
        aucs.setdefault("skhsi `RXDetector` (global RX, on the held-out scene)", {})[
            held_out] = roc_auc(scene.mask, rx)
        others = [name for name in scenes if name != held_out]
        for loss in args.losses:
            row = f"skhsi `UNetSegmenter(loss={loss!r})`, trained on the other seven"
            start = time.perf_counter()
            seg = UNetSegmenter(loss=loss, random_state=args.seed, **UNET)
            seg.fit([inputs[n] for n in others], [labels[n] for n in others])
            anomaly = list(seg.classes_).index(2)
            score = seg.predict_proba(inputs[held_out])[..., anomaly]
            seconds.setdefault(row, []).append(time.perf_counter() - start)
            aucs.setdefault(row, {})[held_out] = roc_auc(scene.mask, score)
            print(f"{held_out:14s} {loss:6s} AUC {aucs[row][held_out]:.4f}  RX "
                  f"{aucs['skhsi `RXDetector` (global RX, on the held-out scene)'][held_out]:.4f}"
                  f"  {seconds[row][-1]:.1f} s", flush=True)

    names = list(scenes)
    lines = [
        "# U-Net anomaly segmentation, leave one scene out",
        "",
        "`python benchmarks/bench_segmentation.py` (defaults). For each scene of "
        "`shared/data/had`, `UNetSegmenter` is trained on the other seven scenes' anomaly "
        "masks (1 = background, 2 = anomaly, every pixel labelled) and scores the held-out "
        "scene with the probability of the anomaly class; pixel-level ROC AUC. Common input: "
        f"each scene's own first {args.components} principal components, whitened (PCA "
        "fitted on that scene, no labels), since the scenes differ in sensor and band count. "
        f"U-Net settings: `{UNET}`, seed {args.seed}. Global RX is fitted on the held-out "
        "scene's raw bands (no labels, no other scene).",
        "",
        "| model | " + " | ".join(names) + " | mean | min | fit s (mean) |",
        "|---|" + "---|" * (len(names) + 3),
    ]
    for row, per_scene in aucs.items():
        values = [per_scene[n] for n in names]
        secs = seconds["RX" if row.startswith("skhsi `RX") else row]
        lines.append(f"| {row} | " + " | ".join(f"{v:.4f}" for v in values) +
                     f" | {np.mean(values):.4f} | {np.min(values):.4f} | {np.mean(secs):.1f} |")
    rx_row = aucs["skhsi `RXDetector` (global RX, on the held-out scene)"]
    lines += ["", "Scenes where the U-Net beats RX:", ""]
    for row, per_scene in aucs.items():
        if row.startswith("skhsi `RX"):
            continue
        wins = [n for n in names if per_scene[n] > rx_row[n]]
        lines.append(f"- {row}: {len(wins)} of {len(names)} ({', '.join(wins) or 'none'})")
    lines += [
        "",
        "Reading: a pixel-level ROC AUC ranks every pixel by its anomaly probability. The dice "
        "loss rewards the overlap of the predicted and true anomaly masks and does not ask "
        "for a graded probability on the background, which is most of the ranking; focal "
        "loss is a per-pixel likelihood and keeps one. Neither transfers as well as RX fitted "
        "on the scene itself: seven scenes with 19 to 202 anomalous pixels each are little to "
        "learn from, and per-scene principal components differ in sign and meaning between "
        "scenes.",
    ]
    lines += ["", f"skhsi {skhsi.__version__}, torch {torch.__version__}, scikit-learn "
              f"{sklearn.__version__}, Python {platform.python_version()}, "
              f"{torch.get_num_threads()} torch thread(s).", ""]
    write_results("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
