"""``skhsi score``: score files of any size with a saved model, block by block."""

import sys
from pathlib import Path

from skhsi._files import check_outputs

from ._common import (_check_output_dir, _inputs, _load, _make_output_dir, _print_metrics,
                      _threshold_hints, _threshold_rule)


def _score(args):
    from skhsi.persistence import load_weights
    from skhsi.serving import output_stem, output_paths, score_file

    model = Path(args.model)
    if not model.is_file():
        raise FileNotFoundError(f"Model file {model} not found.")
    rule, value = _threshold_rule(args)
    threshold = rule if rule == "contamination" else (rule, value)
    mask_key, args.mask_key = args.mask_key, None  # the --mask file's, not the scene's
    if mask_key is not None and args.mask is None:
        raise ValueError("--mask-key names a variable of the --mask file; give --mask FILE.")
    if args.mask is not None and len(args.files) != 1:
        raise ValueError(f"--mask is the ground truth of one file; {len(args.files)} files "
                         "were given.")
    if args.tile_rows is not None and args.tile_rows < 1:
        raise ValueError(f"--tile-rows must be a positive integer; got {args.tile_rows}.")
    if args.halo is not None and args.halo < 0:
        raise ValueError(f"--halo must be >= 0; got {args.halo}.")
    missing = [f for f in args.files if not Path(f).exists()]
    if missing:
        raise FileNotFoundError(f"No such file: {', '.join(missing)}")
    stems = [output_stem(f) for f in args.files]
    check_outputs([p for stem in stems for p in output_paths(args.out, stem).values()],
                  [model, *_inputs(*args.files, args.mask)])
    _check_output_dir(Path(args.out))
    estimator = load_weights(model, sha256=args.model_sha256)
    if not hasattr(estimator, "anomaly_score"):
        raise ValueError(f"{model} holds a {type(estimator).__name__}, which scores no "
                         "anomalies; skhsi score needs a detector.")
    out = Path(args.out)
    progress = not args.quiet and sys.stderr.isatty()
    for path, stem in zip(args.files, stems):
        image = _load(path, args)
        if args.mask is not None:
            from dataclasses import replace

            from skhsi.io import read_mask

            image = replace(image, mask=read_mask(args.mask, key=mask_key,
                                                  shape=image.cube.shape[:2]))
        _make_output_dir(out)  # once an input opened: a wrong first file leaves no folder
        try:
            summary = score_file(estimator, image, out, tile_rows=args.tile_rows,
                                 halo=args.halo, threshold=threshold, stem=stem,
                                 progress=progress, name=path)
        except ValueError as exc:
            raise ValueError(f"{model}: {exc}") from exc
        _print_scored(path, summary)
        _threshold_hints(summary, summary["shape"][0] * summary["shape"][1])
    return 0


def _print_scored(path, summary):
    tiling, threshold = summary["tiling"], summary["threshold"]
    exact = "exact" if tiling["exact"] else f"per block ({tiling['note']})"
    print(f"scored     {path}  {' x '.join(map(str, summary['shape']))}  "
          f"in blocks of {tiling['tile_rows']} rows, halo {tiling['halo']}: {exact}")
    rule = (f"false-alarm rate {threshold['false_alarm_rate']:g}, at most "
            f"{threshold['false_alarm_rate']:.2%} of the file's pixels"
            if threshold["rule"] == "false-alarm" else threshold["rule"])
    print(f"flagged    {summary['flagged_pixels']} pixels (scores {threshold['comparison']} "
          f"{threshold['score']:.4g}: {rule})")
    model = summary.get("model_threshold")
    if model is not None and threshold["rule"] != "contamination":
        print(f"model      its own threshold ({model['score']:.4g}, from the fitting scene) "
              f"would flag {model['flagged_share']:.2%}")
    _print_metrics(summary)
    print(f"time       {summary['seconds']:.2f} s, {summary['pixels_per_second']:,.0f} "
          "pixels/s")
    for output in summary["outputs"]:
        print(f"wrote      {output}")
