"""Benchmark: ONNX export, onnxruntime's scores and CPU throughput against skhsi's.

On every scene of ``shared/data/had`` (``_scenes.HAD_FILES``), four detectors
are fitted on every pixel of the scene without labels:

- ``RXDetector()``;
- ``make_pipeline(ZScoreNormalizerGlobal(), TrainablePCA(10), RXDetector())``;
- ``make_deep_svdd_pipeline(max_epochs=E)`` (bandpass -> z-score -> Deep SVDD);
- ``AutoencoderDetector(max_epochs=E)`` (spectral).

Each is exported with :func:`skhsi.export.to_onnx` and scored by onnxruntime
(``CPUExecutionProvider``) on the scene's float32 pixel table, the same table
skhsi's ``anomaly_score`` scores. Reported: the largest absolute difference
between the two, the same relative to the largest score, and the pixels per
second of each (best of ``--repeat``, interleaved so that changes in the
machine's load hit both alike), with the same thread count for torch and
onnxruntime. The training length ``E`` does not matter to the comparison:
both score the same fitted model.

Usage::

    python benchmarks/bench_onnx.py [--scenes ...] [--epochs 2] [--threads 1]
        [--repeat 3] [--out benchmarks/results/onnx.md]
"""

import argparse
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402
from _scenes import HAD_FILES, load_scene  # noqa: E402

import skhsi  # noqa: E402
from skhsi.anomaly import AutoencoderDetector, RXDetector  # noqa: E402
from skhsi.decomposition import TrainablePCA  # noqa: E402
from skhsi.export import to_onnx  # noqa: E402
from skhsi.pipeline import make_deep_svdd_pipeline, make_pipeline  # noqa: E402
from skhsi.preprocessing import ZScoreNormalizerGlobal  # noqa: E402


def models(epochs):
    """The detectors compared, by name, as factories."""
    return {
        "RX": lambda: RXDetector(),
        "z-score → PCA(10) → RX": lambda: make_pipeline(
            ZScoreNormalizerGlobal(), TrainablePCA(10), RXDetector()),
        f"Deep SVDD pipeline ({epochs} epochs)": lambda: make_deep_svdd_pipeline(
            max_epochs=epochs, random_state=0, device="cpu"),
        f"AutoencoderDetector ({epochs} epochs)": lambda: AutoencoderDetector(
            max_epochs=epochs, random_state=0, device="cpu"),
    }


def session(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def interleaved(contenders, repeat):
    """Best wall time of each contender over ``repeat`` round-robin rounds, and its result."""
    best = {name: math.inf for name in contenders}
    results = {}
    for _ in range(repeat):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            results[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best, results


def run_one(name, make, scene, threads, repeat, folder):
    cube = scene.cube
    pixels = np.ascontiguousarray(cube.reshape(-1, cube.shape[-1]), dtype=np.float32)
    est = make().fit(cube)
    path = Path(folder) / "model.onnx"
    t0 = time.perf_counter()
    to_onnx(est, path)
    export_s = time.perf_counter() - t0
    sess = session(path, threads)
    contenders = {"skhsi": lambda: est.anomaly_score(pixels),
                  "onnx": lambda: sess.run(None, {"pixels": pixels})[0]}
    for fn in contenders.values():  # first calls allocate (onnxruntime's arena): not timed
        fn()
    best, results = interleaved(contenders, repeat)
    ref, got = np.asarray(results["skhsi"], dtype=np.float64), results["onnx"].astype(np.float64)
    diff = float(np.max(np.abs(got - ref)))
    n = pixels.shape[0]
    return {
        "scene": scene.metadata["name"], "model": name, "n": n, "bands": pixels.shape[1],
        "max_abs": diff, "max_rel": diff / float(np.max(np.abs(ref))),
        "skhsi_px_s": n / best["skhsi"], "onnx_px_s": n / best["onnx"],
        "export_s": export_s, "size_kb": path.stat().st_size / 1024,
    }


def report(rows, args, threads):
    lines = [
        "# ONNX export: onnxruntime against skhsi",
        "",
        f"Every scene of `shared/data/had`; each detector fitted on all the scene's pixels "
        f"(no labels), exported with `skhsi.export.to_onnx` and scored by onnxruntime "
        f"{ort.__version__} (`CPUExecutionProvider`) on the scene's float32 pixel table, the "
        f"same table skhsi's `anomaly_score` scores. {threads} thread(s) for torch and for "
        f"onnxruntime; each timing best of {args.repeat}, interleaved, after one untimed call "
        "of each. max |Δ| is the largest absolute difference between the two score maps, "
        "rel. the same divided by the largest score.",
        "",
        "| scene | pixels × bands | detector | max abs diff | rel. | skhsi px/s | "
        "onnxruntime px/s | onnx / skhsi | export s | file KiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scene']} | {r['n']:,} × {r['bands']} | {r['model']} | {r['max_abs']:.2e} | "
            f"{r['max_rel']:.1e} | {r['skhsi_px_s']:,.0f} | {r['onnx_px_s']:,.0f} | "
            f"{r['onnx_px_s'] / r['skhsi_px_s']:.2f}× | {r['export_s']:.1f} | "
            f"{r['size_kb']:,.0f} |")
    lines += ["", "## Summary over the scenes", "",
              "| detector | worst rel. diff | worst max abs diff | onnx / skhsi throughput "
              "(median, min–max) |", "|---|---|---|---|"]
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        ratios = np.array([r["onnx_px_s"] / r["skhsi_px_s"] for r in mine])
        lines.append(
            f"| {name} | {max(r['max_rel'] for r in mine):.1e} | "
            f"{max(r['max_abs'] for r in mine):.2e} | {np.median(ratios):.2f}× "
            f"({ratios.min():.2f}–{ratios.max():.2f}×) |")
    lines += ["", "## Environment", "",
              f"skhsi {skhsi.__version__}, torch {torch.__version__}, onnxruntime "
              f"{ort.__version__}, Python {platform.python_version()}, {platform.machine()}, "
              f"{threads} thread(s).", "",
              "Command: `python benchmarks/bench_onnx.py " + " ".join(sys.argv[1:]) + "`", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", nargs="+", default=list(HAD_FILES), choices=list(HAD_FILES))
    parser.add_argument("--epochs", type=int, default=2,
                        help="training epochs of Deep SVDD and the autoencoder")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for torch and onnxruntime alike")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "onnx.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for scene_name in args.scenes:
            scene = load_scene(scene_name)
            for name, make in models(args.epochs).items():
                row = run_one(name, make, scene, args.threads, args.repeat, folder)
                print(f"{row['scene']:14s} {name:34s} max|Δ| {row['max_abs']:.2e} "
                      f"rel {row['max_rel']:.1e}  skhsi {row['skhsi_px_s']:,.0f} px/s  "
                      f"onnx {row['onnx_px_s']:,.0f} px/s", flush=True)
                rows.append(row)
    write_results(report(rows, args, args.threads), args.out)


if __name__ == "__main__":
    main()
