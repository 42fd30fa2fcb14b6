"""Benchmark: how close block-wise scoring (``skhsi score``) comes to whole-image scoring.

The spatial detectors (the attribute-filter default, local RX) declare a finite
reach and are scored in blocks with that halo, which gives the whole image's
scores; robust PCA decomposes the image it is given (its reach is global), so
scoring a file in blocks of rows, as :func:`skhsi.serving.score_file` does,
changes its scores.
Protocol: for each scene of ``shared/data/had``, fit the detector on every
pixel without labels, score the whole image in memory, then score the same
cube saved as ``.npy`` with ``score_file`` in blocks of ``--tile-rows`` rows
and the default halo; report both pixel-level ROC AUCs and their difference.

Usage::

    python benchmarks/bench_tiled_scoring.py [--tile-rows 25] [--out benchmarks/results/tiled_scoring.md]
"""

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402
from _scenes import HAD_FILES, load_scene  # noqa: E402

import skhsi  # noqa: E402
from skhsi.anomaly import (  # noqa: E402
    AttributeFilterDetector,
    LocalRXDetector,
    LowRankSparseDetector,
)
from skhsi.io import read_envi  # noqa: E402
from skhsi.metrics import roc_auc  # noqa: E402
from skhsi.serving import score_file  # noqa: E402

DETECTORS = {
    "default (attribute)": AttributeFilterDetector,
    "local RX": LocalRXDetector,
    "robust PCA": LowRankSparseDetector,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-rows", type=int, default=25)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/tiled_scoring.md"))
    args = parser.parse_args()
    rows, halo = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for name in HAD_FILES:
            scene = load_scene(name)
            cube = np.asarray(scene.cube, dtype=np.float32)
            path = Path(tmp) / f"{name}.npy"
            np.save(path, cube)
            for label, cls in DETECTORS.items():
                detector = cls().fit(cube)
                whole = roc_auc(scene.mask, detector.anomaly_score(cube))
                summary = score_file(detector, path, tmp, tile_rows=args.tile_rows)
                halo = summary["tiling"]["halo"]
                blocks = read_envi(Path(tmp) / f"{name}_scores.hdr").cube[..., 0]
                tiled = roc_auc(scene.mask, np.asarray(blocks))
                rows.append((name, cube.shape, label, whole, tiled))
                print(f"{name} {label}: whole {whole:.4f}, blocks {tiled:.4f}", flush=True)
    lines = [
        "# Block-wise against whole-image scoring",
        "",
        f"Every scene of `shared/data/had`, each detector with its defaults fitted on every "
        f"pixel (no labels); `skhsi.serving.score_file` in blocks of {args.tile_rows} rows "
        "with the halo of the detector's declared reach (robust PCA, global: the default "
        "halo of 32 rows) against `anomaly_score` on the whole image. Pixel-level ROC AUC.",
        "",
        "| scene | H × W × C | detector | whole image | blocks | change |",
        "|---|---|---|---|---|---|",
    ]
    for name, shape, label, whole, tiled in rows:
        lines.append(f"| {name} | {' × '.join(map(str, shape))} | {label} | {whole:.4f} | "
                     f"{tiled:.4f} | {tiled - whole:+.4f} |")
    lines += ["", "| detector | largest change | whole-image AUC (range) |", "|---|---|---|"]
    for label in DETECTORS:
        mine = [(t - w, n, w) for n, _, lab, w, t in rows if lab == label]
        worst = max(mine, key=lambda r: abs(r[0]))
        lines.append(f"| {label} | {worst[0]:+.4f} ({worst[1]}) | "
                     f"{min(r[2] for r in mine):.4f} – {max(r[2] for r in mine):.4f} |")
    lines += [
        "",
        f"Command: `python benchmarks/bench_tiled_scoring.py --tile-rows {args.tile_rows}`. "
        f"skhsi {skhsi.__version__}, numpy {np.__version__}, Python "
        f"{platform.python_version()}, {platform.machine()}.",
        "",
    ]
    write_results("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
