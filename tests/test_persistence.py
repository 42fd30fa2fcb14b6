import numpy as np
import pytest

from skhsi.anomaly import DeepSVDD, RXDetector
from skhsi.persistence import load_weights, save_weights
from skhsi.pipeline import make_deep_svdd_pipeline
from skhsi.preprocessing import ZScoreNormalizerGlobal


def test_pipeline_round_trip_is_identical(cube, tmp_path):
    wl = np.linspace(400, 900, 6)
    pipe = make_deep_svdd_pipeline(wavelengths=wl, min_wavelength_nm=450, random_state=0,
                                   max_epochs=2, n_rff=32, hidden=8, rep_dim=4, device="cpu",
                                   trainable_normalizer=True).fit(cube)
    save_weights(pipe, tmp_path / "pipe.pt")
    loaded = load_weights(tmp_path / "pipe.pt")
    assert type(loaded) is type(pipe)
    assert np.array_equal(loaded.anomaly_score(cube), pipe.anomaly_score(cube))
    assert np.array_equal(loaded.predict(cube), pipe.predict(cube))
    assert list(loaded[0].get_feature_names_out()) == list(pipe[0].get_feature_names_out())
    assert loaded[-1].history_ == pipe[-1].history_


def test_rx_and_zscore_round_trip(cube, tmp_path):
    for est in (RXDetector().fit(cube), ZScoreNormalizerGlobal().fit(cube)):
        save_weights(est, tmp_path / "m.pt")
        loaded = load_weights(tmp_path / "m.pt")
        method = "transform" if hasattr(est, "transform") else "anomaly_score"
        assert np.array_equal(getattr(loaded, method)(cube), getattr(est, method)(cube))


def test_partial_fit_continues_after_loading(cube, tmp_path):
    z = ZScoreNormalizerGlobal().partial_fit(cube[:6])
    save_weights(z, tmp_path / "z.pt")
    loaded = load_weights(tmp_path / "z.pt").partial_fit(cube[6:])
    whole = ZScoreNormalizerGlobal().fit(cube)
    assert np.allclose(loaded.mean_, whole.mean_) and np.allclose(loaded.std_, whole.std_)


def test_pickled_code_is_refused(tmp_path):
    import torch

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "skhsi-weights-2", "estimator": Evil()}, path)
    with pytest.raises(ValueError, match="refused: the file holds pickled objects"):
        load_weights(path)


def _forge(path, estimator_entry):
    """A well-formed weights file (valid checksum) around any estimator entry."""
    import hashlib
    import io

    import torch

    from skhsi.nn._state import save_tensors

    buffer = io.BytesIO()
    torch.save({"estimator": estimator_entry}, buffer)
    body = buffer.getvalue()
    save_tensors(path, {"format": "skhsi-weights-2", "sha256": hashlib.sha256(body).hexdigest(),
                        "body": torch.frombuffer(bytearray(body), dtype=torch.uint8)})


def _entry_of(estimator, tmp_path):
    """The decoded estimator entry of a saved model (to alter it, as an attacker would)."""
    import io

    import torch

    save_weights(estimator, tmp_path / "ok.pt")
    outer = torch.load(tmp_path / "ok.pt", weights_only=True)
    return torch.load(io.BytesIO(outer["body"].numpy().tobytes()), weights_only=True)["estimator"]


@pytest.mark.parametrize("name", ["os.system", "skhsi.pipeline.as_pixels",
                                  "skhsi.pipeline.make_pipeline", "skhsi.pipeline.np",
                                  "skhsi.anomaly._rx.RXDetector"])
def test_only_public_estimator_classes_are_rebuilt(tmp_path, name):
    _forge(tmp_path / "x.pt", {"class": name, "params": {}, "state": {}})
    with pytest.raises(ValueError, match=f"Refusing to load class '{name}'"):
        load_weights(tmp_path / "x.pt")


def test_tampering_is_detected(cube, tmp_path):
    det = DeepSVDD(max_epochs=1, n_rff=16, hidden=8, rep_dim=4, device="cpu",
                   random_state=0).fit(cube)
    save_weights(det, tmp_path / "m.pt")
    data = bytearray((tmp_path / "m.pt").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 32] = bytes(255 - b for b in data[middle:middle + 32])
    (tmp_path / "m.pt").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="m.pt"):
        load_weights(tmp_path / "m.pt")


