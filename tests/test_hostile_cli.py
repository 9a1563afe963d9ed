"""The command line under hostile input and run-folder races.

Every error exits with status 2 and one line on stderr, no traceback, and leaves no run folder,
temporary folder or created parent behind; nothing ganclust did not write is touched. Most cases
run in-process through ``ganclust.cli.main``; a few run a real process.
"""

import contextlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_blobs

import ganclust.datasets  # noqa: F401  (imported before any test drops privileges)
import ganclust.runs
from ganclust import ClusterGAN
from ganclust.cli import main

QUICK = ["--max-epochs", "1", "--quiet", "--batch-size", "32", "--latent-dim", "4"]
QUICK += ["--option", "width=8", "--option", "init=kmeans", "--option", "refine=0"]
QUICK += ["--device", "cpu", "--random-state", "0", "--n-clusters", "3"]


def _fails(capsys, argv, status=2, command="fit"):
    """Run ``argv`` in-process; expect ``status`` and one stderr line without a traceback."""
    capsys.readouterr()
    assert main(argv) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    if status == 2:
        assert lines[0].startswith(f"ganclust {command}: error: "), lines[0]
    return lines[0]


def _tree(folder):
    """Every path under ``folder`` with the bytes of each file (None for a folder)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    X, y = make_blobs(40, n_features=5, centers=3, random_state=0)
    np.savez(base / "vectors.npz", X=X, y=y)
    return base / "vectors.npz"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("run") / "run"
    assert main(["fit", "--data", str(data), *QUICK, "--out", str(out)]) == 0
    return out


def _fit_raises(monkeypatch, error):
    def fit(self, X, y=None, **fit_params):
        raise error

    monkeypatch.setattr(ClusterGAN, "fit", fit)


@pytest.fixture
def no_training(monkeypatch):
    """Training fails the test: the refusals below must come before it."""
    _fit_raises(monkeypatch, AssertionError("training started though the destination is refused"))


@pytest.fixture
def stop_training(monkeypatch):
    """Training stops at once with a ValueError (status 2), after the destination checks."""
    _fit_raises(monkeypatch, ValueError("stopped by the test"))


def _png_bomb(path):
    """A PNG whose header declares 20000 x 10000 pixels, past Pillow's bomb guard."""

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 20000, 10000, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 20001))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b""))


def _bad_data(tmp_path, kind, data):
    if kind == "image-bomb":
        folder = tmp_path / "pictures"
        folder.mkdir()
        for i in range(3):
            _png_bomb(folder / f"{i}.png")
        return folder
    path = tmp_path / f"{kind}.npz"
    content = {"corrupt-npz": b"PK\x03\x04" + bytes(range(256)) * 2, "empty-npz": b""}
    content["truncated-npz"] = data.read_bytes()[:300]
    if kind in content:  # "missing" is never written
        path.write_bytes(content[kind])
    return path


@pytest.mark.parametrize(
    "kind", ["corrupt-npz", "truncated-npz", "empty-npz", "missing", "image-bomb"]
)
def test_unreadable_data(tmp_path, capsys, data, no_training, kind):
    bad = _bad_data(tmp_path, kind, data)
    out = tmp_path / "out"
    before = _tree(tmp_path)
    line = _fails(capsys, ["fit", "--data", str(bad), *QUICK, "--out", str(out)])
    assert bad.name in line
    if kind == "image-bomb":
        assert any(word in line for word in ("pixels", "too large", "bomb")), line
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("kind", ["text-file", "empty-file", "folder", "truncated-model"])
def test_predict_with_something_that_is_not_a_model(tmp_path, capsys, data, run_folder, kind):
    path = tmp_path / "model.safetensors"
    if kind == "text-file":
        path.write_text("id,cluster\n0,1\n")
    elif kind == "empty-file":
        path.write_bytes(b"")
    elif kind == "folder":
        path = tmp_path / "not-a-run"
        path.mkdir()
    else:
        path.write_bytes((run_folder / "model.safetensors").read_bytes()[:500])
    line = _fails(capsys, ["predict", str(path), "--data", str(data)], command="predict")
    assert str(path) in line


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_other_commands_with_something_that_is_not_a_model(tmp_path, capsys, data, command):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    extra = ["--out", str(tmp_path / "s.npy")] if command == "sample" else ["--data", str(data)]
    line = _fails(capsys, [command, str(path), *extra], command=command)
    assert "not a safetensors file" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_predict_out_under_a_file(tmp_path, capsys, data, run_folder):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    argv = ["predict", str(run_folder), "--data", str(data), "--out", str(blocker / "l.csv")]
    _fails(capsys, argv, command="predict")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


