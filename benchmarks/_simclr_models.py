"""SimCLR models for the few-label benchmarks: pretrain on a scene's pixels, then fit a head.

``models()`` returns ``{name: factory}``; ``factory(seed)`` gives an object with
``fit(cube, label_map)`` (label 0 = unlabelled: the encoder is pretrained on
every pixel of the cube without labels, the head is fitted on the labelled
ones) and ``predict(cube) -> (H, W)``.

Run it alone for a quick check on Salinas-A (labels from columns 0-42, n per
class, tested on the labelled pixels of columns 43-85)::

    python benchmarks/_simclr_models.py [n ...]
"""

import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline as make_sk_pipeline
from sklearn.preprocessing import StandardScaler

from skhsi.classification import SpectralMLPClassifier
from skhsi.pipeline import Pipeline
from skhsi.preprocessing import ZScoreNormalizerGlobal
from skhsi.representation import SimCLREncoder

#: The encoder of both models: a small transformer over 16-band tokens, views
#: with 20 uniformly sampled bands (others interpolated), light noise, no
#: brightness change, 10 epochs.
ENCODER = dict(n_components=32, hidden=32, band_group=16, temperature=0.2, noise=0.05,
               brightness=0.0, band_sampling="uniform", n_sampled_bands=20, max_epochs=10,
               batch_size=256)


class _LinearHead:
    """SimCLR features (frozen) -> standardised -> logistic regression.

    ``pretrain=False`` keeps the encoder as its statistical initialisation
    left it (no contrastive epoch): the same head on unpretrained features.
    """

    def __init__(self, seed, device="auto", pretrain=True):
        self.seed, self.device, self.pretrain = seed, device, pretrain

    def fit(self, cube, label_map):
        labelled = label_map > 0
        self.encoder_ = SimCLREncoder(**_encoder(self.pretrain), device=self.device,
                                      random_state=self.seed).fit(cube)
        features = self.encoder_.transform(cube)
        self.head_ = make_sk_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        self.head_.fit(features[labelled], label_map[labelled])
        return self

    def predict(self, cube):
        features = self.encoder_.transform(cube)
        flat = features.reshape(-1, features.shape[-1])
        return self.head_.predict(flat).reshape(cube.shape[:2])


class _FineTunedHead:
    """SimCLR encoder pretrained on every pixel, then fine-tuned end to end with an MLP head.

    ``pretrain=False``: the same, from the encoder's statistical initialisation.
    """

    def __init__(self, seed, device="auto", pretrain=True):
        self.seed, self.device, self.pretrain = seed, device, pretrain

    def fit(self, cube, label_map):
        labelled = label_map > 0
        self.pipeline_ = Pipeline([
            ("simclr", SimCLREncoder(**_encoder(self.pretrain), trainable=True,
                                     device=self.device, random_state=self.seed)),
            ("zscore", ZScoreNormalizerGlobal()),
            ("mlp", SpectralMLPClassifier(hidden=64, max_epochs=100, lr=1e-3, batch_size=16,
                                          device=self.device, random_state=self.seed)),
        ])
        self.pipeline_.fit(cube[labelled], label_map[labelled], simclr__unlabelled=cube)
        return self

    def predict(self, cube):
        return self.pipeline_.predict(cube)


def _encoder(pretrain):
    return ENCODER if pretrain else dict(ENCODER, max_epochs=0)


def models():
    """``{name: factory}``; ``factory(seed)`` is an unfitted model."""
    from functools import partial

    return {"SimCLR + linear head": _LinearHead, "SimCLR + fine-tuned head": _FineTunedHead,
            "no pretraining + linear head": partial(_LinearHead, pretrain=False),
            "no pretraining + fine-tuned head": partial(_FineTunedHead, pretrain=False)}


def named_models(device="cpu"):
    """``{benchmark row name: factory(seed)}``: the models on ``device``, named as the
    few-label benchmarks show them."""
    return {f"skhsi {name} (`_simclr_models.py`)":
            (lambda seed, factory=factory: factory(seed, device=device))
            for name, factory in models().items()}


def _salinas_a():
    from pathlib import Path

    from scipy.io import loadmat

    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "cls"
    if not (folder / "SalinasA.mat").is_file():
        raise SystemExit(f"Salinas-A not found in {folder}")
    cube = loadmat(folder / "SalinasA.mat")["salinasA"].astype(np.float64)
    labels = loadmat(folder / "SalinasA_gt.mat")["salinasA_gt"].astype(int)
    return cube, labels


def _left_half(labels, n, seed):
    rng = np.random.default_rng(seed)
    columns = np.broadcast_to(np.arange(labels.shape[1]), labels.shape)
    train = np.zeros_like(labels)
    for label in np.unique(labels[labels > 0]):
        pool = np.flatnonzero((labels == label) & (columns < 43))
        if len(pool):
            train.flat[rng.choice(pool, min(n, len(pool)), replace=False)] = label
    return train, (labels > 0) & (columns >= 43)


if __name__ == "__main__":
    cube, labels = _salinas_a()
    sizes = [int(a) for a in sys.argv[1:]] or [5, 10, 20]
    for name, factory in models().items():
        for n in sizes:
            scores = []
            for seed in range(3):
                start = time.perf_counter()
                train, test = _left_half(labels, n, seed)
                predicted = factory(seed).fit(cube, train).predict(cube)
                scores.append(float(np.mean(predicted[test] == labels[test])))
                print(f"{name}, n={n}, seed={seed}: {scores[-1]:.3f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
            print(f"{name}, n={n}: mean overall accuracy {np.mean(scores):.3f}", flush=True)
