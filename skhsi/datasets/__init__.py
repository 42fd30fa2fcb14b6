"""The embedded real scene, synthetic scenes, and a loader for files.

skhsi ships no scene files of its own. The real scene it can load without a
download comes from a dependency that ships it:

============= ====================================== =============== ==================
name          scene                                  cube            ground truth
============= ====================================== =============== ==================
indian_pines  AVIRIS Indian Pines, farmland (1992)   145 x 145 x 200 16 land-cover classes
============= ====================================== =============== ==================

(:func:`load_indian_pines`; the data come inside the ``tensorly`` wheel; cite
Baumgardner et al., 2015, doi:10.4231/R7RX991C, CC BY 3.0). It has no anomaly
mask. :func:`make_synthetic_scene` makes small scenes with planted targets and
their mask, for examples and quick checks. Everything else, such as the
anomaly benchmarks of the field, is read from the user's files with
:func:`load_image` (ENVI or MATLAB ``.mat``).
"""

from pathlib import Path

from ..io import read_envi, read_mat
from ._indian_pines import INDIAN_PINES_CLASSES, load_indian_pines
from ._synthetic import make_synthetic_scene

__all__ = ["SCENES", "INDIAN_PINES_CLASSES", "load_indian_pines", "make_synthetic_scene",
           "load_image"]

#: The scenes :func:`load_image` knows by name, with a one-line description.
SCENES = {
    "indian_pines": "AVIRIS Indian Pines (145 x 145 x 200), 16 land-cover classes, "
                    "no anomaly mask; shipped by tensorly",
}

_LOADERS = {"indian_pines": load_indian_pines}


def load_image(source, **kwargs):
    """An embedded scene by name, or an ENVI (``.hdr``/data file) or ``.mat`` file.

    Parameters
    ----------
    source : str or path
        A name from :data:`SCENES` (``"indian_pines"``) or the path of an ENVI
        header or data file, or of a MATLAB ``.mat`` file.
    **kwargs
        Passed to :func:`~skhsi.io.read_mat` or :func:`~skhsi.io.read_envi`
        (for example ``cube_key=`` and ``mask_key=`` for a ``.mat`` file).

    Returns
    -------
    SpectralImage

    Raises
    ------
    FileNotFoundError
        When ``source`` is neither a known name nor an existing file.

    Examples
    --------
    >>> from skhsi.datasets import load_image
    >>> load_image("indian_pines").cube.shape
    (145, 145, 200)
    """
    name = str(source)
    if name in _LOADERS:
        if kwargs:
            raise TypeError(f"{name!r} takes no reader options; got {sorted(kwargs)}.")
        return _LOADERS[name]()
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(
            f"{name!r} is neither an embedded scene ({', '.join(sorted(SCENES))}) "
            "nor an existing file (ENVI .hdr or data file, or .mat)."
        )
    if path.suffix.lower() == ".mat":
        return read_mat(path, **kwargs)
    return read_envi(path, **kwargs)
