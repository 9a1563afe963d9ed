"""Named datasets: the real download code against a loopback server, and the parsers.

Every file served is generated here in the real on-disk format, small; the registry's
pinned sizes and hashes are monkeypatched to the generated files' values.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
from _loopback import LoopbackServer

from ganclust import _download, datasets
from ganclust._formats import DatasetError, read_cifar10_binary, read_idx, read_usps
from ganclust.datasets import DATASETS, DownloadError, load_dataset

RNG = np.random.default_rng(0)
SIZES = {"train": 7, "test": 4}


def _idx(arr: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return gzip.compress(header + arr.astype(np.uint8).tobytes())


def _usps(X: np.ndarray, y: np.ndarray) -> bytes:
    grey = X.reshape(len(X), -1) / 127.5 - 1.0
    lines = [
        f"{lab:.4f} " + " ".join(f"{v:.4f}" for v in row) + " "
        for lab, row in zip(y, grey, strict=True)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def _pendigits(X: np.ndarray, y: np.ndarray) -> bytes:
    lines = [",".join(f"{v:4d}" for v in [*row, lab]) for row, lab in zip(X, y, strict=True)]
    return ("\r\n".join(lines) + "\r\n").encode()


def _cifar(parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        members = {f"data_batch_{i}.bin": "train" for i in range(1, 6)}
        members["test_batch.bin"] = "test"
        offsets = {"train": 0, "test": 0}
        for name, split in members.items():
            X, y = parts[split]
            n = 2 if split == "train" else len(y)  # 5 train batches of 2 records
            sl = slice(offsets[split], offsets[split] + n)
            offsets[split] += n
            recs = np.concatenate([y[sl, None].astype(np.uint8), X[sl].reshape(n, -1)], axis=1)
            data = recs.tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _make(name: str) -> tuple[dict[str, bytes], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Return (role -> file bytes, split -> expected (X, y)) for a named dataset."""
    n = {"train": 10, "test": 4} if name == "cifar10" else SIZES
    if name in ("mnist", "fashion-mnist", "kmnist"):
        data = {s: (RNG.integers(0, 256, (n[s], 28, 28), dtype=np.uint8),
                    RNG.integers(0, 10, n[s]).astype(np.int64)) for s in n}  # fmt: skip
        files = {
            f"{s}_{k}": _idx(data[s][i]) for s in n for i, k in enumerate(("images", "labels"))
        }
        return files, data
    if name == "usps":
        data = {s: ((RNG.integers(0, 256, (n[s], 16, 16))).astype(np.uint8),
                    RNG.integers(0, 10, n[s]).astype(np.int64)) for s in n}  # fmt: skip
        return {s: _usps(*data[s]) for s in n}, data
    if name == "pendigits":
        data = {s: (RNG.integers(0, 101, (n[s], 16)), RNG.integers(0, 10, n[s])) for s in n}
        files = {s: _pendigits(*data[s]) for s in n}
        return files, {s: (x.astype(np.float32), y.astype(np.int64)) for s, (x, y) in data.items()}
    data = {s: (RNG.integers(0, 256, (n[s], 3, 32, 32), dtype=np.uint8),
                RNG.integers(0, 10, n[s]).astype(np.int64)) for s in n}  # fmt: skip
    return {"archive": _cifar(data)}, data


NAMES = ["mnist", "fashion-mnist", "kmnist", "usps", "pendigits", "cifar10"]
GENERATED = {name: _make(name) for name in NAMES}


@pytest.fixture
def server():
    srv = LoopbackServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def mirror(server, monkeypatch):
    """Serve every generated file at <mirror>/<dataset>/<filename>; pin its size and hash."""
    monkeypatch.delenv("GANCLUST_MIRROR", raising=False)
    monkeypatch.delenv("GANCLUST_DATA", raising=False)
    for name, (files, _) in GENERATED.items():
        for role, body in files.items():
            remote = DATASETS[name].files[role]
            monkeypatch.setattr(remote, "sha256", hashlib.sha256(body).hexdigest())
            monkeypatch.setattr(remote, "size", len(body))
            server.files[f"/{name}/{remote.filename}"] = body
    return server


def _no_partial_files(home: Path) -> None:
    assert not [p for p in home.rglob("*") if p.name.endswith(".part")]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("split", ["train", "test", "all"])
def test_every_named_dataset_loads_through_the_mirror(name, split, mirror, tmp_path):
    X, y = load_dataset(name, split=split, data_home=tmp_path, mirror=mirror.url, progress=False)
    expected = GENERATED[name][1]
    parts = ["train", "test"] if split == "all" else [split]
    np.testing.assert_array_equal(X, np.concatenate([expected[p][0] for p in parts]))
    np.testing.assert_array_equal(y, np.concatenate([expected[p][1] for p in parts]))
    assert y.dtype == np.int64
    assert X.shape[1:] == DATASETS[name].sample_shape
    assert X.dtype == (np.float32 if name == "pendigits" else np.uint8)
    _no_partial_files(tmp_path)


