"""Spatial transformers of cubes: Sobel edges, band-wise convolution, pooling, upsampling."""

from fractions import Fraction
from numbers import Integral

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import ModuleStepMixin, SpatialReach
from ._base import CubeMixin

__all__ = ["SobelEdges", "BandConvolution", "Pool2D", "Upsample2D"]


class SobelEdges(CubeMixin, TransformerMixin, BaseEstimator):
    """Sobel edge magnitude and direction of every band.

    Read more in the :ref:`User Guide <spatial>`.

    Each band is filtered on its own with the two 3 x 3 Sobel kernels
    (reflect borders, as ``scipy.ndimage.sobel`` of the band); the output
    holds, per band, the gradient magnitude ``sqrt(gx^2 + gy^2)`` and, with
    ``direction=True``, its direction ``atan2(gy, gx)`` in radians (rows
    down, columns right).

    Parameters
    ----------
    direction : bool, default=True
        Append the direction of every band after the magnitudes.

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.spatial import SobelEdges
    >>> cube = np.zeros((5, 6, 2)); cube[:, 3:] = 1.0       # a vertical edge
    >>> out = SobelEdges().fit_transform(cube)
    >>> out.shape, float(out[2, 2, 0]) > 0, float(out[2, 0, 0])
    ((5, 6, 4), True, 0.0)
    """

    _parameter_constraints = {"direction": ["boolean"]}

    def __init__(self, *, direction=True):
        self.direction = direction

    def _spatial_reach(self):
        """The 3 x 3 kernels reach one pixel."""
        return SpatialReach(1)

    def _transform_cube(self, cube):
        gy, gx = _sobel(cube, axis=0), _sobel(cube, axis=1)
        parts = [np.hypot(gx, gy)] + ([np.arctan2(gy, gx)] if self.direction else [])
        return np.concatenate(parts, axis=-1)

    def get_feature_names_out(self, input_features=None):
        """``sobel_mag_<band>`` (and ``sobel_dir_<band>``) for every band."""
        check_is_fitted(self)
        bands = self._band_names(input_features)
        names = [f"sobel_mag_{b}" for b in bands]
        if self.direction:
            names += [f"sobel_dir_{b}" for b in bands]
        return np.asarray(names, dtype=object)


def _sobel(cube, axis):
    """Sobel derivative of every band along ``axis`` (0: rows, 1: columns), bands apart.

    ``scipy.ndimage.sobel`` on the cube itself would also smooth across the
    band axis; the two 1-D passes here stay in the image plane.
    """
    derivative = ndimage.correlate1d(cube, [-1.0, 0.0, 1.0], axis=axis, mode="reflect")
    return ndimage.correlate1d(derivative, [1.0, 2.0, 1.0], axis=1 - axis, mode="reflect")


