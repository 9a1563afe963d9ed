"""The co-association consensus of several clusterings (``ganclust._consensus``)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import timeless, tiny
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

import ganclust
import ganclust._fit
from ganclust import ClusterGAN
from ganclust._consensus import consensus_labels
from ganclust.metrics import evaluate

# four classes of 60 samples
TRUTH = np.repeat(np.arange(4), 60)


def _merged_and_split(truth: np.ndarray) -> np.ndarray:
    """A failed fit: classes 2 and 3 in one cluster, class 0 in two halves."""
    labels = truth.copy()
    labels[truth == 3] = 2
    zeros = np.flatnonzero(truth == 0)
    labels[zeros[: len(zeros) // 2]] = 3
    return labels


def _renamed(labels: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(labels.max() + 1)[labels]


def test_a_merge_and_split_made_by_one_fit_of_three_is_outvoted():
    fits = [_renamed(TRUTH, 1), _merged_and_split(TRUTH), _renamed(TRUTH, 2)]
    found = consensus_labels(fits, 4)
    assert adjusted_rand_score(TRUTH, found) == 1.0
    # the failed fit is not what the others are aligned to: its place in the list does not matter
    assert adjusted_rand_score(TRUTH, consensus_labels(fits[::-1], 4)) == 1.0


def test_a_merge_that_most_fits_make_is_kept():
    failed = _merged_and_split(TRUTH)
    found = consensus_labels([failed, _renamed(failed, 3), TRUTH], 4)
    assert adjusted_rand_score(failed, found) == 1.0


def test_the_labels_do_not_depend_on_how_each_fit_names_its_clusters():
    rng = np.random.default_rng(0)
    fits = [rng.integers(0, 4, len(TRUTH)) for _ in range(3)]
    first = consensus_labels(fits, 4)
    again = consensus_labels([_renamed(f, 10 + i) for i, f in enumerate(fits)], 4)
    np.testing.assert_array_equal(first, again)
    # numbered by decreasing size
    sizes = np.bincount(first, minlength=4)
    assert list(sizes) == sorted(sizes, reverse=True)


def test_a_tree_on_a_subset_labels_every_sample():
    truth = np.repeat(np.arange(5), 400)
    fits = [_renamed(truth, 4), _merged_and_split(truth), _renamed(truth, 5)]
    found = consensus_labels(fits, 5, max_samples=300, seed=1)
    assert found.shape == truth.shape
    assert adjusted_rand_score(truth, found) == 1.0
    np.testing.assert_array_equal(found, consensus_labels(fits, 5, max_samples=300, seed=1))


@pytest.mark.parametrize(
    ("clusterings", "k", "message"),
    [
        ([TRUTH], 4, "at least 2 clusterings, got 1"),
        ([TRUTH, TRUTH[:-1]], 4, "must label the same samples: got lengths [239, 240]"),
        ([TRUTH, TRUTH - 1], 4, "must be non-negative"),
        ([TRUTH, TRUTH.astype(float)], 4, "must be integers"),
        ([TRUTH, TRUTH], 0, "n_clusters must be between 1 and the 240 samples, got 0"),
        ([TRUTH, TRUTH], 241, "n_clusters must be between 1 and the 240 samples, got 241"),
    ],
)
def test_bad_input_is_refused_with_the_reason(clusterings, k, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        consensus_labels(clusterings, k)


def _blobs():
    X, y = make_blobs(300, n_features=6, centers=3, random_state=0)
    return X.astype(np.float32), y


# wide enough that none of the three tiny runs collapses; the runs read the blobs' t-SNE map
# (init="auto" would fit them a mixture), whose read-outs these tests were written against
THREE = dict(n_init=3, max_epochs=3, options={"refine": 1, "width": 32, "init": "tsne"})


def test_three_runs_are_combined_and_the_kept_run_learns_their_consensus():
    X, y = _blobs()
    settings = tiny(**THREE)
    model = ClusterGAN(3, **settings).fit(X)
    assert not model.init_collapsed_.any()
    consensus_rows = [row for row in model.history_ if "consensus" in row]
    # one refinement-length round (max_epochs // 3 = 1 epoch) on the consensus of the 3 runs
    assert [row["consensus"] for row in consensus_rows] == [3]
    assert model.history_[-1] == consensus_rows[-1]
    # its epochs go on from the run's: one count over every round
    assert [row["epoch"] for row in model.history_] == list(range(1, len(model.history_) + 1))
    assert evaluate(y, model.labels_)["acc"] == 1.0
    np.testing.assert_array_equal(model.predict(X), model.labels_)
    assert model.phase_seconds_["consensus_training"] > 0
    # the quality is the runs' agreement with the consensus: measured (not NaN), at most 1
    assert np.all((model.cluster_quality_ > 0.5) & (model.cluster_quality_ <= 1.0))
    again = ClusterGAN(3, **settings).fit(X)
    np.testing.assert_array_equal(again.labels_, model.labels_)


def _phases_then_epochs(events: list[dict]) -> list[tuple[object, str]]:
    """Each event's run index with its phase, or "epoch", in order."""
    return [(e["init"], e["phase"] if e["event"] == "phase" else "epoch")
            for e in events if e["event"] in ("phase", "epoch")]  # fmt: skip


