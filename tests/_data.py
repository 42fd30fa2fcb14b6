"""Where the tests find the real scenes of ``shared/data``, and a skip when they are absent.

The real scenes are not part of skhsi: they are read from the ``shared/data``
folder beside the repository (or from the folder named by the
``SKHSI_SHARED_DATA`` environment variable). A test that needs one skips,
saying what is missing and where it was looked for, when it is absent.
"""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("SKHSI_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def shared_file(relative):
    """The path of a file of the shared data, or a skip that says where it was expected.

    When the whole folder is absent every such test skips with the same message, so
    pytest's summary gives it one line with the count.
    """
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the real scenes of shared/data are not here: no folder {SHARED_DATA} "
                    "(beside the repository; set SKHSI_SHARED_DATA to another folder)")
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(
            f"real scene {relative} not found: expected it at {path} (the shared/data "
            "folder beside the repository; set SKHSI_SHARED_DATA to another folder)"
        )
    return path


def load_had(name):
    """A real anomaly scene of ``shared/data/had`` as a SpectralImage, or a skip."""
    from skhsi.io import read_mat

    return read_mat(shared_file(f"had/{name}.mat"))
