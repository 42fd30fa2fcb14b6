"""xarray in, xarray out: labelled cubes through the nodes and the pipeline."""

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

from skhsi.anomaly import AttributeFilterDetector, LocalRXDetector, RXDetector  # noqa: E402
from skhsi.datasets import make_synthetic_scene  # noqa: E402
from skhsi.decomposition import TrainablePCA  # noqa: E402
from skhsi.pipeline import make_attribute_filter_pipeline, make_deep_svdd_pipeline  # noqa: E402
from skhsi.preprocessing import (  # noqa: E402
    BandpassByWavelength,
    BandSampler,
    PerPixelUnitNorm,
    ZScoreNormalizerGlobal,
)


@pytest.fixture(scope="module")
def scene():
    return make_synthetic_scene((20, 24, 30), random_state=0)


def _labelled(scene, *, band_first=False, micrometres=False):
    wavelengths = scene.wavelengths / (1000.0 if micrometres else 1.0)
    da = xr.DataArray(
        scene.cube, dims=("y", "x", "band"),
        coords={"y": 100.0 + 30.0 * np.arange(20), "x": 500.0 + 30.0 * np.arange(24),
                "wavelength": ("band", wavelengths,
                               {"units": "micrometers" if micrometres else "nm"})},
        attrs={"sensor": "synthetic", "crs": "EPSG:32616"}, name="reflectance")
    return da.transpose("band", "y", "x") if band_first else da


def test_a_deep_svdd_pipeline_fitted_on_a_dataarray_takes_the_wavelength_coordinate(scene):
    da = _labelled(scene, band_first=True, micrometres=True)
    pipe = make_deep_svdd_pipeline(min_wavelength_nm=500, max_wavelength_nm=900, max_epochs=1,
                                   random_state=0, device="cpu").fit(da)
    keep = np.flatnonzero((scene.wavelengths >= 500) & (scene.wavelengths <= 900))
    assert np.array_equal(pipe[0].selected_bands_, keep)
    np.testing.assert_allclose(pipe[0].wavelengths_in_, scene.wavelengths)
    scores = pipe.anomaly_score(da)
    assert isinstance(scores, xr.DataArray) and scores.dims == ("y", "x")
    np.testing.assert_array_equal(scores["x"], da["x"])
    assert scores.attrs == da.attrs and scores.name == "reflectance"
    # the same numbers as the plain numpy path, with the wavelengths given
    plain = make_deep_svdd_pipeline(wavelengths=scene.wavelengths, min_wavelength_nm=500,
                                    max_wavelength_nm=900, max_epochs=1, random_state=0,
                                    device="cpu").fit(scene.cube)
    np.testing.assert_allclose(scores.values, plain.anomaly_score(scene.cube), rtol=1e-6)
    reduced = pipe[:-1].transform(da)
    assert reduced.dims == ("y", "x", "wavelength")
    np.testing.assert_allclose(reduced["wavelength"], scene.wavelengths[keep])
    assert reduced["wavelength"].attrs["units"] == "nm"


@pytest.mark.parametrize("node", [ZScoreNormalizerGlobal(), PerPixelUnitNorm(),
                                  BandSampler(5, strategy="regions")],
                         ids=lambda n: type(n).__name__)
def test_transformers_keep_the_labels(scene, node):
    da = _labelled(scene)
    out = node.fit(da).transform(da)
    assert isinstance(out, xr.DataArray) and out.dims == ("y", "x", "wavelength")
    kept = getattr(node, "selected_bands_", np.arange(30))
    np.testing.assert_allclose(out["wavelength"], scene.wavelengths[kept])
    np.testing.assert_array_equal(out["y"], da["y"])
    np.testing.assert_allclose(out.values, node.transform(scene.cube))


def test_spatial_transformers_keep_the_labels(scene):
    from skhsi.spatial import Pool2D, SobelEdges

    da = _labelled(scene, band_first=True)
    edges = SobelEdges(direction=False).fit(da).transform(da)
    assert edges.dims == ("y", "x", "wavelength")  # one magnitude per band
    np.testing.assert_allclose(edges.values, SobelEdges(direction=False).fit_transform(scene.cube))
    pooled = Pool2D(size=2, stride=2).fit(da).transform(da)  # a smaller grid: plain array
    assert isinstance(pooled, np.ndarray) and pooled.shape == (10, 12, 30)


def test_rioxarray_layout_band_first_with_integer_band_labels(scene):
    # rioxarray.open_rasterio gives (band, y, x) with bands numbered 1..C and no wavelengths
    da = xr.DataArray(scene.cube.transpose(2, 0, 1), dims=("band", "y", "x"),
                      coords={"band": np.arange(1, 31), "y": np.arange(20.0),
                              "x": np.arange(24.0)})
    scores = RXDetector().fit(da).anomaly_score(da)
    assert scores.dims == ("y", "x")
    with_wavelengths = da.assign_coords(wavelength=("band", scene.wavelengths))
    sampler = BandSampler(3, strategy="rgb").fit(with_wavelengths)
    assert sampler.transform(with_wavelengths).dims == ("y", "x", "wavelength")


def test_projections_get_a_component_dimension(scene):
    out = TrainablePCA(4).fit(_labelled(scene)).transform(_labelled(scene))
    assert out.dims == ("y", "x", "component") and out.sizes["component"] == 4


@pytest.mark.parametrize("detector", [RXDetector(), LocalRXDetector(), AttributeFilterDetector(),
                                      make_attribute_filter_pipeline()],
                         ids=["RX", "LocalRX", "Attribute", "default pipeline"])
def test_detectors_give_labelled_maps(scene, detector):
    da = _labelled(scene, band_first=True)
    detector.fit(da)
    for method in ("anomaly_score", "score_samples", "decision_function", "predict"):
        out = getattr(detector, method)(da)
        assert isinstance(out, xr.DataArray) and out.dims == ("y", "x"), method
        np.testing.assert_allclose(out.values, getattr(detector, method)(scene.cube))


def test_labels_given_as_a_dataarray_are_aligned_with_the_cube(scene):
    from skhsi.classification import SpectralMLPClassifier

    da = _labelled(scene)
    labels = xr.DataArray(scene.mask.astype(int) + 1, dims=("y", "x")).transpose("x", "y")
    params = dict(hidden=8, max_epochs=3, device="cpu", random_state=0)
    labelled = SpectralMLPClassifier(**params).fit(da, labels)
    plain = SpectralMLPClassifier(**params).fit(scene.cube, scene.mask.astype(int) + 1)
    predicted = labelled.predict(da)
    assert predicted.dims == ("y", "x")
    np.testing.assert_array_equal(predicted.values, plain.predict(scene.cube))


def test_image_to_xarray_round_trips_through_a_node(scene):
    da = scene.to_xarray()
    assert da.dims == ("y", "x", "band") and "mask" in da.coords
    scores = RXDetector().fit(da).anomaly_score(da)
    assert scores.dims == ("y", "x") and "mask" in scores.coords


def test_a_dataarray_without_a_spectral_dimension_is_a_clear_error(scene):
    da = xr.DataArray(scene.cube, dims=("row", "col", "channels"))
    with pytest.raises(ValueError, match=r"needs a spectral dimension named one of.*"
                                         r"got dimensions \('row', 'col', 'channels'\)"):
        RXDetector().fit(da)


def test_limits_without_any_wavelengths_still_say_so(scene):
    da = xr.DataArray(scene.cube, dims=("y", "x", "band"))
    with pytest.raises(ValueError, match="no DataArray with a wavelength coordinate"):
        BandpassByWavelength(min_wavelength_nm=500).fit(da)
