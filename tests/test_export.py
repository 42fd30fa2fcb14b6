"""ONNX export: onnxruntime reproduces skhsi's scores on a real scene; refusals are clear."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime", reason="the onnx extra (onnxruntime) is not "
                          "installed: pip install 'skhsi[onnx]'")
pytest.importorskip("onnxscript", reason="the onnx extra (onnxscript, which torch.onnx's "
                    "exporter needs) is not installed: pip install 'skhsi[onnx]'")

from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.pipeline import make_pipeline as sk_make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

import skhsi  # noqa: E402
import skhsi.export  # noqa: E402
from skhsi.anomaly import AttributeFilterDetector, RXDetector  # noqa: E402
from skhsi.decomposition import TrainablePCA  # noqa: E402
from skhsi.export import to_onnx  # noqa: E402
from skhsi.metrics import roc_auc  # noqa: E402
from skhsi.pipeline import make_deep_svdd_pipeline, make_pipeline  # noqa: E402
from skhsi.preprocessing import (  # noqa: E402
    BandpassByWavelength,
    BandSampler,
    MinMaxScalerPerBand,
    PerPixelStandardizer,
    PerPixelUnitNorm,
    ZScoreNormalizerGlobal,
)

from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(path, X):
    session = _session(path)
    return session.run(None, {session.get_inputs()[0].name: np.asarray(X, np.float32)})[0]


def _metadata(model):
    return {entry.key: entry.value for entry in model.metadata_props}


def _close(onnx_scores, skhsi_scores, rtol=1e-6):
    """Equal to float32 precision: the largest difference is ``rtol`` of the largest score.

    1e-6 for the float64 statistical steps (measured: at most 1.1e-7 on the eight scenes of
    ``benchmarks/results/onnx.md``), 5e-6 behind float32 networks (measured: 1.2e-6).
    """
    skhsi_scores = np.asarray(skhsi_scores)
    assert onnx_scores.shape == skhsi_scores.shape
    assert onnx_scores.dtype == np.float32
    scale = float(np.abs(skhsi_scores).max())
    np.testing.assert_allclose(onnx_scores, skhsi_scores, rtol=0, atol=rtol * scale)


@pytest.fixture(scope="module")
def pixels(hydice):
    return hydice.cube.reshape(-1, hydice.cube.shape[-1]).astype(np.float32)


def test_rx_on_a_real_scene_any_batch_size(hydice, pixels, tmp_path):
    rx = RXDetector().fit(hydice.cube)
    model = to_onnx(rx, tmp_path / "rx.onnx")
    scores = _run(tmp_path / "rx.onnx", pixels)
    _close(scores, rx.anomaly_score(hydice.cube).ravel())
    mask = hydice.mask.ravel()
    assert roc_auc(mask, scores) == pytest.approx(roc_auc(mask, rx.anomaly_score(pixels)),
                                                  abs=1e-6)
    assert roc_auc(mask, scores) > 0.95
    for n in (0, 1, 7, 1000):  # the batch axis is dynamic
        out = _run(tmp_path / "rx.onnx", pixels[:n])
        assert out.shape == (n,)
        if n:
            _close(out, rx.anomaly_score(pixels[:n]))
    meta = _metadata(model)
    assert meta["skhsi_version"] == skhsi.__version__
    assert meta["estimator"] == "RXDetector"
    assert meta["n_bands"] == "162" and "wavelengths" not in meta
    assert json.loads(meta["steps"]) == [["RXDetector", "RXDetector"]]
    assert float(meta["anomaly_threshold"]) == -rx.offset_
    flagged = scores > float(meta["anomaly_threshold"])
    assert np.sum(flagged != (rx.predict(pixels) == -1)) <= 2  # ties at float32 rounding


def test_deep_svdd_pipeline(hydice, pixels, tmp_path):
    pipe = make_deep_svdd_pipeline(max_epochs=2, random_state=0, device="cpu").fit(hydice.cube)
    model = to_onnx(pipe, tmp_path / "svdd.onnx")
    _close(_run(tmp_path / "svdd.onnx", pixels), pipe.anomaly_score(hydice.cube).ravel(),
           rtol=5e-6)
    _close(_run(tmp_path / "svdd.onnx", pixels[:3]), pipe.anomaly_score(pixels[:3]), rtol=5e-6)
    steps = [cls for _, cls in json.loads(_metadata(model)["steps"])]
    assert steps == ["BandpassByWavelength", "ZScoreNormalizerGlobal", "DeepSVDD"]


def test_autoencoder_detector(hydice, pixels, tmp_path):
    from skhsi.anomaly import AutoencoderDetector

    det = AutoencoderDetector(max_epochs=1, random_state=0, device="cpu").fit(hydice.cube)
    to_onnx(det, tmp_path / "ae.onnx")
    _close(_run(tmp_path / "ae.onnx", pixels), det.anomaly_score(pixels), rtol=5e-6)


@pytest.mark.slow
def test_vae_detector(hydice, pixels, tmp_path):
    from skhsi.anomaly import VAEDetector

    det = VAEDetector(max_epochs=1, score_type="both", random_state=0, device="cpu")
    det.fit(hydice.cube)
    to_onnx(det, tmp_path / "vae.onnx")
    _close(_run(tmp_path / "vae.onnx", pixels), det.anomaly_score(pixels), rtol=5e-6)


@pytest.mark.slow
def test_spatial_autoencoder_takes_a_cube_of_any_size(hydice, tmp_path):
    from skhsi.anomaly import AutoencoderDetector

    cube = hydice.cube[:40, :36].astype(np.float32)
    pipe = make_pipeline(ZScoreNormalizerGlobal(),
                         AutoencoderDetector(spatial=True, hidden=8, n_layers=2, tile_size=16,
                                             tiles_per_epoch=4, max_epochs=1, random_state=0,
                                             device="cpu")).fit(cube)
    model = to_onnx(pipe, tmp_path / "conv.onnx")
    assert _metadata(model)["input"] == "cube"
    # a tiled score map (tiles of 16 with a halo) against one pass over the reflected cube
    for crop in (cube, cube[:23, :17], cube[:1, :3]):
        _close(_run(tmp_path / "conv.onnx", crop), pipe.anomaly_score(crop), rtol=5e-6)
    with pytest.raises(InvalidArgument, match="Invalid rank for input: cube"):
        _run(tmp_path / "conv.onnx", cube.reshape(-1, cube.shape[-1]))


def test_zscore_pca_pipelines(hydice, pixels, tmp_path):
    transform = make_pipeline(ZScoreNormalizerGlobal(), TrainablePCA(10)).fit(hydice.cube)
    model = to_onnx(transform, tmp_path / "pca.onnx")
    assert _metadata(model)["output"] == "features" and "anomaly_threshold" not in _metadata(model)
    features = _run(tmp_path / "pca.onnx", pixels)
    assert features.shape == (pixels.shape[0], 10)
    _close(features, transform.transform(pixels))

    detector = make_pipeline(ZScoreNormalizerGlobal(), TrainablePCA(10, whiten=True),
                             RXDetector()).fit(hydice.cube)
    to_onnx(detector, tmp_path / "pca_rx.onnx")
    _close(_run(tmp_path / "pca_rx.onnx", pixels), detector.anomaly_score(pixels))


def test_scikit_learn_steps(pixels, tmp_path):
    sk = sk_make_pipeline(StandardScaler(), PCA(10, whiten=True), MinMaxScaler(clip=True),
                          RXDetector()).fit(pixels)
    to_onnx(sk, tmp_path / "sk.onnx")
    _close(_run(tmp_path / "sk.onnx", pixels[:500]),
           sk[-1].anomaly_score(sk[:-1].transform(pixels[:500])))


@pytest.mark.slow
def test_band_selection_and_scaling_steps(hydice, pixels, tmp_path):
    from skhsi.selection import ConcreteBandSelector, LearnableChannelMixer

    wavelengths = np.linspace(400, 2500, pixels.shape[1])
    pipe = make_pipeline(
        BandpassByWavelength(450, 2400, wavelengths=wavelengths), BandSampler(60),
        MinMaxScalerPerBand(), PerPixelUnitNorm(), PerPixelStandardizer(),
        ConcreteBandSelector(20, max_epochs=1, random_state=0, device="cpu"),
        LearnableChannelMixer(n_outputs=5, max_epochs=1, random_state=0, device="cpu"),
    ).fit(hydice.cube)
    model = to_onnx(pipe, tmp_path / "sel.onnx")
    # the mixer scales each channel over the image: give the whole table at once
    _close(_run(tmp_path / "sel.onnx", pixels), pipe.transform(hydice.cube).reshape(-1, 5),
           rtol=5e-6)
    assert json.loads(_metadata(model)["wavelengths"]) == pytest.approx(wavelengths.tolist())

    soft = ConcreteBandSelector(5, use_hard_inference=False, max_epochs=1, random_state=0,
                                device="cpu").fit(pixels)
    to_onnx(soft, tmp_path / "soft.onnx")
    _close(_run(tmp_path / "soft.onnx", pixels), soft.transform(pixels.astype(np.float64)))


@pytest.mark.parametrize("make, match", [
    (lambda X: make_pipeline(AttributeFilterDetector()).fit(X),
     r"Step 'attributefilterdetector' \(AttributeFilterDetector\) cannot be exported"),
    (lambda X: sk_make_pipeline(StandardScaler(), IsolationForest(n_estimators=5, random_state=0))
     .fit(X.reshape(-1, X.shape[-1])),
     r"Step 'isolationforest' \(IsolationForest\) cannot be exported.*no torch or ONNX"),
    (lambda X: SVC().fit(X.reshape(-1, X.shape[-1])[:40], np.arange(40) % 2),
     r"Step 'SVC' \(SVC\) cannot be exported"),
])
def test_unexportable_steps_are_named_and_nothing_is_written(hydice, tmp_path, make, match):
    estimator = make(hydice.cube[:30, :30].astype(np.float64))
    with pytest.raises(TypeError, match=match):
        to_onnx(estimator, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_misplaced_unfitted_and_bad_options_are_refused(pixels, tmp_path):
    rx = RXDetector().fit(pixels)
    with pytest.raises(ValueError, match=r"Step 'rx' \(RXDetector\) gives anomaly scores, so "
                                         "it must be the last step"):
        to_onnx(Pipeline([("rx", rx), ("scale", StandardScaler().fit(pixels[:, :1]))]),
                tmp_path / "m.onnx")
    with pytest.raises(NotFittedError):
        to_onnx(make_pipeline(ZScoreNormalizerGlobal(), RXDetector()), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="opset must be an integer of at least 18"):
        to_onnx(rx, tmp_path / "m.onnx", opset=12)
    with pytest.raises(TypeError, match="expects a fitted estimator; got the class RXDetector"):
        to_onnx(RXDetector, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_file(pixels, tmp_path, monkeypatch):
    target = tmp_path / "rx.onnx"
    target.write_bytes(b"previous model")
    real = skhsi.export.atomic_write

    def fail_halfway(path, write):
        def half(fh):
            fh.write(b"partial")
            raise OSError("disk full")
        return real(path, half)

    monkeypatch.setattr(skhsi.export, "atomic_write", fail_halfway)
    with pytest.raises(OSError, match="disk full"):
        to_onnx(RXDetector().fit(pixels[:500]), target)
    assert target.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["rx.onnx"]


def test_import_loads_no_torch():
    out = subprocess.run(
        [sys.executable, "-c", "import sys, skhsi.export\nprint('torch' in sys.modules)"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
