"""Bundled real hyperspectral anomaly-detection scenes and a loader for files.

Two public benchmark scenes ship with the package (compressed ``.npz``):

========== ================================ =============== =========
name       scene                            cube            anomalies
========== ================================ =============== =========
hydice     HYDICE urban, cars and roofs     100 x 80 x 162  19 pixels
sandiego   San Diego airport, three planes  100 x 100 x 189 134 pixels
========== ================================ =============== =========

They come from the collection used by Kang et al., "Hyperspectral Anomaly
Detection With Attribute and Edge-Preserving Filters", IEEE TGRS 55(10), 2017.
Water-absorption and noisy bands were removed upstream; no wavelengths are
recorded for them.
"""

from importlib import resources
from pathlib import Path

import numpy as np

from ..io import SpectralImage, read_envi, read_mat

__all__ = ["SCENES", "load_scene", "load_image"]

SCENES = {
    "hydice": "HYDICE urban scene (100 x 80 x 162), cars and roofs, 19 anomalous pixels",
    "sandiego": "AVIRIS San Diego airport (100 x 100 x 189), three planes, 134 anomalous pixels",
}


def load_scene(name="hydice"):
    """Load a bundled scene with its ground-truth mask.

    Parameters
    ----------
    name : {"hydice", "sandiego"}, default="hydice"

    Returns
    -------
    SpectralImage
        ``cube`` (uint16, ``(H, W, C)``), ``mask`` (bool, ``(H, W)``).

    Examples
    --------
    >>> from skhsi.datasets import load_scene
    >>> scene = load_scene("hydice")
    >>> scene.cube.shape, int(scene.mask.sum())
    ((100, 80, 162), 19)
    """
    if name not in SCENES:
        raise ValueError(f"Unknown scene {name!r}; the bundled scenes are {sorted(SCENES)}.")
    path = resources.files(__name__).joinpath("data", f"{name}.npz")
    with resources.as_file(path) as file, np.load(file) as data:
        cube, mask = data["cube"], data["mask"]
    return SpectralImage(cube=cube, mask=mask,
                         metadata={"name": name, "description": SCENES[name]})


def load_image(source):
    """A bundled scene by name, or an ENVI (``.hdr``/data file) or ``.mat`` file.

    Parameters
    ----------
    source : str or path
        ``"hydice"``, ``"sandiego"`` or a path.

    Returns
    -------
    SpectralImage

    Examples
    --------
    >>> from skhsi.datasets import load_image
    >>> load_image("sandiego").cube.shape
    (100, 100, 189)
    """
    if str(source) in SCENES:
        return load_scene(str(source))
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(
            f"{source!r} is neither a bundled scene ({sorted(SCENES)}) nor an existing file."
        )
    if path.suffix.lower() == ".mat":
        return read_mat(path)
    return read_envi(path)
