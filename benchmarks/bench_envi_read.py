"""Benchmark: reading one band and one spectrum from a large ENVI file.

Writes a ~2 GB ENVI image (2048 samples x 256 bands uint16, BIL, as many lines
as ``--size-gb`` asks for) with ``skhsi.io.write_envi`` from a broadcast
array, so the writer never holds the cube in memory. Then, each in a fresh
Python process, opens it and reads band 100 and the spectrum of the centre
pixel with ``skhsi.io.read_envi`` (memory-mapped, with the default
``access="normal"`` and with ``access="random"``) and, when it is installed,
with Spectral Python (``spectral.open_image``). Each reader runs once with
the file's pages evicted from the page cache (``posix_fadvise(DONTNEED)``,
"cold") and once right after ("warm").

Memory is reported three ways: peak resident set (``ru_maxrss``, what "peak
RSS" usually means), and the peaks of its two parts, anonymous memory
(``RssAnon``: private memory the process allocated) and file-backed memory
(``RssFile``: pages of mapped files, among them the ENVI file's pages in the
page cache, which the kernel can drop at any time). The parent samples the
child's ``/proc/PID/status`` every ~0.5 ms for the two parts.

Writes the markdown tables (also printed) to ``--out`` and deletes the file.
``--stream`` adds a table for reading the whole file in blocks of 64 lines.

Usage::

    python benchmarks/bench_envi_read.py [--size-gb 2] [--path DIR] [--stream] [--keep]
        [--out benchmarks/results/envi_read.md]
"""

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import write_results

ROOT = Path(__file__).resolve().parents[1]
SAMPLES, BANDS, BAND = 2048, 256, 100
READERS = ("skhsi", "skhsi-random", "spectral")
LABELS = {"skhsi": '`read_envi(hdr)` (default, `access="normal"`)',
          "skhsi-random": '`read_envi(hdr, access="random")`',
          "spectral": "Spectral Python `open_image(hdr)`"}
LIMIT_MB = 300

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

VERSIONS = r"""
import json, numpy, skhsi
try:
    import spectral
    spectral_version = spectral.__version__
except ImportError:
    spectral_version = None
print(json.dumps({"numpy": numpy.__version__, "skhsi": skhsi.__version__,
                  "spectral": spectral_version}))
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

def status():
    with open("/proc/self/status") as fh:
        fields = dict(line.split(":", 1) for line in fh)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("RssAnon", "RssFile")}

rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
at_import = status()
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
at_end = status()
print(json.dumps({
    "open_s": t_open - t0, "band_s": t_band - t_open, "pixel_s": t_pixel - t_band,
    "rss_import_mb": rss_import / 1024,
    "anon_import_mb": at_import["RssAnon"], "file_import_mb": at_import["RssFile"],
    "anon_end_mb": at_end["RssAnon"], "file_end_mb": at_end["RssFile"],
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "band_sum": int(band_img.sum(dtype=np.int64)),
    "spectrum_sum": int(np.asarray(spectrum).sum(dtype=np.int64)),
}))
"""


def _proc_status(pid):
    """``RssAnon`` and ``RssFile`` of a process in MiB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            text = fh.read()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if "RssAnon" not in fields:  # a zombie has no memory lines
        return None
    return {k: int(fields[k].split()[0]) / 1024 for k in ("RssAnon", "RssFile")}


def python(code, *args):
    """Run ``code`` in a fresh interpreter; return its last stdout line as JSON.

    While it runs, the child's ``RssAnon`` and ``RssFile`` are sampled from
    ``/proc`` (this process polls, so a child busy in C code is still seen);
    their peaks are added as ``peak_anon_mb`` and ``peak_file_mb``.
    Children start from this small process, which never imports numpy: Linux
    carries a parent's peak RSS over into its children's ``ru_maxrss``.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)],
                                stdout=out, stderr=err, text=True, env=env)
        peak = {"RssAnon": 0.0, "RssFile": 0.0}
        while proc.poll() is None:
            now = _proc_status(proc.pid)
            if now is not None:
                for key in peak:
                    peak[key] = max(peak[key], now[key])
            time.sleep(0.0005)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise RuntimeError(f"benchmark child failed:\n{err.read()}")
        result = json.loads(out.read().strip().splitlines()[-1])
    # the child's own readings at import time and at the end count too
    result["peak_anon_mb"] = max(peak["RssAnon"], result.get("anon_end_mb", 0.0),
                                 result.get("anon_import_mb", 0.0))
    result["peak_file_mb"] = max(peak["RssFile"], result.get("file_end_mb", 0.0),
                                 result.get("file_import_mb", 0.0))
    return result


