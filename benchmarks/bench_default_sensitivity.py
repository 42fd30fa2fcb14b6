"""Benchmark: how much the default detector's settings matter, on every real scene of shared/data/had.

The default detector (``AttributeFilterDetector`` with its defaults, the step
of ``make_attribute_filter_pipeline``) against variants that change one
setting at a time. A default that sits on a narrow peak of the development
scenes would not carry to other scenes; one whose neighbours score nearly
the same is a choice of method, not of scene. Protocol: fit on every pixel of
a scene without labels, score every pixel, pixel-level ROC AUC against the
mask. The detector is deterministic, so there are no seeds.

Usage::

    python benchmarks/bench_default_sensitivity.py [--out benchmarks/results/default_sensitivity.md]
"""

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402
from _scenes import HAD_FILES, load_scene  # noqa: E402

import skhsi  # noqa: E402
from skhsi.anomaly import AttributeFilterDetector  # noqa: E402
from skhsi.metrics import roc_auc  # noqa: E402

#: Parts of the detector switched off (reported, not counted in the spread of settings).
ABLATIONS = ("local_rx=False (no local-RX weight)", "global_weight=0 (no global term)",
             "guided_radius=0 (no guided filter)")
#: One setting changed at a time from the defaults.
VARIANTS = {
    "defaults": {},
    "n_components=5": dict(n_components=5),
    "n_components=20": dict(n_components=20),
    "areas=(9, 16, 36, 64)": dict(areas=(9, 16, 36, 64)),
    "areas=(4, ..., 64, 100)": dict(areas=(4, 9, 16, 36, 64, 100)),
    "areas=(4, 16, 64)": dict(areas=(4, 16, 64)),
    "global_weight=0.4": dict(global_weight=0.4),
    "global_weight=1.2": dict(global_weight=1.2),
    "global_area=256": dict(global_area=256),
    "global_area=1024": dict(global_area=1024),
    "local_rx_components=5": dict(local_rx_components=5),
    "local_rx_components=10": dict(local_rx_components=10),
    "windows 5 / 13": dict(inner_window=5, outer_window=13),
    "windows 13 / 29": dict(inner_window=13, outer_window=29),
    "guide_components=3": dict(guide_components=3),
    "guided_radius=1": dict(guided_radius=1),
    "guided_radius=3": dict(guided_radius=3),
    "guided_eps=1e-2": dict(guided_eps=1e-2),
    "guided_eps=1e-4": dict(guided_eps=1e-4),
    ABLATIONS[0]: dict(local_rx=False),
    ABLATIONS[1]: dict(global_weight=0),
    ABLATIONS[2]: dict(guided_radius=0),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", nargs="+", default=list(HAD_FILES), choices=list(HAD_FILES))
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "default_sensitivity.md")
    args = parser.parse_args(argv)
    scenes = {name: load_scene(name) for name in args.scenes}
    aucs, seconds = {}, {}
    for label, params in VARIANTS.items():
        for name, scene in scenes.items():
            start = time.perf_counter()
            scores = AttributeFilterDetector(**params).fit_anomaly_score(scene.cube)
            seconds.setdefault(label, []).append(time.perf_counter() - start)
            auc = roc_auc(scene.mask, scores)
            aucs.setdefault(label, []).append(auc)
            print(f"{label:36s} {name:14s} AUC {auc:.4f}", flush=True)

    base = np.mean(aucs["defaults"])
    lines = [
        "# Sensitivity of the default detector to its settings",
        "",
        "ROC AUC per scene of `shared/data/had` of `AttributeFilterDetector` with its "
        "defaults and with one setting changed; fit on all pixels without labels, score all "
        "pixels. Deterministic: no seeds. \"change\" is the mean's difference to the defaults'.",
        "",
        "| variant | " + " | ".join(scenes) + " | mean | change | fit + score s (mean) |",
        "|---|" + "---|" * (len(scenes) + 3),
    ]
    for label in VARIANTS:
        row = aucs[label]
        lines.append(f"| {label} | " + " | ".join(f"{a:.4f}" for a in row)
                     + f" | {np.mean(row):.4f} | {np.mean(row) - base:+.4f} | "
                     f"{np.mean(seconds[label]):.2f} |")
    spread = max(abs(np.mean(aucs[label]) - base) for label in VARIANTS
                 if label not in ABLATIONS)
    lines += [
        "",
        f"Largest change of the mean from one setting (the ablations apart): {spread:.4f}. "
        "`global_weight` trades these scenes, whose anomalies are small, against objects of "
        "every size (`results/object_sizes.md`): lower weights score these scenes higher and "
        "large or faint objects lower.",
        "",
        f"Command: `python benchmarks/bench_default_sensitivity.py`. skhsi {skhsi.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}.",
        "",
    ]
    write_results("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
