"""Hostile data files and downloads: each is refused with one ValueError line naming the problem.

Every file is generated in ``tmp_path``; downloads go to a loopback server. Cases that would
allocate more than the machine has run in a child process whose address space is capped
(``tests/_limits.py``), so a regression fails as a MemoryError there, not here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import re
import struct
import tarfile
import threading
import warnings
import zipfile
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from _limits import VALUE_ERROR, linux_only, run_limited
from _loopback import LoopbackServer
from PIL import Image

from ganclust import _bounds, _download
from ganclust.datasets import DATASETS, DownloadError, load_dataset, load_file

MiB = 1 << 20


def _one_line_error(func, *args, match: str, **kwargs) -> str:
    with pytest.raises(ValueError, match=match) as err:
        func(*args, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    return message


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------
# .npy / .npz files


def _npy(header: bytes, data: bytes = b"", version: int = 1) -> bytes:
    """A .npy file with a raw header (padded as numpy does) and raw data."""
    header += b" " * ((-(len(header) + 11 + 2 * version)) % 64) + b"\n"
    size = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header + data


def _npy_declaring(shape: tuple[int, ...], data: bytes = b"") -> bytes:
    return _npy(f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}".encode(), data)


def _savez(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _patch_central(data: bytes, offset: int, value: int) -> bytes:
    """Set a 2-byte field of every central-directory entry (and its local header)."""
    out = bytearray(data)
    for sig, local in ((b"PK\x01\x02", 0), (b"PK\x03\x04", 2)):
        start = out.find(sig)
        while start >= 0:
            struct.pack_into("<H", out, start + offset - local, value)
            start = out.find(sig, start + 4)
    return bytes(out)


def _crc_broken() -> bytes:
    data = bytearray(_savez(X=np.arange(12.0).reshape(6, 2)))
    data[data.find(b"PK\x01\x02") - 1] ^= 0xFF  # the last byte of X's stored data
    return bytes(data)


def _deflate_broken() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, X=np.random.default_rng(0).random((50, 20)))
    data = bytearray(buf.getvalue())
    for i in range(200, 400):
        data[i] ^= 0x5A
    return bytes(data)


def _member_lies() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("X.npy", _npy_declaring((1000, 1000), b"\0" * 16))
    return buf.getvalue()


def _raw_npz(X: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, X)
    return buf.getvalue()


ARRAY_CASES = {
    # name: (file name, bytes, load_file kwargs, match)
    "garbage npz": ("a.npz", b"PK\x03\x04" + b"garbage" * 20, {}, r"a\.npz: .*BadZipFile"),
    "truncated npz": ("a.npz", _savez(X=np.ones((40, 4)))[:300], {}, r"a\.npz: .*BadZipFile"),
    "npy named npz": ("a.npz", _raw_npz(np.ones((4, 2))), {}, r"a\.npz: .*not a zip file"),
    "npz crc error": ("a.npz", _crc_broken(), {}, r"a\.npz: .*Bad CRC-32"),
    "npz broken deflate": ("a.npz", _deflate_broken(), {}, r"a\.npz: cannot read"),
    "npz encrypted member": (
        "a.npz", _patch_central(_savez(X=np.ones((3, 2))), 8, 1), {}, r"a\.npz: .*encrypted",
    ),
    "npz unknown compression": (
        "a.npz", _patch_central(_savez(X=np.ones((3, 2))), 10, 99), {},
        r"a\.npz: .*compression method",
    ),
    "npz member shorter than header": (
        "a.npz", _member_lies(), {}, r"declares float64 \(1000, 1000\) .* holds 16",
    ),
    "npz object X": (
        "a.npz", _savez(X=np.array([{}, None], dtype=object)), {}, r"Python objects",
    ),
    "npz object y": (
        "a.npz", _savez(X=np.ones((2, 2)), y=np.array([1, "a"], dtype=object)), {},
        r"member y\.npy: cannot read an array of Python objects",
    ),
    "npz y 1e30": (
        "a.npz", _savez(X=np.ones((2, 2)), y=np.array([0.0, 1e30])), {},
        r"whole numbers .* label 1 is 1e\+30",
    ),
    "npz y uint64 over int64": (
        "a.npz", _savez(X=np.ones((2, 2)), y=np.array([0, 2**63], dtype=np.uint64)), {},
        r"whole numbers .* label 1 is 9223372036854775808",
    ),
    "npz y nan": (
        "a.npz", _savez(X=np.ones((2, 2)), y=np.array([0.0, np.nan])), {}, r"label 1 is nan",
    ),
    "pickle named npy": ("a.npy", pickle.dumps(np.ones((3, 2))), {}, r"no NumPy magic string"),
    "npz named npy": ("a.npy", _savez(X=np.ones((3, 2))), {}, r"no NumPy magic string"),
    "npy truncated mmap": (
        "a.npy", _raw_npz(np.ones((5, 4)))[:-10], {}, r"truncated: .* \(5, 4\) \(160 bytes\)",
    ),
    "npy truncated eager": (
        "a.npy", _raw_npz(np.ones((5, 4)))[:-10], {"mmap": False}, r"truncated: .* 150 bytes",
    ),
    "npy declares 8 EiB": ("a.npy", _npy_declaring((2**60, 8)), {"mmap": False}, r"truncated"),
    "npy negative shape": ("a.npy", _npy_declaring((-5, 3)), {}, r"negative dimension"),
    "npy header not a dict": ("a.npy", _npy(b"[1, 2]"), {}, r"a\.npy: cannot read .*(?i:header)"),
    "npy header too long": (
        "a.npy", _npy(b"{" + b" " * 20000 + b"}", version=2), {}, r"a\.npy: cannot read .*large",
    ),
    "npy format 3": (
        "a.npy", _npy(b"{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }")
        .replace(b"NUMPY\x01", b"NUMPY\x03", 1), {}, r"version \(3, 0\) is not supported",
    ),
    "npy complex": ("a.npy", _raw_npz(np.ones((3, 2), complex)), {}, r"must be numeric"),
    "npy structured": (
        "a.npy", _raw_npz(np.zeros(3, dtype=[("a", "<f8"), ("b", "<i4")])), {}, r"numeric",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ARRAY_CASES))
def test_hostile_array_files(case, tmp_path):
    name, body, kwargs, match = ARRAY_CASES[case]
    path = tmp_path / name
    path.write_bytes(body)
    message = _one_line_error(load_file, path, match=match, **kwargs)
    assert str(path) in message
    assert _files(tmp_path) == [path]  # nothing written beside it


@linux_only
def test_device_named_npy_is_refused(tmp_path):
    (tmp_path / "zero.npy").symlink_to("/dev/zero")  # endless, and st_size 0
    _one_line_error(load_file, tmp_path / "zero.npy", match=r"zero\.npy: not a regular file")


def test_eager_read_over_budget_is_refused_but_mmap_is_lazy(tmp_path, monkeypatch):
    path = tmp_path / "big.npy"
    np.save(path, np.zeros((2 * MiB // 8, 1)))
    monkeypatch.setattr(_bounds, "MAX_READ_BYTES", MiB)
    _one_line_error(
        load_file, path, mmap=False, match=r"big\.npy: reading X .* needs 2\.0 MiB.*mmap=True"
    )
    X, _ = load_file(path)  # memory-mapped: nothing is allocated
    assert isinstance(X, np.memmap) and X.shape == (2 * MiB // 8, 1)


def test_npz_over_budget_is_refused_before_inflating(tmp_path, monkeypatch):
    path = tmp_path / "z.npz"
    np.savez_compressed(path, X=np.zeros((MiB // 8, 2)))  # 2 MiB of zeros, ~2 KB on disk
    monkeypatch.setattr(_bounds, "MAX_READ_BYTES", MiB)
    _one_line_error(load_file, path, match=r"z\.npz: inflating member X\.npy .* 2\.0 MiB")


@pytest.mark.parametrize(
    ("shape", "turned"),
    [
        ((5, 16, 16, 3), (5, 3, 16, 16)),
        ((4, 8, 12, 1), (4, 1, 8, 12)),
        ((2, 9, 9, 4), (2, 4, 9, 9)),
        ((5, 3, 16, 16), None),  # already channels-first
        ((5, 4, 4, 3), None),  # too small to tell
    ],
)
@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_channels_last_images_are_turned_with_a_warning(shape, turned, suffix, tmp_path):
    X = np.arange(np.prod(shape), dtype=np.int64).reshape(shape).astype(np.uint8)
    path = tmp_path / f"x{suffix}"
    (np.save if suffix == ".npy" else lambda p, a: np.savez(p, X=a))(path, X)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got, _ = load_file(path)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if turned is None:
        assert got.shape == shape and messages == []
        return
    assert got.shape == turned
    np.testing.assert_array_equal(got, X.transpose(0, 3, 1, 2))
    assert len(messages) == 1 and "looks channels-last" in messages[0]
    assert "X.transpose(0, 3, 1, 2)" in messages[0] and str(path) in messages[0]


# ---------------------------------------------------------------------------------------------
# Under a real memory limit, in a child process


def _bomb_npz(path: Path, nbytes: int = 2 << 30) -> None:
    """An .npz whose X.npy (float64 zeros) inflates from ~9 MB to ``nbytes``."""
    header = _npy_declaring((nbytes // 8 // 1024, 1024))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as fh:
            fh.write(header)
            block = bytes(16 * MiB)
            for _ in range(nbytes // len(block)):
                fh.write(block)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    _bomb_npz(path)
    assert path.stat().st_size < 20 * MiB
    return path


def _assert_value_error(child, match: str) -> None:
    assert "MemoryError" not in child.stderr, child.stderr[-2000:]
    assert child.returncode == VALUE_ERROR, (child.returncode, child.stderr[-2000:])
    assert child.stdout.count("\n") == 1
    assert re.search(match, child.stdout), child.stdout


@linux_only
def test_inflating_npz_under_a_1gib_limit(bomb):
    child = run_limited(f"from ganclust.datasets import load_file\nload_file({str(bomb)!r})")
    _assert_value_error(child, r"bomb\.npz: inflating member X\.npy .* needs 2\.0 GiB")


@linux_only
def test_eager_npy_larger_than_memory_under_a_1gib_limit(tmp_path):
    path = tmp_path / "sparse.npy"
    header = _npy_declaring(((2 << 30) // 8 // 64, 64))
    with open(path, "wb") as fh:  # a sparse file: 2 GiB long, nothing on disk
        fh.write(header)
        fh.truncate(len(header) + (2 << 30))
    code = f"from ganclust.datasets import load_file\nload_file({str(path)!r}, mmap=False)"
    _assert_value_error(run_limited(code), r"sparse\.npy: reading X .* needs 2\.0 GiB")


@linux_only
def test_cli_on_the_inflating_npz_exits_2_with_one_line(bomb, tmp_path):
    out = tmp_path / "run"
    code = f"""
        from ganclust.cli import main
        sys.exit(main(["fit", "--data", {str(bomb)!r}, "--out", {str(out)!r}, "--quiet"]))
    """
    child = run_limited(code)
    assert child.returncode == 2, child.stderr[-2000:]
    assert child.stderr.count("\n") == 1 and "Traceback" not in child.stderr
    assert "bomb.npz" in child.stderr and "2.0 GiB" in child.stderr
    assert not out.exists()


@linux_only
def test_long_text_labels_do_not_blow_up_the_table_reader(tmp_path):
    # fixed-width string arrays would take rows x cols x 4 x 100_000 bytes (~20 GiB) here
    path = tmp_path / "t.csv"
    rows = [f"{i},{'x' * 100_000 if i == 0 else 'b'}" for i in range(25_000)]
    path.write_text("a,label\n" + "\n".join(rows) + "\n")
    code = f"""
        from ganclust.datasets import load_file
        X, y = load_file({str(path)!r}, label_column="label")
        print(X.shape, sorted(set(y.tolist())))
    """
    child = run_limited(code, headroom=512 * MiB)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "(25000, 1) [0, 1]"


# ---------------------------------------------------------------------------------------------
# CSV / TSV tables

TABLE_CASES = {
    "label 1e30": ("a,label\n1,0\n2,1e30\n", r"label '1e30' at line 3 is not a whole number"),
    "label over int64": ("a,label\n1,0\n2,9223372036854775808\n", r"'9223372036854775808'"),
    "label -1e19": ("a,label\n1,0\n2,-1e19\n", r"label '-1e19' at line 3 .* int64 range"),
    "label 2.5": ("a,label\n1,0\n2,2.5\n", r"label '2\.5' at line 3 is not a whole number"),
    "label inf": ("a,label\n1,0\n2,inf\n", r"label 'inf' at line 3"),
    "label nan": ("a,label\n1,0\n2,nan\n", r"label 'nan' at line 3"),
    "label empty": ("a,label\n1,0\n2,\n", r"empty label at line 3"),
    "feature NUL": ("a,label\n1,0\n2\x00,1\n", r"non-numeric cell '2\\x00' at line 3"),
    "cell over csv limit": (
        "a,label\n1,0\n" + "9" * 200_000 + ",1\n",
        r"cannot read .*field larger than field limit",
    ),
}


@pytest.mark.parametrize("case", list(TABLE_CASES))
def test_hostile_tables(case, tmp_path):
    text, match = TABLE_CASES[case]
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert str(path) in _one_line_error(load_file, path, label_column="label", match=match)


def test_table_not_utf8(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n1,\xff\xfe\n")
    _one_line_error(load_file, path, match=r"t\.csv: cannot read .*UnicodeDecodeError")


@pytest.mark.parametrize(
    ("cell", "value"), [("3", 3), ("3.0", 3), ("3e2", 300), ("9007199254740993", 2**53 + 1)]
)
def test_whole_numeric_labels_are_kept_exactly(cell, value, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(f"a,label\n1,0\n2,{cell}\n")
    assert load_file(path, label_column="label")[1].tolist() == [0, value]


# ---------------------------------------------------------------------------------------------
# Image folders


def _png(width: int, height: int, depth: int = 8, colour: int = 0, raw: bytes = b"") -> bytes:
    """A PNG from its raw (filtered) scanlines; IDAT may be empty when only headers matter."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _grey16(values: np.ndarray) -> bytes:
    rows = [b"\0" + row.astype(">u2").tobytes() for row in values]
    return _png(values.shape[1], values.shape[0], 16, 0, b"".join(rows))


