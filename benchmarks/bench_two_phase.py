"""Benchmark: does phase 2 (gradient training) beat phase 1 (the statistics it starts from)?

Every trainable anomaly detector of skhsi is run twice on each of the eight
real scenes of ``shared/data/had``, fitted on every pixel without labels and
scored on every pixel (pixel-level ROC AUC, ``skhsi.metrics.roc_auc``), for
each seed:

- **phase 1 only**: the detector's statistical initialisation, nothing trained
  (``max_epochs=0``; for ``LearnedBackgroundDetector`` phase 1 is the default
  ``AttributeFilterDetector()``);
- **phase 2**: the detector as shipped (its default training).

Detectors: the spectral, spatial and blind-spot autoencoders and VAEs
(``AutoencoderDetector``, ``VAEDetector``), the Deep SVDD pipeline
``make_deep_svdd_pipeline``, and ``LearnedBackgroundDetector`` (the default
whose global distance is a spectral autoencoder trained on the 90 % of
pixels the default scores lowest), with an ablation row: the same detector
with its network untrained (``AutoencoderDetector(max_epochs=0)``, a PCA
reconstruction of the purified background).

Then ``LearnedBackgroundDetector`` against the default on the robustness
variants of HYDICE and San Diego (``bench_robustness.make_variants``: crops,
band subsets, noise, scale, implants, tiling, 2x downsampling), seeds as above,
the minimum over seeds against the default and global RX.

Checks (issue "phase 2 must beat the statistics it starts from"): the
learned-background detector's 8-scene mean of per-scene minima over seeds
beats the default's mean, no scene's minimum is more than 0.005 below the
default, and its fit on a 100 x 100 scene takes at most 30 s.

Every (detector, phase, scene, seed) runs in a worker process with one BLAS /
torch thread, ``--jobs`` at a time; seconds are wall-clock of fit + score
(a shared machine: compare within one run).

Usage::

    python benchmarks/bench_two_phase.py [--seeds 0 1 2] [--jobs 2]
        [--detectors learned-background ae-spectral ...] [--no-robustness]
        [--out benchmarks/results/two_phase.md]
"""

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
sys.path.insert(0, str(ROOT / "benchmarks"))
from _results import write_results  # noqa: E402
from _scenes import HAD_FILES, load_scene  # noqa: E402

MAX_LOSS = 0.005  # largest loss of any scene's minimum over seeds against the default
MAX_FIT_S = 30.0  # fit + score of a 100 x 100 scene

#: name -> (label, factory(seed, phase) -> estimator); phase 1 = statistics only.
DETECTORS = {}


def _register(name, label, make):
    DETECTORS[name] = (label, make)


def _autoencoder(cls_name, **params):
    def make(seed, phase):
        from skhsi import anomaly

        epochs = {} if phase == 2 else {"max_epochs": 0}
        return getattr(anomaly, cls_name)(random_state=seed, device="cpu", **params, **epochs)
    return make


def _learned_background(untrained=False):
    def make(seed, phase):
        from skhsi.anomaly import (AttributeFilterDetector, AutoencoderDetector,
                                   LearnedBackgroundDetector)

        if phase == 1:
            return AttributeFilterDetector()
        network = AutoencoderDetector(device="cpu", **({"max_epochs": 0} if untrained else {}))
        return LearnedBackgroundDetector(network, random_state=seed)
    return make


def _deep_svdd(seed, phase):
    from skhsi.pipeline import make_deep_svdd_pipeline

    return make_deep_svdd_pipeline(random_state=seed, device="cpu",
                                   **({} if phase == 2 else {"max_epochs": 0}))


_register("learned-background", "`LearnedBackgroundDetector(random_state=seed)`",
          _learned_background())
_register("learned-background-untrained", "the same, network untrained "
          "(`AutoencoderDetector(max_epochs=0)`: PCA reconstruction of the purified background)",
          _learned_background(untrained=True))
_register("ae-spectral", "`AutoencoderDetector()` (spectral)", _autoencoder("AutoencoderDetector"))
_register("ae-spatial", "`AutoencoderDetector(spatial=True)`",
          _autoencoder("AutoencoderDetector", spatial=True))