def test_mirror_from_environment_and_progress_bar(mirror, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANCLUST_MIRROR", mirror.url + "/")
    monkeypatch.setenv("GANCLUST_DATA", str(tmp_path))
    X, _ = load_dataset("mnist", split="test", progress=True)
    assert X.shape == (SIZES["test"], 28, 28)
    assert (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()


def test_canonical_urls_are_tried_in_order(mirror, tmp_path, monkeypatch):
    remote = DATASETS["pendigits"].files["test"]
    dead = f"{mirror.url}/gone/pendigits.tes"
    monkeypatch.setattr(remote, "urls", (dead, f"{mirror.url}/pendigits/pendigits.tes"))
    X, _ = load_dataset("pendigits", split="test", data_home=tmp_path, progress=False)
    assert len(X) == SIZES["test"]
    assert mirror.requests == ["/gone/pendigits.tes", "/pendigits/pendigits.tes"]


@pytest.mark.parametrize(
    ("mode", "needle"),
    [("corrupt", "checksum mismatch"), ("truncate", "truncated"), ("refuse", "HTTP 403")],
)
def test_bad_downloads_raise_and_leave_nothing(mode, needle, mirror, tmp_path):
    mirror.behaviour["/pendigits/pendigits.tes"] = mode
    with pytest.raises(DownloadError) as err:
        load_dataset("pendigits", split="test", data_home=tmp_path, mirror=mirror.url)
    msg = str(err.value)
    dest = tmp_path / "pendigits" / "pendigits.tes"
    assert needle in msg and "pendigits.tes" in msg and str(dest) in msg and mirror.url in msg
    assert "\n" not in msg
    assert not dest.exists()
    _no_partial_files(tmp_path)


def test_unreachable_server_names_file_url_and_place(tmp_path, monkeypatch):
    monkeypatch.delenv("GANCLUST_MIRROR", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again on exit: connections are refused
    with pytest.raises(OSError) as err:
        load_dataset(
            "pendigits", split="test", data_home=tmp_path, mirror=f"http://127.0.0.1:{port}"
        )
    assert str(tmp_path / "pendigits" / "pendigits.tes") in str(err.value)
    assert f"127.0.0.1:{port}/pendigits/pendigits.tes" in str(err.value)


def test_cached_hit_needs_no_network(mirror, tmp_path):
    first = load_dataset("mnist", split="all", data_home=tmp_path, mirror=mirror.url)
    n_requests = len(mirror.requests)
    mirror.stop()  # nothing listens any more
    for download in (True, False):
        again = load_dataset("mnist", split="all", data_home=tmp_path, download=download)
        np.testing.assert_array_equal(first[0], again[0])
    assert len(mirror.requests) == n_requests == 4


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_bad_cached_file_is_fetched_again(damage, mirror, tmp_path):
    load_dataset("pendigits", split="train", data_home=tmp_path, mirror=mirror.url)
    cached = tmp_path / "pendigits" / "pendigits.tra"
    body = cached.read_bytes()
    cached.write_bytes(body[:10] if damage == "truncate" else b"X" + body[1:])
    with pytest.warns(UserWarning, match="failed verification"):
        X, _ = load_dataset("pendigits", split="train", data_home=tmp_path, mirror=mirror.url)
    assert cached.read_bytes() == body
    np.testing.assert_array_equal(X, GENERATED["pendigits"][1]["train"][0])


def test_offline_errors_say_what_to_place_where(mirror, tmp_path):
    with pytest.raises(DownloadError) as err:
        load_dataset("cifar10", data_home=tmp_path, download=False)
    dest = tmp_path / "cifar10" / "cifar-10-binary.tar.gz"
    assert "download=False" in str(err.value) and str(dest) in str(err.value)
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in str(err.value)
    assert not (tmp_path / "cifar10").exists() and mirror.requests == []
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"not the archive")
    with pytest.raises(DownloadError, match="failed verification"):
        load_dataset("cifar10", data_home=tmp_path, download=False)
    assert dest.read_bytes() == b"not the archive"  # left for the user to inspect


def test_unpinned_file_needs_verify_false(mirror, tmp_path, monkeypatch):
    remote = DATASETS["usps"].files["test"]
    monkeypatch.setattr(remote, "sha256", None)
    monkeypatch.setattr(remote, "size", None)
    with pytest.raises(ValueError, match="verify=False"):
        load_dataset("usps", split="test", data_home=tmp_path, mirror=mirror.url)
    assert mirror.requests == []
    with pytest.warns(UserWarning, match="not verified .* sha256 is [0-9a-f]{64}"):
        X, y = load_dataset(
            "usps", split="test", data_home=tmp_path, mirror=mirror.url, verify=False
        )
    np.testing.assert_array_equal(X, GENERATED["usps"][1]["test"][0])


def test_real_registry_pins_every_file_but_usps():
    for name, info in DATASETS.items():
        for remote in info.files.values():
            assert remote.checksum_source and remote.urls
            if name == "usps":
                assert remote.sha256 is None
            else:
                assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0
                assert remote.size > 0


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("GANCLUST_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _download.get_data_home() == tmp_path / "home" / ".cache" / "ganclust"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _download.get_data_home() == tmp_path / "xdg" / "ganclust"
    monkeypatch.setenv("GANCLUST_DATA", str(tmp_path / "data"))
    assert _download.get_data_home() == tmp_path / "data"
    assert _download.get_data_home(tmp_path / "explicit") == tmp_path / "explicit"


def test_mirror_must_be_a_url():
    with pytest.raises(ValueError, match="http"):
        _download.resolve_mirror("ftp://example.org/data")


def test_unknown_name_and_split():
    with pytest.raises(ValueError, match="known: digits, mnist, fashion-mnist") as err:
        load_dataset("svhn")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="no split 'valid'"):
        load_dataset("mnist", split="valid", download=False)
    with pytest.raises(ValueError, match="no predefined split"):
        load_dataset("digits", split="test")


def test_digits_is_bundled_uint8():
    X, y = load_dataset("digits")
    assert X.shape == (1797, 8, 8) and X.dtype == np.uint8 and X.max() == 255
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))