def _bad_crc() -> bytes:
    data = bytearray(_png(4, 4, raw=b"\0" * 20))
    data[29] ^= 0xFF  # inside IHDR's CRC
    return bytes(data)


IMAGE_CASES = {
    "bomb 100000x100000": (_png(100_000, 100_000), r"a\.png: .* Pillow's limit .*decompression"),
    "over MAX_IMAGE_PIXELS": (_png(10_000, 10_000), r"a\.png: .*MAX_IMAGE_PIXELS"),
    "bad crc": (_bad_crc(), r"a\.png: unreadable image"),
    "truncated pixels": (_png(4, 4, raw=b"\0" * 3), r"a\.png: unreadable image"),
    "text named png": (b"hello, not an image", r"a\.png: unreadable image"),
    "truncated header": (_png(4, 4)[:20], r"a\.png: unreadable image"),
}


@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_hostile_images(case, tmp_path):
    body, match = IMAGE_CASES[case]
    Image.new("L", (4, 4), 7).save(tmp_path / "0.png")  # a good one first
    (tmp_path / "a.png").write_bytes(body)
    _one_line_error(load_file, tmp_path, match=match)
    assert sorted(p.name for p in _files(tmp_path)) == ["0.png", "a.png"]


def test_folder_over_the_budget_is_refused_from_headers(tmp_path, monkeypatch):
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(_png(1000, 1000))  # headers only: never decoded
    monkeypatch.setattr(_bounds, "MAX_READ_BYTES", MiB)
    _one_line_error(load_file, tmp_path, match=r"3 images of 1000x1000 pixels needs .*available")


