"""End-to-end two-phase pipeline.

:class:`Pipeline` is scikit-learn's ``Pipeline`` (``step__param`` names,
``set_params``, ``GridSearchCV`` and ``joblib`` all work) whose ``fit`` runs
phase 1 (statistical initialisation) for every step in order, then phase 2
once: gradient training of the chain of the steps' torch modules against the
final step's objective. Steps with ``trainable=True`` are updated by that
training; the others keep their statistics.
"""

import numpy as np
from sklearn import pipeline as _sk_pipeline
from sklearn.utils.metaestimators import available_if

from ._xarray import wrap_methods
from .anomaly import AttributeFilterDetector
from .base import ModuleStepMixin, as_pixels, is_torch_node
from .preprocessing import BandpassByWavelength, PerPixelUnitNorm, ZScoreNormalizerGlobal

__all__ = ["Pipeline", "make_attribute_filter_pipeline", "make_deep_svdd_pipeline",
           "make_pipeline"]


def _is_head(step):
    """A final step that trains its own objective: a node with weights."""
    return is_torch_node(step)


def _fits_in_chain(step, head):
    """A step whose torch module can feed the head's: pixel steps anywhere, image
    steps (spatial convolutions) only in front of an image head."""
    return isinstance(step, ModuleStepMixin) and (
        step.sample_layout == "pixel" or head.sample_layout == "image")


def _trainable(step):
    return isinstance(step, ModuleStepMixin) and bool(getattr(step, "trainable", False))


def _final_has(attr):
    return lambda self: hasattr(self._final_estimator, attr)


