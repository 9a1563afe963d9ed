"""``report.html`` (#18): one self-contained page a person looks at, checked in a real browser.

``ganclust fit --report`` and ``ganclust report RUN`` write it. The browser test opens it in
headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it when missing), takes a
screenshot and reads the rendered DOM; without Chromium it skips, saying why.
"""

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits, make_blobs

import ganclust
from ganclust.cli import main
from ganclust.report import SECTIONS, build_report

TINY = ["--max-epochs", "2", "--option", "width=8", "--option", "refine=0"]
TINY += ["--option", "init=kmeans", "--device", "cpu", "--random-state", "0", "--quiet"]
# a report is thumbnails and sampled points, never every sample: it opens at once
MAX_REPORT_BYTES = 3 * 2**20


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A tiny fit, with --report, on a folder of PNGs in class subfolders (digits 0, 1 and 6)."""
    base = tmp_path_factory.mktemp("report")
    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)
    for digit in (0, 1, 6):
        folder = base / "digits" / f"class_{digit}"
        folder.mkdir(parents=True)
        for i in np.flatnonzero(digits.target == digit)[:30]:
            Image.fromarray(images[i]).save(folder / f"img_{i:04d}.png")
    out = base / "run"
    argv = ["fit", "--data", str(base / "digits"), "--n-clusters", "3", "--report"]
    assert main([*argv, "--out", str(out), *TINY]) == 0
    return base, out


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory):
    """A tiny fit, with --report, on a CSV with a header and a label column."""
    base = tmp_path_factory.mktemp("vectors")
    X, y = make_blobs(90, n_features=4, centers=3, cluster_std=0.5, random_state=0)
    lines = ["sepal,petal,stem,leaf,species"]
    lines += [",".join(f"{v:.4f}" for v in x) + f",s{t}" for x, t in zip(X, y, strict=True)]
    (base / "plants.csv").write_text("\n".join(lines) + "\n")
    out = base / "run"
    argv = ["fit", "--data", str(base / "plants.csv"), "--label-column", "species"]
    assert main([*argv, "--n-clusters", "3", "--report", "--out", str(out), *TINY]) == 0
    return base, out


def _sections(text):
    return re.findall(r'<section id="([a-z]+)">', text)


def _check_self_contained(text):
    assert len(text.encode()) < MAX_REPORT_BYTES
    assert "<script" not in text.lower()
    # every resource is inlined: no link or source outside the page
    outside = re.findall(r'(?:src|href)="(?!data:image/png;base64,|#)([^"]*)"', text)
    assert outside == []
    assert "http://" not in text and "https://" not in text
    assert _sections(text) == list(SECTIONS)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    for data in images[:5] + images[-5:]:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            image.verify()
    return images


# ---------------------------------------------------------------- the page
def test_fit_report_writes_a_self_contained_page(image_run):
    _, run = image_run
    text = (run / "report.html").read_text()
    images = _check_self_contained(text)
    # three clusters: 8 typical + 8 doubtful + 8 generated thumbnails at most, a map, the curves
    assert 10 <= len(images) <= 3 * 24 + 2
    assert "most typical" in text and "most doubtful" in text and "generated" in text


def test_the_report_holds_the_data_settings_metrics_and_clusters(image_run):
    _, run = image_run
    text = (run / "report.html").read_text()
    record = json.loads((run / "run.json").read_text())
    assert record["command"][:2] == ["ganclust", "fit"]
    assert "torch threads" in text and "nets.backbone" in text  # the resolved settings
    assert f"{record['metrics']['acc']:.4f}" in text
    assert 'class="confusion"' in text and "majority label" in text
    for k, size in enumerate(record["cluster_sizes"]):
        assert f"cluster {k}: {size} samples" in text
    # the members are named by their files, relative to the folder
    assert re.search(r"class_[016]/img_\d{4}\.png", text)
    assert 'id="cluster-2"' in text


def test_labels_csv_names_each_image_by_its_file(image_run):
    base, run = image_run
    rows = (run / "labels.csv").read_text().splitlines()
    assert rows[0] == "id,cluster,probability,label"
    folder = base / "digits"
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))
    assert [row.split(",")[0] for row in rows[1:]] == files


def test_report_command_loads_the_data_again_from_anywhere(
    image_run, tmp_path, monkeypatch, capsys
):
    _, run = image_run
    monkeypatch.chdir(tmp_path)  # run.json records the data's absolute path
    out = tmp_path / "again.html"
    capsys.readouterr()
    assert main(["report", str(run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    again = out.read_text()
    _check_self_contained(again)
    assert again == (run / "report.html").read_text()  # the same page as fit --report wrote


def test_report_refuses_data_that_is_not_the_runs(image_run, tmp_path, capsys):
    _, run = image_run
    np.save(tmp_path / "other.npy", np.zeros((7, 8, 8), dtype=np.uint8))
    capsys.readouterr()
    assert main(["report", str(run), "--data", str(tmp_path / "other.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has 7 samples but" in err[0] and "--data" in err[0]
    assert main(["report", str(tmp_path)]) == 2
    assert "no run.json" in capsys.readouterr().err


def test_warnings_name_collapse_and_rollbacks(image_run):
    base, run = image_run
    model = ganclust.load(run)
    model.history_ = [
        *model.history_,
        {"epoch": 3, "rollback": "loss is nan", "learning_rate": 5e-4, "occupancy": None},
    ]
    X, y = ganclust.datasets.load_data(base / "digits")
    labels = np.zeros(len(X), dtype=np.int64)
    labels[:2] = 1  # cluster 1 holds 2 samples, cluster 2 none: both collapsed
    text = build_report(model, {"method": "clustergan"}, X, y, labels, np.ones(len(X)))
    warnings = text.split('<section id="warnings">')[1].split("</section>")[0]
    assert "collapse: cluster(s) 1 (2 samples), 2 (0 samples)" in warnings
    assert "diverged 1 time(s) and was rolled back (epochs 3)" in warnings
    assert _sections(text) == list(SECTIONS)


def test_a_vector_report_shows_feature_profiles(vector_run):
    _, run = vector_run
    text = (run / "report.html").read_text()
    _check_self_contained(text)
    assert 'class="profile"' in text and "cluster mean ± std" in text
    for name in ("sepal", "petal", "stem", "leaf"):
        assert f"<td>{name}</td>" in text
    assert "generated mean ± std" in text
    assert 'class="thumbs"' not in text  # profiles, not thumbnails
    assert "<td>scaling</td><td>shared</td>" in text  # how the vectors were scaled


# ---------------------------------------------------------------- sample and the plot helpers
def test_sample_png_holds_every_sample(image_run, tmp_path, capsys):
    _, run = image_run
    out = tmp_path / "x.png"
    assert main(["sample", str(run), "-n", "25", "--cluster", "1", "--out", str(out)]) == 0
    assert "wrote 25 samples" in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.size == (800, 300)  # 25 samples, 10 to a row: 3 rows of 80 px and a title


def test_plot_helpers_return_figures_without_pyplot(image_run):
    base, run = image_run
    code = f"""