def test_16bit_gradient_keeps_its_depth(tmp_path):
    gradient = (np.arange(64).reshape(8, 8) * 1024).astype(np.uint16)
    (tmp_path / "g.png").write_bytes(_grey16(gradient))
    X, _ = load_file(tmp_path)
    assert X.dtype == np.uint16 and X.shape == (1, 8, 8)
    np.testing.assert_array_equal(X[0], gradient)  # 64 levels, not 63 whites


def test_mixed_bit_depths_are_scaled_consistently(tmp_path):
    (tmp_path / "a16.png").write_bytes(_grey16(np.full((8, 8), 65535)))
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "b8.png")
    Image.fromarray(np.full((8, 8), 1, np.uint8)).save(tmp_path / "c8.png")
    X, _ = load_file(tmp_path)
    assert X.dtype == np.uint16 and [int(x.max()) for x in X] == [65535, 65535, 257]
    X, _ = load_file(tmp_path, image_size=(4, 4))
    assert X.shape == (3, 4, 4) and [int(x.max()) for x in X] == [65535, 65535, 257]
    Image.new("RGB", (8, 8), (0, 128, 255)).save(tmp_path / "d.png")
    X, _ = load_file(tmp_path)  # with colour: 8-bit RGB, the 16-bit one by its high byte
    assert X.dtype == np.uint8 and X.shape == (4, 3, 8, 8)
    assert X[0].max() == 255 and X[2].max() == 1 and X[3, :, 0, 0].tolist() == [0, 128, 255]


