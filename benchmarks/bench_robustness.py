"""Benchmark: do the default pipelines' settings carry over to scenes they were not tuned on?

Only two real scenes were used to choose the defaults, so this script derives variants from them
that change what a new scene changes, each with its own ground-truth mask, and
compares on every variant the Deep SVDD pipeline
``make_deep_svdd_pipeline(random_state=seed)`` (the previous default) and the
default ``make_attribute_filter_pipeline()`` (area attribute filters, local RX,
guided filter; deterministic) with global RX (``skhsi.anomaly.RXDetector``).
Protocol as in ``bench_detection.py``: fit on every pixel of the variant
without labels, score every pixel, pixel-level ROC AUC
(``skhsi.metrics.roc_auc``).

Variants of each scene:

- ``original``: the scene as published (reference);
- ``crop-*``: the four quadrants and the centre crop (half the height and
  width), kept when they hold at least 3 anomalous pixels;
- ``bands-every2`` / ``bands-every3`` / ``bands-firsthalf``: band subsets;
- ``noise-30dB`` / ``noise-20dB``: seeded Gaussian noise added to each band,
  with a standard deviation of the band's standard deviation / 10^(SNR/20);
  float32;
- ``scale-offset``: ``X * 0.01 + 50`` as float32; ``float64``: ``X`` as
  float64;
- ``implant-a0.2`` / ``implant-a0.5``: target implantation. One target
  spectrum ``t`` per scene, the mean of a random 3 x 3 pixel cluster in one
  quadrant; 20 targets of 1 pixel and 5 targets of 2 x 2 pixels at seeded
  random positions in the other three quadrants, at least 3 pixels away from
  the true anomalies and 2 pixels away from each other; each implanted pixel
  becomes ``a * t + (1 - a) * x``. The mask marks the implanted pixels only,
  and the original anomalous pixels (left in the scene) are dropped from the
  AUC. Same positions for both abundances. Blending with a 9-pixel mean
  removes part of each implanted pixel's own noise, so the implanted pixels
  can end up *less* anomalous than the background (RX AUC well under 0.5);
  rows where RX's AUC is under 0.5 are reported but left out of the tally,
  since their mask then does not mark pixels that stand out;
- ``implant-a0.2-noise`` / ``implant-a0.5-noise``: the same implants with the
  lost noise added back: Gaussian noise of per-band std
  ``sigma * sqrt(1 - (1 - a)^2 - a^2 / 9)``, ``sigma`` the band's noise std
  estimated from horizontal neighbour differences (MAD), so implanted pixels
  are as noisy as the rest of the scene;
- ``tiled-2x2``: the scene tiled 2 x 2 (mask tiled alike), with the tiles
  flipped left-right / up-down, 4x the pixels;
- ``downsampled-2x``: every 2 x 2 block of pixels averaged (a sensor with
  twice the ground sampling distance; an odd last row or column dropped); a
  block is anomalous when any of its pixels is, so objects shrink to a quarter
  of their pixels and become mixed pixels at their edges.

For each variant: the Deep SVDD pipeline's ROC AUC over seeds (mean and
minimum), RX's, whether the minimum over seeds reaches RX, and its fit time
(mean wall-clock seconds of ``fit``); the attribute-filter default's ROC AUC
(one fit: it has no randomness), whether it reaches RX, and its fit time.
Extra ``--param key=value`` pairs are passed to ``make_deep_svdd_pipeline``,
to try other settings on the same variants; ``--methods`` runs a subset.
``--json-out`` writes the attribute-filter default's AUC per variant;
``--reference`` reads such a file, written by another version of skhsi, and
adds its AUCs and the change per variant (``results/robustness_reference.json``
holds those of the default before it was made to find objects of every size:
this script run on commit 42db67c with ``--methods attribute --json-out``).
``--attribute-params`` fits the attribute-filter pipeline with other settings in
place of the default (to measure a candidate on every variant).
``--reference-params`` names settings of this version's default that reproduce
the reference version (for the file above: ``global_weight=0
local_rx_components=10``, no global term and local RX on ten components); the
default is then also fitted with them on every variant, and each change gets a
90 % percentile-bootstrap interval (anomalies resampled as 8-connected
objects, background as pixels, both maps on the same resample), which says
whether a change of a few thousandths is a systematic loss or the luck of a
few objects.

Usage::

    python benchmarks/bench_robustness.py [--seeds 0 1 2] [--tiled-seeds 0 1 2] [--threads 2]
        [--methods deep-svdd attribute] [--param max_epochs=40 ...]
        [--json-out aucs.json] [--reference benchmarks/results/robustness_reference.json]
        [--reference-params global_weight=0 local_rx_components=10]
        [--attribute-params global_weight=0.4 ...]
        [--out benchmarks/results/robustness.md]
"""

