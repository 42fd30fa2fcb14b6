"""Fixtures shared by the tests: the real scenes of ``shared/data`` and small cubes."""

from collections import Counter

import numpy as np
import pytest

from tests._data import load_had


@pytest.fixture(scope="session")
def hydice():
    """HYDICE urban (100 x 80 x 162, 19 anomalous pixels) from shared/data/had."""
    return load_had("HYDICE_data")


@pytest.fixture(scope="session")
def sandiego():
    """San Diego airport (100 x 100 x 189, 134 anomalous pixels) from shared/data/had."""
    return load_had("sandiego_plane")


@pytest.fixture(scope="session")
def indian_pines():
    """The embedded real scene (145 x 145 x 200, no anomaly mask), shipped by tensorly."""
    from skhsi.datasets import load_indian_pines

    return load_indian_pines()


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


def pytest_terminal_summary(terminalreporter):
    """Skips grouped by reason, one line each (pytest's own summary lists every place)."""
    reasons = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) \
            else str(report.longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    if reasons:
        terminalreporter.section("skipped, by reason")
        for reason, count in reasons.most_common():
            terminalreporter.line(f"SKIPPED [{count}] {reason}")