def evict(path):
    """Drop the file's pages from the page cache (no root needed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _filesystem(path):
    """Type of the filesystem holding ``path``, from ``/proc/mounts``."""
    try:
        mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    path = os.path.realpath(path)
    best = max((m for m in mounts if path == m[0] or path.startswith(m[0].rstrip("/") + "/")),
               key=lambda m: len(m[0]), default=None)
    return best[1] if best else "unknown"


def _memory_total_gib():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(folder, size_gb, stream=False, command="python benchmarks/bench_envi_read.py"):
    """Run the benchmark; return (exit code, markdown text)."""
    lines = max(1, round(size_gb * 2**30 / (SAMPLES * BANDS * 2)))
    made = python(WRITER, folder, lines, SAMPLES, BANDS)
    hdr, data = Path(made["hdr"]), Path(made["data"])
    size_mib = data.stat().st_size / 2**20
    versions = python(VERSIONS)
    readers = READERS if versions["spectral"] else READERS[:2]
    pixel = (lines // 2, SAMPLES // 2)
    results = {}
    for reader in readers:
        for cache in ("cold", "warm"):
            if cache == "cold":
                evict(data)
            results[reader, cache] = python(READER, reader, hdr, BAND, *pixel)
            print(f"{reader:13s} {cache}: {json.dumps(results[reader, cache])}", flush=True)
    sums = {(r["band_sum"], r["spectrum_sum"]) for r in results.values()}
    assert len(sums) == 1, f"readers disagree: {sums}"

    band_mib = lines * SAMPLES * 2 / 2**20
    md = [
        "# Reading one band and one spectrum from a large ENVI file",
        "",
        f"Produced by `{command}`.",
        "",
        f"File: {size_mib:.0f} MiB ENVI image, {lines} lines × {SAMPLES} samples × {BANDS} "
        f"bands, uint16, BIL interleave, written by `skhsi.io.write_envi` in "
        f"{made['seconds']:.1f} s to a temporary folder ({_filesystem(folder)}) and deleted "
        f"afterwards. Each row is a fresh Python process that opens the file and reads band "
        f"{BAND} ({lines} × {SAMPLES}, {band_mib:.0f} MiB; in BIL one 4 KiB run per line, "
        f"spread over the whole file) and then the spectrum of pixel {pixel} ({BANDS} values). "
        "'cold': the file's pages evicted from the page cache (`posix_fadvise(DONTNEED)`) "
        "just before; 'warm': run again right after. All readers return the same values.",
        "",
        "Memory columns: **peak RSS** is `ru_maxrss` (the process's peak resident set). It is "
        "the sum of *anonymous* memory (`RssAnon`: private memory the process allocated, "
        "interpreter and libraries included) and *file-backed* memory (`RssFile`: pages of "
        "mapped files, shared libraries and the memory-mapped ENVI file, which are the page "
        "cache's pages: clean, shared and dropped by the kernel under memory pressure, never "
        "swapped). Their peaks are sampled from `/proc/PID/status` about every 0.5 ms.",
        "",
        "| reader | cache | open (ms) | band (ms) | pixel (ms) | RSS after imports (MB) "
        "| peak RSS (MB) | peak anonymous (MB) | peak file-backed (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (reader, cache), r in results.items():
        md.append(f"| {LABELS[reader]} | {cache} | {r['open_s'] * 1e3:.1f} "
                  f"| {r['band_s'] * 1e3:.1f} | {r['pixel_s'] * 1e3:.2f} "
                  f"| {r['rss_import_mb']:.0f} | {r['peak_rss_mb']:.0f} "
                  f"| {r['peak_anon_mb']:.0f} | {r['peak_file_mb']:.0f} |")
    md.append("")
    if "spectral" in readers:
        for cache in ("cold", "warm"):
            b = results["spectral", cache]
            for name in READERS[:2]:
                a = results[name, cache]
                ratio = (b["band_s"] + b["pixel_s"]) / (a["band_s"] + a["pixel_s"])
                md.append(f"- {cache}: Spectral Python / {LABELS[name]} time for band + "
                          f"pixel = {ratio:.1f}×")
        md.append("")

    md += [f"## Peak memory under {LIMIT_MB} MB", "",
           "Worst of the cold and warm runs.", "",
           f"| configuration | peak RSS (MB) | peak anonymous (MB) | peak file-backed (MB) "
           f"| peak RSS < {LIMIT_MB} MB | peak anonymous < {LIMIT_MB} MB |",
           "|---|---:|---:|---:|---|---|"]
    worst = {}
    for name in readers:
        worst[name] = {key: max(results[name, c][key] for c in ("cold", "warm"))
                       for key in ("peak_rss_mb", "peak_anon_mb", "peak_file_mb")}
        w = worst[name]
        md.append(f"| {LABELS[name]} | {w['peak_rss_mb']:.0f} | {w['peak_anon_mb']:.0f} "
                  f"| {w['peak_file_mb']:.0f} | {'yes' if w['peak_rss_mb'] < LIMIT_MB else 'no'} "
                  f"| {'yes' if w['peak_anon_mb'] < LIMIT_MB else 'no'} |")
    md.append("")
    default, rand = worst["skhsi"], worst["skhsi-random"]
    ok = rand["peak_rss_mb"] < LIMIT_MB
    met = [LABELS[n] for n in ("skhsi", "skhsi-random") if worst[n]["peak_rss_mb"] < LIMIT_MB]
    verdict = (f"**Peak memory under {LIMIT_MB} MB (peak RSS, the strict reading) is met by "
               + (" and ".join(met) if met else "neither skhsi configuration") + "**")
    verdict += (f": `read_envi(hdr, access=\"random\")` peaks at {rand['peak_rss_mb']:.0f} MB "
                f"RSS, the default `read_envi(hdr)` at {default['peak_rss_mb']:.0f} MB. "
                f"Of the default's peak, only {default['peak_anon_mb']:.0f} MB is anonymous "
                f"(allocated) memory and {default['peak_file_mb']:.0f} MB is file-backed: the "
                "kernel's read-ahead on the memory map brings in, and maps, pages of the file "
                "around every 4 KiB run of the band (here "
                f"{min(default['peak_file_mb'] / size_mib, 1):.0%} of the file's "
                f"{size_mib:.0f} MiB, shared libraries included). That part is page cache of the "
                "file, shared and reclaimable, not memory the reader allocated; "
                "`access=\"random\"` (`madvise(MADV_RANDOM)`) turns read-ahead off so only the "
                "touched pages are read and mapped.")
    md += [verdict, ""]

    if stream:
        md += ["## Streaming the whole file", "",
               "| read_envi access | cache | stream all lines, 64 at a time (s) | peak RSS (MB) |",
               "|---|---|---:|---:|"]
        for access in ("normal", "random"):
            for cache in ("cold", "warm"):
                if cache == "cold":
                    evict(data)
                r = python(STREAMER, hdr, access)
                md.append(f"| {access} | {cache} | {r['seconds']:.2f} | {r['peak_rss_mb']:.0f} |")
        md.append("")

    md += ["## Environment", "",
           f"skhsi {versions['skhsi']}, numpy {versions['numpy']}, Spectral Python "
           f"{versions['spectral'] or 'not installed'}, Python {platform.python_version()}; "
           f"{platform.system()} {platform.release()}, {platform.machine()}, {_cpu_model()}, "
           f"{os.cpu_count()} CPUs, {_memory_total_gib():.0f} GiB RAM.", ""]
    return (0 if ok else 1), "\n".join(md)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="file size (default 2)")
    parser.add_argument("--path", help="folder for the file (default: a temp folder)")
    parser.add_argument("--stream", action="store_true",
                        help="also time streaming the whole file in blocks of lines")
    parser.add_argument("--keep", action="store_true", help="do not delete the file")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "envi_read.md",
                        help="markdown results file (default benchmarks/results/envi_read.md)")
    args = parser.parse_args(argv)
    command = shlex.join(["python", "benchmarks/bench_envi_read.py",
                          *(sys.argv[1:] if argv is None else argv)])
    folder = Path(args.path or tempfile.mkdtemp(prefix="skhsi-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "bench.bil", folder / "bench.hdr"]
    try:
        code, text = run(folder, args.size_gb, args.stream, command)
    finally:
        if not args.keep:
            for p in files:
                p.unlink(missing_ok=True)
            if args.path is None:
                folder.rmdir()
    write_results(text, args.out)
    return code


if __name__ == "__main__":
    sys.exit(main())
