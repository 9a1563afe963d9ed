"""``n_clusters="auto"`` says when its looks disagree: a K the data's map and the learned
features name two or more apart is flagged unsure, in a warning, the CLI's line and the report.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import tiny

from ganclust import ClusterCountWarning, ClusterGAN
from ganclust._k_estimate import KEstimate, looks_phrase, named_ks, unsure
from ganclust.cli import main
from ganclust.n_clusters import FeatureLook
from ganclust.runs import k_estimate_line


def _look(k: int, candidates=range(2, 13)) -> dict:
    candidates = list(candidates)
    scores = [0.5 if c == k else 0.4 for c in candidates]
    return {"n_clusters": k, "candidates": candidates, "scores": scores,
            "errors": [0.01] * len(candidates), "linked": [], "measure": "silhouette",
            "gaussian": None, "rotated": None}  # fmt: skip


def _estimate(data: int, rotated: int | None, features: int | None) -> dict:
    first = _look(data)
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
def test_looks_two_or_more_apart_leave_k_unsure(looks, expected):
    estimate = _estimate(*looks)
    assert named_ks(estimate) == [k for k in looks if k is not None]
    assert unsure(estimate) is expected
    # the flag is read from the looks kept with the model, so a loaded model says the same
    assert KEstimate.from_json(json.loads(json.dumps(estimate))).unsure is expected


def test_the_cli_line_names_the_range_only_when_unsure():
    line = k_estimate_line(_estimate(6, 6, 11))
    assert line.endswith("UNSURE: the looks named K from 6 to 11; compare fits")
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
    said = "is unsure of K: the data's map 3 and the learned features 5"
    assert f'ClusterGAN: n_clusters="auto" {said}' in message
    assert "the model has K=5; compare fits at K=3 to 5" in message

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
    assert "UNSURE: the looks named K from 3 to 5; compare fits" in printed
    report = (out / "report.html").read_text()
    assert "unsure number of clusters: n_clusters=&quot;auto&quot; read the data&#x27;s map 3" in (
        report
    )
    assert "compare fits at --n-clusters 3 to 5" in report
