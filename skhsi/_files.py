"""Writing files atomically, with the permissions the user's umask gives, and
releasing the resident pages of memory-mapped files."""

import mmap
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_write", "check_outputs", "memmap_base", "release_pages", "same_file",
           "staged_file"]


def _umask():
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def staged_file(target, write, *, fsync=False):
    """Write ``write(fileobj)`` into a temporary file beside ``target``; return its path.

    The temporary file gets the mode a plain ``open(target, "w")`` would give
    (``0o666`` less the umask), not the owner-only mode of
    :func:`tempfile.mkstemp`, so the file moved into place later with
    :func:`os.replace` is as readable as any other file the user writes. On
    error the temporary file is removed and nothing is left behind.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                               dir=target.parent if str(target.parent) else ".")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write(target, write, *, fsync=False):
    """Write ``target`` through a temporary file and :func:`os.replace`: never half-written."""
    tmp = staged_file(target, write, fsync=fsync)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def release_pages(*arrays):
    """Drop the pages of memory-mapped arrays from resident memory (``MADV_DONTNEED``).

    The file stays in the page cache (a written map is flushed first); the
    next access maps it again. A no-op for in-memory arrays and where the
    platform lacks it.
    """
    advice = getattr(mmap, "MADV_DONTNEED", None)
    for array in arrays:
        base = memmap_base(array)
        handle = getattr(base, "_mmap", None)
        if handle is None or advice is None or not hasattr(handle, "madvise"):
            continue
        if base.mode in ("r+", "w+"):
            base.flush()
        handle.madvise(advice)


def memmap_base(array):
    """The :class:`numpy.memmap` an array views (through any slices), or None."""
    base = array
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    return base


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name one file: the same resolved path, or, when both
    exist, the same device and inode (hard links, symbolic links, ``..`` and case-folding
    file systems included)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_outputs(outputs, inputs):
    """Refuse, before any work, outputs that would write over an input or over each other.

    Parameters
    ----------
    outputs : iterable of path
        Every file a command is about to write.
    inputs : iterable of path
        Every file it reads (an ENVI header and its data file both count).

    Raises
    ------
    ValueError
        Naming the output and the input (or the other output) it coincides with.

    Examples
    --------
    >>> from skhsi._files import check_outputs
    >>> check_outputs(["out/a_scores.img"], ["a.hdr", "a.img"])
    >>> check_outputs(["a.img"], ["a.hdr", "data/../a.img"])
    Traceback (most recent call last):
    ...
    ValueError: the output a.img is the input data/../a.img: choose another output name or directory; no input file is ever written over.
    """
    outputs, inputs = [Path(p) for p in outputs], [Path(p) for p in inputs]
    for i, out in enumerate(outputs):
        for source in inputs:
            if same_file(out, source):
                raise ValueError(f"the output {out} is the input {source}: choose another "
                                 "output name or directory; no input file is ever written "
                                 "over.")
        for other in outputs[:i]:
            if same_file(out, other):
                raise ValueError(f"two outputs of one run are the same file, {other} and "
                                 f"{out}: give the inputs different names or write them to "
                                 "different directories.")


def naming_file(path, what, step, errors=()):
    """Run ``step()``; a ``ValueError``, or one of ``errors``, becomes a ``ValueError``
    that starts with ``path`` and says ``what`` (one already starting with it passes)."""
    try:
        return step()
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: {what} ({exc}).") from exc
    except errors as exc:
        raise ValueError(f"{path}: {what} ({str(exc) or type(exc).__name__}).") from exc

