"""Scoring files of any size: tiles of rows in, ENVI score maps and masks out.

:func:`score_file` opens an image memory-mapped (ENVI, ``.npy``; a ``.mat``
file as its reader allows, in memory), reads it in blocks of rows with a
halo of neighbouring rows (plain reads at the map's offsets), scores each
block and writes the score map (float32) and the flagged mask (uint8)
straight into ENVI files carrying the input's
georeferencing (``map info``, ``coordinate system string``, ...), plus a
JSON summary. After every block the pages of the input and of the outputs
are dropped from resident memory, so peak memory is one block whatever the
file size. Every output file is written under a temporary name and renamed
when complete: on error or interruption nothing is left half-written.

How a block is scored depends on the estimator's declared reach
(:func:`skhsi.base.spatial_reach`, read by :func:`tiling`): per-pixel models
need no halo; spatial steps get their reach as halo, aligned to their
pooling grid; both give scores equal to whole-image scoring. A step whose
scores depend on the whole image it is given (robust PCA) gets a fixed halo
and is reported as not exact. A model that reaches far is scored in two
stages (:func:`stages`): its per-pixel part once per pixel into a temporary
feature file, then its spatial part on the features of each block and its
halo.

This module imports no torch; a model with weights brings it along.
"""

import json
import math
import mmap
import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .base import SpatialReach, spatial_reach
from ._files import atomic_write, check_outputs, memmap_base, release_pages, staged_file

__all__ = ["Stages", "Tiling", "detection_metrics", "open_cube", "output_paths",
           "output_stem", "pixelwise", "read_rows", "score_file", "stages", "tiling"]

#: Header keys of the input copied to the outputs: where the pixels are on the ground.
GEO_KEYS = ("map info", "projection info", "coordinate system string", "geo points",
            "pixel size", "x start", "y start")
#: Rows of neighbours given to a block for estimators that declare no reach.
DEFAULT_HALO = 32
#: Pixels in a block when ``tile_rows`` is not given.
BLOCK_PIXELS = 1 << 16
#: Pixels (block and halo) of the features a spatial stage gets at a time.
SPATIAL_PIXELS = 6 << 20
_SELECTION_BUDGET = 1 << 20  # values gathered in memory by the exact quantile


class Tiling(NamedTuple):
    """How an estimator is scored in blocks of rows (see :func:`tiling`)."""

    halo: int
    multiple: int
    exact: bool
    note: str


def open_cube(path, *, cube_key=None):
    """An image file as a :class:`~skhsi.io.SpectralImage`, memory-mapped where it can be.

    ENVI files (header or data file) and ``.npy`` files of shape
    ``(H, W, C)`` are memory-mapped; ``.mat`` files are read by
    :func:`~skhsi.io.read_mat` (``cube_key`` chooses the variable).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skhsi.serving import open_cube
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(tmp + "/x.npy", np.zeros((4, 5, 3), np.float32))
    ...     image = open_cube(tmp + "/x.npy")
    ...     print(image.shape, isinstance(image.cube, np.memmap))
    (4, 5, 3) True
    """
    from .io import SpectralImage, read_envi, read_mat

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    suffix = path.suffix.lower()
    if cube_key is not None and suffix != ".mat":
        raise ValueError(f"cube_key chooses a variable of a .mat file; {path} is not one.")
    if suffix == ".mat":
        return read_mat(path, **({} if cube_key is None else {"cube_key": cube_key}))
    if suffix == ".npy":
        cube = _load_npy(path)
        if cube.ndim != 3:
            raise ValueError(f"{path}: expected an array of shape (H, W, C); got shape "
                             f"{cube.shape}.")
        return SpectralImage(cube=cube, metadata={"path": str(path), "format": "npy"})
    return read_envi(path)


def _load_npy(path):
    """A memory-mapped numeric ``.npy`` array; anything else is a ``ValueError`` naming it."""
    with open(path, "rb") as f:
        try:
            np.lib.format.read_magic(f)
        except ValueError:
            raise ValueError(f"{path}: not an .npy file (it does not start with the .npy "
                             "magic bytes); give an ENVI, .mat or .npy file.") from None
    try:
        cube = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path}: not a numeric .npy array ({exc.args[0].split('.')[0]}); "
                         "skhsi reads arrays of numbers only.") from exc
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: a damaged .npy file ({exc}).") from exc
    if cube.dtype.kind not in "biuf":
        raise ValueError(f"{path}: holds {cube.dtype} values; skhsi reads real numbers.")
    return cube