# ---------------------------------------------------------------------------------------------
# Downloads (a loopback server; the registry's pins are monkeypatched)


@pytest.fixture
def server(monkeypatch):
    monkeypatch.delenv("GANCLUST_MIRROR", raising=False)
    monkeypatch.delenv("GANCLUST_DATA", raising=False)
    srv = LoopbackServer().start()
    yield srv
    srv.stop()


class _NoLengthServer:
    """Serve one body without a Content-Length: the response ends when the server closes."""

    def __init__(self, body: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _pin(monkeypatch, name: str, role: str, body: bytes, size: int | None = None) -> str:
    remote = DATASETS[name].files[role]
    monkeypatch.setattr(remote, "sha256", hashlib.sha256(body).hexdigest())
    monkeypatch.setattr(remote, "size", len(body) if size is None else size)
    return remote.filename


def _assert_nothing_cached(home: Path) -> None:
    assert not home.exists() or _files(home) == []


def test_unverified_download_announcing_too_much_is_refused(server, tmp_path, monkeypatch):
    server.files["/usps/zip.test.gz"] = b"\0" * 5000
    monkeypatch.setattr(_download, "MAX_UNVERIFIED_BYTES", 1000)
    with pytest.raises(DownloadError, match=r"announces 5000 bytes, more than the 1000 cap"):
        load_dataset("usps", split="test", data_home=tmp_path, mirror=server.url, verify=False)
    _assert_nothing_cached(tmp_path)


@pytest.mark.parametrize("verify", [False, True])
def test_download_streaming_too_much_is_cut_off(verify, tmp_path, monkeypatch):
    body = b"1,2\n" * 2000
    srv = _NoLengthServer(body)
    try:
        monkeypatch.setattr(_download, "MAX_UNVERIFIED_BYTES", 1000)
        _pin(monkeypatch, "pendigits", "test", body, size=1000)
        with pytest.raises(DownloadError, match=r"sent more than the 1000 bytes expected"):
            load_dataset(
                "pendigits", split="test", data_home=tmp_path, mirror=srv.url, verify=verify
            )
    finally:
        srv.stop()
    _assert_nothing_cached(tmp_path)


def test_verified_download_announcing_more_than_pinned(server, tmp_path, monkeypatch):
    body = b"0," * 17 + b"\n"
    _pin(monkeypatch, "pendigits", "test", body, size=len(body) - 1)
    server.files["/pendigits/pendigits.tes"] = body
    with pytest.raises(DownloadError, match=rf"announces {len(body)} bytes"):
        load_dataset("pendigits", split="test", data_home=tmp_path, mirror=server.url)
    _assert_nothing_cached(tmp_path)


def _unverified(server, tmp_path, name: str, path: str, body: bytes, split: str = "test"):
    server.files[path] = body
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".* was not verified against a pinned checksum")
        return load_dataset(name, split=split, data_home=tmp_path, mirror=server.url, verify=False)


