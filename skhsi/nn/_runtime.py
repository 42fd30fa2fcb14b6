"""Device choice, seeding and chunked inference for torch modules."""

import copy
import re

import numpy as np
import torch

__all__ = ["resolve_device", "make_generator", "apply_module", "as_numpy", "as_tensor",
           "autocast", "global_rng_untouched"]


_DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")


def resolve_device(device):
    """Return the torch device string for ``device``.

    ``"auto"`` picks ``"cuda"`` when a CUDA device is available, else ``"cpu"``.
    Asking for CUDA on a machine without it is a clear error rather than a crash
    deep inside torch.
    """
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise ValueError(
            "device must be 'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps' (or a "
            f"torch.device); got {device!r}."
        )
    name = device
    if name == "mps" and not (hasattr(torch.backends, "mps")
                              and torch.backends.mps.is_available()):
        raise ValueError("device='mps' was requested but MPS is not available on this "
                         "machine; use device='cpu' or device='auto'.")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='cpu' or device='auto'."
        )
    return name


def make_generator(seed):
    """A CPU ``torch.Generator`` seeded with ``seed`` (global RNGs are untouched)."""
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator


def global_rng_untouched():
    """Context in which torch's global CPU generator may be used and is restored after.

    Building torch layers draws their default initial weights from the global
    generator; skhsi re-initialises them from its own generators, and builds
    them inside this context so that fitting leaves the caller's random state
    alone.
    """
    return torch.random.fork_rng(devices=[])


def as_tensor(X, device="cpu"):
    """Float32 tensor view of ``X`` (copied when ``X`` is read-only or not float32)."""
    X = np.asarray(X)
    if X.dtype != np.float32 or not X.flags.c_contiguous or not X.flags.writeable:
        X = np.array(X, dtype=np.float32, order="C")
    return torch.from_numpy(X).to(device)


def as_numpy(tensor):
    """Detached CPU numpy copy of a tensor."""
    return tensor.detach().cpu().numpy()


def autocast(device, precision):
    """Autocast context for ``precision`` (``"bfloat16"``) or a no-op for float32."""
    enabled = precision == "bfloat16"
    device_type = torch.device(device).type
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=enabled)


def apply_module(module, X, *, batch_size, device="cpu", out_dim=None, precision="float32",
                 progress=False):
    """Run ``module`` over the rows of ``X`` in chunks of ``batch_size`` pixels.

    The module is evaluated in inference mode on ``device``, and never
    changed: a module in training mode, or on another device, is copied first
    (so concurrent calls, e.g. dask threads, cannot switch each other's mode
    and let a stateful module such as the EMA centre update).
    Memory stays flat: only one chunk is converted to a tensor at a time and
    the result is written into one preallocated float32 array.

    Parameters
    ----------
    module : torch.nn.Module
        Maps a float32 tensor ``(n, C)`` to ``(n,)`` or ``(n, K)``.
    X : ndarray of shape (n_pixels, C)
    batch_size : int
    device : str
    out_dim : int or None
        Width of the output; ``None`` for one value per pixel. Found from the
        first chunk when not given.
    precision : {"float32", "bfloat16"}
        ``"bfloat16"`` runs the module under autocast (mixed precision); the
        result is stored as float32 either way.
    progress : bool
        Show a progress bar (tqdm) when there is more than one chunk.

    Returns
    -------
    ndarray of shape (n_pixels,) or (n_pixels, K), float32
    """
    device = resolve_device(device)
    if module.training or _module_device(module) != torch.device(device):
        module = copy.deepcopy(module).to(device).eval()
    n = X.shape[0]
    out = None
    starts = range(0, n, batch_size)
    if progress and len(starts) > 1:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="scoring", unit="chunk", leave=False)
    with torch.inference_mode(), autocast(device, precision):
        for start in starts:
            chunk = as_tensor(X[start:start + batch_size], device)
            result = module(chunk)
            if out is None:
                shape = (n,) + tuple(result.shape[1:])
                out = np.empty(shape, dtype=np.float32)
            out[start:start + len(chunk)] = as_numpy(result.float())
    if out is None:
        shape = (0,) if out_dim is None else (0, out_dim)
        out = np.empty(shape, dtype=np.float32)
    return out


def _module_device(module):
    for tensor in list(module.parameters()) + list(module.buffers()):
        return tensor.device
    return torch.device("cpu")
