import json

import numpy as np
import pytest

from skhsi.cli import main


def test_detect_rx_writes_everything(tmp_path, capsys):
    assert main(["detect", "hydice", "--method", "rx", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ROC AUC    0.97" in out
    for name in ("heatmap.png", "overlay.png", "scores.npy", "metrics.json"):
        path = tmp_path / f"hydice_rx_{name}"
        assert path.stat().st_size > 0
    metrics = json.loads((tmp_path / "hydice_rx_metrics.json").read_text())
    assert metrics["roc_auc"] > 0.975
    assert 0 <= metrics["iou"] <= 1 and metrics["flagged_pixels"] == 40
    assert np.load(tmp_path / "hydice_rx_scores.npy").shape == (100, 80)
    assert not list(tmp_path.glob(".*"))


def test_detect_deep_svdd_on_a_mat_file(tmp_path, capsys):
    from scipy.io import savemat

    from skhsi.datasets import load_scene

    scene = load_scene("hydice")
    path = tmp_path / "scene.mat"
    savemat(path, {"data": scene.cube[:40], "map": scene.mask[:40].astype(np.uint8)})
    code = main(["detect", str(path), "--epochs", "2", "--out", str(tmp_path / "out"),
                 "--device", "cpu"])
    assert code == 0
    metrics = json.loads((tmp_path / "out" / "scene_deep-svdd_metrics.json").read_text())
    assert metrics["shape"] == [40, 80, 162]
    assert metrics["roc_auc"] > 0.9


def test_info(capsys):
    assert main(["info", "sandiego"]) == 0
    out = capsys.readouterr().out
    assert "100 x 100 x 189" in out and "134 anomalous pixels" in out


@pytest.mark.parametrize("argv, message", [
    (["detect", "no-such-scene"], "neither a bundled scene"),
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


def test_bands_uniform_on_a_bundled_scene(capsys):
    assert main(["bands", "hydice", "-k", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["20", "60", "101", "141"]


def test_bands_needing_wavelengths_is_a_clear_error(capsys):
    assert main(["bands", "hydice", "--strategy", "rgb"]) == 2
    assert "needs `wavelengths`" in capsys.readouterr().err


def test_detect_drops_the_headers_bad_bands(tmp_path, capsys):
    from skhsi.datasets import load_scene
    from skhsi.io import write_envi

    scene = load_scene("hydice")
    cube = scene.cube[:30, :30, :20]
    bad = np.zeros(20, dtype=bool)
    bad[[0, 19]] = True
    write_envi(tmp_path / "s.hdr", cube, wavelengths=np.linspace(400, 1000, 20), bad_bands=bad)
    assert main(["detect", str(tmp_path / "s.hdr"), "--method", "rx", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bad bands  2 dropped" in out and "no ground-truth mask" in out
    metrics = json.loads((tmp_path / "s_rx_metrics.json").read_text())
    assert metrics["shape"] == [30, 30, 18] and "roc_auc" not in metrics
