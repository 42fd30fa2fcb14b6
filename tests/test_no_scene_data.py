"""The repository and the package carry no scene data.

Real scenes come from other public repositories: they are read from
``shared/data`` by the tests and benchmarks, from a dependency that ships them
(Indian Pines, in tensorly's wheel), or from the user's files. Nothing derived
from them (compressed, cropped, re-encoded) may be committed or packaged.
"""

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import skhsi
from tests._data import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(skhsi.__file__).resolve().parent
# Formats that hold arrays or images. A committed file of these kinds is data.
DATA_SUFFIXES = {".npz", ".npy", ".mat", ".h5", ".hdf5", ".hdr", ".bil", ".bip", ".bsq",
                 ".img", ".raw", ".dat", ".tif", ".tiff", ".nc", ".zarr", ".pkl", ".pickle",
                 ".joblib", ".pt", ".pth", ".safetensors", ".gz", ".bz2", ".xz", ".zip", ".7z"}
# Anything larger than this among the committed files is looked at as data too.
MAX_BYTES = 200_000


def _tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"{ROOT} is not a git checkout: no committed files to check")
    return [ROOT / name for name in out.decode().split("\0") if name]


def _shared_digests():
    """SHA-256 of every file of the shared data, when it is present."""
    if not SHARED_DATA.is_dir():
        return {}
    return {hashlib.sha256(p.read_bytes()).hexdigest(): p
            for p in SHARED_DATA.rglob("*") if p.is_file()}


def test_no_committed_file_is_scene_data():
    files = [p for p in _tracked_files() if p.is_file()]
    assert files, "git ls-files listed nothing"
    data = [str(p.relative_to(ROOT)) for p in files if p.suffix.lower() in DATA_SUFFIXES]
    assert not data, f"committed data files: {data}"
    large = [f"{p.relative_to(ROOT)} ({p.stat().st_size} bytes)" for p in files
             if p.stat().st_size > MAX_BYTES]
    assert not large, f"committed files larger than {MAX_BYTES} bytes: {large}"
    shared = _shared_digests()
    copies = [str(p.relative_to(ROOT)) for p in files
              if hashlib.sha256(p.read_bytes()).hexdigest() in shared]
    assert not copies, f"committed copies of shared/data files: {copies}"


def test_the_package_holds_only_python_sources():
    others = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"]
    assert not others, f"non-Python files inside skhsi/: {others}"


@pytest.mark.slow
def test_the_wheel_holds_only_python_sources(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True)
    (wheel,) = tmp_path.glob("skhsi-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    package = [n for n in names if not n.split("/")[0].endswith(".dist-info")]
    assert package and all(n.startswith("skhsi/") for n in package), package
    others = [n for n in package if not n.endswith(".py")]
    assert not others, f"non-Python files in the wheel: {others}"
