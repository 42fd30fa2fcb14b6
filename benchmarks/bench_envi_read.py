"""Benchmark: reading one band and one spectrum from a large ENVI file.

Writes a ~2 GB ENVI image (2048 samples x 256 bands uint16, BIL, as many lines
as ``--size-gb`` asks for) with ``skhsi.io.write_envi`` from a broadcast
array, so the writer never holds the cube in memory. Then, each in a fresh
Python process, opens it and reads band 100 and the spectrum of the centre
pixel with ``skhsi.io.read_envi`` (memory-mapped, with the default
``access="normal"`` and with ``access="random"``) and, when it is installed,
with Spectral Python (``spectral.open_image``). Each reader runs once with
the file's pages evicted from the page cache (``posix_fadvise(DONTNEED)``,
"cold") and once right after ("warm"). Prints a markdown table of wall times
and peak resident memory (``ru_maxrss``) and deletes the file. ``--stream``
adds a table for reading the whole file in blocks of 64 lines.

Usage::

    python benchmarks/bench_envi_read.py [--size-gb 2] [--path DIR] [--stream] [--keep]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES, BANDS, BAND = 2048, 256, 100
READERS = ("skhsi", "skhsi-random", "spectral")

WRITER = r"""
import json, sys, time
import numpy as np
from skhsi.io import write_envi
folder, lines, samples, bands = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
row = np.random.default_rng(0).integers(0, 4096, size=(1, samples, bands), dtype=np.uint16)
cube = np.broadcast_to(row, (lines, samples, bands))  # no memory behind it
t0 = time.perf_counter()
hdr, data = write_envi(folder + "/bench.bil", cube, interleave="bil",
                       wavelengths=np.linspace(400, 2500, bands))
print(json.dumps({"hdr": str(hdr), "data": str(data), "seconds": time.perf_counter() - t0}))
"""

STREAMER = r"""
import json, resource, sys, time
import numpy as np
from skhsi.io import read_envi
t0 = time.perf_counter()
img = read_envi(sys.argv[1], access=sys.argv[2])
total = 0
for r in range(0, img.shape[0], 64):
    total += int(np.asarray(img.cube[r:r + 64]).sum(dtype=np.int64))
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

READER = r"""
import json, resource, sys, time
reader, hdr, band, row, col = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
import numpy as np
if reader.startswith("skhsi"):
    from skhsi.io import read_envi
else:
    import spectral
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if reader.startswith("skhsi"):
    img = read_envi(hdr, access="random" if reader == "skhsi-random" else "normal")
    t_open = time.perf_counter()
    band_img = np.array(img.cube[:, :, band])
    t_band = time.perf_counter()
    spectrum = np.array(img.cube[row, col, :])
else:
    img = spectral.open_image(hdr)
    t_open = time.perf_counter()
    band_img = img.read_band(band)
    t_band = time.perf_counter()
    spectrum = img.read_pixel(row, col)
t_pixel = time.perf_counter()
print(json.dumps({
    "open_s": t_open - t0, "band_s": t_band - t_open, "pixel_s": t_pixel - t_band,
    "rss_import_mb": rss_import / 1024,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "band_sum": int(band_img.sum(dtype=np.int64)),
    "spectrum_sum": int(np.asarray(spectrum).sum(dtype=np.int64)),
}))
"""


def python(code, *args):
    """Run ``code`` in a fresh interpreter; return its last stdout line as JSON.

    Children start from this small process, which never imports numpy: Linux
    carries a parent's peak RSS over into its children's ``ru_maxrss``.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)],
                         capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"benchmark child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def evict(path):
    """Drop the file's pages from the page cache (no root needed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def run(folder, size_gb, stream=False):
    lines = max(1, round(size_gb * 2**30 / (SAMPLES * BANDS * 2)))
    made = python(WRITER, folder, lines, SAMPLES, BANDS)
    hdr, data = Path(made["hdr"]), Path(made["data"])
    size_mb = data.stat().st_size / 2**20
    print(f"file: {data} ({lines}, {SAMPLES}, {BANDS}) uint16 bil, {size_mb:.0f} MiB, "
          f"written in {made['seconds']:.1f} s\n")
    try:
        import spectral  # noqa: F401
        readers = READERS
    except ImportError:
        readers = READERS[:2]
    pixel = (lines // 2, SAMPLES // 2)
    results = {}
    for reader in readers:
        for cache in ("cold", "warm"):
            if cache == "cold":
                evict(data)
            results[reader, cache] = python(READER, reader, hdr, BAND, *pixel)
    sums = {(r["band_sum"], r["spectrum_sum"]) for r in results.values()}
    assert len(sums) == 1, f"readers disagree: {sums}"

    print("| reader | cache | open (ms) | band (ms) | pixel (ms) | "
          "RSS after imports (MB) | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (reader, cache), r in results.items():
        print(f"| {reader} | {cache} | {r['open_s'] * 1e3:.1f} | {r['band_s'] * 1e3:.1f} "
              f"| {r['pixel_s'] * 1e3:.2f} | {r['rss_import_mb']:.0f} "
              f"| {r['peak_rss_mb']:.0f} |")
    print()
    if "spectral" in readers:
        for cache in ("cold", "warm"):
            b = results["spectral", cache]
            for name in READERS[:2]:
                a = results[name, cache]
                ratio = (b["band_s"] + b["pixel_s"]) / (a["band_s"] + a["pixel_s"])
                print(f"{cache}: spectral / {name} time for band + pixel = {ratio:.1f}x")
    peak = {name: max(results[name, c]["peak_rss_mb"] for c in ("cold", "warm"))
            for name in READERS[:2]}
    ok = peak["skhsi-random"] < 300
    print(f"\npeak RSS for a {size_mb:.0f} MiB file: read_envi() {peak['skhsi']:.0f} MB, "
          f"read_envi(access='random') {peak['skhsi-random']:.0f} MB "
          f"({'OK' if ok else 'FAIL'}: limit 300 MB)")
    if stream:
        print("\n| read_envi access | cache | stream all lines, 64 at a time (s) | peak RSS (MB) |")
        print("|---|---|---:|---:|")
        for access in ("normal", "random"):
            for cache in ("cold", "warm"):
                if cache == "cold":
                    evict(data)
                r = python(STREAMER, hdr, access)
                print(f"| {access} | {cache} | {r['seconds']:.2f} | {r['peak_rss_mb']:.0f} |")
    return (0 if ok else 1), (hdr, data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="file size (default 2)")
    parser.add_argument("--path", help="folder for the file (default: a temp folder)")
    parser.add_argument("--stream", action="store_true",
                        help="also time streaming the whole file in blocks of lines")
    parser.add_argument("--keep", action="store_true", help="do not delete the file")
    args = parser.parse_args(argv)
    folder = Path(args.path or tempfile.mkdtemp(prefix="skhsi-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "bench.bil", folder / "bench.hdr"]
    try:
        code, _ = run(folder, args.size_gb, args.stream)
        return code
    finally:
        if not args.keep:
            for p in files:
                p.unlink(missing_ok=True)
            if args.path is None:
                folder.rmdir()


if __name__ == "__main__":
    sys.exit(main())