_register("ae-blind-spot", "`AutoencoderDetector(spatial=True, blind_spot=True)`",
          _autoencoder("AutoencoderDetector", spatial=True, blind_spot=True))
_register("vae-spectral", "`VAEDetector()` (spectral)", _autoencoder("VAEDetector"))
_register("vae-spatial", "`VAEDetector(spatial=True)`", _autoencoder("VAEDetector", spatial=True))
_register("vae-blind-spot", "`VAEDetector(spatial=True, blind_spot=True)`",
          _autoencoder("VAEDetector", spatial=True, blind_spot=True))
_register("deep-svdd", "`make_deep_svdd_pipeline(random_state=seed)`", _deep_svdd)


def _limit_threads():
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    warnings.filterwarnings("ignore")


def _fit_score(estimator, cube):
    start = time.perf_counter()
    if hasattr(estimator, "fit_anomaly_score"):
        scores = estimator.fit_anomaly_score(cube)
    else:
        scores = estimator.fit(cube).anomaly_score(cube)
    return np.asarray(scores), time.perf_counter() - start


def _run_scene(name, phase, scene_name, seed):
    from skhsi.metrics import roc_auc

    _limit_threads()
    scene = load_scene(scene_name)
    scores, seconds = _fit_score(DETECTORS[name][1](seed, phase), scene.cube)
    return name, phase, scene_name, seed, float(roc_auc(scene.mask, scores)), seconds


def _run_variant(scene_name, index, method, seed):
    from bench_robustness import cached_variants as _variants, run_rx

    from skhsi.anomaly import AttributeFilterDetector, LearnedBackgroundDetector

    _limit_threads()
    variant = _variants(scene_name)[index]
    if method == "rx":
        return scene_name, index, variant.name, method, seed, float(run_rx(variant))
    estimator = AttributeFilterDetector() if method == "default" else \
        LearnedBackgroundDetector(random_state=seed)
    scores, _ = _fit_score(estimator, variant.cube)
    return scene_name, index, variant.name, method, seed, float(variant.auc(scores))


def _read_records(path):
    """The runs recorded in ``path`` (JSON lines of ``[key, value]``), by key."""
    if path is None or not Path(path).is_file():
        return {}
    with open(path, encoding="utf-8") as f:
        return {tuple(key): tuple(value) for key, value in map(json.loads, f)}


def _append_record(path, key, value):
    if path is not None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps([key, value]) + "\n")


def _scene_table(records, names, seeds):
    scenes = list(HAD_FILES)
    lines = ["| detector | phase | " + " | ".join(scenes) + " | mean | mean of minima | "
             "fit + score s (mean) |",
             "|---|---|" + "---|" * (len(scenes) + 3)]
    summary = {}
    for name in names:
        for phase in (1, 2):
            per_scene = [[records[(name, phase, s, seed)][0] for seed in seeds] for s in scenes]
            seconds = [records[(name, phase, s, seed)][1] for s in scenes for seed in seeds]
            means = [float(np.mean(a)) for a in per_scene]
            minima = [float(np.min(a)) for a in per_scene]
            summary[(name, phase)] = (means, minima, seconds)
            label = DETECTORS[name][0] if phase == 2 or name != "learned-background" else \
                "`AttributeFilterDetector()` (the default)"
            lines.append(f"| {label} | {'2' if phase == 2 else '1 only'} | "
                         + " | ".join(f"{m:.4f} / {n:.4f}" for m, n in zip(means, minima))
                         + f" | {np.mean(means):.4f} | {np.mean(minima):.4f} | "
                         f"{np.mean(seconds):.1f} |")
    return lines, summary