def _leaves(estimator):
    """``(kind, parts)``: a pipeline's steps in order, an ensemble's fitted members."""
    from .anomaly import ConsensusDetector

    if hasattr(estimator, "steps"):
        return "chain", [s for _, s in estimator.steps if s is not None and s != "passthrough"]
    if isinstance(estimator, ConsensusDetector):
        members = getattr(estimator, "estimators_", None)
        if members is None:
            members = [d for _, d in estimator.detectors if d != "drop"]
        return "members", list(members)
    return "leaf", [estimator]


def pixelwise(estimator):
    """Whether every step of ``estimator`` scores a pixel from its own spectrum alone.

    Reads the estimator's declared reach (:func:`skhsi.base.spatial_reach`);
    needs no fitted state. Such estimators are fitted on pixel tables and
    scored in blocks without a halo.

    Examples
    --------
    >>> from skhsi.anomaly import LocalRXDetector, RXDetector
    >>> from skhsi.serving import pixelwise
    >>> pixelwise(RXDetector()), pixelwise(LocalRXDetector())
    (True, False)
    """
    return spatial_reach(estimator) == SpatialReach()


def _flatten(estimator):
    kind, parts = _leaves(estimator)
    return parts if kind == "leaf" else [leaf for part in parts for leaf in _flatten(part)]


