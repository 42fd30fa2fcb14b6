import numpy as np
import pytest

from skhsi.pipeline import make_deep_svdd_pipeline

da = pytest.importorskip("dask.array")

from skhsi.parallel import from_envi, map_blocks, store_scores  # noqa: E402


@pytest.fixture(scope="module")
def real(indian_pines):
    """A 100 x 80 crop of the embedded real scene, 200 bands."""
    return indian_pines.cube[:100, :80]


@pytest.fixture(scope="module")
def fitted(real):
    pipe = make_deep_svdd_pipeline(random_state=0, max_epochs=2, n_rff=64, hidden=16,
                                   rep_dim=4, device="cpu")
    return pipe.fit(real)


def test_block_wise_scores_equal_in_memory_scores(fitted, real):
    lazy = map_blocks(fitted.anomaly_score, da.from_array(real, chunks=(32, 20, 40)))
    assert lazy.shape == (100, 80)
    assert np.allclose(lazy.compute(), fitted.anomaly_score(real), rtol=1e-5)


def test_predict_and_transform_block_wise(fitted, real):
    dcube = da.from_array(real, chunks=(50, 40, 200))
    pred = map_blocks(fitted.predict, dcube, dtype=np.int64).compute()
    assert np.array_equal(pred, fitted.predict(real))
    z = map_blocks(fitted[:-1].transform, dcube, n_outputs=200).compute()
    assert np.allclose(z, fitted[:-1].transform(real))


def test_batch_of_cubes(fitted, real):
    batch = np.stack([real[:50], real[50:]])
    lazy = map_blocks(fitted.anomaly_score, da.from_array(batch, chunks=(1, 25, 40, 200)))
    assert lazy.compute().shape == (2, 50, 80)
    np.testing.assert_allclose(lazy.compute(), fitted.anomaly_score(batch), rtol=1e-10)


def test_errors(fitted, real):
    with pytest.raises(TypeError, match="expects a dask array, got ndarray"):
        map_blocks(fitted.anomaly_score, real)
    with pytest.raises(ValueError, match="got 1-D"):
        map_blocks(fitted.anomaly_score, da.zeros(5))


def test_spatial_detector_block_wise_equals_in_memory(real):
    """An image-layout node gets overlapping blocks aligned to its pooling grid."""
    from skhsi.anomaly import AutoencoderDetector

    crop = real[:60, :50].astype(np.float32)
    for params in ({"n_layers": 2}, {"blind_spot": True}):
        det = AutoencoderDetector(spatial=True, hidden=8, max_epochs=1, tile_size=16,
                                  random_state=0, device="cpu", **params).fit(crop)
        lazy = map_blocks(det.anomaly_score, da.from_array(crop, chunks=(21, 17, 200)))
        assert lazy.shape == (60, 50) and lazy.numblocks[0] > 1 and lazy.numblocks[1] > 1
        np.testing.assert_allclose(lazy.compute(), det.anomaly_score(crop), rtol=1e-5,
                                   atol=1e-5)
        with pytest.raises(ValueError, match="expects one cube"):
            map_blocks(det.anomaly_score, da.from_array(crop.reshape(-1, 200)))


def test_store_scores_writes_npy_equal_to_in_memory(fitted, real, tmp_path):
    dcube = da.from_array(real, chunks=(32, 20, 200))
    out = store_scores(fitted.anomaly_score, dcube, tmp_path / "s.npy", dtype=np.float64)
    assert out == tmp_path / "s.npy"
    np.testing.assert_allclose(np.load(out), fitted.anomaly_score(real), rtol=1e-5)
    z = store_scores(fitted[:-1].transform, dcube, tmp_path / "z.npy", n_outputs=200)
    assert np.load(z).shape == (100, 80, 200) and np.load(z).dtype == np.float32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npy", "z.npy"]


def test_store_scores_leaves_nothing_half_written(real, tmp_path):
    from skhsi.anomaly import RXDetector

    rx = RXDetector().fit(real)
    target = tmp_path / "scores.npy"
    np.save(target, np.arange(3))
    with pytest.raises(ValueError, match="writes a .npy file; got '.*scores.bin'"):
        store_scores(rx.anomaly_score, da.from_array(real), tmp_path / "scores.bin")
    bad = da.from_array(real[..., :50], chunks=(50, 80, 50))  # wrong band count
    with pytest.raises(ValueError, match="features"):
        store_scores(rx.anomaly_score, bad, target)
    assert [p.name for p in tmp_path.iterdir()] == ["scores.npy"]
    np.testing.assert_array_equal(np.load(target), np.arange(3))


def test_from_envi_reads_blocks_in_native_order(tmp_path):
    from skhsi.io import write_envi

    cube = np.random.default_rng(0).normal(size=(20, 12, 7)).astype(np.float32)
    for interleave, order in (("bsq", "little"), ("bip", "big")):
        hdr, data = write_envi(tmp_path / interleave, cube, interleave=interleave,
                               byte_order=order)
        lazy = from_envi(data, chunks=(8, 5, -1))
        assert lazy.numblocks == (3, 3, 1) and lazy.dtype == np.dtype("float32")
        assert lazy.blocks[1, 2].compute().dtype.isnative
        np.testing.assert_array_equal(lazy.compute(), cube)
    with pytest.raises(FileNotFoundError):
        from_envi(tmp_path / "missing.hdr")
