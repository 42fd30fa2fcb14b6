"""skhsi: scikit-learn estimators for hyperspectral imaging.

Every node is a scikit-learn transformer or estimator whose ``fit`` does a
statistical initialisation and, optionally, gradient fine-tuning through skorch.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