class Pipeline(_sk_pipeline.Pipeline):
    """A scikit-learn Pipeline with skhsi's two-phase ``fit``.

    When the final step is an skhsi node with weights (e.g.
    :class:`~skhsi.anomaly.DeepSVDD`), ``fit`` does:

    1. each step in order, fitted on the output of the previous ones: the
       final step and the steps with ``trainable=True`` run phase 1 only
       (statistics: per-band mean/std, SVD, centre = mean embedding, ...);
       every other step is fitted alone with its own ``fit`` (a frozen node
       with weights and ``max_epochs > 0`` trains its own objective there,
       e.g. a frozen ``TrainablePCA`` its reconstruction);
    2. if the final step has ``max_epochs > 0``: one gradient training of the
       torch modules of the trailing steps that have one (the *chain*),
       against the final step's objective, with the final step's training
       parameters (``lr``, ``batch_size``, ``callbacks``, ``device``, ...).
       Steps with ``trainable=True`` are updated; frozen steps keep their
       statistics. Steps in front of the chain (any scikit-learn
       transformer) are applied once, as in a plain pipeline.

    Afterwards the final step's thresholds (``offset_``) are computed on the
    trained chain's output. Any other final step makes ``fit`` the plain
    scikit-learn one.

    Examples
    --------
    >>> import numpy as np
    >>> from skhsi.pipeline import make_pipeline
    >>> from skhsi.preprocessing import ZScoreNormalizerGlobal
    >>> from skhsi.anomaly import DeepSVDD
    >>> cube = np.random.default_rng(0).normal(size=(16, 16, 6))
    >>> pipe = make_pipeline(ZScoreNormalizerGlobal(trainable=True),
    ...                      DeepSVDD(max_epochs=2, random_state=0, device="cpu"))
    >>> pipe.fit(cube).anomaly_score(cube).shape
    (16, 16)
    """

    def fit(self, X, y=None, *, validation_data=None, **params):
        """Two-phase fit (see the class docstring).

        Parameters
        ----------
        X : array-like of shape (n, C), (H, W, C) or (N, H, W, C)
        y : array-like or None
            Targets with the leading shape of ``X`` for supervised heads.
        validation_data : tuple (X_valid, y_valid) or None
            Held-out cube(s) and masks; the final step keeps the epoch with
            the best validation metric.
        **params : dict
            ``step__param`` fit parameters, as in scikit-learn.

        Returns
        -------
        self
        """
        head = self._final_estimator
        if not _is_head(head):
            if validation_data is not None:
                params[f"{self.steps[-1][0]}__validation_data"] = validation_data
            return super().fit(X, y, **params)
        self._validate_steps()
        step_params = _split_params(self, params)
        transformers = [(name, step) for name, step in self.steps[:-1]
                        if step is not None and step != "passthrough"]
        inputs = []
        Xt = X
        for name, step in transformers:
            inputs.append(Xt)
            if _trainable(step) and is_torch_node(step):
                step._fit_phase1(Xt, y, **step_params[name])
                Xt = step.transform(Xt)
            else:
                Xt = step.fit_transform(Xt, y, **step_params[name])
        head._fit_phase1(Xt, y, **step_params[self.steps[-1][0]])
        if head.max_epochs > 0:
            Xt = self._fit_chain(transformers, inputs, Xt, y, validation_data)
        head._finish_fit(head._training_input(Xt))
        return self

    def _fit_chain(self, transformers, inputs, Xt, y, validation_data):
        head = self._final_estimator
        start = len(transformers)
        while start > 0 and _fits_in_chain(transformers[start - 1][1], head):
            start -= 1
        frozen_trainable = [name for name, step in transformers[:start] if _trainable(step)]
        if frozen_trainable:
            raise ValueError(
                f"Steps {frozen_trainable} have trainable=True but sit in front of a step "
                "without a torch module (or an image step in front of a pixel head), so no "
                "gradient can reach them."
            )
        chain = transformers[start:]
        modules = []
        for _, step in chain:
            module = step._as_module()
            module.requires_grad_(_trainable(step))
            modules.append(module)
        X_chain = inputs[start] if chain else Xt
        data = head._training_input(X_chain)
        validation = None
        if validation_data is not None:
            X_valid = validation_data[0]
            for _, step in transformers[:start]:
                X_valid = step.transform(X_valid)
            validation = head._validation(validation_data, np.asarray(as_pixels(X_valid)[0]))
        y_pixels = None if y is None else np.asarray(y).reshape(-1)
        head._fit_gradient(data, y_pixels, prefix=modules, seed=head._phase2_seed(),
                           validation=validation)
        for (_, step), module in zip(chain, modules):
            module.requires_grad_(True)
            if _trainable(step):
                step._from_module(module)
        for _, step in chain:
            X_chain = step.transform(X_chain)
        return X_chain

    @available_if(_final_has("anomaly_score"))
    def anomaly_score(self, X):
        """Apply the transforms, then the final step's ``anomaly_score``."""
        Xt = X
        for _, _, step in self._iter(with_final=False):
            Xt = step.transform(Xt)
        return self._final_estimator.anomaly_score(Xt)

    @available_if(_final_has("anomaly_score"))
    def fit_anomaly_score(self, X, y=None, **params):
        """``fit``, then ``anomaly_score`` of ``X``, scoring the training data once.

        When the final step trains no network end to end, the steps are fitted
        in order and the final step's own ``fit_anomaly_score`` returns the
        scores it computed in ``fit``; otherwise ``fit`` then ``anomaly_score``.
        """
        head = self._final_estimator
        if _is_head(head) or not hasattr(head, "fit_anomaly_score"):
            return self.fit(X, y, **params).anomaly_score(X)
        self._validate_steps()
        step_params = _split_params(self, params)
        Xt = X
        for _, name, step in self._iter(with_final=False):
            Xt = step.fit_transform(Xt, y, **step_params[name])
        return head.fit_anomaly_score(Xt, y, **step_params[self.steps[-1][0]])

    @available_if(_final_has("fit_predict"))
    def fit_predict(self, X, y=None, **params):
        """``fit`` (two-phase), then ``predict`` on the same data."""
        return self.fit(X, y, **params).predict(X)

    @available_if(_final_has("transform"))
    def fit_transform(self, X, y=None, **params):
        """``fit`` (two-phase when it applies), then ``transform``."""
        if not _is_head(self._final_estimator):
            return super().fit_transform(X, y, **params)
        return self.fit(X, y, **params).transform(X)


wrap_methods(Pipeline, inherited=True)  # DataArrays in, DataArrays out (skhsi._xarray)


def _split_params(pipeline, params):
    routed = {name: {} for name, _ in pipeline.steps}
    for key, value in params.items():
        name, sep, param = key.partition("__")
        if not sep or name not in routed:
            raise ValueError(
                f"Fit parameter {key!r} must be '<step>__<param>' with a step among "
                f"{list(routed)}."
            )
        routed[name][param] = value
    return routed


def make_pipeline(*steps, memory=None, verbose=False):
    """:class:`Pipeline` with step names derived from the classes, as in scikit-learn."""
    return Pipeline(_sk_pipeline._name_estimators(steps), memory=memory, verbose=verbose)


