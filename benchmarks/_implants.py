"""Objects of a given size, shape and material implanted into a real scene.

Used by ``bench_object_sizes.py``. An object's material comes from *another*
real scene (the donor scene, drawn among the other scenes of
``shared/data/had``): its pixels are the ``n`` spectral nearest neighbours of
one donor pixel of that scene, so the object keeps real texture and sensor
noise; nothing synthetic is added and no spectrum is copied to more than one
pixel. The scenes have different band counts and no wavelengths, so the donor
scene's spectra are brought to the background's band count by taking, for
each background band, the donor band at the same relative position (real
bands with their own noise, never interpolated), and each band is scaled so that the donor
scene's mean spectrum becomes the background's: a donor material keeps its
contrast to the rest of its own scene (vegetation against soil, a roof
against a road), not the other sensor's signature.

One call of :func:`make_implants` draws, in this order, from its generator:
the shape (irregular blobs only), the position, the order of the donor
scenes, the donor pixel, and the order in which the donor's neighbours fill the object's
pixels. The abundance draws nothing, so the same generator state gives the
same object and donor at every abundance, and the same shape and position for
every material.
"""

import functools

import numpy as np
from scipy import ndimage

from _scenes import HAD_FILES, load_scene

SHAPES = ("square", "irregular")
MATERIALS = ("distinct", "random")
#: Implanted objects keep at least this many pixels (Chebyshev) between them and
#: the scene's own anomalies: the scene mask dilated by a (2k+1) square is off limits.
CLEARANCE = 3
#: Half-width of the ring of surroundings around an object, whose mean spectrum
#: "distinct" donors are far from.
RING = 10
#: "distinct" donors: spectral angle to the surroundings' mean at or above this
#: percentile of the background scene's pixels' angles to that mean.
DISTINCT_PERCENTILE = 95.0


class PreparedScene:
    """A scene's arrays in the form the implants need, computed once.

    ``cube`` is float64 ``(H, W, C)``, ``mask`` the scene's own anomalies,
    ``pixels`` the ``(H * W, C)`` view of ``cube``, ``eligible`` the flat
    indices of the pixels outside the mask (donors and their neighbours come
    from these), ``allowed`` the pixels an object may cover.
    """

    def __init__(self, scene):
        self.name = getattr(scene, "metadata", {}).get("name", "scene")
        self.cube = np.asarray(scene.cube, dtype=np.float64)
        self.mask = np.asarray(scene.mask, dtype=bool)
        H, W, C = self.cube.shape
        self.pixels = self.cube.reshape(H * W, C)
        self.eligible = np.flatnonzero(~self.mask.ravel())
        self.allowed = ~ndimage.binary_dilation(
            self.mask, structure=np.ones((2 * CLEARANCE + 1,) * 2, bool))
        self.norms = np.linalg.norm(self.pixels, axis=1)


def prepare(scene):
    """``scene`` as a :class:`PreparedScene` (returned as is when it is one)."""
    return scene if isinstance(scene, PreparedScene) else PreparedScene(scene)


@functools.lru_cache(maxsize=None)
def prepared_scene(name):
    """The benchmark scene ``name`` (``_scenes.HAD_FILES``) prepared, read once per process."""
    return PreparedScene(load_scene(name))


def object_offsets(size, shape, rng):
    """``(size, 2)`` row/column offsets (from 0) of an object's pixels.

    ``square``: a ``sqrt(size)``-sided square (``size`` must be a perfect
    square). ``irregular``: an Eden blob, grown from one pixel by adding, one
    at a time, a uniformly chosen 4-connected neighbour of the blob until it
    has ``size`` pixels (connected, exactly ``size`` pixels). Size 1 is one
    pixel for both shapes.
    """
    size = int(size)
    if size < 1:
        raise ValueError(f"object size must be at least 1 pixel; got {size}")
    if shape == "square":
        side = int(round(np.sqrt(size)))
        if side * side != size:
            raise ValueError(f"a square object needs a perfect-square size; got {size}")
        r, c = np.mgrid[0:side, 0:side]
        return np.column_stack([r.ravel(), c.ravel()])
    if shape != "irregular":
        raise ValueError(f"shape must be one of {SHAPES}; got {shape!r}")
    blob = [(0, 0)]
    inside = {(0, 0)}
    frontier, in_frontier = [], set()

    def add_neighbours(p):
        for q in ((p[0] - 1, p[1]), (p[0] + 1, p[1]), (p[0], p[1] - 1), (p[0], p[1] + 1)):
            if q not in inside and q not in in_frontier:
                frontier.append(q)
                in_frontier.add(q)

    add_neighbours((0, 0))
    while len(blob) < size:
        i = int(rng.integers(len(frontier)))
        p = frontier[i]
        frontier[i] = frontier[-1]
        frontier.pop()
        in_frontier.discard(p)
        blob.append(p)
        inside.add(p)
        add_neighbours(p)
    offsets = np.array(blob)
    return offsets - offsets.min(axis=0)


