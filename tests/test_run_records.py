"""What a run folder records of a fit (#17): history.csv, run.json (with the seed actually
drawn, enough to repeat the run), TensorBoard scalars and the Projector embedding, and progress
that writes one line per epoch when stderr is not a terminal."""

import contextlib
import csv
import dataclasses
import importlib.util
import io
import json
import re

import numpy as np
import pytest
import torch
from conftest import tiny
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

import ganclust
import ganclust.methods
from ganclust import ClusterGAN, DivergenceWarning
from ganclust._run_files import write_history
from ganclust.cli import main

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None
N, K, EPOCHS = 150, 2, 3
LOSSES = ["consistency", "d_adv", "g_adv", "inversion", "pseudo"]


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """One BLAS thread, as the subprocesses get (OMP_NUM_THREADS=1): the mixture models of the
    pseudo-labels are many times slower when their threads fight over a shared machine."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    digits = load_digits()
    path = tmp_path_factory.mktemp("data") / "digits150.npz"
    np.savez(path, X=digits.images[:N].astype(np.float32), y=digits.target[:N])
    return path


def _argv(data, out, *extra):
    return [
        "fit", "--data", str(data), "--n-clusters", str(K), "--max-epochs", str(EPOCHS),
        "--option", "width=8", "--batch-size", "32", "--out", str(out), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def run(data_file, tmp_path_factory):
    """A fit without --random-state (with --tensorboard when it is installed), its stderr."""
    root = tmp_path_factory.mktemp("run")
    extra = ["--tensorboard", str(root / "tb")] if HAS_TENSORBOARD else []
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        assert main(_argv(data_file, root / "A", *extra)) == 0, stderr.getvalue()
    info = json.loads((root / "A" / "run.json").read_text())
    return {"out": root / "A", "tb": root / "tb", "stderr": stderr.getvalue(), "info": info}


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_history_csv_has_one_row_per_epoch(run):
    model = ganclust.load(run["out"])
    epochs = [row for row in model.history_ if "rollback" not in row]
    header, *rows = _rows(run["out"] / "history.csv")
    assert header == ["epoch", "phase", *LOSSES, "seconds", *(f"occupancy_{k}" for k in range(K))]
    assert len(rows) == len(epochs) == model.n_iter_ == run["info"]["epochs"] == EPOCHS + 1
    assert [int(r[0]) for r in rows] == list(range(1, EPOCHS + 2))
    assert [r[1] for r in rows] == ["train"] * EPOCHS + ["refine 1"]
    for row, epoch in zip(rows, epochs, strict=True):
        values = dict(zip(header, row, strict=True))
        assert [float(values[k]) for k in LOSSES] == [epoch[k] for k in LOSSES]
        occupancy = [float(values[f"occupancy_{k}"]) for k in range(K)]
        assert occupancy == epoch["occupancy"] and sum(occupancy) == pytest.approx(1, abs=1e-5)
        assert float(values["seconds"]) >= 0


def test_history_csv_after_a_rollback_still_has_one_row_per_epoch(blobs, tmp_path, monkeypatch):
    """A rolled-back epoch is trained again: the table keeps one row for it, not two."""
    original = ganclust.methods.METHODS["clustergan"]
    calls = {"init": None, "n": 0}

    def track(event):  # the fit's callback: which initialisation is training
        if event["init"] != calls["init"]:
            calls.update(init=event["init"], n=0)

    def generator_loss(nets, step):
        loss = original.generator_loss(nets, step)
        calls["n"] += 1
        if calls["n"] == 3:  # epoch 2's first batch, in every initialisation
            step.log("g_adv", torch.tensor(float("nan")))
            return loss * float("nan")
        return loss

    patched = dataclasses.replace(original, generator_loss=generator_loss)
    monkeypatch.setitem(ganclust.methods.METHODS, "clustergan", patched)
    model = ClusterGAN(K, **tiny(max_epochs=EPOCHS, options={"width": 8}))
    with pytest.warns(DivergenceWarning):
        model.fit(blobs[0], callback=track)
    assert [row["epoch"] for row in model.history_ if "rollback" in row] == [2]
    write_history(tmp_path / "history.csv", model.history_, K)
    header, *rows = _rows(tmp_path / "history.csv")
    assert [int(r[0]) for r in rows] == list(range(1, model.n_iter_ + 1))


def test_run_json_records_the_drawn_seed_and_threads(run):
    info = run["info"]
    assert info["params"]["random_state"] is None
    seed = info["settings"]["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**31
    assert info["torch_threads"] == torch.get_num_threads() == 1
    assert info["settings"]["max_epochs"] == EPOCHS and info["settings"]["n_clusters"] == K
    assert info["n_samples"] == N and info["metrics"] is not None


@pytest.mark.slow
def test_the_recorded_seed_repeats_the_run(run, data_file, tmp_path):
    seed = run["info"]["settings"]["seed"]
    out = tmp_path / "B"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(_argv(data_file, out, "--random-state", str(seed), "--quiet")) == 0
    assert (out / "labels.csv").read_bytes() == (run["out"] / "labels.csv").read_bytes()
    assert json.loads((out / "run.json").read_text())["settings"] == run["info"]["settings"]


def test_progress_off_a_terminal_is_one_line_per_phase_and_epoch(run):
    text = run["stderr"]
    assert "\r" not in text
    lines = [line for line in text.splitlines() if line.startswith("ganclust: ")]
    n_runs = len(run["info"]["init_scores"])
    total = EPOCHS + 1
    epochs = [line for line in lines if re.search(r" epoch \d+/\d+ ", line)]
    assert len(epochs) == n_runs * total
    first = [line for line in lines if not line.startswith("ganclust: restart")]
    assert [line for line in first if " epoch " not in line] == [
        "ganclust: initialisation (auto pseudo-labels)",
        "ganclust: training",
        "ganclust: refinement 1/1",
        "ganclust: read-out",
    ]
    numbers = [
        re.search(r" epoch (\d+)/(\d+) ", line).groups() for line in first if " epoch " in line
    ]
    assert numbers == [(str(e), str(total)) for e in range(1, total + 1)]
    assert all("d_adv=" in line for line in epochs)


@pytest.fixture(scope="module")
def board(run):
    if not HAS_TENSORBOARD:
        pytest.skip("tensorboard is not installed (pip install 'ganclust[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run["tb"]), size_guidance={"scalars": 0})
    events.Reload()
    return events


def test_tensorboard_scalars_per_epoch(run, board):
    tags = board.Tags()["scalars"]
    n_runs = len(run["info"]["init_scores"])
    for init in range(n_runs):
        for name in [*LOSSES, "seconds", "occupancy_min", "occupancy_max"]:
            tag = f"init{init}/{name}"
            assert tag in tags, f"{tag} not among {sorted(tags)}"
            assert [s.step for s in board.Scalars(tag)] == list(range(1, EPOCHS + 2))
    assert not [t for t in tags if not re.match(r"init\d+/", t)]
    # the kept run's scalars are its history's
    best = run["info"]["best_init"]
    history = ganclust.load(run["out"]).history_
    logged = [s.value for s in board.Scalars(f"init{best}/d_adv")]
    np.testing.assert_allclose(logged, [row["d_adv"] for row in history], rtol=1e-6)


def test_tensorboard_projector_embedding(run):
    if not HAS_TENSORBOARD:
        pytest.skip("tensorboard is not installed (pip install 'ganclust[tensorboard]')")
    embedding = run["tb"] / "00000" / "embedding"
    tensors = np.loadtxt(embedding / "tensors.tsv", delimiter="\t", ndmin=2)
    model = ganclust.load(run["out"])
    X = np.load(run["info"]["data"])["X"]
    assert tensors.shape == (N, model.transform(X[:1]).shape[1])
    np.testing.assert_allclose(tensors, model.transform(X), rtol=1e-4, atol=1e-5)
    header, *rows = (embedding / "metadata.tsv").read_text().splitlines()
    assert header == "cluster\tlabel" and len(rows) == N
    labels = load_digits().target[:N]
    clusters = np.loadtxt(run["out"] / "labels.csv", delimiter=",", skiprows=1, usecols=1)
    assert rows == [f"{int(c)}\t{y}" for c, y in zip(clusters, labels, strict=True)]
    sprite = embedding / "sprite.png"
    assert sprite.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run["tb"] / "projector_config.pbtxt").is_file()