def make_attribute_filter_pipeline(*, wavelengths=None, min_wavelength_nm=None,
                                   max_wavelength_nm=None, **detector_params):
    """The default anomaly-detection pipeline: small objects that differ from their surroundings.

    ``bandpass`` (a no-op unless limits are given) ->
    :class:`~skhsi.anomaly.AttributeFilterDetector` (principal components,
    multi-scale area attribute filters, local-RX weighting and a guided
    filter). It needs whole cubes, trains nothing and has no randomness, so
    it gives the same scores on every run and fits in a fraction of a second on a
    100 x 100 scene; ``skhsi detect`` uses it unless told otherwise. Use
    :func:`make_deep_svdd_pipeline` for a per-pixel detector that scores
    pixel tables, or when anomalies are not small objects.

    Parameters
    ----------
    wavelengths : array-like or None
        Band wavelengths in nm; needed when a limit is set.
    min_wavelength_nm, max_wavelength_nm : float or None
        Bandpass limits.
    **detector_params
        Passed to :class:`~skhsi.anomaly.AttributeFilterDetector`.

    Returns
    -------
    Pipeline

    Examples
    --------
    >>> from skhsi.datasets import make_synthetic_scene
    >>> from skhsi.metrics import roc_auc
    >>> from skhsi.pipeline import make_attribute_filter_pipeline
    >>> scene = make_synthetic_scene(random_state=0)
    >>> pipe = make_attribute_filter_pipeline().fit(scene.cube)
    >>> scores = pipe.anomaly_score(scene.cube)
    >>> scores.shape, bool(roc_auc(scene.mask, scores) > 0.9)
    ((64, 64), True)
    """
    return Pipeline([
        ("bandpass", BandpassByWavelength(min_wavelength_nm, max_wavelength_nm,
                                          wavelengths=wavelengths)),
        ("attribute", AttributeFilterDetector(**detector_params)),
    ])


def make_deep_svdd_pipeline(*, wavelengths=None, min_wavelength_nm=None,
                            max_wavelength_nm=None, unit_norm=False,
                            trainable_normalizer=False, random_state=None, **deep_svdd_params):
    """The Deep SVDD anomaly-detection pipeline (per pixel, trained).

    ``bandpass`` (a no-op unless limits are given) -> optional ``unitnorm``
    -> ``zscore`` -> ``deepsvdd``, with :class:`~skhsi.anomaly.DeepSVDD`'s
    defaults: RBF random features, the one-class objective and 20 epochs.
    Unit normalisation is off by default: it removes brightness, and
    anomalies that differ from their background mainly in brightness (the
    planes of the San Diego scene) then become hard to see.

    Parameters
    ----------
    wavelengths : array-like or None
        Band wavelengths in nm; needed when a limit is set.
    min_wavelength_nm, max_wavelength_nm : float or None
        Bandpass limits.
    unit_norm : bool, default=False
        Insert :class:`~skhsi.preprocessing.PerPixelUnitNorm` before the z-score.
    trainable_normalizer : bool, default=False
        Let phase 2 train the z-score's mean and std.
    random_state : int or None
        Seeds Deep SVDD (and the z-score's pixel sample).
    **deep_svdd_params
        Passed to :class:`~skhsi.anomaly.DeepSVDD`.

    Returns
    -------
    Pipeline

    Examples
    --------
    >>> from skhsi.datasets import make_synthetic_scene
    >>> from skhsi.metrics import roc_auc
    >>> from skhsi.pipeline import make_deep_svdd_pipeline
    >>> scene = make_synthetic_scene(random_state=0)
    >>> pipe = make_deep_svdd_pipeline(random_state=0, device="cpu").fit(scene.cube)
    >>> pipe.anomaly_score(scene.cube).shape
    (64, 64)
    >>> roc_auc(scene.mask, pipe.anomaly_score(scene.cube)) > 0.95
    True
    """
    from .anomaly import DeepSVDD

    steps = [("bandpass", BandpassByWavelength(min_wavelength_nm, max_wavelength_nm,
                                               wavelengths=wavelengths))]
    if unit_norm:
        steps.append(("unitnorm", PerPixelUnitNorm()))
    steps.append(("zscore", ZScoreNormalizerGlobal(random_state=random_state,
                                                   trainable=trainable_normalizer)))
    steps.append(("deepsvdd", DeepSVDD(random_state=random_state, **deep_svdd_params)))
    return Pipeline(steps)
