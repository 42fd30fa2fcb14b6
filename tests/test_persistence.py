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


def _legacy_file(path, estimator_entry):
    """A file of the earlier torch-based format around an estimator entry."""
    import hashlib
    import io

    import torch

    buffer = io.BytesIO()
    torch.save({"estimator": estimator_entry}, buffer)
    body = buffer.getvalue()
    torch.save({"format": "skhsi-weights-2", "sha256": hashlib.sha256(body).hexdigest(),
                "body": torch.frombuffer(bytearray(body), dtype=torch.uint8)}, path)


def test_pickled_code_is_refused(tmp_path):
    import torch

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "skhsi-weights-2", "estimator": Evil()}, path)
    with pytest.raises(ValueError, match="refused: the file holds pickled objects"):
        load_weights(path)


def test_pickled_arrays_are_refused(tmp_path):
    import io
    import zipfile

    from skhsi.persistence import _npz

    inner = io.BytesIO()
    np.save(inner, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    path = tmp_path / "evil.skhsi"
    path.write_bytes(_npz({"format": np.array("skhsi-weights-3"),
                           "sha256": np.array("0" * 64), "body": np.zeros(3, np.uint8)}))
    with zipfile.ZipFile(path, "a") as archive:  # an object array beside the real members
        archive.writestr("extra.npy", inner.getvalue())
    with pytest.raises(ValueError, match="evil.skhsi: not a readable weights file.*pickle"):
        load_weights(path)


def test_files_of_the_earlier_torch_format_still_load(cube, tmp_path):
    rx = RXDetector().fit(cube)
    arrays = []
    from skhsi.persistence import _encode_estimator

    entry = _encode_estimator(rx, arrays)

    def tensors(value):
        import torch

        if isinstance(value, dict):
            if set(value) == {"__ndarray__"}:
                return {"__ndarray__": torch.from_numpy(arrays[value["__ndarray__"]])}
            return {k: tensors(v) for k, v in value.items()}
        if isinstance(value, list):
            return [tensors(v) for v in value]
        return value

    _legacy_file(tmp_path / "old.pt", tensors(entry))
    loaded = load_weights(tmp_path / "old.pt")
    assert np.array_equal(loaded.anomaly_score(cube), rx.anomaly_score(cube))


def _forge(path, estimator_entry, arrays=()):
    """A well-formed weights file (valid checksum) around any estimator entry."""
    import hashlib
    import json

    from skhsi.persistence import _npz

    body = _npz({"tree": np.array(json.dumps({"estimator": estimator_entry}))}
                | {f"a{i}": a for i, a in enumerate(arrays)})
    path.write_bytes(_npz({"format": np.array("skhsi-weights-3"),
                           "sha256": np.array(hashlib.sha256(body).hexdigest()),
                           "body": np.frombuffer(body, np.uint8)}))


def _entry_of(estimator, tmp_path):
    """The estimator entry and arrays of a saved model (to alter them, as an attacker would)."""
    import io
    import json

    from skhsi.persistence import _load_npz

    save_weights(estimator, tmp_path / "ok.skhsi")
    outer = _load_npz(str(tmp_path / "ok.skhsi"))
    inner = _load_npz(io.BytesIO(outer["body"].tobytes()))
    arrays = [inner[f"a{i}"] for i in range(len(inner) - 1)]
    return json.loads(str(inner["tree"]))["estimator"], arrays


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


def test_compressed_members_are_refused(cube, tmp_path):
    import zipfile

    save_weights(RXDetector().fit(cube), tmp_path / "m.skhsi")
    with zipfile.ZipFile(tmp_path / "m.skhsi") as src, \
            zipfile.ZipFile(tmp_path / "z.skhsi", "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    with pytest.raises(ValueError, match="member 'format.npy' is compressed"):
        load_weights(tmp_path / "z.skhsi")


@pytest.mark.parametrize("key", ["anomaly_score", "anomaly_score_", "_inverse_", "fit"])
def test_state_the_class_does_not_have_is_refused(cube, tmp_path, key):
    entry, arrays = _entry_of(RXDetector().fit(cube), tmp_path)
    entry["state"][key] = 1.0
    _forge(tmp_path / "x.pt", entry, arrays)
    with pytest.raises(ValueError, match=f"'{key}' is not a fitted attribute of RXDetector"):
        load_weights(tmp_path / "x.pt")


def test_state_of_the_wrong_shape_is_refused_on_load(cube, tmp_path):
    entry, arrays = _entry_of(RXDetector().fit(cube), tmp_path)
    entry["state"]["location_"] = {"__ndarray__": len(arrays)}
    _forge(tmp_path / "x.pt", entry, arrays + [np.zeros(3)])
    with pytest.raises(ValueError, match="the saved state of RXDetector does not fit together"):
        load_weights(tmp_path / "x.pt")


def test_state_giving_non_finite_scores_is_refused(cube, tmp_path):
    entry, arrays = _entry_of(RXDetector().fit(cube), tmp_path)
    entry["state"]["location_"] = {"__ndarray__": len(arrays)}
    _forge(tmp_path / "x.pt", entry, arrays + [np.full(cube.shape[-1], np.nan)])
    with pytest.raises(ValueError, match="RXDetector gives non-finite values"):
        load_weights(tmp_path / "x.pt")


@pytest.mark.parametrize("declared", [10**9, 0, -3, 2.5, True])
def test_declared_band_counts_are_bounded_before_anything_is_allocated(cube, tmp_path,
                                                                       declared):
    import resource

    entry, arrays = _entry_of(RXDetector().fit(cube), tmp_path)
    entry["state"]["n_features_in_"] = declared
    _forge(tmp_path / "x.pt", entry, arrays)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match=f"declares n_features_in_={declared!r}; a model has "
                                         "1 to 100000 bands"):
        load_weights(tmp_path / "x.pt")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def test_arrays_the_file_does_not_hold_are_refused(cube, tmp_path):
    entry, arrays = _entry_of(RXDetector().fit(cube), tmp_path)
    entry["state"]["location_"] = {"__ndarray__": 99}
    _forge(tmp_path / "x.pt", entry, arrays)
    with pytest.raises(ValueError, match="refers to an array 99 the file does not hold"):
        load_weights(tmp_path / "x.pt")


def test_invalid_parameters_are_refused(cube, tmp_path):
    entry, arrays = _entry_of(RXDetector().fit(cube), tmp_path)
    entry["params"]["reg"] = "lots"
    _forge(tmp_path / "x.pt", entry, arrays)
    with pytest.raises(ValueError, match="'reg' parameter of RXDetector"):
        load_weights(tmp_path / "x.pt")


def test_paths_are_never_restored(cube, tmp_path):
    from skhsi.pipeline import Pipeline

    pipe = Pipeline([("rx", RXDetector())], memory=str(tmp_path / "cache")).fit(cube)
    entry, arrays = _entry_of(pipe, tmp_path)
    assert "memory" not in entry["params"]
    entry["params"]["memory"] = str(tmp_path / "planted")
    _forge(tmp_path / "x.pt", entry, arrays)
    assert load_weights(tmp_path / "x.pt").memory is None


def test_not_a_weights_file(tmp_path):
    from skhsi.persistence import _npz

    (tmp_path / "x.pt").write_bytes(_npz({"something": np.ones(1)}))
    with pytest.raises(ValueError, match="is not a skhsi weights file"):
        load_weights(tmp_path / "x.pt")
    (tmp_path / "new.pt").write_bytes(_npz({"format": np.array("skhsi-weights-9")}))
    with pytest.raises(ValueError, match="found 'skhsi-weights-9'"):
        load_weights(tmp_path / "new.pt")


def test_files_of_the_first_format_are_refused(tmp_path):
    import torch

    torch.save({"format": "skhsi-weights-1", "estimator": {}}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="found 'skhsi-weights-1'; save the model again"):
        load_weights(tmp_path / "old.pt")


def test_a_pinned_digest_loads_only_that_file(cube, tmp_path):
    from skhsi.persistence import file_sha256

    digest = save_weights(RXDetector().fit(cube), tmp_path / "a.skhsi")
    assert digest == file_sha256(tmp_path / "a.skhsi")
    assert load_weights(tmp_path / "a.skhsi", sha256=digest.upper()).n_features_in_ == cube.shape[-1]
    other = save_weights(RXDetector(reg=1e-3).fit(cube), tmp_path / "b.skhsi")
    with pytest.raises(ValueError, match=f"b.skhsi: its SHA-256 is {other}, not the expected "
                                         f"{digest}: this is not the pinned model"):
        load_weights(tmp_path / "b.skhsi", sha256=digest)
    with pytest.raises(ValueError, match="sha256 must be 64 hexadecimal digits, got 'abc'"):
        load_weights(tmp_path / "a.skhsi", sha256="abc")


def test_loading_a_model_without_weights_needs_no_torch(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from skhsi.anomaly import RXDetector\n"
        "from skhsi.pipeline import make_attribute_filter_pipeline\n"
        "from skhsi.persistence import save_weights, load_weights\n"
        "X = np.random.default_rng(0).normal(size=(30, 30, 5))\n"
        f"p = {str(tmp_path / 'm.skhsi')!r}\n"
        "for est in (RXDetector().fit(X), make_attribute_filter_pipeline().fit(X)):\n"
        "    save_weights(est, p)\n"
        "    assert np.array_equal(load_weights(p).anomaly_score(X), est.anomaly_score(X))\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


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
