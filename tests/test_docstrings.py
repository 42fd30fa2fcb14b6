"""The docstrings are the one list of each estimator's parameters and fitted attributes:
every public estimator documents exactly its constructor's parameters, each described, ``fit`` sets no
public attribute its ``Attributes`` section does not list (model files rely on that list),
and every public name of a subpackage is in the API reference."""

import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone

from skhsi.base import documented_attributes

from .test_reach import _MAPS, _SUBPACKAGES, CASES, _fit

_API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"


def _documented_parameters(cls):
    docscrape = pytest.importorskip("numpydoc.docscrape")
    names = []
    for entry in docscrape.ClassDoc(cls)["Parameters"]:
        assert entry.desc, f"{cls.__name__}: parameter {entry.name!r} has no description"
        names += [name.strip() for name in entry.name.split(",")]
    return names


_CLASSES = {name: type(ests[0]) for name, ests in CASES.items()}


@pytest.mark.parametrize("name", sorted(_CLASSES))
def test_parameters_are_documented_as_in_the_signature(name):
    cls = _CLASSES[name]
    signature = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    documented = _documented_parameters(cls)
    assert sorted(documented) == sorted(signature)
    assert len(documented) == len(set(documented))


@pytest.mark.parametrize("name", sorted(_CLASSES))
def test_fit_sets_only_documented_attributes(name):
    estimator = clone(CASES[name][0])
    if name in _MAPS:
        scores = np.random.default_rng(0).random((20, 30))
        estimator.fit(scores, scores > 0.9) if name == "RecallThresholdDecider" else \
            estimator.fit(scores)
    else:
        _fit(estimator)
    fitted = {key for key in vars(estimator) if key.endswith("_") and not key.startswith("_")}
    assert fitted, f"{name} sets no fitted attribute"
    assert fitted <= documented_attributes(type(estimator)), \
        sorted(fitted - documented_attributes(type(estimator)))


def test_every_public_name_is_in_the_api_reference():
    text = _API.read_text()
    listed = set(re.findall(r"^   ([A-Za-z_][A-Za-z0-9_]*)$", text, flags=re.M))
    missing = []
    for package in _SUBPACKAGES + ("pipeline", "persistence", "serving", "metrics", "io",
                                   "datasets", "plotting", "inspection", "parallel",
                                   "export", "model_selection"):
        module = importlib.import_module(f"skhsi.{package}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and name not in listed:
                missing.append(f"skhsi.{package}.{name}")
    assert not missing


def test_documented_attributes_reads_the_attributes_section():
    class Documented(BaseEstimator):
        """A toy.

        Parameters
        ----------
        alpha : float

        Attributes
        ----------
        coef_ : ndarray
            Weights, not a section title.
        mean_, scale_ : ndarray
        n_features_in_ : int

        Examples
        --------
        >>> 1
        1
        """

    assert documented_attributes(Documented) == {"coef_", "mean_", "scale_", "n_features_in_"}
    assert documented_attributes(type("Bare", (), {"__doc__": None})) is None


#: Estimators that implement a published method: their docstrings cite it.
_PAPERS = ("RXDetector", "LocalRXDetector", "AttributeFilterDetector", "LowRankSparseDetector",
           "DeepSVDD", "AutoencoderDetector", "VAEDetector", "ConcreteBandSelector",
           "SimCLREncoder", "UNetSegmenter", "PatchClassifier", "SpectralMLPClassifier")


@pytest.mark.parametrize("name", sorted(_CLASSES))
def test_docstrings_link_the_user_guide_and_cite_their_papers(name):
    doc = _CLASSES[name].__doc__
    assert ":ref:`User Guide <" in doc.split("\n\n")[1]  # right after the summary
    if name in _PAPERS:
        assert "    References\n    ----------\n    .. [1] " in doc

