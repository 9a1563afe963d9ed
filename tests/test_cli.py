"""The command line, run in-process through ``ganclust.cli.main``."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import make_blobs

import ganclust
import ganclust._params
import ganclust.plots
from ganclust.cli import main

QUICK = ["--max-epochs", "1", "--quiet", "--option", "width=8", "--device", "cpu"]
QUICK += ["--random-state", "0"]
MARKER = ".ganclust-run"
RUN_FILES = {
    MARKER,
    "model.safetensors",
    "labels.csv",
    "history.csv",
    "metrics.json",
    "samples.png",
    "run.json",
}


def _png(path):
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        return image.format, image.size


def _labels_csv(path, labelled=None):
    """The clusters of a labels.csv (id, cluster, probability and, with labels, label)."""
    return _label_rows(path.read_text(), labelled)


def _label_rows(text, labelled=None):
    rows = list(csv.reader(text.splitlines()))
    header = ["id", "cluster", "probability"]
    assert rows[0] in (header, [*header, "label"]), rows[0]
    if labelled is not None:
        assert (rows[0][-1] == "label") == labelled
    assert [int(row[0]) for row in rows[1:]] == list(range(len(rows) - 1))
    probability = np.array([float(row[2]) for row in rows[1:]])
    # the probability of the cluster given: the argmax, so at least 1/K
    assert np.all((probability > 0) & (probability <= 1))
    return np.array([int(row[1]) for row in rows[1:]])


def _fails(capsys, argv, command):
    """Run argv, expecting exit status 2 and one line on stderr without a traceback."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"ganclust {command}: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """`ganclust fit` with no --data: two epochs on the bundled digits (with narrower networks
    or fewer epochs, some run collapses and the restarts triple the time)."""
    base = tmp_path_factory.mktemp("digits")
    argv = ["--max-epochs", "2", "--quiet", "--option", "width=16", "--random-state", "0"]
    assert main(["fit", *argv, "--device", "cpu", "--out", str(base / "run")]) == 0
    return base / "run"


@pytest.fixture
def image_files(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(30, 8, 8)).astype(np.uint8)
    y = rng.randint(0, 3, size=30)
    np.savez(tmp_path / "images.npz", X=X, y=y)
    np.savez(tmp_path / "unlabelled.npz", X=X)
    np.save(tmp_path / "images.npy", X)
    return X, y


@pytest.fixture
def vector_files(tmp_path):
    X, y = make_blobs(40, n_features=3, centers=3, random_state=0)
    np.savez(tmp_path / "vectors.npz", X=X, y=y)
    rows = ["f1,f2,f3,label"] + [f"{a},{b},{c},{t}" for (a, b, c), t in zip(X, y, strict=True)]
    (tmp_path / "vectors.csv").write_text("\n".join(rows) + "\n")
    return X, y


