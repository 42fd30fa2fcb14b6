"""
Tuning a pipeline with GridSearchCV, then saving it
===================================================

skhsi's pipeline is a scikit-learn ``Pipeline``, so its parameters are tuned
with :class:`~sklearn.model_selection.GridSearchCV` under their
``step__param`` names, and the fitted model is saved with :mod:`joblib`.

The ground-truth masks play the part of ``y``: the detector is still fitted
without labels (``y`` is ignored by ``fit``), and the masks are only read by
the scorer, :data:`skhsi.metrics.roc_auc_scorer`, on the held-out fold.

Tuning needs a scene with an anomaly mask. This example makes a synthetic one
(:func:`skhsi.datasets.make_synthetic_scene`: a mixed background with planted
sub-pixel targets); with your own scene and mask, load them with
:func:`skhsi.datasets.load_image` (ENVI or ``.mat``) and run the same code.
"""

# %%
# Data: a cube split along its rows
# ---------------------------------
# ``GridSearchCV`` splits ``X`` and ``y`` along their first axis. For one cube
# ``(H, W, C)`` with its mask ``(H, W)``, the folds are therefore bands of
# image rows; both halves of this scene hold targets.
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from skhsi.datasets import make_synthetic_scene
from skhsi.metrics import roc_auc, roc_auc_scorer
from skhsi.pipeline import make_deep_svdd_pipeline

scene = make_synthetic_scene((60, 64, 60), n_targets=12, random_state=0)
X, y = scene.cube, scene.mask
print(f"X {X.shape}, y {y.shape}, anomalies per half: {int(y[:30].sum())}, {int(y[30:].sum())}")

# %%
# The search
# ----------
# Two embedding sizes of the Deep SVDD step, two folds. A small network
# (``hidden=64``, 256 random Fourier features) and 3 epochs keep it quick.
pipe = make_deep_svdd_pipeline(hidden=64, n_rff=256, max_epochs=3, random_state=0,
                               device="cpu")
search = GridSearchCV(
    pipe,
    param_grid={"deepsvdd__rep_dim": [8, 32]},
    scoring=roc_auc_scorer,
    cv=KFold(n_splits=2),
)
search.fit(X, y)

for params, mean, std in zip(search.cv_results_["params"],
                             search.cv_results_["mean_test_score"],
                             search.cv_results_["std_test_score"]):
    print(f"{params}: ROC AUC {mean:.4f} +/- {std:.4f}")
print("best:", search.best_params_)

# %%
# ``search.best_estimator_`` is the best setting refitted on the whole cube; a
# fitted pipeline scores any cube with the same bands.
best = search.best_estimator_
print(f"ROC AUC on the whole scene: {roc_auc(y, best.anomaly_score(X)):.4f}")

# %%
# Save and load
# -------------
# A fitted pipeline is an ordinary picklable object; its torch modules are kept
# on the CPU, so a model trained on a GPU loads on a machine without one.
# The reloaded pipeline gives exactly the same scores.
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "deep_svdd.joblib"
    joblib.dump(best, path)
    print(f"saved {path.name}: {path.stat().st_size / 1e6:.2f} MB")
    loaded = joblib.load(path)

before = best.anomaly_score(X)
after = loaded.anomaly_score(X)
assert np.array_equal(before, after)
print("identical scores after the round trip:", np.array_equal(before, after))
