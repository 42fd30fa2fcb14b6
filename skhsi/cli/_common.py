"""What the subcommands share: reading inputs, building detectors, output folders, thresholds."""

import sys
from pathlib import Path

import numpy as np


def _add_method_options(parser):
    parser.add_argument("--method", choices=sorted(_METHODS), default="attribute",
                        help="attribute (default: small objects by area attribute filters, "
                             "local RX and a guided filter), rx (global), local-rx "
                             "(dual-window), low-rank (robust PCA), deep-svdd, autoencoder "
                             "(spectral), blind-spot (a spatial autoencoder that never sees "
                             "the pixel it reconstructs) or learned-background (the default "
                             "with a spectral autoencoder trained on the pixels it calls "
                             "background)")
    parser.add_argument("--min-nm", type=float, default=None, metavar="NM",
                        help="keep the bands at or above this wavelength (needs a file with "
                             "wavelengths)")
    parser.add_argument("--max-nm", type=float, default=None, metavar="NM",
                        help="keep the bands at or below this wavelength")


def _add_training_options(parser):
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs of the networks (default: the estimator's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--keep-bad-bands", action="store_true",
                        help="keep the bands an ENVI header marks bad (bbl); dropped by default")
    parser.add_argument("--verbose", action="store_true",
                        help="show the networks' training progress, epoch by epoch")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress lines (they go to a terminal's stderr only, never "
                             "to a file or pipe)")


def _add_input_options(parser):
    parser.add_argument("--cube-key", default=None, metavar="NAME",
                        help="variable of a .mat file that holds the cube (default: the "
                             "only 3-D array, or the one named data, cube, x or img)")
    parser.add_argument("--mask-key", default=None, metavar="NAME",
                        help="variable of a .mat file that holds the ground-truth mask "
                             "(default: the 2-D array named map, gt, mask or groundtruth)")


def _load(source, args):
    """The image of ``source`` with the command's reader options."""
    from skhsi.datasets import load_image

    options = {key: value for key, value in (("cube_key", args.cube_key),
                                             ("mask_key", args.mask_key))
               if value is not None}
    if options and Path(str(source)).suffix.lower() != ".mat":
        raise ValueError(f"--cube-key and --mask-key choose variables of a .mat file; "
                         f"{source} is not one.")
    if Path(str(source)).suffix.lower() == ".npy":
        from skhsi.serving import open_cube

        return open_cube(source)
    return load_image(source, **options)


def _inputs(*sources):
    """Every file the command reads for ``sources`` (an ENVI header and its data file
    both; an embedded scene none)."""
    from skhsi.datasets import SCENES
    from skhsi.io._envi import source_files

    return [f for source in sources if source is not None and str(source) not in SCENES
            for f in source_files(source)]


_METHODS = {"attribute": {}, "rx": {}, "local-rx": {}, "low-rank": {}, "deep-svdd": {},
            "autoencoder": {}, "blind-spot": {"spatial": True, "blind_spot": True},
            "learned-background": {}}


_CLASSICAL = {"rx": "RXDetector", "local-rx": "LocalRXDetector",
              "low-rank": "LowRankSparseDetector"}


def _make_detector(args, wavelengths=None):
    """The detector of ``--method``, behind a bandpass when ``--min-nm``/``--max-nm`` are given."""
    from skhsi import anomaly
    from skhsi.pipeline import make_attribute_filter_pipeline, make_deep_svdd_pipeline, \
        make_pipeline
    from skhsi.preprocessing import BandpassByWavelength

    limits = {"min_wavelength_nm": args.min_nm, "max_wavelength_nm": args.max_nm}
    if any(v is not None for v in limits.values()) and wavelengths is None:
        raise ValueError(f"--min-nm and --max-nm need the band wavelengths, and {args.scene} "
                         "has none.")
    if args.method == "attribute":
        return make_attribute_filter_pipeline(wavelengths=wavelengths, **limits)
    params = {"random_state": args.seed, "device": args.device, "verbose": int(args.verbose)}
    if args.epochs is not None:
        params["max_epochs"] = args.epochs
    if args.method == "deep-svdd":
        return make_deep_svdd_pipeline(wavelengths=wavelengths, **limits, **params)
    if args.method in _CLASSICAL:
        detector = getattr(anomaly, _CLASSICAL[args.method])()
    elif args.method == "learned-background":
        seed = params.pop("random_state")
        detector = anomaly.LearnedBackgroundDetector(anomaly.AutoencoderDetector(**params),
                                                     random_state=seed)
    else:
        detector = anomaly.AutoencoderDetector(**_METHODS[args.method], **params)
    if any(v is not None for v in limits.values()):
        return make_pipeline(BandpassByWavelength(wavelengths=wavelengths, **limits), detector)
    return detector


def _check_output_dir(out):
    """Before any work: ``out`` is a writable directory, or one that can be created."""
    import os

    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a directory; --out names the directory "
                         "to write into.")
    parent = out
    while not parent.exists():
        parent = parent.parent if parent.parent != parent else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{out}: cannot be created, {parent} is not a directory.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{out}: cannot be written, {parent} is not writable.")