def _gain_table(summary, names):
    lines = ["| detector | phase 1 mean | phase 2 mean | phase 2 − phase 1 (mean) | "
             "phase 2 − phase 1 (mean of minima) | scenes phase 2 wins (minima) | "
             "worst scene, phase 2 minimum − phase 1 minimum |",
             "|---|---|---|---|---|---|---|"]
    scenes = list(HAD_FILES)
    for name in names:
        m1, n1, _ = summary[(name, 1)]
        m2, n2, _ = summary[(name, 2)]
        diffs = np.subtract(n2, n1)
        worst = int(np.argmin(diffs))
        lines.append(f"| {DETECTORS[name][0]} | {np.mean(m1):.4f} | {np.mean(m2):.4f} | "
                     f"{np.mean(m2) - np.mean(m1):+.4f} | {np.mean(n2) - np.mean(n1):+.4f} | "
                     f"{int(np.sum(diffs > 0))} of {len(scenes)} | "
                     f"{scenes[worst]} {diffs[worst]:+.4f} |")
    return lines


def _check_lines(summary, records, seeds):
    scenes = list(HAD_FILES)
    _, default_min, _ = summary[("learned-background", 1)]
    means, minima, _ = summary[("learned-background", 2)]
    losses = np.subtract(minima, default_min)
    worst = int(np.argmin(losses))
    square = [s for s in scenes if load_scene(s).cube.shape[:2] == (100, 100)]
    fit_s = [records[("learned-background", 2, s, seed)][1] for s in square for seed in seeds]
    rows = [
        ("8-scene mean of the per-scene minima over seeds", f"{np.mean(minima):.4f}",
         f"> the default's {np.mean(default_min):.4f}",
         np.mean(minima) > np.mean(default_min)),
        ("worst scene: minimum over seeds − the default",
         f"{scenes[worst]} {losses[worst]:+.4f}", f"≥ −{MAX_LOSS}",
         losses[worst] >= -MAX_LOSS),
        ("slowest fit + score of a 100 × 100 scene (s)", f"{max(fit_s):.1f}",
         f"≤ {MAX_FIT_S:g}", max(fit_s) <= MAX_FIT_S),
    ]
    lines = ["| check | value | target | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {'yes' if ok else '**no**'} |" for a, b, c, ok in rows]
    return lines


