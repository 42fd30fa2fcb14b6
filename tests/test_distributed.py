"""skhsi on a ``dask.distributed`` cluster of worker processes.

``GridSearchCV`` over a two-phase pipeline through joblib's dask backend, and
block-wise scoring of a dask array larger than the cluster's memory. Each
test starts a local cluster of two single-threaded worker processes.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
from distributed.diagnostics import MemorySampler  # noqa: E402
from joblib import parallel_config  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

from skhsi.anomaly import RXDetector  # noqa: E402
from skhsi.metrics import roc_auc_scorer  # noqa: E402
from skhsi.parallel import from_envi, store_scores  # noqa: E402


def _local_cluster(**kwargs):
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    dashboard_address=":0", **kwargs)


@pytest.fixture(scope="module")
def client():
    with _local_cluster() as cluster, distributed.Client(cluster) as client:
        yield client


def _search():
    from skhsi.pipeline import make_deep_svdd_pipeline

    pipe = make_deep_svdd_pipeline(random_state=0, max_epochs=2, n_rff=64, hidden=16,
                                   device="cpu")
    return GridSearchCV(pipe, {"deepsvdd__rep_dim": [4, 8]}, scoring=roc_auc_scorer,
                        cv=KFold(n_splits=2), n_jobs=-1)


@pytest.mark.slow  # 7 s: a grid search on a local dask cluster
def test_grid_search_on_the_dask_backend_equals_the_default_backend(client, indian_pines):
    """Real scene: a 60 x 60 crop, Grass-trees (51 pixels, in both folds) as the targets."""
    X = indian_pines.cube[80:140, :60]
    y = indian_pines.labels[80:140, :60] == 6
    with distributed.get_task_stream(client) as tasks, parallel_config(backend="dask"):
        on_cluster = _search().fit(X, y)
    workers = {task["worker"] for task in tasks.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])

    local = _search().set_params(n_jobs=None).fit(X, y)  # in this process
    assert on_cluster.best_params_ == local.best_params_
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(on_cluster.cv_results_[key], local.cv_results_[key])
    scores = local.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and scores[0] != scores[1]
    np.testing.assert_array_equal(on_cluster.best_estimator_.anomaly_score(X),
                                  local.best_estimator_.anomaly_score(X))


def test_envi_files_are_read_and_scores_written_by_the_workers(client, tmp_path):
    """Blocks travel as file paths: the graph holds no pixels, the results equal in-memory."""
    from skhsi.datasets import make_synthetic_scene
    from skhsi.io import write_envi

    scene = make_synthetic_scene((48, 40, 12), random_state=0)
    hdr, _ = write_envi(tmp_path / "scene", scene.cube, interleave="bil")
    lazy = from_envi(hdr, chunks=(16, 20, -1))
    graph_bytes = len(distributed.protocol.pickle.dumps(dict(lazy.__dask_graph__())))
    assert graph_bytes < scene.cube.nbytes / 4
    rx = RXDetector().fit(scene.cube)
    path = store_scores(rx.anomaly_score, lazy, tmp_path / "scores.npy", dtype=np.float64)
    np.testing.assert_array_equal(np.load(path), rx.anomaly_score(scene.cube))
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["scene.bil", "scene.hdr", "scores.npy"]


def _lazy_cube(n_rows, n_cols, block=(128, 700), n_bands=32):
    """A synthetic cube made block by block: each block is a seeded function of its
    index (4 endmembers mixed with random abundances, plus noise), so any block can
    be recomputed alone and nothing ever needs the whole cube. The generator is a
    closure, so workers receive it by value and import nothing of this module."""
    endmembers = np.random.default_rng(1).uniform(0.05, 0.6, (4, n_bands)).astype(np.float32)

    def generate(block_id=None):
        rng = np.random.default_rng([7, *block_id[:2]])
        abundances = rng.random((*block, 4), np.float32)
        abundances /= abundances.sum(axis=-1, keepdims=True)
        cube = abundances @ endmembers
        cube += 0.02 * rng.random((*block, n_bands), np.float32)
        return cube

    chunks = ((block[0],) * n_rows, (block[1],) * n_cols, (n_bands,))
    return da.map_blocks(generate, chunks=chunks, dtype=np.float32)


@pytest.mark.slow  # 7 s: a local cluster and a cube larger than its memory
def test_scores_a_cube_larger_than_the_cluster_memory(tmp_path):
    """0.68 GiB generated on two workers of 320 MiB each that may not spill or pause.

    Past 95 % of its limit a worker is killed; a killed worker shows as a changed
    worker set (or, after retries, as ``KilledWorker``), and the sampled memory of
    the cluster stays below the limits' sum.
    """
    limit = 320 * 2**20
    X = _lazy_cube(16, 4)  # 2048 x 2800 x 32 float32
    assert X.nbytes > 2 * limit
    rx = RXDetector().fit(X.blocks[5, 1].compute(scheduler="sync"))

    only_terminate = {"distributed.worker.memory.target": False,
                      "distributed.worker.memory.spill": False,
                      "distributed.worker.memory.pause": False}
    with dask.config.set(only_terminate), _local_cluster(memory_limit=limit) as cluster, \
            distributed.Client(cluster) as client:
        workers = set(client.scheduler_info()["workers"])
        memory = MemorySampler()
        with memory.sample("scoring", client=client, interval=0.1):
            path = store_scores(rx.anomaly_score, X, tmp_path / "scores.npy")
        peak = max(value for _, value in memory.samples["scoring"])
        assert set(client.scheduler_info()["workers"]) == workers
    assert peak < 2 * limit

    scores = np.load(path, mmap_mode="r")
    assert scores.shape == (2048, 2800) and scores.dtype == np.float32
    rows, cols = X.chunks[0][0], X.chunks[1][0]
    for i, j in ((0, 0), (5, 1), (15, 3)):
        block = X.blocks[i, j].compute(scheduler="sync")
        np.testing.assert_array_equal(
            scores[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols],
            rx.anomaly_score(block).astype(np.float32))
    assert float(np.std(scores[:rows])) > 0