def test_the_consensus_round_reports_its_phases_and_epochs():
    X, _ = _blobs()
    events: list[dict] = []
    model = ClusterGAN(3, **tiny(**THREE)).fit(X, callback=events.append)
    seen = _phases_then_epochs(events)
    start = seen.index((model.best_init_, "consensus of 3 runs"))
    # after every run: the consensus, then its round's one epoch, under the kept run's index
    assert seen[start:] == [
        (model.best_init_, "consensus of 3 runs"),
        (model.best_init_, "training on the consensus of 3 runs"),
        (model.best_init_, "epoch"),
    ]
    assert {index for index, _ in seen[:start]} == {0, 1, 2}


def test_interrupted_in_the_consensus_round_resumes_exactly(tmp_path):
    X, _ = _blobs()
    settings = tiny(**THREE)
    reference = ClusterGAN(3, **settings).fit(X)

    def stop_in_the_consensus(event):
        if event.get("phase", "").startswith("training on the consensus"):
            raise KeyboardInterrupt

    folder = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        ClusterGAN(3, **settings).fit(X, checkpoint_dir=folder, callback=stop_in_the_consensus)
    assert folder.exists(), "the interrupted fit left no checkpoint to resume"
    events: list[dict] = []
    resumed = ClusterGAN(3, **settings).fit(X, checkpoint_dir=folder, callback=events.append)
    # the runs are not trained again: the one epoch trained is the consensus round's
    assert _phases_then_epochs(events)[-1] == (resumed.best_init_, "epoch")
    assert sum(e["event"] == "epoch" for e in events) == 1
    np.testing.assert_array_equal(resumed.labels_, reference.labels_)
    np.testing.assert_array_equal(resumed.predict_proba(X), reference.predict_proba(X))
    assert timeless(resumed.history_) == timeless(reference.history_)
    assert not folder.exists(), "the checkpoint folder outlived a successful fit"


def test_collapsed_runs_vote_too_and_n_init_1_takes_no_consensus(monkeypatch):
    X, y = _blobs()
    # every run counts as collapsed: n_init's three, then the two restarts
    monkeypatch.setattr(ganclust._fit, "COLLAPSE_FRACTION", 1.01)
    with pytest.warns(ganclust.ClusterCollapseWarning):
        model = ClusterGAN(3, **tiny(**THREE)).fit(X)
    assert model.init_collapsed_.all() and len(model.init_scores_) == 5
    assert {row["consensus"] for row in model.history_ if "consensus" in row} == {5}
    assert evaluate(y, model.labels_)["acc"] == 1.0
    # one run and its two restarts are three runs, but n_init=1 keeps the best-ranked
    with pytest.warns(ganclust.ClusterCollapseWarning):
        single = ClusterGAN(3, **tiny(**{**THREE, "n_init": 1})).fit(X)
    assert len(single.init_scores_) == 3
    assert not any("consensus" in row for row in single.history_)


def test_two_runs_keep_the_best_ranked_one():
    X, _ = _blobs()
    model = ClusterGAN(3, **tiny(**{**THREE, "n_init": 2})).fit(X)
    assert not any("consensus" in row for row in model.history_)
