"""The user's own files: .npy / .npz, .csv / .tsv, image folders, and load_data's dispatch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganclust.datasets import load_data, load_file


def _one_line_error(func, *args, match: str, **kwargs) -> str:
    with pytest.raises(ValueError, match=match) as err:
        func(*args, **kwargs)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_npy_is_memory_mapped(tmp_path):
    X = np.arange(24, dtype=np.float32).reshape(6, 4)
    np.save(tmp_path / "x.npy", X)
    got, y = load_file(tmp_path / "x.npy")
    assert isinstance(got, np.memmap) and not got.flags.writeable and y is None
    np.testing.assert_array_equal(got, X)
    eager, _ = load_file(tmp_path / "x.npy", mmap=False)
    assert not isinstance(eager, np.memmap)


def test_npz_with_and_without_labels(tmp_path):
    X = np.ones((5, 2, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", X=X, y=np.array([0, 1, 1, 2, 0]))
    got, y = load_file(tmp_path / "a.npz")
    assert got.shape == (5, 2, 3) and y.dtype == np.int64 and list(y) == [0, 1, 1, 2, 0]
    np.savez(tmp_path / "b.npz", X=X, y=np.array(["cat", "dog", "cat", "ant", "dog"]))
    assert list(load_file(tmp_path / "b.npz")[1]) == [1, 2, 1, 0, 2]
    np.savez(tmp_path / "c.npz", X=X)
    assert load_file(tmp_path / "c.npz")[1] is None


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"data": np.ones((3, 2))}, "needs an array named 'X' \\(found: data\\)"),
        ({"X": np.ones((3, 2)), "y": np.zeros(4)}, "X has 3 samples but y has 4 labels"),
        ({"X": np.ones((3, 2)), "y": np.array([0.5, 1, 2])}, "whole numbers"),
        ({"X": np.ones(3)}, "shape \\(n_samples, ...\\)"),
        ({"X": np.ones((0, 3))}, "no samples"),
    ],
)
def test_bad_npz(tmp_path, arrays, match):
    np.savez(tmp_path / "bad.npz", **arrays)
    _one_line_error(load_file, tmp_path / "bad.npz", match=match)


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    _one_line_error(load_file, tmp_path / "o.npy", match="o.npy: cannot read")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_header_and_label_column(tmp_path):
    path = _write(tmp_path, "d.csv", "a,b,label\n1,2,0\n3,4.5,1\n\n5,,1\n")
    X, y = load_file(path, label_column="label")
    assert X.dtype == np.float64 and X.shape == (3, 2) and np.isnan(X[2, 1])
    assert list(y) == [0, 1, 1]
    X2, y2 = load_file(path, label_column=-1)
    np.testing.assert_array_equal(X2, X)
    assert load_file(path)[0].shape == (3, 3)


def test_csv_without_header_and_string_labels(tmp_path):
    path = _write(tmp_path, "d.csv", "1.0,2.0,setosa\n3.0,4.0,virginica\n5,6,setosa\n")
    X, y = load_file(path, label_column=2)
    assert X.shape == (3, 2) and list(y) == [0, 1, 0]
    tsv = _write(tmp_path, "d.tsv", "x\ty\tc\n1\t2\tb\n3\t4\ta\n")
    X, y = load_file(tsv, label_column="c")
    assert X.tolist() == [[1, 2], [3, 4]] and list(y) == [1, 0]


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("", {}, "the file is empty"),
        ("\n \n", {}, "the file is empty"),
        ("a,b\n", {}, "a header but no data rows"),
        ("1,2,3\n4,5,6\n7,8\n", {}, "line 3 has 2 fields, expected 3"),
        ("a,b\n1,2\n3,oops\n", {}, "non-numeric cell 'oops' at line 3, column 2 \\('b'\\)"),
        ("a,b\n1,2\n", {"label_column": "c"}, "no column named 'c' \\(columns: a, b\\)"),
        ("1,2\n3,4\n", {"label_column": "c"}, "is a name but the file has no header"),
        ("1,2\n3,4\n", {"label_column": 5}, "out of range"),
        ("1,2\n3,4\n", {"label_column": 0, "image_size": None}, None),
    ],
)
def test_bad_tables(tmp_path, text, kwargs, match):
    path = _write(tmp_path, "t.csv", text)
    if match is None:
        X, y = load_file(path, **kwargs)
        assert X.shape == (2, 1) and list(y) == [1, 3]
        return
    _one_line_error(load_file, path, match=match, **kwargs)


def _image(path: Path, size=(6, 5), mode="L", value=100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size[1], size[0]), value if mode == "L" else (value, 0, 255)).save(path)


def test_image_folder_with_class_subfolders(tmp_path):
    for cls, n in (("cats", 2), ("dogs", 3)):
        for i in range(n):
            _image(tmp_path / cls / f"{i}.png", value=10 * i)
    (tmp_path / "README.txt").write_text("ignored")
    (tmp_path / "empty_class").mkdir()
    X, y = load_file(tmp_path)
    assert X.shape == (5, 6, 5) and X.dtype == np.uint8
    assert list(y) == [0, 0, 1, 1, 1]


def test_flat_colour_folder_and_jpeg(tmp_path):
    _image(tmp_path / "a.png", mode="RGB")
    _image(tmp_path / "b.jpg", mode="RGB")
    _image(tmp_path / "c.PNG", mode="L")
    X, y = load_file(tmp_path)
    assert X.shape == (3, 3, 6, 5) and y is None
    assert X[0, 2].min() == 255 and X[0, 1].max() == 0  # channels first


def test_mixed_sizes_resized_or_refused(tmp_path):
    _image(tmp_path / "a.png", size=(6, 5))
    _image(tmp_path / "b.png", size=(8, 8))
    msg = _one_line_error(load_file, tmp_path, match="mixed sizes")
    assert "image_size" in msg
    X, _ = load_file(tmp_path, image_size=(4, 7))
    assert X.shape == (2, 4, 7)


@pytest.mark.parametrize("case", ["empty", "unreadable", "mixed_layout"])
def test_bad_image_folders(tmp_path, case):
    if case == "unreadable":
        _image(tmp_path / "ok.png")
        (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
        _one_line_error(load_file, tmp_path, match="broken.png: unreadable image")
    elif case == "mixed_layout":
        _image(tmp_path / "top.png")
        _image(tmp_path / "cls" / "a.png")
        _one_line_error(load_file, tmp_path, match="mixes images at the top level")
    else:
        (tmp_path / "notes.txt").write_text("no images")
        _one_line_error(load_file, tmp_path, match="no PNG or JPEG images")


def test_missing_and_unsupported_files(tmp_path):
    missing = tmp_path / "nope.csv"
    assert str(missing) in _one_line_error(load_file, missing, match="no such file")
    _write(tmp_path, "data.json", "{}")
    _one_line_error(load_file, tmp_path / "data.json", match="unsupported file type '.json'")
    (tmp_path / "e.npy").write_bytes(b"")
    _one_line_error(load_file, tmp_path / "e.npy", match="the file is empty")


def test_load_data_dispatch(tmp_path):
    X, y = load_data("Digits")
    assert X.shape == (1797, 8, 8)
    path = _write(tmp_path, "d.csv", "a,b\n1,2\n")
    X, y = load_data(str(path), label_column="b")
    assert X.shape == (1, 1) and list(y) == [2]
    msg = _one_line_error(load_data, str(tmp_path / "zzz"), match="neither a known dataset")
    assert "mnist" in msg and "cifar10" in msg and "existing file" in msg