class BandConvolution(ModuleStepMixin, CubeMixin, TransformerMixin, BaseEstimator):
    """Filter every band with 2-D kernels (correlation, as neural networks do), given or learned.

    Read more in the :ref:`User Guide <spatial>`.

    Each kernel is applied to every band on its own; the output stacks, per
    kernel, its filtered bands (``n_kernels * C`` channels). With
    ``trainable=True`` the kernels are parameters of a trained
    :class:`~skhsi.pipeline.Pipeline` whose head works on images (a spatial
    autoencoder): phase 1 sets them from ``kernels`` (or the identity), phase
    2 trains them end to end.

    Parameters
    ----------
    kernels : array-like of shape (k, k) or (n_kernels, k, k), or None, default=None
        Odd-sized kernels; ``None`` is the ``kernel_size`` identity (a centred
        delta), the usual start of a learned filter.
    kernel_size : int, default=3
        Side of the identity kernel when ``kernels`` is None.
    mode : {"mirror", "nearest", "constant", "wrap"}, default="mirror"
        How borders are extended: ``scipy.ndimage``'s modes (``"mirror"``:
        ``d c b | a b c d``), the same as the torch module's padding
        (``"reflect"``, ``"replicate"``, zeros, ``"circular"``).
    trainable : bool, default=False
        Let phase 2 of a pipeline with an image head train the kernels.

    Attributes
    ----------
    kernels_ : ndarray of shape (n_kernels, k, k)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.spatial import BandConvolution
    >>> mean3 = np.full((3, 3), 1 / 9)
    >>> cube = np.random.default_rng(0).random((8, 8, 3))
    >>> out = BandConvolution(mean3).fit_transform(cube)
    >>> out.shape, bool(np.isclose(out[4, 4, 0], cube[3:6, 3:6, 0].mean()))
    ((8, 8, 3), True)
    >>> bool(np.allclose(BandConvolution().fit_transform(cube), cube))   # the identity
    True
    """

    sample_layout = "image"

    _parameter_constraints = {
        "kernels": ["array-like", None],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "mode": [StrOptions({"mirror", "nearest", "constant", "wrap"})],
        "trainable": ["boolean"],
    }

    def __init__(self, kernels=None, *, kernel_size=3, mode="mirror", trainable=False):
        self.kernels = kernels
        self.kernel_size = kernel_size
        self.mode = mode
        self.trainable = trainable

    def _fit_cubes(self, cubes):
        if self.kernels is None:
            if self.kernel_size % 2 == 0:
                raise ValueError(f"kernel_size must be odd; got {self.kernel_size}.")
            kernels = np.zeros((1, self.kernel_size, self.kernel_size))
            kernels[0, self.kernel_size // 2, self.kernel_size // 2] = 1.0
        else:
            kernels = np.asarray(self.kernels, dtype=np.float64)
        if kernels.ndim == 2:
            kernels = kernels[None]
        if (kernels.ndim != 3 or kernels.shape[1] != kernels.shape[2]
                or kernels.shape[1] % 2 == 0):
            raise ValueError(
                "kernels must be one (k, k) kernel or a stack (n_kernels, k, k) with an odd "
                f"k; got shape {np.shape(self.kernels)}."
            )
        if not np.all(np.isfinite(kernels)):
            raise ValueError("kernels must be finite; got NaN or inf.")
        self.kernels_ = np.ascontiguousarray(kernels)
        return self

    def _spatial_reach(self):
        """Half the kernel side (of the fitted kernels, else of the parameters)."""
        kernels = getattr(self, "kernels_", self.kernels)
        side = self.kernel_size if kernels is None else max(np.shape(kernels)[-2:])
        return SpatialReach(int(side) // 2)

    def _transform_cube(self, cube):
        return np.concatenate([ndimage.correlate(cube, kernel[:, :, None], mode=self.mode)
                               for kernel in self.kernels_], axis=-1)

    def _as_module(self):
        from ..nn._spatial import BandConv

        check_is_fitted(self)
        return BandConv(self.kernels_, mode=self.mode)

    def _from_module(self, module):
        from ..nn import as_numpy

        self.kernels_ = as_numpy(module.kernels).astype(np.float64)


def _window_view(cube, size, stride):
    """Windows ``(h', w', C, size, size)`` of a cube, ``stride`` apart."""
    view = np.lib.stride_tricks.sliding_window_view(cube, (size, size), axis=(0, 1))
    return view[::stride, ::stride]


class Pool2D(CubeMixin, TransformerMixin, BaseEstimator):
    """Max or mean pooling of every band over ``size x size`` windows, ``stride`` apart.

    Read more in the :ref:`User Guide <spatial>`.

    Parameters
    ----------
    size : int, default=2
        Side of the pooling window.
    stride : int or None, default=None
        ``None``: ``size`` (non-overlapping windows).
    padding : int, default=0
        Pixels added on every side before pooling, reflected from the image
        (``mode="reflect"`` of ``numpy.pad``), so that border pixels get full
        windows.
    method : {"max", "mean"}, default="max"
        Keep the window's maximum or its mean.

    Attributes
    ----------
    n_features_in_ : int

    Notes
    -----
    The output of a cube ``(H, W, C)`` is
    ``((H + 2 padding - size) // stride + 1, (W + 2 padding - size) // stride + 1, C)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.spatial import Pool2D
    >>> cube = np.arange(16.0).reshape(4, 4, 1)
    >>> Pool2D(2).fit_transform(cube)[..., 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    _parameter_constraints = {
        "size": [Interval(Integral, 1, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left"), None],
        "padding": [Interval(Integral, 0, None, closed="left")],
        "method": [StrOptions({"max", "mean"})],
    }

    def __init__(self, size=2, *, stride=None, padding=0, method="max"):
        self.size = size
        self.stride = stride
        self.padding = padding
        self.method = method

    def _spatial_reach(self):
        """Windows of ``size`` pixels, ``stride`` apart: the grid shrinks by ``stride``."""
        stride = self.size if self.stride is None else self.stride
        return SpatialReach(max(self.size - stride, 0) + self.padding, stride,
                            Fraction(1, stride))

    def _transform_cube(self, cube):
        stride = self.size if self.stride is None else self.stride
        if self.padding:
            pad = self.padding
            mode = "reflect" if min(cube.shape[:2]) > pad else "edge"
            cube = np.pad(cube, ((pad, pad), (pad, pad), (0, 0)), mode=mode)
        if min(cube.shape[:2]) < self.size:
            raise ValueError(
                f"Pool2D(size={self.size}) needs images of at least {self.size} x "
                f"{self.size} pixels (with padding); got {cube.shape[:2]}."
            )
        reduce = np.max if self.method == "max" else np.mean
        return reduce(_window_view(cube, self.size, stride), axis=(-2, -1))


class Upsample2D(ModuleStepMixin, CubeMixin, TransformerMixin, BaseEstimator):
    """Enlarge every band by an integer ``factor``: interpolation or a learned transposed conv.

    Read more in the :ref:`User Guide <spatial>`.

    The counterpart of :class:`Pool2D`. ``"nearest"`` and ``"bilinear"``
    interpolate on the pixel-centre grid (edges replicated, as
    ``torch.nn.functional.interpolate`` with ``align_corners=False``);
    ``"transposed"`` is a transposed convolution with stride ``factor`` and one
    ``2 factor - factor % 2`` kernel shared by the bands, which starts as
    bilinear interpolation (``kernel_``, the usual start of a learned
    upsampler; in the interior it equals ``"bilinear"``, at the border the
    missing neighbours count as zeros) and, with ``trainable=True``, is
    trained end to end in front of an image head.

    Parameters
    ----------
    factor : int, default=2
        Integer zoom of both spatial axes.
    method : {"bilinear", "nearest", "transposed"}, default="bilinear"
        Interpolation, or a learnable transposed convolution initialised to
        bilinear.
    trainable : bool, default=False
        Only with ``method="transposed"``.

    Attributes
    ----------
    kernel_ : ndarray of shape (k, k) or None
        The transposed convolution's kernel (``None`` for interpolation).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.spatial import Upsample2D
    >>> Upsample2D(2, method="nearest").fit_transform(np.eye(2)[:, :, None])[..., 0]
    array([[1., 1., 0., 0.],
           [1., 1., 0., 0.],
           [0., 0., 1., 1.],
           [0., 0., 1., 1.]])
    """

    sample_layout = "image"

    _parameter_constraints = {
        "factor": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"bilinear", "nearest", "transposed"})],
        "trainable": ["boolean"],
    }

    def __init__(self, factor=2, *, method="bilinear", trainable=False):
        self.factor = factor
        self.method = method
        self.trainable = trainable

    def _fit_cubes(self, cubes):
        if self.trainable and self.method != "transposed":
            raise ValueError(f"method={self.method!r} has nothing to train; trainable=True "
                             "needs method='transposed'.")
        from ..nn import as_numpy
        from ..nn._spatial import bilinear_kernel

        self.kernel_ = (as_numpy(bilinear_kernel(self.factor)).astype(np.float64)
                        if self.method == "transposed" else None)
        return self

    def _spatial_reach(self):
        """Every input pixel becomes ``factor x factor``; interpolation reaches one pixel."""
        return SpatialReach(0 if self.method == "nearest" else 1, 1, Fraction(self.factor))

    def _transform_cube(self, cube):
        if self.method != "transposed":  # float64 stays float64
            order = 1 if self.method == "bilinear" else 0
            return ndimage.zoom(cube, (self.factor, self.factor, 1), order=order,
                                mode="nearest", grid_mode=True)
        from ..nn import apply_module

        out = apply_module(self._as_module(), cube[None], batch_size=1, device="cpu")
        return out[0].astype(cube.dtype, copy=False)

    def _as_module(self):
        from ..nn._spatial import BandUpsample

        check_is_fitted(self)
        return BandUpsample(self.factor, self.method, self.kernel_).eval()

    def _from_module(self, module):
        from ..nn import as_numpy

        self.kernel_ = as_numpy(module.kernel).astype(np.float64)
