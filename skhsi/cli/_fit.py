"""``skhsi fit``: fit a detector on one or more scenes into a weights-only model file."""

import time
from pathlib import Path

import numpy as np

from skhsi._files import check_outputs

from ._common import _check_writable, _inputs, _load, _make_detector, _progress


def _fit(args):
    from skhsi.persistence import save_weights
    from skhsi.serving import pixelwise

    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"{out}: is a directory; --out names the model file to write "
                         f"(e.g. {out / 'model.skhsi'}).")
    check_outputs([out], _inputs(*args.scenes))
    _check_writable(out.parent if str(out.parent) else Path("."), "the model file's directory")
    for name, value in (("--max-pixels", args.max_pixels), ("--window", args.window)):
        if value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value}.")
    images = []
    for scene in args.scenes:
        image = _load(scene, args)
        keep = None
        if image.bad_bands is not None and not args.keep_bad_bands:
            keep = np.flatnonzero(~image.bad_bands)
        images.append((scene, image, keep))
    bands = {scene: image.cube.shape[-1] if keep is None else len(keep)
             for scene, image, keep in images}
    if len(set(bands.values())) > 1:
        raise ValueError("The scenes must have the same number of bands; got "
                         + ", ".join(f"{scene}: {n}" for scene, n in bands.items()) + ".")
    first, image, keep = images[0]
    wavelengths = image.wavelengths if keep is None or image.wavelengths is None \
        else image.wavelengths[keep]
    args.scene = first
    detector = _make_detector(args, wavelengths)
    rng = np.random.default_rng(args.seed)
    if pixelwise(detector):
        data = _sample_pixels(images, args.max_pixels, rng)
        what = f"{data.shape[0]} pixels"
    else:
        data = _windows(images, args.window, rng)
        count = 1 if data.ndim == 3 else data.shape[0]
        what = f"{count} window(s) of {data.shape[-3]} x {data.shape[-2]} pixels"
    _progress(args, f"fitting {args.method} on {what} of {len(images)} scene(s) ...")
    start = time.perf_counter()
    detector.fit(data)
    fit_seconds = time.perf_counter() - start
    digest = save_weights(detector, out)
    print(f"fitted     {args.method} on {what} of {len(images)} scene(s), "
          f"{data.shape[-1]} bands, in {fit_seconds:.2f} s")
    print(f"wrote      {out}")
    print(f"sha256     {digest}")
    return 0


def _sample_pixels(images, max_pixels, rng):
    """All pixels of the scenes, or ``max_pixels`` of them drawn without replacement
    (seeded, each scene in proportion to its size), read block by block."""
    from skhsi.serving import read_rows

    sizes = [image.cube.shape[0] * image.cube.shape[1] for _, image, _ in images]
    total = sum(sizes)
    chosen = None if total <= max_pixels else np.sort(rng.choice(total, max_pixels,
                                                                 replace=False))
    parts, offset = [], 0
    for (_, image, keep), size in zip(images, sizes):
        cube = image.cube
        width = cube.shape[1]
        mine = None if chosen is None else chosen[(chosen >= offset) & (chosen < offset + size)] \
            - offset
        step = max(1, (64 << 20) // max(1, width * cube.shape[2] * cube.itemsize))
        for r in range(0, cube.shape[0], step):
            block = read_rows(cube, r, min(r + step, cube.shape[0])).reshape(-1, cube.shape[2])
            if mine is not None:
                block = block[mine[(mine >= r * width) & (mine < (r + step) * width)] - r * width]
            parts.append(block if keep is None else block[:, keep])
        offset += size
    return np.concatenate(parts)


def _windows(images, window, rng):
    """One window of every scene, all of the same size (at most ``window`` on a side),
    at a seeded place; the whole scenes when they fit."""
    height = min(min(image.cube.shape[0] for _, image, _ in images), window)
    width = min(min(image.cube.shape[1] for _, image, _ in images), window)
    from skhsi._files import release_pages

    cubes = []
    for _, image, keep in images:
        cube = image.cube
        r = int(rng.integers(0, cube.shape[0] - height + 1))
        c = int(rng.integers(0, cube.shape[1] - width + 1))
        block = np.array(cube[r:r + height, c:c + width])
        release_pages(cube)
        cubes.append(block if keep is None else block[..., keep])
    return np.stack(cubes) if len(cubes) > 1 else cubes[0]
