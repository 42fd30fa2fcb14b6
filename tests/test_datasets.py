import numpy as np
import pytest

from skhsi.anomaly import RXDetector
from skhsi.datasets import (
    INDIAN_PINES_CLASSES,
    SCENES,
    load_image,
    load_indian_pines,
    make_synthetic_scene,
)
from skhsi.metrics import roc_auc


@pytest.fixture(scope="module")
def indian_pines():
    return load_indian_pines()


def test_indian_pines_cube_labels_and_credit(indian_pines):
    scene = indian_pines
    assert scene.cube.shape == (145, 145, 200) and scene.cube.dtype == np.uint16
    assert scene.mask is None
    assert scene.labels.shape == (145, 145) and int((scene.labels > 0).sum()) == 10249
    assert set(np.unique(scene.labels)) == set(range(17))
    assert scene.metadata["class_names"] == INDIAN_PINES_CLASSES
    assert "doi:10.4231/R7RX991C" in scene.metadata["citation"]
    assert "CC BY 3.0" in scene.metadata["licence"]
    assert scene.metadata["name"] == "indian_pines"


def test_indian_pines_wavelengths_strictly_increasing_over_aviris_range(indian_pines):
    wl = indian_pines.wavelengths
    assert np.all(np.diff(wl) > 0)
    assert wl[0] == pytest.approx(400.02) and wl[-1] == pytest.approx(2498.96)
    # The mistyped centres are restored between their neighbours of spectrometer D.
    i = int(np.searchsorted(wl, 2202.30))
    np.testing.assert_allclose(wl[i:i + 4], [2202.30, 2212.22, 2222.15, 2232.07])
    # Steps are AVIRIS's ~10 nm, or small at the spectrometer overlaps, or the
    # gaps of the removed water-absorption bands.
    steps = np.diff(wl)
    assert steps.max() < 140 and np.sum(steps > 12) == 2


def test_indian_pines_band_order_is_a_permutation_sorting_tensorlys_bands(indian_pines):
    from tensorly.datasets import load_indian_pines as tensorly_load

    raw = tensorly_load()
    order = indian_pines.metadata["band_order"]
    assert sorted(order) == list(range(200)) and order != sorted(order)
    assert np.array_equal(indian_pines.cube, raw.tensor[:, :, order].astype(np.uint16))


def test_indian_pines_vegetation_reflects_in_the_near_infrared(indian_pines):
    """The wavelengths match the data: green fields are brighter at 800 nm than at 670 nm."""
    wl, cube = indian_pines.wavelengths, indian_pines.cube.astype(float)
    woods = indian_pines.labels == 14
    red, nir = np.argmin(abs(wl - 670)), np.argmin(abs(wl - 800))
    assert cube[woods, nir].mean() > 2 * cube[woods, red].mean()


def test_load_image_by_name(indian_pines):
    assert set(SCENES) == {"indian_pines"}
    assert np.array_equal(load_image("indian_pines").cube, indian_pines.cube)
    with pytest.raises(TypeError, match="takes no reader options"):
        load_image("indian_pines", cube_key="x")


def test_unknown_scene_names_the_embedded_ones():
    with pytest.raises(FileNotFoundError, match="neither an embedded scene .indian_pines."):
        load_image("hydice")


def test_load_image_reads_envi(tmp_path):
    from skhsi.io import write_envi

    cube = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    write_envi(tmp_path / "x.hdr", cube, wavelengths=[400, 500, 600, 700], interleave="bil")
    image = load_image(tmp_path / "x.hdr")
    assert np.array_equal(image.cube, cube)
    assert np.array_equal(image.wavelengths, [400, 500, 600, 700])


def test_load_image_passes_keys_to_the_mat_reader(tmp_path):
    from scipy.io import savemat

    cube = np.random.default_rng(0).random((4, 5, 3))
    savemat(tmp_path / "two.mat", {"a": cube, "b": cube[:, :, :2], "gt_map": np.eye(4, 5)})
    image = load_image(tmp_path / "two.mat", cube_key="b", mask_key="gt_map")
    assert image.shape == (4, 5, 2) and int(image.mask.sum()) == 4


def test_synthetic_scene_is_reproducible_and_detectable():
    a = make_synthetic_scene(random_state=0)
    b = make_synthetic_scene(random_state=0)
    c = make_synthetic_scene(random_state=1)
    assert np.array_equal(a.cube, b.cube) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.cube, c.cube)
    assert a.cube.dtype == np.float32 and a.metadata["name"] == "synthetic"
    assert int(a.mask.sum()) == 8 and not a.mask[[0, -1]].any() and not a.mask[:, [0, -1]].any()
    auc = roc_auc(a.mask, RXDetector().fit(a.cube).anomaly_score(a.cube))
    assert 0.9 < auc


def test_synthetic_scene_targets_hide_deeper_with_less_abundance():
    aucs = []
    for abundance in ((0.02, 0.05), (0.5, 0.9)):
        scene = make_synthetic_scene(abundance=abundance, random_state=3)
        aucs.append(roc_auc(scene.mask, RXDetector().fit(scene.cube).anomaly_score(scene.cube)))
    assert aucs[0] < aucs[1]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"shape": (3, 8, 4)}, ValueError, "at least"),
    ({"shape": (8, 8)}, TypeError, "tuple of 3 ints"),
    ({"n_targets": 100, "shape": (8, 8, 4)}, ValueError, r"n_targets must be an int in \[0, 36\]"),
    ({"abundance": (0.5, 0.2)}, ValueError, "abundance"),
    ({"noise": -1.0}, ValueError, "noise must be >= 0"),
    ({"n_endmembers": 0}, ValueError, "n_endmembers"),
    ({"wavelength_range": (900, 400)}, ValueError, "increasing"),
])
def test_synthetic_scene_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_synthetic_scene(**kwargs)
