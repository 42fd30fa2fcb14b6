"""The real anomaly scenes the benchmarks run on, read from ``shared/data/had``.

The scenes are not part of skhsi (they come from other public repositories);
the benchmarks read them from the ``shared/data`` folder beside the repository,
or from the folder named by the ``SKHSI_SHARED_DATA`` environment variable.
"""

import os
from pathlib import Path

from skhsi.io import read_mat

SHARED_DATA = Path(
    os.environ.get("SKHSI_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
#: Benchmark scene names and their files in ``shared/data/had``.
HAD_FILES = {"hydice": "HYDICE_data.mat", "sandiego": "sandiego_plane.mat",
             "abu-airport-2": "abu-airport-2.mat", "abu-airport-4": "abu-airport-4.mat",
             "abu-beach-1": "abu-beach-1.mat", "abu-beach-2": "abu-beach-2.mat",
             "abu-urban-1": "abu-urban-1.mat", "abu-urban-3": "abu-urban-3.mat"}


def load_scene(name):
    """A real anomaly scene by benchmark name, with a clear error when it is absent."""
    path = SHARED_DATA / "had" / HAD_FILES[name]
    if not path.is_file():
        raise SystemExit(
            f"benchmark scene {name!r} not found: expected {path} (the shared/data folder "
            "beside the repository; set SKHSI_SHARED_DATA to another folder)"
        )
    image = read_mat(path)
    image.metadata["name"] = name
    return image