def tiling(estimator, *, halo=None):
    """How :func:`score_file` tiles ``estimator``: halo rows, row multiple, exactness.

    Read from the estimator's declared reach (:func:`skhsi.base.spatial_reach`):
    a pipeline adds the reaches of its steps, an ensemble takes its widest
    member's. Per-pixel estimators reach nothing (halo 0). Spatial steps (a
    convolution, a local window, an image network) reach a fixed number of
    pixels: blocks get that many rows of neighbours on each side (rounded
    up to, and aligned with, the pooling grid) and their scores equal the
    whole image's (``exact``). A step declared global
    (:class:`~skhsi.anomaly.LowRankSparseDetector`, which decomposes the
    image it is given) gets ``halo`` rows (default :data:`DEFAULT_HALO`) and
    is not exact: what depends on the whole image depends on the block.

    Raises
    ------
    ValueError
        When the estimator changes the pixel grid (pooling or upsampling
        without the inverse step): its scores do not map onto the input's
        pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.anomaly import LocalRXDetector, LowRankSparseDetector, RXDetector
    >>> from skhsi.serving import tiling
    >>> tiling(RXDetector().fit(np.random.default_rng(0).normal(size=(50, 3))))
    Tiling(halo=0, multiple=1, exact=True, note='')
    >>> tiling(LocalRXDetector())
    Tiling(halo=10, multiple=1, exact=True, note='reaches 10 pixels')
    >>> tiling(LowRankSparseDetector()).exact
    False
    """
    halo = DEFAULT_HALO if halo is None else int(halo)
    if halo < 0:
        raise ValueError(f"halo must be >= 0 rows; got {halo}.")
    reach = spatial_reach(estimator)
    if reach.zoom != 1:
        raise ValueError(f"{type(estimator).__name__} changes the pixel grid (by a factor "
                         f"{reach.zoom}): its scores do not map onto the input's pixels.")
    if reach.is_global:
        names = sorted({type(step).__name__ for step in _flatten(estimator)
                        if spatial_reach(step).is_global})
        return Tiling(halo, 1, False, f"{', '.join(names)} depends on the whole image")
    multiple = reach.multiple
    rows = -(-reach.halo // multiple) * multiple
    return Tiling(rows, multiple, True, f"reaches {reach.halo} pixels" if reach.halo else "")


class Stages(NamedTuple):
    """An estimator split for block-wise scoring (see :func:`stages`)."""

    pixel: object
    spatial: object


def stages(estimator):
    """Split ``estimator`` into a per-pixel stage and the stage that needs neighbours.

    The per-pixel stage is the longest run of leading steps that reach 0
    (:func:`skhsi.base.spatial_reach`), followed, when the spatial rest is a
    single image detector, by that detector's own per-pixel features (its
    projection). :func:`score_file` runs the per-pixel stage once per pixel and
    gives only the spatial stage a halo, so that a detector that looks far
    reads its file once and keeps only its features, not every band, for the
    rows around a block. ``None`` when there is nothing to split: every step
    scores pixels alone, or the first step already needs neighbours and has
    no per-pixel features.

    Examples
    --------
    >>> from skhsi.anomaly import LocalRXDetector, RXDetector
    >>> from skhsi.pipeline import make_attribute_filter_pipeline, make_pipeline
    >>> from skhsi.serving import stages
    >>> stages(RXDetector()) is None, stages(make_attribute_filter_pipeline()) is None
    (True, False)
    """
    from .anomaly._image import ImageOutlierMixin

    steps = [step for _, step in estimator.steps if step is not None and step != "passthrough"] \
        if hasattr(estimator, "steps") else [estimator]
    split = 0
    while split < len(steps) and spatial_reach(steps[split]) == SpatialReach():
        split += 1
    prefix, rest = steps[:split], steps[split:]
    features = len(rest) == 1 and isinstance(rest[0], ImageOutlierMixin)
    if not rest or not (prefix or features):
        return None

    def pixel(block):
        for step in prefix:
            block = step.transform(block)
        return rest[0]._pixel_features(block) if features else block

    def spatial(block):
        if features:
            return rest[0]._checked_scores(block)
        block = np.asarray(block)
        for step in rest[:-1]:
            block = step.transform(block)
        return rest[-1].anomaly_score(block)

    return Stages(pixel, spatial)


def read_rows(cube, start, stop):
    """Rows ``start:stop`` of a cube, read from its file with plain reads when it is a
    memory-mapped file (a band-sequential file one read per band), else sliced.

    Parameters
    ----------
    cube : ndarray or numpy.memmap of shape (H, W, C)
    start, stop : int
        The rows to read.

    Returns
    -------
    ndarray of shape (stop - start, W, C)

    Notes
    -----
    Reading a block through the map would map whole large page-cache folios
    around every band's rows (on recent kernels), so resident memory would
    grow with the file; a plain read leaves the pages in the page cache only.
    """
    base = memmap_base(cube)
    order = tuple(int(a) for a in np.argsort(cube.strides)[::-1])  # outermost axis first
    shape = tuple(cube.shape[a] for a in order)
    strides = tuple(cube.strides[a] for a in order)
    contiguous = strides == tuple(int(np.prod(shape[i + 1:])) * cube.itemsize
                                  for i in range(3))
    if (base is None or getattr(base, "filename", None) is None or not contiguous
            or order not in ((0, 1, 2), (0, 2, 1), (2, 0, 1))
            or _data_address(cube) != _file_start(base)):
        return np.array(cube[start:stop])
    rows = stop - start
    row_bytes = shape[-1] * cube.itemsize * (shape[1] if order[0] == 0 else 1)
    with open(base.filename, "rb") as fh:
        if order[0] == 0:  # rows outermost (bip, bil, .npy): one read
            out = np.empty((rows,) + shape[1:], dtype=cube.dtype)
            fh.seek(base.offset + start * row_bytes)
            _read_exactly(fh, out, base.filename)
            return out.transpose(np.argsort(order))
        out = np.empty((shape[0], rows, shape[2]), dtype=cube.dtype)  # bsq: per band
        for band in range(shape[0]):
            fh.seek(base.offset + band * strides[0] + start * strides[1])
            _read_exactly(fh, out[band], base.filename)
        return out.transpose(1, 2, 0)


def _score_blocks(score, source, scores, tile_rows, halo, estimator, bar):
    """``scores[rows] = score(source rows with their halo)[rows]``, block by block.

    ``source`` is the cube, or the :class:`_ChannelFile` of the per-pixel stage.
    """
    height, width = scores.shape
    for r0 in range(0, height, tile_rows):
        r1 = min(r0 + tile_rows, height)
        b0, b1 = max(0, r0 - halo), min(height, r1 + halo)
        block = source.rows(b0, b1) if isinstance(source, _ChannelFile) \
            else read_rows(source, b0, b1)
        result = np.asarray(score(block))
        if result.shape != (b1 - b0, width) or not np.isfinite(result).all():
            raise ValueError(f"{type(estimator).__name__} gave scores of shape "
                             f"{result.shape} (finite: {bool(np.isfinite(result).all())}) "
                             f"for rows {b0}-{b1 - 1}; expected finite scores of shape "
                             f"{(b1 - b0, width)}.")
        scores[r0:r1] = result[r0 - b0:r1 - b0]
        del block, result
        release_pages(source if not isinstance(source, _ChannelFile) else scores, scores)
        if bar is not None:
            bar.update(r1 - r0)


def _feature_file(out_dir):
    """A temporary file beside the outputs for the per-pixel stage's features."""
    return staged_file(Path(out_dir) / "features", lambda f: None)


def _pixel_stage(pixel, cube, keep, path, bar):
    """The per-pixel stage of every row of ``cube``, once, into ``path``, band-sequential
    (one channel after the other), as a :class:`_ChannelFile`."""
    height, width = cube.shape[:2]
    rows = max(1, BLOCK_PIXELS // width)
    features = None
    for r0 in range(0, height, rows):
        r1 = min(r0 + rows, height)
        block = read_rows(cube, r0, r1)
        result = np.asarray(pixel(block if keep is None else block[..., keep]))
        if features is None:
            with open(path, "r+b") as fh:
                fh.truncate(height * width * result.shape[-1] * result.itemsize)
            features = np.memmap(path, dtype=result.dtype, mode="r+",
                                 shape=(result.shape[-1], height, width))
        features[:, r0:r1] = np.moveaxis(result, -1, 0)
        del block, result
        release_pages(cube, features)
        if bar is not None:
            bar.update(r1 - r0)
    channels = _ChannelFile(path, features.dtype, features.shape)
    del features
    return channels


class _ChannelFile:
    """Per-pixel features in a band-sequential file, read one channel at a time.

    ``rows(b0, b1)`` is a view of lines ``b0:b1`` that indexes like a cube
    ``(lines, samples, channels)``: ``view[..., k]`` and ``view[..., a:b]``
    read just those channels, each with one plain read, so a spatial stage
    that works channel by channel holds one channel of the block at a time.
    """

    def __init__(self, path, dtype, shape, start=0, stop=None):
        self.path, self.dtype, self.file_shape = path, np.dtype(dtype), shape
        self.start, self.stop = start, shape[1] if stop is None else stop
        self.shape = (self.stop - self.start, shape[2], shape[0])
        self.ndim = 3

    def rows(self, start, stop):
        return _ChannelFile(self.path, self.dtype, self.file_shape, start, stop)

    def __getitem__(self, key):
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] is Ellipsis):
            raise TypeError(f"channel files are indexed as [..., k] or [..., a:b]; got {key!r}.")
        channels, height, width = self.file_shape
        index = key[1]
        wanted = range(channels)[index]
        count = (self.stop - self.start) * width
        out = np.empty((len(wanted), count) if isinstance(index, slice) else (1, count),
                       dtype=self.dtype)
        with open(self.path, "rb") as fh:
            for i, k in enumerate([wanted] if not isinstance(index, slice) else wanted):
                fh.seek((k * height + self.start) * width * self.dtype.itemsize)
                _read_exactly(fh, out[i], self.path)
        out = out.reshape(len(out), self.stop - self.start, width)
        return out[0] if not isinstance(index, slice) else np.moveaxis(out, 0, -1)

    def __array__(self, dtype=None, copy=None):
        cube = self[..., :]
        return cube if dtype is None else cube.astype(dtype)


