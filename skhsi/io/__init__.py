"""Input and output: ENVI images and MATLAB ``.mat`` files.

Readers return a :class:`SpectralImage`: the cube ``(H, W, C)`` channels last,
wavelengths in nanometres, an optional ground-truth mask and the file's metadata.
:func:`read_mask` reads a mask kept in a file of its own.
"""

from ._envi import read_envi, write_envi
from ._envi_header import parse_envi_header, read_envi_header
from ._geotiff import read_geotiff
from ._image import SpectralImage
from ._mask import read_mask
from ._mat import read_mat

__all__ = [
    "SpectralImage",
    "parse_envi_header",
    "read_envi",
    "read_envi_header",
    "read_geotiff",
    "read_mask",
    "read_mat",
    "write_envi",
]
