"""The node contract (skhsi._node.TorchNode) for every sample layout, on a small test node.

``_RingRegressor`` is a patch-layout detector written the way the
development guide says a node is written: it predicts each pixel's spectrum
from the ring of its ``patch_size`` window with a linear map, and scores the
squared error.
"""

from numbers import Integral

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval

from skhsi._node import TorchNode
from skhsi.anomaly._base import SpectralOutlierMixin
from skhsi.datasets import make_synthetic_scene
from skhsi.metrics import roc_auc
from skhsi.pipeline import make_pipeline
from skhsi.preprocessing import ZScoreNormalizerGlobal


class _Ring(torch.nn.Module):
    def __init__(self, size, n_bands):
        super().__init__()
        mask = torch.ones(size, size)
        mask[size // 2, size // 2] = 0
        self.register_buffer("mask", mask)
        self.linear = torch.nn.Linear(n_bands, n_bands)
        self.size = size

    def objective_inputs(self, windows):  # (n, k, k, C)
        ring = (windows * self.mask[None, :, :, None]).sum(dim=(1, 2)) / self.mask.sum()
        centre = windows[:, self.size // 2, self.size // 2]
        return self.linear(ring), centre

    def forward(self, windows):
        prediction, centre = self.objective_inputs(windows)
        return (prediction - centre).pow(2).mean(dim=-1)


class _MSE(torch.nn.Module):
    def forward(self, y_pred, y_true=None):
        prediction, centre = y_pred
        return (prediction - centre).pow(2).mean()


class _RingRegressor(TorchNode, SpectralOutlierMixin, BaseEstimator):
    sample_layout = "patch"
    _parameter_constraints = {"patch_size": [Interval(Integral, 3, None, closed="left")],
                              **TorchNode._training_parameter_constraints}

    def __init__(self, patch_size=3, *, max_epochs=3, lr=1e-2, batch_size=256,
                 optimizer="adam", weight_decay=0.0, l1=0.0, l2=0.0, patience=None,
                 lr_schedule=None,
                 callbacks=None, tensorboard_dir=None, verbose=0, device="cpu",
                 precision="float32", random_state=None):
        self.patch_size = patch_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.l1 = l1
        self.l2 = l2
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.callbacks = callbacks
        self.tensorboard_dir = tensorboard_dir
        self.verbose = verbose
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.contamination = 0.01

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        return self._fit(X, y)

    def _build_module(self, generator=None):
        return _Ring(self.patch_size, self.n_features_in_).eval()

    def _fit_statistics(self, cubes, y=None):
        self.module_ = self._build_module(generator=True)
        return self

    def _make_criterion(self):
        return _MSE()

    def _training_subset(self, X, y, seed):
        return self._patch_samples(X, seed=seed, max_samples=500), None

    def _finish_fit(self, cubes):
        self._set_offset(np.concatenate([m.ravel() for m in self._scores(cubes)]))
        return self

    def _scores(self, cubes):
        return self._map_cubes(self.module_, cubes, batch_size=self.batch_size)

    def _map(self, X):
        cubes, kind = self._validate_images(X, reset=False)
        return self._images_back(self._scores(cubes), kind)


@pytest.fixture(scope="module")
def scene():
    return make_synthetic_scene((30, 28, 8), random_state=0)


def test_patch_node_trains_on_windows_and_scores_every_pixel(scene):
    node = _RingRegressor(max_epochs=20, random_state=0).fit(scene.cube)
    assert len(node.history_) == 20
    losses = [row["train_loss"] for row in node.history_]
    assert losses[-1] < losses[0] / 5
    scores = node.anomaly_score(scene.cube)
    assert scores.shape == (30, 28)
    assert roc_auc(scene.mask, scores) > 0.7  # 0.76-0.9 across run orders
    assert node.predict(np.stack([scene.cube, scene.cube])).shape == (2, 30, 28)


def test_patch_scores_are_the_windows_of_each_pixel(scene):
    node = _RingRegressor(random_state=0).fit(scene.cube)
    padded = np.pad(scene.cube, ((1, 1), (1, 1), (0, 0)), mode="reflect")
    with torch.no_grad():
        window = torch.as_tensor(padded[10:13, 5:8][None])
        expected = node.module_(window).item()
    assert node.anomaly_score(scene.cube)[10, 5] == pytest.approx(expected, rel=1e-5)
    # batches of windows do not change the result
    a = node.set_params(batch_size=7).anomaly_score(scene.cube)
    b = node.set_params(batch_size=4096).anomaly_score(scene.cube)
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_patch_node_refuses_pixel_tables(scene):
    with pytest.raises(ValueError, match="sample_layout='patch'.*no spatial neighbours"):
        _RingRegressor().fit(scene.cube.reshape(-1, 8))


def test_patch_head_trains_end_to_end_behind_pixel_steps(scene):
    pipe = make_pipeline(ZScoreNormalizerGlobal(trainable=True), _RingRegressor(random_state=0))
    pipe.fit(scene.cube)
    assert not np.allclose(pipe[0].mean_, scene.cube.reshape(-1, 8).mean(axis=0))
    assert pipe.anomaly_score(scene.cube).shape == (30, 28)


def test_dask_scoring_of_a_patch_node(scene):
    da = pytest.importorskip("dask.array")
    from skhsi.parallel import map_blocks

    node = _RingRegressor(random_state=0).fit(scene.cube)
    lazy = map_blocks(node.anomaly_score, da.from_array(scene.cube, chunks=(9, 10, 8)))
    np.testing.assert_allclose(lazy.compute(), node.anomaly_score(scene.cube), rtol=1e-5)


@pytest.mark.parametrize("device", ["gpu", "CUDA", "", "cuda:x"])
def test_unknown_devices_fail_before_any_work(device):
    from skhsi.anomaly import DeepSVDD

    X = np.random.default_rng(0).normal(size=(64, 4))
    with pytest.raises(ValueError, match=r"device must be 'auto', 'cpu', 'cuda', "
                                         r"'cuda:<index>' or 'mps'"):
        DeepSVDD(max_epochs=1, device=device, n_rff=16, rep_dim=2).fit(X)


def test_a_torch_device_is_accepted():
    import torch

    from skhsi.anomaly import DeepSVDD

    X = np.random.default_rng(0).normal(size=(64, 4))
    detector = DeepSVDD(max_epochs=1, device=torch.device("cpu"), n_rff=16, rep_dim=2,
                        random_state=0).fit(X)
    assert detector.anomaly_score(X).shape == (64,)


def test_values_beyond_what_statistics_can_square_are_an_error_not_nan_scores():
    from skhsi.anomaly import DeepSVDD

    X = np.random.default_rng(0).normal(size=(64, 4))
    big = X.copy()
    big[3, 1] = 1e39
    message = r"DeepSVDD: the input holds 1e\+39, beyond the largest magnitude skhsi " \
              r"accepts \(1e\+18\), at pixel 3 \(row-major\), band 1"
    with pytest.raises(ValueError, match=message):
        DeepSVDD(max_epochs=0, device="cpu", n_rff=16, rep_dim=2).fit(big)
    detector = DeepSVDD(max_epochs=0, device="cpu", n_rff=16, rep_dim=2).fit(X)
    with pytest.raises(ValueError, match=message):
        detector.anomaly_score(big)


def test_a_validation_mask_of_the_wrong_length_fails_before_training():
    from skhsi.anomaly import DeepSVDD

    rng = np.random.default_rng(0)
    X, X_valid = rng.normal(size=(64, 4)), rng.normal(size=(30, 4))
    detector = DeepSVDD(max_epochs=3, device="cpu", n_rff=16, rep_dim=2, random_state=0)
    with pytest.raises(ValueError, match=r"validation mask has shape \(20,\), expected \(30,\)"):
        detector.fit(X, validation_data=(X_valid, np.zeros(20, bool)))
    assert detector.net_ is None  # no epoch ran
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        detector.fit(X, validation_data=X_valid)
