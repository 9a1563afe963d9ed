"""Interrupted fits resume exactly (#17): the library's checkpoint_dir, and ``ganclust fit
--resume`` after a real process is killed (SIGKILL) or interrupted (SIGINT) at every phase.

Every resumed fit must end bit-identical to an uninterrupted one: the same labels, cluster
probabilities and history (without its wall-clock seconds).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from conftest import timeless, tiny
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

import ganclust
import ganclust._fit
from ganclust import ClusterGAN
from ganclust._resume import CHECKPOINT_FILE, CheckpointStore
from ganclust.cli import main

KW = tiny(max_epochs=3, options={"width": 8})


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """One BLAS thread, as the subprocesses get (OMP_NUM_THREADS=1): the mixture models of the
    pseudo-labels are many times slower when their threads fight over a shared machine."""
    with threadpool_limits(limits=1):
        yield


# ------------------------------------------------------------------------------ library


def _nth(n, **match):
    """A predicate on fit events, true at the ``n``-th event whose items include ``match``."""
    seen = [0]

    def predicate(event):
        if all(event.get(k) == v for k, v in match.items()):
            seen[0] += 1
            return seen[0] == n
        return False

    return predicate


class _Stop:
    """A fit callback raising KeyboardInterrupt at the first event ``when`` accepts."""

    def __init__(self, when):
        self.when, self.fired = when, False

    def __call__(self, event):
        if not self.fired and self.when(event):
            self.fired = True
            raise KeyboardInterrupt


def _saved(folder):
    """The progress a checkpoint folder holds (its fingerprint not checked)."""
    return CheckpointStore(folder, {}).load()


def _assert_same(model, reference, X):
    np.testing.assert_array_equal(model.labels_, reference.labels_)
    np.testing.assert_array_equal(model.predict_proba(X), reference.predict_proba(X))
    assert timeless(model.history_) == timeless(reference.history_)
    np.testing.assert_array_equal(model.init_scores_, reference.init_scores_)
    assert model.best_init_ == reference.best_init_


@pytest.fixture(scope="module")
def reference(blobs):
    model = ClusterGAN(3, **KW).fit(blobs[0])
    # tiny fits collapse and restart: the checkpoint then holds finished runs too
    assert len(model.init_scores_) > 1, "expected several initialisations on tiny data"
    return model


# (name, what interrupts, checkpoint every batch?, what the checkpoint must hold by then)
INTERRUPTS = {
    "before the first checkpoint": (
        dict(event="phase", phase="training", init=0),
        1,
        False,
        lambda p: p is None,
    ),
    "after an epoch": (
        dict(event="epoch", init=0),
        2,
        False,
        lambda p: not p.done and p.current.loop.epoch == 1 and p.current.loop.batch == 0,
    ),
    "mid-epoch": (
        dict(event="batch", init=0),
        4,
        True,
        lambda p: not p.done and p.current.loop.epoch == 1 and p.current.loop.batch == 1,
    ),
    "refinement": (
        dict(event="phase", phase="refinement 1/1", init=0),
        1,
        False,
        lambda p: p.current.round == 0 and p.current.loop.epoch == KW["max_epochs"],
    ),
    "second initialisation": (
        dict(event="epoch", init=1),
        2,
        True,
        lambda p: len(p.done) == 1 and p.current.index == 1,
    ),
    "last read-out": (
        dict(event="phase", phase="read-out", init="last"),
        1,
        False,
        lambda p: p.current is not None and p.current.round == 1,
    ),
}


@pytest.mark.parametrize("name", INTERRUPTS)
def test_interrupted_fit_resumes_exactly(name, blobs, reference, tmp_path, monkeypatch):
    match, n, every_batch, holds = INTERRUPTS[name]
    X = blobs[0]
    if match.get("init") == "last":
        match = {**match, "init": len(reference.init_scores_) - 1}
    if every_batch:
        monkeypatch.setattr(ganclust._fit, "CHECKPOINT_SECONDS", 0.0)
    folder = tmp_path / "ck"
    stop = _Stop(_nth(n, **match))
    with pytest.raises(KeyboardInterrupt):
        ClusterGAN(3, **KW).fit(X, checkpoint_dir=folder, callback=stop)
    assert stop.fired
    assert holds(_saved(folder)), f"the checkpoint after an interrupt {name} holds the wrong state"
    resumed = ClusterGAN(3, **KW).fit(X, checkpoint_dir=folder)
    _assert_same(resumed, reference, X)
    assert not folder.exists(), "the checkpoint folder outlived a successful fit"


def test_interrupted_after_every_run_resumes_without_training(
    blobs, reference, tmp_path, monkeypatch
):
    X = blobs[0]
    n_runs = len(reference.init_scores_)
    save = CheckpointStore.save

    def save_then_stop(self, progress):
        save(self, progress)
        if progress.current is None and len(progress.done) == n_runs:
            raise KeyboardInterrupt

    monkeypatch.setattr(CheckpointStore, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path)
    monkeypatch.setattr(CheckpointStore, "save", save)
    events = []
    resumed = ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path, callback=events.append)
    assert not [e for e in events if e["event"] in ("batch", "epoch")], "it trained again"
    _assert_same(resumed, reference, X)


def test_interrupted_at_every_batch_still_resumes_exactly(blobs, reference, tmp_path, monkeypatch):
    # every attempt trains one batch (checkpointed) and is interrupted at the next
    monkeypatch.setattr(ganclust._fit, "CHECKPOINT_SECONDS", 0.0)
    X = blobs[0]
    attempts = 0
    while attempts < 200:
        attempts += 1
        try:
            model = ClusterGAN(3, **KW).fit(
                X, checkpoint_dir=tmp_path / "ck", callback=_Stop(_nth(2, event="batch"))
            )
            break
        except KeyboardInterrupt:
            continue
    else:
        pytest.fail("the fit made no progress from one interrupt to the next")
    assert attempts > 10
    _assert_same(model, reference, X)


def test_sigint_checkpoints_at_the_next_batch(blobs, reference, tmp_path):
    X = blobs[0]
    previous = signal.getsignal(signal.SIGINT)
    at = _nth(3, event="batch", init=0)

    def ctrl_c(event):
        if at(event):
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path, callback=ctrl_c)
    assert signal.getsignal(signal.SIGINT) is previous
    # the 3rd batch (epoch 2's first) finished and was saved, though no checkpoint was due
    loop = _saved(tmp_path).current.loop
    assert (loop.epoch, loop.batch) == (1, 1)
    _assert_same(ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path), reference, X)


def test_checkpoint_from_before_a_setting_existed_says_so(blobs, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    X = blobs[0]
    ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path, keep_checkpoint=True)
    path = tmp_path / CHECKPOINT_FILE
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["ganclust_checkpoint"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    del meta["fingerprint"]["settings"]["precision"]  # as a checkpoint written before it existed
    save_file(tensors, str(path), metadata={"ganclust_checkpoint": json.dumps(meta)})
    with pytest.raises(ValueError, match=r"other settings \(precision: not recorded -> 'fp32'\)"):
        ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path)
    assert path.is_file()


def test_keep_checkpoint_then_resume_from_the_end(blobs, reference, tmp_path):
    X = blobs[0]
    kept = ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path, keep_checkpoint=True)
    assert (tmp_path / CHECKPOINT_FILE).is_file()
    _assert_same(kept, reference, X)
    events = []
    again = ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path, callback=events.append)
    assert not [e for e in events if e["event"] == "batch"], "a finished fit trained again"
    _assert_same(again, reference, X)
    assert not tmp_path.exists()


def test_checkpoint_of_another_fit_is_refused(blobs, tmp_path):
    X = blobs[0]
    ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path, keep_checkpoint=True)
    written = (tmp_path / CHECKPOINT_FILE).read_bytes()
    other = X.copy()
    other[0, 0] += 1.0
    with pytest.raises(ValueError, match="written by a fit with other data"):
        ClusterGAN(3, **KW).fit(other, checkpoint_dir=tmp_path)
    # the refusal names each setting that differs, with both values
    with pytest.raises(ValueError, match=r"other settings \(max_epochs: 3 -> 4\)"):
        ClusterGAN(3, **tiny(max_epochs=4, options={"width": 8})).fit(X, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"other settings \(nets.width: 8 -> 16\)"):
        ClusterGAN(3, **tiny(max_epochs=3, options={"width": 16})).fit(X, checkpoint_dir=tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(threads + 1)
    try:
        refusal = rf"other torch_threads \({threads} -> {threads + 1}\)"
        with pytest.raises(ValueError, match=refusal):
            ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path)
    finally:
        torch.set_num_threads(threads)
    # a refused checkpoint is left as it was
    assert (tmp_path / CHECKPOINT_FILE).read_bytes() == written


def test_unreadable_checkpoint_is_refused(blobs, tmp_path):
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(ValueError, match="not a readable ganclust checkpoint"):
        ClusterGAN(3, **KW).fit(blobs[0], checkpoint_dir=tmp_path)


def test_random_state_none_resumes_with_the_drawn_seed(blobs, tmp_path):
    X = blobs[0]
    kw = {**KW, "random_state": None}
    with pytest.raises(KeyboardInterrupt):
        ClusterGAN(3, **kw).fit(
            X, checkpoint_dir=tmp_path, callback=_Stop(_nth(2, event="epoch", init=0))
        )
    seed = CheckpointStore(tmp_path, {}).saved_seed()
    assert seed is not None
    resumed = ClusterGAN(3, **kw).fit(X, checkpoint_dir=tmp_path)
    assert resumed.settings_.seed == seed
    _assert_same(resumed, ClusterGAN(3, **{**KW, "random_state": seed}).fit(X), X)


# ------------------------------------------------------------------------------ CLI


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "digits150.npy"
    np.save(path, load_digits().images[:150].astype(np.float32))
    return path


def _fit_argv(data, out):
    return [
        "fit", "--data", str(data), "--n-clusters", "3", "--max-epochs", "3",
        "--option", "width=8", "--batch-size", "32", "--random-state", "0", "--out", str(out),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(digits_file, tmp_path_factory):
    """The run folder of the uninterrupted fit (in this process, at one torch thread, as every
    subprocess here runs)."""
    out = tmp_path_factory.mktemp("reference") / "B"
    assert torch.get_num_threads() == 1
    assert main([*_fit_argv(digits_file, out), "--quiet"]) == 0
    return out


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANCLUST_")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)
    return env


class _Child:
    """``ganclust`` in a subprocess, its stderr read line by line as it comes; ``at`` (a
    marker and a signal) sends the signal when a line holding the marker appears."""

    def __init__(self, argv, cwd, env, at=None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ganclust", *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines = []
        self.signalled = None
        self.at = at
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            if self.at is not None and self.signalled is None and self.at[0] in line:
                self.send(self.at[1])

    def send(self, signum):
        if self.proc.poll() is None:
            self.signalled = signum
            self.proc.send_signal(signum)

    def finish(self, timeout=180):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"ganclust did not finish in {timeout} s:\n{self.stderr}")
        self.reader.join(10)
        return self.proc.returncode

    @property
    def stderr(self):
        return "".join(self.lines)


def _kill_at_checkpoint(child, path, times, timeout=120):
    """SIGKILL ``child`` once ``path`` has been rewritten ``times`` times (between batches)."""
    deadline = time.monotonic() + timeout
    last, changes = None, -1
    while child.proc.poll() is None and time.monotonic() < deadline:
        stamp = path.stat().st_mtime_ns if path.exists() else None
        if stamp is not None and stamp != last:
            last, changes = stamp, changes + 1
            if changes >= times:
                child.send(signal.SIGKILL)
                return
        time.sleep(0.002)


def _assert_same_run(out, reference, data):
    assert (out / "labels.csv").read_bytes() == (reference / "labels.csv").read_bytes()
    a, b = ganclust.load(out), ganclust.load(reference)
    X = np.load(data)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert timeless(a.history_) == timeless(b.history_)


@pytest.mark.slow
def test_cli_killed_or_interrupted_in_every_phase_resumes_exactly(
    digits_file, uninterrupted, tmp_path
):
    """One fit, stopped again and again (each subprocess resumes the one stopped before):
    SIGKILL during the t-SNE initialisation, Ctrl-C mid-training, SIGKILL between two batches,
    during the refinement and during the read-out; then it finishes. (One chain rather than a
    fresh fit per stop: each start of a subprocess costs seconds.)"""
    out = tmp_path / "A"
    checkpoints = tmp_path / ".ganclust-ckpt.A"
    resume = ["fit", "--resume", str(out)]
    first = [*_fit_argv(digits_file, out), "--keep-checkpoint"]
    every_batch = {"GANCLUST_CHECKPOINT_SECONDS": "0"}
    kill, ctrl_c = signal.SIGKILL, signal.SIGINT
    stops = [
        ("during the initialisation", first, {}, ("initialisation", kill)),
        ("mid-training by Ctrl-C", resume, {}, ("training epoch 1/", ctrl_c)),
        ("between two batches", resume, every_batch, None),
        ("during the refinement", resume, {}, ("refinement 1/1", kill)),
        ("during the read-out", resume, {}, ("read-out", kill)),
    ]
    for what, argv, extra, at in stops:
        child = _Child(argv, tmp_path, _env(**extra), at=at)
        if at is None:
            _kill_at_checkpoint(child, checkpoints / CHECKPOINT_FILE, 2)
        rc = child.finish()
        if child.signalled is None:
            pytest.fail(f"the fit ended (status {rc}) before being stopped {what}:\n{child.stderr}")
        lines = child.stderr.splitlines()
        if child.signalled == ctrl_c:
            assert rc == 130, child.stderr
            wanted = f"ganclust fit: interrupted; resume with: ganclust fit --resume {out}"
            assert [line for line in lines if not line.startswith("ganclust: ")] == [wanted]
            assert lines[-1] == wanted
        else:
            assert rc == -kill, child.stderr
            assert all(line.startswith("ganclust: ") for line in lines), child.stderr
        assert (checkpoints / "command.json").is_file(), f"stopped {what}: no command to resume"
        assert not out.exists(), f"stopped {what}, yet the run folder was written"
        if what != "during the initialisation":
            assert (checkpoints / CHECKPOINT_FILE).is_file(), f"no checkpoint when stopped {what}"
    child = _Child(resume, tmp_path, _env())
    assert child.finish() == 0, child.stderr
    assert "\r" not in child.stderr and "interrupted" not in child.stderr
    _assert_same_run(out, uninterrupted, digits_file)
    # --keep-checkpoint, given to the first command, holds for its resumption
    assert (out / "checkpoints" / CHECKPOINT_FILE).is_file()
    assert not checkpoints.exists(), "the checkpoint folder outlived the finished fit"


def _one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_resume_with_nothing_to_resume_is_refused(tmp_path, capsys):
    assert main(["fit", "--resume", str(tmp_path / "A")]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("ganclust fit: error: no interrupted fit to resume for ")


def test_resume_of_a_finished_run_is_refused(uninterrupted, capsys):
    capsys.readouterr()
    before = sorted(p.name for p in uninterrupted.iterdir())
    assert main(["fit", "--resume", str(uninterrupted)]) == 2
    assert "(it is a finished run folder)" in _one_error_line(capsys)
    assert sorted(p.name for p in uninterrupted.iterdir()) == before


@pytest.mark.parametrize(
    "extra", [["--max-epochs", "2"], ["--data", "digits"], ["--option", "width=4"]]
)
def test_resume_takes_no_other_settings(extra, tmp_path, capsys):
    assert main(["fit", "--resume", str(tmp_path / "A"), *extra]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("ganclust fit: error: --resume takes no other settings")
    assert not list(tmp_path.iterdir())
