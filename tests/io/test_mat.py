import h5py
import numpy as np
import pytest
import scipy.io

from skhsi.io import read_mat
from tests._data import shared_file


def save_v73(path, variables):
    """Write a MATLAB v7.3 file the way MATLAB does: HDF5, 512-byte user block,
    column-major arrays (so h5py sees the axes reversed), MATLAB_class attributes."""
    classes = {"float64": "double", "float32": "single", "uint8": "uint8",
               "uint16": "uint16", "int16": "int16", "bool": "logical"}
    with h5py.File(path, "w", userblock_size=512) as fh:
        for name, value in variables.items():
            value = np.atleast_2d(np.asarray(value))
            if value.dtype.kind == "c":
                stored = np.empty(value.shape, dtype=[("real", "f8"), ("imag", "f8")])
                stored["real"], stored["imag"] = value.real, value.imag
                cls = "double"
            else:
                stored = value.astype(np.uint8) if value.dtype == bool else value
                cls = classes[value.dtype.name]
            ds = fh.create_dataset(name, data=stored.T)
            ds.attrs["MATLAB_class"] = np.bytes_(cls)
        fh.create_group("#refs#")
    with open(path, "r+b") as fh:
        text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: skhsi tests HDF5 schema 1.00 ."
        fh.write(text.ljust(116, b" ") + b" " * 8 + b"\x00\x02IM")


@pytest.fixture
def scene():
    rng = np.random.default_rng(0)
    cube = rng.integers(0, 4000, size=(6, 5, 4), dtype=np.uint16)
    mask = np.zeros((6, 5), np.uint8)
    mask[2, 3] = 1
    return {"data": cube, "map": mask, "wavelength": np.array([[0.4, 0.5, 0.6, 0.7]])}


def test_v5_synthetic(tmp_path, scene):
    scipy.io.savemat(tmp_path / "s.mat", scene)
    img = read_mat(tmp_path / "s.mat")
    np.testing.assert_array_equal(img.cube, scene["data"])
    assert img.cube.dtype == np.uint16
    assert img.mask.dtype == bool and img.mask.sum() == 1 and img.mask[2, 3]
    np.testing.assert_allclose(img.wavelengths, [400, 500, 600, 700])
    md = img.metadata
    assert md["format"] == "mat-v5" and md["cube_key"] == "data"
    assert md["mask_key"] == "map" and md["wavelength_key"] == "wavelength"
    assert md["variables"]["data"] == (6, 5, 4)


def test_v73_matches_v5(tmp_path, scene):
    scipy.io.savemat(tmp_path / "v5.mat", scene)
    save_v73(tmp_path / "v73.mat", scene)
    with h5py.File(tmp_path / "v73.mat", "r") as fh:
        assert fh["data"].shape == (4, 5, 6)  # MATLAB's layout seen by h5py
    assert scipy.io.matlab.matfile_version(tmp_path / "v73.mat") == (2, 0)
    v5, v73 = read_mat(tmp_path / "v5.mat"), read_mat(tmp_path / "v73.mat")
    assert v73.metadata["format"] == "mat-v7.3"
    assert v73.cube.shape == (6, 5, 4) and v73.cube.dtype == v5.cube.dtype
    np.testing.assert_array_equal(v73.cube, v5.cube)
    np.testing.assert_array_equal(v73.mask, v5.mask)
    np.testing.assert_array_equal(v73.wavelengths, v5.wavelengths)


def test_v73_complex_and_logical(tmp_path):
    cube = np.arange(24).reshape(2, 3, 4) * (1 + 2j)
    mask = np.eye(2, 3, dtype=bool)
    save_v73(tmp_path / "c.mat", {"cube": cube, "gt": mask})
    img = read_mat(tmp_path / "c.mat")
    np.testing.assert_array_equal(img.cube, cube)
    np.testing.assert_array_equal(img.mask, mask)


