import json

import numpy as np
import pytest

from skhsi.anomaly import LocalRXDetector, RXDetector
from skhsi.datasets import make_synthetic_scene
from skhsi.io import read_envi, write_envi
from skhsi.serving import open_cube, pixelwise, score_file, tiling

MAP_INFO = ["UTM", 1, 1, 500000.0, 4000000.0, 30, 30, 33, "North", "WGS-84"]
WKT = 'PROJCS["WGS_1984_UTM_Zone_33N",GEOGCS["GCS_WGS_1984"]]'


@pytest.fixture
def scene():
    return make_synthetic_scene((61, 37, 12), random_state=0)


def _envi(tmp_path, cube, interleave="bil", **extra):
    path = tmp_path / "scene.hdr"
    write_envi(path, cube.astype(np.float32), interleave=interleave,
               metadata={"map info": MAP_INFO, "coordinate system string": WKT, **extra})
    return path


def _map(path):
    return read_envi(path, mmap=False).cube[..., 0]


@pytest.mark.parametrize("interleave", ["bil", "bsq", "bip"])
def test_rx_in_blocks_equals_whole_image_scoring_and_carries_the_map_info(tmp_path, scene,
                                                                         interleave):
    path = _envi(tmp_path, scene.cube, interleave)
    cube = read_envi(path).cube
    rx = RXDetector().fit(cube)
    out = tmp_path / "out"
    out.mkdir()
    summary = score_file(rx, path, out, tile_rows=7, threshold="contamination")
    whole = rx.anomaly_score(np.asarray(cube))
    scores = _map(out / "scene_scores.hdr")
    assert scores.dtype == np.float32 and scores.shape == (61, 37)
    assert np.array_equal(scores, whole.astype(np.float32))
    threshold = -rx.offset_
    mask = read_envi(out / "scene_mask.hdr", mmap=False)
    assert mask.cube.dtype == np.uint8
    assert np.array_equal(mask.cube[..., 0], (scores > threshold).astype(np.uint8))
    assert summary["flagged_pixels"] == int((scores > threshold).sum()) > 0
    for name in ("scene_scores.hdr", "scene_mask.hdr"):
        header = read_envi(out / name).metadata["header"]
        original = read_envi(path).metadata["header"]
        assert header["map info"] == original["map info"]
        assert header["map info"][:2] == ["UTM", "1"]
        assert header["coordinate system string"] == original["coordinate system string"]
    assert summary["tiling"] == {"tile_rows": 7, "halo": 0, "exact": True, "note": ""}
    saved = json.loads((out / "scene_summary.json").read_text())
    assert saved["flagged_pixels"] == summary["flagged_pixels"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"scene_{k}" for k in ("scores.img", "scores.hdr", "mask.img", "mask.hdr",
                               "summary.json"))


def test_deep_svdd_pipeline_in_blocks_equals_whole_image_scoring(tmp_path, scene):
    from skhsi.pipeline import make_deep_svdd_pipeline

    np.save(tmp_path / "scene.npy", scene.cube.astype(np.float32))
    cube = np.load(tmp_path / "scene.npy")
    pipe = make_deep_svdd_pipeline(random_state=0, device="cpu", max_epochs=2).fit(cube)
    assert pixelwise(pipe) and tiling(pipe).exact
    score_file(pipe, tmp_path / "scene.npy", tmp_path, tile_rows=5)
    assert np.array_equal(_map(tmp_path / "scene_scores.hdr"),
                          pipe.anomaly_score(cube).astype(np.float32))
    header = read_envi(tmp_path / "scene_scores.hdr").metadata["header"]
    assert "map info" not in header  # a .npy file has no georeferencing