def _data_address(array):
    return array.__array_interface__["data"][0]


def _file_start(base):
    """Address in memory of byte ``base.offset`` of the file (None when unknown)."""
    try:
        mapped = np.frombuffer(base._mmap, dtype=np.uint8)
    except (AttributeError, TypeError, ValueError):
        return None
    return _data_address(mapped) + base.offset % mmap.ALLOCATIONGRANULARITY


def _read_exactly(fh, out, filename):
    buffer = memoryview(out.reshape(-1).view(np.uint8))
    if fh.readinto(buffer) != len(buffer):
        raise ValueError(f"{filename}: the data file ended early (it shrank while it was read).")


def _bands_for(image, n_features, name):
    """Indices of the bands the model takes (the file's good bands when it dropped its bad
    ones), or None for all of them."""
    n_bands = image.cube.shape[-1]
    if n_features is None or n_features == n_bands:
        return None
    bad = image.bad_bands
    if bad is not None and int((~bad).sum()) == n_features:
        return np.flatnonzero(~bad)
    extra = "" if bad is None else f" ({int((~bad).sum())} without the header's bad bands)"
    raise ValueError(f"the model expects {n_features} bands; {name} has {n_bands} "
                     f"bands{extra}.")


def _threshold_of(estimator, threshold):
    """``(rule, value, comparison)`` of ``threshold``; the value of a quantile or a
    false-alarm rate is the map's own and comes later."""
    if threshold == "contamination":
        offset = _model_offset(estimator)
        if offset is None:
            raise ValueError(f"{type(_final(estimator)).__name__} has no threshold of its own "
                             "(offset_); give threshold=('false-alarm', r), ('quantile', q) "
                             "or ('score', s).")
        return "contamination", -offset, ">"
    if isinstance(threshold, tuple) and len(threshold) == 2 \
            and threshold[0] in THRESHOLD_RULES:
        rule, value = threshold[0], float(threshold[1])
        if np.isfinite(value) and THRESHOLD_RULES[rule](value):
            return rule, value, ">="
    raise ValueError(f"threshold must be ('false-alarm', r) with r in (0, 1), 'contamination', "
                     f"('quantile', q) with q in [0, 1] or ('score', s) with a finite s; got "
                     f"{threshold!r}.")


