"""Fixtures shared by the tests: the bundled real scenes and small synthetic cubes."""

import numpy as np
import pytest

from skhsi.datasets import load_scene


@pytest.fixture(scope="session")
def hydice():
    return load_scene("hydice")


@pytest.fixture(scope="session")
def sandiego():
    return load_scene("sandiego")


@pytest.fixture
def cube():
    """A (12, 10, 6) float64 cube with one planted anomaly at (3, 4)."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(12, 10, 6))
    data[3, 4] += 8.0
    return data


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny test models run faster on one thread than on two busy cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
