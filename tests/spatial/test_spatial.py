import pickle

import numpy as np
import pytest
from scipy import ndimage
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skhsi.spatial import BandConvolution, PatchFeatures, Pool2D, SobelEdges, Upsample2D

TRANSFORMERS = [SobelEdges(), SobelEdges(direction=False), BandConvolution(np.ones((3, 3))),
                BandConvolution(np.stack([np.eye(3), np.ones((3, 3))]), mode="nearest"),
                Pool2D(), Pool2D(3, stride=1, padding=1, method="mean"), Upsample2D(),
                Upsample2D(3, method="nearest"), Upsample2D(method="transposed"),
                PatchFeatures(), PatchFeatures(5)]
IDS = [repr(t) for t in TRANSFORMERS]


@pytest.fixture
def cube():
    return np.random.default_rng(0).random((12, 10, 4))


# -- the estimator contract on cubes (scikit-learn's checks feed pixel tables) ------
@pytest.mark.parametrize("est", TRANSFORMERS, ids=IDS)
def test_cube_contract(est, cube):
    est = clone(est)
    with pytest.raises(NotFittedError):
        est.transform(cube)
    assert est.fit(cube) is est and est.n_features_in_ == 4
    out = est.transform(cube)
    assert out.ndim == 3 and np.all(np.isfinite(out))
    np.testing.assert_array_equal(clone(est).fit(cube).transform(cube), out)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).transform(cube), out)
    batch = est.transform(np.stack([cube, cube[::-1]]))
    np.testing.assert_allclose(batch[0], out)
    np.testing.assert_allclose(est.transform(cube.astype(np.float32)), out, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(est.fit_transform(cube), out)


@pytest.mark.parametrize("est", TRANSFORMERS, ids=IDS)
def test_cube_errors(est, cube):
    est = clone(est)
    with pytest.raises(ValueError, match="works on images.*2-D array.*no spatial neighbours"):
        est.fit(cube.reshape(-1, 4))
    bad = cube.copy()
    bad[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad)
    est.fit(cube)
    with pytest.raises(ValueError, match="4 features"):
        est.transform(cube[..., :3])


# -- what each one computes -----------------------------------------------------------
def test_sobel_is_scipys_per_band(cube):
    out = SobelEdges().fit_transform(cube)
    gy, gx = ndimage.sobel(cube[..., 2], axis=0), ndimage.sobel(cube[..., 2], axis=1)
    np.testing.assert_allclose(out[..., 2], np.hypot(gx, gy))
    np.testing.assert_allclose(out[..., 4 + 2], np.arctan2(gy, gx))
    flat = SobelEdges().fit_transform(np.ones((6, 6, 2)))
    assert np.all(flat[..., :2] == 0)
    assert list(SobelEdges().fit(cube).get_feature_names_out())[:2] == ["sobel_mag_band0",
                                                                         "sobel_mag_band1"]


def test_band_convolution_identity_and_stacks(cube):
    identity = np.zeros((3, 3))
    identity[1, 1] = 1
    np.testing.assert_allclose(BandConvolution(identity).fit_transform(cube), cube)
    out = BandConvolution(np.stack([identity, 2 * identity])).fit_transform(cube)
    assert out.shape == (12, 10, 8)
    np.testing.assert_allclose(out[..., 4:], 2 * cube)
    with pytest.raises(ValueError, match="odd k"):
        BandConvolution(np.ones((2, 2))).fit(cube)


def test_pooling_values_and_shapes(cube):
    out = Pool2D(2).fit_transform(cube)
    assert out.shape == (6, 5, 4)
    assert out[1, 2, 3] == cube[2:4, 4:6, 3].max()
    mean = Pool2D(3, stride=2, padding=1, method="mean").fit_transform(cube)
    assert mean.shape == ((12 + 2 - 3) // 2 + 1, (10 + 2 - 3) // 2 + 1, 4)
    assert np.isclose(mean[1, 1, 0], cube[1:4, 1:4, 0].mean())
    with pytest.raises(ValueError, match="at least 5 x 5"):
        Pool2D(5).fit(cube).transform(cube[:3, :3])


def test_upsampling_inverts_mean_pooling_of_blocks(cube):
    up = Upsample2D(2, method="nearest").fit_transform(cube)
    np.testing.assert_array_equal(up, np.repeat(np.repeat(cube, 2, axis=0), 2, axis=1))
    np.testing.assert_allclose(Pool2D(2, method="mean").fit_transform(up), cube)
    flat = Upsample2D(3).fit_transform(np.full((4, 4, 2), 7.0))
    assert flat.shape == (12, 12, 2) and np.allclose(flat, 7.0)


def test_patch_features_hold_the_neighbourhood(cube):
    patches = PatchFeatures(3).fit_transform(cube)
    assert patches.shape == (12, 10, 36)
    np.testing.assert_array_equal(patches[4, 5].reshape(3, 3, 4), cube[3:6, 4:7])
    # reflect padding at the corner: the window of (0, 0) mirrors rows/columns 1
    corner = patches[0, 0].reshape(3, 3, 4)
    np.testing.assert_array_equal(corner[0, 0], cube[1, 1])
    np.testing.assert_array_equal(corner[1, 1], cube[0, 0])
    names = PatchFeatures(3).fit(cube).get_feature_names_out()
    assert len(names) == 36 and names[0] == "patch_-1_-1_band0"
    with pytest.raises(ValueError, match="size must be odd"):
        PatchFeatures(4).fit(cube)


def test_patch_features_give_rx_spatial_context(indian_pines):
    """Patch features in front of a per-pixel estimator, on the embedded real scene."""
    from sklearn.decomposition import PCA

    crop = indian_pines.cube[:40, :40].astype(np.float64)
    reduced = PCA(5).fit_transform(crop.reshape(-1, 200)).reshape(40, 40, 5)
    patches = PatchFeatures(3).fit_transform(reduced)
    from skhsi.anomaly import RXDetector

    scores = RXDetector().fit(patches).anomaly_score(patches)
    assert scores.shape == (40, 40) and np.all(np.isfinite(scores))


@pytest.mark.parametrize("mode", ["mirror", "nearest", "constant", "wrap"])
def test_band_convolution_module_equals_the_transform(cube, mode):
    import torch

    kernels = np.random.default_rng(1).normal(size=(2, 5, 5))
    conv = BandConvolution(kernels, mode=mode).fit(cube)
    module = conv._as_module()
    with torch.no_grad():
        out = module(torch.as_tensor(cube[None], dtype=torch.float32)).numpy()[0]
    np.testing.assert_allclose(out, conv.transform(cube), rtol=1e-4, atol=1e-5)


def test_learned_band_convolution_trains_in_front_of_a_spatial_detector(cube):
    from skhsi.anomaly import AutoencoderDetector
    from skhsi.pipeline import make_pipeline

    pipe = make_pipeline(BandConvolution(trainable=True),
                         AutoencoderDetector(spatial=True, hidden=4, max_epochs=3, tile_size=8,
                                             random_state=0, device="cpu"))
    pipe.fit(cube)
    identity = np.zeros((3, 3))
    identity[1, 1] = 1
    assert not np.allclose(pipe[0].kernels_[0], identity)     # trained end to end
    assert pipe.anomaly_score(cube).shape == (12, 10)
    frozen = make_pipeline(BandConvolution(), AutoencoderDetector(
        spatial=True, hidden=4, max_epochs=1, tile_size=8, random_state=0, device="cpu"))
    np.testing.assert_array_equal(frozen.fit(cube)[0].kernels_[0], identity)


def test_learned_convolution_cannot_feed_a_pixel_head(cube):
    from skhsi.anomaly import DeepSVDD
    from skhsi.pipeline import make_pipeline

    pipe = make_pipeline(BandConvolution(trainable=True),
                         DeepSVDD(max_epochs=1, n_rff=16, hidden=4, rep_dim=2, device="cpu"))
    with pytest.raises(ValueError, match="image step in front of a pixel head"):
        pipe.fit(cube)


@pytest.mark.parametrize("method, factor", [("nearest", 2), ("bilinear", 2), ("bilinear", 3),
                                            ("transposed", 2), ("transposed", 3)])
def test_upsampling_module_equals_the_transform(cube, method, factor):
    import torch

    up = Upsample2D(factor, method=method).fit(cube)
    with torch.no_grad():
        out = up._as_module()(torch.as_tensor(cube[None], dtype=torch.float32)).numpy()[0]
    np.testing.assert_allclose(out, up.transform(cube), rtol=1e-5, atol=1e-5)


def test_transposed_upsampling_starts_as_bilinear_inside_and_learns(cube):
    from skhsi.anomaly import AutoencoderDetector
    from skhsi.pipeline import make_pipeline

    for factor in (2, 3):
        bilinear = Upsample2D(factor).fit_transform(cube)
        transposed = Upsample2D(factor, method="transposed").fit_transform(cube)
        inner = slice(2 * factor, -2 * factor)
        np.testing.assert_allclose(transposed[inner, inner], bilinear[inner, inner], atol=1e-5)
    with pytest.raises(ValueError, match="needs method='transposed'"):
        Upsample2D(trainable=True).fit(cube)
    pipe = make_pipeline(Upsample2D(method="transposed", trainable=True),
                         AutoencoderDetector(spatial=True, hidden=4, max_epochs=3, tile_size=8,
                                             random_state=0, device="cpu"))
    start = Upsample2D(method="transposed").fit(cube).kernel_
    pipe.fit(cube)
    assert not np.allclose(pipe[0].kernel_, start)
    assert pipe.anomaly_score(cube).shape == (24, 20)