def _make_output_dir(out):
    _check_output_dir(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{out}: cannot create the output directory ({exc.strerror}).") \
            from exc


def _check_writable(folder, what):
    import os

    if not folder.is_dir():
        raise ValueError(f"{what} {folder} does not exist or is not a directory.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {folder} is not writable.")


def _atomic_write(path, write):
    """Write through a temporary file in the same directory, then rename."""
    from skhsi._files import atomic_write

    atomic_write(path, write)


def _bands_used(detector, n_bands):
    """How many bands reach the detector (after a bandpass step, when there is one)."""
    for _, step in getattr(detector, "steps", []):
        kept = getattr(step, "selected_bands_", None)
        if kept is not None:
            return int(len(kept))
    return int(n_bands)


def _progress(args, message):
    """A progress line on stderr, when stderr is a terminal and ``--quiet`` is not given."""
    if not getattr(args, "quiet", False) and sys.stderr.isatty():
        print(f"skhsi: {message}", file=sys.stderr, flush=True)


#: The false-alarm rate of the default threshold: at most 1 % of the pixels flagged.
DEFAULT_FALSE_ALARM_RATE = 0.01


def _add_threshold_option(parser, where):
    parser.add_argument(
        "--threshold", default=None, metavar="RULE",
        help="which pixels are flagged: false-alarm:R (the default, "
             f"R={DEFAULT_FALSE_ALARM_RATE:g}: the scores reached by at most the share R of "
             f"the {where}'s pixels), "
             "contamination (the detector's own threshold, set in fit from its "
             f"contamination), quantile:Q (at or above the {where}'s Q quantile) or score:S "
             "(at or above S)")


def _threshold_rule(args):
    """``(rule, value)`` of ``--threshold`` (``--quantile`` gives the quantile rule's value)."""
    if args.threshold is not None and args.quantile is not None:
        raise ValueError("give --threshold or --quantile, not both")
    if args.quantile is not None and not 0.0 <= args.quantile <= 1.0:
        raise ValueError(f"--quantile must lie in [0, 1], got {args.quantile}")
    spec = args.threshold if args.threshold is not None else (
        f"quantile:{args.quantile}" if args.quantile is not None
        else f"false-alarm:{DEFAULT_FALSE_ALARM_RATE}")
    from skhsi.serving import THRESHOLD_RULES

    rule, _, text = spec.partition(":")
    if rule == "contamination" and not text:
        return rule, None
    if rule in THRESHOLD_RULES and text:
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is not None and np.isfinite(value) and THRESHOLD_RULES[rule](value):
            return rule, value
    raise ValueError(
        f"--threshold must be false-alarm:R with R in (0, 1), contamination, quantile:Q with "
        f"Q in [0, 1], or score:S with a finite number S; got {spec!r}."
    )


def _print_metrics(result):
    """The detection metrics of ``result`` (a mask was given), or why there are none."""
    if result.get("anomalous_pixels") == 0:
        print(f"metrics    the mask has no anomalous pixel; false-alarm rate "
              f"{result['false_alarm_rate']:.4f} (the share of its pixels flagged)")
        return
    if "roc_auc" not in result:
        print("metrics    none: no ground-truth mask (give one with --mask FILE)")
        return
    print(f"ROC AUC    {result['roc_auc']:.4f}   (the ranking of all pixels: no threshold)")
    print(f"AP         {result['average_precision']:.4f}")
    print(f"IoU        {result['iou']:.4f}   (of the flagged pixels)")
    print(f"precision  {result['precision']:.4f}")
    print(f"recall     {result['recall']:.4f}")
    print(f"FA rate    {result['false_alarm_rate']:.4f}   (the share of the background flagged)")


def _threshold_hints(result, n_pixels):
    """Lines that say when the flagged share says more about the threshold than the
    detector: an extreme share, or fewer flagged pixels than the mask's anomalies."""
    flagged = result["flagged_pixels"]
    share = flagged / n_pixels
    hints = []
    if flagged == 0 or share > 0.05:
        hints.append(f"{share:.2%} of the pixels are flagged; --threshold "
                     f"false-alarm:{DEFAULT_FALSE_ALARM_RATE:g} flags at most "
                     f"{DEFAULT_FALSE_ALARM_RATE:.0%} of them")
    anomalous = result.get("anomalous_pixels")
    if anomalous and flagged < anomalous:
        rate = min(0.5, float(f"{1.5 * anomalous / n_pixels:.1g}"))
        hints.append(f"the mask has {anomalous} anomalous pixels ({anomalous / n_pixels:.2%}), "
                     f"more than the {flagged} flagged, so recall is at most "
                     f"{flagged / anomalous:.2f} whatever the detector; --threshold "
                     f"false-alarm:{rate:g} flags more")
    model = result.get("model_threshold")
    if model and model.get("contamination") and (
            model["flagged_share"] > 3 * model["contamination"]):
        hints.append(f"the model's own threshold, from the scene it was fitted on, would flag "
                     f"{model['flagged_share']:.2%} of this file (its contamination: "
                     f"{model['contamination']:.2%}): the file's scores run higher than the "
                     "fitting scene's (another scene, sensor or illumination); "
                     "--threshold contamination keeps that threshold")
    for hint in hints:
        print(f"hint       {hint}")


def _save_figure(figure, path, dpi=150):
    """Write ``figure`` in the format of ``path``'s suffix."""
    _atomic_write(path, lambda f: figure.savefig(f, format=Path(path).suffix[1:], dpi=dpi,
                                                 bbox_inches="tight", pad_inches=0.08))
