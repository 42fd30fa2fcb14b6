"""Shape handling and the bad-input matrix every node shares."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import NotFittedError

from skhsi.anomaly import DeepSVDD, RXDetector
from skhsi.base import as_pixels, restore_shape
from skhsi.preprocessing import BandpassByWavelength, PerPixelUnitNorm, ZScoreNormalizerGlobal

NODES = [
    BandpassByWavelength(),
    PerPixelUnitNorm(),
    ZScoreNormalizerGlobal(),
    RXDetector(),
    DeepSVDD(max_epochs=1, n_rff=32, hidden=8, rep_dim=4, device="cpu", random_state=0),
]
IDS = [type(node).__name__ for node in NODES]


def _apply(node, X):
    return node.transform(X) if hasattr(node, "transform") else node.anomaly_score(X)


@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 5), (2, 3, 4, 5)])
def test_as_pixels_round_trip(shape):
    X = np.arange(np.prod(shape), dtype=float).reshape(shape)
    pixels, lead = as_pixels(X)
    assert pixels.shape == (int(np.prod(shape[:-1])), shape[-1])
    assert np.array_equal(restore_shape(pixels, lead), X)


@pytest.mark.parametrize("node", NODES, ids=IDS)
@pytest.mark.parametrize("shape", [(6, 7, 5), (2, 6, 7, 5)])
def test_leading_shape_is_kept(node, shape):
    X = np.random.default_rng(0).normal(size=shape)
    node.fit(X)
    out = _apply(node, X)
    assert out.shape[: len(shape) - 1] == shape[:-1]
    flat = _apply(node, X.reshape(-1, shape[-1]))
    assert np.allclose(out.reshape(flat.shape), flat, rtol=1e-5)


@pytest.mark.parametrize("node", NODES, ids=IDS)
class TestBadInput:
    def test_nan(self, node, cube):
        bad = cube.copy()
        bad[0, 0, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            node.fit(bad)

    def test_inf_at_predict(self, node, cube):
        node.fit(cube)
        bad = cube.copy()
        bad[1, 1, 1] = np.inf
        with pytest.raises(ValueError, match="infinity"):
            _apply(node, bad)

    def test_wrong_band_count(self, node, cube):
        node.fit(cube)
        with pytest.raises(ValueError, match="X has 5 features, but .* is expecting 6"):
            _apply(node, cube[..., :5])

    @pytest.mark.parametrize("shape", [(6,), (1, 2, 3, 4, 6)])
    def test_wrong_ndim(self, node, shape):
        with pytest.raises(ValueError, match=f"got a {len(shape)}-D array of shape"):
            node.fit(np.zeros(shape))

    def test_empty(self, node):
        with pytest.raises(ValueError, match="0 sample"):
            node.fit(np.zeros((0, 6)))

    def test_unfitted(self, node, cube):
        from sklearn.base import clone

        with pytest.raises(NotFittedError, match="not fitted yet"):
            _apply(clone(node), cube)

    def test_sparse(self, node):
        with pytest.raises(TypeError, match="Sparse input is not supported"):
            node.fit(sparse.random(10, 6, density=0.5, format="csr"))

    def test_not_an_array(self, node):
        with pytest.raises(TypeError, match="as an array, got str"):
            node.fit("cube.hdr")


def test_string_data_is_a_clear_error():
    with pytest.raises(ValueError, match="could not convert|dtype"):
        ZScoreNormalizerGlobal().fit(np.array([["a", "b"], ["c", "d"]]))
