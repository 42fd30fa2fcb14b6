"""Every public estimator round-trips through joblib and weights-only files, bit-exactly.

The estimators are enumerated from the subpackages' ``__all__``, so a new
estimator that has no fast configuration here fails the suite until it gets
one.
"""

import joblib
import numpy as np
import pytest

from skhsi.anomaly import (
    AttributeFilterDetector,
    AutoencoderDetector,
    ConsensusDetector,
    LowRankSparseDetector,
    RXDetector,
)
from skhsi._registry import public_estimators
from skhsi.persistence import load_weights, save_weights
from skhsi.classification import SpectralMLPClassifier

_TRAIN = dict(max_epochs=2, batch_size=32, device="cpu", random_state=0)
FAST = {
    "BandpassByWavelength": dict(min_wavelength_nm=450, wavelengths=np.linspace(400, 900, 6)),
    "BandSampler": dict(n_bands=3),
    "MinMaxScalerPerBand": {},
    "PerPixelStandardizer": {},
    "PerPixelUnitNorm": {},
    "ZScoreNormalizerGlobal": {},
    "RXDetector": {},
    "QuantileBinaryDecider": {},
    "FalseAlarmDecider": dict(false_alarm_rate=0.05),
    "DeepSVDD": dict(n_rff=32, hidden=8, rep_dim=4, **_TRAIN),
    "AutoencoderDetector": [dict(hidden=8, **_TRAIN),
                            dict(spatial=True, hidden=4, tile_size=8, **_TRAIN),
                            dict(spatial=True, blind_spot=True, window=5, hidden=4,
                                 attention="se", tile_size=8, **_TRAIN)],
    "VAEDetector": [dict(hidden=8, score_type="both", **_TRAIN),
                    dict(spatial=True, hidden=4, tile_size=8, attention="cbam", **_TRAIN)],
    "TrainablePCA": [dict(n_components=3), dict(n_components=3, whiten=True, **_TRAIN)],
    "LearnableChannelMixer": dict(n_outputs=3, **_TRAIN),
    "ConcreteBandSelector": dict(n_bands=2, **_TRAIN),
    "SpectralMLPClassifier": dict(hidden=8, **_TRAIN),
    # A model file holds a skhsi classifier inside it; with the default SVC it is joblib's.
    "SpectralSpatialClassifier": dict(
        n_components=3, estimator=SpectralMLPClassifier(hidden=4, **_TRAIN)),
    "PatchClassifier": dict(patch_size=3, hidden=4, windows_per_epoch=32, **_TRAIN),
    "UNetSegmenter": dict(hidden=4, tile_size=8, tiles_per_epoch=4, **_TRAIN),
    "SobelEdges": {},
    "BandConvolution": dict(kernels=np.stack([np.eye(3), np.ones((3, 3))])),
    "Pool2D": dict(size=3, stride=2, padding=1, method="mean"),
    "Upsample2D": [dict(factor=2), dict(factor=3, method="transposed")],
    "PatchFeatures": dict(size=3),
    "LocalRXDetector": dict(n_components=3, inner_window=3, outer_window=7),
    "AttributeFilterDetector": dict(n_components=3, areas=(4, 9)),
    "LearnedBackgroundDetector": dict(estimator=AutoencoderDetector(hidden=4, **_TRAIN),
                                      n_components=3, areas=(4, 9), random_state=0),
    "LowRankSparseDetector": dict(max_iter=20),
    "ConsensusDetector": [
        dict(detectors=[("rx", RXDetector()), ("lrs", LowRankSparseDetector(max_iter=5))]),
        dict(detectors=[("rx", RXDetector()),
                        ("attribute", AttributeFilterDetector(n_components=2, areas=(4,)))],
             method="vote"),
    ],
    "RecallThresholdDecider": dict(target_recall=0.9),
    "SimCLREncoder": [dict(hidden=16, n_layers=1, n_heads=2, band_group=4, **_TRAIN),
                      dict(patch_size=3, hidden=16, n_layers=1, n_heads=2, **_TRAIN)],
}
METHODS = ("transform", "anomaly_score", "decision_function", "predict", "predict_proba")


def _public_estimators():
    return public_estimators().items()


PUBLIC = sorted(_public_estimators())
ESTIMATORS = [(name, cls, params) for name, cls in PUBLIC if name in FAST
              for params in (FAST[name] if isinstance(FAST[name], list) else [FAST[name]])]


def test_every_public_estimator_has_a_configuration():
    missing = [name for name, _ in sorted(_public_estimators()) if name not in FAST]
    assert not missing, f"add a fast configuration to FAST for {missing}"


def _fitted(name, cls, params, cube):
    estimator = cls(**params)
    if name in ("QuantileBinaryDecider", "FalseAlarmDecider"):
        return estimator.fit(cube[..., 0]), cube[..., 0]
    if name == "RecallThresholdDecider":
        return estimator.fit(cube[..., 0], cube[..., 0] > 0), cube[..., 0]
    y = (cube[..., 0] > 0).astype(int) + 1  # a label map: classes 1 and 2
    return estimator.fit(cube, y), cube


def _outputs(estimator, X):
    return {m: np.asarray(getattr(estimator, m)(X)) for m in METHODS if hasattr(estimator, m)}


@pytest.mark.parametrize("name, cls, params", ESTIMATORS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(ESTIMATORS)])
def test_joblib_and_weights_round_trips_are_identical(name, cls, params, cube, tmp_path):
    estimator, X = _fitted(name, cls, params, cube)
    expected = _outputs(estimator, X)
    assert expected, f"{name} has none of {METHODS}"
    joblib.dump(estimator, tmp_path / "m.joblib")
    save_weights(estimator, tmp_path / "m.pt")
    for loaded in (joblib.load(tmp_path / "m.joblib"), load_weights(tmp_path / "m.pt")):
        assert type(loaded) is cls
        if isinstance(estimator, ConsensusDetector):
            assert [type(m) for m in loaded.estimators_] == \
                [type(m) for m in estimator.estimators_]
        got = _outputs(loaded, X)
        for method, values in expected.items():
            assert np.array_equal(got[method], values), f"{name}.{method} differs after loading"
