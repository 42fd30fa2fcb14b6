"""The default figures of ``skhsi detect`` on every real anomaly scene, and a gallery page.

For each scene of ``shared/data/had`` (the development scenes beside the
repository; they are not part of skhsi, so this script is not in the
documentation gallery) run ``skhsi detect`` exactly as a user would, with the
default detector and the default threshold (a false-alarm rate of 1 %), and
keep its two figures: the score heatmap and the overlay of hits, false alarms
and outlined misses. A table of each scene's ROC AUC, flagged pixels, false
alarms on the background and recall is printed; ``--rst FILE`` also writes a
reStructuredText page that shows the figures with those numbers (the
documentation's gallery page is built this way when the scenes are there).

Usage::

    python examples/had_pictures.py [--data ../shared/data/had] [--out had-pictures]
                                    [--format png|pdf|svg] [--rst had-pictures/gallery.rst]
"""

import argparse
import contextlib
import io
import json
import os
from pathlib import Path

from skhsi.cli import main as skhsi


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--data", type=Path, default=here.parent / "shared" / "data" / "had")
    parser.add_argument("--out", type=Path, default=Path("had-pictures"))
    parser.add_argument("--format", choices=["png", "pdf", "svg"], default="png")
    parser.add_argument("--rst", type=Path, default=None,
                        help="also write a reStructuredText page showing the figures")
    parser.add_argument("--image-prefix", default=None,
                        help="how the page names the figures' folder (default: its path "
                             "relative to the page; Sphinx takes /PATH from its source root)")
    args = parser.parse_args(argv)
    files = sorted(args.data.glob("*.mat"))
    if not files:
        raise SystemExit(f"no .mat scenes found in {args.data}; pass --data")
    rows = []
    print(f"{'scene':16s} {'ROC AUC':>8s} {'flagged':>8s} {'false alarms':>13s} "
          f"{'background FA rate':>19s} {'recall':>7s}")
    for path in files:
        with contextlib.redirect_stdout(io.StringIO()):
            code = skhsi(["detect", str(path), "--out", str(args.out), "--format",
                          args.format, "--quiet"])
        if code:
            raise SystemExit(f"skhsi detect failed on {path} (exit status {code})")
        result = json.loads((args.out / f"{path.stem}_attribute_metrics.json").read_text())
        height, width = result["shape"][:2]
        rate = result["false_alarm_rate"]
        false_alarms = round(rate * (height * width - result["anomalous_pixels"]))
        rows.append((path.stem, result, false_alarms, rate))
        print(f"{path.stem:16s} {result['roc_auc']:8.4f} {result['flagged_pixels']:8d} "
              f"{false_alarms:13d} {rate:19.4f} {result['recall']:7.3f}")
    if args.rst is not None:
        args.rst.parent.mkdir(parents=True, exist_ok=True)
        prefix = args.image_prefix if args.image_prefix is not None else \
            Path(os.path.relpath(args.out, args.rst.parent)).as_posix()
        args.rst.write_text(_page(rows, prefix, args.format))
        print(f"page: {args.rst}")
    print(f"figures in {args.out}")


def _page(rows, prefix, fmt):
    """The gallery's figures with their numbers, as reStructuredText."""
    lines = []
    for stem, result, false_alarms, rate in rows:
        shape = " x ".join(map(str, result["shape"]))
        lines += [stem, "-" * len(stem), "",
                  f"{shape}; ROC AUC {result['roc_auc']:.4f}; {result['flagged_pixels']} "
                  f"pixels flagged at the default false-alarm rate of 1 %, of which "
                  f"{false_alarms} on the background (a rate of {rate:.4f}); recall "
                  f"{result['recall']:.3f} of {result['anomalous_pixels']} anomalous pixels.",
                  ""]
        for kind in ("overlay", "heatmap"):
            lines += [f".. image:: {prefix}/{stem}_attribute_{kind}.{fmt}", "   :width: 48%",
                      f"   :alt: {stem}, {kind}", ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
