"""Gather ``benchmarks/results/*.md`` into ``benchmarks/RESULTS.md``.

The output starts with a short introduction and one line per target, each
checked against the numbers in the results files (parsed from their tables,
never typed in here), then has one section per benchmark, in the order
default_detector, detection, throughput, reduction, selection, envi_read, robustness,
autoencoders, tiled_memory: the command that
regenerates it and the results file itself, its headings one level down.

Usage::

    python benchmarks/collect_results.py [--results benchmarks/results] [--out benchmarks/RESULTS.md]
"""

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> the command that produced the committed results file. A results file
# that names its own command ("Produced by `python benchmarks/...`") wins.
SECTIONS = {
    "default_detector": "python benchmarks/bench_default_detector.py",
    "default_sensitivity": "python benchmarks/bench_default_sensitivity.py",
    "detection": "python benchmarks/bench_detection.py",
    "throughput": "python benchmarks/bench_throughput.py",
    "reduction": "python benchmarks/bench_reduction.py --threads 1",
    "selection": "python benchmarks/bench_selection.py --threads 1",
    "envi_read": "python benchmarks/bench_envi_read.py --size-gb 2",
    "robustness": "python benchmarks/bench_robustness.py --threads 1 --reference "
                  "benchmarks/results/robustness_reference.json --reference-params "
                  "global_weight=0 local_rx_components=10",
    "autoencoders": "python benchmarks/bench_autoencoders.py --threads 2",
    "tiled_memory": "python benchmarks/bench_tiled_memory.py",
    "onnx": "python benchmarks/bench_onnx.py --threads 1 --repeat 3",
    "serving": "python benchmarks/bench_serving.py",
    "tiled_scoring": "python benchmarks/bench_tiled_scoring.py --tile-rows 25",
    "few_labels": "python benchmarks/bench_few_labels.py",
    "simclr_pretraining": "python benchmarks/bench_few_labels.py --protocols disjoint --models "
                          "SimCLR 'no pretraining' --out benchmarks/results/simclr_pretraining.md",
    "few_labels_indian_pines": "python benchmarks/bench_few_labels_indian_pines.py",
    "simclr_pretraining_indian_pines": "python benchmarks/bench_few_labels_indian_pines.py "
                                       "--models SimCLR 'no pretraining' --out "
                                       "benchmarks/results/simclr_pretraining_indian_pines.md",
    "few_labels_5seeds": "python benchmarks/bench_few_labels.py --seeds 0 1 2 3 4 --models SVC "
                         "SpectralSpatial --protocols disjoint random inner --out "
                         "benchmarks/results/few_labels_5seeds.md",
    "segmentation": "python benchmarks/bench_segmentation.py",
    "object_sizes": "python benchmarks/bench_object_sizes.py --detectors default rx --jobs 2",
    "object_sizes_global_weight": "python benchmarks/bench_object_sizes.py --detectors rx "
                                  "--detector-module benchmarks/_global_weights.py:GLOBAL_WEIGHTS"
                                  " --candidate global-weight-0.4 global-weight-0.8 "
                                  "global-weight-1.2 --sizes 64 144 256 400 --jobs 2 --out "
                                  "benchmarks/results/object_sizes_global_weight.md",
    "scaling": "python benchmarks/bench_scaling.py --use-fit-score --detectors default rx "
               "learned-background",
    "import_time": "python benchmarks/bench_import.py --reference DIR",
    "bad_inputs": "python benchmarks/bench_bad_inputs.py",
    "thresholds": "python benchmarks/bench_thresholds.py",
    "two_phase": "python benchmarks/bench_two_phase.py",
    "classifier_scaling": "python benchmarks/bench_classifier_scaling.py",
}


