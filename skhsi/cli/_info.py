"""``skhsi info`` and ``skhsi bands``: summarise a file, choose bands."""

import numpy as np

from ._common import _load

_HOW = "give them with --wavelengths FILE (one centre in nm per band)"


def _info(args):
    image = _load(args.file, args)
    cube = image.cube
    print(f"file         {args.file}")
    print(f"cube         {' x '.join(map(str, cube.shape))} (lines x samples x bands), "
          f"{cube.dtype}")
    if image.wavelengths is not None:
        w = image.wavelengths
        print(f"wavelengths  {w[0]:g}-{w[-1]:g} nm, {len(w)} bands")
    else:
        print("wavelengths  unknown (skhsi bands takes them with --wavelengths FILE, one "
              "centre in nm per band)")
    if image.bad_bands is not None:
        print(f"bad bands    {int(image.bad_bands.sum())}")
    if image.mask is not None:
        print(f"mask         {int(image.mask.sum())} anomalous pixels")
    else:
        print("mask         none")
    if image.labels is not None:
        n_classes = len(np.unique(image.labels[image.labels > 0]))
        print(f"labels       {n_classes} classes, {int((image.labels > 0).sum())} "
              "labelled pixels")
    if "citation" in image.metadata:
        print(f"citation     {image.metadata['citation']}")
        print(f"licence      {image.metadata['licence']}")
    if "variables" in image.metadata:  # a .mat file: every numeric variable
        used = {image.metadata.get("cube_key"): "cube", image.metadata.get("mask_key"): "mask",
                image.metadata.get("wavelength_key"): "wavelengths"}
        print("variables")
        for name, shape in sorted(image.metadata["variables"].items()):
            role = f"  ({used[name]})" if name in used else ""
            print(f"  {name:<20} {' x '.join(map(str, shape))}{role}")
    header = image.metadata.get("header")
    if isinstance(header, dict):  # an ENVI file: the header's fields
        print("header")
        for key, value in header.items():
            text = value if isinstance(value, str) else repr(value)
            if len(text) > 60:
                text = text[:57] + "..."
            print(f"  {key:<20} {text}")
    else:
        for key in ("interleave", "byte order", "data type", "description"):
            if key in image.metadata:
                print(f"{key:<12} {image.metadata[key]}")
    return 0


def _with_wavelengths(image, path):
    """``image`` with the band centres (nm) of the text file ``path``: numbers one per
    line or separated by commas or spaces (``#`` starts a comment), one per band of the
    file (bad bands included), strictly increasing; errors name ``path``."""
    import dataclasses
    from pathlib import Path

    if not Path(path).is_file():
        raise FileNotFoundError(f"No such wavelengths file: {path}")
    try:
        text = Path(path).read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file of wavelengths (nm, one per band).") \
            from None
    tokens = " ".join(line.split("#", 1)[0].replace(",", " ")
                      for line in text.splitlines()).split()
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: wavelengths must be numbers in nm; {exc}.") from None
    try:
        return dataclasses.replace(image, wavelengths=values)
    except ValueError as exc:  # not one per band, not finite, not increasing
        raise ValueError(f"{path}: {exc}") from None


def _bands(args):
    from skhsi.preprocessing import BandSampler
    from skhsi.preprocessing._sampling import _NEEDS_WAVELENGTHS

    image = _load(args.file, args)
    if args.wavelengths is not None:
        image = _with_wavelengths(image, args.wavelengths)
    if image.wavelengths is None and args.strategy in _NEEDS_WAVELENGTHS:
        raise ValueError(f"--strategy {args.strategy} needs `wavelengths` and {args.file} has "
                         f"none; {_HOW}.")
    if args.drop_bad_bands and image.bad_bands is not None:
        kept = np.flatnonzero(~image.bad_bands)
        image = image.drop_bad_bands()
    else:
        kept = np.arange(image.cube.shape[-1])
    sampler = BandSampler(args.n_bands, strategy=args.strategy, wavelengths=image.wavelengths)
    sampler.fit(image.cube)
    print(f"strategy  {args.strategy}: {len(sampler.selected_bands_)} of "
          f"{image.cube.shape[-1]} bands")
    print("band  wavelength_nm")
    wavelengths = sampler.selected_wavelengths_
    for i, band in enumerate(sampler.selected_bands_):
        wl = "unknown" if wavelengths is None else f"{wavelengths[i]:g}"
        print(f"{kept[band]:>4}  {wl}")
    if wavelengths is None:
        print(f"wavelengths unknown: {_HOW}")
    return 0
