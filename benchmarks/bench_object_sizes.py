"""Benchmark: how well anomaly detectors find implanted objects of every size and contrast.

Backgrounds are the eight real scenes of ``shared/data/had`` (``_scenes.HAD_FILES``).
Into each, one object at a time is implanted (``_implants.make_implants``) and
each detector is run on the image as ``det.fit(cube); det.anomaly_score(cube)``.
An object's material comes from another real scene, so that it can be as
foreign to the background as a real target (per background scene, per cell and
per placement):

- sizes 1, 4, 16, 64, 144, 256, 400 pixels; shapes ``square`` (side sqrt(n))
  and ``irregular`` (an Eden blob of exactly n pixels: grown from one pixel by
  adding a uniformly chosen 4-connected neighbour until it has n pixels).
  Size 1 is one pixel for both shapes, so it runs once (recorded as
  ``square``) and its median is shown in both rows of the tables;
- position uniformly random with the whole object inside the image and at
  least 3 pixels (Chebyshev) from every pixel of the scene's own mask (the mask
  dilated by a 7 x 7 square is off limits);
- material: a donor scene drawn among the other seven, its pixels (outside
  its own anomalies) brought to the background's band count by taking the
  donor band at each background band's relative position (real bands, never
  interpolated) and scaled band by band so that the
  donor scene's mean spectrum becomes the background's (a material keeps its
  contrast to its own scene, not the other sensor's signature). ``random``: any donor pixel. ``distinct``: a donor
  pixel whose spectral angle to the mean spectrum of the object's ring of 10
  pixels (Chebyshev; object and scene-mask pixels left out) is at or above the
  95th percentile of the background's pixels' angles to that mean. The
  object's n pixels are the n spectral nearest neighbours (Euclidean, the
  donor itself included) of the donor among the donor scene's pixels, in
  random order, so the object keeps real texture and sensor noise (no
  synthetic noise is added and no spectrum is copied to more than one pixel);
- abundance 1.0 (object pixel = neighbour spectrum) and 0.5 (0.5 * neighbour +
  0.5 * the pixel beneath), computed in float64, then cast to float32;
- per-object ROC AUC (``skhsi.metrics.roc_auc``): the object's pixels against
  every pixel outside the object and the scene's own mask.

Reported per detector: the median per-object AUC over all placements of all
scenes, rows (material, abundance, shape), columns sizes; then each candidate
(``--candidate``, default ``default``; several may be named) against global RX
(``--baseline``) cell by cell: margin,
whether it is >= RX - 0.02 in every cell, and whether it is >= 0.95 in every
distinct / abundance-1.0 cell; a 90 % bootstrap interval of every margin (the
placements resampled in pairs: both detectors scored the same images) and the
cells whose interval lies wholly below RX - 0.02; and each detector's fit +
score seconds.

Reproducible: ``--seed`` drives everything. The generator of an image is
derived from (seed, scene name, shape, size, placement), not from the material
or the abundance, so the cells are paired: the four (material, abundance) cells
of one placement share the object's shape and position, and the two
abundances of one material also share the donor and its neighbours. Every
detector sees exactly the same images, whatever ``--jobs``, ``--scenes`` or
``--sizes``.

Detectors are named in ``--detectors`` from ``DETECTORS`` (factories returning
a fresh unfitted estimator); ``--detector-module path.py:NAME`` adds a factory
(or a dict of them) from a file, called as ``factory()``, whose estimator has
``fit(cube)`` and ``anomaly_score(cube) -> (H, W)``.

Usage::

    python benchmarks/bench_object_sizes.py [--detectors default rx local-rx]
        [--detector-module cand.py:make_candidate] [--candidate default ...]
        [--placements 8] [--scenes hydice ...] [--sizes 1 4 ...] [--quick]
        [--seed 0] [--jobs 1] [--threads 1] [--csv records.csv]
        [--out benchmarks/results/object_sizes.md]

From Python::

    from bench_object_sizes import run, DETECTORS
    records = run({"rx": DETECTORS["rx"]}, ["hydice"], placements=2, seed=0)
"""

import argparse
import csv
import importlib.util
import platform
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
sys.path.insert(0, str(Path(__file__).resolve().parent))  # _scenes & co, also in workers
from _implants import MATERIALS, SHAPES, make_implants, prepared_scene  # noqa: E402
from _results import write_results  # noqa: E402
from _scenes import HAD_FILES  # noqa: E402

