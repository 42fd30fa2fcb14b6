import pickle

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
    torch.save({"format": "skhsi-weights-1", "estimator": Evil()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_weights(path)


def test_foreign_class_names_are_refused(tmp_path):
    from skhsi.nn._state import save_tensors

    save_tensors(tmp_path / "x.pt", {"format": "skhsi-weights-1",
                                     "estimator": {"class": "os.system", "params": {}, "state": {}}})
    with pytest.raises(ValueError, match="Refusing to load class 'os.system'"):
        load_weights(tmp_path / "x.pt")


def test_not_a_weights_file(tmp_path):
    from skhsi.nn._state import save_tensors

    save_tensors(tmp_path / "x.pt", {"something": 1})
    with pytest.raises(ValueError, match="is not a skhsi weights file"):
        load_weights(tmp_path / "x.pt")


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
