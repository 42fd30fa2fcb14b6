"""Benchmark: how an anomaly detector's time and peak memory grow with the scene size, beside RX.

Protocol. A real scene (``--scene``, default ``abu-urban-3``, read with
``_scenes.load_scene``) is reduced to ``--bands`` bands (100; band indices
``np.linspace(0, bands - 1, 100).round()``) and tiled with alternately flipped
copies (mirror tiling: odd tile rows upside down, odd tile columns left to
right, so neighbouring copies meet at their mirror image and there are no
seams) up to ``side x side`` pixels, cast to float32. The cube is written tile
by tile into one preallocated float32 array, so building it costs one cube and
one tile, not several copies.

Each (detector, side) runs in a fresh worker process (this script with
``--worker``), so the peak memory is that run's alone. The worker imports the
detector, builds the cube, drops the source scene, and records its resident
memory (``VmRSS`` of ``/proc/self/status``: the *baseline*, cube included);
it then times ``fit(cube)`` and ``anomaly_score(cube)`` with
``time.perf_counter`` (or, with ``--use-fit-score``, the single call
``fit_anomaly_score(cube)`` where the estimator has it) and reads its peak
resident memory (``VmHWM``). It prints one JSON line that the parent parses.
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is recorded too, but not used
for the peak: after ``fork``/``exec`` Linux keeps the parent's resident size
in it, so it overstates a child's peak whenever the parent is the larger.

Sides are interleaved: for each side every detector runs (each repeat in its
own worker) before the next side, so that RX, always run (added when
``--detectors`` leaves it out), sees the same machine load. With
``--repeat N`` the times are the best of N (fit, score and total each their
own minimum) and the memory figures those of the run with the highest peak.
A worker that runs past ``--timeout`` is killed and reported as timed out;
the detector's larger sides are then skipped (as after a failed run).

The fixed overhead of a detector is the peak RSS of a worker that imports
everything, builds a tiny (32 x 32) cube the same way and fits and scores it
(so that modules imported lazily by ``fit`` are counted too).

Reported per run: fit, score and total seconds (and the worker's CPU seconds
over fit + score), peak RSS, baseline RSS, peak - baseline, the float32 cube
size, (peak - baseline) / cube (working memory beyond the cube) and
(peak - overhead) / cube (cube included). Summary per detector: the log-log
slope of total time against pixel count from 200^2 to 1600^2 pixels (least
squares over the sides run in that range), the ratio of its total time to
RX's at each side, and the checks

* slope <= 1.05;
* total time <= 3 x RX at every side >= 800;
* (peak RSS - fixed overhead) < 2.5 x the float32 cube at every side >= 400
  (smaller cubes, 4 and 16 MB, are within the allocator's noise).

``--detector-module path.py:NAME`` adds the zero-argument factory (function or
class) ``NAME`` of the file ``path.py`` as detector ``NAME``, imported the
same way by the workers, so candidates are measured without editing this script.

Usage::

    python benchmarks/bench_scaling.py [--sides 100 200 400 800 1200 1600]
        [--detectors default rx] [--detector-module cand.py:NAME] [--use-fit-score]
        [--scene abu-urban-3] [--bands 100] [--repeat 1] [--threads 1]
        [--timeout 1800] [--out benchmarks/results/scaling.md]
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_results  # noqa: E402

#: Built-in detectors: name -> (description, factory). Imports happen in the workers.


def _default():
    from skhsi.pipeline import make_attribute_filter_pipeline

    return make_attribute_filter_pipeline()


def _rx():
    from skhsi.anomaly import RXDetector

    return RXDetector()


def _local_rx():
    from skhsi.anomaly import LocalRXDetector

    return LocalRXDetector()


def _learned_background():
    from skhsi.anomaly import AutoencoderDetector, LearnedBackgroundDetector

    return LearnedBackgroundDetector(AutoencoderDetector(device="cpu"), random_state=0)


DETECTORS = {
    "default": ("`make_attribute_filter_pipeline()`", _default),
    "rx": ("`RXDetector()` (global RX)", _rx),
    "local-rx": ("`LocalRXDetector()`", _local_rx),
    "learned-background": ("`LearnedBackgroundDetector(AutoencoderDetector(device=\"cpu\"), "
                           "random_state=0)`", _learned_background),
}

TINY_SIDE = 32  # the fixed-overhead worker's cube
SLOPE_RANGE = (200, 1600)  # sides the log-log slope is fitted over
SLOPE_TARGET = 1.05
RX_RATIO_TARGET, RX_RATIO_MIN_SIDE = 3.0, 800
MEMORY_TARGET, MEMORY_MIN_SIDE = 2.5, 400


# ---------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------


def _status_mb(key):
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _maxrss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _load_module_factory(spec):
    """``path.py:NAME`` -> (NAME, the factory NAME of the file path.py)."""
    import importlib.util

    path, _, name = spec.rpartition(":")
    if not path or not name:
        raise SystemExit(f"--detector-module {spec!r}: expected path.py:NAME")
    path = Path(path).resolve()
    module_name = f"_bench_scaling_{path.stem}"
    module = sys.modules.get(module_name)
    if module is None:
        if not path.is_file():
            raise SystemExit(f"--detector-module {spec!r}: no file {path}")
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module  # before exec: dataclasses, pickling
        module_spec.loader.exec_module(module)
    if not hasattr(module, name):
        raise SystemExit(f"--detector-module {spec!r}: {path} has no {name!r}")
    return name, getattr(module, name)


def _factories(modules):
    factories = {name: factory for name, (_, factory) in DETECTORS.items()}
    for spec in modules:
        name, factory = _load_module_factory(spec)
        factories[name] = factory
    return factories


def build_cube(scene, side, bands):
    """The scene's ``bands`` evenly spaced bands, mirror-tiled to ``side x side``, float32.

    Written tile by tile into one preallocated array: the only other memory is
    the source scene reduced to ``bands`` bands.
    """
    import numpy as np

    source = np.asarray(scene.cube)
    if bands > source.shape[2]:
        raise SystemExit(f"--bands {bands}: the scene has only {source.shape[2]} bands")
    index = np.linspace(0, source.shape[2] - 1, bands).round().astype(int)
    tile = np.ascontiguousarray(source[:, :, index], dtype=np.float32)
    h, w = tile.shape[:2]
    cube = np.empty((side, side, bands), dtype=np.float32)
    for i, r in enumerate(range(0, side, h)):
        rows = tile[::-1] if i % 2 else tile
        for j, c in enumerate(range(0, side, w)):
            block = rows[:, ::-1] if j % 2 else rows
            n, m = min(h, side - r), min(w, side - c)
            cube[r:r + n, c:c + m] = block[:n, :m]
    return cube


def worker(args):
    """One (detector, side) run; prints its result as one JSON line."""
    import numpy as np

    from _scenes import load_scene

    factory = _factories(args.detector_module)[args.detector]
    estimator = factory()
    if "torch" in sys.modules:  # one process, args.threads torch threads
        sys.modules["torch"].set_num_threads(args.threads)
    import_rss = _status_mb("VmRSS")

    scene = load_scene(args.scene)
    cube = build_cube(scene, args.side, args.bands)
    del scene
    baseline = {"rss_mb": _status_mb("VmRSS"), "hwm_mb": _status_mb("VmHWM"),
                "maxrss_mb": _maxrss_mb()}

    single = args.use_fit_score and hasattr(estimator, "fit_anomaly_score")
    cpu = time.process_time()
    start = time.perf_counter()
    if single:
        scores = estimator.fit_anomaly_score(cube)
        fit_s = score_s = None
    else:
        estimator.fit(cube)
        fit_s = time.perf_counter() - start
        mid = time.perf_counter()
        scores = estimator.anomaly_score(cube)
        score_s = time.perf_counter() - mid
    total_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu
    scores = np.asarray(scores)

    versions = {"numpy": np.__version__}
    try:
        import skhsi

        versions["skhsi"] = getattr(skhsi, "__version__", "?")
    except ImportError:  # pragma: no cover
        pass
    if "torch" in sys.modules:
        versions["torch"] = sys.modules["torch"].__version__
    print(json.dumps({
        "detector": args.detector, "side": args.side, "bands": args.bands,
        "method": "fit_anomaly_score" if single else "fit + anomaly_score",
        "fit_s": fit_s, "score_s": score_s, "total_s": total_s, "cpu_s": cpu_s,
        "import_rss_mb": import_rss, "baseline_rss_mb": baseline["rss_mb"],
        "baseline_hwm_mb": baseline["hwm_mb"], "baseline_maxrss_mb": baseline["maxrss_mb"],
        "peak_mb": _status_mb("VmHWM"), "peak_maxrss_mb": _maxrss_mb(),
        "cube_mb": cube.nbytes / 2**20, "score_shape": list(scores.shape),
        "finite": bool(np.isfinite(scores).all()), "versions": versions,
    }), flush=True)


# ---------------------------------------------------------------------------
# Parent side (imports nothing heavy: the workers inherit its ru_maxrss)
# ---------------------------------------------------------------------------


def _run_worker(args, detector, side, env):
    """One fresh worker: its parsed JSON, or ``{"status": "timeout" | "failed", ...}``."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker",
               "--detector", detector, "--side", str(side), "--bands", str(args.bands),
               "--scene", args.scene, "--threads", str(args.threads)]
    for spec in args.detector_module:
        command += ["--detector-module", spec]
    if args.use_fit_score:
        command.append("--use-fit-score")
    start = time.perf_counter()
    try:
        run = subprocess.run(command, capture_output=True, text=True, env=env,
                             timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "detector": detector, "side": side,
                "wall_s": time.perf_counter() - start}
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        tail = (run.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return {"status": "failed", "detector": detector, "side": side,
                "returncode": run.returncode, "error": tail[-300:]}
    result = json.loads(lines[-1])
    result["status"] = "ok"
    return result


def _best(results):
    """Best of the repeats: each time its minimum, memory of the run with the highest peak."""
    ok = [r for r in results if r["status"] == "ok"]
    if not ok:
        return results[-1]
    best = dict(max(ok, key=lambda r: r["peak_mb"]))
    for key in ("fit_s", "score_s", "total_s", "cpu_s"):
        values = [r[key] for r in ok if r[key] is not None]
        best[key] = min(values) if values else None
    best["finite"] = all(r["finite"] for r in ok)
    best["repeats"] = len(ok)
    return best


def _slope(points):
    """Least-squares slope of log(time) against log(pixels), or None below two points."""
    if len(points) < 2:
        return None
    xs = [math.log(side * side) for side, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def _fmt(value, spec=".2f", none="—"):
    return none if value is None else format(value, spec)


def _check(values, passes):
    """'pass' / 'FAIL' over the measured values, 'not measured' when there are none."""
    if not values:
        return "not measured"
    return "pass" if all(passes(v) for v in values) else "FAIL"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[100, 200, 400, 800, 1200, 1600])
    parser.add_argument("--detectors", nargs="+", default=["default", "rx"],
                        help=f"built in: {', '.join(DETECTORS)}; plus the names given by "
                             "--detector-module. RX is always run (added when left out)")
    parser.add_argument("--detector-module", action="append", default=[], metavar="PATH:NAME",
                        help="a zero-argument factory NAME in the file PATH, run as detector "
                             "NAME (repeatable; added to --detectors when not listed)")
    parser.add_argument("--use-fit-score", action="store_true",
                        help="time fit_anomaly_score(cube) instead of fit then anomaly_score "
                             "where the estimator has it")
    parser.add_argument("--scene", default="abu-urban-3")
    parser.add_argument("--bands", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="best of N fresh workers")
    parser.add_argument("--threads", type=int, default=1,
                        help="OMP / OpenBLAS / MKL (and torch) threads of the workers")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per worker")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scaling.md")
    # worker mode (internal)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--detector", help=argparse.SUPPRESS)
    parser.add_argument("--side", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.detector_module = [
        f"{Path(path).resolve()}:{name}"
        for path, _, name in (spec.rpartition(":") for spec in args.detector_module)]

    if args.worker:
        worker(args)
        return

    module_names = [spec.rpartition(":")[2] for spec in args.detector_module]
    clashes = sorted(set(module_names) & set(DETECTORS))
    if clashes:
        parser.error(f"--detector-module names {clashes} are built-in detector names")
    detectors = list(dict.fromkeys(args.detectors + module_names))
    rx_added = "rx" not in detectors
    if rx_added:
        detectors.append("rx")
    unknown = [d for d in detectors if d not in DETECTORS and d not in module_names]
    if unknown:
        parser.error(f"unknown detector(s) {unknown}: built in are {list(DETECTORS)}; "
                     "others need --detector-module PATH:NAME")
    sides = sorted(dict.fromkeys(args.sides))

    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(args.threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))

    # fixed overhead: everything imported, a tiny cube built, fitted and scored
    overhead = {}
    for detector in detectors:
        result = _run_worker(args, detector, TINY_SIDE, env)
        if result["status"] != "ok":
            raise SystemExit(f"{detector} fails on a {TINY_SIDE} x {TINY_SIDE} cube: {result}")
        overhead[detector] = result
        print(f"overhead {detector}: import {result['import_rss_mb']:.0f} MB, "
              f"peak {result['peak_mb']:.0f} MB ({result['method']})", flush=True)
    versions = next(iter(overhead.values()))["versions"]

    results = {}  # (detector, side) -> best result
    stopped = {}  # detector -> the side it timed out / failed at
    for side in sides:
        runs = {d: [] for d in detectors if d not in stopped}
        for _ in range(args.repeat):
            for detector in runs:
                if runs[detector] and runs[detector][-1]["status"] != "ok":
                    continue
                result = _run_worker(args, detector, side, env)
                runs[detector].append(result)
                if result["status"] == "ok":
                    print(f"{detector:>10} {side:>5}: fit {_fmt(result['fit_s'])} s, score "
                          f"{_fmt(result['score_s'])} s, total {result['total_s']:.2f} s, "
                          f"peak {result['peak_mb']:.0f} MB (baseline "
                          f"{result['baseline_rss_mb']:.0f} MB, cube "
                          f"{result['cube_mb']:.0f} MB)", flush=True)
                else:
                    print(f"{detector:>10} {side:>5}: {result['status']} {result}", flush=True)
        for detector, rs in runs.items():
            best = _best(rs)
            results[detector, side] = best
            if best["status"] != "ok":
                stopped[detector] = side

    # ---- markdown ----
    def ratio_rx(detector, side):
        r, rx = results.get((detector, side)), results.get(("rx", side))
        if not r or not rx or r["status"] != "ok" or rx["status"] != "ok":
            return None
        return r["total_s"] / rx["total_s"]

    def memory_multiple(detector, side):
        r = results.get((detector, side))
        if not r or r["status"] != "ok":
            return None
        return (r["peak_mb"] - overhead[detector]["peak_mb"]) / r["cube_mb"]

    names = {d: DETECTORS[d][0] if d in DETECTORS else f"`{d}` (--detector-module)"
             for d in detectors}
    lines = [
        "# Scaling with the scene size",
        "",
        f"Scene `{args.scene}` reduced to {args.bands} evenly spaced bands and mirror-tiled "
        "(alternately flipped copies, no seams) to side x side pixels, float32, built tile by "
        "tile into one preallocated array. Each (detector, side) in a fresh worker process; "
        "sides interleaved (every detector at a side before the next side). Baseline = the "
        "worker's RSS (`VmRSS`) after building the cube, before fitting; peak = its `VmHWM` "
        "after fit and score. Fixed overhead = peak RSS of a worker that fitted and scored a "
        f"{TINY_SIDE} x {TINY_SIDE} cube. "
        + (f"Times are the best of {args.repeat} workers. " if args.repeat > 1 else "")
        + f"{args.threads} OMP / OpenBLAS / MKL / torch thread(s); CPU s = the worker's "
        "process CPU seconds over fit + score. "
        + ("`--use-fit-score`: `fit_anomaly_score(cube)` timed where the estimator has it. "
           if args.use_fit_score else "")
        + ("RX was added to the detectors for the ratios. " if rx_added else ""),
        "",
        "Detectors: " + "; ".join(f"`{d}` = {names[d]}" for d in detectors) + ".",
        "",
        "| detector | side | cube (MB) | method | fit (s) | score (s) | total (s) | CPU (s) "
        "| x RX | baseline RSS (MB) | peak RSS (MB) | peak - baseline (MB) "
        "| (peak - baseline) / cube | (peak - overhead) / cube | scores finite |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for side in sides:
        for detector in detectors:
            r = results.get((detector, side))
            cube_mb = side * side * args.bands * 4 / 2**20
            if r is None:
                lines.append(f"| {detector} | {side} | {cube_mb:.0f} | skipped (stopped at side "
                             f"{stopped.get(detector)}) |" + " |" * 11)
                continue
            if r["status"] != "ok":
                what = (f"timed out (> {args.timeout:.0f} s)" if r["status"] == "timeout"
                        else f"failed (rc {r.get('returncode')}): "
                             + r.get("error", "").replace("|", "/"))
                lines.append(f"| {detector} | {side} | {cube_mb:.0f} | {what} |" + " |" * 11)
                continue
            extra = r["peak_mb"] - r["baseline_rss_mb"]
            lines.append(
                f"| {detector} | {side} | {r['cube_mb']:.0f} | {r['method']} | "
                f"{_fmt(r['fit_s'])} | {_fmt(r['score_s'])} | {r['total_s']:.2f} | "
                f"{r['cpu_s']:.2f} | {_fmt(ratio_rx(detector, side))} | "
                f"{r['baseline_rss_mb']:.0f} | {r['peak_mb']:.0f} | {extra:.0f} | "
                f"{extra / r['cube_mb']:.2f} | {_fmt(memory_multiple(detector, side))} | "
                f"{r['finite']} |")

    lines += [
        "",
        f"## Summary and targets (slope <= {SLOPE_TARGET} over {SLOPE_RANGE[0]}^2 to "
        f"{SLOPE_RANGE[1]}^2 pixels; total time <= {RX_RATIO_TARGET:g} x RX at side >= "
        f"{RX_RATIO_MIN_SIDE}; (peak RSS - fixed overhead) < {MEMORY_TARGET:g} x the float32 "
        f"cube at side >= {MEMORY_MIN_SIDE})",
        "",
        "| detector | fixed overhead (MB) | log-log slope (sides) | slope check "
        "| x RX by side | RX-ratio check | (peak - overhead) / cube by side | memory check |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for detector in detectors:
        done = [s for s in sides if results.get((detector, s), {}).get("status") == "ok"]
        in_range = [(s, results[detector, s]["total_s"]) for s in done
                    if SLOPE_RANGE[0] <= s <= SLOPE_RANGE[1]]
        slope = _slope(in_range)
        slope_text = (f"{slope:.2f} ({', '.join(str(s) for s, _ in in_range)})"
                      if slope is not None else "— (fewer than 2 sides)")
        slope_check = "not measured" if slope is None else (
            "pass" if slope <= SLOPE_TARGET else "FAIL")
        if stopped.get(detector) and stopped[detector] <= SLOPE_RANGE[1]:
            slope_check = f"FAIL ({results[detector, stopped[detector]]['status']} at " \
                          f"{stopped[detector]})"
        ratios = {s: ratio_rx(detector, s) for s in done}
        multiples = {s: memory_multiple(detector, s) for s in done}
        ratio_check = _check([v for s, v in ratios.items()
                              if s >= RX_RATIO_MIN_SIDE and v is not None],
                             lambda v: v <= RX_RATIO_TARGET)
        memory_check = _check([v for s, v in multiples.items() if s >= MEMORY_MIN_SIDE],
                              lambda v: v < MEMORY_TARGET)
        if stopped.get(detector):
            note = f" ({results[detector, stopped[detector]]['status']} at {stopped[detector]})"
            if stopped[detector] >= RX_RATIO_MIN_SIDE and detector != "rx":
                ratio_check = "FAIL" + note
            if stopped[detector] >= MEMORY_MIN_SIDE and memory_check == "not measured":
                memory_check += note
        lines.append(
            f"| {detector} | {overhead[detector]['peak_mb']:.0f} | {slope_text} | {slope_check} | "
            + ", ".join(f"{s}: {_fmt(v)}" for s, v in ratios.items()) + f" | {ratio_check} | "
            + ", ".join(f"{s}: {_fmt(v)}" for s, v in multiples.items()) + f" | {memory_check} |")

    lines += [
        "",
        "The memory multiple counts the cube itself (1.0 = nothing beyond the input); "
        "(peak - baseline) / cube is the working memory of fit + score beyond it. Timings are "
        "wall-clock on a shared machine: compare within one run.",
        "",
        f"Python {platform.python_version()}, "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f", {os.cpu_count()} CPUs.",
        "",
    ]
    write_results("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
