"""Benchmark: tiled scoring of memory-mapped cubes by a spatial detector, and its peak memory.

A spatial ``AutoencoderDetector`` (convolutional, ``hidden=8``) is fitted on
a small synthetic scene, then scores memory-mapped float32 cubes of growing
size (up to 2000 x 2000 x 100, 1.6 GB on disk) tile by tile. Each size runs in
a fresh process, which reports its peak resident memory since it started
(``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` would include the memory of
the parent at the fork) before and after scoring, and the time taken; the peak stays flat while the cube grows, because only one
tile and its halo are in memory at a time and the score map (4 bytes a pixel)
is the only output. Before that, scores of a 256 x 256 crop computed in tiles
of 32 and of 64 pixels are compared with the whole-crop scores.

Usage::

    python benchmarks/bench_tiled_memory.py [--sizes 500 1000 2000] [--bands 100]
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402

_CHILD = r"""
import json, sys, time
import joblib, numpy as np
sys.path.insert(0, {root!r})
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
det = joblib.load({model!r})
cube = np.memmap({path!r}, dtype=np.float32, mode="r", shape=({size}, {size}, {bands}))
before = status("VmHWM")
start = time.perf_counter()
scores = det.anomaly_score(cube)
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak_mb": status("VmHWM"), "before_mb": before,
                   "finite": bool(np.isfinite(scores).all()), "shape": list(scores.shape)}}))
"""


def _write_cube(path, size, bands):
    """A memory-mapped cube of smooth random spectra, written block by block."""
    import numpy as np

    cube = np.memmap(path, dtype=np.float32, mode="w+", shape=(size, size, bands))
    rng = np.random.default_rng(0)
    base = np.linspace(0.1, 0.5, bands, dtype=np.float32)
    for r in range(0, size, 250):
        rows = min(250, size - r)
        cube[r:r + rows] = base + 0.05 * rng.standard_normal((rows, size, bands),
                                                             dtype=np.float32)
    cube.flush()
    del cube


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--bands", type=int, default=100)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "tiled_memory.md")
    args = parser.parse_args(argv)

    import joblib
    import numpy as np

    from skhsi.anomaly import AutoencoderDetector
    from skhsi.datasets import make_synthetic_scene

    scene = make_synthetic_scene((128, 128, args.bands), random_state=0)
    det = AutoencoderDetector(spatial=True, hidden=8, max_epochs=2, tile_size=64,
                              random_state=0, device="cpu").fit(scene.cube)

    crop = make_synthetic_scene((256, 256, args.bands), random_state=1).cube
    whole = det.set_params(tile_size=256).anomaly_score(crop)
    differences = {t: float(np.abs(det.set_params(tile_size=t).anomaly_score(crop) - whole).max())
                   for t in (32, 64)}
    det.set_params(tile_size=256)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "det.joblib"
        joblib.dump(det, model)
        for size in args.sizes:
            path = Path(tmp) / f"cube_{size}.dat"
            _write_cube(path, size, args.bands)
            code = _CHILD.format(root=str(ROOT), model=str(model), path=str(path), size=size,
                                 bands=args.bands)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            gigabytes = size * size * args.bands * 4 / 1e9
            rows.append((size, gigabytes, result))
            print(size, gigabytes, result, flush=True)
            path.unlink()

    lines = [
        "# Tiled scoring of memory-mapped cubes",
        "",
        "A spatial `AutoencoderDetector(spatial=True, hidden=8)` (fitted on a synthetic "
        "128 x 128 scene) scores memory-mapped float32 cubes in tiles of 256 pixels; each size "
        "in a fresh process. Peak RSS is the process's `VmHWM` (Python, numpy, torch and the "
        "model included), before scoring (the model loaded, the cube mapped) and after.",
        "",
        "| cube | on disk (GB) | score time (s) | peak RSS before scoring (MB) | peak RSS (MB) "
        "| scores finite |",
        "|---|---|---|---|---|---|",
    ]
    for size, gigabytes, result in rows:
        lines.append(f"| {size} x {size} x {args.bands} | {gigabytes:.2f} | "
                     f"{result['seconds']:.1f} | {result['before_mb']:.0f} | "
                     f"{result['peak_mb']:.0f} | {result['finite']} |")
    lines += [
        "",
        "What grows with the cube is its score map (4 bytes a pixel, and a float64 copy of "
        "8) and what the allocator keeps of the freed tile buffers; the tiles themselves are "
        "read one at a time and their pages released after each (`MADV_DONTNEED`).",
        "",
        "Tiled = whole-image scores on a 256 x 256 crop (largest absolute difference "
        "against one 256-pixel tile): " +
        ", ".join(f"tiles of {t}: {d:.2e}" for t, d in differences.items()) + ".",
        "",
        f"Python {platform.python_version()}.",
        "",
    ]
    write_results("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
