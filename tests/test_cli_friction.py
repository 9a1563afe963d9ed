"""A command line that helps (#18): one test per friction point, and outputs that map back.

Each test names the friction it guards against: help that says what every flag does and fits on
a screen, one-line errors and warnings, notes on the labels, a quiet broken pipe, a model file
with its siblings' permissions, a ``--help`` that does not wait for torch, ``--version``; and the
ids, column names and samples that let a user map the outputs back to their own files.
"""

import argparse
import csv
import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import make_blobs

import ganclust
from ganclust._cli_parser import build_parser
from ganclust._cli_signatures import _inspected, estimator_signatures
from ganclust.cli import main
from ganclust.datasets import load_data, load_data_with_ids

TINY = ["--max-epochs", "2", "--option", "width=8", "--option", "refine=0"]
TINY += ["--option", "init=kmeans", "--device", "cpu", "--random-state", "0", "--quiet"]


def _write_table(path, X, names, extra=None):
    """A CSV with a header; ``extra`` maps a column name to its cells, appended last."""
    extra = extra or {}
    header = [*names, *extra]
    rows = [
        [*(f"{v:.5f}" for v in x), *(col[i] for col in extra.values())] for i, x in enumerate(X)
    ]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """One tiny fit on a CSV with a header, an id column and a label column."""
    base = tmp_path_factory.mktemp("table")
    X, y = make_blobs(90, n_features=3, centers=3, cluster_std=0.4, random_state=0)
    ids = {"name": [f"row-{i:03d}" for i in range(len(X))]}
    data = _write_table(base / "items.csv", X, ["width", "height", "mass"], ids | {"kind": y})
    out = base / "run"
    argv = ["fit", "--data", str(data), "--id-column", "name", "--label-column", "kind"]
    assert main([*argv, "--n-clusters", "3", "--out", str(out), *TINY]) == 0
    return base, out


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


# ---------------------------------------------------------------- help
def test_every_flag_has_a_one_line_description():
    parser = build_parser(show_all=True)
    missing = []
    for name, sub in {"": parser, **_subparsers(parser)}.items():
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            text = action.help
            if not text or text == argparse.SUPPRESS or "\n" in text:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"flags without a one-line description: {missing}"


def test_automatic_defaults_read_auto():
    short = build_parser()._subparsers._group_actions[0].choices["fit"]
    helps = {a.dest: a.help for a in short._actions}
    for dest in ("param_max_epochs", "param_batch_size", "param_learning_rate"):
        assert "(default: auto (" in helps[dest], helps[dest]
    assert "(default: auto (conv for images, mlp for vectors))" in helps["param_backbone"]
    assert "'auto'" not in helps["param_backbone"]


