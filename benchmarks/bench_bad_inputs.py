"""Benchmark: every public estimator against bad input, each outcome classified.

A 30 x 30 x 20 crop of a real scene (HYDICE, from shared/data/had; a synthetic
scene, named so, when it is absent) and variants of it: one value set to NaN,
+-inf, 1e39 (beyond float32), +-1e200 (beyond what float64 can square); a
constant cube; 1 x 1 and 2 x 2 cubes; scoring with 10 of the 20 bands; integer,
boolean and complex dtypes, numbers as text and text; reversed, strided and Fortran-ordered views;
scoring an extreme value or a NaN with a model fitted on clean data. Each
estimator is fitted and used on each variant, and the outcome is one of

- **correct**: finite outputs (the same as for a contiguous copy, for views),
  and for a detector given one extreme value, that pixel scores highest;
- **clear**: a ``ValueError`` or ``TypeError`` whose message names what was
  wrong (the value, the band counts, the dtype, the size);
- **unclear**: any other exception, or a message that misnames the problem (a
  finite value called "infinity or NaN", a singular matrix);
- **silent**: no error, but non-finite or wrong outputs.

Usage::

    python benchmarks/bench_bad_inputs.py [--only NAME ...] [--out FILE]
"""

import argparse
import os
import re
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402

_TORCH = dict(max_epochs=1, device="cpu", random_state=0)


def estimators():
    """name -> (factory, kind); kind says how it is fitted and used."""
    from sklearn.ensemble import IsolationForest

    from skhsi import anomaly, classification, preprocessing, spatial
    from skhsi.decomposition import TrainablePCA
    from skhsi.pipeline import make_attribute_filter_pipeline, make_deep_svdd_pipeline
    from skhsi.representation import SimCLREncoder
    from skhsi.selection import ConcreteBandSelector, LearnableChannelMixer

    det, tr, clf = "detector", "transformer", "classifier"
    return {
        "RXDetector": (anomaly.RXDetector, det),
        "LocalRXDetector": (anomaly.LocalRXDetector, det),
        "AttributeFilterDetector": (anomaly.AttributeFilterDetector, det),
        "LearnedBackgroundDetector": (lambda: anomaly.LearnedBackgroundDetector(
            anomaly.AutoencoderDetector(hidden=8, **_TORCH), random_state=0), det),
        "LowRankSparseDetector": (lambda: anomaly.LowRankSparseDetector(max_iter=20), det),
        "ConsensusDetector": (lambda: anomaly.ConsensusDetector(
            [("rx", anomaly.RXDetector()), ("forest", IsolationForest(n_estimators=20,
                                                                      random_state=0))]), det),
        "DeepSVDD": (lambda: anomaly.DeepSVDD(n_rff=32, hidden=8, rep_dim=4, **_TORCH), det),
        "AutoencoderDetector": (lambda: anomaly.AutoencoderDetector(hidden=8, **_TORCH), det),
        "AutoencoderDetector(spatial, blind spot)": (lambda: anomaly.AutoencoderDetector(
            spatial=True, blind_spot=True, hidden=4, tile_size=16, **_TORCH), det),
        "VAEDetector": (lambda: anomaly.VAEDetector(hidden=8, **_TORCH), det),
        "make_attribute_filter_pipeline": (make_attribute_filter_pipeline, det),
        "make_deep_svdd_pipeline": (lambda: make_deep_svdd_pipeline(
            n_rff=32, hidden=8, rep_dim=4, **_TORCH), det),
        "BandpassByWavelength": (preprocessing.BandpassByWavelength, tr),
        "PerPixelUnitNorm": (preprocessing.PerPixelUnitNorm, tr),
        "ZScoreNormalizerGlobal": (preprocessing.ZScoreNormalizerGlobal, tr),
        "BandSampler(pca-loading)": (lambda: preprocessing.BandSampler(
            5, strategy="pca-loading"), tr),
        "MinMaxScalerPerBand": (preprocessing.MinMaxScalerPerBand, tr),
        "PerPixelStandardizer": (preprocessing.PerPixelStandardizer, tr),
        "TrainablePCA": (lambda: TrainablePCA(3), tr),
        "ConcreteBandSelector": (lambda: ConcreteBandSelector(n_bands=3, **_TORCH), tr),
        "LearnableChannelMixer": (lambda: LearnableChannelMixer(3, **_TORCH), tr),
        "SimCLREncoder": (lambda: SimCLREncoder(4, hidden=8, n_layers=1, n_heads=2,
                                                band_group=4, batch_size=32, **_TORCH), tr),
        "SobelEdges": (spatial.SobelEdges, tr),
        "BandConvolution": (lambda: spatial.BandConvolution(kernel_size=3), tr),
        "Pool2D": (lambda: spatial.Pool2D(2), tr),
        "Upsample2D": (lambda: spatial.Upsample2D(2), tr),
        "PatchFeatures": (lambda: spatial.PatchFeatures(3), tr),
        "SpectralMLPClassifier": (lambda: classification.SpectralMLPClassifier(
            hidden=8, **_TORCH), clf),
        "PatchClassifier": (lambda: classification.PatchClassifier(
            patch_size=5, hidden=8, windows_per_epoch=64, **_TORCH), clf),
        "UNetSegmenter": (lambda: classification.UNetSegmenter(
            hidden=4, n_levels=1, tile_size=16, tiles_per_epoch=2, **_TORCH), clf),
    }


