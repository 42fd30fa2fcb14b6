import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from skhsi.nn import as_tensor
from skhsi.preprocessing import BandSampler

WL = np.arange(400, 2500, 20.0)  # 105 bands, 400-2480 nm


@pytest.fixture(scope="module")
def cube():
    return np.random.default_rng(0).normal(size=(6, 7, WL.size))


def test_uniform_evenly_spaced(cube):
    sampler = BandSampler(5).fit(cube)
    assert_array_equal(sampler.selected_bands_, [10, 31, 52, 73, 94])
    assert sampler.selected_wavelengths_ is None
    assert_array_equal(BandSampler(WL.size).fit(cube).selected_bands_, np.arange(WL.size))
    assert sampler.transform(cube).shape == (6, 7, 5)
    assert_array_equal(sampler.transform(cube), cube[..., sampler.selected_bands_])


def test_regions_proportional(cube):
    sampler = BandSampler(21, strategy="regions", wavelengths=WL).fit(cube)
    regions, counts = np.unique(sampler.selected_regions_, return_counts=True)
    # VIS 15 bands, NIR 15, SWIR1 40, SWIR2 35 of 105 -> 3, 3, 8, 7 of 21
    assert dict(zip(regions, counts)) == {"VIS": 3, "NIR": 3, "SWIR1": 8, "SWIR2": 7}
    assert np.all(np.diff(sampler.selected_bands_) > 0)
    custom = BandSampler(2, strategy="regions", wavelengths=WL,
                         regions={"red": (600, 700), "blue": (400, 500)}).fit(cube)
    assert custom.selected_regions_.tolist() == ["blue", "red"]
    assert np.all((custom.selected_wavelengths_ >= 400) & (custom.selected_wavelengths_ < 700))


def test_rgb_order_and_names(cube):
    sampler = BandSampler(strategy="rgb", wavelengths=WL).fit(cube)
    assert_array_equal(sampler.selected_wavelengths_, [640, 540, 460])  # tie: shorter
    assert sampler.get_feature_names_out().tolist() == ["640nm", "540nm", "460nm"]
    assert_array_equal(sampler.wavelengths_out_, sampler.selected_wavelengths_)
    out = sampler.transform(cube)
    assert_array_equal(out[..., 0], cube[..., sampler.selected_bands_[0]])
    assert sampler.get_support().sum() == 3
    assert_array_equal(sampler.inverse_transform(out)[..., sampler.selected_bands_], out)


def test_pca_loading_picks_high_variance_bands():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12)) * 0.1
    X[:, [3, 8]] += rng.normal(size=(300, 1)) * 5.0
    sampler = BandSampler(2, strategy="pca-loading").fit(X)
    assert_array_equal(sampler.selected_bands_, [3, 8])
    assert sampler.band_importances_.shape == (12,)


def test_pca_loading_keeps_its_picks_apart_on_a_known_case():
    # one broad feature loads bands 6-8, a weaker band 15; of 20 bands, k=2 keeps picks
    # 20 // (2 * 2) = 5 bands apart, so 6 and 8 (more variance than 15) give way to 15
    rng = np.random.default_rng(0)
    X = 0.01 * rng.normal(size=(500, 20))
    X[:, 6:9] += rng.normal(size=(500, 1)) * [0.8, 1.0, 0.8]
    X[:, 15] += 0.5 * rng.normal(size=500)
    sampler = BandSampler(2, strategy="pca-loading").fit(X)
    assert_array_equal(sampler.selected_bands_, [7, 15])
    top = np.argsort(-sampler.band_importances_)
    assert top[0] == 7 and set(top[1:3]) == {6, 8} and top[3] == 15  # before the rule
    # a pick at the edge: band 19 leads, bands 15-18 are too close, 14 is the next
    X = 0.01 * rng.normal(size=(500, 20))
    X[:, 14:20] += rng.normal(size=(500, 1)) * [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert_array_equal(BandSampler(2, strategy="pca-loading").fit(X).selected_bands_,
                       [14, 19])
    # as many bands as there are: the least distance is 1 band, every band is kept
    assert_array_equal(BandSampler(20, strategy="pca-loading").fit(X).selected_bands_,
                       np.arange(20))


def test_pca_loading_spreads_on_indian_pines():
    from skhsi.datasets import load_indian_pines

    scene = load_indian_pines()
    n_bands = scene.cube.shape[-1]
    sampler = BandSampler(5, strategy="pca-loading").fit(scene.cube)
    bands = sampler.selected_bands_
    assert len(bands) == 5 and np.all(np.diff(bands) >= n_bands // (2 * 5))
    # still led by the loadings: the most important band of the scene is kept
    assert np.argmax(sampler.band_importances_) in bands


def test_feature_names_without_wavelengths(cube):
    sampler = BandSampler(3).fit(cube.reshape(-1, WL.size))
    assert sampler.get_feature_names_out().tolist() == ["x17", "x52", "x87"]


def test_module_and_joblib(cube, tmp_path):
    sampler = BandSampler(strategy="rgb", wavelengths=WL).fit(cube)
    pixels = cube.reshape(-1, WL.size)
    torch_out = sampler._as_module()(as_tensor(pixels)).numpy()
    np.testing.assert_allclose(torch_out, sampler.transform(pixels), rtol=1e-6)
    joblib.dump(sampler, tmp_path / "s.joblib")
    assert_array_equal(joblib.load(tmp_path / "s.joblib").transform(cube), sampler.transform(cube))


def test_errors(cube):
    with pytest.raises(ValueError, match=r"n_bands=200 is larger than the number of bands"):
        BandSampler(200).fit(cube)
    with pytest.raises(InvalidParameterError, match="'strategy' parameter"):
        BandSampler(strategy="random").fit(cube)
    for strategy in ("regions", "rgb"):
        with pytest.raises(ValueError, match=f"strategy='{strategy}' needs `wavelengths`"):
            BandSampler(strategy=strategy).fit(cube)
    with pytest.raises(ValueError, match="wavelengths has 3 values but the data has 105"):
        BandSampler(strategy="rgb", wavelengths=[1, 2, 3]).fit(cube)
    with pytest.raises(ValueError, match="three distinct bands"):
        BandSampler(strategy="rgb", wavelengths=np.linspace(1000, 2000, WL.size)).fit(cube)
    with pytest.raises(ValueError, match="bands inside the regions"):
        BandSampler(20, strategy="regions", wavelengths=WL,
                    regions={"VIS": (400, 700)}).fit(cube)
    with pytest.raises(ValueError, match="overlap"):
        BandSampler(2, strategy="regions", wavelengths=WL,
                    regions={"a": (400, 700), "b": (600, 900)}).fit(cube)