import skhsi  # noqa: E402
from skhsi.anomaly import LocalRXDetector, RXDetector  # noqa: E402
from skhsi.metrics import roc_auc  # noqa: E402
from skhsi.pipeline import make_attribute_filter_pipeline  # noqa: E402

#: name -> factory returning a fresh unfitted estimator
DETECTORS = {
    "default": make_attribute_filter_pipeline,
    "rx": RXDetector,
    "local-rx": LocalRXDetector,
}
SIZES = (1, 4, 16, 64, 144, 256, 400)
ABUNDANCES = (1.0, 0.5)
PLACEMENTS = 8
QUICK_PLACEMENTS, QUICK_SCENES = 2, ("hydice", "sandiego", "abu-urban-1")
RX_TOLERANCE = 0.02  # the candidate should reach RX - this in every cell
DISTINCT_TARGET = 0.95  # ... and this in every distinct, abundance-1.0 cell
INTERVAL_LEVEL, N_RESAMPLES = 0.9, 2000  # bootstrap interval of every cell's margin
FIELDS = ("scene", "detector", "material", "abundance", "shape", "size", "placement",
          "auc", "seconds")


# ---------------------------------------------------------------------------
# the core, reusable from Python


def image_rng(seed, scene, shape, size, placement):
    """The generator of one implanted image (shared by its four material /
    abundance cells; size 1 is always ``square``)."""
    shape = "square" if int(size) == 1 else shape
    key = [int(seed), zlib.crc32(scene.encode()), SHAPES.index(shape), int(size), int(placement)]
    return np.random.default_rng(np.random.SeedSequence(key))


def cells(sizes=SIZES):
    """(shape, size, material, abundance) of every image of one placement;
    size 1 once, as ``square``."""
    out = []
    for size in sizes:
        for shape in (("square",) if int(size) == 1 else SHAPES):
            for material in MATERIALS:
                for abundance in ABUNDANCES:
                    out.append((shape, int(size), material, abundance))
    return out


def _one_image(detector_factories, scene, shape, size, material, abundance, placement,
               seed, threads):
    """Implant one object and run every detector on it: a list of records."""
    rng = image_rng(seed, scene, shape, size, placement)
    cube, obj, background = make_implants(prepared_scene(scene), size, shape, material,
                                          abundance, rng)
    evaluate = obj | background
    records = []
    with threadpool_limits(threads):
        for name, factory in detector_factories.items():
            start = time.perf_counter()
            det = factory()
            det.fit(cube)
            scores = np.asarray(det.anomaly_score(cube))
            seconds = time.perf_counter() - start
            if scores.shape != obj.shape:
                raise ValueError(f"detector {name!r} gave scores of shape {scores.shape}, "
                                 f"expected {obj.shape}")
            auc = roc_auc(obj[evaluate], scores[evaluate])
            records.append(dict(scene=scene, detector=name, material=material,
                                abundance=abundance, shape=shape, size=size,
                                placement=placement, auc=auc, seconds=seconds))
    return records


def run(detector_factories, scenes=tuple(HAD_FILES), sizes=SIZES, placements=PLACEMENTS,
        seed=0, jobs=1, threads=1, verbose=False):
    """Every detector on every implanted image: a tidy list of records.

    Parameters
    ----------
    detector_factories : dict
        name -> callable returning a fresh unfitted estimator.
    scenes : sequence of str
        Names from ``_scenes.HAD_FILES``.
    sizes : sequence of int
    placements : int
        Placements per scene per cell.
    seed : int
    jobs : int
        Processes (joblib) over images; 1 runs in this process.
    threads : int
        BLAS / OpenMP threads per process while the detectors run.

    Returns
    -------
    list of dict
        One per (image, detector), with keys ``FIELDS``: scene, detector,
        material, abundance, shape, size, placement, auc and seconds (fit +
        score wall-clock).
    """
    tasks = [(scene, shape, size, material, abundance, p)
             for scene in scenes for p in range(placements)
             for shape, size, material, abundance in cells(sizes)]
    unknown = sorted(set(scenes) - set(HAD_FILES))
    if unknown:
        raise ValueError(f"unknown scenes {unknown}; choose from {list(HAD_FILES)}")
    records = []
    if jobs == 1:
        for i, task in enumerate(tasks):
            records += _one_image(detector_factories, *task, seed, threads)
            if verbose and (i + 1) % 50 == 0:
                print(f"  {i + 1}/{len(tasks)} images", flush=True)
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, verbose=10 if verbose else 0)
        for out in parallel(delayed(_one_image)(detector_factories, *task, seed, threads)
                            for task in tasks):
            records += out
    return records


