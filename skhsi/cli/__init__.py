"""The ``skhsi`` command: anomaly detection and file summaries from the shell.

``skhsi detect [SCENE]`` fits a detector on the embedded real scene
(``indian_pines``, AVIRIS, shipped by tensorly) or on an ENVI / ``.mat``
file, flags the pixels at a stated false-alarm rate (by default at most 1 %
of the scene's pixels, see :class:`skhsi.anomaly.FalseAlarmDecider`), and
writes a score heatmap and an overlay of the flagged pixels on a true-colour
(or false-colour) rendering (PNG, PDF or SVG, with pixel or map coordinates
and a scale bar), the scores (``.npy``) and a summary (JSON) into ``--out``.
When the file has a ground-truth mask it prints ROC AUC, IoU, precision and
recall; when the scene has class labels (Indian Pines) it
prints how the flagged pixels fall across the classes and the unlabelled
ground. ``skhsi fit SCENE... --out MODEL`` fits a detector on one or more
scenes and saves it as a weights-only model file; ``skhsi score MODEL FILE...
--out DIR`` scores files of any size in blocks of rows, in flat memory, into
ENVI score maps and masks (:func:`skhsi.serving.score_file`). ``skhsi info
FILE`` summarises a file; ``skhsi bands FILE --strategy
rgb|uniform|regions|pca-loading`` prints the bands a sampling strategy picks,
with their wavelengths.
"""

import argparse
import sys

from ._common import (_add_input_options, _add_method_options, _add_threshold_option,
                      _add_training_options)
from ._detect import _detect
from ._fit import _fit
from ._info import _bands, _info
from ._score import _score

__all__ = ["console_main", "main"]


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="skhsi", description="Hyperspectral anomaly detection with scikit-learn estimators."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    detect = sub.add_parser("detect", help="detect anomalies in a scene and score them")
    detect.add_argument("scene", nargs="?", default="indian_pines",
                        help="embedded scene (indian_pines) or an ENVI/.mat file "
                             "(default: indian_pines)")
    _add_method_options(detect)
    _add_input_options(detect)
    detect.add_argument("--mask", default=None, metavar="FILE",
                        help="ground-truth mask in a file of its own (.npy, .png, .mat or "
                             "ENVI; with --mask-key for a .mat), for the metrics and the "
                             "overlay's hits and misses")
    detect.add_argument("--out", default="skhsi-out", help="output directory (default: skhsi-out)")
    _add_threshold_option(detect, "scene")
    detect.add_argument("--quantile", type=float, default=None,
                        help="flag the pixels at or above this quantile of the scores (the "
                             "same as --threshold quantile:Q)")
    detect.add_argument("--format", choices=["png", "pdf", "svg"], default="png",
                        help="file format of the pictures: png, or pdf and svg (vector) for "
                             "papers (default: png)")
    detect.add_argument("--dpi", type=int, default=150,
                        help="resolution of png pictures and of the image layer in pdf/svg "
                             "(default: 150)")
    detect.add_argument("--pixel-size", type=float, default=None, metavar="METRES",
                        help="ground size of a pixel, for the axes in metres and the scale "
                             "bar when the file carries no map info")
    _add_training_options(detect)

    fit = sub.add_parser("fit", help="fit a detector on one or more scenes and save it")
    fit.add_argument("scenes", nargs="+", metavar="SCENE",
                     help="embedded scene (indian_pines) or ENVI/.mat/.npy files")
    fit.add_argument("--out", required=True, metavar="MODEL",
                     help="model file to write (weights only, safe to load)")
    _add_method_options(fit)
    _add_input_options(fit)
    fit.add_argument("--max-pixels", type=int, default=200_000, metavar="N",
                     help="per-pixel methods fit on at most N pixels, a seeded sample drawn "
                          "from all scenes in proportion to their size (default: 200000)")
    fit.add_argument("--window", type=int, default=512, metavar="N",
                     help="image methods fit on one window of at most N x N pixels of every "
                          "scene, all of the same size, at a seeded place (default: 512)")
    _add_training_options(fit)

    score = sub.add_parser("score", help="score files of any size with a saved model")
    score.add_argument("model", metavar="MODEL", help="model file written by skhsi fit")
    score.add_argument("files", nargs="+", metavar="FILE", help="ENVI, .npy or .mat files")
    score.add_argument("--out", required=True, metavar="DIR",
                       help="output directory: ENVI score maps and masks, JSON summaries")
    _add_threshold_option(score, "file")
    score.add_argument("--mask", default=None, metavar="FILE",
                       help="ground-truth mask of a single FILE (.npy, .png, .mat or ENVI; "
                            "with --mask-key for a .mat), for the same metrics as detect")
    score.add_argument("--mask-key", default=None, metavar="NAME",
                       help="variable of a .mat --mask file that holds the mask")
    score.add_argument("--tile-rows", type=int, default=None, metavar="N",
                       help="rows scored at a time (default: blocks of about 65536 pixels)")
    score.add_argument("--halo", type=int, default=None, metavar="N",
                       help="rows of neighbours around each block for detectors that compare "
                            "a pixel with its image (default: 32)")
    score.add_argument("--model-sha256", default=None, metavar="HEX",
                       help="load the model only if its SHA-256 (as skhsi fit or sha256sum "
                            "printed it) is this one")
    score.add_argument("--cube-key", default=None, metavar="NAME",
                       help="variable of a .mat file that holds the cube")
    score.add_argument("--quiet", action="store_true",
                       help="no progress bar (shown on a terminal's stderr only)")
    score.set_defaults(quantile=None)

    info = sub.add_parser("info", help="summarise an ENVI or .mat file or an embedded scene")
    info.add_argument("file", help="embedded scene (indian_pines) or an ENVI/.mat file")
    _add_input_options(info)

    bands = sub.add_parser("bands", help="choose bands by a sampling strategy")
    bands.add_argument("file", help="embedded scene (indian_pines) or an ENVI/.mat file")
    _add_input_options(bands)
    bands.add_argument("--strategy", choices=["uniform", "regions", "rgb", "pca-loading"],
                       default="uniform")
    bands.add_argument("-k", "--n-bands", type=int, default=10,
                       help="number of bands (default: 10; rgb always picks 3)")
    bands.add_argument("--drop-bad-bands", action="store_true",
                       help="drop the header's bad bands (bbl) first")
    bands.add_argument("--wavelengths", default=None, metavar="FILE",
                       help="text file of the band centres in nm, one per band of the file "
                            "(one per line, or separated by commas or spaces), strictly "
                            "increasing; replaces the file's own")
    return parser


_COMMANDS = {"detect": _detect, "fit": _fit, "score": _score, "info": _info, "bands": _bands}


def console_main(argv=None):
    """The ``skhsi`` console script: :func:`main` in a process that ends with it.

    A run imports scikit-learn, scipy and matplotlib, hundreds of thousands of
    objects that live until the process ends. The garbage collector's first
    generation is collected every 20,000 allocations instead of 700 (the
    objects are the same, the collections fewer), and everything is frozen
    out of the collector at exit, so the interpreter's shutdown does not
    traverse it again (``benchmarks/bench_import.py`` times the whole run).
    Called in-process (tests, notebooks), :func:`main` leaves the collector
    alone.
    """
    import atexit
    import gc

    gc.set_threshold(20_000, 20, 20)
    atexit.register(gc.freeze)
    sys.exit(main(argv))


def main(argv=None):
    """Entry point of the ``skhsi`` command; returns the exit status."""
    args = _build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"skhsi: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: the files being written were removed on the way out
        print("skhsi: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (``| head``)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # the system refused a read or write: name the file and why
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"skhsi: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