def _entries(folder):
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------- fit
@pytest.mark.slow  # the digits_run fixture: about 25 s (t-SNE on 1797 digits, twice)
def test_fit_on_digits_by_default(digits_run):
    assert set(_entries(digits_run)) == RUN_FILES
    assert _entries(digits_run.parent) == ["run"]  # no temporary folder left beside it
    labels = _labels_csv(digits_run / "labels.csv", labelled=True)
    assert len(labels) == 1797
    assert labels.min() >= 0 and labels.max() < 10
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert {"acc", "nmi", "ari", "purity"} <= set(metrics)
    assert 0 <= metrics["acc"] <= metrics["purity"] <= 1
    # 10 columns of 0.8 in at 100 dpi; 10 rows of 0.8 in plus 0.6 in for the title
    assert _png(digits_run / "samples.png") == ("PNG", (800, 860))
    run = json.loads((digits_run / "run.json").read_text())
    assert run["data"] == "digits"
    assert run["method"] == "clustergan"
    assert run["n_samples"] == 1797 and run["sample_shape"] == [8, 8]
    assert run["params"]["max_epochs"] == 2 and run["params"]["options"] == {"width": 16}
    assert run["params"]["random_state"] == 0
    assert run["settings"]["seed"] == 0 and run["settings"]["nets"]["width"] == 16
    assert run["settings"]["max_epochs"] == 2 and run["settings"]["read_out_neighbors"] == 5
    assert run["torch_threads"] == torch.get_num_threads()
    assert run["epochs"] == 3  # two epochs, then one of refinement
    assert run["metrics"] == metrics
    model = ganclust.load(digits_run / "model.safetensors")
    assert isinstance(model, ganclust.ClusterGAN)
    assert run["init_scores"] == model.init_scores_.tolist() and run["init_collapsed"] == [False]
    np.testing.assert_array_equal(model.labels_, labels)
    assert run["settings"] == model.settings_.to_json()
    assert run["preprocessing"]["scaling"] == "range"  # images: scaled from their range
    # history.csv: one row per epoch, its phase, the losses and the occupancy of each cluster
    with open(digits_run / "history.csv") as handle:
        history = list(csv.DictReader(handle))
    assert [row["epoch"] for row in history] == ["1", "2", "3"]
    assert [row["phase"] for row in history] == ["train", "train", "refine 1"]
    assert {"d_adv", "g_adv", "inversion"} <= set(history[0])
    occupancy = [float(history[0][f"occupancy_{k}"]) for k in range(10)]
    assert sum(occupancy) == pytest.approx(1.0, abs=1e-3)
    assert (digits_run / MARKER).is_file()
    # ganclust.load reads a run folder's model
    np.testing.assert_array_equal(ganclust.load(digits_run).labels_, labels)


@pytest.mark.parametrize("method", ["clustergan", "infogan", "catgan"])
def test_fit_each_method_on_an_npz_with_labels(tmp_path, vector_files, method):
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "vectors.npz"), "--n-clusters", "3", "--out", str(out)]
    assert main([*argv, "--method", method, *QUICK]) == 0
    assert set(_entries(out)) == RUN_FILES
    assert len(_labels_csv(out / "labels.csv")) == 40
    assert json.loads((out / "metrics.json").read_text())["n_samples"] == 40
    assert json.loads((out / "run.json").read_text())["method"] == method
    assert type(ganclust.load(out / "model.safetensors")).__name__.lower() == method


@pytest.mark.parametrize(
    "method",
    [
        "clustergan",
        "infogan",
        "catgan",
    ],
)
def test_fit_each_method_on_images(tmp_path, image_files, method):
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "images.npz"), "--n-clusters", "3", "--out", str(out)]
    assert main([*argv, "--method", method, *QUICK]) == 0
    assert set(_entries(out)) == RUN_FILES
    assert len(_labels_csv(out / "labels.csv")) == 30
    assert json.loads((out / "run.json").read_text())["method"] == method
    kind, (width, height) = _png(out / "samples.png")
    assert (kind, width) == ("PNG", 800)
    # one 80-px row per cluster the generator produced (all 3 for the conditional methods)
    assert height in ((140, 220, 300) if method == "catgan" else (300,))


@pytest.mark.parametrize("name", ["unlabelled.npz", "images.npy"])
def test_fit_without_labels_writes_no_metrics(tmp_path, image_files, name):
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / name), "--n-clusters", "3", "--out", str(out)]
    assert main([*argv, *QUICK]) == 0
    assert set(_entries(out)) == RUN_FILES - {"metrics.json"}
    assert json.loads((out / "run.json").read_text())["metrics"] is None


