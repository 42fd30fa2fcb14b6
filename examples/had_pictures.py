"""Pictures of the default detector and global RX on every real anomaly scene.

For each scene of ``shared/data/had`` (the development scenes beside the
repository; they are not part of skhsi, so this script is not in the
documentation gallery), fit the default detector
(:func:`skhsi.pipeline.make_attribute_filter_pipeline`) and global RX, and write
for each: the score heatmap (robust percentile stretch, real scores on the
colour bar) and the overlay of the flagged pixels, hits, false alarms and
misses over a false-colour image, at the threshold that flags as many pixels
as the mask has anomalies (so that the overlay shows the detector's ranking,
not the choice of a quantile). ROC AUC goes into the titles; ROC AUC, average
precision and the hits at that threshold are printed.

Usage::

    python examples/had_pictures.py [--data ../shared/data/had] [--out had-pictures]
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skhsi.anomaly import RXDetector  # noqa: E402
from skhsi.io import read_mat  # noqa: E402
from skhsi.metrics import average_precision, roc_auc  # noqa: E402
from skhsi.pipeline import make_attribute_filter_pipeline  # noqa: E402
from skhsi.plotting import plot_detection_overlay, plot_score_heatmap  # noqa: E402

DETECTORS = {"default": make_attribute_filter_pipeline, "rx": RXDetector}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--data", type=Path, default=here.parent / "shared" / "data" / "had")
    parser.add_argument("--out", type=Path, default=Path("had-pictures"))
    args = parser.parse_args(argv)
    files = sorted(args.data.glob("*.mat"))
    if not files:
        raise SystemExit(f"no .mat scenes found in {args.data}; pass --data")
    args.out.mkdir(parents=True, exist_ok=True)
    for path in files:
        scene = read_mat(path)
        n_anomalous = int(scene.mask.sum())
        for name, make in DETECTORS.items():
            scores = make().fit(scene.cube).anomaly_score(scene.cube)
            auc = roc_auc(scene.mask, scores)
            threshold = np.sort(scores.ravel())[-n_anomalous]
            flagged = scores >= threshold
            ax = plot_score_heatmap(scores, title=f"{path.stem}: {name}, ROC AUC {auc:.4f}")
            ax.figure.savefig(args.out / f"{path.stem}_{name}_heatmap.png", dpi=110,
                              bbox_inches="tight")
            plt.close(ax.figure)
            ax = plot_detection_overlay(
                scene.cube, scene.mask, flagged, wavelengths=scene.wavelengths, alpha=0.9,
                title=f"{path.stem}: {name}, the {n_anomalous} highest scores "
                      f"(>= {threshold:.3g})")
            ax.figure.savefig(args.out / f"{path.stem}_{name}_overlay.png", dpi=110,
                              bbox_inches="tight")
            plt.close(ax.figure)
            print(f"{path.stem:16s} {name:8s} ROC AUC {auc:.4f}  "
                  f"AP {average_precision(scene.mask, scores):.3f}  "
                  f"hits {int((flagged & scene.mask).sum())} of {n_anomalous}")
    print(f"pictures in {args.out}")


if __name__ == "__main__":
    main()
