"""A new detector touches its module, its test and the lists the suite checks, nothing else.

A toy per-pixel detector (distance to the training median, scaled by the training MAD) is
written here the way a contributor would write ``skhsi/anomaly/_median.py``: the
estimator contract and a docstring, then the one line that makes it public (its name in
``skhsi.anomaly``'s ``__all__``). Model files, ``skhsi score``'s block-wise serving, dask
scoring, the pipeline and scikit-learn's checks then work without touching persistence,
serving, parallel or the pipeline; and the suite's coverage tests name it as missing until
its configurations are added (docs/development.rst lists the steps).
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import check_estimator

from skhsi import anomaly
from skhsi.anomaly._base import SpectralOutlierMixin
from skhsi.datasets import make_synthetic_scene


class MedianDetector(SpectralOutlierMixin, BaseEstimator):
    """Distance of every pixel to the training median, in training MADs.

    Parameters
    ----------
    contamination : float, default=0.01
        Fraction of training pixels flagged by ``predict``.

    Attributes
    ----------
    median_ : ndarray of shape (n_features_in_,)
    scale_ : ndarray of shape (n_features_in_,)
    offset_ : float
    n_features_in_ : int
    """

    _parameter_constraints = {"contamination": SpectralOutlierMixin._contamination_constraint}

    def __init__(self, contamination=0.01):
        self.contamination = contamination

    def fit(self, X, y=None):
        self._validate_params()
        pixels, _ = self._validate_spectral(X, reset=True)
        self.median_ = np.median(pixels, axis=0)
        mad = np.median(np.abs(pixels - self.median_), axis=0)
        self.scale_ = np.where(mad > 0, mad, 1.0)
        self._set_offset(self._anomaly_scores(pixels))
        return self

    def _anomaly_scores(self, pixels):
        return np.sqrt(((pixels - self.median_) / self.scale_) ** 2).sum(axis=1)


MedianDetector.__module__ = "skhsi.anomaly._median"  # as if it lived in the package


@pytest.fixture
def published(monkeypatch):
    """``MedianDetector`` made public the way a contributor does: ``__all__`` and the name."""
    import sys
    import types

    module = types.ModuleType("skhsi.anomaly._median")
    module.MedianDetector = MedianDetector
    monkeypatch.setitem(sys.modules, "skhsi.anomaly._median", module)
    monkeypatch.setattr(anomaly, "__all__", [*anomaly.__all__, "MedianDetector"])
    monkeypatch.setattr(anomaly, "MedianDetector", MedianDetector, raising=False)
    return make_synthetic_scene((41, 23, 6), random_state=1).cube.astype(np.float32)


def test_model_files_serving_dask_and_pipelines_take_it_as_it_is(published, tmp_path):
    import dask.array as da

    from skhsi.base import spatial_reach
    from skhsi.io import read_envi
    from skhsi.parallel import map_blocks
    from skhsi.persistence import load_weights, save_weights
    from skhsi.pipeline import make_pipeline
    from skhsi.preprocessing import ZScoreNormalizerGlobal
    from skhsi.serving import score_file

    cube = published
    detector = MedianDetector().fit(cube)
    whole = detector.anomaly_score(cube)
    assert spatial_reach(detector).halo == 0
    save_weights(detector, tmp_path / "m.skhsi")
    assert np.array_equal(load_weights(tmp_path / "m.skhsi").anomaly_score(cube), whole)
    np.save(tmp_path / "cube.npy", cube)
    summary = score_file(load_weights(tmp_path / "m.skhsi"), tmp_path / "cube.npy", tmp_path,
                         tile_rows=8)
    assert summary["tiling"]["exact"]
    np.testing.assert_allclose(read_envi(tmp_path / "cube_scores.hdr", mmap=False).cube[..., 0],
                               whole, rtol=1e-6)
    lazy = map_blocks(detector.anomaly_score, da.from_array(cube, chunks=(9, 7, -1)))
    np.testing.assert_allclose(lazy.compute(), whole, rtol=1e-6)
    pipe = make_pipeline(ZScoreNormalizerGlobal(), MedianDetector()).fit(cube)
    save_weights(pipe, tmp_path / "p.skhsi")
    assert np.array_equal(load_weights(tmp_path / "p.skhsi").anomaly_score(cube),
                          pipe.anomaly_score(cube))


def test_it_passes_scikit_learns_checks(published):
    check_estimator(MedianDetector())


def test_the_suites_lists_name_it_until_it_is_added(published):
    from .test_reach import test_every_public_estimator_is_covered
    from .test_round_trips import test_every_public_estimator_has_a_configuration

    with pytest.raises(AssertionError, match="MedianDetector"):
        test_every_public_estimator_is_covered()
    with pytest.raises(AssertionError, match="MedianDetector"):
        test_every_public_estimator_has_a_configuration()
