"""Where skhsi's public estimators live: the one list the rest derives from.

Model files rebuild only classes exported by these subpackages (and
``skhsi.pipeline.Pipeline``); the test suite discovers every estimator it
checks from the same list, so a new estimator is found by adding its name to
its subpackage's ``__all__``.
"""

import importlib
import inspect

__all__ = ["ESTIMATOR_PACKAGES", "public_estimators"]

#: The subpackages whose ``__all__`` names public estimators.
ESTIMATOR_PACKAGES = ("anomaly", "preprocessing", "decomposition", "selection", "spatial",
                      "classification", "representation")


def public_estimators():
    """``{name: class}`` of every public estimator (imports the nodes with weights too)."""
    from sklearn.base import BaseEstimator

    found = {}
    for package in ESTIMATOR_PACKAGES:
        module = importlib.import_module(f"skhsi.{package}")
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[name] = obj
    return found