def place(prepared, offsets, rng):
    """Object mask at a uniformly drawn position where every pixel is allowed."""
    H, W = prepared.mask.shape
    h, w = offsets.max(axis=0) + 1
    if h > H or w > W:
        raise ValueError(f"a {h} x {w} object does not fit a {H} x {W} scene")
    valid = np.ones((H - h + 1, W - w + 1), bool)
    for dr, dc in offsets:
        valid &= prepared.allowed[dr:dr + H - h + 1, dc:dc + W - w + 1]
    starts = np.argwhere(valid)
    if not len(starts):
        raise RuntimeError(f"no position for a {len(offsets)}-pixel object in "
                           f"{prepared.name} clear of its anomalies")
    r, c = starts[rng.integers(len(starts))]
    obj = np.zeros((H, W), bool)
    obj[offsets[:, 0] + r, offsets[:, 1] + c] = True
    return obj


def spectral_angles(pixels, norms, reference):
    """Angle (radians) of every row of ``pixels`` to ``reference``."""
    denom = norms * np.linalg.norm(reference)
    cos = np.divide(pixels @ reference, denom, out=np.ones(len(pixels)), where=denom > 0)
    return np.arccos(np.clip(cos, -1.0, 1.0))


@functools.lru_cache(maxsize=None)
def donor_pixels(background, donor):
    """The pixels of scene ``donor`` outside its own mask, brought to the band count
    of scene ``background`` and scaled band by band to its mean: ``(n, C)`` float64,
    and their norms."""
    back, source = prepared_scene(background), prepared_scene(donor)
    pixels = source.pixels[source.eligible]
    bands = np.round(np.linspace(0, pixels.shape[1] - 1, back.pixels.shape[1])).astype(int)
    resampled = pixels[:, bands]  # real bands, each with its own noise (no interpolation)
    # Per-band gains: the donor scene's mean spectrum becomes the background's, so
    # a material keeps its contrast to its own scene but no sensor signature.
    mean = resampled.mean(axis=0)
    resampled *= back.pixels[back.eligible].mean(axis=0) / np.where(mean != 0, mean, 1.0)
    return resampled, np.linalg.norm(resampled, axis=1)


def draw_donor(prepared, obj, material, rng):
    """``(spectra, index)``: the donor scene's resampled pixels and the donor's row.

    The donor scene is drawn uniformly among the other scenes. ``random``:
    the donor pixel is drawn uniformly among its pixels (outside its own
    anomalies). ``distinct``: among those whose spectral angle to the mean
    spectrum of the object's ring of :data:`RING` pixels (object and
    scene-mask pixels left out) is at or above the
    :data:`DISTINCT_PERCENTILE` th percentile of the background scene's
    pixels' angles to that mean; when the drawn scene has no such pixel, the
    next scene in a random order is tried.
    """
    if material not in MATERIALS:
        raise ValueError(f"material must be one of {MATERIALS}; got {material!r}")
    others = [name for name in HAD_FILES if name != prepared.name]
    order = rng.permutation(len(others))
    if material == "distinct":
        near = ndimage.binary_dilation(obj, structure=np.ones((2 * RING + 1,) * 2, bool))
        surround = prepared.pixels[(near & ~obj & ~prepared.mask).ravel()].mean(axis=0)
        cut = np.percentile(spectral_angles(prepared.pixels, prepared.norms, surround),
                            DISTINCT_PERCENTILE)
    for i in order:
        spectra, norms = donor_pixels(prepared.name, others[i])
        if material == "random":
            candidates = np.arange(len(spectra))
        else:
            candidates = np.flatnonzero(spectral_angles(spectra, norms, surround) >= cut)
        if len(candidates):
            return spectra, int(candidates[rng.integers(len(candidates))])
    raise RuntimeError(f"no {material} donor for {prepared.name} at this placement")


def donor_neighbours(spectra, donor, n):
    """Rows of the ``n`` donor-scene pixels nearest (Euclidean) to the donor pixel,
    the donor itself first."""
    d2 = np.sum((spectra - spectra[donor]) ** 2, axis=1)
    return np.argsort(d2, kind="stable")[:n]


def make_implants(scene, size, shape, material, abundance, rng):
    """One object implanted into ``scene``.

    Parameters
    ----------
    scene : Image or PreparedScene
        A scene from ``_scenes.load_scene`` (``.cube``, ``.mask``), or the
        same prepared with :func:`prepare` (faster when called repeatedly).
    size : int
        Object pixels.
    shape : {"square", "irregular"}
    material : {"distinct", "random"}
    abundance : float
        1.0: each object pixel becomes one of the donor's neighbours; ``a``:
        ``a * neighbour + (1 - a) * pixel beneath``.
    rng : numpy.random.Generator

    Returns
    -------
    cube : ndarray, float32, (H, W, C)
        The scene with the object (computed in float64, then cast).
    object_mask : ndarray, bool, (H, W)
    background_mask : ndarray, bool, (H, W)
        Every pixel outside the object and the scene's own mask.
    """
    prepared = prepare(scene)
    offsets = object_offsets(size, shape, rng)
    obj = place(prepared, offsets, rng)
    spectra, donor = draw_donor(prepared, obj, material, rng)
    neighbours = donor_neighbours(spectra, donor, int(size))
    material_spectra = spectra[neighbours[rng.permutation(len(neighbours))]]
    cube = prepared.cube.copy()
    cube[obj] = abundance * material_spectra + (1.0 - abundance) * cube[obj]
    return cube.astype(np.float32), obj, ~obj & ~prepared.mask
