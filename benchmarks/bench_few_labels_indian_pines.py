"""Benchmark: few labels on Indian Pines (the embedded scene), spatial blocks apart.

Split halves of Indian Pines leave most classes on one side only (a column
split shares 6 of its 16 classes), so the split is by spatial blocks:
:class:`skhsi.model_selection.SpatialBlockKFold` (15 x 15 blocks, a buffer of
2 pixels, 2 folds, shuffled with the seed) gives a training and a test label
map; ``n`` labelled pixels per class are drawn from the training map
(``numpy.random.default_rng(seed)``, classes in increasing order), and every
test pixel of a class that has training labels is scored. Models see the
whole cube without its test labels (the unlabelled pixels of the scene to be
classified, as in transductive few-label work; the second SVC row's scaler
sees them too). Rows: an RBF SVC (C=100) on z-scored spectra, the scaler
fitted on the labelled pixels or on the whole cube; a random forest (300
trees) on spectra z-scored on the whole cube; skhsi
``SpectralSpatialClassifier()``, and without its self-training
(``pseudo_labels=0``); with ``--models``, also the SimCLR models of
``benchmarks/_simclr_models.py`` (encoder pretrained on every pixel of the
cube, or left at its statistical initialisation, then a linear or a fine-tuned
head). Cells: overall accuracy, mean ± standard deviation over the seeds.

Usage::

    python benchmarks/bench_few_labels_indian_pines.py [--seeds 0 1 2 3 4]
        [--models SUBSTRING ...] [--threads 1]
        [--out benchmarks/results/few_labels_indian_pines.md]
"""

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _results import write_results  # noqa: E402

from skhsi.classification import SpectralSpatialClassifier  # noqa: E402
from skhsi.datasets import load_indian_pines  # noqa: E402
from skhsi.model_selection import SpatialBlockKFold  # noqa: E402

COUNTS = (5, 10, 20)


class _Pixels:
    """A pixel classifier on z-scored spectra; the scaler sees the labelled pixels or all."""

    def __init__(self, model, scaler_on):
        self.model, self.scaler_on = model, scaler_on

    def fit(self, cube, labels):
        pixels, known = cube.reshape(-1, cube.shape[-1]), labels.ravel() > 0
        self.scaler = StandardScaler().fit(pixels[known] if self.scaler_on == "labelled"
                                           else pixels)
        self.model.fit(self.scaler.transform(pixels[known]), labels.ravel()[known])
        return self

    def predict(self, cube):
        pixels = self.scaler.transform(cube.reshape(-1, cube.shape[-1]))
        return self.model.predict(pixels).reshape(cube.shape[:2])


MODELS = {
    "SVC (RBF, C=100), z-score on the labelled pixels":
        lambda seed: _Pixels(SVC(C=100), "labelled"),
    "SVC (RBF, C=100), z-score on the whole cube": lambda seed: _Pixels(SVC(C=100), "cube"),
    "random forest (300 trees), z-score on the whole cube":
        lambda seed: _Pixels(RandomForestClassifier(300, random_state=seed), "cube"),
    "skhsi `SpectralSpatialClassifier()`": lambda seed: SpectralSpatialClassifier(),
    "skhsi `SpectralSpatialClassifier(pseudo_labels=0)` (no self-training)":
        lambda seed: SpectralSpatialClassifier(pseudo_labels=0),
}
OURS = "skhsi `SpectralSpatialClassifier()`"


def _all_models():
    """MODELS and the SimCLR models of ``_simclr_models.py``."""
    from _simclr_models import named_models

    return {**MODELS, **named_models()}


