"""The ``skhsi`` command: anomaly detection and file summaries from the shell.

``skhsi detect [SCENE]`` fits a detector on the embedded real scene
(``indian_pines``, AVIRIS, shipped by tensorly) or on an ENVI / ``.mat``
file, flags the pixels at or above a quantile of the scores, and writes a
score heatmap (PNG), an overlay of the flagged pixels on a true-colour (or
false-colour) rendering (PNG), the scores (``.npy``) and a summary (JSON)
into ``--out``. When the file has a ground-truth mask it prints ROC AUC, IoU,
precision and recall; when the scene has class labels (Indian Pines) it
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
import json
import sys
import time
from pathlib import Path

import numpy as np

from skhsi._files import check_outputs

__all__ = ["main"]


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
    detect.add_argument("--threshold", default=None, metavar="RULE",
                        help="which pixels are flagged: quantile:Q (scores at or above the "
                             "scene's Q quantile; the default, with --quantile's Q), "
                             "contamination (the detector's own threshold, set in fit from "
                             "its contamination) or score:S (scores at or above S)")
    detect.add_argument("--quantile", type=float, default=0.995,
                        help="pixels at or above this quantile of the scores are flagged "
                             "(default: 0.995)")
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
    score.add_argument("--threshold", default=None, metavar="RULE",
                       help="which pixels the mask flags: contamination (the default: the "
                            "model's own threshold, set in fit), quantile:Q (at or above the "
                            "file's Q quantile) or score:S (at or above S)")
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
    score.set_defaults(quantile=0.995, mask_key=None)

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
    return parser


def _add_method_options(parser):
    parser.add_argument("--method", choices=sorted(_METHODS), default="attribute",
                        help="attribute (default: small objects by area attribute filters, "
                             "local RX and a guided filter), rx (global), local-rx "
                             "(dual-window), low-rank (robust PCA), deep-svdd, autoencoder "
                             "(spectral) or blind-spot (a spatial autoencoder that never sees "
                             "the pixel it reconstructs)")
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
            "autoencoder": {}, "blind-spot": {"spatial": True, "blind_spot": True}}
# Detectors without training: no seed, device or epochs.
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
    else:
        detector = anomaly.AutoencoderDetector(**_METHODS[args.method], **params)
    if any(v is not None for v in limits.values()):
        return make_pipeline(BandpassByWavelength(wavelengths=wavelengths, **limits), detector)
    return detector


def _detect(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skhsi import metrics, plotting
    from skhsi.anomaly import QuantileBinaryDecider

    rule, value = _threshold_rule(args)
    out = Path(args.out)
    stem = f"{Path(str(args.scene)).stem}_{args.method}"
    outputs = {kind: out / f"{stem}_{kind}" for kind in
               ("heatmap.png", "overlay.png", "scores.npy", "metrics.json")}
    check_outputs(outputs.values(), _inputs(args.scene, args.mask))
    _check_output_dir(out)
    if args.mask is not None and args.mask_key is not None \
            and Path(args.mask).suffix.lower() == ".mat":
        mask_key, args.mask_key = args.mask_key, None  # the key is the mask file's
    else:
        mask_key = None
    image = _load(args.scene, args)
    if args.mask is not None:
        from dataclasses import replace

        from skhsi.io import read_mask

        image = replace(image, mask=read_mask(args.mask, key=mask_key,
                                              shape=image.cube.shape[:2]))
    dropped = 0
    if image.bad_bands is not None and not args.keep_bad_bands:
        dropped = int(image.bad_bands.sum())
        image = image.drop_bad_bands()
    cube = image.cube
    detector = _make_detector(args, image.wavelengths)
    _progress(args, f"fitting {args.method} on {' x '.join(map(str, cube.shape))} and "
                    "scoring it ...")
    start = time.perf_counter()
    scores = detector.fit_anomaly_score(cube)  # the training scores: no second pass
    seconds = time.perf_counter() - start
    if rule == "quantile":
        decider = QuantileBinaryDecider(quantile=value).fit(scores)
        threshold = float(decider.thresholds(scores)[0, 0])
        flagged = scores >= threshold
        rule_text = f"scores >= {threshold:.4g}, the {value:g} quantile"
    elif rule == "contamination":
        final = detector[-1] if hasattr(detector, "steps") else detector
        threshold = -float(final.offset_)
        flagged = scores > threshold
        rule_text = (f"scores > {threshold:.4g}, the detector's threshold "
                     f"(contamination={final.contamination:g})")
    else:
        threshold = value
        flagged = scores >= threshold
        rule_text = f"scores >= {threshold:.4g}"

    result = {
        "scene": str(args.scene),
        "method": args.method,
        "shape": list(cube.shape),
        "bands_used": _bands_used(detector, cube.shape[-1]),
        "bad_bands_dropped": dropped,
        "quantile": args.quantile if rule == "quantile" else None,
        "threshold": {"rule": rule, "value": value, "score": threshold, "text": rule_text},
        "flagged_pixels": int(flagged.sum()),
        "seconds": round(seconds, 3),
    }
    if image.labels is not None:
        result["flagged_by_class"] = _flagged_by_class(
            image.labels, flagged, image.metadata.get("class_names", {}))
    if "credit" in image.metadata:
        result["data_credit"] = image.metadata["credit"]
    if image.mask is not None:
        result.update(
            anomalous_pixels=int(image.mask.sum()),
            roc_auc=metrics.roc_auc(image.mask, scores),
            average_precision=metrics.average_precision(image.mask, scores),
            iou=metrics.iou(image.mask, flagged),
            precision=metrics.precision(image.mask, flagged),
            recall=metrics.recall(image.mask, flagged),
        )

    _make_output_dir(out)
    _progress(args, f"writing the pictures, scores and summary to {out} ...")
    name = Path(str(args.scene)).name
    credit = image.metadata.get("credit")
    ax = plotting.plot_score_heatmap(scores, title=f"{args.method} anomaly score: {name}")
    _save_figure(ax.figure, outputs["heatmap.png"], credit)
    plt.close(ax.figure)
    ax = plotting.plot_detection_overlay(
        cube, image.mask, flagged, wavelengths=image.wavelengths, alpha=0.9,
        title=f"{name}: {args.method}, {rule_text}")
    _save_figure(ax.figure, outputs["overlay.png"], credit)
    plt.close(ax.figure)
    _atomic_write(outputs["scores.npy"], lambda f: np.save(f, scores))
    result["outputs"] = sorted(str(p) for p in outputs.values())
    _atomic_write(outputs["metrics.json"],
                  lambda f: f.write(json.dumps(result, indent=2).encode()))
    _print_result(result)
    return 0


def _fit(args):
    from skhsi.persistence import save_weights
    from skhsi.serving import pixelwise

    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"{out}: is a directory; --out names the model file to write "
                         f"(e.g. {out / 'model.skhsi'}).")
    check_outputs([out], _inputs(*args.scenes))
    _check_writable(out.parent if str(out.parent) else Path("."), "the model file's directory")
    for name, value in (("--max-pixels", args.max_pixels), ("--window", args.window)):
        if value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value}.")
    images = []
    for scene in args.scenes:
        image = _load(scene, args)
        keep = None
        if image.bad_bands is not None and not args.keep_bad_bands:
            keep = np.flatnonzero(~image.bad_bands)
        images.append((scene, image, keep))
    bands = {scene: image.cube.shape[-1] if keep is None else len(keep)
             for scene, image, keep in images}
    if len(set(bands.values())) > 1:
        raise ValueError("The scenes must have the same number of bands; got "
                         + ", ".join(f"{scene}: {n}" for scene, n in bands.items()) + ".")
    first, image, keep = images[0]
    wavelengths = image.wavelengths if keep is None or image.wavelengths is None \
        else image.wavelengths[keep]
    args.scene = first
    detector = _make_detector(args, wavelengths)
    rng = np.random.default_rng(args.seed)
    if pixelwise(detector):
        data = _sample_pixels(images, args.max_pixels, rng)
        what = f"{data.shape[0]} pixels"
    else:
        data = _windows(images, args.window, rng)
        count = 1 if data.ndim == 3 else data.shape[0]
        what = f"{count} window(s) of {data.shape[-3]} x {data.shape[-2]} pixels"
    _progress(args, f"fitting {args.method} on {what} of {len(images)} scene(s) ...")
    start = time.perf_counter()
    detector.fit(data)
    fit_seconds = time.perf_counter() - start
    digest = save_weights(detector, out)
    print(f"fitted     {args.method} on {what} of {len(images)} scene(s), "
          f"{data.shape[-1]} bands, in {fit_seconds:.2f} s")
    print(f"wrote      {out}")
    print(f"sha256     {digest}")
    return 0


def _sample_pixels(images, max_pixels, rng):
    """All pixels of the scenes, or ``max_pixels`` of them drawn without replacement
    (seeded, each scene in proportion to its size), read block by block."""
    from skhsi.serving import _read_rows

    sizes = [image.cube.shape[0] * image.cube.shape[1] for _, image, _ in images]
    total = sum(sizes)
    chosen = None if total <= max_pixels else np.sort(rng.choice(total, max_pixels,
                                                                 replace=False))
    parts, offset = [], 0
    for (_, image, keep), size in zip(images, sizes):
        cube = image.cube
        width = cube.shape[1]
        mine = None if chosen is None else chosen[(chosen >= offset) & (chosen < offset + size)] \
            - offset
        step = max(1, (64 << 20) // max(1, width * cube.shape[2] * cube.itemsize))
        for r in range(0, cube.shape[0], step):
            block = _read_rows(cube, r, min(r + step, cube.shape[0])).reshape(-1, cube.shape[2])
            if mine is not None:
                block = block[mine[(mine >= r * width) & (mine < (r + step) * width)] - r * width]
            parts.append(block if keep is None else block[:, keep])
        offset += size
    return np.concatenate(parts)


def _windows(images, window, rng):
    """One window of every scene, all of the same size (at most ``window`` on a side),
    at a seeded place; the whole scenes when they fit."""
    height = min(min(image.cube.shape[0] for _, image, _ in images), window)
    width = min(min(image.cube.shape[1] for _, image, _ in images), window)
    from skhsi._files import release_pages

    cubes = []
    for _, image, keep in images:
        cube = image.cube
        r = int(rng.integers(0, cube.shape[0] - height + 1))
        c = int(rng.integers(0, cube.shape[1] - width + 1))
        block = np.array(cube[r:r + height, c:c + width])
        release_pages(cube)
        cubes.append(block if keep is None else block[..., keep])
    return np.stack(cubes) if len(cubes) > 1 else cubes[0]


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


def _score(args):
    from skhsi.persistence import load_weights
    from skhsi.serving import _stem, output_paths, score_file

    model = Path(args.model)
    if not model.is_file():
        raise FileNotFoundError(f"Model file {model} not found.")
    if args.threshold is None:
        threshold = "contamination"
    else:
        rule, value = _threshold_rule(args)
        threshold = rule if rule == "contamination" else (rule, value)
    if args.tile_rows is not None and args.tile_rows < 1:
        raise ValueError(f"--tile-rows must be a positive integer; got {args.tile_rows}.")
    if args.halo is not None and args.halo < 0:
        raise ValueError(f"--halo must be >= 0; got {args.halo}.")
    missing = [f for f in args.files if not Path(f).exists()]
    if missing:
        raise FileNotFoundError(f"No such file: {', '.join(missing)}")
    stems = [_stem(f) for f in args.files]
    check_outputs([p for stem in stems for p in output_paths(args.out, stem).values()],
                  [model, *_inputs(*args.files)])
    _check_output_dir(Path(args.out))
    estimator = load_weights(model, sha256=args.model_sha256)
    if not hasattr(estimator, "anomaly_score"):
        raise ValueError(f"{model} holds a {type(estimator).__name__}, which scores no "
                         "anomalies; skhsi score needs a detector.")
    out = Path(args.out)
    progress = not args.quiet and sys.stderr.isatty()
    for path, stem in zip(args.files, stems):
        image = _load(path, args)
        _make_output_dir(out)  # once an input opened: a wrong first file leaves no folder
        try:
            summary = score_file(estimator, image, out, tile_rows=args.tile_rows,
                                 halo=args.halo, threshold=threshold, stem=stem,
                                 progress=progress, name=path)
        except ValueError as exc:
            raise ValueError(f"{model}: {exc}") from exc
        _print_scored(path, summary)
    return 0


def _print_scored(path, summary):
    tiling, threshold = summary["tiling"], summary["threshold"]
    exact = "exact" if tiling["exact"] else f"per block ({tiling['note']})"
    print(f"scored     {path}  {' x '.join(map(str, summary['shape']))}  "
          f"in blocks of {tiling['tile_rows']} rows, halo {tiling['halo']}: {exact}")
    print(f"flagged    {summary['flagged_pixels']} pixels (scores {threshold['comparison']} "
          f"{threshold['score']:.4g}, {threshold['rule']})")
    if "roc_auc" in summary:
        print(f"ROC AUC    {summary['roc_auc']:.4f}")
    print(f"time       {summary['seconds']:.2f} s, {summary['pixels_per_second']:,.0f} "
          "pixels/s")
    for output in summary["outputs"]:
        print(f"wrote      {output}")


def _print_result(result):
    print(f"scene      {result['scene']}  {' x '.join(map(str, result['shape']))}")
    print(f"method     {result['method']}")
    if result["bad_bands_dropped"]:
        print(f"bad bands  {result['bad_bands_dropped']} dropped (header bbl)")
    if result["bands_used"] != result["shape"][-1]:
        print(f"bands      {result['bands_used']} of {result['shape'][-1]} used "
              "(--min-nm / --max-nm)")
    if "flagged_by_class" in result:
        print(f"flagged    {result['flagged_pixels']} pixels "
              f"({result['threshold']['text']}), by ground-truth class:")
        print(f"  {'class':<38} {'flagged':>7} {'of flagged':>10} {'of class':>8}")
        for row in result["flagged_by_class"]:
            print(f"  {row['class']:<38} {row['flagged']:>7} {row['share_of_flagged']:>10.1%} "
                  f"{row['share_of_class']:>8.1%}")
    else:
        print(f"flagged    {result['flagged_pixels']} pixels ({result['threshold']['text']})")
    if "roc_auc" in result:
        print(f"ROC AUC    {result['roc_auc']:.4f}")
        print(f"AP         {result['average_precision']:.4f}")
        print(f"IoU        {result['iou']:.4f}   (flagged: {result['threshold']['text']})")
        print(f"precision  {result['precision']:.4f}")
        print(f"recall     {result['recall']:.4f}")
    else:
        print("metrics    none: the scene has no anomaly ground-truth mask")
    print(f"time       {result['seconds']:.2f} s (fit and score)")
    for path in result["outputs"]:
        print(f"wrote      {path}")
    if "data_credit" in result:
        print(f"data       {result['data_credit']}")


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


def _threshold_rule(args):
    """``(rule, value)`` of ``--threshold`` (``--quantile`` gives the quantile rule's value)."""
    if args.threshold is None and not 0.0 <= args.quantile <= 1.0:
        raise ValueError(f"--quantile must lie in [0, 1], got {args.quantile}")
    spec = args.threshold if args.threshold is not None else f"quantile:{args.quantile}"
    rule, _, text = spec.partition(":")
    if rule == "contamination" and not text:
        return rule, None
    if rule in ("quantile", "score") and text:
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is not None and np.isfinite(value) and (rule == "score" or 0 <= value <= 1):
            return rule, value
    raise ValueError(
        f"--threshold must be quantile:Q with Q in [0, 1], contamination, or score:S with "
        f"a finite number S; got {spec!r}."
    )


def _flagged_by_class(labels, flagged, class_names):
    """How the flagged pixels fall across the classes, unlabelled ground (0) first."""
    rows = []
    ids, sizes = np.unique(labels, return_counts=True)
    hits = np.bincount(labels[flagged].ravel(), minlength=int(ids.max()) + 1)
    total = max(int(flagged.sum()), 1)
    for label, size in zip(ids.tolist(), sizes.tolist()):
        if hits[label] == 0:
            continue
        name = ("unlabelled (roads, buildings, edges)" if label == 0
                else class_names.get(label, f"class {label}"))
        rows.append({"label": label, "class": name, "flagged": int(hits[label]),
                     "share_of_flagged": round(int(hits[label]) / total, 4),
                     "share_of_class": round(int(hits[label]) / size, 4)})
    return rows


def _save_figure(figure, path, credit=None):
    if credit:
        figure.text(0.5, 0.0, credit, ha="center", va="top", fontsize=6, color="0.3")
    _atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=120,
                                                 bbox_inches="tight", pad_inches=0.08))