def test_unverified_gzip_bomb_is_refused(server, tmp_path, monkeypatch):
    monkeypatch.setattr(_bounds, "MAX_READ_BYTES", MiB)
    body = gzip.compress(b"0" * (8 * MiB))
    with pytest.raises(ValueError, match=r"zip\.test\.gz: inflates to more than 512\.0 KiB"):
        _unverified(server, tmp_path, "usps", "/usps/zip.test.gz", body)


def test_unverified_corrupt_gzip_is_refused(server, tmp_path):
    body = gzip.compress(b"1 " * 300)[:-12] + b"garbage!!!!!"
    with pytest.raises(ValueError, match=r"zip\.test\.gz: not a valid gzip file"):
        _unverified(server, tmp_path, "usps", "/usps/zip.test.gz", body)


def test_unverified_usps_label_out_of_range(server, tmp_path):
    body = gzip.compress(b"1e30 " + b"0.5 " * 256 + b"\n")
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.9"):
        _unverified(server, tmp_path, "usps", "/usps/zip.test.gz", body)


def _cifar(records: int, claim: int | None = None) -> bytes:
    """A tar.gz holding a test batch of zero ``records``; its header may ``claim`` more bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
        info.size = 3073 * records
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    raw = bytearray(buf.getvalue())
    if claim is not None:
        raw[124:136] = b"%011o\0" % claim
        raw[148:156] = b" " * 8
        raw[148:156] = b"%06o\0 " % sum(raw[:512])
    return gzip.compress(bytes(raw))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (_cifar(400), r"tar\.gz: member .*test_batch\.bin needs 1\.2 MiB, more than the 1\.0"),
        (_cifar(1, claim=3073 * 10**6), r"tar\.gz: not a readable .* unexpected end of data"),
    ],
    ids=["inflates over budget", "header claims 3 GB"],
)
def test_unverified_tar_member_too_large(body, match, server, tmp_path, monkeypatch):
    monkeypatch.setattr(_bounds, "MAX_READ_BYTES", MiB)
    url_path = "/cifar10/cifar-10-binary.tar.gz"
    with pytest.raises(ValueError, match=match):
        _unverified(server, tmp_path, "cifar10", url_path, body)


def test_unverified_idx_header_claiming_too_much(server, tmp_path):
    body = gzip.compress(struct.pack(">BBBBIII", 0, 0, 8, 3, 10**9, 28, 28) + bytes(784))
    server.files["/mnist/t10k-labels-idx1-ubyte.gz"] = gzip.compress(
        struct.pack(">BBBBI", 0, 0, 8, 1, 1) + b"\0"
    )
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz: IDX payload is 784"):
        _unverified(server, tmp_path, "mnist", "/mnist/t10k-images-idx3-ubyte.gz", body)


def test_cli_no_verify_download_over_the_cap(server, tmp_path, monkeypatch, capsys):
    from ganclust.cli import main

    monkeypatch.setattr(_download, "MAX_UNVERIFIED_BYTES", 1000)
    monkeypatch.setenv("GANCLUST_DATA", str(tmp_path / "cache"))
    server.files["/usps/zip.train.gz"] = b"\0" * 5000
    out = tmp_path / "run"
    argv = ["fit", "--data", "usps", "--mirror", server.url, "--no-verify", "--out", str(out)]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "zip.train.gz" in err and "1000 cap" in err
    assert not out.exists()
    _assert_nothing_cached(tmp_path / "cache")


def test_cli_png_bomb_exits_2_with_one_line(tmp_path, capsys):
    from ganclust.cli import main

    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "huge.png").write_bytes(_png(100_000, 100_000))
    out = tmp_path / "run"
    assert main(["fit", "--data", str(tmp_path / "imgs"), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "huge.png" in err and "decompression bomb" in err
    assert not out.exists()
