"""The AVIRIS Indian Pines scene, as shipped inside the ``tensorly`` wheel."""

import numpy as np

from ..io import SpectralImage

__all__ = ["load_indian_pines", "INDIAN_PINES_CLASSES"]

#: The 16 ground-truth classes of Indian Pines, by label id (0 = unlabelled).
INDIAN_PINES_CLASSES = {
    1: "Alfalfa",
    2: "Corn-notill",
    3: "Corn-mintill",
    4: "Corn",
    5: "Grass-pasture",
    6: "Grass-trees",
    7: "Grass-pasture-mowed",
    8: "Hay-windrowed",
    9: "Oats",
    10: "Soybean-notill",
    11: "Soybean-mintill",
    12: "Soybean-clean",
    13: "Wheat",
    14: "Woods",
    15: "Buildings-Grass-Trees-Drives",
    16: "Stone-Steel-Towers",
}

CITATION = (
    "Baumgardner, M. F., Biehl, L. L., Landgrebe, D. A. (2015). 220 Band AVIRIS "
    "Hyperspectral Image Data Set: June 12, 1992 Indian Pine Test Site 3. Purdue "
    "University Research Repository. doi:10.4231/R7RX991C"
)
LICENCE = "CC BY 3.0 (https://creativecommons.org/licenses/by/3.0/legalcode)"
#: A one-line credit to put under every figure of the scene.
CREDIT = "AVIRIS Indian Pines, Baumgardner et al. 2015, doi:10.4231/R7RX991C, CC BY 3.0"

# Two band centres of tensorly's list (0.10.0) are mistyped: between 2202.30 and
# 2232.07 nm, where spectrometer D steps by 9.92 nm, it lists 2260.22 and 2270.15,
# repeats of the centres four bands further on. The centres restored here are the
# linear interpolation between the two neighbours (2212.22, 2222.15 nm).
_MISTYPED_CENTRES = {170: (2260.22, 2212.22), 171: (2270.15, 2222.15)}


def _band_centres(listed):
    """The listed band centres with the mistyped ones restored."""
    centres = np.asarray(listed, dtype=np.float64).copy()
    for index, (wrong, right) in _MISTYPED_CENTRES.items():
        if index < centres.size and np.isclose(centres[index], wrong):
            centres[index] = right
    return centres


def load_indian_pines():
    """Load the real AVIRIS Indian Pines scene, with its 16-class ground truth.

    A 145 x 145 pixel scene of farmland, woods, roads and buildings in
    north-western Indiana, taken by AVIRIS on 12 June 1992 (20 m pixels), in
    the usual 200-band "corrected" version (water-absorption bands removed).
    The data ship inside the ``tensorly`` wheel, a dependency of skhsi, so no
    download is needed; it is read when this function is first called.

    The scene has **no anomaly ground truth**. Its labels are land-cover
    classes, with ``0`` for the unlabelled ground between the fields (roads,
    buildings, field edges).

    Band order and wavelengths differ from tensorly's in two ways, so that the
    wavelengths are strictly increasing as :class:`~skhsi.io.SpectralImage`
    requires:

    - AVIRIS has four spectrometers whose ranges overlap (near 690 nm and near
      1275 nm); the bands are sorted by centre wavelength, so the two
      spectrometers' bands interleave there. ``metadata["band_order"]`` gives,
      for each band of the cube, its index in tensorly's order.
    - Two centres that tensorly's list mistypes (2260.22 and 2270.15 nm between
      2202.30 and 2232.07 nm) are restored by interpolating their neighbours
      (2212.22 and 2222.15 nm).

    Returns
    -------
    SpectralImage
        ``cube`` (uint16, ``(145, 145, 200)``), ``wavelengths`` (nm, strictly
        increasing), ``labels`` (uint8, ``(145, 145)``, 0 = unlabelled,
        10,249 labelled pixels), no ``mask``; ``metadata`` holds ``name``,
        ``description``, ``class_names``, ``citation``, ``licence``, ``credit``
        and ``band_order``.

    Raises
    ------
    ImportError
        When ``tensorly`` is not installed.

    Notes
    -----
    Cite the data where you show them: Baumgardner, M. F., Biehl, L. L.,
    Landgrebe, D. A. (2015). 220 Band AVIRIS Hyperspectral Image Data Set:
    June 12, 1992 Indian Pine Test Site 3. Purdue University Research
    Repository. doi:10.4231/R7RX991C. Licence: CC BY 3.0.

    Examples
    --------
    >>> from skhsi.datasets import load_indian_pines
    >>> scene = load_indian_pines()
    >>> scene.cube.shape, scene.cube.dtype.name, int((scene.labels > 0).sum())
    ((145, 145, 200), 'uint16', 10249)
    >>> round(float(scene.wavelengths[0]), 2), round(float(scene.wavelengths[-1]), 2)
    (400.02, 2498.96)
    >>> scene.metadata["class_names"][16]
    'Stone-Steel-Towers'
    """
    try:
        from tensorly.datasets import load_indian_pines as _tensorly_indian_pines
    except ImportError as exc:  # pragma: no cover - tensorly is a dependency
        raise ImportError(
            "load_indian_pines needs tensorly, whose wheel ships the scene: "
            "pip install 'tensorly>=0.10'"
        ) from exc
    bunch = _tensorly_indian_pines()
    values = np.asarray(bunch.tensor)
    if values.ndim != 3 or values.min() < 0 or values.max() > np.iinfo(np.uint16).max:
        raise ValueError(  # pragma: no cover - guards a change in tensorly's data
            f"tensorly's Indian Pines is not the expected uint16 cube: shape "
            f"{values.shape}, range [{values.min()}, {values.max()}]."
        )
    centres = _band_centres(bunch.ticks[1])
    order = np.argsort(centres, kind="stable")
    centres = centres[order]
    if not np.all(np.diff(centres) > 0):  # pragma: no cover - guards tensorly's list
        raise ValueError("tensorly's Indian Pines band centres repeat a wavelength.")
    cube = np.ascontiguousarray(values[:, :, order].astype(np.uint16))
    return SpectralImage(
        cube=cube,
        wavelengths=centres,
        labels=np.asarray(bunch.ticks[0]).astype(np.uint8),
        metadata={
            "name": "indian_pines",
            "title": "Indian Pines, Indiana (AVIRIS, 12 June 1992)",
            "pixel_size_m": 20.0,
            "description": "AVIRIS Indian Pines (145 x 145 x 200), farmland, woods, "
                           "roads and buildings; 16 land-cover classes, no anomaly mask",
            "class_names": dict(INDIAN_PINES_CLASSES),
            "citation": CITATION,
            "licence": LICENCE,
            "credit": CREDIT,
            "band_order": order.tolist(),
        },
    )