import sys, matplotlib
matplotlib.use("svg")
import ganclust
from ganclust.datasets import load_data
assert "matplotlib.pyplot" not in sys.modules
model = ganclust.load({str(run)!r})
X, _ = load_data({str(base / "digits")!r})
figures = [ganclust.plot_clusters(model, X, max_points=50), ganclust.plot_samples(model, 4)]
print([type(f).__module__ + "." + type(f).__name__ for f in figures])
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
print(len(figures[0].axes[0].collections[0].get_offsets()))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "['matplotlib.figure.Figure', 'matplotlib.figure.Figure']"
    assert lines[1] == "svg False"  # the caller's backend, and no pyplot state
    assert lines[2] == "50"


def test_import_ganclust_imports_no_matplotlib_or_torch():
    code = "import sys, ganclust; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


# ---------------------------------------------------------------- in a real browser
def _chromium():
    for name in (os.environ.get("GANCLUST_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _chromium_args(profile):
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


def test_the_report_renders_in_chromium(image_run, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium: install Debian's `chromium` (`.ci/run` does, as root)")
    _, run = image_run
    page = (run / "report.html").resolve().as_uri()
    shot = tmp_path / "report.png"
    command = [browser, *_chromium_args(tmp_path / "profile"), f"--screenshot={shot}"]
    done = subprocess.run(
        [*command, "--window-size=1280,2000", page], capture_output=True, timeout=180
    )
    assert shot.is_file(), done.stderr.decode(errors="replace")[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        pixels = np.asarray(image.convert("RGB"))
    colours, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    assert len(colours) > 200, "the screenshot is (nearly) blank"
    assert counts.max() / counts.sum() < 0.8, "one colour fills the screenshot"
    assert (pixels >= 250).all(axis=2).mean() < 0.9, "the screenshot is (nearly) all white"
    assert (pixels < 100).all(axis=2).mean() > 0.005, "no text or picture on the screenshot"
    assert tuple(pixels[10, 10]) == (31, 59, 92)  # the page's header band: the style applied
    dom = subprocess.run(
        [browser, *_chromium_args(tmp_path / "profile2"), "--dump-dom", page],
        capture_output=True,
        timeout=180,
    ).stdout.decode()
    assert _sections(dom) == list(SECTIONS)
    assert dom.count("<img") >= 10 and "Confusion matrix" in dom
