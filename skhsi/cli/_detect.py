"""``skhsi detect``: fit a detector on a scene, flag pixels, write pictures and a summary."""

import json
import time
from pathlib import Path

import numpy as np

from skhsi._files import check_outputs

from ._common import (_atomic_write, _bands_used, _check_output_dir, _inputs, _load,
                      _make_detector, _make_output_dir, _print_metrics, _progress,
                      _save_figure, _threshold_hints, _threshold_rule)


def _detect(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skhsi import plotting
    from skhsi.anomaly import FalseAlarmDecider, QuantileBinaryDecider
    from skhsi.io._geo import map_grid
    from skhsi.serving import detection_metrics

    rule, value = _threshold_rule(args)
    if args.dpi < 10 or args.dpi > 2400:
        raise ValueError(f"--dpi must lie in [10, 2400]; got {args.dpi}.")
    out = Path(args.out)
    stem = f"{Path(str(args.scene)).stem}_{args.method}"
    outputs = {kind: out / f"{stem}_{kind}" for kind in
               (f"heatmap.{args.format}", f"overlay.{args.format}", "scores.npy",
                "metrics.json")}
    check_outputs(outputs.values(), _inputs(args.scene, args.mask))
    _check_output_dir(out)
    if args.mask is not None and args.mask_key is not None \
            and Path(args.mask).suffix.lower() == ".mat":
        mask_key, args.mask_key = args.mask_key, None  # the key is the mask file's
    else:
        mask_key = None
    image = _load(args.scene, args)
    grid = map_grid(image.metadata, pixel_size=args.pixel_size if args.pixel_size is not None
                    else image.metadata.get("pixel_size_m"))
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
    final = detector[-1] if hasattr(detector, "steps") else detector
    if rule == "false-alarm":
        threshold = FalseAlarmDecider(false_alarm_rate=value).fit(scores).threshold_
        flagged = scores >= threshold
        rule_text = (f"false-alarm rate {value:g}: scores >= {threshold:.4g}, reached by at "
                     f"most {value:.2%} of the scene's pixels")
        caption = f"flagged: false-alarm rate {value:g} (at most {value:.2%} of the pixels)"
    elif rule == "quantile":
        decider = QuantileBinaryDecider(quantile=value).fit(scores)
        threshold = float(decider.thresholds(scores)[0, 0])
        flagged = scores >= threshold
        rule_text = f"scores >= {threshold:.4g}, the {value:g} quantile"
        caption = f"flagged: scores at or above their {value:g} quantile"
    elif rule == "contamination":
        threshold = -float(final.offset_)
        flagged = scores > threshold
        rule_text = (f"scores > {threshold:.4g}, the detector's threshold "
                     f"(contamination={final.contamination:g})")
        caption = f"flagged: the detector's threshold (contamination {final.contamination:g})"
    else:
        threshold = value
        flagged = scores >= threshold
        rule_text = f"scores >= {threshold:.4g}"
        caption = f"flagged: scores at or above {threshold:.4g}"

    result = {
        "scene": str(args.scene),
        "method": args.method,
        "shape": list(cube.shape),
        "bands_used": _bands_used(detector, cube.shape[-1]),
        "bad_bands_dropped": dropped,
        "threshold": {"rule": rule, "value": value, "score": threshold, "text": rule_text},
        "flagged_pixels": int(flagged.sum()),
        "seconds": round(seconds, 3),
    }
    if hasattr(final, "top_overlap_"):
        result["phase_agreement"] = {"rank_correlation": round(final.rank_correlation_, 4),
                                     "top_overlap": round(final.top_overlap_, 4)}
    if image.labels is not None:
        result["flagged_by_class"] = _flagged_by_class(
            image.labels, flagged, image.metadata.get("class_names", {}))
    if "credit" in image.metadata:
        result["data_credit"] = image.metadata["credit"]
    if image.mask is not None:
        result.update(detection_metrics(image.mask, scores, flagged))

    _make_output_dir(out)
    _progress(args, f"writing the pictures, scores and summary to {out} ...")
    scene_text = _scene_caption(cube.shape, grid)
    method_text = _METHOD_NAMES.get(args.method, args.method)
    credit = f". Data: {image.metadata['credit']}" if "credit" in image.metadata else ""
    ax = plotting.plot_score_heatmap(
        scores, grid=grid, title=f"Anomaly scores: {_scene_title(args.scene, image)}",
        subtitle=f"{scene_text}; {method_text}{credit}")
    _save_figure(ax.figure, outputs[f"heatmap.{args.format}"], args.dpi)
    plt.close(ax.figure)
    ax = plotting.plot_detection_overlay(
        cube, image.mask, flagged, wavelengths=image.wavelengths, grid=grid,
        title=f"Detected anomalies: {_scene_title(args.scene, image)}",
        subtitle=f"{scene_text}; {method_text}; {caption}{credit}")
    _save_figure(ax.figure, outputs[f"overlay.{args.format}"], args.dpi)
    plt.close(ax.figure)
    _atomic_write(outputs["scores.npy"], lambda f: np.save(f, scores))
    result["outputs"] = sorted(str(p) for p in outputs.values())
    _atomic_write(outputs["metrics.json"],
                  lambda f: f.write(json.dumps(result, indent=2).encode()))
    _print_result(result)
    _threshold_hints(result, cube.shape[0] * cube.shape[1])
    return 0


#: The detectors of ``--method`` in plain words, for captions.
_METHOD_NAMES = {
    "attribute": "skhsi default detector (attribute filters, local and global RX)",
    "rx": "global RX detector", "local-rx": "local (dual-window) RX detector",
    "low-rank": "low-rank plus sparse (robust PCA) detector", "deep-svdd": "Deep SVDD",
    "autoencoder": "spectral autoencoder", "blind-spot": "blind-spot spatial autoencoder",
    "learned-background": "skhsi default detector with a learned background (autoencoder)"}


def _scene_title(scene, image):
    """The scene's name for a title: its own title when it has one, else the file's name."""
    title = image.metadata.get("title")
    return title if isinstance(title, str) and title else Path(str(scene)).name


def _scene_caption(shape, grid):
    """Size, bands and ground sampling of the scene, for a caption."""
    text = f"{shape[0]} x {shape[1]} pixels, {shape[2]} bands"
    if grid is not None and grid.units != "°":
        dx, dy = grid.pixel_size
        text += f", {dx:g} {grid.units} pixels" if dx == dy else \
            f", {dx:g} x {dy:g} {grid.units} pixels"
    return text


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
    _print_metrics(result)
    if "phase_agreement" in result:
        agreement = result["phase_agreement"]
        print(f"phases     {agreement['top_overlap']:.0%} of phase 2's top 1 % is in phase 1's "
              f"(the default's); rank correlation {agreement['rank_correlation']:.2f}")
    print(f"time       {result['seconds']:.2f} s (fit and score)")
    for path in result["outputs"]:
        print(f"wrote      {path}")
    if "data_credit" in result:
        print(f"data       {result['data_credit']}")


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