@pytest.mark.parametrize("column", ["label", "3", "-1"])
def test_fit_csv_with_label_column(tmp_path, vector_files, column):
    X, y = vector_files
    out = tmp_path / "run"
    data = str(tmp_path / "vectors.csv")
    argv = ["fit", "--data", data, "--label-column", column, "--n-clusters", "3"]
    assert main([*argv, "--out", str(out), *QUICK]) == 0
    assert set(_entries(out)) == RUN_FILES
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_samples"] == 40
    run = json.loads((out / "run.json").read_text())
    assert run["sample_shape"] == [3]  # label dropped
    # three blobs in one unit: one shared scale, which run.json records
    assert run["preprocessing"] == {"input_shape": [3], "input_dtype": "float", "scaling": "shared"}
    # vectors get a scatter plot (6 x 5 inches at 100 dpi) rather than a grid of images
    assert _png(out / "samples.png") == ("PNG", (600, 500))


def test_fit_prints_a_summary_unless_quiet(tmp_path, vector_files, capsys):
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "vectors.npz"), "--n-clusters", "3"]
    argv += ["--out", str(out), "--max-epochs", "1", "--option", "width=8", "--verbose", "0"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "ACC" in printed and str(out) in printed


def test_fit_overwrite_replaces_a_run_folder(tmp_path, image_files):
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "images.npz"), "--n-clusters", "3", "--out", str(out)]
    assert main([*argv, *QUICK]) == 0
    first = (out / "model.safetensors").read_bytes()
    (out / "labels.csv").write_text("stale")
    assert main([*argv, *QUICK[:-1], "1", "--overwrite"]) == 0  # --random-state 1
    assert set(_entries(out)) == RUN_FILES
    assert (out / "model.safetensors").read_bytes() != first
    assert (out / "labels.csv").read_text() != "stale"
    assert json.loads((out / "run.json").read_text())["settings"]["seed"] == 1
    assert _entries(tmp_path) == ["images.npy", "images.npz", "run", "unlabelled.npz"]


@pytest.mark.parametrize(
    "contents, match",
    [
        ({"stale.txt": "old run"}, "is not a ganclust run folder"),
        ({"labels.csv": "1,2"}, "is not a ganclust run folder"),
        ({MARKER: "", "labels.csv": "1,2", "notes.txt": "mine"}, "did not write (notes.txt)"),
    ],
    ids=["foreign", "run-files-without-marker", "marker-and-foreign-file"],
)
def test_fit_overwrite_refuses_a_folder_ganclust_did_not_write(
    tmp_path, capsys, image_files, contents, match
):
    out = tmp_path / "run"
    out.mkdir()
    for name, text in contents.items():
        (out / name).write_text(text)
    before = _entries(tmp_path)
    argv = ["fit", "--data", str(tmp_path / "images.npz"), "--n-clusters", "3", "--out", str(out)]
    line = _fails(capsys, [*argv, *QUICK, "--overwrite"], "fit")
    assert match in line and "nothing was touched" in line
    assert sorted(_entries(out)) == sorted(contents)
    assert all((out / name).read_text() == text for name, text in contents.items())
    assert _entries(tmp_path) == before


@pytest.mark.parametrize("out", [".", "..", "{cwd}"])
def test_fit_refuses_the_current_folder(tmp_path, capsys, monkeypatch, out):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "mine.txt").write_text("keep")
    argv = ["fit", "--out", out.format(cwd=work), "--overwrite", *QUICK]
    assert "is the current folder or one above it" in _fails(capsys, argv, "fit")
    assert _entries(work) == ["mine.txt"]