#: The threshold rules given as ``(rule, value)`` and the values each accepts (the
#: command line's ``--threshold RULE:VALUE`` too).
THRESHOLD_RULES = {"false-alarm": lambda r: 0 < r < 1,
                   "quantile": lambda q: 0 <= q <= 1, "score": lambda s: True}


#: The summary's name of a rule's value, for the rules whose score comes from the map.
_RULE_KEYS = {"false-alarm": "false_alarm_rate", "quantile": "quantile"}


def _final(estimator):
    return estimator[-1] if hasattr(estimator, "steps") else estimator


def _model_offset(estimator):
    """``offset_`` of the model's last step as a float, or None when it has none."""
    offset = getattr(_final(estimator), "offset_", None)
    return None if offset is None else float(offset)


def _chunks(array, rows):
    for r in range(0, array.shape[0], rows):
        yield array[r:r + rows]
        release_pages(array)


def _quantile(scores, q, rows):
    """``np.quantile(scores, q)`` (linear) of a memory-mapped map, in bounded memory.

    Each pass histograms the values still in question and keeps the bin that
    holds the wanted rank, until few enough are left to sort in memory.
    """
    n = scores.size
    position = q * (n - 1)
    below = int(math.floor(position))
    values = [_order_statistic(scores, k, rows) for k in sorted({below, min(below + 1, n - 1)})]
    low, high = values[0], values[-1]
    t = position - below
    diff = high - low
    return float(low + diff * t if t < 0.5 else high - diff * (1 - t))


def _order_statistic(scores, k, rows):
    lo, hi, closed, before = -np.inf, np.inf, True, 0
    while True:
        def inside(chunk):
            chunk = np.asarray(chunk, dtype=np.float64).ravel()
            keep = (chunk >= lo) & ((chunk <= hi) if closed else (chunk < hi))
            return chunk[keep]

        count, vmin, vmax = 0, np.inf, -np.inf
        for chunk in _chunks(scores, rows):
            values = inside(chunk)
            if values.size:
                count += values.size
                vmin, vmax = min(vmin, values.min()), max(vmax, values.max())
        if vmin == vmax:
            return float(vmin)
        if count <= _SELECTION_BUDGET:
            values = np.concatenate([inside(c) for c in _chunks(scores, rows)])
            return float(np.partition(values, k - before)[k - before])
        edges = np.linspace(vmin, vmax, 1025)
        counts = sum(np.histogram(inside(c), bins=edges)[0] for c in _chunks(scores, rows))
        cumulative = np.cumsum(counts)
        j = int(np.searchsorted(cumulative, k - before, side="right"))
        before += int(cumulative[j - 1]) if j else 0
        lo, hi, closed = edges[j], edges[j + 1], j == len(counts) - 1


def _header(shape, code, band_name, geo):
    from .io._envi_header import _format_value

    lines, samples = shape
    header = {"description": f"skhsi {band_name}", "samples": samples, "lines": lines,
              "bands": 1, "header offset": 0, "file type": "ENVI Standard",
              "data type": code, "interleave": "bsq", "byte order": 0,
              "band names": [band_name], **geo}
    return ("ENVI\n" + "".join(f"{k} = {_format_value(k, v)}\n" for k, v in header.items())
            ).encode("utf-8")