import argparse
import functools
import ast
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from scipy import ndimage, stats
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402

import skhsi  # noqa: E402
from skhsi.anomaly import RXDetector  # noqa: E402
from _scenes import load_scene  # noqa: E402
from skhsi.metrics import roc_auc  # noqa: E402
from skhsi.pipeline import make_attribute_filter_pipeline, make_deep_svdd_pipeline  # noqa: E402

SCENES = ("hydice", "sandiego")
MIN_CROP_ANOMALIES = 3
NOISE_SEED = 1234
IMPLANT_SEED = 4321
N_SINGLE, N_BLOCK = 20, 5
IMPLANT_ABUNDANCES = (0.2, 0.5)
ANOMALY_CLEARANCE = 3  # implanted targets keep this many pixels from true anomalies
TARGET_GAP = 2  # ... and this many from each other
INTERVAL_LEVEL = 0.90  # of the bootstrap interval of a change against the reference
N_RESAMPLES = 1000


class Variant:
    """A cube, its mask, and which pixels enter the AUC (``None``: all)."""

    def __init__(self, scene, name, cube, mask, evaluate=None, tiled=False):
        self.scene, self.name, self.cube, self.mask = scene, name, cube, mask
        self.evaluate = evaluate
        self.tiled = tiled

    def auc(self, scores):
        if self.evaluate is None:
            return roc_auc(self.mask, scores)
        return roc_auc(self.mask[self.evaluate], np.asarray(scores)[self.evaluate])


