import numpy as np
import pytest

from skhsi.io import read_mask, write_envi


def test_every_format_gives_the_same_mask(tmp_path):
    import matplotlib.image
    from scipy.io import savemat

    mask = np.zeros((6, 7), bool)
    mask[2, 3] = mask[4, 1] = True
    np.save(tmp_path / "m.npy", mask.astype(np.uint8))
    matplotlib.image.imsave(tmp_path / "m.png", mask.astype(float), cmap="gray")
    savemat(tmp_path / "m.mat", {"gt_map": mask.astype(np.uint8)})
    write_envi(tmp_path / "m.hdr", mask[..., None].astype(np.uint8))
    for name in ("m.npy", "m.png", "m.mat", "m.hdr"):
        assert np.array_equal(read_mask(tmp_path / name, shape=(6, 7)), mask), name


def test_errors_name_the_file_and_variable(tmp_path):
    from scipy.io import savemat

    savemat(tmp_path / "two.mat", {"a": np.zeros((3, 3)), "b": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="two.mat: more than one 2-D variable"):
        read_mask(tmp_path / "two.mat")
    with pytest.raises(ValueError, match="two.mat: no numeric variable 'c'"):
        read_mask(tmp_path / "two.mat", key="c")
    np.save(tmp_path / "w.npy", np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"w.npy: the mask must have .*expected \(3, 3\)"):
        read_mask(tmp_path / "w.npy", shape=(3, 3))
    np.save(tmp_path / "c.npy", np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="c.npy: a mask must be 2-D"):
        read_mask(tmp_path / "c.npy")
    with pytest.raises(FileNotFoundError, match="No such mask file"):
        read_mask(tmp_path / "none.npy")
