"""The benchmark's baselines leave the process as they found it."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import accuracy  # noqa: E402


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield threads
    torch.set_num_threads(threads)


def test_a_baseline_that_changes_the_thread_count_has_it_restored(monkeypatch, restore_threads):
    # umap-learn's numba kernels do this to the whole process; a GAN fit after them would run on
    # more threads than the benchmark was started with, and so differ from a fresh fit
    def changes_threads(name, X, k, seed, params):
        torch.set_num_threads(restore_threads + 1)
        return np.zeros(len(X), dtype=int)

    monkeypatch.setattr(accuracy, "_baseline_labels", changes_threads)
    labels = accuracy.run_baseline("umap-gmm", np.zeros((4, 2)), 2, 0, {})
    assert labels.tolist() == [0, 0, 0, 0]
    assert torch.get_num_threads() == restore_threads


def test_the_thread_count_is_restored_when_a_baseline_fails(monkeypatch, restore_threads):
    def fails(name, X, k, seed, params):
        torch.set_num_threads(restore_threads + 1)
        raise RuntimeError("baseline failed")

    monkeypatch.setattr(accuracy, "_baseline_labels", fails)
    with pytest.raises(RuntimeError, match="baseline failed"):
        accuracy.run_baseline("umap-gmm", np.zeros((4, 2)), 2, 0, {})
    assert torch.get_num_threads() == restore_threads


def test_kmeans_baseline_runs_and_keeps_the_thread_count(restore_threads):
    X = np.concatenate([np.zeros((10, 2)), np.full((10, 2), 5.0)])
    labels = accuracy.run_baseline("kmeans", X, 2, 0, {})
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1
    assert labels[0] != labels[10]
    assert torch.get_num_threads() == restore_threads
