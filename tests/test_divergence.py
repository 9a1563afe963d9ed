"""Divergence (#17): a NaN or inf loss or weight rolls training back to the start of its epoch
with a lower learning rate, a few times at most; then the fit fails with one clear error and
leaves no model, run folder or checkpoint behind."""

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from conftest import timeless, tiny
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

import ganclust
import ganclust.methods
from ganclust import ClusterGAN, DivergenceWarning
from ganclust.cli import main
from ganclust.training import MAX_ROLLBACKS, ROLLBACK_FACTOR, DivergenceError

KW = tiny(max_epochs=3, options={"width": 8})
NAN = float("nan")


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """One BLAS thread, as the subprocesses get (OMP_NUM_THREADS=1): the mixture models of the
    pseudo-labels are many times slower when their threads fight over a shared machine."""
    with threadpool_limits(limits=1):
        yield


class _Poison:
    """ClusterGAN's generator loss, made NaN (or its weights NaN) at chosen batches.

    ``when(init, call)`` decides, for the ``call``-th generator update (from 1) of
    initialisation ``init``, whether to poison it; the fit's callback (this object) tells it
    which initialisation is training.
    """

    def __init__(self, monkeypatch, when, what="loss"):
        self.when, self.what = when, what
        self.init, self.calls, self.poisoned = None, 0, []
        original = ganclust.methods.METHODS["clustergan"]
        self.loss = original.generator_loss
        patched = dataclasses.replace(original, generator_loss=self._generator_loss)
        # one dict, shared by every module that looks methods up
        monkeypatch.setitem(ganclust.methods.METHODS, "clustergan", patched)

    def __call__(self, event):
        if event["init"] != self.init:
            self.init, self.calls = event["init"], 0

    def _generator_loss(self, nets, step):
        loss = self.loss(nets, step)
        self.calls += 1
        if not self.when(self.init, self.calls, step):
            return loss
        self.poisoned.append((self.init, self.calls))
        if self.what == "weight":
            with torch.no_grad():
                next(nets["G"].parameters()).fill_(NAN)
            return loss
        step.log("g_adv", torch.tensor(NAN))
        return loss * NAN


def _finite(model):
    return all(bool(torch.isfinite(p).all()) for p in model.nets_.parameters())


@pytest.mark.parametrize("what", ["loss", "weight"])
def test_one_divergence_is_rolled_back(what, blobs, tmp_path, monkeypatch):
    X = blobs[0]
    if what == "loss":
        # the 3rd generator update of every initialisation (epoch 2's first batch)
        when = lambda init, call, step: call == 3  # noqa: E731
        reason = "loss g_adv is nan"
    else:
        # the last (short) batch of epoch 1: the weights are checked at the epoch's end
        when = lambda init, call, step: call == 2 and len(step.real) < KW["batch_size"]  # noqa: E731
        reason = "a weight is not finite"
    poison = _Poison(monkeypatch, when, what)
    with pytest.warns(DivergenceWarning) as caught:
        model = ClusterGAN(3, **KW).fit(X, callback=poison)
    assert poison.poisoned, "nothing was poisoned: the test's batch arithmetic is off"
    (message,) = [str(w.message) for w in caught if w.category is DivergenceWarning]
    # every initialisation was poisoned once, and the warning counts them all
    assert f"diverged {len(model.init_scores_)} time(s)" in message and reason in message
    rollbacks = [row for row in model.history_ if "rollback" in row]
    lowered = model.settings_.learning_rate * ROLLBACK_FACTOR
    assert rollbacks == [{"epoch": 2 if what == "loss" else 1, "rollback": reason,
                          "learning_rate": lowered}]  # fmt: skip
    assert f"{lowered:g}" in message
    # the rolled-back epoch is trained again, so every epoch is still there once
    epochs = [row["epoch"] for row in model.history_ if "rollback" not in row]
    assert epochs == list(range(1, len(epochs) + 1)) and model.n_iter_ == len(epochs)
    assert all(math.isfinite(v) for row in model.history_ for v in row.values()
               if isinstance(v, float))  # fmt: skip
    assert _finite(model)
    model.save(tmp_path / "m.safetensors")
    loaded = ganclust.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_rollback_is_reproducible_and_resumable(blobs, tmp_path, monkeypatch):
    X = blobs[0]
    when = lambda init, call, step: call == 3  # noqa: E731
    with pytest.warns(DivergenceWarning):
        first = ClusterGAN(3, **KW).fit(X, callback=_Poison(monkeypatch, when))
    # interrupted in the epoch after the rollback (the checkpoint at the end of the epoch trained
    # again holds the rollback and the lower learning rate), then resumed
    poison = _Poison(monkeypatch, when)
    epochs = [0]

    def stop_after_rollback(event):
        poison(event)
        if event["event"] == "epoch" and event["init"] == 0:
            epochs[0] += 1
            if epochs[0] == 3:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path, callback=stop_after_rollback)
    assert poison.poisoned == [(0, 3)]
    with pytest.warns(DivergenceWarning):
        resumed = ClusterGAN(3, **KW).fit(X, checkpoint_dir=tmp_path, callback=poison)
    np.testing.assert_array_equal(resumed.labels_, first.labels_)
    np.testing.assert_array_equal(resumed.predict_proba(X), first.predict_proba(X))
    assert timeless(resumed.history_) == timeless(first.history_)