# ---------------------------------------------------------------------------
# tables


def _row_keys():
    return [(m, a, s) for m in MATERIALS for a in ABUNDANCES for s in SHAPES]


def medians(records, detector):
    """{(material, abundance, shape, size): median AUC} of one detector; size 1
    (run as ``square``) fills both shapes."""
    groups = {}
    for r in records:
        if r["detector"] != detector:
            continue
        shapes = SHAPES if r["size"] == 1 else (r["shape"],)
        for shape in shapes:
            key = (r["material"], r["abundance"], shape, r["size"])
            groups.setdefault(key, []).append(r["auc"])
    return {k: (float(np.median(v)), len(v)) for k, v in groups.items()}


def margin_intervals(records, candidate, baseline, level=INTERVAL_LEVEL,
                     n_resamples=N_RESAMPLES, seed=0):
    """{(material, abundance, shape, size): (low, high)}: a percentile bootstrap interval of
    the difference of medians (candidate minus baseline), placements resampled in pairs
    (:func:`scipy.stats.bootstrap` with ``paired=True``).

    The two detectors score the same images, so a resample draws placements (scene,
    placement) and takes both detectors' AUCs of each; only placements that both
    detectors scored count.
    """
    aucs = {}
    for r in records:
        if r["detector"] not in (candidate, baseline):
            continue
        for shape in (SHAPES if r["size"] == 1 else (r["shape"],)):
            cell = (r["material"], r["abundance"], shape, r["size"])
            aucs.setdefault(cell, {}).setdefault((r["scene"], r["placement"]), {})[
                r["detector"]] = r["auc"]
    rng = np.random.default_rng(seed)
    out = {}
    for cell, by_placement in aucs.items():
        pairs = np.array([(d[candidate], d[baseline]) for d in by_placement.values()
                          if candidate in d and baseline in d])
        if len(pairs) == 0:
            continue
        result = stats.bootstrap((pairs[:, 0], pairs[:, 1]), _median_margin, paired=True,
                                 vectorized=True, n_resamples=n_resamples,
                                 confidence_level=level, method="percentile", random_state=rng)
        out[cell] = (float(result.confidence_interval.low),
                     float(result.confidence_interval.high))
    return out


def _median_margin(candidate, baseline, axis=-1):
    return np.median(candidate, axis=axis) - np.median(baseline, axis=axis)


def _table(sizes, fmt):
    lines = ["| material | abundance | shape | " + " | ".join(f"{s} px" for s in sizes) + " |",
             "|---|---|---|" + "---|" * len(sizes)]
    for m, a, s in _row_keys():
        lines.append(f"| {m} | {a:.1f} | {s} | "
                     + " | ".join(fmt(m, a, s, size) for size in sizes) + " |")
    return lines