def _crops(scene_name, cube, mask):
    H, W = mask.shape
    h, w = H // 2, W // 2
    boxes = {
        "crop-topleft": (0, h, 0, w), "crop-topright": (0, h, w, W),
        "crop-bottomleft": (h, H, 0, w), "crop-bottomright": (h, H, w, W),
        "crop-centre": (H // 4, H // 4 + h, W // 4, W // 4 + w),
    }
    for name, (r0, r1, c0, c1) in boxes.items():
        sub = mask[r0:r1, c0:c1]
        if sub.sum() >= MIN_CROP_ANOMALIES:
            yield Variant(scene_name, name, np.ascontiguousarray(cube[r0:r1, c0:c1]), sub.copy())


def _noisy(cube, snr_db, rng):
    X = cube.astype(np.float32)
    std = X.reshape(-1, X.shape[-1]).std(axis=0)
    sigma = std / 10.0 ** (snr_db / 20.0)
    return (X + rng.standard_normal(X.shape, dtype=np.float32) * sigma).astype(np.float32)


def _quadrant_of(H, W):
    rows, cols = np.mgrid[0:H, 0:W]
    return (rows >= H // 2).astype(int) * 2 + (cols >= W // 2).astype(int)


def _implant_layout(mask, rng):
    """Target spectrum source cluster and the implanted-pixel mask (positions only)."""
    H, W = mask.shape
    quadrant = _quadrant_of(H, W)
    near_anomaly = ndimage.binary_dilation(
        mask, structure=np.ones((2 * ANOMALY_CLEARANCE + 1,) * 2, bool))
    source_q = int(rng.integers(4))
    # 3 x 3 source cluster, fully inside the source quadrant and clear of anomalies
    ok = (quadrant == source_q) & ~near_anomaly
    ok3 = ndimage.binary_erosion(ok, structure=np.ones((3, 3), bool))
    centres = np.argwhere(ok3)
    r, c = centres[rng.integers(len(centres))]
    source = np.zeros_like(mask)
    source[r - 1:r + 2, c - 1:c + 2] = True

    occupied = near_anomaly | (quadrant == source_q)
    implanted = np.zeros_like(mask)
    for size, count in ((2, N_BLOCK), (1, N_SINGLE)):
        placed = 0
        for _ in range(10000):
            r, c = int(rng.integers(0, H - size + 1)), int(rng.integers(0, W - size + 1))
            if occupied[r:r + size, c:c + size].any():
                continue
            implanted[r:r + size, c:c + size] = True
            occupied[max(r - TARGET_GAP, 0):r + size + TARGET_GAP,
                     max(c - TARGET_GAP, 0):c + size + TARGET_GAP] = True
            placed += 1
            if placed == count:
                break
        else:
            raise RuntimeError("could not place every implanted target")
    return source, implanted


def _noise_std(X):
    """Per-band noise std from horizontal neighbour differences (robust MAD)."""
    diff = (X[:, 1:] - X[:, :-1]).reshape(-1, X.shape[-1])
    mad = np.median(np.abs(diff - np.median(diff, axis=0)), axis=0)
    return 1.4826 * mad / np.sqrt(2.0)


def _implants(scene_name, cube, mask):
    rng = np.random.default_rng(IMPLANT_SEED)
    source, implanted = _implant_layout(mask, rng)
    X = cube.astype(np.float32)
    target = X[source].mean(axis=0)
    sigma = _noise_std(X)
    noise = rng.standard_normal((int(implanted.sum()), X.shape[-1])).astype(np.float32)
    for a in IMPLANT_ABUNDANCES:
        Y = X.copy()
        Y[implanted] = a * target + (1 - a) * X[implanted]
        yield Variant(scene_name, f"implant-a{a}", Y, implanted.copy(), evaluate=~mask)
        # The blend shrinks each implanted pixel's noise to (1 - a) of its std (the
        # 9-pixel mean target carries a ninth of the variance); add back the rest.
        kept = (1 - a) ** 2 + a ** 2 / 9.0
        Y = Y.copy()
        Y[implanted] += noise * (sigma * np.sqrt(1.0 - kept))
        yield Variant(scene_name, f"implant-a{a}-noise", Y, implanted.copy(), evaluate=~mask)


def _tiled(cube, mask):
    def tile(A):
        top = np.concatenate([A, A[:, ::-1]], axis=1)
        return np.ascontiguousarray(np.concatenate([top, top[::-1]], axis=0))
    return tile(cube), tile(mask)


def _downsampled(cube, mask):
    H, W = (cube.shape[0] // 2) * 2, (cube.shape[1] // 2) * 2
    blocks = np.asarray(cube[:H, :W], dtype=np.float32).reshape(H // 2, 2, W // 2, 2, -1)
    return np.ascontiguousarray(blocks.mean(axis=(1, 3))), \
        mask[:H, :W].reshape(H // 2, 2, W // 2, 2).any(axis=(1, 3))


def make_variants(scene_name):
    scene = load_scene(scene_name)
    cube, mask = scene.cube, scene.mask
    C = cube.shape[-1]
    rng = np.random.default_rng(NOISE_SEED)
    out = [Variant(scene_name, "original", cube, mask)]
    out += list(_crops(scene_name, cube, mask))
    out += [Variant(scene_name, "bands-every2", np.ascontiguousarray(cube[..., ::2]), mask),
            Variant(scene_name, "bands-every3", np.ascontiguousarray(cube[..., ::3]), mask),
            Variant(scene_name, "bands-firsthalf", np.ascontiguousarray(cube[..., :C // 2]), mask)]
    out += [Variant(scene_name, f"noise-{snr}dB", _noisy(cube, snr, rng), mask) for snr in (30, 20)]
    out += [Variant(scene_name, "scale-offset", (cube * 0.01 + 50).astype(np.float32), mask),
            Variant(scene_name, "float64", cube.astype(np.float64), mask)]
    out += list(_implants(scene_name, cube, mask))
    big, big_mask = _tiled(cube, mask)
    out.append(Variant(scene_name, "tiled-2x2", big, big_mask, tiled=True))
    out.append(Variant(scene_name, "downsampled-2x", *_downsampled(cube, mask)))
    return out


@functools.lru_cache(maxsize=2)
def cached_variants(scene_name):
    """``make_variants(scene_name)``, built once per process (for workers that score one
    variant per call)."""
    return make_variants(scene_name)


METHODS = ("deep-svdd", "attribute")


def run_default(variant, seed, params):
    pipe = make_deep_svdd_pipeline(random_state=seed, device="cpu", **params)
    t0 = time.perf_counter()
    pipe.fit(variant.cube)
    fit_s = time.perf_counter() - t0
    return variant.auc(pipe.anomaly_score(variant.cube)), fit_s


def run_attribute(variant, **params):
    """``(AUC, fit seconds, scores)`` of the default pipeline (with ``params``): its ``fit``
    scores the training cube, and ``fit_anomaly_score`` returns those scores."""
    pipe = make_attribute_filter_pipeline(**params)
    t0 = time.perf_counter()
    scores = pipe.fit_anomaly_score(variant.cube)
    fit_s = time.perf_counter() - t0
    return variant.auc(scores), fit_s, scores


def change_interval(variant, scores, reference_scores, level=INTERVAL_LEVEL,
                    n_resamples=N_RESAMPLES, random_state=0):
    """Percentile-bootstrap interval of ``AUC(scores) - AUC(reference_scores)``
    (:func:`scipy.stats.bootstrap`).

    The anomalies are resampled as objects (8-connected components of the mask:
    the pixels of one object are not independent draws) and the background as
    pixels, each with replacement and apart, both maps on the same resample.
    Pixels left out of ``variant``'s AUC stay out.
    """
    keep = np.ones(variant.mask.shape, bool) if variant.evaluate is None else variant.evaluate
    labels, _ = ndimage.label(variant.mask & keep, structure=np.ones((3, 3)))
    objects = list(ndimage.value_indices(labels.ravel(), ignore_value=0).values())
    background = np.flatnonzero((~variant.mask & keep).ravel())
    both = np.stack([np.ravel(scores), np.ravel(reference_scores)])

    def change(object_ids, negatives):
        positives = np.concatenate([objects[int(i)][0] for i in object_ids])
        truth = np.r_[np.ones(len(positives), bool), np.zeros(len(negatives), bool)]
        auc_of = [roc_auc(truth, np.r_[row[positives], row[negatives]]) for row in both]
        return auc_of[0] - auc_of[1]

    result = stats.bootstrap((np.arange(len(objects)), background), change, vectorized=False,
                             n_resamples=n_resamples, confidence_level=level,
                             method="percentile", random_state=random_state)
    return result.confidence_interval.low, result.confidence_interval.high


def run_rx(variant):
    return variant.auc(RXDetector().fit(variant.cube).anomaly_score(variant.cube))


def _parse_params(pairs):
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--param expects key=value, got {pair!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tiled-seeds", type=int, nargs="+", default=None,
                        help="seeds for the tiled 2x2 scenes (default: --seeds)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads, and BLAS / OpenMP threads (default 2)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS),
                        help="methods compared with RX (default: all)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="extra make_deep_svdd_pipeline parameter (repeatable)")
    parser.add_argument("--scenes", nargs="+", default=list(SCENES), choices=SCENES)
    parser.add_argument("--json-out", type=Path, default=None,
                        help="write the attribute default's AUC per variant as JSON")
    parser.add_argument("--reference", type=Path, default=None,
                        help="JSON of --json-out from another version: compared per variant")
    parser.add_argument("--reference-params", nargs="+", default=[], metavar="KEY=VALUE",
                        help="settings of this version's default that reproduce the reference "
                             "version: also fitted on every variant, for a bootstrap interval "
                             "of each change")
    parser.add_argument("--attribute-params", nargs="+", default=[], metavar="KEY=VALUE",
                        help="settings of make_attribute_filter_pipeline fitted in place of "
                             "the default")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "robustness.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # BLAS / OpenMP threads, for the whole run
    warnings.filterwarnings("ignore", category=UserWarning)
    params = _parse_params(args.param)
    reference_params = _parse_params(args.reference_params)
    attribute_params = _parse_params(args.attribute_params)
    tiled_seeds = args.tiled_seeds or args.seeds

    methods = [m for m in METHODS if m in args.methods]
    svdd, attr = "deep-svdd" in methods, "attribute" in methods
    warm = load_scene("hydice").cube[:40, :40]  # untimed warm-up
    if svdd:
        make_deep_svdd_pipeline(random_state=0, device="cpu", max_epochs=1).fit(warm[:20, :20])
    if attr:
        make_attribute_filter_pipeline().fit(warm)

    t_start = time.perf_counter()
    results = []  # per variant: v, shape, rx auc, "deep-svdd": (aucs, secs), "attribute": (auc, s)
    for scene_name in args.scenes:
        for v in make_variants(scene_name):
            row = {"v": v, "shape": v.cube.shape, "rx": run_rx(v)}
            text = f"{scene_name:9s} {v.name:17s} {str(v.cube.shape):16s} RX {row['rx']:.4f}"
            if svdd:
                aucs, secs = [], []
                for seed in (tiled_seeds if v.tiled else args.seeds):
                    auc, fit_s = run_default(v, seed, params)
                    aucs.append(auc)
                    secs.append(fit_s)
                row["deep-svdd"] = (aucs, secs)
                text += ("  Deep SVDD " + " ".join(f"{a:.4f}" for a in aucs)
                         + f"  min-RX {min(aucs) - row['rx']:+.4f}  fit {np.mean(secs):.2f} s")
            if attr:
                auc, fit_s, scores = run_attribute(v, **attribute_params)
                row["attribute"] = (auc, fit_s)
                text += f"  attribute {auc:.4f}  -RX {auc - row['rx']:+.4f}  fit {fit_s:.2f} s"
                if reference_params:
                    ref_auc, _, ref_scores = run_attribute(v, **reference_params)
                    row["paired"] = (ref_auc, change_interval(v, scores, ref_scores))
                    text += (f"  reference {ref_auc:.4f}  change {auc - ref_auc:+.4f} "
                             f"[{row['paired'][1][0]:+.4f}, {row['paired'][1][1]:+.4f}]")
            results.append(row)
            print(text, flush=True)
    total_s = time.perf_counter() - t_start

    param_text = ", ".join(f"{k}={v!r}" for k, v in params.items())
    call = f"make_deep_svdd_pipeline(random_state=seed{', ' + param_text if param_text else ''})"
    cmd = "python benchmarks/bench_robustness.py" + (" " + " ".join(argv) if argv else "")
    if argv is None:
        cmd = "python benchmarks/bench_robustness.py " + " ".join(sys.argv[1:])
    attribute_text = ", ".join(f"{k}={v!r}" for k, v in attribute_params.items())
    attribute_call = f"make_attribute_filter_pipeline({attribute_text})"
    compared = " and ".join(
        ([f"the Deep SVDD pipeline `{call}` (the previous default)"] if svdd else [])
        + ([f"the attribute-filter pipeline `{attribute_call}`"
            + ("" if attribute_params else " (the default)")] if attr else []))
    head = "| scene | variant | shape | RX AUC |"
    rule = "|---|---|---|---|"
    if svdd:
        head += " Deep SVDD mean AUC | Deep SVDD min AUC | min − RX | Deep SVDD ≥ RX | " \
                "Deep SVDD fit s |"
        rule += "---|---|---|---|---|"
    reference = json.loads(args.reference.read_text()) if args.reference else None
    if attr:
        head += " attribute AUC | attribute − RX | attribute ≥ RX | attribute fit s |"
        rule += "---|---|---|---|"
        if reference is not None:
            head += " reference AUC | change |"
            rule += "---|---|"
        if reference_params:
            head += f" change, {INTERVAL_LEVEL:.0%} interval |"
            rule += "---|"
    lines = [
        "# Robustness of the default pipelines beyond the two development scenes",
        "",
        f"Command: `{cmd.strip()}`",
        "",
        f"Do {compared} reach global RX (`RXDetector()`) on scenes they were not tuned on? "
        "Variants derived from the two development scenes (HYDICE and San Diego, read from "
        "shared/data/had), each with its ground-truth mask; fit on "
        "every pixel without labels, score every pixel, pixel-level ROC AUC "
        "(`skhsi.metrics.roc_auc`)."
        + (f" Deep SVDD: seeds {', '.join(map(str, args.seeds))} "
           f"(tiled scenes: {', '.join(map(str, tiled_seeds))}); its **≥ RX** compares the "
           "minimum over seeds with RX." if svdd else "")
        + (" The attribute-filter pipeline has no randomness (same scores on every run): one "
           "fit per variant, its AUC compared with RX." if attr else "")
        + " Fit s: mean wall-clock seconds of `fit` (CPU, shared machine: noisy; the "
        "attribute filters' `fit` includes scoring the training cube, which sets its "
        "threshold).",
        "",
        "Variants:",
        "",
        "- `original`: the scene as published (reference, the settings were chosen on these);",
        f"- `crop-*`: quadrants and centre crop (half height and width) with ≥ {MIN_CROP_ANOMALIES} "
        "anomalous pixels;",
        "- `bands-every2`, `bands-every3`, `bands-firsthalf`: band subsets;",
        "- `noise-30dB`, `noise-20dB`: Gaussian noise per band, std = band std / 10^(SNR/20), "
        f"seed {NOISE_SEED}, float32;",
        "- `scale-offset`: `X * 0.01 + 50` as float32; `float64`: `X` as float64;",
        f"- `implant-a0.2`, `implant-a0.5`: {N_SINGLE} one-pixel and {N_BLOCK} 2 × 2 targets "
        "`a * t + (1 - a) * x`, `t` = mean of a random 3 × 3 cluster in one quadrant, targets "
        f"at random positions in the other three (≥ {ANOMALY_CLEARANCE} px from true anomalies, "
        f"≥ {TARGET_GAP} px apart), seed {IMPLANT_SEED}; the mask marks implanted pixels only "
        "and the original anomalies (left in the scene) are dropped from the AUC. Blending "
        "with a 9-pixel mean removes part of each implanted pixel's own noise, which "
        "dominates RX's score, so implanted pixels can score *below* the background; rows "
        "with RX AUC < 0.5 are shown but left out of the tally;",
        "- `implant-a0.2-noise`, `implant-a0.5-noise`: the same implants with the lost "
        "noise added back (Gaussian, per-band std `sigma * sqrt(1 - (1 - a)^2 - a^2 / 9)`, "
        "`sigma` the band's noise std from horizontal neighbour differences, MAD), so "
        "implanted pixels are as noisy as the rest of the scene. That noise is independent "
        "across bands, unlike the scene's own, so it moves the implanted pixels off the "
        "background in directions where the background hardly varies: what RX's full "
        "whitening weighs most, and what a per-band z-score followed by an RBF kernel "
        "weighs least;",
        "- `tiled-2x2`: the scene tiled 2 × 2 with flipped tiles (4× the pixels);",
        "- `downsampled-2x`: 2 × 2 blocks of pixels averaged (twice the ground sampling "
        "distance); a block is anomalous when any of its pixels is.",
        "",
        head,
        rule,
    ]
    losses = {m: [] for m in methods}
    excluded, changes, intervals, reproduced = [], [], [], []
    for row in results:
        v, rx = row["v"], row["rx"]
        cells = [v.scene, v.name, " × ".join(map(str, row["shape"])), f"{rx:.4f}"]
        left_out = []
        for method in methods:
            if method == "deep-svdd":
                aucs, secs = row[method]
                auc, shown = min(aucs), [f"{np.mean(aucs):.4f}", f"{min(aucs):.4f}"]
                left_out.append(f"Deep SVDD min {auc:.4f}")
            else:
                auc, fit_s = row[method]
                secs, shown = [fit_s], [f"{auc:.4f}"]
                left_out.append(f"attribute {auc:.4f}")
            ok = auc >= rx
            if rx >= 0.5 and not ok:
                losses[method].append(f"{v.scene}/{v.name} ({auc - rx:+.4f})")
            cells += shown + [f"{auc - rx:+.4f}",
                              "n/a (RX < 0.5)" if rx < 0.5 else "yes" if ok else "**no**",
                              f"{np.mean(secs):.2f}"]
            if method == "attribute" and reference is not None:
                ref = reference.get(f"{v.scene}/{v.name}")
                cells += ["–", "–"] if ref is None else [f"{ref:.4f}", f"{auc - ref:+.4f}"]
                if ref is not None:
                    changes.append((f"{v.scene}/{v.name}", auc - ref))
            if method == "attribute" and "paired" in row:
                ref_auc, (low, high) = row["paired"]
                cells.append(f"{auc - ref_auc:+.4f} [{low:+.4f}, {high:+.4f}]")
                intervals.append((f"{v.scene}/{v.name}", auc - ref_auc, low, high, rx >= 0.5))
                if reference is not None and f"{v.scene}/{v.name}" in reference:
                    reproduced.append(abs(ref_auc - reference[f"{v.scene}/{v.name}"]))
        if rx < 0.5:
            excluded.append(f"{v.scene}/{v.name} (RX {rx:.4f}, {', '.join(left_out)})")
        lines.append("| " + " | ".join(cells) + " |")
    n_counted = len(results) - len(excluded)
    lines += [
        "",
        "## Environment",
        "",
        f"skhsi {skhsi.__version__}, scikit-learn {sklearn.__version__}, torch {torch.__version__} "
        f"(torch threads: {torch.get_num_threads()}, BLAS threads limited to {args.threads}, "
        f"device cpu), Python {platform.python_version()}, {platform.machine()}. Whole run: "
        f"{total_s / 60:.1f} min.",
        "",
        "## Summary",
        "",
    ]
    for method in methods:
        n_ok = n_counted - len(losses[method])
        lead = ("Deep SVDD pipeline (previous default) ≥ RX (minimum over seeds)"
                if method == "deep-svdd" else "Attribute-filter pipeline ("
                + (f"`{attribute_call}`" if attribute_params else "default") + ") ≥ RX")
        margin = "min AUC − RX AUC" if method == "deep-svdd" else "AUC − RX AUC"
        lines += [
            f"{lead} on **{n_ok} of {n_counted}** variants"
            + (f"; not on: {', '.join(losses[method])} (margin = {margin})."
               if losses[method] else "."),
            "",
        ]
    if changes:
        worse = [f"{name} ({d:+.4f})" for name, d in changes if d < -0.0005]
        subject = f"`{attribute_call}` is" if attribute_params else "the default is"
        lines += [f"Against the reference version ({args.reference.name}): {subject} "
                  f"as good or better on **{len(changes) - len(worse)} of {len(changes)}** "
                  "variants (change ≥ -0.0005)"
                  + (f"; lower on: {', '.join(worse)}." if worse else ".")
                  + f" Mean change {np.mean([d for _, d in changes]):+.4f}.", ""]
    if intervals:
        setting = ", ".join(f"{k}={v!r}" for k, v in reference_params.items())
        below = [f"{name} ({d:+.4f}, [{low:+.4f}, {high:+.4f}])"
                 for name, d, low, high, _ in intervals if high < 0]
        detected = [i for i in intervals if i[4]]
        worst = ""
        if detected:
            name, d, low, high, _ = min(detected, key=lambda i: i[1])
            worst = (f" Largest loss on a variant RX detects (RX ≥ 0.5): {name} ({d:+.4f}, "
                     f"[{low:+.4f}, {high:+.4f}]); losses over 0.005 there: "
                     f"{sum(i[1] < -0.005 for i in detected)} of {len(detected)}.")
        lines += [f"Paired against `make_attribute_filter_pipeline({setting})` fitted on every "
                  "variant in this run"
                  + (f" (it reproduces the reference file's AUCs to within "
                     f"{max(reproduced):.1e})" if reproduced else "")
                  + f": {INTERVAL_LEVEL:.0%} percentile-bootstrap interval of each change "
                  f"({N_RESAMPLES} resamples; the anomalies resampled as 8-connected objects, "
                  "the background as pixels, both maps on the same resample). The interval "
                  f"lies wholly below 0 on **{len(below)} of {len(intervals)}** variants"
                  + (f": {', '.join(below)}" if below else "") + "." + worst, ""]
    if excluded:
        lines += [f"Left out of the tally, RX AUC under 0.5 (implanted targets less anomalous "
                  f"than the background, no detection test): {', '.join(excluded)}.", ""]
    if args.json_out is not None and attr:
        args.json_out.write_text(json.dumps(
            {f"{row['v'].scene}/{row['v'].name}": round(row["attribute"][0], 6)
             for row in results}, indent=1))
    text = "\n".join(lines)
    write_results(text, args.out)
    return 0

if __name__ == "__main__":
    sys.exit(main())