def _info(args):
    image = _load(args.file, args)
    cube = image.cube
    print(f"file         {args.file}")
    print(f"cube         {' x '.join(map(str, cube.shape))} (lines x samples x bands), "
          f"{cube.dtype}")
    if image.wavelengths is not None:
        w = image.wavelengths
        print(f"wavelengths  {w[0]:g}-{w[-1]:g} nm, {len(w)} bands")
    else:
        print("wavelengths  unknown")
    if image.bad_bands is not None:
        print(f"bad bands    {int(image.bad_bands.sum())}")
    if image.mask is not None:
        print(f"mask         {int(image.mask.sum())} anomalous pixels")
    else:
        print("mask         none")
    if image.labels is not None:
        n_classes = len(np.unique(image.labels[image.labels > 0]))
        print(f"labels       {n_classes} classes, {int((image.labels > 0).sum())} "
              "labelled pixels")
    if "citation" in image.metadata:
        print(f"citation     {image.metadata['citation']}")
        print(f"licence      {image.metadata['licence']}")
    if "variables" in image.metadata:  # a .mat file: every numeric variable
        used = {image.metadata.get("cube_key"): "cube", image.metadata.get("mask_key"): "mask",
                image.metadata.get("wavelength_key"): "wavelengths"}
        print("variables")
        for name, shape in sorted(image.metadata["variables"].items()):
            role = f"  ({used[name]})" if name in used else ""
            print(f"  {name:<20} {' x '.join(map(str, shape))}{role}")
    header = image.metadata.get("header")
    if isinstance(header, dict):  # an ENVI file: the header's fields
        print("header")
        for key, value in header.items():
            text = value if isinstance(value, str) else repr(value)
            if len(text) > 60:
                text = text[:57] + "..."
            print(f"  {key:<20} {text}")
    else:
        for key in ("interleave", "byte order", "data type", "description"):
            if key in image.metadata:
                print(f"{key:<12} {image.metadata[key]}")
    return 0


def _bands(args):
    from skhsi.preprocessing import BandSampler

    image = _load(args.file, args)
    if args.drop_bad_bands and image.bad_bands is not None:
        kept = np.flatnonzero(~image.bad_bands)
        image = image.drop_bad_bands()
    else:
        kept = np.arange(image.cube.shape[-1])
    sampler = BandSampler(args.n_bands, strategy=args.strategy, wavelengths=image.wavelengths)
    sampler.fit(image.cube)
    print(f"strategy  {args.strategy}: {len(sampler.selected_bands_)} of "
          f"{image.cube.shape[-1]} bands")
    print("band  wavelength_nm")
    wavelengths = sampler.selected_wavelengths_
    for i, band in enumerate(sampler.selected_bands_):
        wl = "unknown" if wavelengths is None else f"{wavelengths[i]:g}"
        print(f"{kept[band]:>4}  {wl}")
    return 0


_COMMANDS = {"detect": _detect, "fit": _fit, "score": _score, "info": _info, "bands": _bands}


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