def _summary(records, sizes, candidate, baseline):
    cand, base = medians(records, candidate), medians(records, baseline)
    keys = [(m, a, s, n) for m, a, s in _row_keys() for n in sizes
            if not (n == 1 and s != "square")]  # size 1 once
    keys = [k for k in keys if k in cand and k in base]
    if not keys:
        return [f"## {candidate} against {baseline}", "", "No cell has both.", ""]
    margin = {k: cand[k][0] - base[k][0] for k in keys}
    fails = [k for k in keys if margin[k] < -RX_TOLERANCE]
    interval = margin_intervals(records, candidate, baseline)
    certain = [k for k in keys if interval[k][1] < -RX_TOLERANCE]
    widest = max(keys, key=lambda k: interval[k][1] - interval[k][0])
    level = f"{100 * INTERVAL_LEVEL:.0f} %"

    def fmt(m, a, s, n):
        k = (m, a, "square" if n == 1 else s, n)
        if k not in margin:
            return "–"
        text = f"{margin[k]:+.3f}"
        return f"**{text}**" if k in fails else text

    def name(k):
        return f"{k[0]}/{k[1]:.1f}/{k[2]}/{k[3]} px"

    worst = min(keys, key=lambda k: margin[k])
    distinct = [k for k in keys if k[0] == "distinct" and k[1] == 1.0]
    low = [k for k in distinct if cand[k][0] < DISTINCT_TARGET]
    lowest = min(distinct, key=lambda k: cand[k][0]) if distinct else None
    lines = [
        f"## {candidate} against {baseline}",
        "",
        f"Median AUC of `{candidate}` minus that of `{baseline}`, cell by cell; bold: "
        f"below {baseline} − {RX_TOLERANCE}. Size 1 is one cell per (material, abundance), "
        "shown in both shape rows and counted once. A margin is a difference of two medians "
        f"of a few dozen placements: its {level} interval (percentile bootstrap, "
        f"{N_RESAMPLES} resamples of the placements, each with both detectors' AUCs) says how "
        "far another draw of placements could move it.",
        "",
        *_table(sizes, fmt),
        "",
        "| check | result |",
        "|---|---|",
        f"| cells with {candidate} ≥ {baseline} − {RX_TOLERANCE} | {len(keys) - len(fails)} / "
        f"{len(keys)}: {'yes' if not fails else 'no'} |",
        f"| smallest margin | {margin[worst]:+.3f} ({name(worst)}) |",
        f"| largest margin | {max(margin.values()):+.3f} "
        f"({name(max(keys, key=lambda k: margin[k]))}) |",
        f"| cells where {candidate} wins / ties (±0.005) / loses | "
        f"{sum(v > 0.005 for v in margin.values())} / "
        f"{sum(abs(v) <= 0.005 for v in margin.values())} / "
        f"{sum(v < -0.005 for v in margin.values())} |",
        f"| cells whose {level} interval lies wholly below {baseline} − {RX_TOLERANCE} | "
        f"{len(certain)} / {len(keys)} |",
        f"| widest {level} interval of a margin | [{interval[widest][0]:+.3f}, "
        f"{interval[widest][1]:+.3f}] ({name(widest)}) |",
    ]
    if distinct:
        lines.append(
            f"| {candidate} ≥ {DISTINCT_TARGET} in every distinct, abundance-1.0 cell | "
            f"{'yes' if not low else 'no'} ({len(distinct) - len(low)} / {len(distinct)}; "
            f"lowest {cand[lowest][0]:.3f} at {name(lowest)}) |")
    if fails:
        lines += ["", f"Cells below the RX tolerance (margin, {level} interval): "
                  + ", ".join(f"{name(k)} ({margin[k]:+.3f}, [{interval[k][0]:+.3f}, "
                              f"{interval[k][1]:+.3f}])" for k in fails) + "."]
    if low:
        lines += ["", f"Distinct, abundance-1.0 cells below {DISTINCT_TARGET}: "
                  + ", ".join(f"{name(k)} ({cand[k][0]:.3f})" for k in low) + "."]
    return lines