def _robustness_lines(results, seeds):
    keys = sorted({(s, i, v) for s, i, v, _, _, _ in results})
    value = {(s, i, m, seed): auc for s, i, _, m, seed, auc in results}
    lines = ["| scene | variant | RX | default | learned background, mean / min over seeds | "
             "min − default | min − RX |",
             "|---|---|---|---|---|---|---|"]
    losses, below_rx, counted = [], [], 0
    for scene, index, name in sorted(keys, key=lambda k: (k[0], k[1])):
        rx = value[(scene, index, "rx", seeds[0])]
        default = value[(scene, index, "default", seeds[0])]
        learned = [value[(scene, index, "learned", seed)] for seed in seeds]
        low = min(learned)
        lines.append(f"| {scene} | {name} | {rx:.4f} | {default:.4f} | "
                     f"{np.mean(learned):.4f} / {low:.4f} | {low - default:+.4f} | "
                     f"{low - rx:+.4f} |")
        if rx < 0.5:
            continue
        counted += 1
        if low < default - MAX_LOSS:
            losses.append(f"{scene}/{name} ({low - default:+.4f})")
        if low < rx:
            below_rx.append(f"{scene}/{name} ({low - rx:+.4f})")
    diffs = [min(value[(s, i, "learned", seed)] for seed in seeds) - value[(s, i, "default",
             seeds[0])] for s, i, _ in keys if value[(s, i, "rx", seeds[0])] >= 0.5]
    lines += ["",
              f"Variants with RX ≥ 0.5 (the rest are implants less anomalous than the "
              f"background; shown, not counted): {counted}. Learned background (minimum over "
              f"seeds) − default: mean {np.mean(diffs):+.4f}, from {min(diffs):+.4f} to "
              f"{max(diffs):+.4f}; more than {MAX_LOSS} below the default on "
              f"{len(losses)}" + (f": {', '.join(losses)}" if losses else "")
              + f"; below RX on {len(below_rx)}"
              + (f": {', '.join(below_rx)}." if below_rx else ".")]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS),
                        choices=list(DETECTORS))
    parser.add_argument("--no-robustness", action="store_true",
                        help="skip the robustness variants")
    parser.add_argument("--records", default=None, metavar="FILE.jsonl",
                        help="append every run's result here and skip the runs it holds "
                             "(resume an interrupted run)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/two_phase.md"))
    args = parser.parse_args(argv)
    names = [n for n in DETECTORS if n in args.detectors]
    if "learned-background" not in names:
        names.insert(0, "learned-background")
    start = time.perf_counter()
    done = _read_records(args.records)
    tasks = [(n, p, s, seed) for n in names for p in (1, 2) for s in HAD_FILES
             for seed in args.seeds if ("scene", n, p, s, seed) not in done]
    for n, p, s, seed, auc, sec in Parallel(n_jobs=args.jobs, verbose=5,
                                            return_as="generator_unordered")(
            delayed(_run_scene)(*t) for t in tasks):
        done[("scene", n, p, s, seed)] = (auc, sec)
        _append_record(args.records, ["scene", n, p, s, seed], [auc, sec])
    records = {key[1:]: value for key, value in done.items() if key[0] == "scene"}
    table, summary = _scene_table(records, names, args.seeds)
    robustness = []
    if not args.no_robustness:
        from bench_robustness import SCENES, cached_variants as _variants

        variant_tasks = [(scene, i, method, seed) for scene in SCENES
                         for i in range(len(_variants(scene)))
                         for method, seeds in (("rx", args.seeds[:1]),
                                               ("default", args.seeds[:1]),
                                               ("learned", args.seeds))
                         for seed in seeds if ("variant", scene, i, method, seed) not in done]
        for scene, i, name, method, seed, auc in Parallel(
                n_jobs=args.jobs, verbose=5, return_as="generator_unordered")(
                delayed(_run_variant)(*t) for t in variant_tasks):
            done[("variant", scene, i, method, seed)] = (name, auc)
            _append_record(args.records, ["variant", scene, i, method, seed], [name, auc])
        robustness = [(key[1], key[2], value[0], key[3], key[4], value[1])
                      for key, value in done.items() if key[0] == "variant"]
    minutes = (time.perf_counter() - start) / 60
    n_runs = len(records) + len(robustness)
    n_ran = len(tasks) + (len(variant_tasks) if not args.no_robustness else 0)
    ran = "" if n_ran == n_runs else \
        f" ({n_ran} of the {n_runs} runs; the others were read from a records file)"
    import sklearn
    import torch

    import skhsi

    given = list(sys.argv[1:] if argv is None else argv)
    if "--records" in given:  # where runs were kept, not what was run
        at = given.index("--records")
        del given[at:at + 2]
    command = ("python benchmarks/bench_two_phase.py " + " ".join(given)).rstrip()
    text = "\n".join([
        "# Phase 1 against phase 2: what training adds to each trainable detector",
        "",
        f"`{command}`. Eight real scenes of `shared/data/had`, fit on every pixel without "
        "labels, score every pixel, pixel-level ROC AUC; seeds "
        f"{', '.join(map(str, args.seeds))}. **Phase 1 only**: the statistical "
        "initialisation, nothing trained (`max_epochs=0`; for `LearnedBackgroundDetector`, "
        "phase 1 is the default `AttributeFilterDetector()`, deterministic). **Phase 2**: "
        "the detector as shipped. Cells: mean / minimum over seeds. Protocol in the "
        "script's docstring.",
        "",
        "## ROC AUC per scene",
        "",
        *table,
        "",
        "## What phase 2 adds",
        "",
        *_gain_table(summary, names),
        "",
        "## Learned background against the default",
        "",
        *_check_lines(summary, records, args.seeds),
        *([""] + ["## Robustness variants (HYDICE and San Diego)", "",
                  "`bench_robustness.make_variants`; RX and the default are deterministic "
                  "(one run), the learned background runs once per seed."] + [""]
          + _robustness_lines(robustness, args.seeds) if robustness else []),
        "",
        f"skhsi {skhsi.__version__}, scikit-learn {sklearn.__version__}, torch "
        f"{torch.__version__} (1 thread per worker, {args.jobs} workers, CPU), Python "
        f"{platform.python_version()}, {platform.machine()}. Whole run: {minutes:.1f} min{ran}.",
        "",
    ])
    write_results(text, args.out)


if __name__ == "__main__":
    main()