def test_fit_help_fits_on_one_screen_and_points_at_the_rest(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--help"])
    assert exit_.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 50, "\n".join(lines)
    assert max(map(len, lines)) <= 80
    assert "ganclust fit --help-all" in lines[-1]


def test_the_signatures_read_from_source_are_the_estimators():
    read, inspected = estimator_signatures(), _inspected()
    assert list(read) == list(inspected) == ["clustergan", "infogan", "catgan"]
    for method in read:
        assert list(read[method].items()) == list(inspected[method].items())
    assert read["clustergan"]["n_clusters"] == 10
    assert inspect.Parameter.empty not in read["infogan"].values()


# ---------------------------------------------------------------- errors and warnings
def test_an_argparse_error_is_one_line_a_hint_and_a_suggestion(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--n-cluster", "3"])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2, lines
    assert "unrecognized arguments: --n-cluster" in lines[0]
    assert "(did you mean --n-clusters?)" in lines[0]
    assert lines[1].startswith("(see ganclust") and lines[1].endswith("--help)")


def test_a_label_like_column_kept_as_a_feature_gets_a_one_line_warning(tmp_path, capsys):
    X, y = make_blobs(30, n_features=2, centers=3, random_state=0)
    data = _write_table(tmp_path / "d.csv", X, ["a", "b"], {"Label": y})
    capsys.readouterr()
    # an impossible batch size fails the fit at once, after the data (and the warning)
    argv = ["fit", "--data", str(data), "--out", str(tmp_path / "run"), "--batch-size", "0"]
    assert main([*argv, "--n-clusters", "3", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == (
        f"ganclust fit: warning: {data}: column 'Label' looks like labels but is used as a "
        "feature; pass --label-column Label to use it as the labels (or rename it)"
    )
    assert len(err) == 2 and err[1].startswith("ganclust fit: error: ")
    assert not (tmp_path / "run").exists()
    # with --label-column, nothing to warn about
    assert main([*argv, "--label-column", "Label", "--n-clusters", "3", "--device", "cpu"]) == 2
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("name", ["target", "CLASS", "y", "labels"])
def test_every_label_like_name_is_recognised(tmp_path, name):
    data = _write_table(tmp_path / "d.csv", np.eye(3), ["a", "b", name])
    args = build_parser().parse_args(["predict", "m", "--data", str(data)])
    from ganclust._cli_data import load_cli_data_with_ids

    with pytest.warns(UserWarning, match=f"column '{name}' looks like labels"):
        load_cli_data_with_ids(args)


def test_a_python_warning_prints_as_one_line_without_source(tmp_path, capsys, monkeypatch):
    import ganclust._cli_fit

    def warn_and_fail(*args, **kwargs):
        import warnings

        warnings.warn("something odd\nover two lines", UserWarning, stacklevel=1)
        raise ValueError("stop here")

    monkeypatch.setattr(ganclust._cli_fit, "_train", warn_and_fail)
    np.save(tmp_path / "x.npy", np.random.RandomState(0).rand(20, 3))
    capsys.readouterr()
    argv = ["fit", "--data", str(tmp_path / "x.npy"), "--out", str(tmp_path / "run")]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "ganclust fit: warning: something odd over two lines",
        "ganclust fit: error: stop here",
    ]
    import warnings

    assert warnings.showwarning.__module__ != "ganclust.cli"  # put back after the command


def test_known_labels_without_n_clusters_are_counted(tmp_path, capsys):
    X, y = make_blobs(30, n_features=2, centers=3, random_state=0)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    argv = ["fit", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "run")]
    argv += ["--batch-size", "0", "--device", "cpu"]  # fails right after the note
    capsys.readouterr()
    assert main(argv) == 2
    note = capsys.readouterr().err.splitlines()[0]
    assert note == (
        "ganclust fit: note: the labels have 3 classes; fitting the default 10 clusters "
        "(--n-clusters 3 for one each, or --n-clusters auto to estimate K without the labels)"
    )
    for extra in (["--n-clusters", "4"], ["--quiet"]):
        assert main([*argv, *extra]) == 2
        assert "note" not in capsys.readouterr().err


# ---------------------------------------------------------------- pipes, files, speed, version
def test_a_broken_pipe_exits_quietly_with_status_0(table_run, tmp_path):
    base, run = table_run
    X, _ = make_blobs(20000, n_features=3, centers=3, random_state=1)
    data = _write_table(tmp_path / "many.csv", X, ["width", "height", "mass"])
    command = [sys.executable, "-m", "ganclust", "predict", str(run), "--data", str(data)]
    producer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert producer.stdout.readline() == b"id,cluster,probability\n"
    producer.stdout.close()  # like `| head -1`
    err = producer.stderr.read().decode()
    producer.stderr.close()
    assert producer.wait(timeout=300) == 0, err
    assert err == ""


def test_the_model_file_has_its_siblings_permissions(table_run, tmp_path):
    _, run = table_run
    modes = {p.name: p.stat().st_mode & 0o777 for p in run.iterdir() if p.is_file()}
    assert len(set(modes.values())) == 1, modes
    model = ganclust.load(run)
    old = os.umask(0o027)
    try:
        model.save(tmp_path / "m.safetensors")
        (tmp_path / "sibling.txt").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "m.safetensors").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "sibling.txt").stat().st_mode & 0o777 == 0o640