# ------------------------------------------------------------------ the destination
@contextlib.contextmanager
def _unprivileged():
    """Run the block as a user that the read-only folder binds (root writes anywhere)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def read_only_folder(data):
    """A folder no one but root may write, its parents traversable by the unprivileged user."""
    base = Path(tempfile.mkdtemp(prefix="ganclust-ro-"))
    os.chmod(base, 0o755)
    shutil.copy(data, base / "vectors.npz")
    os.chmod(base / "vectors.npz", 0o644)
    folder = base / "locked"
    folder.mkdir()
    os.chmod(folder, 0o555)
    yield base, folder
    os.chmod(folder, 0o755)
    shutil.rmtree(base)


@pytest.mark.parametrize("out", ["locked/run", "locked/new/deeper/run"])
def test_out_in_a_read_only_folder_is_refused_before_training(
    capsys, read_only_folder, no_training, out
):
    base, folder = read_only_folder
    argv = ["fit", "--data", str(base / "vectors.npz"), *QUICK, "--out", str(base / out)]
    with _unprivileged():
        line = _fails(capsys, argv)
    assert "not writable" in line
    assert list(folder.iterdir()) == []


REFUSALS = {
    "plain-folder": (["--overwrite"], "is not a ganclust run folder; --overwrite only"),
    "run-folder-with-a-user-file": (["--overwrite"], "did not write (notes.md)"),
    "run-folder-without-overwrite": ([], "already exists; pass --overwrite"),
    "a-file": (["--overwrite"], "exists and is not a folder"),
}


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_an_existing_folder_is_refused_untouched_before_training(
    tmp_path, capsys, data, run_folder, no_training, kind
):
    out = tmp_path / "results"
    if kind == "plain-folder":
        out.mkdir()
        (out / "thesis.tex").write_text("six years of work")
        (out / "model.safetensors").write_bytes(b"mine, not ganclust's")
    elif kind == "a-file":
        out.write_text("a file")
    else:
        shutil.copytree(run_folder, out)
    if kind == "run-folder-with-a-user-file":
        (out / "notes.md").write_text("my notes")
    flags, problem = REFUSALS[kind]
    before = _tree(tmp_path)
    line = _fails(capsys, ["fit", "--data", str(data), *QUICK, "--out", str(out), *flags])
    assert problem in line
    assert _tree(tmp_path) == before


def test_a_run_committed_by_another_fit_during_training_wins(
    tmp_path, capsys, data, run_folder, monkeypatch
):
    out = tmp_path / "run"
    real_fit = ClusterGAN.fit

    def fit_while_another_commits(self, X, y=None, **fit_params):
        fitted = real_fit(self, X, y)
        shutil.copytree(run_folder, out)  # the other `ganclust fit --out run` finished first
        return fitted

    monkeypatch.setattr(ClusterGAN, "fit", fit_while_another_commits)
    line = _fails(capsys, ["fit", "--data", str(data), *QUICK, "--out", str(out)])
    assert "appeared while training" in line
    assert _tree(out) == _tree(run_folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_overwrite_refuses_a_folder_that_became_foreign_during_training(
    tmp_path, capsys, data, run_folder, monkeypatch
):
    out = tmp_path / "run"
    shutil.copytree(run_folder, out)
    real_fit = ClusterGAN.fit

    def fit_while_the_user_adds_a_file(self, X, y=None, **fit_params):
        (out / "keep-me.txt").write_text("added during training")
        return real_fit(self, X, y)

    monkeypatch.setattr(ClusterGAN, "fit", fit_while_the_user_adds_a_file)
    before = {**_tree(run_folder), "keep-me.txt": b"added during training"}
    line = _fails(capsys, ["fit", "--data", str(data), *QUICK, "--out", str(out), "--overwrite"])
    assert "did not write" in line and "nothing was touched" in line
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder


@pytest.mark.parametrize("out", [".", "..", "./"])
def test_out_of_the_current_folder_is_refused(tmp_path, capsys, data, monkeypatch, out):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    line = _fails(capsys, ["fit", "--data", str(data), *QUICK, "--out", out])
    assert "current folder or one above it" in line
    assert _tree(tmp_path) == before


def test_a_failed_fit_leaves_nothing_behind(tmp_path, capsys, data, monkeypatch):
    _fit_raises(monkeypatch, ValueError("stopped by the test"))
    out = tmp_path / "new" / "deeper" / "run"  # its missing parents are created, then removed
    line = _fails(capsys, ["fit", "--data", str(data), *QUICK, "--out", str(out)], status=2)
    assert line.endswith("stopped by the test")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_fit_keeps_only_what_resumes_it(tmp_path, capsys, data, monkeypatch):
    """Ctrl-C keeps the fit's checkpoint folder (and nothing else) and says how to resume."""
    _fit_raises(monkeypatch, KeyboardInterrupt())
    out = tmp_path / "new" / "deeper" / "run"
    line = _fails(capsys, ["fit", "--data", str(data), *QUICK, "--out", str(out)], status=130)
    assert line == f"ganclust fit: interrupted; resume with: ganclust fit --resume {out}"
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == ["new", "new/deeper", "new/deeper/.ganclust-ckpt.run",
                    "new/deeper/.ganclust-ckpt.run/command.json"]  # fmt: skip


