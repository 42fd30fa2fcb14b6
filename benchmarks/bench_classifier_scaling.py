"""Benchmark: the few-label classifier's time and peak memory against the scene's size.

Protocol. The embedded Indian Pines scene (145 x 145 x 200, 16 classes,
``skhsi.datasets.load_indian_pines``; no file of shared/data) and its label
map are mirror-tiled to ``side x side`` pixels with ``bench_scaling.build_cube``
(the cube in float32). ``--labels`` pixels per class (10) are drawn from the
tiled label map with ``numpy.random.default_rng(0)``; the model is fitted on
the cube with those labels and predicts every pixel.

Models:

* ``spectral-spatial``: ``SpectralSpatialClassifier()`` (self-training on);
* ``no-self-training``: ``SpectralSpatialClassifier(pseudo_labels=0)``;
* ``svc``: the pixel baseline of ``bench_few_labels_indian_pines.py``,
  ``StandardScaler`` fitted on the labelled pixels and ``SVC(C=100)`` on their
  spectra, predicting every pixel's spectrum.

Each (model, side) runs in a fresh worker process (this script with
``--worker``), so the peak memory is that run's alone: the worker builds the
cube and labels, records its resident memory (``VmRSS``: the baseline, cube
included, and the model's modules imported), times ``fit`` and ``predict`` with
``time.perf_counter`` and reads its peak resident memory (``VmHWM``). Reported:
fit, predict and total seconds, the support vectors kept, overall accuracy on
the tiled label map (a sanity check, not a protocol: test pixels are copies of
the labelled ones' fields), peak RSS, and (peak - baseline) / cube, the working
memory beyond the cube. Summary per model: the log-log slope of total time
against pixel count over the sides from 290 up, and the ratio of its total time
to the SVC's.

Usage::

    python benchmarks/bench_classifier_scaling.py [--sides 145 290 580 1160]
        [--models spectral-spatial no-self-training svc] [--labels 10] [--threads 1]
        [--out benchmarks/results/classifier_scaling.md]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _results import write_results  # noqa: E402
from bench_scaling import _fmt, _slope, _status_mb, build_cube  # noqa: E402

MODELS = {
    "spectral-spatial": "`SpectralSpatialClassifier()`",
    "no-self-training": "`SpectralSpatialClassifier(pseudo_labels=0)`",
    "svc": "SVC (RBF, C=100) on the spectra, z-score on the labelled pixels",
}
SLOPE_FROM = 290  # smallest side of the slope fit


def _model(name):
    if name == "svc":
        from sklearn.svm import SVC

        from bench_few_labels_indian_pines import _Pixels

        return _Pixels(SVC(C=100), "labelled")
    from skhsi.classification import SpectralSpatialClassifier

    return SpectralSpatialClassifier(pseudo_labels=0 if name == "no-self-training" else 200)


def _support_vectors(model):
    return int(len((model.estimator_ if hasattr(model, "estimator_") else model.model).support_))


def worker(args):
    """One (model, side) run; prints its result as one JSON line."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from skhsi.datasets import load_indian_pines

    threadpool_limits(args.threads)
    scene = load_indian_pines()
    cube = build_cube(scene, args.side, scene.cube.shape[2])
    truth = build_cube(SimpleNamespace(cube=scene.labels[..., None]), args.side, 1)[..., 0]
    truth = truth.astype(np.int64)
    del scene
    rng = np.random.default_rng(0)
    labels = np.zeros_like(truth)
    for c in np.unique(truth[truth > 0]):
        where = np.flatnonzero(truth.ravel() == c)
        labels.flat[rng.choice(where, min(args.labels, where.size), replace=False)] = c
    model = _model(args.model)
    import sklearn.preprocessing  # noqa: F401  (imports in the baseline, not the working memory)
    import sklearn.svm  # noqa: F401

    baseline = _status_mb("VmRSS")
    start = time.perf_counter()
    model.fit(cube, labels)
    fit_s = time.perf_counter() - start
    mid = time.perf_counter()
    predicted = model.predict(cube)
    predict_s = time.perf_counter() - mid
    test = (truth > 0) & (labels == 0)
    print(json.dumps({
        "model": args.model, "side": args.side, "fit_s": fit_s, "predict_s": predict_s,
        "total_s": fit_s + predict_s, "support_vectors": _support_vectors(model),
        "accuracy": float((predicted[test] == truth[test]).mean()),
        "baseline_mb": baseline, "peak_mb": _status_mb("VmHWM"),
        "cube_mb": cube.nbytes / 2**20,
    }), flush=True)


def _run_worker(args, model, side):
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--model", model,
               "--side", str(side), "--labels", str(args.labels),
               "--threads", str(args.threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"worker {model} at {side} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[145, 290, 580, 1160])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--labels", type=int, default=10, help="labelled pixels per class")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP threads")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/classifier_scaling.md"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--side", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    started = time.perf_counter()
    models = list(dict.fromkeys(args.models + ["svc"]))
    results = {}
    for side in args.sides:  # every model at one side before the next: the same load
        for model in models:
            results[model, side] = run = _run_worker(args, model, side)
            print(f"{model} {side}: {run['total_s']:.1f} s, peak {run['peak_mb']:.0f} MB",
                  flush=True)
    lines = [
        "# Few-label classifier: time and memory against the scene's size",
        "",
        f"`python benchmarks/bench_classifier_scaling.py` (sides "
        f"{', '.join(map(str, args.sides))}; {args.labels} labels per class; "
        f"{args.threads} BLAS thread(s)). Indian Pines (embedded, 200 bands) mirror-tiled to "
        "side x side pixels, float32; fit on the cube with the drawn labels, predict every "
        "pixel; one fresh process per run. Seconds are wall-clock on a shared machine: "
        "compare within the table. Working memory: (peak RSS - RSS with the cube built and "
        "the model's modules imported) / cube. Accuracy: the unlabelled pixels of the tiled "
        "label map (a sanity check).",
        "",
        "| model | side | pixels | cube MB | fit s | predict s | total s | × SVC | "
        "support vectors | accuracy | peak RSS MB | working memory / cube |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model in models:
        for side in args.sides:
            r, svc = results[model, side], results["svc", side]
            lines.append(
                f"| {MODELS[model]} | {side} | {side * side:,} | {r['cube_mb']:.0f} | "
                f"{r['fit_s']:.1f} | {r['predict_s']:.1f} | {r['total_s']:.1f} | "
                f"{r['total_s'] / svc['total_s']:.1f} | {r['support_vectors']:,} | "
                f"{r['accuracy']:.3f} | {r['peak_mb']:.0f} | "
                f"{(r['peak_mb'] - r['baseline_mb']) / r['cube_mb']:.2f} |")
    lines += ["", "| model | log-log slope of total time (sides ≥ "
              f"{SLOPE_FROM}) | working memory / cube, largest side |", "|---|---|---|"]
    largest = max(args.sides)
    for model in models:
        points = [(s, results[model, s]["total_s"]) for s in args.sides if s >= SLOPE_FROM]
        r = results[model, largest]
        lines.append(f"| {MODELS[model]} | {_fmt(_slope(points))} | "
                     f"{(r['peak_mb'] - r['baseline_mb']) / r['cube_mb']:.2f} |")
    import numpy
    import sklearn

    import skhsi

    lines += ["", f"skhsi {skhsi.__version__}, scikit-learn {sklearn.__version__}, numpy "
              f"{numpy.__version__}, Python {platform.python_version()}, {platform.machine()}. "
              f"Whole run: {(time.perf_counter() - started) / 60:.1f} min.", ""]
    write_results("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
