"""Spatial reach: every public estimator declares it, and block-wise scoring with that halo
(dask's ``map_blocks`` and ``skhsi score``'s ``score_file``, blocks of 8, 25 and 32 rows
of a cube with odd sides) equals whole-image scoring.

Estimators declared global are refused by ``map_blocks`` and reported as not exact by
``score_file``; estimators that change the pixel grid are refused by both.
"""

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.ensemble import IsolationForest

from skhsi import anomaly, classification, preprocessing, spatial
from skhsi._registry import ESTIMATOR_PACKAGES, public_estimators
from skhsi.base import GLOBAL, SpatialReach, spatial_reach
from skhsi.datasets import make_synthetic_scene
from skhsi.decomposition import TrainablePCA
from skhsi.pipeline import make_attribute_filter_pipeline, make_deep_svdd_pipeline, \
    make_pipeline
from skhsi.representation import SimCLREncoder
from skhsi.selection import ConcreteBandSelector, LearnableChannelMixer

da = pytest.importorskip("dask.array")

_SUBPACKAGES = ESTIMATOR_PACKAGES
_TORCH = dict(max_epochs=1, device="cpu", random_state=0)
_CUBE = make_synthetic_scene((47, 29, 8), random_state=3)
_LABELS = np.zeros((47, 29), dtype=int)
_LABELS[5:20, 3:12], _LABELS[25:40, 15:26] = 1, 2

#: One or more instances of every public estimator, and how each is fitted.
CASES = {
    "AttributeFilterDetector": [anomaly.AttributeFilterDetector(n_components=3)],
    "AutoencoderDetector": [
        anomaly.AutoencoderDetector(hidden=4, **_TORCH),
        anomaly.AutoencoderDetector(spatial=True, hidden=4, tile_size=16, **_TORCH),
        anomaly.AutoencoderDetector(spatial=True, blind_spot=True, hidden=4, tile_size=16,
                                    **_TORCH)],
    "ConsensusDetector": [
        anomaly.ConsensusDetector([("rx", anomaly.RXDetector()),
                                   ("local", anomaly.LocalRXDetector(n_components=3))]),
        anomaly.ConsensusDetector([("rx", anomaly.RXDetector()),
                                   ("forest", IsolationForest(n_estimators=5,
                                                              random_state=0))])],
    "DeepSVDD": [anomaly.DeepSVDD(n_rff=32, hidden=8, rep_dim=4, **_TORCH)],
    "LearnedBackgroundDetector": [anomaly.LearnedBackgroundDetector(
        anomaly.AutoencoderDetector(hidden=4, max_epochs=1, device="cpu"), random_state=0,
        n_components=3)],
    "LocalRXDetector": [anomaly.LocalRXDetector(n_components=3, inner_window=3,
                                                outer_window=9)],
    "LowRankSparseDetector": [anomaly.LowRankSparseDetector(max_iter=10)],
    "QuantileBinaryDecider": [anomaly.QuantileBinaryDecider()],
    "FalseAlarmDecider": [anomaly.FalseAlarmDecider()],
    "RXDetector": [anomaly.RXDetector()],
    "RecallThresholdDecider": [anomaly.RecallThresholdDecider()],
    "VAEDetector": [anomaly.VAEDetector(hidden=4, **_TORCH),
                    anomaly.VAEDetector(spatial=True, hidden=4, tile_size=16, **_TORCH)],
    "BandpassByWavelength": [preprocessing.BandpassByWavelength()],
    "PerPixelUnitNorm": [preprocessing.PerPixelUnitNorm()],
    "ZScoreNormalizerGlobal": [preprocessing.ZScoreNormalizerGlobal()],
    "BandSampler": [preprocessing.BandSampler(3)],
    "MinMaxScalerPerBand": [preprocessing.MinMaxScalerPerBand()],
    "PerPixelStandardizer": [preprocessing.PerPixelStandardizer()],
    "TrainablePCA": [TrainablePCA(3)],
    "ConcreteBandSelector": [ConcreteBandSelector(n_bands=2, **_TORCH)],
    "LearnableChannelMixer": [LearnableChannelMixer(3, **_TORCH),  # min-max per image
                              LearnableChannelMixer(3, normalize_output=False, **_TORCH)],
    "BandConvolution": [spatial.BandConvolution(kernel_size=5)],
    "PatchFeatures": [spatial.PatchFeatures(3)],
    "Pool2D": [spatial.Pool2D(2)],
    "SobelEdges": [spatial.SobelEdges()],
    "Upsample2D": [spatial.Upsample2D(2)],
    "SpectralMLPClassifier": [classification.SpectralMLPClassifier(hidden=8, **_TORCH)],
    "SpectralSpatialClassifier": [classification.SpectralSpatialClassifier(n_components=3)],
    "PatchClassifier": [classification.PatchClassifier(patch_size=5, hidden=8,
                                                        windows_per_epoch=64, **_TORCH)],
    "UNetSegmenter": [classification.UNetSegmenter(hidden=4, n_levels=1, tile_size=16,
                                                   tiles_per_epoch=2, **_TORCH)],
    "SimCLREncoder": [SimCLREncoder(4, hidden=8, n_layers=1, n_heads=2, band_group=4,
                                    batch_size=32, **_TORCH),
                      SimCLREncoder(4, hidden=8, n_layers=1, n_heads=2, patch_size=3,
                                    batch_size=32, **_TORCH)],
}
#: Factories and chains whose reach adds up over their steps.
PIPELINES = {
    "make_attribute_filter_pipeline": make_attribute_filter_pipeline(n_components=3),
    "make_deep_svdd_pipeline": make_deep_svdd_pipeline(n_rff=32, hidden=8, rep_dim=4,
                                                       **_TORCH),
    "SobelEdges > RX": make_pipeline(spatial.SobelEdges(direction=False),
                                     anomaly.RXDetector()),
    "BandConvolution > RX": make_pipeline(spatial.BandConvolution(kernel_size=5),
                                          anomaly.RXDetector()),
    "PatchFeatures > LocalRX": make_pipeline(
        spatial.PatchFeatures(3), anomaly.LocalRXDetector(n_components=3, inner_window=3,
                                                          outer_window=7)),
}
_MAPS = ("QuantileBinaryDecider", "FalseAlarmDecider",
         "RecallThresholdDecider")  # they take score maps


