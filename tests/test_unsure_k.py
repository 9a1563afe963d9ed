"""``n_clusters="auto"`` says when its looks left K in doubt: they named K two or more apart, or
one look scored three or more K within noise of its best. The doubt is given in a warning, the
CLI's line and the report.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import tiny

from ganclust import ClusterCountWarning, ClusterGAN
from ganclust._k_doubts import doubts, in_doubt, looks_phrase, named_ks
from ganclust._k_estimate import KEstimate
from ganclust.cli import main
from ganclust.n_clusters import FeatureLook
from ganclust.runs import k_estimate_line


def _look(k: int, candidates=range(2, 13), flat=()) -> dict:
    """A look that names ``k``, clearly unless the candidates in ``flat`` score as well."""
    candidates = list(candidates)
    scores = [0.5 if c == k or c in flat else 0.4 for c in candidates]
    return {"n_clusters": k, "candidates": candidates, "scores": scores,
            "errors": [0.01] * len(candidates), "linked": [], "measure": "silhouette",
            "gaussian": None, "rotated": None}  # fmt: skip


def _estimate(data: int, rotated: int | None, features: int | None, flat=()) -> dict:
    first = _look(data, flat=flat)
    if rotated is not None:
        first["rotated"] = _look(rotated, [data - 1, data] if rotated < data else [data])
    second = _look(features) if features is not None else None
    chosen = features if features is not None else (rotated or data)
    return {"n_clusters": chosen, "criterion": "", "data_map": first, "features": second,
            "seconds": 1.0}  # fmt: skip


@pytest.mark.parametrize(
    ("looks", "expected"),
    [
        ((6, 6, 11), True),  # the held-out imbalanced MNIST's seed 1
        ((9, 8, 7), True),  # two apart across the three looks
        ((11, 10, 10), False),  # the tuned sets: the pixel map one too many, the others agree
        ((10, 9, 10), False),
        ((6, 5, 5), False),
        ((3, None, 5), True),  # vectors: no map under rotations
        ((3, None, 4), False),
        ((7, None, None), False),  # one look alone cannot disagree
    ],
)
def test_looks_two_or_more_apart_leave_k_in_doubt(looks, expected):
    estimate = _estimate(*looks)
    assert named_ks(estimate) == [k for k in looks if k is not None]
    assert bool(doubts(estimate)) is expected
    # the doubt is read from the looks kept with the model, so a loaded model says the same
    assert KEstimate.from_json(json.loads(json.dumps(estimate))).unsure is expected


def test_a_look_that_scores_three_or_more_k_alike_leaves_k_in_doubt():
    flat = _estimate(3, None, 3, flat=(4, 5, 6))  # the data's map cannot tell 3 from 6
    assert doubts(flat) == ["the data's map scores K = 3 to 6 within noise of the best"]
    assert in_doubt(flat)[1:] == (3, 6)
    assert not doubts(_estimate(3, None, 3, flat=(4, 5)))  # 3 to 5: as on the tuned sets
    # a Gaussian mixture's BIC has no noise to be within: it is never flat
    bic = _estimate(3, None, None, flat=(4, 5, 6))
    bic["data_map"]["measure"] = "bic"
    assert not doubts(bic)


def test_the_cli_line_says_why_only_when_in_doubt():
    line = k_estimate_line(_estimate(6, 6, 11))
    said = "its looks disagree (the data's map 6, the map under rotations 6 and the learned "
    assert line.endswith(f"UNSURE: {said}features 11); compare fits at K=6 to 11")
    assert "UNSURE" not in k_estimate_line(_estimate(11, 10, 10))
    phrase = looks_phrase(_estimate(6, 6, 11))
    assert phrase == "the data's map 6, the map under rotations 6 and the learned features 11"


def _cubes(n: int = 120) -> np.ndarray:
    """Three far-apart uniform cubes: read by the silhouette, which says 3."""
    rng = np.random.default_rng(0)
    return (12 * np.eye(6)[np.arange(n) % 3] + rng.uniform(-1, 1, (n, 6))).astype(np.float32)


def _features_say(monkeypatch, k: int) -> None:
    """The second look, as if the learned features pointed to ``k`` clusters."""

    def look(self, nets):
        self.look = KEstimate(k, np.arange(2, 7), np.where(np.arange(2, 7) == k, 0.5, 0.4),
                              np.full(5, 0.01))  # fmt: skip
        return k

    monkeypatch.setattr(FeatureLook, "__call__", look)


def test_a_fit_whose_looks_disagree_by_two_warns_and_one_that_disagrees_by_one_does_not(
    monkeypatch,
):
    X = _cubes()
    _features_say(monkeypatch, 5)
    with pytest.warns(ClusterCountWarning) as caught:
        model = ClusterGAN("auto", max_clusters=6, **tiny(max_epochs=1)).fit(X)
    assert model.n_clusters_ == 5 and model.state_.n_clusters_estimate.unsure
    (message,) = [str(w.message) for w in caught if w.category is ClusterCountWarning]
    said = "its looks disagree (the data's map 3 and the learned features 5)"
    assert f'ClusterGAN: n_clusters="auto" is unsure of K: {said}; the model has K=5' in message
    assert "Compare fits at K=3 to 5" in message

    _features_say(monkeypatch, 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ClusterGAN("auto", max_clusters=6, **tiny(max_epochs=1)).fit(X)
    assert model.n_clusters_ == 4 and not model.state_.n_clusters_estimate.unsure
    assert not [w for w in caught if issubclass(w.category, ClusterCountWarning)]


def test_the_cli_and_its_report_say_an_unsure_k(monkeypatch, tmp_path, capsys):
    np.savez(tmp_path / "cubes.npz", X=_cubes(), y=np.arange(120) % 3)
    _features_say(monkeypatch, 5)
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "cubes.npz"), "--n-clusters", "auto", "--report"]
    argv += ["--max-clusters", "6", "--out", str(out), "--max-epochs", "1", "--device", "cpu"]
    assert main([*argv, "--option", "width=8", "--option", "refine=0"]) == 0
    printed, err = capsys.readouterr()
    assert 'ganclust fit: warning: ClusterGAN: n_clusters="auto" is unsure of K' in err
    assert "learned features 5); compare fits at K=3 to 5" in printed
    report = (out / "report.html").read_text()
    assert "unsure number of clusters: its looks disagree (the data&#x27;s map 3" in report
    assert "compare fits at --n-clusters 3 to 5" in report