def draw(gt, n, seed):
    """The training label map (n per class) and the test mask of one seed."""
    cv = SpatialBlockKFold(n_splits=2, block_shape=(15, 15), buffer=2, shuffle=True,
                           random_state=seed, on_missing="ignore")
    train_map, test_map = next(iter(cv.split_labels(gt)))
    rng = np.random.default_rng(seed)
    train = np.zeros_like(gt)
    for label in np.unique(train_map[train_map > 0]):
        pool = np.flatnonzero(train_map == label)
        train.flat[rng.choice(pool, min(n, len(pool)), replace=False)] = label
    test = (test_map > 0) & np.isin(test_map, np.unique(train[train > 0]))
    return train, test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--models", nargs="+", default=None,
                        help="substrings of the model names to run (default: the baselines "
                             "and SpectralSpatialClassifier)")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        "few_labels_indian_pines.md")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    models = MODELS if args.models is None else {
        name: make for name, make in _all_models().items()
        if any(part in name for part in args.models)}
    if not models:
        raise SystemExit(f"no model name contains any of {args.models}")
    started = time.perf_counter()
    scene = load_indian_pines()
    cube, gt = scene.cube.astype(np.float32), scene.labels.astype(np.int64)
    results, seconds = {}, {}
    for name, make in models.items():
        start = time.perf_counter()
        for n in COUNTS:
            accuracies = []
            for seed in args.seeds:
                train, test = draw(gt, n, seed)
                predicted = make(seed).fit(cube, train).predict(cube)
                accuracies.append(accuracy_score(gt[test], predicted[test]))
            results[name, n] = accuracies
            print(name, n, f"{np.mean(accuracies):.3f}", flush=True)
        seconds[name] = (time.perf_counter() - start) / (len(COUNTS) * len(args.seeds))
    command = "python benchmarks/bench_few_labels_indian_pines.py"
    if args.models is not None:
        command += " --models " + " ".join(
            f"'{m}'" if " " in m else m for m in args.models)
    if args.seeds != [0, 1, 2, 3, 4]:
        command += " --seeds " + " ".join(map(str, args.seeds))
    title = "Few labels" if OURS in models or not any("SimCLR" in m for m in models) \
        else "SimCLR pretraining"
    lines = [f"# {title}: Indian Pines, spatial blocks apart", "",
             f"Produced by `{command}` (seeds "
             f"{', '.join(map(str, args.seeds))}, {args.threads} torch / BLAS thread(s)). "
             "The embedded scene (145 x 145 x 200, 16 "
             "classes); `SpatialBlockKFold(n_splits=2, block_shape=(15, 15), buffer=2, "
             "shuffle=True, random_state=seed)`, first fold; n labelled pixels per class from "
             "its training map, overall accuracy on its test map (classes with training "
             "labels). Mean ± standard deviation over the seeds.", "",
             "| model | " + " | ".join(f"OA n={n}" for n in COUNTS)
             + " | seconds per fit and prediction |",
             "|---|" + "---|" * (len(COUNTS) + 1)]
    for name in models:
        cells = [f"{np.mean(results[name, n]):.3f} ± {np.std(results[name, n]):.3f}"
                 for n in COUNTS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {seconds[name]:.1f} |")
    if OURS in models and len(models) > 1:
        lines += _margins(models, results)
    lines += _pretraining(models, results)
    lines += ["", f"Whole run: {(time.perf_counter() - started) / 60:.1f} min. "
              f"scikit-learn {sklearn.__version__}, torch {torch.__version__}, "
              f"Python {platform.python_version()}."]
    write_results("\n".join(lines) + "\n", args.out)


def _margins(models, results):
    """skhsi's classifier against the best baseline (non-skhsi) row at every label count."""
    lines = ["", "| n | best baseline | its OA | skhsi OA | margin | seed std (skhsi) |",
             "|---|---|---|---|---|---|"]
    ours = OURS
    for n in COUNTS:
        best = max((k for k in models if not k.startswith("skhsi")),
                   key=lambda k: np.mean(results[k, n]))
        margin = np.mean(results[ours, n]) - np.mean(results[best, n])
        lines.append(f"| {n} | {best} | {np.mean(results[best, n]):.3f} | "
                     f"{np.mean(results[ours, n]):.3f} | {margin:+.3f} | "
                     f"{np.std(results[ours, n]):.3f} |")
    return lines


def _pretraining(models, results):
    """Every SimCLR head with pretraining against the same head without it."""
    pairs = [(name, name.replace("SimCLR", "no pretraining")) for name in models
             if "SimCLR" in name and name.replace("SimCLR", "no pretraining") in models]
    if not pairs:
        return []
    lines = ["", "Pretraining against none, the same head (OA with pretraining − OA "
             "without, mean over the seeds; in brackets the seeds on which pretraining "
             "is ahead):", "",
             "| head | " + " | ".join(f"n={n}" for n in COUNTS) + " |",
             "|---|" + "---|" * len(COUNTS)]
    for pretrained, plain in pairs:
        cells = []
        for n in COUNTS:
            a, b = np.asarray(results[pretrained, n]), np.asarray(results[plain, n])
            cells.append(f"{np.mean(a - b):+.3f} ({int(np.sum(a > b))}/{len(a)})")
        head = pretrained.split("(")[0].replace("skhsi SimCLR + ", "").strip()
        lines.append(f"| {head} | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    main()