def output_stem(path):
    """The name the outputs for ``path`` start with: the file name without its scene suffix.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    str

    Examples
    --------
    >>> from skhsi.serving import output_stem
    >>> output_stem("flights/line_042.bil.hdr"), output_stem("scene.npy")
    ('line_042', 'scene')
    """
    name = Path(path).name
    for suffix in (".hdr", ".bil", ".bip", ".bsq", ".img", ".raw", ".dat", ".npy", ".mat"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


def output_paths(out_dir, stem):
    """The files :func:`score_file` writes for ``stem`` into ``out_dir``, by kind.

    Examples
    --------
    >>> from skhsi.serving import output_paths
    >>> paths = output_paths("out", "scene")
    >>> sorted(paths)
    ['mask.hdr', 'mask.img', 'scores.hdr', 'scores.img', 'summary.json']
    >>> paths["scores.img"].as_posix()
    'out/scene_scores.img'
    """
    return {key: Path(out_dir) / f"{stem}_{key}" for key in
            ("scores.img", "scores.hdr", "mask.img", "mask.hdr", "summary.json")}


def _image_files(image):
    """The files an opened image was read from (ENVI: the header and the data file)."""
    return [image.metadata[k] for k in ("header_path", "path")
            if isinstance(image.metadata.get(k), (str, os.PathLike))]


def score_file(estimator, source, out_dir, *, tile_rows=None, halo=None,
               threshold=("false-alarm", 0.01), cube_key=None, stem=None, name=None,
               progress=False):
    """Score an image file of any size in blocks of rows; write ENVI score map, mask, summary.

    Parameters
    ----------
    estimator : fitted detector or Pipeline with ``anomaly_score``
    source : str, path or SpectralImage
        An ENVI file (header or data), a ``.npy`` file of shape ``(H, W, C)``
        or a ``.mat`` file (see :func:`open_cube`), or an opened image. When
        the model was fitted without the file's bad bands (``bbl``), those
        are dropped from every block.
    out_dir : str or path
        Existing directory; receives ``<stem>_scores.img/.hdr`` (float32, one
        band), ``<stem>_mask.img/.hdr`` (uint8, 1 = flagged) and
        ``<stem>_summary.json``. Existing files of these names are replaced,
        except the files ``source`` was read from: an output that would write
        over its input is a ``ValueError`` before anything is scored.
    tile_rows : int or None, default=None
        Rows scored per block (rounded up to the estimator's row multiple);
        ``None`` gives blocks of about :data:`BLOCK_PIXELS` pixels.
    halo : int or None, default=None
        Rows of neighbours for estimators without a declared reach (see
        :func:`tiling`); ``None`` is :data:`DEFAULT_HALO`.
    threshold : ("false-alarm", r), "contamination", ("quantile", q) or ("score", s), \
            default=("false-alarm", 0.01)
        Which pixels the mask flags. ``("false-alarm", r)``: the scores at or
        above the ``k``-th highest of the file's map, ``k = max(1, floor(r *
        n))``, so at most the share ``r`` of the file's pixels is flagged
        whatever scene, sensor or illumination it holds (computed exactly, in
        bounded memory; see :class:`~skhsi.anomaly.FalseAlarmDecider`).
        ``"contamination"``: scores above the model's own threshold
        (``-offset_``, set in fit from its contamination on the fitting
        scene), a fixed score that flags its share only on scenes like the
        fitting one. ``("quantile", q)``: at or above the map's ``q``
        quantile. ``("score", s)``: at or above ``s``. Whatever the rule, the
        summary's ``model_threshold`` gives the share of the file the model's
        own threshold flags, when the model has one: far above its
        contamination, the file differs from the fitting scene.
    cube_key : str or None
        Variable of a ``.mat`` file.
    stem : str or None
        Output name stem; default: the input's name without its extensions.
    name : str or None
        The input's name in messages and the summary; default: its path.
    progress : bool, default=False
        A tqdm bar over the rows.

    Returns
    -------
    dict
        The summary also written as JSON: shape, tiling, threshold, flagged
        pixels, the model's own threshold, seconds, pixels per second and
        the output paths; with a ground-truth mask in the image, the
        detection metrics (ROC AUC, average precision, IoU, precision and
        recall of the flagged pixels).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from skhsi.anomaly import RXDetector
    >>> from skhsi.io import read_envi, write_envi
    >>> from skhsi.serving import score_file
    >>> cube = np.random.default_rng(0).normal(size=(40, 30, 5)).astype(np.float32)
    >>> rx = RXDetector().fit(cube)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = write_envi(tmp + "/scene.hdr", cube, metadata={"map info": [
    ...         "UTM", 1, 1, 500000.0, 4000000.0, 30, 30, 33, "North", "WGS-84"]})
    ...     summary = score_file(rx, tmp + "/scene.hdr", tmp, tile_rows=8)
    ...     scores = read_envi(tmp + "/scene_scores.hdr").cube[..., 0]
    ...     same = bool(np.array_equal(scores, rx.anomaly_score(cube).astype(np.float32)))
    ...     geo = read_envi(tmp + "/scene_scores.hdr").metadata["header"]["map info"][0]
    >>> same, geo, summary["tiling"]["exact"]
    (True, 'UTM', True)
    """
    from .io import SpectralImage

    image = source if isinstance(source, SpectralImage) else open_cube(source,
                                                                       cube_key=cube_key)
    if name is None:
        name = str(source) if not isinstance(source, SpectralImage) else (
            image.metadata.get("header_path") or image.metadata.get("path") or "image")
    plan = _plan(estimator, image, name, tile_rows, halo, threshold)
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"Output directory {out_dir} does not exist.")
    targets = output_paths(out_dir, output_stem(name) if stem is None else stem)
    check_outputs(targets.values(), _image_files(image))
    height, width = image.cube.shape[:2]
    staged = []
    try:
        start = time.perf_counter()
        staged.append(staged_file(targets["scores.img"],
                                  lambda f: f.truncate(height * width * 4)))
        scores = np.memmap(staged[-1], dtype="<f4", mode="r+", shape=(height, width))
        _score_map(estimator, image.cube, plan, scores, out_dir, progress and name)
        score_seconds = time.perf_counter() - start
        staged.append(staged_file(targets["mask.img"], lambda f: f.truncate(height * width)))
        mask = np.memmap(staged[-1], dtype=np.uint8, mode="r+", shape=(height, width))
        value, flagged, beyond_model = _flag(scores, mask, plan)
        del scores, mask
        seconds = time.perf_counter() - start
        header = image.metadata.get("header")
        geo = {k: header[k] for k in GEO_KEYS if isinstance(header, dict) and k in header}
        staged.append(staged_file(targets["scores.hdr"], lambda f: f.write(
            _header((height, width), 4, "anomaly score", geo))))
        staged.append(staged_file(targets["mask.hdr"], lambda f: f.write(
            _header((height, width), 1, "flagged", geo))))
        summary = _summary(estimator, image, name, plan, value, (flagged, beyond_model),
                           score_seconds, seconds, targets)
        if image.mask is not None:  # ground truth came with the file: how the map does
            summary.update(detection_metrics(
                image.mask, np.fromfile(staged[0], dtype="<f4").reshape(height, width),
                np.fromfile(staged[1], dtype=np.uint8).reshape(height, width) == 1))
        for tmp, key in zip(staged, ("scores.img", "mask.img", "scores.hdr", "mask.hdr")):
            os.replace(tmp, targets[key])
        staged = []
        atomic_write(targets["summary.json"],
                     lambda f: f.write(json.dumps(summary, indent=2).encode()))
        return summary
    except BaseException:
        for tmp in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise


