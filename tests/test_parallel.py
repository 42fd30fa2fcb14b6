import numpy as np
import pytest

from skhsi.pipeline import make_deep_svdd_pipeline

da = pytest.importorskip("dask.array")

from skhsi.parallel import map_blocks  # noqa: E402


@pytest.fixture(scope="module")
def fitted(hydice):
    pipe = make_deep_svdd_pipeline(random_state=0, max_epochs=2, n_rff=64, hidden=16,
                                   rep_dim=4, device="cpu")
    return pipe.fit(hydice.cube)


def test_block_wise_scores_equal_in_memory_scores(fitted, hydice):
    lazy = map_blocks(fitted.anomaly_score, da.from_array(hydice.cube, chunks=(32, 20, 40)))
    assert lazy.shape == (100, 80)
    assert np.allclose(lazy.compute(), fitted.anomaly_score(hydice.cube), rtol=1e-5)


def test_predict_and_transform_block_wise(fitted, hydice):
    dcube = da.from_array(hydice.cube, chunks=(50, 40, 162))
    pred = map_blocks(fitted.predict, dcube, dtype=np.int64).compute()
    assert np.array_equal(pred, fitted.predict(hydice.cube))
    z = map_blocks(fitted[:-1].transform, dcube, n_outputs=162).compute()
    assert np.allclose(z, fitted[:-1].transform(hydice.cube))


def test_batch_of_cubes(fitted, hydice):
    batch = np.stack([hydice.cube[:50], hydice.cube[50:]])
    lazy = map_blocks(fitted.anomaly_score, da.from_array(batch, chunks=(1, 25, 40, 162)))
    assert lazy.compute().shape == (2, 50, 80)


def test_errors(fitted, hydice):
    with pytest.raises(TypeError, match="expects a dask array, got ndarray"):
        map_blocks(fitted.anomaly_score, hydice.cube)
    with pytest.raises(ValueError, match="got 1-D"):
        map_blocks(fitted.anomaly_score, da.zeros(5))