@pytest.mark.parametrize("blind_spot", [False, True])
def test_spatial_autoencoder_in_blocks_equals_whole_image_scoring(tmp_path, scene,
                                                                 blind_spot):
    from skhsi.anomaly import AutoencoderDetector

    cube = scene.cube.astype(np.float32)
    det = AutoencoderDetector(spatial=True, blind_spot=blind_spot, hidden=4, max_epochs=1,
                              tile_size=16, random_state=0, device="cpu").fit(cube)
    how = tiling(det)
    multiple = det.module_.size_multiple
    assert how.exact and how.multiple == multiple and not pixelwise(det)
    assert how.halo == -(-det.module_.receptive_radius // multiple) * multiple
    np.save(tmp_path / "scene.npy", cube)
    summary = score_file(det, tmp_path / "scene.npy", tmp_path, tile_rows=5)
    assert summary["tiling"]["tile_rows"] == -(-5 // multiple) * multiple  # the pooling grid
    assert np.array_equal(_map(tmp_path / "scene_scores.hdr"),
                          det.anomaly_score(cube).astype(np.float32))


def test_tiling_reads_the_declared_reach():
    from skhsi.anomaly import ConsensusDetector, LowRankSparseDetector
    from skhsi.pipeline import make_pipeline
    from skhsi.spatial import SobelEdges

    assert tiling(LocalRXDetector(outer_window=15)) == (7, 1, True, "reaches 7 pixels")
    assert tiling(make_pipeline(SobelEdges(), LocalRXDetector()))[:3] == (11, 1, True)
    assert tiling(LowRankSparseDetector(), halo=5) == (
        5, 1, False, "LowRankSparseDetector depends on the whole image")
    ensemble = ConsensusDetector([("rx", RXDetector()), ("local", LocalRXDetector())])
    assert not pixelwise(ensemble) and tiling(ensemble, halo=8)[:3] == (10, 1, True)
    with_global = ConsensusDetector([("rx", RXDetector()), ("rpca", LowRankSparseDetector())])
    assert tiling(with_global, halo=8)[:3] == (8, 1, False)
    assert pixelwise(ConsensusDetector([("rx", RXDetector())]))
    with pytest.raises(ValueError, match="halo must be >= 0 rows; got -1"):
        tiling(RXDetector(), halo=-1)


@pytest.mark.parametrize("name", ["sandiego_plane", "abu-beach-2"])
def test_the_default_in_blocks_equals_whole_image_scoring_on_a_real_scene(tmp_path, name):
    from skhsi.metrics import roc_auc
    from skhsi.pipeline import make_attribute_filter_pipeline
    from tests._data import load_had

    image = load_had(name)
    pipe = make_attribute_filter_pipeline()
    whole = pipe.fit_anomaly_score(image.cube)
    summary = score_file(pipe, image, tmp_path, tile_rows=25, stem="s")
    tiled = _map(tmp_path / "s_scores.hdr")
    assert summary["tiling"]["exact"]
    np.testing.assert_allclose(tiled, whole.astype(np.float32), rtol=1e-5, atol=1e-6)
    assert summary["roc_auc"] == pytest.approx(roc_auc(image.mask, whole), abs=1e-4)


@pytest.mark.parametrize("q", [0.0, 0.3, 0.5, 0.9, 0.995, 1.0])
def test_the_quantile_rule_is_numpys_quantile_in_bounded_memory(tmp_path, monkeypatch, q):
    import skhsi.serving as serving

    monkeypatch.setattr(serving, "_SELECTION_BUDGET", 50)  # force the histogram passes
    rng = np.random.default_rng(0)
    cube = rng.normal(size=(64, 50, 3))
    cube[:20] = 0.0  # many tied scores
    rx = RXDetector().fit(cube)
    np.save(tmp_path / "x.npy", cube)
    summary = score_file(rx, tmp_path / "x.npy", tmp_path, threshold=("quantile", q),
                         tile_rows=9)
    scores = _map(tmp_path / "x_scores.hdr")
    expected = np.quantile(scores.astype(np.float64), q)
    assert summary["threshold"]["score"] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    mask = _map(tmp_path / "x_mask.hdr")
    assert np.array_equal(mask, (scores >= summary["threshold"]["score"]).astype(np.uint8))


@pytest.mark.parametrize("rate", [0.01, 0.05, 1e-6])
def test_false_alarm_rule_flags_at_most_its_share_of_the_file(tmp_path, scene, rate):
    rx = RXDetector().fit(scene.cube)
    np.save(tmp_path / "x.npy", scene.cube)
    summary = score_file(rx, tmp_path / "x.npy", tmp_path, threshold=("false-alarm", rate),
                         tile_rows=9)
    scores = _map(tmp_path / "x_scores.hdr")
    k = max(1, int(np.floor(rate * scores.size)))
    assert summary["threshold"]["score"] == np.sort(scores.ravel())[::-1][k - 1]
    assert summary["flagged_pixels"] == k == int(_map(tmp_path / "x_mask.hdr").sum())
    assert summary["threshold"]["false_alarm_rate"] == rate
    # the model's own threshold (contamination 0.01 of the fitting scene), counted beside
    model = summary["model_threshold"]
    assert model["score"] == -rx.offset_ and model["contamination"] == 0.01
    assert model["flagged_share"] == round(float((scores > -rx.offset_).mean()), 6)


def test_the_default_rule_keeps_its_share_on_a_scene_unlike_the_fitting_one(tmp_path, scene):
    rx = RXDetector().fit(scene.cube)
    np.save(tmp_path / "x.npy", 3.0 * scene.cube + 1.0)  # another gain and offset
    summary = score_file(rx, tmp_path / "x.npy", tmp_path)
    n = scene.cube.shape[0] * scene.cube.shape[1]
    assert summary["threshold"]["rule"] == "false-alarm"
    assert summary["flagged_pixels"] == max(1, int(0.01 * n))
    assert summary["model_threshold"]["flagged_share"] > 0.5  # the fitting scene's threshold


def test_a_ground_truth_without_anomalies_gives_the_false_alarm_rate(tmp_path, scene):
    from skhsi.io import SpectralImage

    rx = RXDetector().fit(scene.cube)
    image = SpectralImage(cube=scene.cube, mask=np.zeros(scene.cube.shape[:2], dtype=bool))
    summary = score_file(rx, image, tmp_path, name="clean")
    assert summary["anomalous_pixels"] == 0 and "roc_auc" not in summary
    assert summary["false_alarm_rate"] == pytest.approx(summary["flagged_share"], abs=1e-6)
    assert summary["flagged_share"] > 0


def test_score_threshold_and_bad_threshold(tmp_path, scene):
    rx = RXDetector().fit(scene.cube)
    np.save(tmp_path / "x.npy", scene.cube)
    summary = score_file(rx, tmp_path / "x.npy", tmp_path, threshold=("score", 30.0))
    scores = _map(tmp_path / "x_scores.hdr")
    assert summary["flagged_pixels"] == int((scores >= 30.0).sum())
    with pytest.raises(ValueError, match=r"threshold must be \('false-alarm', r\).*got \('q', 1\)"):
        score_file(rx, tmp_path / "x.npy", tmp_path, threshold=("q", 1))


def test_bad_bands_the_model_was_fitted_without_are_dropped(tmp_path, scene):
    bad = np.zeros(12, dtype=bool)
    bad[[0, 5]] = True
    write_envi(tmp_path / "s.hdr", scene.cube, bad_bands=bad)
    rx = RXDetector().fit(scene.cube[..., ~bad])
    summary = score_file(rx, tmp_path / "s.hdr", tmp_path, tile_rows=10)
    assert summary["bands_used"] == 10
    assert np.array_equal(_map(tmp_path / "s_scores.hdr"),
                          rx.anomaly_score(scene.cube[..., ~bad]).astype(np.float32))
    other = RXDetector().fit(scene.cube[..., :7])
    with pytest.raises(ValueError, match=r"the model expects 7 bands; .*s.hdr has 12 bands "
                                         r"\(10 without the header's bad bands\)"):
        score_file(other, tmp_path / "s.hdr", tmp_path)


class _FailingRX(RXDetector):
    calls = 0

    def anomaly_score(self, X):
        type(self).calls += 1
        if type(self).calls == 3:
            raise self.error
        return super().anomaly_score(X)


@pytest.mark.parametrize("error", [ValueError("broken"), KeyboardInterrupt()])
def test_nothing_is_left_half_written(tmp_path, scene, error):
    np.save(tmp_path / "x.npy", scene.cube)
    out = tmp_path / "out"
    out.mkdir()
    det = _FailingRX().fit(scene.cube)
    _FailingRX.calls, _FailingRX.error = 0, error
    with pytest.raises(type(error)):
        score_file(det, tmp_path / "x.npy", out, tile_rows=10)
    assert list(out.iterdir()) == []


def test_input_errors(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"flat.npy: expected an array of shape \(H, W, C\); "
                                         r"got shape \(10, 3\)"):
        open_cube(tmp_path / "flat.npy")
    with pytest.raises(ValueError, match="cube_key chooses a variable of a .mat file"):
        open_cube(tmp_path / "flat.npy", cube_key="data")
    with pytest.raises(FileNotFoundError, match="No such file"):
        open_cube(tmp_path / "none.hdr")
    rx = RXDetector().fit(np.random.default_rng(0).normal(size=(50, 3)))
    np.save(tmp_path / "x.npy", np.zeros((4, 4, 3)))
    with pytest.raises(FileNotFoundError, match="Output directory .*missing does not exist"):
        score_file(rx, tmp_path / "x.npy", tmp_path / "missing")
    with pytest.raises(TypeError, match="needs a fitted detector with anomaly_score; got "
                                        "ZScoreNormalizerGlobal"):
        from skhsi.preprocessing import ZScoreNormalizerGlobal

        score_file(ZScoreNormalizerGlobal(), tmp_path / "x.npy", tmp_path)


def test_peak_memory_stays_at_one_block(tmp_path):
    """A file 40 times the block: traced allocations stay near one block's, and the
    file's pages do not stay resident."""
    import tracemalloc

    rows, width, bands = 1200, 200, 40  # 38 MB of float32
    data = np.memmap(tmp_path / "big.bip", dtype="<f4", mode="w+", shape=(rows, width, bands))
    rng = np.random.default_rng(0)
    for r in range(0, rows, 200):
        data[r:r + 200] = rng.standard_normal((200, width, bands), dtype=np.float32)
    data.flush()
    del data
    (tmp_path / "big.hdr").write_text(
        f"ENVI\nsamples = {width}\nlines = {rows}\nbands = {bands}\ndata type = 4\n"
        "interleave = bip\nbyte order = 0\n")
    rx = RXDetector().fit(rng.standard_normal((2000, bands)))
    file_bytes = rows * width * bands * 4
    tracemalloc.start()
    score_file(rx, tmp_path / "big.hdr", tmp_path, tile_rows=30)  # blocks of 0.96 MB
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The block read, RX's float64 copy and centred pixels: about 7 blocks' bytes.
    block_bytes = 30 * width * bands * 4
    assert peak < 10 * block_bytes < file_bytes / 3, peak
    image = read_envi(tmp_path / "big.hdr")
    whole = rx.anomaly_score(np.asarray(image.cube))
    assert np.array_equal(_map(tmp_path / "big_scores.hdr"), whole.astype(np.float32))


@pytest.mark.slow
def test_peak_rss_does_not_grow_with_the_file(tmp_path):
    """Scoring a file 4 times larger in a fresh process raises its peak RSS by far less
    than the file grew."""
    import subprocess
    import sys

    import joblib

    bands, width = 50, 500
    rng = np.random.default_rng(0)
    joblib.dump(RXDetector().fit(rng.standard_normal((2000, bands))), tmp_path / "rx.joblib")
    peaks = {}
    for rows in (400, 1600):
        path = tmp_path / f"c{rows}.bsq"
        data = np.memmap(path, dtype="<f4", mode="w+", shape=(bands, rows, width))
        for b in range(bands):
            data[b] = rng.standard_normal((rows, width), dtype=np.float32)
        data.flush()
        del data
        path.with_suffix(".hdr").write_text(
            f"ENVI\nsamples = {width}\nlines = {rows}\nbands = {bands}\ndata type = 4\n"
            "interleave = bsq\nbyte order = 0\n")
        code = (
            "import joblib, sys\nfrom skhsi.serving import score_file\n"
            f"score_file(joblib.load({str(tmp_path / 'rx.joblib')!r}), {str(path)!r}, "
            f"{str(tmp_path)!r}, tile_rows=50)\n"
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        peaks[rows] = int(out.split()[1]) / 1024
    grown_mb = (1600 - 400) * width * bands * 4 / 2**20  # 114 MB more file
    assert peaks[1600] - peaks[400] < grown_mb / 4, peaks


@pytest.mark.parametrize("interleave", ["bil", "bsq", "bip"])
def test_blocks_read_from_the_file_equal_the_mapped_rows(tmp_path, scene, interleave):
    from skhsi.serving import read_rows

    path = _envi(tmp_path, scene.cube, interleave)
    cube = read_envi(path).cube
    for start, stop in ((0, 5), (17, 61), (60, 61)):
        assert np.array_equal(read_rows(cube, start, stop), cube[start:stop])
    part = cube[10:]  # a view that does not start at the file's first line
    assert np.array_equal(read_rows(part, 3, 9), part[3:9])