# ---------------------------------------------------------------- predict, sample, evaluate
def test_predict_prints_csv(digits_run, capsys):
    capsys.readouterr()
    assert main(["predict", str(digits_run / "model.safetensors"), "--data", "digits"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == "id,cluster,probability,label"
    # the same columns as the run folder's labels.csv, and the same clusters
    predicted = _label_rows(printed, labelled=True)
    assert len(predicted) == 1797
    np.testing.assert_array_equal(predicted, _labels_csv(digits_run / "labels.csv"))
    assert printed == (digits_run / "labels.csv").read_text()


def test_predict_writes_out(digits_run, tmp_path):
    out = tmp_path / "pred.csv"
    # a run folder works as well as the model file
    assert main(["predict", str(digits_run), "--data", "digits", "--out", str(out)]) == 0
    assert len(_labels_csv(out)) == 1797


def test_sample_npy_and_png(digits_run, tmp_path, capsys):
    out = tmp_path / "x.npy"
    argv = ["sample", str(digits_run), "-n", "5", "--cluster", "1", "--out", str(out)]
    assert main(argv) == 0
    samples = np.load(out)
    assert samples.shape == (5, 8, 8)
    assert samples.dtype == np.uint8  # the CLI loads digits as uint8 images
    assert "cluster(s) [1]" in capsys.readouterr().out
    png = tmp_path / "x.png"
    argv = ["sample", str(digits_run), "-n", "5", "--cluster", "1", "--out", str(png)]
    assert main(argv) == 0
    assert _png(png)[0] == "PNG"
    assert _entries(tmp_path) == ["x.npy", "x.png"]


def test_sample_png_of_a_vector_model(tmp_path, vector_files):
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "vectors.npz"), "--n-clusters", "3"]
    assert main([*argv, "--out", str(out), *QUICK]) == 0
    argv = ["sample", str(out), "-n", "5", "--out", str(tmp_path / "x.png")]
    assert main(argv) == 0


def test_evaluate_prints_json(digits_run, tmp_path, capsys):
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    np.savez(tmp_path / "X.npz", X=X, y=digits.target)
    capsys.readouterr()
    assert main(["evaluate", str(digits_run), "--data", str(tmp_path / "X.npz")]) == 0
    scores = json.loads(capsys.readouterr().out)
    expected = json.loads((digits_run / "metrics.json").read_text())
    assert scores["acc"] == pytest.approx(expected["acc"])
    assert set(scores) >= {"acc", "nmi", "ari", "purity"}


# ---------------------------------------------------------------- failures: exit 2, nothing left
@pytest.mark.parametrize(
    "case, extra, match",
    [
        ("missing data file", ["--data", "{tmp}/nope.npy"], "neither a known dataset"),
        ("empty csv", ["--data", "{tmp}/empty.csv"], "empty"),
        ("non-numeric csv", ["--data", "{tmp}/words.csv"], "non-numeric"),
        ("nan in data", ["--data", "{tmp}/nan.npy"], "NaN"),
        ("one cluster", ["--data", "{tmp}/ok.npy", "--n-clusters", "1"], "n_clusters"),
        ("unknown backbone", ["--data", "{tmp}/ok.npy", "--backbone", "resnet"], "backbone"),
        (
            "loss with catgan",
            ["--data", "{tmp}/ok.npy", "--method", "catgan", "--option", "loss=bce"],
            "unknown option(s) 'loss' for catgan",
        ),
        (
            "infogan flag with clustergan",
            ["--data", "{tmp}/ok.npy", "--n-continuous", "2"],
            "--n-continuous does not apply to --method clustergan",
        ),
        ("unknown option", ["--data", "{tmp}/ok.npy", "--option", "nope=1"], "nope=1"),
        ("option without =", ["--data", "{tmp}/ok.npy", "--option", "refine"], "KEY=VALUE"),
        (
            "option of the wrong kind",
            ["--data", "{tmp}/ok.npy", "--option", "refine=two"],
            "--option refine: cannot read 'two' as int",
        ),
        ("bad option value", ["--data", "{tmp}/ok.npy", "--option", "ema=1"], "options['ema']"),
        ("bad image size", ["--data", "{tmp}/ok.npy", "--image-size", "big"], "--image-size"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_fit_failures(tmp_path, capsys, case, extra, match):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "words.csv").write_text("a,b\nx,y\nz,w\n")
    bad = np.random.RandomState(0).rand(20, 3)
    bad[3, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "ok.npy", np.random.RandomState(0).rand(20, 3))
    before = _entries(tmp_path)
    argv = ["fit", *[a.format(tmp=tmp_path) for a in extra], "--out", str(tmp_path / "run")]
    line = _fails(capsys, [*argv, *QUICK], "fit")
    assert match in line
    assert _entries(tmp_path) == before  # no run folder, no hidden temporary folder


def test_fit_refuses_an_existing_folder(tmp_path, capsys, image_files):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    before = _entries(tmp_path)
    argv = ["fit", "--data", str(tmp_path / "images.npz"), "--n-clusters", "3", "--out", str(out)]
    line = _fails(capsys, [*argv, *QUICK], "fit")
    assert "already exists" in line and "--overwrite" in line
    assert _entries(out) == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "precious"
    assert _entries(tmp_path) == before


def _break_the_figure(monkeypatch):
    def broken_figure(*args, **kwargs):
        raise RuntimeError("cannot draw")

    monkeypatch.setattr(ganclust.plots, "save_samples_figure", broken_figure)


def test_fit_failing_while_writing_leaves_no_run_folder(tmp_path, capsys, image_files, monkeypatch):
    _break_the_figure(monkeypatch)
    before = _entries(tmp_path)
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "images.npz"), "--n-clusters", "3", "--out", str(out)]
    assert "cannot draw" in _fails(capsys, [*argv, *QUICK], "fit")
    # no run folder and no temporary one (a checkpoint is the next test's matter)
    left = [name for name in _entries(tmp_path) if not name.startswith(".ganclust-ckpt.")]
    assert left == before
    # with --overwrite, the existing run folder survives the failed run
    out.mkdir()
    (out / MARKER).write_text("written by ganclust fit\n")
    (out / "labels.csv").write_text("precious")
    assert "cannot draw" in _fails(capsys, [*argv, *QUICK, "--overwrite"], "fit")
    assert _entries(out) == [MARKER, "labels.csv"]
    assert (out / "labels.csv").read_text() == "precious"
    left = [name for name in _entries(tmp_path) if not name.startswith(".ganclust-ckpt.")]
    assert left == sorted([*before, "run"])