def test_an_unexpected_error_is_one_line_with_status_1(tmp_path, capsys, data, monkeypatch):
    _fit_raises(monkeypatch, TypeError("a bug in ganclust"))
    argv = ["fit", "--data", str(data), *QUICK, "--out", str(tmp_path / "run")]
    line = _fails(capsys, argv, status=1)
    assert line.startswith("ganclust fit: unexpected error: TypeError: a bug in ganclust")
    assert "GANCLUST_DEBUG=1" in line
    monkeypatch.setenv("GANCLUST_DEBUG", "1")
    with pytest.raises(TypeError, match="a bug in ganclust"):
        main(argv)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ leftovers of earlier runs
def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: no process has this id now
    return child.pid


OWNERS = {"dead": False, "alive": True, "dead-on-another-machine": True, "no-pid-file": True}
OWNERS["unreadable-pid"] = True


@pytest.mark.parametrize("owner, kept", list(OWNERS.items()))
def test_leftover_temporary_folders(tmp_path, capsys, data, stop_training, owner, kept):
    leftover = tmp_path / ".ganclust-tmp.run.abc123"
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"half written")
    dead = _dead_pid()
    notes = {"dead": f"{dead}", "alive": f"{os.getpid()}", "unreadable-pid": "not a pid"}
    notes["dead-on-another-machine"] = f"{dead} some-other-machine"
    if owner in notes:  # "no-pid-file" has none
        (leftover / ".pid").write_text(notes[owner])
    line = _fails(capsys, ["fit", "--data", str(data), *QUICK, "--out", str(tmp_path / "run")])
    assert line.endswith("stopped by the test")
    assert leftover.exists() == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ([leftover.name] if kept else [])


@pytest.mark.parametrize("destination", ["missing", "present"])
def test_a_previous_run_left_in_an_old_folder(tmp_path, capsys, data, run_folder, destination):
    """A crash between the two renames of --overwrite left the previous run in its old folder:
    it is put back when the destination is missing, and kept when the destination exists."""
    old = tmp_path / ".ganclust-old.run.xyz789"
    old.mkdir()
    (old / ".pid").write_text(f"{_dead_pid()}")
    shutil.copytree(run_folder, old / "run")
    if destination == "present":
        shutil.copytree(run_folder, tmp_path / "run")
    before = _tree(tmp_path)
    line = _fails(capsys, ["fit", "--data", str(data), *QUICK, "--out", str(tmp_path / "run")])
    assert "already exists" in line
    if destination == "present":
        assert _tree(tmp_path) == before
    else:
        assert _tree(tmp_path / "run") == _tree(run_folder)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_overwrite_that_loses_the_race_puts_the_previous_run_back(
    tmp_path, capsys, data, run_folder, monkeypatch
):
    out = tmp_path / "run"
    shutil.copytree(run_folder, out)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name.startswith(".ganclust-tmp.") and Path(dst) == out:
            raise OSError(39, "Directory not empty")  # someone took the name between renames
        return real_rename(src, dst)

    monkeypatch.setattr(ganclust.runs.os, "rename", rename)
    line = _fails(capsys, ["fit", "--data", str(data), *QUICK, "--out", str(out), "--overwrite"])
    assert "nothing was replaced" in line
    assert _tree(out) == _tree(run_folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# ------------------------------------------------------------------ real processes
def test_a_real_process_fails_in_one_line(tmp_path, data):
    (tmp_path / "model.safetensors").write_text("not a model")
    command = [sys.executable, "-m", "ganclust", "predict", str(tmp_path / "model.safetensors")]
    done = subprocess.run([*command, "--data", str(data)], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("ganclust predict: error: ")


def test_predict_into_head_exits_quietly(tmp_path, run_folder):
    X, _ = make_blobs(100_000, n_features=5, centers=3, random_state=1)
    big = tmp_path / "big.npy"
    np.save(big, X)
    command = [sys.executable, "-m", "ganclust", "predict", str(run_folder), "--data", str(big)]
    producer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.Popen(["head", "-1"], stdin=producer.stdout, stdout=subprocess.PIPE)
    producer.stdout.close()  # head alone holds the pipe's reading end
    first, _ = head.communicate(timeout=120)
    err = producer.stderr.read().decode()
    producer.stderr.close()
    assert producer.wait(timeout=120) == 0, err
    assert err == ""
    assert first.decode() == "id,cluster,probability\n"