class _Plan(NamedTuple):
    """How ``score_file`` reads and tiles one file with one model."""

    keep: object  # band indices of the file the model reads, or None for all
    rule: str
    value: float
    comparison: str
    model_value: object  # the model's own threshold (-offset_), or None
    how: Tiling
    split: object  # the model's Stages, or None when it needs no halo
    tile_rows: int


def _plan(estimator, image, name, tile_rows, halo, threshold):
    """Read: which bands, which threshold, and which blocks of rows (before any work)."""
    if not hasattr(estimator, "anomaly_score"):
        raise TypeError(f"score_file needs a fitted detector with anomaly_score; got "
                        f"{type(estimator).__name__}.")
    keep = _bands_for(image, getattr(estimator, "n_features_in_", None), name)
    rule, value, comparison = _threshold_of(estimator, threshold)
    offset = _model_offset(estimator)
    how = tiling(estimator, halo=halo)
    height, width = image.cube.shape[:2]
    split = stages(estimator) if how.halo else None
    if tile_rows is None and split is not None:
        budget = max(1, SPATIAL_PIXELS // width)
        tile_rows = height if budget >= height else max(budget - 2 * how.halo, how.halo)
    elif tile_rows is None:
        tile_rows = max(1, BLOCK_PIXELS // width, 4 * how.halo)
    if int(tile_rows) < 1:
        raise ValueError(f"tile_rows must be >= 1; got {tile_rows}.")
    tile_rows = -(-int(tile_rows) // how.multiple) * how.multiple
    return _Plan(keep, rule, value, comparison, None if offset is None else -offset, how,
                 split, tile_rows)


def _score_map(estimator, cube, plan, scores, out_dir, progress_name):
    """Tile: score ``cube`` block by block into the memory-mapped ``scores``."""
    height = cube.shape[0]
    bar = None
    if progress_name:
        from tqdm.auto import tqdm

        bar = tqdm(total=height * (2 if plan.split else 1), unit="row",
                   desc=f"scoring {Path(progress_name).name}", leave=False)
    keep, halo = plan.keep, plan.how.halo
    if plan.split is None:
        _score_blocks(lambda b: estimator.anomaly_score(b if keep is None else b[..., keep]),
                      cube, scores, plan.tile_rows, halo, estimator, bar)
    else:
        feature_file = _feature_file(out_dir)
        try:
            features = _pixel_stage(plan.split.pixel, cube, keep, feature_file, bar)
            _score_blocks(plan.split.spatial, features, scores, plan.tile_rows, halo,
                          estimator, bar)
        finally:
            if os.path.exists(feature_file):
                os.unlink(feature_file)
    if bar is not None:
        bar.close()


def _flag(scores, mask, plan):
    """Write: the mask of the scores beyond the threshold; the threshold, the count and
    the count beyond the model's own threshold (None when it has none)."""
    height, width = scores.shape
    chunk_rows = max(1, (1 << 22) // width)
    if plan.rule == "quantile":
        value = _quantile(scores, plan.value, chunk_rows)
    elif plan.rule == "false-alarm":
        from .anomaly._decider import false_alarm_rank

        k = false_alarm_rank(plan.value, scores.size)
        value = _order_statistic(scores, scores.size - k, chunk_rows)
    else:
        value = plan.value
    flagged, beyond_model = 0, 0
    for r in range(0, height, chunk_rows):
        part = scores[r:r + chunk_rows]
        hits = part > value if plan.comparison == ">" else part >= value
        mask[r:r + chunk_rows] = hits
        flagged += int(hits.sum())
        if plan.model_value is not None:
            beyond_model += int(np.count_nonzero(part > plan.model_value))
        release_pages(scores, mask)
    return value, flagged, (None if plan.model_value is None else beyond_model)


def _summary(estimator, image, name, plan, value, counts, score_seconds, seconds, targets):
    """Summarise: what was scored, how, the threshold and the outputs."""
    cube = image.cube
    height, width = cube.shape[:2]
    how = plan.how
    flagged, beyond_model = counts
    final = _final(estimator)
    summary = {
        "input": name, "shape": list(cube.shape), "model": type(estimator).__name__,
        "bands_used": int(cube.shape[-1] if plan.keep is None else len(plan.keep)),
        "tiling": {"tile_rows": min(plan.tile_rows, height), "halo": how.halo,
                   "exact": how.exact, "note": how.note},
        "threshold": {"rule": plan.rule, "score": value, "comparison": plan.comparison,
                      **({_RULE_KEYS[plan.rule]: plan.value} if plan.rule in _RULE_KEYS
                         else {})},
        "flagged_pixels": flagged,
        "flagged_share": round(flagged / (height * width), 6),
        "score_seconds": round(score_seconds, 3),
        "seconds": round(seconds, 3),
        "pixels_per_second": round(height * width / max(score_seconds, 1e-9), 1),
        "outputs": [str(targets[k]) for k in targets],
    }
    if beyond_model is not None:
        summary["model_threshold"] = {
            "score": plan.model_value,
            "contamination": getattr(final, "contamination", None),
            "flagged_share": round(beyond_model / (height * width), 6)}
    return summary


def detection_metrics(mask, scores, flagged):
    """How a score map and its flagged pixels meet a ground-truth mask.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        Ground truth, True = anomaly.
    scores : ndarray of shape (H, W)
        Anomaly scores.
    flagged : ndarray of bool, shape (H, W)

    Returns
    -------
    dict
        ``anomalous_pixels``, ``false_alarm_rate`` (the share of the
        background flagged), and when the mask has anomalies ``roc_auc``,
        ``average_precision`` (of the scores), ``iou``, ``precision`` and
        ``recall`` (of the flagged pixels).

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.serving import detection_metrics
    >>> mask = np.array([[True, False], [False, False]])
    >>> detection_metrics(mask, np.array([[0.9, 0.1], [0.5, 0.2]]), mask)["recall"]
    1.0
    >>> detection_metrics(mask & False, np.zeros((2, 2)), mask)   # a mask without anomalies
    {'anomalous_pixels': 0, 'false_alarm_rate': 0.25}
    """
    from . import metrics

    mask, flagged = np.asarray(mask, dtype=bool), np.asarray(flagged, dtype=bool)
    background = ~mask
    found = {"anomalous_pixels": int(mask.sum()),
             "false_alarm_rate": float(flagged[background].mean()) if background.any()
             else 0.0}
    if not mask.any():
        return found
    return {**found,
            "roc_auc": metrics.roc_auc(mask, scores),
            "average_precision": metrics.average_precision(mask, scores),
            "iou": metrics.iou(mask, flagged),
            "precision": metrics.precision(mask, flagged),
            "recall": metrics.recall(mask, flagged)}