@pytest.mark.parametrize("damage", ["truncated", "text", "empty"])
def test_damaged_files_are_value_errors(cube, tmp_path, damage):
    save_weights(RXDetector().fit(cube), tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    broken = {"truncated": data[: len(data) // 3], "text": b"not a model\n", "empty": b""}
    (tmp_path / "m.pt").write_bytes(broken[damage])
    with pytest.raises(ValueError, match="m.pt: not a readable weights file"):
        load_weights(tmp_path / "m.pt")


def test_state_the_class_does_not_have_is_refused(cube, tmp_path):
    entry = _entry_of(RXDetector().fit(cube), tmp_path)
    entry["state"]["anomaly_score"] = 1.0
    _forge(tmp_path / "x.pt", entry)
    with pytest.raises(ValueError, match="'anomaly_score' is not a fitted attribute"):
        load_weights(tmp_path / "x.pt")


def test_state_of_the_wrong_shape_is_refused_on_load(cube, tmp_path):
    import torch

    entry = _entry_of(RXDetector().fit(cube), tmp_path)
    entry["state"]["location_"] = {"__ndarray__": torch.zeros(3, dtype=torch.float64)}
    _forge(tmp_path / "x.pt", entry)
    with pytest.raises(ValueError, match="the saved state of RXDetector does not fit together"):
        load_weights(tmp_path / "x.pt")


def test_invalid_parameters_are_refused(cube, tmp_path):
    entry = _entry_of(RXDetector().fit(cube), tmp_path)
    entry["params"]["reg"] = "lots"
    _forge(tmp_path / "x.pt", entry)
    with pytest.raises(ValueError, match="'reg' parameter of RXDetector"):
        load_weights(tmp_path / "x.pt")


def test_paths_are_never_restored(cube, tmp_path):
    from skhsi.pipeline import Pipeline

    pipe = Pipeline([("rx", RXDetector())], memory=str(tmp_path / "cache")).fit(cube)
    entry = _entry_of(pipe, tmp_path)
    assert "memory" not in entry["params"]
    entry["params"]["memory"] = str(tmp_path / "planted")
    _forge(tmp_path / "x.pt", entry)
    assert load_weights(tmp_path / "x.pt").memory is None


def test_not_a_weights_file(tmp_path):
    from skhsi.nn._state import save_tensors

    save_tensors(tmp_path / "x.pt", {"something": 1})
    with pytest.raises(ValueError, match="is not a skhsi weights file"):
        load_weights(tmp_path / "x.pt")
    save_tensors(tmp_path / "old.pt", {"format": "skhsi-weights-1", "estimator": {}})
    with pytest.raises(ValueError, match="found 'skhsi-weights-1'; save the model again"):
        load_weights(tmp_path / "old.pt")


def test_non_skhsi_estimators_are_refused(tmp_path):
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(TypeError, match="saves skhsi estimators"):
        save_weights(StandardScaler().fit(np.ones((3, 2))), tmp_path / "s.pt")


def test_standalone_deep_svdd(cube, tmp_path):
    det = DeepSVDD(max_epochs=1, n_rff=16, hidden=8, rep_dim=4, device="cpu", random_state=0)
    det.fit(cube)
    save_weights(det, tmp_path / "d.pt")
    loaded = load_weights(tmp_path / "d.pt")
    assert loaded.net_ is None
    assert np.array_equal(loaded.anomaly_score(cube), det.anomaly_score(cube))
    assert np.array_equal(loaded.center_, det.center_)


def test_minmax_partial_fit_continues_after_loading(cube, tmp_path):
    from skhsi.preprocessing import MinMaxScalerPerBand

    scaler = MinMaxScalerPerBand().partial_fit(cube[:6])
    save_weights(scaler, tmp_path / "s.pt")
    loaded = load_weights(tmp_path / "s.pt").partial_fit(cube[6:])
    whole = MinMaxScalerPerBand().fit(cube)
    assert loaded.n_samples_seen_ == whole.n_samples_seen_ == 120
    assert np.allclose(loaded.data_min_, whole.data_min_)
    assert np.allclose(loaded.transform(cube), whole.transform(cube))


def test_dictionary_parameters_keep_their_key_types(tmp_path):
    from skhsi.classification import SpectralMLPClassifier

    X = np.random.default_rng(0).normal(size=(60, 4))
    y = np.repeat([1, 2, 3], 20)
    clf = SpectralMLPClassifier(hidden=8, max_epochs=2, class_weight={1: 2.0, 2: 1.0, 3: 1.0},
                                device="cpu", random_state=0).fit(X, y)
    save_weights(clf, tmp_path / "c.pt")
    loaded = load_weights(tmp_path / "c.pt")
    assert loaded.class_weight == {1: 2.0, 2: 1.0, 3: 1.0}
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