def test_real_hydice_v5_and_v73(tmp_path):
    HYDICE = shared_file("had/HYDICE_data.mat")
    img = read_mat(HYDICE)
    assert img.shape == (100, 80, 162) and img.cube.dtype == np.uint16
    assert img.mask.sum() == 19 and img.wavelengths is None
    raw = scipy.io.loadmat(HYDICE)
    save_v73(tmp_path / "hydice73.mat", {"data": raw["data"], "map": raw["map"]})
    img73 = read_mat(tmp_path / "hydice73.mat")
    np.testing.assert_array_equal(img73.cube, img.cube)
    np.testing.assert_array_equal(img73.mask, img.mask)


def test_only_3d_array_is_the_cube(tmp_path):
    cube = np.ones((3, 4, 2))
    scipy.io.savemat(tmp_path / "s.mat", {"hsi_scene": cube, "labels": np.ones((3, 4)),
                                          "name": "scene", "info": {"a": 1}})
    img = read_mat(tmp_path / "s.mat")
    assert img.metadata["cube_key"] == "hsi_scene" and img.mask is None
    assert set(img.metadata["variables"]) == {"hsi_scene", "labels"}


def test_usual_name_breaks_ties(tmp_path):
    scipy.io.savemat(tmp_path / "s.mat", {"X": np.ones((3, 4, 2)), "noise": np.ones((3, 4, 2)),
                                          "Mask": np.zeros((3, 4))})
    img = read_mat(tmp_path / "s.mat")
    assert img.metadata["cube_key"] == "X" and img.metadata["mask_key"] == "Mask"


def test_explicit_keys(tmp_path):
    scipy.io.savemat(tmp_path / "s.mat", {"a": np.ones((3, 4, 2)), "b": np.zeros((3, 4, 5)),
                                          "truth": np.eye(3, 4)})
    img = read_mat(tmp_path / "s.mat", cube_key="b", mask_key="truth")
    assert img.shape == (3, 4, 5) and img.mask.sum() == 3


def test_ambiguous_cube(tmp_path):
    scipy.io.savemat(tmp_path / "s.mat", {"a": np.ones((3, 4, 2)), "b": np.ones((3, 4, 2))})
    with pytest.raises(ValueError, match=r"ambiguous cube: candidates \['a', 'b'\]; pass cube_key"):
        read_mat(tmp_path / "s.mat")


def test_ambiguous_mask(tmp_path):
    scipy.io.savemat(tmp_path / "s.mat", {"data": np.ones((3, 4, 2)), "gt": np.zeros((3, 4)),
                                          "map": np.zeros((3, 4))})
    with pytest.raises(ValueError, match=r"ambiguous mask: candidates \['gt', 'map'\]"):
        read_mat(tmp_path / "s.mat")


@pytest.mark.parametrize("fmt", ["4", "5"])
def test_no_3d_array(tmp_path, fmt):
    scipy.io.savemat(tmp_path / "s.mat", {"flat": np.ones((3, 4))}, format=fmt)
    with pytest.raises(ValueError, match=r"no 3-D numeric array .* found: flat \(3, 4\)"):
        read_mat(tmp_path / "s.mat")


def test_missing_and_wrong_keys(tmp_path, scene):
    scipy.io.savemat(tmp_path / "s.mat", scene)
    with pytest.raises(ValueError, match=r"no numeric variable 'cube' for the cube; .*data \(6, 5, 4\)"):
        read_mat(tmp_path / "s.mat", cube_key="cube")
    with pytest.raises(ValueError, match=r"'map' must be 3-D \(H, W, C\); got shape \(6, 5\)"):
        read_mat(tmp_path / "s.mat", cube_key="map")
    with pytest.raises(ValueError, match="no numeric variable 'nope' for the mask"):
        read_mat(tmp_path / "s.mat", mask_key="nope")


def test_mask_and_wavelengths_must_match(tmp_path):
    scipy.io.savemat(tmp_path / "m.mat", {"data": np.ones((3, 4, 2)), "gt": np.zeros((4, 3))})
    with pytest.raises(ValueError, match=r"m.mat, variable 'gt'.*expected \(3, 4\), got \(4, 3\)"):
        read_mat(tmp_path / "m.mat")
    scipy.io.savemat(tmp_path / "w.mat", {"data": np.ones((3, 4, 2)), "wl": [400, 500, 600]})
    with pytest.raises(ValueError, match="expected 2 values"):
        read_mat(tmp_path / "w.mat")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file"):
        read_mat(tmp_path / "none.mat")