def test_help_does_not_import_torch():
    code = (
        "import sys, ganclust.cli\n"
        "ganclust.cli.build_parser(); ganclust.cli.build_parser(show_all=True)\n"
        "try:\n    ganclust.cli.main(['fit', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'matplotlib' in sys.modules, 'ganclust' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False False True"
    result = subprocess.run(
        [sys.executable, "-c", "import sys, ganclust; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "False"  # and the estimators come when asked for
    assert ganclust.ClusterGAN.__name__ == "ClusterGAN" and "load_dataset" in dir(ganclust)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"ganclust {ganclust.__version__}"


# ---------------------------------------------------------------- outputs that map back
def test_labels_csv_carries_the_id_column_and_run_json_the_names(table_run):
    base, run = table_run
    rows = list(csv.reader((run / "labels.csv").read_text().splitlines()))
    assert rows[0] == ["id", "cluster", "probability", "label"]
    assert [r[0] for r in rows[1:4]] == ["row-000", "row-001", "row-002"]
    record = json.loads((run / "run.json").read_text())
    assert record["feature_names"] == ["width", "height", "mass"]
    assert record["data_args"]["id_column"] == "name"
    assert record["data_args"]["label_column"] == "kind"
    assert record["data_args"]["path"] == str((base / "items.csv").resolve())


def test_predict_writes_the_ids_of_a_table_and_of_an_image_folder(table_run, tmp_path, capsys):
    base, run = table_run
    capsys.readouterr()
    argv = ["predict", str(run), "--data", str(base / "items.csv"), "--id-column", "name"]
    assert main([*argv, "--label-column", "kind"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id,cluster,probability,label" and lines[1].startswith("row-000,")
    # without --id-column, the id of a row is its number among the data rows, from 0
    X, _ = make_blobs(5, n_features=3, random_state=0)
    _write_table(tmp_path / "new.csv", X, ["width", "height", "mass"])
    assert main(["predict", str(run), "--data", str(tmp_path / "new.csv")]) == 0
    ids = [line.split(",")[0] for line in capsys.readouterr().out.splitlines()[1:]]
    assert ids == ["0", "1", "2", "3", "4"]


def test_load_data_with_ids(tmp_path):
    for k, name in enumerate(["cats", "dogs"]):
        (tmp_path / "images" / name / "sub").mkdir(parents=True)
        for i in range(2):
            pixels = np.full((8, 8), 40 * (2 * k + i), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / name / f"{i}.png")
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "images" / name / "sub/z.png")
    X, y, ids, names = load_data_with_ids(tmp_path / "images")
    assert ids == [f"{c}/{f}" for c in ("cats", "dogs") for f in ("0.png", "1.png", "sub/z.png")]
    assert y.tolist() == [0, 0, 0, 1, 1, 1] and names is None
    plain_X, plain_y = load_data(tmp_path / "images")  # the same arrays, in the same order
    np.testing.assert_array_equal(plain_X, X)
    assert int(X[3, 0, 0]) == 80  # dogs/0.png
    (tmp_path / "t.tsv").write_text("id\tx\ty\tc\na\t1\t2\tp\nb\t3\t4\tq\n")
    X, y, ids, names = load_data_with_ids(tmp_path / "t.tsv", label_column="c", id_column="id")
    assert ids == ["a", "b"] and names == ["x", "y"] and X.tolist() == [[1, 2], [3, 4]]
    X, y, ids, names = load_data_with_ids(tmp_path / "t.tsv", label_column=3, id_column=0)
    assert ids == ["a", "b"] and y.tolist() == [0, 1]
    with pytest.raises(ValueError, match="the same column"):
        load_data_with_ids(tmp_path / "t.tsv", label_column="c", id_column="c")
    with pytest.raises(ValueError, match="no column named 'nope'"):
        load_data_with_ids(tmp_path / "t.tsv", id_column="nope")
    with pytest.raises(ValueError, match="only"):
        load_data_with_ids("digits", id_column="id")
    assert load_data_with_ids("digits").ids is None


# ---------------------------------------------------------------- sample
def test_sample_csv_has_the_tables_column_names(table_run, tmp_path, capsys):
    _, run = table_run
    out = tmp_path / "s.csv"
    assert main(["sample", str(run), "-n", "7", "--cluster", "2", "--out", str(out)]) == 0
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["width", "height", "mass", "cluster"]
    assert len(rows) == 8 and {r[-1] for r in rows[1:]} == {"2"}
    assert all(np.isfinite([float(v) for v in r[:-1]]).all() for r in rows[1:])
    assert "wrote 7 samples" in capsys.readouterr().out
    # a model file away from its run folder does not know the names
    (tmp_path / "alone").mkdir()
    model = tmp_path / "alone" / "model.safetensors"
    model.write_bytes((run / "model.safetensors").read_bytes())
    assert main(["sample", str(model), "-n", "3", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "feature_0,feature_1,feature_2,cluster"


def test_sample_png_draws_every_sample(tmp_path):
    from ganclust.plots import image_grid_figure, save_image_grid

    images = np.random.RandomState(0).randint(1, 250, size=(33, 8, 8)).astype(np.uint8)
    clusters = np.array([0] * 25 + [2] * 8)
    save_image_grid(images, clusters, tmp_path / "g.png", n_clusters=3)
    with Image.open(tmp_path / "g.png") as im:
        # 10 to a row: cluster 0 wraps onto 3 rows, cluster 2 takes one; 0.8 in each at 100 dpi
        assert im.size == (800, round((4 * 0.8 + 0.6) * 100))
    grid = np.asarray(image_grid_figure(images, clusters, 3).axes[0].images[0].get_array())
    cells = grid[:, 1:].reshape(4, 9, 10, 9)[:, 1:, :, :8]  # rows x H x columns x W
    drawn = (cells < 1).any(axis=(1, 3))
    assert drawn.sum() == 33
    assert drawn.sum(axis=1).tolist() == [10, 10, 5, 8]
