"""``skhsi detect``: fit a detector on a scene, flag pixels, write pictures and a summary."""

import json
import time
from pathlib import Path

import numpy as np

from skhsi._files import check_outputs

from ._common import (_atomic_write, _bands_used, _check_output_dir, _inputs, _load,
                      _make_detector, _make_output_dir, _progress, _save_figure,
                      _threshold_rule)


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
