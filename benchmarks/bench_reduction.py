"""Reconstruction error of PCA variants on the real scenes of shared/data/had.

For each scene (z-scored per band) and k in (3, 10, 30): the mean squared
reconstruction error over all pixels and bands of

- scikit-learn's ``PCA(k)``,
- ``TrainablePCA(k)`` with its SVD initialisation only,
- ``TrainablePCA(k)`` fine-tuned for ``--epochs`` epochs (best epoch kept),
- ``TrainablePCA(k, init_method="random")`` fine-tuned the same way, to show
  what the gradient phase achieves from a poor start.

Prints a markdown table and writes it to ``--out`` (default
``benchmarks/results/reduction.md``).

Usage::

    python benchmarks/bench_reduction.py [--epochs 20] [--lr 0.001] [--batch-size 1024]
        [--threads N] [--out benchmarks/results/reduction.md]
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmark this checkout, installed or not
from _results import write_results  # noqa: E402

import numpy as np
from sklearn.decomposition import PCA

from _scenes import load_scene  # noqa: E402
from skhsi.decomposition import TrainablePCA
from skhsi.preprocessing import ZScoreNormalizerGlobal

RESULTS = Path(__file__).parent / "results" / "reduction.md"
SCENES = ("hydice", "sandiego")
KS = (3, 10, 30)


def torch_threads():
    import torch

    return torch.get_num_threads()


def mse(model, X):
    return float(np.mean((model.inverse_transform(model.transform(X)) - X) ** 2))


def run(epochs, lr, batch_size):
    rows = []
    for scene in SCENES:
        cube = load_scene(scene).cube
        X = ZScoreNormalizerGlobal().fit_transform(cube.astype(np.float64)).reshape(
            -1, cube.shape[-1])
        for k in KS:
            tuned_kw = dict(max_epochs=epochs, lr=lr, batch_size=batch_size, device="cpu",
                            random_state=0)
            models = {
                "sklearn PCA": PCA(k),
                "TrainablePCA (SVD init)": TrainablePCA(k),
                f"TrainablePCA (SVD init + {epochs} ep)": TrainablePCA(k, **tuned_kw),
                f"TrainablePCA (random init + {epochs} ep)": TrainablePCA(
                    k, init_method="random", **tuned_kw),
            }
            for name, model in models.items():
                start = time.perf_counter()
                model.fit(X)
                seconds = time.perf_counter() - start
                best = getattr(model, "best_epoch_", None)
                rows.append((scene, k, name, mse(model, X), seconds, best))
                print(f"{scene:9s} k={k:2d} {name:38s} mse={rows[-1][3]:.4e} "
                      f"fit={seconds:6.2f}s best_epoch={best}", flush=True)
    return rows


def to_markdown(rows, epochs, lr, batch_size):
    lines = [
        "# Reconstruction error of PCA variants",
        "",
        "Mean squared reconstruction error over all pixels and bands of the z-scored "
        "scene (fit and evaluated on the whole scene); lower is better. Fine-tuning: "
        f"{epochs} epochs, Adam, lr={lr}, batch_size={batch_size}, CPU "
        f"({torch_threads()} torch thread(s)); `best epoch` 0 means no epoch beat the "
        "initialisation, which was kept. From the SVD there is nothing to gain on the "
        "training pixels (Eckart-Young); the random-init rows show what the gradient "
        "phase does from a poor start.",
        "",
        "| scene | k | method | reconstruction MSE | fit time (s) | best epoch |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for scene, k, name, value, seconds, best in rows:
        best = "" if best is None else str(best)
        lines.append(f"| {scene} | {k} | {name} | {value:.4e} | {seconds:.2f} | {best} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="markdown results file (default benchmarks/results/reduction.md)")
    args = parser.parse_args()
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    rows = run(args.epochs, args.lr, args.batch_size)
    table = to_markdown(rows, args.epochs, args.lr, args.batch_size)
    write_results(table, args.out)


if __name__ == "__main__":
    main()
