import io
import pickle

import joblib
import numpy as np
import pytest
from skorch.callbacks import Callback

from skhsi.anomaly import DeepSVDD, RXDetector
from skhsi.metrics import roc_auc
from skhsi.preprocessing import ZScoreNormalizerGlobal

SMALL = dict(n_rff=64, hidden=16, rep_dim=4, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def hydice_z(hydice):
    return ZScoreNormalizerGlobal().fit_transform(hydice.cube).astype(np.float32)


@pytest.mark.slow  # 5 s: Deep SVDD trained on a real scene
def test_default_beats_rx_on_hydice(hydice, hydice_z):
    det = DeepSVDD(random_state=0, device="cpu").fit(hydice_z)
    auc = roc_auc(hydice.mask, det.anomaly_score(hydice_z))
    rx_auc = roc_auc(hydice.mask, RXDetector().fit(hydice.cube).anomaly_score(hydice.cube))
    assert auc > 0.99
    assert auc >= rx_auc


def test_no_collapse_scores_vary_and_beat_chance(hydice, hydice_z):
    for objective in ("one-class", "soft-boundary"):
        det = DeepSVDD(objective=objective, max_epochs=10, **SMALL).fit(hydice_z)
        scores = det.anomaly_score(hydice_z)
        assert np.std(scores) > 1e-3 * np.mean(scores)
        assert np.unique(scores).size > 0.9 * scores.size
        assert roc_auc(hydice.mask, scores) > 0.7
        assert np.all(np.abs(det.center_) >= 0.1 - 1e-7)


def test_statistical_init_only(hydice_z):
    det = DeepSVDD(max_epochs=0, **SMALL).fit(hydice_z)
    assert det.net_ is None and det.history_ == []
    pixels = hydice_z.reshape(-1, hydice_z.shape[-1])
    import torch

    with torch.no_grad():
        embedding = det.module_.embed(torch.from_numpy(pixels)).numpy()
    mean = embedding.mean(axis=0)
    expected = np.where(np.abs(mean) < 0.1, np.where(mean < 0, -0.1, 0.1), mean)
    assert np.allclose(det.center_, expected, atol=1e-5)


def test_same_seed_same_model(cube):
    a = DeepSVDD(max_epochs=3, **SMALL).fit(cube).anomaly_score(cube)
    b = DeepSVDD(max_epochs=3, **SMALL).fit(cube).anomaly_score(cube)
    c = DeepSVDD(max_epochs=3, **{**SMALL, "random_state": 1}).fit(cube).anomaly_score(cube)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_global_rng_untouched(cube):
    import torch

    np_state = np.random.get_state()[1].copy()
    torch_state = torch.random.get_rng_state().clone()
    DeepSVDD(max_epochs=2, **SMALL).fit(cube)
    assert np.array_equal(np.random.get_state()[1], np_state)
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_history_records_loss_radius_and_outside(cube):
    det = DeepSVDD(objective="soft-boundary", nu=0.2, max_epochs=4, **SMALL).fit(cube)
    assert [row["epoch"] for row in det.history_] == [1, 2, 3, 4]
    for row in det.history_:
        assert {"train_loss", "radius", "n_outside"} <= set(row)
        assert 0 <= row["n_outside"] <= cube.shape[0] * cube.shape[1]
    assert det.radius_ == pytest.approx(det.history_[-1]["radius"])
    assert det.radius_ > 0


def test_soft_boundary_radius_leaves_about_nu_outside(hydice_z):
    det = DeepSVDD(objective="soft-boundary", nu=0.1, max_epochs=15, lr=1e-2,
                   **{**SMALL, "n_rff": 128}).fit(hydice_z)
    dist = det.anomaly_score(hydice_z)
    outside = np.mean(dist > det.radius_ ** 2)
    assert 0.02 < outside < 0.3


def test_ema_centre_moves_only_in_training(cube):
    det = DeepSVDD(max_epochs=0, alpha=0.5, **SMALL).fit(cube)
    center = det.center_.copy()
    det.anomaly_score(cube)
    assert np.array_equal(det.module_.tracker.center.numpy(), center)
    det2 = DeepSVDD(max_epochs=3, alpha=0.5, **SMALL).fit(cube)
    assert not np.allclose(det2.center_, center)


def test_quiet_unless_verbose(cube, capsys):
    DeepSVDD(max_epochs=2, **SMALL).fit(cube)
    assert capsys.readouterr().out == ""
    DeepSVDD(max_epochs=2, verbose=1, **SMALL).fit(cube)
    assert "train_loss" in capsys.readouterr().out


def test_user_callbacks_run_on_copies(cube):
    class Count(Callback):
        def __init__(self):
            self.epochs = 0

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1
            net.history.record("seen", self.epochs)

    counter = Count()
    det = DeepSVDD(max_epochs=3, callbacks=[counter], **SMALL).fit(cube)
    assert [row["seen"] for row in det.history_] == [1, 2, 3]
    assert counter.epochs == 0


def test_patience_stops_early(cube):
    det = DeepSVDD(max_epochs=200, patience=2, lr=1e-6, **SMALL).fit(cube)
    assert len(det.history_) < 200


def test_validation_keeps_the_best_epoch(hydice, hydice_z):
    det = DeepSVDD(max_epochs=6, lr=1e-2, **SMALL)
    det.fit(hydice_z, validation_data=(hydice_z, hydice.mask))
    aucs = [row["valid_auc"] for row in det.history_]
    assert roc_auc(hydice.mask, det.anomaly_score(hydice_z)) == pytest.approx(max(aucs), abs=1e-3)


def test_validation_mask_shape_is_checked(cube):
    with pytest.raises(ValueError, match="validation mask has shape"):
        DeepSVDD(max_epochs=1, **SMALL).fit(cube, validation_data=(cube, np.zeros((3, 3), bool)))


def test_tensorboard_directory_is_made_in_fit(cube, tmp_path):
    pytest.importorskip("tensorboard")
    logdir = tmp_path / "runs"
    det = DeepSVDD(max_epochs=2, tensorboard_dir=str(logdir), **SMALL)
    assert not logdir.exists()
    det.fit(cube)
    assert any(logdir.iterdir())
    pickle.dumps(det)


def test_joblib_round_trip_is_identical(cube):
    det = DeepSVDD(max_epochs=2, **SMALL).fit(cube)
    buffer = io.BytesIO()
    joblib.dump(det, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)
    assert np.array_equal(loaded.anomaly_score(cube), det.anomaly_score(cube))
    assert np.array_equal(loaded.predict(cube), det.predict(cube))


def test_cuda_request_without_cuda_is_a_clear_error(cube):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        DeepSVDD(max_epochs=1, **{**SMALL, "device": "cuda"}).fit(cube)


@pytest.mark.parametrize("param, value, message", [
    ("objective", "hinge", "'objective' parameter of DeepSVDD must be a str among"),
    ("nu", 0.0, "'nu' parameter of DeepSVDD must be a float in the range"),
    ("contamination", 0.7, "'contamination' parameter"),
    ("optimizer", "lbfgs", "'optimizer' parameter"),
])
def test_parameter_validation(cube, param, value, message):
    with pytest.raises(ValueError, match=message):
        DeepSVDD(**{**SMALL, param: value}).fit(cube)


@pytest.mark.gpu
def test_cuda_fit_then_cpu_inference(cube):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    det = DeepSVDD(max_epochs=2, **{**SMALL, "device": "cuda"}).fit(cube)
    assert det.module_.tracker.center.device.type == "cpu"
    gpu = det.anomaly_score(cube)
    det.set_params(device="cpu")
    cpu = det.anomaly_score(cube)
    assert np.allclose(gpu, cpu, rtol=1e-4, atol=1e-5)
    restored = pickle.loads(pickle.dumps(det))
    assert np.allclose(restored.anomaly_score(cube), cpu)


def test_bfloat16_mixed_precision_on_cpu(hydice, hydice_z):
    det = DeepSVDD(max_epochs=3, precision="bfloat16", **SMALL).fit(hydice_z)
    scores = det.anomaly_score(hydice_z)
    assert np.all(np.isfinite(scores))
    reference = DeepSVDD(max_epochs=3, **SMALL).fit(hydice_z).anomaly_score(hydice_z)
    assert np.corrcoef(scores.ravel(), reference.ravel())[0, 1] > 0.9
    assert roc_auc(hydice.mask, scores) > 0.8


def test_tensorboard_logs_scalars_and_the_validation_score_map(hydice, hydice_z, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    det = DeepSVDD(max_epochs=2, tensorboard_dir=str(tmp_path), **SMALL)
    det.fit(hydice_z, validation_data=(hydice_z, hydice.mask))
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"Loss/train_loss", "radius", "n_outside", "Validation/auc"} <= scalars
    assert "validation/score_map" in events.Tags()["images"]
    assert len(events.Scalars("Validation/auc")) == 2


def test_model_saved_for_cuda_scores_on_a_cpu_only_machine(cube):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    det = DeepSVDD(max_epochs=1, **SMALL).fit(cube)
    expected = det.anomaly_score(cube)
    det.set_params(device="cuda")  # as a model trained on a GPU and loaded here
    loaded = pickle.loads(pickle.dumps(det))
    with pytest.warns(RuntimeWarning, match="scoring on the CPU"):
        scores = loaded.anomaly_score(cube)
    assert np.array_equal(scores, expected)


def test_max_samples_caps_the_training_pixels(hydice_z):
    det = DeepSVDD(max_epochs=2, max_samples=500, batch_size=100, **SMALL)
    det.fit(hydice_z)
    assert [row["train_batch_count"] for row in det.history_] == [5, 5]
    again = DeepSVDD(max_epochs=2, max_samples=500, batch_size=100, **SMALL).fit(hydice_z)
    assert np.array_equal(det.anomaly_score(hydice_z), again.anomaly_score(hydice_z))
    # the threshold still comes from every pixel
    assert np.isclose((det.predict(hydice_z) == -1).mean(), 0.01, atol=0.002)
    uncapped = DeepSVDD(max_epochs=1, max_samples=None, batch_size=1000, **SMALL).fit(hydice_z)
    assert uncapped.history_[0]["train_batch_count"] == 8