def base_cube():
    try:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from _scenes import load_scene

        cube = np.asarray(load_scene("hydice").cube, dtype=np.float64)
        return cube[:30, :30, ::8][..., :20].copy(), "HYDICE crop (real)"
    except SystemExit:
        from skhsi.datasets import make_synthetic_scene

        return make_synthetic_scene((30, 30, 20), random_state=0).cube.astype(np.float64), \
            "synthetic scene (shared/data absent)"


def _set(X, value):
    X = X.copy()
    X[7, 11, 3] = value
    return X


#: name -> (fit input, use input, what a clear message names) from the clean cube X.
def variants(X):
    return {
        "NaN": (_set(X, np.nan), None, r"nan"),
        "+inf": (_set(X, np.inf), None, r"inf"),
        "-inf": (_set(X, -np.inf), None, r"inf"),
        "1e39": (_set(X, 1e39), None, r"\de\+\d+"),
        "1e200": (_set(X, 1e200), None, r"\de\+\d+"),
        "-1e200": (_set(X, -1e200), None, r"\de\+\d+"),
        "constant": (np.ones_like(X), None, r"constant|all the same|vary"),
        "1 x 1": (X[:1, :1].copy(), None,
                  r"\b1 x 1\b|1, 1|smaller than|at least \d+ x \d+|too small|\b1 sample|"
                  r"n_samples=1|1 pixels|at least 2 classes"),
        "2 x 2": (X[:2, :2].copy(), None,
                  r"\b2 x 2\b|2, 2|smaller than|at least \d+ x \d+|too small|\b4 sample|"
                  r"n_samples=4|2 pixels|at least 2 classes"),
        "10 of 20 bands": (X, X[..., :10].copy(), r"10.*20|20.*10"),
        "int32": ((X * 100).astype(np.int32), None, r"int"),
        "bool": (X > np.median(X), None, r"bool"),
        "complex": (X.astype(np.complex128), None, r"complex"),
        "numeric strings": (X.astype(str), None, r"numeric|dtype|str"),
        "text": (np.full(X.shape, "abc"), None, r"str|string|bytes|convert"),
        "reversed view": (X[::-1, ::-1], None, None),
        "strided view": (X[::2, ::2], None, None),
        "Fortran order": (np.asfortranarray(X), None, None),
        "score 1e200": (X, _set(X, 1e200), r"\de\+\d+"),
        "score NaN": (X, _set(X, np.nan), r"nan"),
    }