def test_listing_reports_cache_state(mirror, tmp_path):
    rows = {r["name"]: r for r in datasets.list_datasets(data_home=tmp_path)}
    assert set(rows) == set(DATASETS)
    assert rows["digits"]["cached"] and not rows["mnist"]["cached"]
    assert rows["mnist"]["n_samples"] == 70000 and rows["mnist"]["shape"] == (28, 28)
    assert rows["cifar10"]["splits"] == {"train": 50000, "test": 10000, "all": 60000}
    load_dataset("mnist", split="all", data_home=tmp_path, mirror=mirror.url)
    rows = datasets.list_datasets(data_home=tmp_path)
    assert {r["name"]: r["cached"] for r in rows}["mnist"]
    table = datasets.format_dataset_table(rows)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["NAME", "SAMPLES", "SHAPE"]
    assert len(lines) == len(DATASETS) + 1 and any("cifar10" in ln for ln in lines)


def test_parsers_reject_malformed_files(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(struct.pack(">BBBBI", 0, 0, 8, 1, 5) + b"\0" * 3))
    with pytest.raises(DatasetError, match="payload is 3 bytes"):
        read_idx(bad, ndim=1)
    with pytest.raises(DatasetError, match="has 1 dimensions, expected 3"):
        read_idx(bad, ndim=3)
    bad.write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match="not a valid gzip"):
        read_idx(bad, ndim=1)
    bad.write_bytes(gzip.compress(b"1 " + b"0.5 " * 256 + b"\n2 0.1 0.2\n"))
    with pytest.raises(DatasetError, match="line 2 has 3 values"):
        read_usps(bad)
    tgz = tmp_path / "c.tar.gz"
    with tarfile.open(tgz, "w:gz"):
        pass
    with pytest.raises(DatasetError, match="no member"):
        read_cifar10_binary(tgz, "test")


def test_cli_fit_on_mnist_through_the_mirror(mirror, tmp_path, monkeypatch, capsys):
    import json

    from ganclust.cli import main

    monkeypatch.setenv("GANCLUST_DATA", str(tmp_path / "cache"))
    out = tmp_path / "run"
    argv = ["fit", "--data", "mnist", "--mirror", mirror.url, "--out", str(out), "--quiet"]
    argv += ["--n-clusters", "3", "--max-epochs", "1", "--option", "width=8"]
    argv += ["--option", "init=random"]
    assert main(argv) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["data"] == "mnist"
    assert run["n_samples"] == SIZES["train"] and run["sample_shape"] == [28, 28]
    assert json.loads((out / "metrics.json").read_text())["n_samples"] == SIZES["train"]
    # the downloaded files are in the cache, verified, with nothing half-written
    cached = sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir())
    assert cached == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    _no_partial_files(tmp_path / "cache")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # --quiet silences the download bars too