def _public_estimators():
    return set(public_estimators())


def test_every_public_estimator_is_covered():
    assert _public_estimators() == set(CASES)


def _method(estimator):
    for name in ("anomaly_score", "predict_proba", "transform", "decision_function"):
        if hasattr(estimator, name):
            return getattr(estimator, name)
    raise AssertionError(f"{type(estimator).__name__} has no per-pixel method")


def _fit(estimator):
    cube = _CUBE.cube.astype(np.float32)
    if isinstance(estimator, classification.SpectralMLPClassifier):
        keep = _LABELS.ravel() > 0
        return estimator.fit(cube.reshape(-1, 8)[keep], _LABELS.ravel()[keep])
    if is_classifier(estimator):
        return estimator.fit(cube, _LABELS)
    return estimator.fit(cube)


_ALL = [pytest.param(est, id=f"{name}-{i}") for name, ests in CASES.items()
        for i, est in enumerate(ests) if name not in _MAPS] + \
       [pytest.param(pipe, id=name) for name, pipe in PIPELINES.items()]


def _close(blocked, whole):
    scale = max(float(np.abs(whole).max()), 1e-12)
    np.testing.assert_allclose(blocked, whole, rtol=1e-5, atol=1e-6 * scale)


@pytest.mark.parametrize("estimator", _ALL)
def test_blocks_equal_the_whole_image(estimator, tmp_path):
    from skhsi.io import read_envi
    from skhsi.parallel import map_blocks
    from skhsi.serving import score_file, tiling

    estimator = _fit(estimator)
    reach = spatial_reach(estimator)
    cube = _CUBE.cube.astype(np.float32)
    method = _method(estimator)
    whole = np.asarray(method(cube))
    lazy = da.from_array(cube)
    n_outputs = whole.shape[-1] if whole.ndim == 3 else None
    if not reach.blockwise:
        with pytest.raises(ValueError, match="whole image|pixel grid"):
            map_blocks(method, lazy, n_outputs=n_outputs)
        if reach.is_global and hasattr(estimator, "anomaly_score"):
            assert not tiling(estimator).exact
        return
    for rows in (8, 25, 32):
        blocked = map_blocks(method, lazy.rechunk((rows, 11, -1)), n_outputs=n_outputs)
        _close(blocked.compute(), whole)
        if hasattr(estimator, "anomaly_score"):
            np.save(tmp_path / "cube.npy", cube)
            summary = score_file(estimator, tmp_path / "cube.npy", tmp_path, tile_rows=rows)
            assert summary["tiling"]["exact"]
            written = read_envi(tmp_path / "cube_scores.hdr", mmap=False).cube[..., 0]
            _close(written, whole.astype(np.float32))


@pytest.mark.parametrize("name", _MAPS)
def test_deciders_declare_their_reach(name):
    scores = np.random.default_rng(0).random((20, 30))
    decider = CASES[name][0]
    decider.fit(scores, scores > 0.9) if name == "RecallThresholdDecider" else \
        decider.fit(scores)
    reach = spatial_reach(decider)
    if name == "QuantileBinaryDecider":  # a quantile of each map
        assert reach.is_global
    else:  # a fixed threshold: pixel by pixel
        assert reach == SpatialReach()
        whole = decider.transform(scores)
        assert np.array_equal(np.concatenate([decider.transform(scores[:7]),
                                              decider.transform(scores[7:])]), whole)


@pytest.mark.parametrize("estimator, halo", [
    (anomaly.RXDetector(), 0),
    (anomaly.LocalRXDetector(outer_window=15), 7),
    (spatial.SobelEdges(), 1),
    (spatial.BandConvolution(np.ones((2, 7, 7))), 3),
    (make_pipeline(spatial.SobelEdges(), spatial.PatchFeatures(5),
                   anomaly.LocalRXDetector()), 1 + 2 + 10),
    # Sobel and bilinear upsampling each reach 1 pooled pixel: 2 input pixels.
    (make_pipeline(spatial.Pool2D(2), spatial.SobelEdges(), spatial.Upsample2D(2)), 2 + 2),
    (anomaly.ConsensusDetector([("rx", anomaly.RXDetector()),
                                ("local", anomaly.LocalRXDetector(outer_window=11))]), 5),
    (anomaly.LowRankSparseDetector(), GLOBAL),
    (make_pipeline(anomaly.LowRankSparseDetector()), GLOBAL),
])
def test_declared_reach_adds_up_along_a_pipeline(estimator, halo):
    reach = spatial_reach(estimator)
    assert reach.halo == halo
    assert reach.zoom == 1


def test_a_pooling_chain_keeps_its_grid():
    pooled = make_pipeline(spatial.Pool2D(2), spatial.SobelEdges())
    assert spatial_reach(pooled) == (2, 2, 0.5)
