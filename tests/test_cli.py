import json

import numpy as np
import pytest

from skhsi.cli import main
from tests._data import shared_file


def test_detect_rx_on_a_real_mat_scene_writes_everything(tmp_path, capsys):
    path = shared_file("had/HYDICE_data.mat")
    assert main(["detect", str(path), "--method", "rx", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ROC AUC    0.97" in out and "by ground-truth class" not in out
    for name in ("heatmap.png", "overlay.png", "scores.npy", "metrics.json"):
        path = tmp_path / f"HYDICE_data_rx_{name}"
        assert path.stat().st_size > 0
    metrics = json.loads((tmp_path / "HYDICE_data_rx_metrics.json").read_text())
    assert metrics["roc_auc"] > 0.975
    # the default threshold: a 1 % false-alarm rate, at most 80 of the 8000 pixels
    assert 0 <= metrics["iou"] <= 1 and metrics["flagged_pixels"] == 80
    assert metrics["threshold"]["rule"] == "false-alarm" and metrics["threshold"]["value"] == 0.01
    assert metrics["anomalous_pixels"] == 19 and 0 <= metrics["recall"] <= 1
    assert np.load(tmp_path / "HYDICE_data_rx_scores.npy").shape == (100, 80)
    assert not list(tmp_path.glob(".*"))


def test_detect_on_the_embedded_scene_summarises_flagged_pixels_by_class(tmp_path, capsys):
    from skhsi.datasets import load_indian_pines

    assert main(["detect", "--method", "rx", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "scene      indian_pines  145 x 145 x 200" in out
    assert "flagged    210 pixels (false-alarm rate 0.01" in out
    assert "unlabelled (roads, buildings, edges)" in out
    assert "no ground-truth mask (give one with --mask FILE)" in out and "ROC AUC" not in out
    assert "doi:10.4231/R7RX991C" in out
    metrics = json.loads((tmp_path / "indian_pines_rx_metrics.json").read_text())
    assert "roc_auc" not in metrics and metrics["flagged_pixels"] == 210  # 1 % of 21025
    rows = metrics["flagged_by_class"]
    assert sum(r["flagged"] for r in rows) == 210
    assert sum(r["share_of_flagged"] for r in rows) == pytest.approx(1.0, abs=1e-3)
    labels = load_indian_pines().labels
    scores = np.load(tmp_path / "indian_pines_rx_scores.npy")
    flagged = scores >= np.sort(scores.ravel())[::-1][209]
    for row in rows:
        assert row["flagged"] == int((flagged & (labels == row["label"])).sum())
    for name in ("heatmap.png", "overlay.png"):
        assert (tmp_path / f"indian_pines_rx_{name}").stat().st_size > 10_000


def test_detect_deep_svdd_on_a_mat_file(tmp_path, capsys, hydice):
    from scipy.io import savemat

    scene = hydice
    path = tmp_path / "scene.mat"
    savemat(path, {"data": scene.cube[:40], "map": scene.mask[:40].astype(np.uint8)})
    code = main(["detect", str(path), "--method", "deep-svdd", "--epochs", "2",
                 "--out", str(tmp_path / "out"), "--device", "cpu"])
    assert code == 0
    metrics = json.loads((tmp_path / "out" / "scene_deep-svdd_metrics.json").read_text())
    assert metrics["shape"] == [40, 80, 162]
    assert metrics["roc_auc"] > 0.9


@pytest.mark.parametrize("fmt", ["mat", "envi"])
def test_detect_default_on_a_real_scene_file_writes_auc_and_seconds(tmp_path, capsys, fmt):
    from scipy.io import loadmat, savemat

    from skhsi.io import write_envi
    from skhsi.metrics import roc_auc

    raw = loadmat(shared_file("had/abu-airport-4.mat"))
    mask = raw["map"].astype(bool)
    extra = []
    if fmt == "mat":
        path = tmp_path / "scene.mat"
        savemat(path, {"data": raw["data"], "map": raw["map"]})
    else:  # an ENVI file carries no ground truth: it comes as a mask file
        path = tmp_path / "scene.hdr"
        write_envi(path, raw["data"])
        np.save(tmp_path / "gt.npy", mask)
        extra = ["--mask", str(tmp_path / "gt.npy")]
    assert main(["detect", str(path), "--out", str(tmp_path / "out"), *extra]) == 0
    out = capsys.readouterr().out
    assert "method     attribute" in out
    metrics = json.loads((tmp_path / "out" / "scene_attribute_metrics.json").read_text())
    assert metrics["method"] == "attribute" and metrics["shape"] == [100, 100, 191]
    assert 0 < metrics["seconds"] < 60 and "(fit and score)" in out
    scores = np.load(tmp_path / "out" / "scene_attribute_scores.npy")
    # Global RX reaches 0.9526 and IsolationForest 0.9806 on this scene.
    assert metrics["roc_auc"] == pytest.approx(roc_auc(mask, scores))
    assert metrics["roc_auc"] > 0.985


@pytest.mark.parametrize("method", ["local-rx", "low-rank"])
def test_detect_with_the_classical_detectors(tmp_path, capsys, method):
    from scipy.io import savemat

    from skhsi.datasets import make_synthetic_scene

    scene = make_synthetic_scene((32, 32, 10), random_state=0)
    path = tmp_path / "synthetic.mat"
    savemat(path, {"data": scene.cube, "map": scene.mask.astype(np.uint8)})
    assert main(["detect", str(path), "--method", method, "--out", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / f"synthetic_{method}_metrics.json").read_text())
    assert metrics["method"] == method and metrics["roc_auc"] > 0.9


def test_info_on_a_real_mat_scene(capsys):
    assert main(["info", str(shared_file("had/sandiego_plane.mat"))]) == 0
    out = capsys.readouterr().out
    assert "100 x 100 x 189" in out and "134 anomalous pixels" in out


def test_info_on_the_embedded_scene_cites_it(capsys):
    assert main(["info", "indian_pines"]) == 0
    out = capsys.readouterr().out
    assert "145 x 145 x 200" in out and "400.02-2498.96 nm" in out
    assert "16 classes, 10249 labelled pixels" in out and "CC BY 3.0" in out


@pytest.mark.parametrize("argv, message", [
    (["detect", "no-such-scene"], "neither an embedded scene"),
    (["detect", "--quantile", "1.5"], "--quantile must lie in"),
])
def test_errors_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bands_on_an_envi_file_with_wavelengths(tmp_path, capsys):
    from skhsi.io import write_envi

    wl = np.linspace(400, 1000, 31)
    cube = np.random.default_rng(0).random((5, 4, 31)).astype(np.float32)
    write_envi(tmp_path / "x.hdr", cube, wavelengths=wl)
    assert main(["bands", str(tmp_path / "x.hdr"), "--strategy", "rgb"]) == 0
    out = capsys.readouterr().out
    assert "rgb: 3 of 31 bands" in out
    assert "  640" in out and "  540" in out and "  460" in out


def test_bands_uniform_on_the_embedded_scene(capsys):
    assert main(["bands", "indian_pines", "-k", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["25", "75", "125", "175"]


def test_bands_rgb_on_the_embedded_scene(capsys):
    assert main(["bands", "indian_pines", "--strategy", "rgb"]) == 0
    out = capsys.readouterr().out
    assert "rgb: 3 of 200 bands" in out


def test_bands_needing_wavelengths_is_a_clear_error(capsys):
    assert main(["bands", str(shared_file("had/HYDICE_data.mat")), "--strategy", "rgb"]) == 2
    assert "needs `wavelengths`" in capsys.readouterr().err


def test_detect_drops_the_headers_bad_bands(tmp_path, capsys):
    from skhsi.datasets import make_synthetic_scene
    from skhsi.io import write_envi

    cube = make_synthetic_scene((30, 30, 20), random_state=0).cube
    bad = np.zeros(20, dtype=bool)
    bad[[0, 19]] = True
    write_envi(tmp_path / "s.hdr", cube, wavelengths=np.linspace(400, 1000, 20), bad_bands=bad)
    assert main(["detect", str(tmp_path / "s.hdr"), "--method", "rx", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bad bands  2 dropped" in out and "no ground-truth mask" in out
    metrics = json.loads((tmp_path / "s_rx_metrics.json").read_text())
    assert metrics["shape"] == [30, 30, 18] and "roc_auc" not in metrics


@pytest.mark.parametrize("method", ["autoencoder", "blind-spot", "learned-background"])
def test_detect_with_the_autoencoders(tmp_path, capsys, method):
    from scipy.io import savemat

    from skhsi.datasets import make_synthetic_scene

    scene = make_synthetic_scene((32, 32, 10), random_state=0)
    path = tmp_path / "synthetic.mat"
    savemat(path, {"data": scene.cube, "map": scene.mask.astype(np.uint8)})
    assert main(["detect", str(path), "--method", method, "--epochs", "2", "--device", "cpu",
                 "--out", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / f"synthetic_{method}_metrics.json").read_text())
    assert metrics["method"] == method and metrics["shape"] == [32, 32, 10]
    assert 0.5 < metrics["roc_auc"] <= 1.0
    assert ("phase_agreement" in metrics) == (method == "learned-background")


def _two_cube_mat(path, scene):
    from scipy.io import savemat

    savemat(path, {"radiance": scene.cube, "reflectance": scene.cube * 0.5,
                   "gt_map": scene.mask.astype(np.uint8)})


def test_a_mat_file_with_two_cubes_needs_and_takes_cube_key(tmp_path, capsys):
    from skhsi.datasets import make_synthetic_scene

    scene = make_synthetic_scene((24, 24, 8), random_state=0)
    _two_cube_mat(tmp_path / "two.mat", scene)
    assert main(["detect", str(tmp_path / "two.mat"), "--method", "rx"]) == 2
    assert "ambiguous cube" in capsys.readouterr().err
    assert main(["detect", str(tmp_path / "two.mat"), "--method", "rx", "--cube-key",
                 "reflectance", "--mask-key", "gt_map", "--out", str(tmp_path / "o")]) == 0
    metrics = json.loads((tmp_path / "o" / "two_rx_metrics.json").read_text())
    assert metrics["anomalous_pixels"] == int(scene.mask.sum()) and metrics["roc_auc"] > 0.9


def test_info_lists_the_variables_of_a_mat_file(tmp_path, capsys):
    from skhsi.datasets import make_synthetic_scene

    _two_cube_mat(tmp_path / "two.mat", make_synthetic_scene((24, 24, 8), random_state=0))
    assert main(["info", str(tmp_path / "two.mat"), "--cube-key", "radiance",
                 "--mask-key", "gt_map"]) == 0
    out = capsys.readouterr().out
    assert "radiance             24 x 24 x 8  (cube)" in out
    assert "reflectance          24 x 24 x 8\n" in out
    assert "gt_map               24 x 24  (mask)" in out


def test_an_envi_scene_takes_a_mask_file(tmp_path, capsys):
    from skhsi.datasets import make_synthetic_scene
    from skhsi.io import write_envi

    scene = make_synthetic_scene((24, 24, 8), random_state=0)
    write_envi(tmp_path / "s.hdr", scene.cube, scene.wavelengths)
    np.save(tmp_path / "gt.npy", scene.mask)
    assert main(["detect", str(tmp_path / "s.hdr"), "--method", "rx", "--mask",
                 str(tmp_path / "gt.npy"), "--out", str(tmp_path / "o")]) == 0
    assert "ROC AUC" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "o" / "s_rx_metrics.json").read_text())
    assert metrics["anomalous_pixels"] == int(scene.mask.sum())


def test_a_label_map_as_mask_is_an_error_naming_file_and_variable(tmp_path, capsys):
    from scipy.io import savemat

    from skhsi.datasets import make_synthetic_scene

    scene = make_synthetic_scene((24, 24, 8), random_state=0)
    savemat(tmp_path / "s.mat", {"data": scene.cube, "map": 3 * scene.mask.astype(np.uint8)})
    assert main(["detect", str(tmp_path / "s.mat"), "--method", "rx"]) == 2
    err = capsys.readouterr().err
    assert "s.mat, variable 'map'" in err and "got the values [0, 3]" in err
    np.save(tmp_path / "labels.npy", 3 * scene.mask.astype(np.uint8))
    savemat(tmp_path / "cube.mat", {"data": scene.cube})
    assert main(["detect", str(tmp_path / "cube.mat"), "--method", "rx",
                 "--mask", str(tmp_path / "labels.npy")]) == 2
    assert "labels.npy: a mask must be boolean" in capsys.readouterr().err


def test_reader_options_on_a_file_that_is_not_mat(tmp_path, capsys):
    assert main(["info", "indian_pines", "--cube-key", "x"]) == 2
    assert "choose variables of a .mat file" in capsys.readouterr().err


def test_output_files_follow_the_umask(tmp_path, capsys):
    import os

    from skhsi.datasets import make_synthetic_scene

    scene = make_synthetic_scene((24, 24, 8), random_state=0)
    np.save(tmp_path / "gt.npy", scene.mask)
    from scipy.io import savemat

    savemat(tmp_path / "s.mat", {"data": scene.cube})
    old = os.umask(0o022)
    try:
        assert main(["detect", str(tmp_path / "s.mat"), "--method", "rx",
                     "--out", str(tmp_path / "o")]) == 0
    finally:
        os.umask(old)
    files = list((tmp_path / "o").iterdir())
    assert len(files) == 4
    assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o644"}


@pytest.mark.parametrize("rule, check", [
    ("quantile:0.99", lambda scores, flagged, t: flagged == int((scores >= t).sum()) >= 41),
    ("score:5.0", lambda scores, flagged, t: t == 5.0 and flagged == int((scores >= 5).sum())),
    ("contamination", lambda scores, flagged, t: flagged == int((scores > t).sum())),
])
def test_threshold_rules_are_applied_and_stated(tmp_path, capsys, rule, check):
    from scipy.io import savemat

    from skhsi.datasets import make_synthetic_scene

    scene = make_synthetic_scene(random_state=0)
    savemat(tmp_path / "s.mat", {"data": scene.cube})
    assert main(["detect", str(tmp_path / "s.mat"), "--method", "rx", "--threshold", rule,
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "s_rx_metrics.json").read_text())
    threshold = metrics["threshold"]
    assert threshold["rule"] == rule.partition(":")[0]
    assert f"({threshold['text']})" in out
    scores = np.load(tmp_path / "s_rx_scores.npy")
    assert check(scores, metrics["flagged_pixels"], threshold["score"])


@pytest.mark.parametrize("rule", ["quantile:2", "score:abc", "median", "score:nan"])
def test_bad_threshold_rules_are_clear_errors(tmp_path, capsys, rule):
    assert main(["detect", "--method", "rx", "--threshold", rule, "--out", str(tmp_path)]) == 2
    assert "--threshold must be false-alarm:R with R in (0, 1), contamination, quantile:Q" \
        in capsys.readouterr().err


def test_progress_lines_go_to_a_terminal_only(tmp_path, capsys, monkeypatch):
    import sys

    from scipy.io import savemat

    from skhsi.datasets import make_synthetic_scene

    scene = make_synthetic_scene((24, 24, 8), random_state=0)
    savemat(tmp_path / "s.mat", {"data": scene.cube})
    argv = ["detect", str(tmp_path / "s.mat"), "--method", "rx", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert "skhsi: fitting" not in capsys.readouterr().err  # stderr is not a terminal here
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "skhsi: fitting rx on 24 x 24 x 8 and scoring it ..." in err
    assert main(argv + ["--quiet"]) == 0
    assert "skhsi:" not in capsys.readouterr().err


@pytest.mark.parametrize("method", ["attribute", "rx"])
def test_the_files_wavelengths_reach_the_bandpass(tmp_path, capsys, method):
    from skhsi.datasets import make_synthetic_scene
    from skhsi.io import write_envi

    scene = make_synthetic_scene((24, 24, 30), random_state=0)
    write_envi(tmp_path / "s.hdr", scene.cube, scene.wavelengths)
    keep = (scene.wavelengths >= 500) & (scene.wavelengths <= 900)
    assert main(["detect", str(tmp_path / "s.hdr"), "--method", method, "--min-nm", "500",
                 "--max-nm", "900", "--out", str(tmp_path)]) == 0
    assert f"bands      {keep.sum()} of 30 used" in capsys.readouterr().out
    metrics = json.loads((tmp_path / f"s_{method}_metrics.json").read_text())
    assert metrics["bands_used"] == keep.sum() < 30


def test_wavelength_limits_without_wavelengths_are_an_error(tmp_path, capsys):
    from scipy.io import savemat

    savemat(tmp_path / "s.mat", {"data": np.random.default_rng(0).random((8, 8, 5))})
    assert main(["detect", str(tmp_path / "s.mat"), "--min-nm", "500"]) == 2
    assert "--min-nm and --max-nm need the band wavelengths" in capsys.readouterr().err


def _georeferenced_scene(tmp_path, name="s", shape=(40, 30, 12), seed=0):
    from skhsi.datasets import make_synthetic_scene
    from skhsi.io import write_envi

    scene = make_synthetic_scene(shape, random_state=seed)
    write_envi(tmp_path / f"{name}.hdr", scene.cube.astype(np.float32), scene.wavelengths,
               metadata={"map info": ["UTM", 1, 1, 500000.0, 4000000.0, 30, 30, 33, "North",
                                      "WGS-84"]})
    return scene, tmp_path / f"{name}.hdr"


def test_fit_then_score_equals_the_in_memory_detector(tmp_path, capsys):
    from skhsi.anomaly import RXDetector
    from skhsi.io import read_envi

    scene, path = _georeferenced_scene(tmp_path)
    model = tmp_path / "rx.pt"
    assert main(["fit", str(path), "--method", "rx", "--out", str(model)]) == 0
    assert "fitted     rx on 1200 pixels of 1 scene(s), 12 bands" in capsys.readouterr().out
    assert main(["score", str(model), str(path), "--out", str(tmp_path / "o"),
                 "--tile-rows", "7", "--threshold", "contamination"]) == 0
    out = capsys.readouterr().out
    assert "in blocks of 7 rows, halo 0: exact" in out
    cube = scene.cube.astype(np.float32)
    rx = RXDetector().fit(cube)
    scores = read_envi(tmp_path / "o" / "s_scores.hdr", mmap=False)
    assert np.array_equal(scores.cube[..., 0], rx.anomaly_score(cube).astype(np.float32))
    assert scores.metadata["header"]["map info"][0] == "UTM"
    summary = json.loads((tmp_path / "o" / "s_summary.json").read_text())
    mask = read_envi(tmp_path / "o" / "s_mask.hdr", mmap=False).cube[..., 0]
    assert summary["flagged_pixels"] == int(mask.sum()) == int(
        (scores.cube[..., 0] > -rx.offset_).sum())
    assert f"flagged    {summary['flagged_pixels']} pixels (scores > " in out
    assert not list((tmp_path / "o").glob(".*"))


def test_score_loads_only_the_pinned_model(tmp_path, capsys):
    import hashlib

    _, path = _georeferenced_scene(tmp_path)
    model = tmp_path / "rx.skhsi"
    assert main(["fit", str(path), "--method", "rx", "--out", str(model)]) == 0
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert f"sha256     {digest}" in capsys.readouterr().out
    assert main(["score", str(model), str(path), "--out", str(tmp_path / "o"),
                 "--model-sha256", digest]) == 0
    capsys.readouterr()
    assert main(["score", str(model), str(path), "--out", str(tmp_path / "p"),
                 "--model-sha256", "0" * 64]) == 2
    err = capsys.readouterr().err
    assert f"rx.skhsi: its SHA-256 is {digest}, not the expected {'0' * 64}" in err
    assert not (tmp_path / "p").exists()


def test_fit_on_several_scenes(tmp_path, capsys):
    _, first = _georeferenced_scene(tmp_path, "a", (40, 30, 12), 0)
    _, second = _georeferenced_scene(tmp_path, "b", (30, 50, 12), 1)
    assert main(["fit", str(first), str(second), "--method", "rx", "--max-pixels", "1000",
                 "--out", str(tmp_path / "rx.pt")]) == 0
    assert "rx on 1000 pixels of 2 scene(s)" in capsys.readouterr().out
    assert main(["fit", str(first), str(second), "--method", "local-rx",
                 "--out", str(tmp_path / "lrx.pt")]) == 0
    assert "local-rx on 2 window(s) of 30 x 30 pixels of 2 scene(s)" in capsys.readouterr().out
    assert main(["score", str(tmp_path / "lrx.pt"), str(first), "--out", str(tmp_path)]) == 0
    assert "halo 10: exact" in capsys.readouterr().out
    _, third = _georeferenced_scene(tmp_path, "c", (20, 20, 9), 2)
    assert main(["fit", str(first), str(third), "--out", str(tmp_path / "x.pt")]) == 2
    assert "same number of bands; got " in capsys.readouterr().err


def test_score_deep_svdd_model_on_a_npy_file(tmp_path, capsys):
    from skhsi.datasets import make_synthetic_scene

    cube = make_synthetic_scene((40, 30, 12), random_state=0).cube.astype(np.float32)
    np.save(tmp_path / "scene.npy", cube)
    assert main(["fit", str(tmp_path / "scene.npy"), "--method", "deep-svdd", "--epochs", "2",
                 "--device", "cpu", "--out", str(tmp_path / "m.pt")]) == 0
    assert main(["score", str(tmp_path / "m.pt"), str(tmp_path / "scene.npy"),
                 "--threshold", "quantile:0.99", "--out", str(tmp_path / "o")]) == 0
    summary = json.loads((tmp_path / "o" / "scene_summary.json").read_text())
    assert summary["threshold"]["rule"] == "quantile" and summary["tiling"]["exact"]
    assert summary["flagged_pixels"] == 12


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "Model file .*missing.pt not found"),
    (lambda p: np.save(p / "foreign.pt", np.zeros(3)), "not a readable weights file"),
])
def test_score_refuses_missing_and_foreign_model_files(tmp_path, capsys, make, message):
    import re

    _, path = _georeferenced_scene(tmp_path)
    make(tmp_path)
    name = "missing.pt" if "missing" in message else "foreign.pt"
    if name == "foreign.pt":
        (tmp_path / "foreign.pt").write_bytes((tmp_path / "foreign.pt.npy").read_bytes())
    assert main(["score", str(tmp_path / name), str(path), "--out", str(tmp_path)]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_score_errors_name_the_band_counts_and_the_output_dir(tmp_path, capsys):
    _, path = _georeferenced_scene(tmp_path)
    _, other = _georeferenced_scene(tmp_path, "o", (20, 20, 9), 1)
    assert main(["fit", str(other), "--method", "rx", "--out", str(tmp_path / "m.pt")]) == 0
    assert main(["score", str(tmp_path / "m.pt"), str(path), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'm.pt'}: the model expects 9 bands; {path} has 12 bands" in err
    (tmp_path / "file").write_text("")
    assert main(["score", str(tmp_path / "m.pt"), str(other), "--out",
                 str(tmp_path / "file" / "sub")]) == 2
    assert f"sub: cannot be created, {tmp_path / 'file'} is not a directory" \
        in capsys.readouterr().err
    assert main(["fit", str(other), "--out", str(tmp_path / "no" / "m.pt")]) == 2
    assert "directory" in capsys.readouterr().err and not (tmp_path / "no").exists()
    assert main(["score", str(tmp_path / "m.pt"), str(other), "--out", str(tmp_path),
                 "--tile-rows", "0"]) == 2
    assert "--tile-rows must be a positive integer; got 0" in capsys.readouterr().err


def test_score_interrupted_leaves_nothing(tmp_path, capsys, monkeypatch):
    import skhsi.anomaly

    _, path = _georeferenced_scene(tmp_path)
    assert main(["fit", str(path), "--method", "rx", "--out", str(tmp_path / "m.pt")]) == 0

    original = skhsi.anomaly.RXDetector.anomaly_score

    def interrupt(self, X):
        if np.shape(X)[0] > 4:  # the model file's check scores 4 x 4 pixels first
            raise KeyboardInterrupt
        return original(self, X)

    monkeypatch.setattr(skhsi.anomaly.RXDetector, "anomaly_score", interrupt)
    assert main(["score", str(tmp_path / "m.pt"), str(path), "--out", str(tmp_path / "o")]) \
        == 130
    assert "skhsi: interrupted" in capsys.readouterr().err
    assert list((tmp_path / "o").iterdir()) == []


def test_score_progress_bar_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    import sys

    _, path = _georeferenced_scene(tmp_path)
    assert main(["fit", str(path), "--method", "rx", "--out", str(tmp_path / "m.pt")]) == 0
    argv = ["score", str(tmp_path / "m.pt"), str(path), "--out", str(tmp_path), "--tile-rows",
            "10"]
    capsys.readouterr()
    assert main(argv) == 0
    assert "scoring s.hdr" not in capsys.readouterr().err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(argv) == 0
    assert "scoring s.hdr" in capsys.readouterr().err
    assert main(argv + ["--quiet"]) == 0
    assert "scoring" not in capsys.readouterr().err


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("out", ["s.hdr", "s.bsq", "./sub/../s.hdr", "link.hdr", "s.mat"])
def test_fit_never_writes_over_an_input(tmp_path, capsys, out):
    from scipy.io import savemat

    _, path = _georeferenced_scene(tmp_path)
    savemat(tmp_path / "s.mat", {"data": np.random.default_rng(0).random((8, 8, 12))})
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.hdr").hardlink_to(path)
    before = _snapshot(tmp_path)
    scenes = [str(path), str(tmp_path / "s.mat")] if out == "s.mat" else [str(path)]
    assert main(["fit", *scenes, "--method", "rx", "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skhsi: error: the output ") and "is the input" in err
    assert "no input file is ever written over" in err
    assert _snapshot(tmp_path) == before


def test_score_never_writes_over_an_input(tmp_path, capsys):
    _, first = _georeferenced_scene(tmp_path, "s")
    _, second = _georeferenced_scene(tmp_path, "s_scores", seed=1)
    assert main(["fit", str(first), "--method", "rx", "--out", str(tmp_path / "m.pt")]) == 0
    capsys.readouterr()
    before = _snapshot(tmp_path)
    # The outputs for s (s_scores.hdr, s_scores.img) are the second input's files.
    assert main(["score", str(tmp_path / "m.pt"), str(first), str(second),
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"the output {tmp_path / 's_scores.hdr'} is the input {second}" in err
    assert _snapshot(tmp_path) == before
    # The model is an input too.
    (tmp_path / "s_summary.json").write_bytes((tmp_path / "m.pt").read_bytes())
    assert main(["score", str(tmp_path / "s_summary.json"), str(first),
                 "--out", str(tmp_path)]) == 2
    assert "is the input" in capsys.readouterr().err
    # Two inputs with one stem would write the same outputs.
    np.save(tmp_path / "s.npy", np.zeros((40, 30, 12), np.float32))
    assert main(["score", str(tmp_path / "m.pt"), str(first), str(tmp_path / "s.npy"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "two outputs of one run are the same file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_detect_never_writes_over_its_mask(tmp_path, capsys):
    scene, path = _georeferenced_scene(tmp_path)
    np.save(tmp_path / "s_rx_scores.npy", scene.mask)
    before = _snapshot(tmp_path)
    assert main(["detect", str(path), "--method", "rx", "--mask",
                 str(tmp_path / "s_rx_scores.npy"), "--out", str(tmp_path)]) == 2
    assert "is the input" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before


def test_score_file_refuses_to_write_over_its_source(tmp_path):
    from skhsi.anomaly import RXDetector
    from skhsi.serving import score_file

    scene, _ = _georeferenced_scene(tmp_path, "a")
    _, path = _georeferenced_scene(tmp_path, "a_scores")
    rx = RXDetector().fit(scene.cube)
    before = _snapshot(tmp_path)
    with pytest.raises(ValueError, match="a_scores.hdr is the input"):
        score_file(rx, path, tmp_path, stem="a")
    assert _snapshot(tmp_path) == before


def _bad_inputs(tmp):
    """Files a user may give by mistake, by name."""
    np.save(tmp / "cube.npy", np.random.default_rng(0).random((12, 10, 4)).astype("f4"))
    (tmp / "empty.mat").write_bytes(b"")
    (tmp / "garbage.mat").write_bytes(b"\x00garbage" * 100)
    (tmp / "text.npy").write_text("hello")
    np.save(tmp / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp / "complex.npy", np.zeros((3, 3, 3), complex))
    (tmp / "x.hdr").mkdir()
    (tmp / "afile").write_text("x")


@pytest.mark.parametrize("argv, message", [
    (["detect", "empty.mat"], "empty.mat: not a readable .mat file (Mat file appears to be "
                              "truncated)"),
    (["detect", "garbage.mat"], "garbage.mat: not a readable .mat file"),
    (["fit", "garbage.mat", "--out", "m.skhsi"], "garbage.mat: not a readable .mat file"),
    (["detect", "text.npy"], "text.npy: not an .npy file"),
    (["detect", "objects.npy"], "objects.npy: not a numeric .npy array"),
    (["detect", "complex.npy"], "complex.npy: holds complex128 values"),
    (["detect", "x.hdr"], "x.hdr: is a directory, not an ENVI header or data file"),
    (["info", "x.hdr"], "x.hdr: is a directory, not an ENVI header or data file"),
    (["detect", "cube.npy", "--out", "afile"], "afile: exists and is not a directory"),
    (["detect", "cube.npy", "--out", "afile/sub"], "afile/sub: cannot be created, afile is "
                                                   "not a directory"),
    (["fit", "cube.npy", "--out", "."], ".: is a directory; --out names the model file"),
    (["score", "model.skhsi", "cube.npy", "--out", "afile"],
     "afile: exists and is not a directory"),
    (["score", "model.skhsi", "text.npy", "--out", "o"], "text.npy: not an .npy file"),
])
def test_user_errors_exit_2_naming_the_file(tmp_path, capsys, monkeypatch, argv, message):
    from skhsi.anomaly import RXDetector
    from skhsi.persistence import save_weights

    monkeypatch.chdir(tmp_path)
    _bad_inputs(tmp_path)
    save_weights(RXDetector().fit(np.load("cube.npy")), "model.skhsi")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(argv + ["--quiet"] * (argv[0] != "info")) == 2
    err = capsys.readouterr().err
    assert err.startswith("skhsi: error: ") and message in err and "Traceback" not in err
    assert "allow_pickle" not in err  # an unsafe load is never suggested
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_an_unwritable_output_folder_is_refused_before_any_work(tmp_path, capsys,
                                                                monkeypatch):
    import os

    _bad_inputs(tmp_path)
    (tmp_path / "ro").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).endswith("ro")
                        else real_access(p, mode))
    monkeypatch.chdir(tmp_path)
    assert main(["detect", "cube.npy", "--out", "ro", "--quiet"]) == 2
    assert "skhsi: error: ro: cannot be written, ro is not writable" in capsys.readouterr().err
    assert main(["detect", "cube.npy", "--out", "ro/sub", "--quiet"]) == 2
    assert "ro/sub: cannot be written, ro is not writable" in capsys.readouterr().err
    assert not list((tmp_path / "ro").iterdir())


def test_system_errors_name_the_file(tmp_path, capsys, monkeypatch):
    from skhsi import cli

    def refuse(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "scene.hdr"))

    monkeypatch.setitem(cli._COMMANDS, "info", refuse)
    assert main(["info", "x"]) == 2
    assert capsys.readouterr().err == f"skhsi: error: {tmp_path / 'scene.hdr'}: " \
                                      "Permission denied\n"


def _mat_without_wavelengths(path, n_bands=8):
    from scipy.io import savemat

    savemat(path, {"data": np.random.default_rng(0).random((6, 5, n_bands))})
    return str(path)


def test_bands_takes_the_wavelengths_from_a_text_file(tmp_path, capsys):
    mat = _mat_without_wavelengths(tmp_path / "s.mat")
    (tmp_path / "wl.txt").write_text("400, 450 500\n550\n600,650  # nm\n700 750\n")
    assert main(["bands", mat, "-k", "3", "--wavelengths", str(tmp_path / "wl.txt")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2:] == ["   1  450", "   4  600", "   6  700"]
    assert main(["bands", mat, "--strategy", "rgb", "--wavelengths",
                 str(tmp_path / "wl.txt")]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()[2:]] == \
        ["650", "550", "450"]


@pytest.mark.parametrize("text, message", [
    ("400 450 500 550 600 650 700", "expected 8 values (cube has 8 bands), got 7"),
    ("400 450 500 550 600 650 700 750 800", "expected 8 values (cube has 8 bands), got 9"),
    ("400 450 500 550 600 650 640 750", "must be strictly increasing"),
    ("400 450 nm 550 600 650 700 750", "must be numbers in nm"),
])
def test_wrong_wavelengths_files_exit_2_naming_the_file(tmp_path, capsys, text, message):
    mat = _mat_without_wavelengths(tmp_path / "s.mat")
    (tmp_path / "wl.txt").write_text(text)
    assert main(["bands", mat, "--wavelengths", str(tmp_path / "wl.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"skhsi: error: {tmp_path / 'wl.txt'}: ") and message in err


def test_unknown_wavelengths_come_with_a_hint(tmp_path, capsys):
    mat = _mat_without_wavelengths(tmp_path / "s.mat")
    hint = "give them with --wavelengths FILE (one centre in nm per band)"
    assert main(["bands", mat, "-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:4] == ["   2  unknown", "   6  unknown"]
    assert lines[4:] == [f"wavelengths unknown: {hint}"]
    assert main(["bands", mat, "--strategy", "rgb"]) == 2
    assert hint in capsys.readouterr().err
    assert main(["info", mat]) == 0
    assert "wavelengths  unknown (skhsi bands takes them with --wavelengths FILE" in \
        capsys.readouterr().out
    assert main(["bands", "indian_pines", "-k", "2"]) == 0  # wavelengths known: no hint
    assert "--wavelengths" not in capsys.readouterr().out


# -- thresholds that say what they mean; figures for papers ---------------------------
def test_detect_hints_when_the_mask_has_more_anomalies_than_the_rate_flags(tmp_path, capsys):
    path = shared_file("had/abu-beach-2.mat")  # 202 anomalous pixels of 10,000
    assert main(["detect", str(path), "--method", "rx", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "flagged    100 pixels (false-alarm rate 0.01" in out
    assert ("hint       the mask has 202 anomalous pixels (2.02%), more than the 100 flagged, "
            "so recall is at most 0.50 whatever the detector; --threshold false-alarm:0.03 "
            "flags more") in out
    assert main(["detect", str(path), "--method", "rx", "--out", str(tmp_path),
                 "--threshold", "false-alarm:0.03"]) == 0
    out = capsys.readouterr().out
    assert "flagged    300 pixels" in out and "hint       the mask" not in out


def test_detect_hints_when_a_fixed_score_flags_an_extreme_share(tmp_path, capsys, hydice):
    np.save(tmp_path / "s.npy", hydice.cube)
    assert main(["detect", str(tmp_path / "s.npy"), "--method", "rx", "--out",
                 str(tmp_path / "o"), "--threshold", "score:0"]) == 0
    out = capsys.readouterr().out
    assert ("hint       100.00% of the pixels are flagged; --threshold false-alarm:0.01 "
            "flags at most 1% of them") in out


def test_score_on_another_scene_keeps_the_rate_and_reports_the_models_own_threshold(
        tmp_path, capsys, hydice):
    from skhsi.io import write_envi

    write_envi(tmp_path / "a.hdr", hydice.cube)
    write_envi(tmp_path / "b.hdr", (hydice.cube * 1.6 + 300).astype(np.float32))  # brighter
    np.save(tmp_path / "b_mask.npy", hydice.mask)
    assert main(["fit", str(tmp_path / "a.hdr"), "--method", "rx", "--out",
                 str(tmp_path / "m.pt")]) == 0
    capsys.readouterr()
    assert main(["score", str(tmp_path / "m.pt"), str(tmp_path / "b.hdr"), "--out",
                 str(tmp_path / "o"), "--mask", str(tmp_path / "b_mask.npy")]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "o" / "b_summary.json").read_text())
    assert summary["flagged_pixels"] == 80  # 1 % of 8000, whatever the scene
    assert summary["model_threshold"]["flagged_share"] > 0.5
    assert "flagged    80 pixels (scores >= " in out
    assert "false-alarm rate 0.01, at most 1.00% of the file's pixels" in out
    assert "hint       the model's own threshold, from the scene it was fitted on, would " \
           "flag" in out
    # the same metrics as detect, from the mask given on the command line
    for line in ("ROC AUC    0.9", "AP         ", "IoU        ", "precision  ", "recall     "):
        assert line in out
    assert set(summary) >= {"roc_auc", "average_precision", "iou", "precision", "recall",
                            "anomalous_pixels"}
    assert summary["anomalous_pixels"] == 19


def test_score_mask_options_are_checked(tmp_path, capsys, hydice):
    np.save(tmp_path / "s.npy", hydice.cube)
    assert main(["fit", str(tmp_path / "s.npy"), "--method", "rx", "--out",
                 str(tmp_path / "m.pt")]) == 0
    capsys.readouterr()
    assert main(["score", str(tmp_path / "m.pt"), str(tmp_path / "s.npy"), "--out",
                 str(tmp_path / "o"), "--mask-key", "gt"]) == 2
    assert "--mask-key names a variable of the --mask file" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "m.pt"), str(tmp_path / "s.npy"),
                 str(tmp_path / "s.npy"), "--out", str(tmp_path / "o"), "--mask",
                 str(tmp_path / "s.npy")]) == 2
    assert "--mask is the ground truth of one file; 2 files" in capsys.readouterr().err


@pytest.mark.parametrize("fmt, magic", [("pdf", b"%PDF"), ("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_detect_writes_the_pictures_in_the_format_asked(tmp_path, capsys, hydice, fmt, magic):
    np.save(tmp_path / "s.npy", hydice.cube[:40, :50])
    assert main(["detect", str(tmp_path / "s.npy"), "--method", "rx", "--out",
                 str(tmp_path / "o"), "--format", fmt, "--dpi", "72",
                 "--pixel-size", "1.5"]) == 0
    for kind in ("heatmap", "overlay"):
        assert (tmp_path / "o" / f"s_rx_{kind}.{fmt}").read_bytes().startswith(magic)
    if fmt == "svg":  # vector: plain titles, a caption, axes in metres, the scale bar
        text = (tmp_path / "o" / "s_rx_overlay.svg").read_text()
        assert "Detected anomalies: s.npy" in text and "global RX detector" in text
        assert "flagged: false-alarm rate" in text and "1.5 m pixels" in text
        assert "x (m)" in text and "10 m" in text
        text = (tmp_path / "o" / "s_rx_heatmap.svg").read_text()
        assert "Anomaly scores: s.npy" in text and "anomaly score" in text


def test_detect_refuses_a_silly_dpi(tmp_path, capsys):
    assert main(["detect", "--dpi", "5", "--out", str(tmp_path)]) == 2
    assert "--dpi must lie in [10, 2400]; got 5" in capsys.readouterr().err


def test_the_console_script_exits_with_main_s_status(tmp_path):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "skhsi.cli", "detect", "nowhere.hdr", "--out",
                          str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2 and "skhsi: error:" in run.stderr
    code = ("import gc, sys\nfrom skhsi.cli import console_main\n"
            "try:\n    console_main(['info', 'indian_pines'])\nexcept SystemExit as e:\n"
            "    print(e.code, gc.get_threshold())")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip().splitlines()[-1] == "0 (20000, 20, 20)"
