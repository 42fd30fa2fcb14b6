"""
Tuning a pipeline with GridSearchCV, then saving it
===================================================

skhsi's pipeline is a scikit-learn ``Pipeline``, so its parameters are tuned
with :class:`~sklearn.model_selection.GridSearchCV` under their
``step__param`` names, and the fitted model is saved with :mod:`joblib`.

The ground-truth masks play the part of ``y``: the detector is still fitted
without labels (``y`` is ignored by ``fit``), and the masks are only read by
the scorer, :data:`skhsi.metrics.roc_auc_scorer`, on the held-out fold.
"""

# %%
# Data: a cube split along its rows
# ---------------------------------
# ``GridSearchCV`` splits ``X`` and ``y`` along their first axis. For one cube
# ``(H, W, C)`` with its mask ``(H, W)``, the folds are therefore bands of
# image rows. We keep the first 60 rows of the HYDICE scene (both halves hold
# anomalous pixels) so that the search runs in seconds.
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from skhsi.datasets import load_scene
from skhsi.metrics import roc_auc, roc_auc_scorer
from skhsi.pipeline import make_deep_svdd_pipeline

scene = load_scene("hydice")
X, y = scene.cube[:60], scene.mask[:60]
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
# The refitted best pipeline scores the whole scene, not only the 60 rows it
# was fitted on: a fitted pipeline accepts any cube with the same bands.
best = search.best_estimator_
print(f"ROC AUC on the full scene: {roc_auc(scene.mask, best.anomaly_score(scene.cube)):.4f}")

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

before = best.anomaly_score(scene.cube)
after = loaded.anomaly_score(scene.cube)
assert np.array_equal(before, after)
print("identical scores after the round trip:", np.array_equal(before, after))