def test_fit_failing_while_writing_keeps_the_trained_fit_to_resume(
    tmp_path, capsys, image_files, monkeypatch
):
    """Nothing is lost: the trained fit stays in its checkpoint, and --resume finishes it."""
    with monkeypatch.context() as broken:
        _break_the_figure(broken)
        before = _entries(tmp_path)
        argv = ["fit", "--data", str(tmp_path / "images.npz"), "--n-clusters", "3"]
        line = _fails(capsys, [*argv, "--out", str(tmp_path / "run"), *QUICK], "fit")
    assert "cannot draw" in line and f"ganclust fit --resume {tmp_path / 'run'}" in line
    assert _entries(tmp_path) == sorted([*before, ".ganclust-ckpt.run"])
    phases = []
    monkeypatch.setattr("ganclust._fit.train", lambda *a, **k: phases.append("trained"))
    assert main(["fit", "--resume", str(tmp_path / "run"), "--quiet"]) == 0
    assert phases == [] and (tmp_path / "run" / "samples.png").is_file()
    assert _entries(tmp_path) == sorted([*before, "run"])


def test_predict_with_a_corrupt_model(tmp_path, capsys):
    model = tmp_path / "model.safetensors"
    model.write_bytes(np.random.RandomState(0).bytes(3000))
    line = _fails(capsys, ["predict", str(model), "--data", "digits"], "predict")
    assert "not a safetensors file or corrupt" in line
    line = _fails(capsys, ["predict", str(tmp_path / "none"), "--data", "digits"], "predict")
    assert "not found" in line


def test_predict_with_data_of_the_wrong_shape(digits_run, tmp_path, capsys):
    np.save(tmp_path / "wide.npy", np.zeros((4, 9, 9)))
    argv = ["predict", str(digits_run), "--data", str(tmp_path / "wide.npy")]
    assert "shape" in _fails(capsys, argv, "predict")