def test_divergence_every_time_raises_after_the_last_rollback(blobs, monkeypatch):
    poison = _Poison(monkeypatch, lambda init, call, step: True)
    model = ClusterGAN(3, **KW)
    with pytest.raises(DivergenceError) as raised:
        model.fit(blobs[0], callback=poison)
    assert isinstance(raised.value, RuntimeError)
    message = str(raised.value)
    assert len(poison.poisoned) == MAX_ROLLBACKS + 1
    assert message.startswith("training diverged (loss g_adv is nan) at learning rate ")
    assert f"after {MAX_ROLLBACKS} rollback(s)" in message
    assert not hasattr(model, "labels_") and not hasattr(model, "state_")


def test_model_with_nan_weights_is_never_saved(blobs, tmp_path):
    model = ClusterGAN(3, **KW).fit(blobs[0])
    with torch.no_grad():
        next(model.nets_.parameters()).view(-1)[0] = NAN
    with pytest.raises(ValueError, match="refusing to save a model"):
        model.save(tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "digits150.npy"
    np.save(path, load_digits().images[:150].astype(np.float32))
    return path


def _assert_nothing_written(tmp_path, out):
    assert not out.exists(), "a failed fit wrote its run folder"
    assert not (out.parent / f".ganclust-ckpt.{out.name}").exists(), "its checkpoint was kept"
    assert not list(tmp_path.rglob("*.safetensors")), "a failed fit wrote a model or checkpoint"


def test_cli_huge_learning_rate_fails_in_one_line(digits_file, tmp_path, capsys):
    out = tmp_path / "A"
    argv = [
        "fit", "--data", str(digits_file), "--n-clusters", "3", "--learning-rate", "1e9",
        "--max-epochs", "3", "--option", "width=8", "--option", "refine=0", "--quiet",
        "--out", str(out),
    ]  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(argv) == 2
    # a user's terminal would show these beside the error line
    assert not [str(w.message) for w in caught if "ganclust" in w.filename]
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    lowest = 1e9 * ROLLBACK_FACTOR**MAX_ROLLBACKS
    assert lines[0].startswith("ganclust fit: error: training diverged (")
    assert f"at learning rate {lowest:g} after {MAX_ROLLBACKS} rollback(s)" in lines[0]
    _assert_nothing_written(tmp_path, out)


def test_cli_divergence_every_time_writes_nothing(digits_file, tmp_path, capsys, monkeypatch):
    _Poison(monkeypatch, lambda init, call, step: True)
    out = tmp_path / "A"
    argv = [
        "fit", "--data", str(digits_file), "--n-clusters", "3", "--max-epochs", "2",
        "--option", "width=8", "--quiet", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ganclust fit: error: training diverged (loss g_adv is nan)")
    _assert_nothing_written(tmp_path, out)
