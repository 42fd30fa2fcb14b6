"""Benchmark: start-up cost, what importing and running the default costs in a fresh process.

Each statement runs in a fresh interpreter (``python -c``), ``--repeats`` times;
the table gives the median wall time and whether torch was imported. Beside
them, ``import numpy`` (the floor of any Python process that touches arrays)
and ``import torch``. The 100 x 100 x 100 scene for ``skhsi detect`` is
synthetic (``skhsi.datasets.make_synthetic_scene``), written once as ``.npy``.

``--reference DIR`` runs the same statements against the skhsi source tree in
DIR (a checkout of an earlier version, put first on ``PYTHONPATH``) beside this
checkout, for a before/after comparison.

Usage::

    python benchmarks/bench_import.py [--repeats 7] [--reference DIR]
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402

_TORCH = "import sys; print('torch' in sys.modules)"
STATEMENTS = {
    "`import numpy`": "import numpy",
    "`import torch`": "import torch",
    "`import skhsi.anomaly`": "import skhsi.anomaly",
    "`make_attribute_filter_pipeline()` (import and build)":
        "from skhsi.pipeline import make_attribute_filter_pipeline; "
        "make_attribute_filter_pipeline()",
    "`skhsi detect --help`":
        "from skhsi.cli import main\ntry:\n    main(['detect', '--help'])\n"
        "except SystemExit:\n    pass",
    "`skhsi detect SCENE` (100 x 100 x 100, default detector, pictures written)":
        "from skhsi import cli; import sys\n"
        "run = getattr(cli, 'console_main', lambda argv: sys.exit(cli.main(argv)))\n"
        "try:\n    run(['detect', {scene!r}, '--out', {out!r}, '--quiet'])\n"
        "except SystemExit:\n    pass",
}
#: Issue targets: ``--help`` within 0.5 s, the default's whole run within 2.5 s.
TARGETS = {"`skhsi detect --help`": 0.5,
           "`skhsi detect SCENE` (100 x 100 x 100, default detector, pictures written)": 2.5}


def _time(code, source, repeats):
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="2")
    env["PYTHONPATH"] = str(source) + os.pathsep + env.get("PYTHONPATH", "")
    walls, torch = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code + "\n" + _TORCH], env=env,
                             capture_output=True, text=True, cwd=tempfile.gettempdir())
        walls.append(time.perf_counter() - start)
        if out.returncode:
            raise RuntimeError(f"{code!r} failed:\n{out.stderr[-2000:]}")
        torch = out.stdout.strip().splitlines()[-1] == "True"
    return statistics.median(walls), torch


def _commit(source):
    out = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or str(source)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--reference", default=None, metavar="DIR",
                        help="an earlier skhsi source tree to measure beside this one")
    parser.add_argument("--out", default=ROOT / "benchmarks" / "results" / "import_time.md")
    args = parser.parse_args()
    import numpy as np

    from skhsi.datasets import make_synthetic_scene

    sources = {"this version": ROOT}
    if args.reference:
        sources = {"reference": Path(args.reference).resolve(), **sources}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        scene = os.path.join(tmp, "synthetic_scene.npy")
        np.save(scene, make_synthetic_scene((100, 100, 100), random_state=0).cube
                .astype(np.float32))
        for label, template in STATEMENTS.items():
            code = template.format(scene=scene, out=os.path.join(tmp, "out"))
            rows[label] = {name: _time(code, source, args.repeats)
                           for name, source in sources.items()}
            print(label, rows[label], flush=True)
    names = list(sources)
    head = " | ".join(f"{n}: s (median) | {n}: torch imported" for n in names)
    lines = [
        "# Start-up: import and run times in a fresh process",
        "",
        "Produced by `python benchmarks/bench_import.py"
        + (" --reference DIR" if args.reference else "") + "`.",
        "",
        "Each statement runs in a "
        f"fresh `python -c`, {args.repeats} times; median wall seconds (shared machine, "
        "2 cores: compare within a row) and whether `torch` ended up in `sys.modules`."
        + (f" Reference: skhsi at commit `{_commit(sources['reference'])}` (the version "
           "before torch became lazy), first on `PYTHONPATH`." if args.reference else ""),
        "",
        f"| statement | {head} |",
        "|---|" + "---|---|" * len(names),
    ]
    numpy_s = rows["`import numpy`"]["this version"][0]
    for label, by_source in rows.items():
        cells = " | ".join(f"{by_source[n][0]:.2f} | {'yes' if by_source[n][1] else 'no'}"
                           for n in names)
        lines.append(f"| {label} | {cells} |")
    lines.append("")
    for label, limit in TARGETS.items():
        seconds = rows[label]["this version"][0]
        lines.append(f"- {label}: {seconds:.2f} s, {seconds / numpy_s:.1f}x `import numpy`; "
                     f"target {limit} s: **{'met' if seconds <= limit else 'not met'}**")
    lines += ["", f"Python {platform.python_version()}, {os.cpu_count()} CPUs.", ""]
    write_results("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
