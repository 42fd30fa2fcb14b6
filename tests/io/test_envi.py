import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skhsi.io import parse_envi_header, read_envi, read_envi_header, write_envi

DTYPES = ["uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float32", "float64", "complex64", "complex128"]
CODES = {"uint8": 1, "int16": 2, "int32": 3, "float32": 4, "float64": 5,
         "complex64": 6, "complex128": 9, "uint16": 12, "uint32": 13,
         "int64": 14, "uint64": 15}


def make_cube(dtype, shape=(5, 7, 4), seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        cube = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        cube.flat[:2] = [info.min, info.max]
    elif dtype.kind == "f":
        cube = rng.standard_normal(shape).astype(dtype) * 1e3
        cube.flat[:4] = [np.nan, np.inf, -0.0, np.finfo(dtype).tiny]
    else:
        cube = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return cube


def write_raw(tmp_path, header, data=b"", name="scene", ext=".img"):
    hdr = tmp_path / f"{name}.hdr"
    hdr.write_text(header)
    (tmp_path / f"{name}{ext}").write_bytes(data)
    return hdr


BASIC = "ENVI\nsamples = 3\nlines = 2\nbands = 2\ndata type = 1\ninterleave = bsq\n"


@pytest.mark.parametrize("byte_order", ["little", "big"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_round_trip_exact(tmp_path, interleave, dtype, byte_order):
    cube = make_cube(dtype)
    wl = np.array([401.123456789012, 500.5, 612.0, 700.000001])
    fwhm = np.array([9.5, 10.0, 10.25, 1 / 3])
    bad = np.array([False, True, False, True])
    hdr, data = write_envi(tmp_path / "x", cube, wl, interleave=interleave,
                           byte_order=byte_order, fwhm=fwhm, bad_bands=bad)
    assert data.name == f"x.{interleave}"
    assert data.stat().st_size == cube.nbytes
    header = read_envi_header(hdr)
    assert header["data type"] == str(CODES[dtype])
    assert header["byte order"] == ("0" if byte_order == "little" else "1")
    for mmap in (True, False):
        img = read_envi(hdr, mmap=mmap)
        assert img.cube.shape == cube.shape
        assert img.cube.dtype.newbyteorder("=") == cube.dtype
        np.testing.assert_array_equal(img.cube, cube, strict=False)
        assert np.array_equal(img.cube, cube, equal_nan=cube.dtype.kind in "fc")
        np.testing.assert_array_equal(img.wavelengths, wl)
        np.testing.assert_array_equal(img.fwhm, fwhm)
        np.testing.assert_array_equal(img.bad_bands, bad)
        assert img.metadata["interleave"] == interleave
        assert img.metadata["byte_order"] == byte_order
    assert sorted(os.listdir(tmp_path)) == sorted(["x.hdr", f"x.{interleave}"])


def test_round_trip_bits_of_floats(tmp_path):
    cube = make_cube("float64")
    write_envi(tmp_path / "f.dat", cube, byte_order="big")
    img = read_envi(tmp_path / "f.dat")
    assert img.cube.tobytes() != cube.tobytes()  # file is big-endian
    assert np.ascontiguousarray(img.cube, "<f8").tobytes() == cube.astype("<f8").tobytes()


def test_native_byte_order_and_memmap_input(tmp_path):
    cube = make_cube("uint16", shape=(6, 5, 3))
    write_envi(tmp_path / "a.bip", cube, interleave="bip", byte_order="native")
    src = read_envi(tmp_path / "a.bip")
    # re-write a memmap-backed image in another layout with tiny chunks
    write_envi(tmp_path / "b.hdr", src.cube, interleave="bsq", chunk_bytes=7)
    np.testing.assert_array_equal(read_envi(tmp_path / "b.bsq").cube, cube)


@pytest.mark.parametrize("target, files", [
    ("x.img", ["x.hdr", "x.img"]),
    ("x.hdr", ["x.bil", "x.hdr"]),
    ("x", ["x.bil", "x.hdr"]),
    ("x.bil.hdr", ["x.bil", "x.bil.hdr"]),
    ("x.raw", ["x.hdr", "x.raw"]),
])
def test_output_names_and_partner_lookup(tmp_path, target, files):
    cube = make_cube("int16", shape=(2, 3, 2))
    write_envi(tmp_path / target, cube, interleave="bil")
    assert sorted(os.listdir(tmp_path)) == files
    for name in files:
        np.testing.assert_array_equal(read_envi(tmp_path / name).cube, cube)


def test_partner_lookup_any_case(tmp_path):
    cube = make_cube("uint8", shape=(2, 3, 2))
    write_envi(tmp_path / "s.bsq", cube)
    os.rename(tmp_path / "s.bsq", tmp_path / "S.BSQ")
    os.rename(tmp_path / "s.hdr", tmp_path / "S.HDR")
    np.testing.assert_array_equal(read_envi(tmp_path / "S.HDR").cube, cube)
    np.testing.assert_array_equal(read_envi(tmp_path / "S.BSQ").cube, cube)


def test_data_file_without_extension(tmp_path):
    data = np.arange(12, dtype=np.uint8)
    hdr = write_raw(tmp_path, BASIC, data.tobytes(), ext="")
    img = read_envi(hdr)
    np.testing.assert_array_equal(img.cube, data.reshape(2, 2, 3).transpose(1, 2, 0))
    assert img.metadata["path"] == str(tmp_path / "scene")


def test_memmap_is_used(tmp_path):
    cube = make_cube("float32", shape=(8, 6, 5))
    for interleave in ("bsq", "bil", "bip"):
        _, data_path = write_envi(tmp_path / f"m_{interleave}", cube, interleave=interleave)
        img = read_envi(tmp_path / f"m_{interleave}.hdr")
        assert isinstance(img.cube, np.memmap)
        raw = img.cube.base
        assert isinstance(raw, np.memmap) and str(raw.filename) == str(data_path.resolve())
        assert np.shares_memory(img.cube, raw)
        assert not img.cube.flags.writeable
        in_ram = read_envi(tmp_path / f"m_{interleave}.hdr", mmap=False)
        assert not isinstance(in_ram.cube, np.memmap)
        assert in_ram.cube.flags.c_contiguous


def test_header_parsing_features(tmp_path):
    text = """ENVI
; leading comment
description = {A scene, with commas
  and two lines}
SAMPLES = 3
Lines= 2
  Bands =2
Data   Type = 1
INTERLEAVE = BIP
; comment between keys
wavelength units = Micrometers
Wavelength = {
 0.45,
; comment inside braces
 0.55 }
band names = {red, green}
default bands = {2, 1}
bbl = {1, 0}
line without an equals sign is ignored
"""
    data = np.arange(12, dtype=np.uint8)
    img = read_envi(write_raw(tmp_path, text, data.tobytes()))
    hdr = img.metadata["header"]
    assert hdr["description"] == "A scene, with commas\nand two lines"
    assert hdr["band names"] == ["red", "green"]
    assert hdr["samples"] == "3" and hdr["data type"] == "1"
    np.testing.assert_allclose(img.wavelengths, [450.0, 550.0])
    assert img.metadata["wavelength_units"] == "Micrometers"
    assert img.metadata["default_bands"] == [2, 1]
    assert img.metadata["interleave"] == "bip"
    np.testing.assert_array_equal(img.cube, data.reshape(2, 3, 2))
    kept = img.drop_bad_bands()
    np.testing.assert_array_equal(kept.cube, data.reshape(2, 3, 2)[:, :, :1])
    np.testing.assert_allclose(kept.wavelengths, [450.0])


@pytest.mark.parametrize("units, values, expected", [
    ("microns", "0.4, 0.5", [400.0, 500.0]),
    ("um", "0.4, 0.5", [400.0, 500.0]),
    ("Nanometers", "0.4, 0.5", [0.4, 0.5]),
    (None, "0.4, 2.5", [400.0, 2500.0]),
    ("Unknown", "400, 2500", [400.0, 2500.0]),
    ("Index", "1, 2", None),
])
def test_wavelength_units(tmp_path, units, values, expected):
    text = BASIC + f"wavelength = {{{values}}}\nfwhm = {{0.01, 0.01}}\n"
    if units:
        text += f"wavelength units = {units}\n"
    img = read_envi(write_raw(tmp_path, text, bytes(12)))
    if expected is None:
        assert img.wavelengths is None
    else:
        np.testing.assert_allclose(img.wavelengths, expected)
        assert img.fwhm[0] == pytest.approx(0.01 * expected[0] / float(values.split(",")[0]))


def test_non_increasing_wavelengths_warn(tmp_path):
    hdr = write_raw(tmp_path, BASIC + "wavelength = {500, 400}\n", bytes(12))
    with pytest.warns(UserWarning, match="not strictly increasing"):
        img = read_envi(hdr)
    assert img.wavelengths is None


def test_header_offset(tmp_path):
    data = np.arange(12, dtype=">u2")
    hdr = write_raw(tmp_path, BASIC.replace("data type = 1", "data type = 12")
                    + "header offset = 17\nbyte order = 1\n", b"J" * 17 + data.tobytes())
    for mmap in (True, False):
        img = read_envi(hdr, mmap=mmap)
        np.testing.assert_array_equal(img.cube, data.reshape(2, 2, 3).transpose(1, 2, 0))
        assert img.metadata["header_offset"] == 17


def test_defaults_interleave_and_byte_order(tmp_path):
    text = "ENVI\nsamples = 3\nlines = 2\nbands = 2\ndata type = 2\n"
    data = np.arange(12, dtype="<i2")
    img = read_envi(write_raw(tmp_path, text, data.tobytes()))
    assert img.metadata["interleave"] == "bsq" and img.metadata["byte_order"] == "little"
    np.testing.assert_array_equal(img.cube, data.reshape(2, 2, 3).transpose(1, 2, 0))


def test_metadata_round_trip_and_reserved_keys(tmp_path):
    meta = {"Sensor Type": "HyMap", "reflectance scale factor": 10000,
            "band names": ["a", "b"], "data gain values": [1.5, 2.0],
            "description": "two\nlines", "samples": 999, "interleave": "bip"}
    write_envi(tmp_path / "m", np.zeros((2, 3, 2), np.uint8), metadata=meta)
    img = read_envi(tmp_path / "m.hdr")
    hdr = img.metadata["header"]
    assert hdr["sensor type"] == "HyMap"
    assert hdr["reflectance scale factor"] == "10000"
    assert hdr["band names"] == ["a", "b"] and hdr["data gain values"] == [1.5, 2.0]
    assert hdr["description"] == "two\nlines"
    assert hdr["samples"] == "3" and hdr["interleave"] == "bsq"
    write_envi(tmp_path / "n", img.cube, metadata=hdr)  # a read header is accepted


def test_access_hint(tmp_path):
    cube = make_cube("int16", shape=(6, 5, 4))
    write_envi(tmp_path / "a", cube, interleave="bil")
    for access in ("normal", "random", "sequential"):
        np.testing.assert_array_equal(read_envi(tmp_path / "a.hdr", access=access).cube, cube)
    with pytest.raises(ValueError, match="access must be one of"):
        read_envi(tmp_path / "a.hdr", access="fast")


# --- malformed input -----------------------------------------------------------

def test_missing_header(tmp_path):
    (tmp_path / "lonely.bil").write_bytes(bytes(4))
    with pytest.raises(FileNotFoundError, match=r"ENVI header for .*lonely.bil not found"):
        read_envi(tmp_path / "lonely.bil")


def test_missing_data_file(tmp_path):
    (tmp_path / "h.hdr").write_text(BASIC)
    with pytest.raises(FileNotFoundError, match=r"ENVI data file for header .*h.hdr"):
        read_envi(tmp_path / "h.hdr")


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file"):
        read_envi(tmp_path / "nothing.hdr")


def test_not_envi(tmp_path):
    hdr = write_raw(tmp_path, BASIC.replace("ENVI", "GDAL"), bytes(12))
    with pytest.raises(ValueError, match=r"scene.hdr: not an ENVI header.*got 'GDAL'"):
        read_envi(hdr)


@pytest.mark.parametrize("key", ["samples", "lines", "bands", "data type"])
def test_missing_required_key(tmp_path, key):
    text = "\n".join(line for line in BASIC.splitlines() if not line.startswith(key))
    with pytest.raises(ValueError, match=f"required header key '{key}' is missing"):
        read_envi(write_raw(tmp_path, text, bytes(12)))


@pytest.mark.parametrize("change, message", [
    (("data type = 1", "data type = 7"), r"unknown ENVI data type 7; supported: \[1, 2"),
    (("interleave = bsq", "interleave = bxp"), "unknown interleave 'bxp'"),
    (("samples = 3", "samples = three"), r"'samples' must be an integer >= 1; got 'three'"),
    (("lines = 2", "lines = 0"), r"'lines' must be an integer >= 1; got '0'"),
    (("ENVI\n", "ENVI\nbyte order = 2\n"), "'byte order' must be 0 or 1; got 2"),
    (("ENVI\n", "ENVI\nheader offset = -1\n"), "'header offset' must be an integer >= 0"),
    (("ENVI\n", "ENVI\nwavelength = {1, 2, 3}\n"),
     r"'wavelength' count mismatch: expected 2 values \(one per band\), got 3"),
    (("ENVI\n", "ENVI\nfwhm = {1}\n"), "'fwhm' count mismatch: expected 2 values"),
    (("ENVI\n", "ENVI\nbbl = {1, 1, 0}\n"), "'bbl' count mismatch"),
    (("ENVI\n", "ENVI\nwavelength = {a, b}\n"), "'wavelength' must be a .* list of numbers"),
    (("ENVI\n", "ENVI\nwavelength = {400, 500\nfwhm = 3\n"),
     r"line 2: unbalanced braces: .* 'wavelength' is never closed"),
    (("ENVI\n", "ENVI\n = 5\n"), "line 2: empty key"),
])
def test_malformed_header(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        read_envi(write_raw(tmp_path, BASIC.replace(*change), bytes(12)))


def test_data_file_too_small(tmp_path):
    with pytest.raises(ValueError, match=r"wrong size: expected 12 bytes .* got 11"):
        read_envi(write_raw(tmp_path, BASIC, bytes(11)))
    text = BASIC + "header offset = 100\n"
    with pytest.raises(ValueError, match=r"expected 112 bytes \(header offset 100"):
        read_envi(write_raw(tmp_path, text, bytes(12)))


def test_data_file_too_large_warns(tmp_path):
    with pytest.warns(UserWarning, match="1 bytes more than the header describes"):
        img = read_envi(write_raw(tmp_path, BASIC, bytes(13)))
    assert img.shape == (2, 3, 2)


@pytest.mark.parametrize("kwargs, exc, message", [
    ({"cube": np.zeros((2, 2, 2), bool)}, TypeError, "cube dtype bool has no ENVI data"),
    ({"cube": np.zeros((2, 2, 2), np.float16)}, TypeError, "float16 has no ENVI"),
    ({"cube": np.zeros((2, 2))}, ValueError, "cube must be 3-D"),
    ({"interleave": "bsp"}, ValueError, "interleave must be 'bsq', 'bil' or 'bip'"),
    ({"byte_order": "middle"}, ValueError, "byte_order must be"),
    ({"wavelengths": [2, 1]}, ValueError, "strictly increasing"),
    ({"wavelengths": [1, 2, 3]}, ValueError, "expected 2 values"),
    ({"metadata": {"note": "a {b}"}}, ValueError, "braces"),
    ({"metadata": {"note": {"a": 1}}}, TypeError, r"metadata\['note'\] must be a str"),
    ({"metadata": {"a=b": 1}}, ValueError, "not a valid ENVI header key"),
])
def test_write_errors_leave_no_files(tmp_path, kwargs, exc, message):
    kwargs = {"cube": np.zeros((2, 2, 2), np.uint8), **kwargs}
    with pytest.raises(exc, match=message):
        write_envi(tmp_path / "bad", **kwargs)
    assert os.listdir(tmp_path) == []


class _FailingCube(np.ndarray):
    calls = 0

    def __getitem__(self, item):
        type(self).calls += 1
        if type(self).calls > 2:
            raise OSError("disk unplugged")
        return np.asarray(self).__getitem__(item)


def test_write_is_atomic(tmp_path):
    old = make_cube("uint16", shape=(4, 3, 2))
    write_envi(tmp_path / "s.bil", old, interleave="bil")
    before = {p: (tmp_path / p).read_bytes() for p in os.listdir(tmp_path)}
    failing = np.ones((4, 3, 2), np.uint16).view(_FailingCube)
    with pytest.raises(OSError, match="disk unplugged"):
        write_envi(tmp_path / "s.bil", failing, interleave="bil", chunk_bytes=1)
    after = {p: (tmp_path / p).read_bytes() for p in os.listdir(tmp_path)}
    assert after == before


# --- fuzzing -------------------------------------------------------------------

VALID = """ENVI
description = {fuzz}
samples = 3
lines = 2
bands = 2
header offset = 0
data type = 12
interleave = bil
byte order = 0
wavelength units = nm
wavelength = {400.0, 500.0}
fwhm = {10, 10}
bbl = {1, 0}
default bands = {1, 2}
"""
_PIECES = st.sampled_from(["{", "}", "=", ";", ",", "\n", " ", "ENVI", "nan", "-1",
                           "1e400", "bands", "data type", "0", "µm", "\x00", "\ufeff"])


@st.composite
def mutated_headers(draw):
    text = VALID
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        op = draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = "" if op == "delete" else draw(_PIECES | st.text(max_size=8))
        text = text[:i] + piece + (text[i:] if op == "insert" else text[j:])
    return text


@settings(max_examples=150, deadline=1000)
@given(st.text(max_size=300) | st.builds(lambda t: "ENVI\n" + t, st.text(max_size=300)))
def test_fuzz_parser_random_text(text):
    try:
        header = parse_envi_header(text)
    except ValueError:
        return
    assert isinstance(header, dict)


@settings(max_examples=150, deadline=2000,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated_headers())
def test_fuzz_reader_mutated_header(tmp_path, text):
    (tmp_path / "f.hdr").write_bytes(text.encode("utf-8", errors="surrogatepass"))
    (tmp_path / "f.bil").write_bytes(np.arange(12, dtype="<u2").tobytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            img = read_envi(tmp_path / "f.hdr")
        except ValueError:
            return
    assert img.cube.ndim == 3



def test_progress_bar_when_reading_into_memory(tmp_path, capsys, monkeypatch):
    import skhsi.io._envi as envi_module

    cube = np.arange(40 * 3 * 2, dtype=np.uint16).reshape(40, 3, 2)
    write_envi(tmp_path / "p.hdr", cube, interleave="bil")
    monkeypatch.setattr(envi_module, "_BLOCK_BYTES", 24)  # several blocks for a tiny file
    quiet = read_envi(tmp_path / "p.hdr", mmap=False)
    assert capsys.readouterr().err == ""
    loud = read_envi(tmp_path / "p.hdr", mmap=False, verbose=True)
    assert "reading p" in capsys.readouterr().err
    assert np.array_equal(quiet.cube, cube) and np.array_equal(loud.cube, cube)