# ---------------------------------------------------------------------------
# markdown helpers


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def tables_under(text, heading=None):
    """The markdown tables of ``text`` (after the heading matching the regex
    ``heading`` and before the next heading of the same or a higher level), each
    a list of ``{column: cell}`` dicts."""
    lines = text.splitlines()
    if heading is not None:
        for i, line in enumerate(lines):
            m = re.match(r"(#+)\s+(.*)", line)
            if m and re.search(heading, m.group(2)):
                level = len(m.group(1))
                end = next((j for j in range(i + 1, len(lines))
                            if re.match(r"#{1,%d}\s" % level, lines[j])), len(lines))
                lines = lines[i + 1:end]
                break
        else:
            return []
    tables, i = [], 0
    while i < len(lines):
        if (lines[i].lstrip().startswith("|") and i + 1 < len(lines)
                and re.fullmatch(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?", lines[i + 1].strip())):
            head = _cells(lines[i])
            rows, i = [], i + 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(dict(zip(head, _cells(lines[i]))))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


def number(cell):
    """The first number in a table cell ('0.9982 ± 0.0002' -> 0.9982, '82,212' -> 82212)."""
    m = re.search(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?", cell)
    if m is None:
        raise ValueError(f"no number in {cell!r}")
    return float(m.group(0).replace(",", ""))


def shift_headings(text):
    """Every ATX heading one level down, code blocks left alone."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,5}\s", line):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def column(row, prefix):
    """The cell of ``row`` whose column name starts with ``prefix``."""
    for key, value in row.items():
        if key.lower().startswith(prefix.lower()):
            return value
    raise KeyError(f"no column starting with {prefix!r} in {list(row)}")


# ---------------------------------------------------------------------------
# targets: each returns (met: bool or None, text); None = nothing to judge


def target_detection(text):
    rows = tables_under(text, r"default vs RX")[0]
    pairs = [(r["scene"], number(column(r, "skhsi default")), number(column(r, "RX AUC")))
             for r in rows]
    met = all(default >= rx for _, default, rx in pairs)
    detail = "; ".join(f"{scene} {default:.4f} vs {rx:.4f}" for scene, default, rx in pairs)
    return met, (f"Deep SVDD pipeline (the previous default) ROC AUC ≥ RX on both scenes "
                 f"({detail})")


def target_fit_time(text):
    rows = tables_under(text, r"Fit time")[0]
    row = next(r for r in rows if r["fit"].startswith("both phases"))
    mean, worst = number(row["wall mean"]), number(row["wall max"])
    cpu = number(row["CPU mean"])
    scene = re.search(r"Fit time, ([^(]+)\(([^)]*)\)", text)
    where = f" on {scene.group(1).strip()} ({scene.group(2)})" if scene else ""
    met = mean < 10
    return met, (f"Deep SVDD pipeline, both phases fit < 10 s{where}, judged on the mean over seeds: "
                 f"{mean:.2f} s wall (slowest seed {worst:.2f} s, "
                 f"{'over' if worst >= 10 else 'under'} 10 s; CPU mean {cpu:.2f} s)")


def target_default_baseline(text):
    """The default's minimum over seeds >= the better of RX and IsolationForest (mean), every scene."""
    rows = tables_under(text, r"Check: default vs")[0]
    verdicts = [(r["scene"], column(r, "default ≥ baseline").strip("*") == "yes",
                 number(r["min − baseline"])) for r in rows]
    lost = [f"{scene} ({margin:+.4f})" for scene, ok, margin in verdicts if not ok]
    worst = min(verdicts, key=lambda v: v[2])
    return not lost, (f"default `make_attribute_filter_pipeline()`, minimum ROC AUC over seeds "
                      f"≥ the better of RX and IsolationForest (mean over seeds) on every scene "
                      f"of shared/data/had: {len(verdicts) - len(lost)} of {len(verdicts)} "
                      f"(smallest margin {worst[2]:+.4f} on {worst[0]})"
                      + (f"; not on {', '.join(lost)}" if lost else ""))


def target_default_mean(text):
    rows = tables_under(text, r"ROC AUC per scene")[0]
    row = next(r for r in rows if r["method"].startswith("**skhsi default**"))
    mean = number(row["mean"])
    n = len(rows[0]) - 3  # method, the scenes, mean, seed spread
    return mean >= 0.99, (f"default mean ROC AUC over the {n} scenes ≥ 0.99: {mean:.4f}")


def target_default_fit_time(text):
    rows = tables_under(text, r"Fit time")[0]
    row = next(r for r in rows if r["fit"].startswith("default"))
    rx = next(r for r in rows if "RX" in r["fit"])
    mean, worst = number(row["wall mean"]), number(row["wall max"])
    ratio = mean / number(rx["wall mean"])
    scene = re.search(r"Fit time, ([^(]+)\(([^)]*)\)", text)
    where = f" on {scene.group(1).strip()} ({scene.group(2)})" if scene else ""
    return mean < 10, (f"default fit (both phases = the whole `fit`) < 10 s{where}: "
                       f"{mean:.2f} s wall on the mean over seeds (slowest {worst:.2f} s), "
                       f"{ratio:.1f}× global RX's fit in the same run")


def target_throughput(text):
    rows = tables_under(text)[0]
    wall = {}
    for r in rows:
        name = r["contender"]
        key = "skhsi" if name.startswith("skhsi") else "bare" if name.startswith("bare") else None
        if key:
            wall[key] = number(column(r, "best wall"))
    ratio = wall["bare"] / wall["skhsi"]
    return ratio >= 0.8, (f"skhsi / bare torch scoring throughput ≥ 0.8: {ratio:.2f} "
                          f"(best wall {wall['skhsi']:.2f} s vs {wall['bare']:.2f} s)")


def target_reduction(text):
    rows = tables_under(text)[0]
    mse = {(r["scene"], r["k"], r["method"]): number(column(r, "reconstruction MSE"))
           for r in rows}
    pairs = []
    for (scene, k, method), value in mse.items():
        if re.fullmatch(r"TrainablePCA \(SVD init \+ \d+ ep\)", method):
            pairs.append((scene, k, value, mse[scene, k, "TrainablePCA (SVD init)"]))
    worse = [(s, k) for s, k, tuned, init in pairs if tuned > init]
    worst = max((tuned - init) / init for _, _, tuned, init in pairs)
    text = (f"TrainablePCA fine-tuning never worse than its SVD init: "
            f"{len(pairs) - len(worse)}/{len(pairs)} scene × k cases"
            + (" (same or lower MSE in every case)" if worst <= 0
               else f" (largest relative MSE increase {worst:.1e})"))
    if worse:
        text += "; worse on " + ", ".join(f"{s} k={k}" for s, k in worse)
    return not worse, text


def target_selection(text):
    heading = r"Concrete selector at k = (\d+)"
    k = int(re.search(heading, text).group(1))
    rows = tables_under(text, heading)[0]
    distinct, overlap = True, []
    for r in rows:
        for key, cell in r.items():
            if key.startswith("seed"):
                bands = [int(b) for b in re.findall(r"\d+", cell)]
                distinct &= len(bands) == k and len(set(bands)) == k
        overlap.append(f"{r['scene']} {number(r['mean Jaccard']):.2f} "
                       f"(min {number(r['min Jaccard']):.2f})")
    seeds = sum(key.startswith("seed") for key in rows[0])
    return distinct, (f"concrete selector returns k = {k} distinct bands for each of {seeds} "
                      f"seeds on both scenes; {seeds}-seed "
                      f"overlap, mean pairwise Jaccard: {', '.join(overlap)} (reported, no "
                      "threshold set)")


def target_envi(text):
    heading = r"Peak memory under (\d+) MB"
    limit = int(re.search(heading, text).group(1))
    rows = tables_under(text, heading)[0]

    def find(fragment):
        return next(r for r in rows if fragment in r["configuration"])

    default, rand = find("(default"), find('access="random"')
    rss = {name: number(column(r, "peak RSS")) for name, r in (("d", default), ("r", rand))}
    anon_d = number(column(default, "peak anonymous"))
    met = rss["r"] < limit
    default_met = rss["d"] < limit
    return met, (f"ENVI read of one band + one pixel, peak memory < {limit} MB, with "
                 f"`read_envi(access=\"random\")`: {rss['r']:.0f} MB peak RSS. The default "
                 f"`read_envi()` peaks at {rss['d']:.0f} MB RSS "
                 f"({'also under' if default_met else 'over'} the limit), of which only "
                 f"{anon_d:.0f} MB is anonymous memory; the rest is mapped page cache of the file")


def _tally(text, lead):
    m = re.search(lead + r" on \*\*(\d+) of (\d+)\*\* variants(?:; not on: (.+?) \(margin)?",
                  text)
    if m is None:
        return None
    won, total = int(m.group(1)), int(m.group(2))
    lost = f"; not on {m.group(3).strip()} (see the robustness section)" if m.group(3) else ""
    return won, total, lost


_VARIANTS = ("variants of the scenes it was not tuned on (crops, band subsets, noise, "
             "radiometric changes, implanted targets, 4× larger tiled and 2× downsampled scenes)")


def target_robustness(text):
    """Deep SVDD pipeline >= RX on the derived variants (the benchmark's own tally line)."""
    tally = (_tally(text, r"Deep SVDD pipeline \(previous default\) ≥ RX \(minimum over seeds\)")
             or _tally(text, r"Default ≥ RX \(minimum over seeds\)"))  # before the new default
    won, total, lost = tally
    return won == total, (f"Deep SVDD pipeline (the previous default) ≥ RX (minimum over 3 "
                          f"seeds) on {won} of {total} {_VARIANTS}{lost}")


def target_robustness_default(text):
    """The attribute-filter default >= RX on the derived variants."""
    won, total, lost = _tally(text, r"Attribute-filter pipeline \(default\) ≥ RX")
    return won == total, (f"default `make_attribute_filter_pipeline()` ≥ RX on {won} of "
                          f"{total} {_VARIANTS}{lost}")


def target_autoencoders(text):
    rows = {r["detector"]: r for r in tables_under(text)[0]}
    rx = number(rows["skhsi `RXDetector` (global RX)"]["mean"])
    best_name, best = max(((name, number(r["mean"])) for name, r in rows.items()
                           if name.startswith("skhsi ") and "RX" not in name),
                          key=lambda item: item[1])
    return best >= rx, (f"the best skhsi autoencoder ({best_name[len('skhsi '):]}) reaches a "
                        f"mean ROC AUC over the scenes of {best:.4f}, against {rx:.4f} for "
                        "global RX")


def target_tiled_memory(text):
    rows = tables_under(text)[0]
    peaks = [number(r["peak RSS (MB)"]) for r in rows]
    sizes = [number(r["on disk (GB)"]) for r in rows]
    diffs = [float(d) for d in re.findall(r"tiles of \d+: (\d[\d.]*e[+-]?\d+)", text)]
    met = max(peaks) <= 1.5 * min(peaks) and max(peaks) < 1000 * max(sizes) and \
        all(d < 1e-4 for d in diffs)
    return met, (f"tiled scoring of memory-mapped cubes from {min(sizes):.2f} to "
                 f"{max(sizes):.2f} GB peaks at {min(peaks):.0f} to {max(peaks):.0f} MB (flat "
                 f"within 1.5x, under the largest cube's size); tiled = whole image within "
                 f"{max(diffs) if diffs else float('nan'):.1e}")


def target_default_sensitivity(text):
    m = re.search(r"Largest change of the mean from one setting \(the ablations apart\): "
                  r"(\d+\.\d+)", text)
    spread = float(m.group(1))
    return spread <= 0.005, (f"default detector: no single setting near the defaults moves "
                             f"the 8-scene mean AUC by more than 0.005 ({spread:.4f})")


def target_object_sizes_rx(text):
    m = re.search(r"\| cells with default ≥ rx − 0\.02 \| (\d+) / (\d+)", text)
    worst = re.search(r"\| smallest margin \| ([-+]\d\.\d+) \(([^)]*)\)", text)
    won, total = int(m.group(1)), int(m.group(2))
    return won == total, (f"implanted objects of 1 to 400 pixels: the default's median AUC "
                          f"within 0.02 of global RX's or above in {won} of {total} cells "
                          f"(smallest margin {worst.group(1)}, {worst.group(2)})")


def target_object_sizes_distinct(text):
    m = re.search(r"\| default ≥ 0\.95 in every distinct, abundance-1\.0 cell \| (yes|no) "
                  r"\((\d+) / (\d+); lowest (\d\.\d+)", text)
    return m.group(1) == "yes", (f"implanted objects of materials distinct from their "
                                 f"background, full abundance: default ≥ 0.95 at every size "
                                 f"and shape ({m.group(2)} of {m.group(3)} cells; lowest "
                                 f"{m.group(4)})")


def target_scaling(text):
    rows = tables_under(text, r"Summary and targets")[0]
    row = next(r for r in rows if r["detector"] == "default")
    checks = [column(row, c) for c in ("slope check", "RX-ratio check", "memory check")]
    return all(c == "pass" for c in checks), (
        f"default fit + score: log-log slope {column(row, 'log-log slope')} (≤ 1.05: "
        f"{checks[0]}), × RX {column(row, 'x RX by side')} (≤ 3 from 800: {checks[1]}), "
        f"(peak − overhead) / float32 cube {column(row, '(peak - overhead) / cube')} "
        f"(< 2.5: {checks[2]})")


def target_serving_default(text):
    m = re.search(r"Target, the default on the 1 GB file in under (\d+) s and (\d+) MB of RSS, "
                  r"block by block and exact: \*\*(met|not met)\*\* \((\d+) s, (\d+) MB\)",
                  text)
    return m.group(3) == "met", (f"`skhsi score` with the default on a 1 GB ENVI file: "
                                 f"{m.group(4)} s (< {m.group(1)} s), {m.group(5)} MB peak RSS "
                                 f"(< {m.group(2)} MB), exact")


def target_robustness_reference(text):
    m = re.search(r"the default is as good or better on \*\*(\d+) of (\d+)\*\* variants "
                  r"\(change ≥ -0\.0005\)(?:; lower on: (.+?)\.)? Mean change ([-+]\d\.\d+)",
                  text)
    if m is None:
        return None, "robustness: no reference version compared"
    won, total = int(m.group(1)), int(m.group(2))
    paired = re.search(r"The interval lies wholly below 0 on \*\*(\d+) of (\d+)\*\* variants.*?"
                       r"Largest loss on a variant RX detects \(RX ≥ 0\.5\): (\S+) "
                       r"\(([-+]\d\.\d+), (\[.+?\])\)", text, flags=re.S)
    intervals = "" if paired is None else (
        f"; 90 % interval of the change wholly below 0 on {paired.group(1)} of "
        f"{paired.group(2)}, largest loss where RX detects the targets {paired.group(3)} "
        f"{paired.group(4)} {paired.group(5)}")
    return won == total, (f"default on the robustness variants (and 2× downsampled scenes) "
                          f"against the default before the size rework: as good or better on "
                          f"{won} of {total}, mean change {m.group(4)}{intervals} (see the "
                          "robustness section)")


def target_import_time(text):
    found = re.findall(r"^- (.+?): (\d+\.\d+) s, .*?; target (\d+\.?\d*) s: \*\*(met|not met)\*\*",
                       text, flags=re.M)
    return all(m[3] == "met" for m in found) and bool(found), "start-up: " + "; ".join(
        f"{label} {seconds} s (≤ {limit} s: {verdict})" for label, seconds, limit, verdict
        in found)


def target_bad_inputs(text):
    counts = {row["outcome"]: int(row["count"]) for row in tables_under(text)[0]}
    return counts["unclear"] == 0 and counts["silent"] == 0, (
        "bad input, every public estimator: " + ", ".join(
            f"{counts[k]} {k}" for k in ("correct", "clear", "unclear", "silent"))
        + " (0 unclear and 0 silent)")


def target_thresholds(text):
    match = re.search(r"^- default rate r = ([\d.]+): the background false-alarm rate is "
                      r"([\d.]+)-([\d.]+) x r .*\*\*(met|not met)\*\*", text, flags=re.M)
    rows = tables_under(text, "On other scenes")[0]
    shares = [number(row["default rule: flagged"]) for row in rows]
    rate = float(match.group(1))
    similar = all(abs(share - rate) <= 0.1 * rate for share in shares)
    return match.group(4) == "met" and similar, (
        f"default threshold, false-alarm rate {rate:g}: background rate "
        f"{match.group(2)}-{match.group(3)} x the rate on the 8 fitting scenes; on "
        f"{len(shares)} other scenes `skhsi score` flags {min(shares):.4f}-{max(shares):.4f} "
        f"(within 10 % of the rate)")


def target_two_phase(text):
    rows = tables_under(text, "Learned background against the default")[0]
    met = all(row["met"] == "yes" for row in rows)
    return met, "learned background (phase 2) against the default (phase 1): " + "; ".join(
        f"{row['check']} {row['value']} ({row['target']}: {row['met']})" for row in rows)


def target_few_labels(scene, heading=None):
    """``SpectralSpatialClassifier()`` beats every baseline row by >= 0.02 OA at every label
    count, by more than its standard deviation over the seeds, and does not fall as labels
    are added (the tables of ``scene``'s results, under ``heading``)."""
    ours_name = "skhsi `SpectralSpatialClassifier()`"

    def check(text):
        rows = {row["model"]: row for row in tables_under(text, heading)[0]}
        ours = rows[ours_name]
        baselines = [row for name, row in rows.items() if not name.startswith("skhsi")]
        parts, met, previous = [], True, 0.0
        for key in (key for key in ours if key.startswith("OA n=")):
            mean, std = (float(x) for x in ours[key].split(" ± "))
            margin = mean - max(number(row[key]) for row in baselines)
            met &= margin >= 0.02 and margin > std and mean >= previous
            previous = mean
            parts.append(f"{key[3:]}: {mean:.3f}, margin {margin:+.3f}, seed std {std:.3f}")
        return met, (f"few labels, {scene}: `SpectralSpatialClassifier()` ≥ every baseline "
                     f"({len(baselines)}) + 0.02 OA, margin > seed std, not falling with more "
                     "labels: " + "; ".join(parts))
    return check


def target_pretraining(scene):
    """SimCLR pretraining lifts the same head over the unpretrained encoder (mean OA over
    the seeds, every head and label count) on ``scene``."""
    def check(text):
        rows = {row["model"]: row for row in tables_under(text)[0]}
        gains = []
        for name, row in rows.items():
            plain = rows.get(name.replace("SimCLR", "no pretraining"))
            if "SimCLR" not in name or plain is None:
                continue
            gains += [number(row[key]) - number(plain[key])
                      for key in row if key.startswith("OA n=")]
        if not gains:
            raise ValueError("no SimCLR row with its unpretrained twin")
        return min(gains) > 0, (
            f"SimCLR pretraining lifts the same head (linear and fine-tuned) over no "
            f"pretraining, {scene}, every label count: {min(gains):+.3f} to "
            f"{max(gains):+.3f} OA")
    return check


TARGETS = (("default_detector", target_default_baseline),
           ("default_detector", target_default_mean),
           ("default_detector", target_default_fit_time),
           ("default_sensitivity", target_default_sensitivity),
           ("robustness", target_robustness_default),
           ("robustness", target_robustness_reference),
           ("object_sizes", target_object_sizes_rx),
           ("object_sizes", target_object_sizes_distinct),
           ("scaling", target_scaling), ("serving", target_serving_default),
           ("import_time", target_import_time), ("bad_inputs", target_bad_inputs),
           ("thresholds", target_thresholds), ("two_phase", target_two_phase),
           ("few_labels_5seeds", target_few_labels("Salinas-A disjoint halves, 5 seeds",
                                                   "spatially disjoint")),
           ("few_labels_indian_pines", target_few_labels("Indian Pines spatial blocks, "
                                                         "5 seeds")),
           ("simclr_pretraining", target_pretraining("Salinas-A (disjoint halves)")),
           ("simclr_pretraining_indian_pines",
            target_pretraining("Indian Pines (spatial blocks)")),
           ("detection", target_detection), ("detection", target_fit_time),
           ("robustness", target_robustness),
           ("throughput", target_throughput), ("reduction", target_reduction),
           ("selection", target_selection), ("envi_read", target_envi),
           ("autoencoders", target_autoencoders), ("tiled_memory", target_tiled_memory))


# ---------------------------------------------------------------------------


def command_for(name, text):
    m = re.search(r"(?:Produced by|Command:) `(python benchmarks/[^`]+)`", text)
    return m.group(1) if m else SECTIONS[name]


def collect(results_dir):
    texts = {}
    for name in SECTIONS:
        path = results_dir / f"{name}.md"
        texts[name] = path.read_text() if path.exists() else None

    lines = [
        "# Benchmark results",
        "",
        "All committed benchmark results in one page, generated by "
        "`python benchmarks/collect_results.py` from `benchmarks/results/*.md` (edit "
        "those, or rerun the scripts, not this file). Each section names the command "
        "that regenerates it; see `benchmarks/README.md` for what each script measures. "
        "Timings are from one run on one machine: compare within a section.",
        "",
        "Targets (checked against the tables below):",
        "",
    ]
    for name, check in TARGETS:
        if texts[name] is None:
            lines.append(f"- **not run**: `{name}` results missing")
            continue
        try:
            met, detail = check(texts[name])
        except (IndexError, KeyError, StopIteration, ValueError, AttributeError,
                TypeError) as exc:
            lines.append(f"- **?**: could not read the {name} results ({exc!r})")
            continue
        lines.append(f"- **{'met' if met else 'not met'}**: {detail}")
    lines.append("")

    for name, default in SECTIONS.items():
        text = texts[name]
        if text is None:
            lines += [f"## {name}", "", "Not run yet:", "", "```bash", default, "```", ""]
            continue
        body = shift_headings(text.strip()).splitlines()
        title, rest = (body[0], body[1:]) if body and body[0].startswith("## ") else (
            f"## {name}", body)
        lines += [title, "", f"Results file `benchmarks/results/{name}.md`, regenerated by:",
                  "", "```bash", command_for(name, text), "```"]
        # the command is shown above; drop the file's own line naming it
        rest = [line for line in rest
                if not re.fullmatch(r"(Produced by `python [^`]+`\.|Command: `python [^`]+`)",
                                    line)]
        while len(rest) > 1 and not rest[0] and not rest[1]:
            rest = rest[1:]
        lines += rest
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    text = collect(args.results)
    args.out.write_text(text)
    print(text.split("\n## ")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