def _labels(shape):
    y = np.zeros(shape[:2], dtype=int)
    h, w = shape[:2]
    y[: h // 2, : max(w // 2, 1)] = 1
    y[h // 2:, w // 2:] = 2
    return y


def _use(est, kind, X):
    if kind == "detector":
        return np.asarray(est.anomaly_score(X))
    if kind == "classifier":
        return np.asarray(est.predict_proba(X))
    return np.asarray(est.transform(X))


def _fit(est, kind, X):
    if kind != "classifier":
        return est.fit(X)
    y = _labels(X.shape)
    if type(est).__name__ == "SpectralMLPClassifier":
        return est.fit(np.asarray(X).reshape(-1, X.shape[-1]), y.ravel() + 1)
    return est.fit(X, y)


def classify(factory, kind, X, name, fit_in, use_in, expected):
    est = factory()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _fit(est, kind, fit_in)
            out = _use(est, kind, fit_in if use_in is None else use_in)
        except (ValueError, TypeError) as exc:
            message = str(exc)
            misnamed = name in ("1e39", "1e200", "-1e200", "score 1e200") and not re.search(
                r"\de\+\d+", message)
            if expected and re.search(expected, message, re.I) and not misnamed:
                return "clear", message
            return "unclear", f"{type(exc).__name__}: {message}"
        except Exception as exc:  # noqa: BLE001 - every other failure is unclear
            return "unclear", f"{type(exc).__name__}: {exc}"
    if out.dtype.kind in "fc" and not np.isfinite(out).all():
        return "silent", f"{int((~np.isfinite(out)).sum())} non-finite outputs"
    if expected is None:  # a view (or numbers as text): the same as a plain float copy
        again, plain = factory(), np.ascontiguousarray(fit_in).astype(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _fit(again, kind, plain)
            ref = _use(again, kind, plain)
        if ref.shape != out.shape or not np.allclose(ref, out, rtol=1e-5, atol=1e-8):
            return "silent", "differs from the contiguous copy"
        return "correct", ""
    if name in ("1e39", "1e200", "-1e200", "score 1e200") and kind == "detector":
        scores = out.reshape(fit_in.shape[:2])
        if np.unravel_index(np.argmax(scores), scores.shape) != (7, 11):
            return "silent", "the extreme pixel does not score highest"
    if name in ("1e39", "1e200", "-1e200", "score 1e200") and kind == "transformer" \
            and out.shape[:2] == fit_in.shape[:2] and not np.any(out[7, 11]):
        return "silent", "the extreme pixel becomes zeros"
    if name in ("NaN", "+inf", "-inf", "score NaN", "complex", "text"):
        return "silent", "accepted input that has no valid result"
    return "correct", ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--out", default=ROOT / "benchmarks" / "results" / "bad_inputs.md")
    args = parser.parse_args()
    X, source = base_cube()
    table = {}
    start = time.time()
    for name, (factory, kind) in estimators().items():
        if args.only and name not in args.only:
            continue
        row = {}
        for variant, (fit_in, use_in, expected) in variants(X).items():
            try:
                row[variant] = classify(factory, kind, X, variant, fit_in, use_in, expected)
            except Exception:  # noqa: BLE001 - a bug in the benchmark itself
                row[variant] = ("unclear", traceback.format_exc(limit=1))
        table[name] = row
        counts = Counter(v[0] for v in row.values())
        print(f"{name}: {dict(counts)}", flush=True)
    names = list(variants(X))
    totals = Counter(outcome for row in table.values() for outcome, _ in row.values())
    lines = [
        "# Bad input: every public estimator, each outcome classified",
        "",
        "Produced by `python benchmarks/bench_bad_inputs.py`.",
        "",
        f"Input: a 30 x 30 x 20 float64 {source}; one value at row 7, column 11, band 3 "
        "is changed for the single-value variants. Outcomes: **correct** (finite outputs; "
        "the extreme pixel scores highest; views equal contiguous copies), **clear** (a "
        "ValueError/TypeError that names the problem), **unclear** (another exception, or a "
        "message that misnames it), **silent** (no error, wrong or non-finite outputs).",
        "",
        "| outcome | count |",
        "|---|---|",
        *[f"| {k} | {totals.get(k, 0)} |" for k in ("correct", "clear", "unclear", "silent")],
        "",
        "| estimator | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for est, row in table.items():
        lines.append(f"| {est} | " + " | ".join(row[n][0] for n in names) + " |")
    problems = [(est, n, row[n][1]) for est, row in table.items() for n in names
                if row[n][0] in ("unclear", "silent")]
    if problems:
        lines += ["", "Unclear and silent outcomes:", ""]
        lines += [f"- {est}, {n}: {detail.splitlines()[0][:200] if detail else ''}"
                  for est, n, detail in problems]
    lines += ["", f"{len(table)} estimators x {len(names)} variants in "
              f"{time.time() - start:.0f} s; Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs.", ""]
    write_results("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
