import numpy as np
import pytest

from skhsi.datasets import SCENES, load_image, load_scene


@pytest.mark.parametrize("name, shape, anomalies", [
    ("hydice", (100, 80, 162), 19), ("sandiego", (100, 100, 189), 134)])
def test_bundled_scenes(name, shape, anomalies):
    scene = load_scene(name)
    assert scene.cube.shape == shape and scene.cube.dtype == np.uint16
    assert scene.mask.dtype == bool and int(scene.mask.sum()) == anomalies
    assert scene.metadata["name"] == name


def test_bundled_scene_equals_the_shared_file():
    path = "../shared/data/had/HYDICE_data.mat"
    import os

    if not os.path.exists(path):
        pytest.skip("shared data not present")
    from_file = load_image(path)
    bundled = load_scene("hydice")
    assert np.array_equal(from_file.cube, bundled.cube)
    assert np.array_equal(from_file.mask, bundled.mask)


def test_unknown_scene():
    with pytest.raises(ValueError, match="Unknown scene 'indian'"):
        load_scene("indian")
    assert set(SCENES) == {"hydice", "sandiego"}


def test_load_image_reads_envi(tmp_path):
    from skhsi.io import write_envi

    cube = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    write_envi(tmp_path / "x.hdr", cube, wavelengths=[400, 500, 600, 700], interleave="bil")
    image = load_image(tmp_path / "x.hdr")
    assert np.array_equal(image.cube, cube)
    assert np.array_equal(image.wavelengths, [400, 500, 600, 700])