def test_sample_failures(digits_run, tmp_path, capsys):
    for cluster in ("10", "-1"):
        argv = ["sample", str(digits_run), "--cluster", cluster, "--out", str(tmp_path / "x.npy")]
        assert "cluster must be an integer in 0..9" in _fails(capsys, argv, "sample")
    argv = ["sample", str(digits_run), "--out", str(tmp_path / "x.txt")]
    assert "--out must end in .npy, .png or .csv; got 'x.txt'" in _fails(capsys, argv, "sample")
    assert _entries(tmp_path) == []


def test_evaluate_without_labels(digits_run, tmp_path, capsys):
    np.save(tmp_path / "digits.npy", np.zeros((3, 8, 8), dtype=np.uint8))
    argv = ["evaluate", str(digits_run), "--data", str(tmp_path / "digits.npy")]
    assert "no labels" in _fails(capsys, argv, "evaluate")


# ---------------------------------------------------------------- flags and help
def _argparse_fails(capsys, argv):
    """Run argv, expecting argparse's exit 2: one line, then where to look."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[1] in ("(see ganclust fit --help)", "(see ganclust --help)"), lines
    return lines


def test_a_misspelt_flag_gets_a_suggestion(capsys):
    line, _ = _argparse_fails(capsys, ["fit", "--max-epoch", "3"])
    assert "error: unrecognized arguments: --max-epoch" in line
    assert "(did you mean --max-epochs?)" in line
    line, _ = _argparse_fails(capsys, ["fit", "--n-cluster=3"])
    assert "(did you mean --n-clusters?)" in line


def test_a_misspelt_flag_points_at_the_subcommands_help(capsys):
    line, hint = _argparse_fails(capsys, ["fit", "--max-epoch", "3"])
    assert line.startswith("ganclust fit: error: ")
    assert hint == "(see ganclust fit --help)"


def test_a_flag_value_of_the_wrong_type(capsys):
    for argv, message in [
        (["--adversarial", "maybe"], "argument --adversarial: invalid bool value: 'maybe'"),
        (["--n-clusters", "three"], "argument --n-clusters: invalid int value: 'three'"),
        (["--max-epochs", "1.5"], "argument --max-epochs: invalid int value: '1.5'"),
    ]:
        line, hint = _argparse_fails(capsys, ["fit", *argv])
        assert line == f"ganclust fit: error: {message}"
        assert hint == "(see ganclust fit --help)"


def _help(capsys, argv):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    return capsys.readouterr().out


HIDDEN = ["--latent-dim", "--sigma", "--beta-n", "--beta-c", "--n-continuous", "--info-weight"]
HIDDEN += ["--verbose", "--split", "--mirror", "--image-size", "--no-verify", "--option"]
SHOWN = ["--n-clusters", "--max-epochs", "--batch-size", "--learning-rate", "--n-init"]
SHOWN += ["--backbone", "--adversarial", "--recipe", "--device", "--random-state", "--data"]
SHOWN += ["--method", "--out", "--overwrite", "--quiet", "--help-all"]


def test_fit_help_shows_the_common_flags_and_help_all_every_flag(capsys):
    short = _help(capsys, ["fit", "--help"])
    for flag in SHOWN:
        assert flag in short
    for flag in HIDDEN:
        assert flag not in short, flag
    full = _help(capsys, ["fit", "--help-all"])
    for flag in SHOWN + HIDDEN:
        assert flag in full, flag
    # every research option is listed with --option, and the automatic values are explained
    for option in ganclust._params.OPTIONS:
        assert option in full, option
    assert "auto (about 1000 steps, between 6 and 100 epochs)" in " ".join(short.split())


# ---------------------------------------------------------------- python -m ganclust
def test_python_m_ganclust_help():
    result = subprocess.run(
        [sys.executable, "-m", "ganclust", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for command in ("fit", "predict", "sample", "evaluate", "datasets"):
        assert command in result.stdout