def report(records, detectors, scenes, sizes, placements, seed, candidates, baseline,
           command, wall, jobs):
    n_images = len({(r["scene"], r["shape"], r["size"], r["material"], r["abundance"],
                     r["placement"]) for r in records})
    lines = [
        "# Implanted objects of every size and contrast",
        "",
        f"One object per image implanted into the real scenes ({', '.join(scenes)}) of "
        "`shared/data/had`, its material the spectral nearest neighbours of a donor pixel "
        "of another of the scenes (real texture and noise; the donor band at each of the "
        "background's bands, scaled band by band to its mean spectrum): `random` donor (any pixel "
        "of the donor scene outside its anomalies) or `distinct` donor (spectral angle to "
        "the mean of the object's 10-pixel ring at or above the background's 95th "
        "percentile); abundance 1.0 (the neighbour spectra) or 0.5 (half "
        "neighbour, half the pixel beneath); `square` or `irregular` (Eden blob) shape; "
        f"{placements} random placements per scene and cell, ≥ 3 px from the scene's own "
        f"anomalies, seed {seed}. Each detector is `fit` on the implanted cube (float32) "
        "and scores it; per-object ROC AUC of the object's pixels against every pixel "
        "outside the object and the scene mask. Cells: median AUC over "
        f"{len(scenes) * placements} placements ({len(scenes)} scenes × {placements}). "
        "Size 1 runs once per (material, abundance) and fills both shape rows. "
        "Protocol in the script's docstring.",
        "",
    ]
    for det in detectors:
        med = medians(records, det)
        lines += [f"## {det}", "",
                  *_table(sizes, lambda m, a, s, n: f"{med[(m, a, s, n)][0]:.3f}"
                          if (m, a, s, n) in med else "–"), ""]
    for candidate in candidates:
        if candidate in detectors and baseline in detectors and candidate != baseline:
            lines += _summary(records, sizes, candidate, baseline) + [""]
    lines += ["## Time", "",
              f"Fit + score wall-clock seconds summed over the {n_images} images "
              f"({'one process' if jobs == 1 else f'{jobs} processes'}; on a shared machine "
              "compare within one run).", "",
              "| detector | seconds | per image |", "|---|---|---|"]
    for det in detectors:
        secs = [r["seconds"] for r in records if r["detector"] == det]
        lines.append(f"| {det} | {sum(secs):.1f} | {np.mean(secs):.3f} |")
    lines += [
        "",
        f"Produced by `{command}` in {wall / 60:.1f} min. skhsi {skhsi.__version__}, numpy "
        f"{np.__version__}, Python {platform.python_version()}, {platform.machine()}.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# command line


def load_factories(spec):
    """``path.py:NAME`` -> {label: factory}: NAME a factory (label NAME) or a dict of them."""
    path, sep, attr = spec.rpartition(":")
    if not sep or not path or not attr:
        raise SystemExit(f"--detector-module wants path.py:NAME; got {spec!r}")
    path = Path(path).resolve()
    if not path.is_file():
        raise SystemExit(f"--detector-module: no file {path}")
    modname = f"_bench_candidates_{zlib.crc32(str(path).encode()):08x}"
    module_spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[modname] = module
    module_spec.loader.exec_module(module)
    try:  # worker processes cannot import the file by name: pickle its code by value
        import cloudpickle
        cloudpickle.register_pickle_by_value(module)
    except (ImportError, AttributeError):
        pass
    obj = getattr(module, attr, None)
    if obj is None:
        raise SystemExit(f"--detector-module: {path} has no {attr!r}")
    factories = dict(obj) if isinstance(obj, dict) else {attr: obj}
    for label, factory in factories.items():
        if not callable(factory):
            raise SystemExit(f"--detector-module: {label!r} in {path} is not callable")
    return factories


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS),
                        help=f"names from {list(DETECTORS)} (and --detector-module)")
    parser.add_argument("--detector-module", action="append", default=[], metavar="PATH:NAME",
                        help="add a factory (or a dict of factories) from a Python file; "
                             "its name(s) are run too; may repeat")
    parser.add_argument("--candidate", nargs="+", default=["default"],
                        help="detectors compared with --baseline, a summary each")
    parser.add_argument("--baseline", default="rx")
    parser.add_argument("--placements", type=int, default=None,
                        help=f"per scene per cell (default {PLACEMENTS}; "
                             f"{QUICK_PLACEMENTS} with --quick)")
    parser.add_argument("--scenes", nargs="+", default=None, choices=list(HAD_FILES))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_PLACEMENTS} placements on {', '.join(QUICK_SCENES)} "
                             "unless --placements / --scenes say otherwise")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="processes over images")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads per process")
    parser.add_argument("--csv", default=None, help="also write every record to this CSV")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/object_sizes.md"))
    args = parser.parse_args()

    registry = dict(DETECTORS)
    detectors = list(args.detectors)
    for spec in args.detector_module:
        extra = load_factories(spec)
        registry.update(extra)
        detectors += [name for name in extra if name not in detectors]
    missing = [d for d in detectors if d not in registry]
    if missing:
        raise SystemExit(f"unknown detectors {missing}; choose from {list(registry)}")
    factories = {d: registry[d] for d in detectors}
    scenes = args.scenes or (list(QUICK_SCENES) if args.quick else list(HAD_FILES))
    placements = args.placements or (QUICK_PLACEMENTS if args.quick else PLACEMENTS)
    sizes = sorted(set(args.sizes))

    command = "python benchmarks/bench_object_sizes.py " + " ".join(sys.argv[1:])
    n_images = len(scenes) * placements * len(cells(sizes))
    print(f"{len(detectors)} detectors x {n_images} images ({len(scenes)} scenes, "
          f"{placements} placements, {len(cells(sizes))} cells), seed {args.seed}", flush=True)
    start = time.perf_counter()
    records = run(factories, scenes, sizes, placements, args.seed, args.jobs, args.threads,
                  verbose=True)
    wall = time.perf_counter() - start
    for det in detectors:
        secs = sum(r["seconds"] for r in records if r["detector"] == det)
        print(f"{det}: {secs:.1f} s fit + score in total", flush=True)
    print(f"wall time {wall:.1f} s", flush=True)
    if args.csv:
        path = Path(args.csv)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(records)
        print(f"records written to {path}")
    write_results(report(records, detectors, scenes, sizes, placements, args.seed,
                         args.candidate, args.baseline, command.strip(), wall, args.jobs),
                  args.out)


if __name__ == "__main__":
    main()
