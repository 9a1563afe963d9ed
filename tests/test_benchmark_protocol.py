"""The protocol check of benchmark results: each target is judged as the issue states it."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from _common import bayes_accuracy  # noqa: E402
from accuracy import make_row  # noqa: E402
from protocol import check, format_table  # noqa: E402


def _row(dataset, method, accs, seeds=None):
    seeds = range(len(accs)) if seeds is None else seeds
    runs = [
        {"seed": s, "acc": a, "nmi": a, "ari": a, "seconds": 1.0, "sizes": [5, 5], "score": 1.0}
        for s, a in zip(seeds, accs, strict=True)
    ]
    return make_row(dataset, method, 10, runs, {}, None)


def test_an_image_set_needs_the_margin_the_floor_and_ten_seeds():
    rows = [
        _row("digits", "clustergan", [0.955] * 9 + [0.945]),
        _row("digits", "tsne-gmm", [0.95] * 10),
        _row("digits", "umap-gmm", [0.88] * 10),
    ]
    (verdict,) = check(rows)
    assert verdict["kind"] == "images"
    assert verdict["best_shallow"] == "tsne-gmm"
    assert verdict["margin"] == pytest.approx(0.954 - 0.95)
    assert verdict["worst_gap"] == pytest.approx(0.009)
    assert verdict["checks"] == {"seeds": True, "worst": True, "margin": False, "floor": False}
    assert "**no**" in format_table([verdict])


def test_a_worst_seed_far_under_the_mean_fails_and_few_seeds_fail():
    rows = [
        _row("digits", "clustergan", [0.97, 0.97, 0.97, 0.90]),
        _row("digits", "tsne-gmm", [0.9]),
    ]
    (verdict,) = check(rows)
    assert verdict["checks"]["worst"] is False
    assert verdict["checks"]["seeds"] is False
    assert verdict["checks"]["margin"] is True


def test_a_set_drawn_per_seed_is_judged_against_each_seeds_true_model():
    name = "mixture-k5 (data per seed)"
    ceilings = [bayes_accuracy("mixture-k5", seed) for seed in range(10)]
    # each seed 0.01 under its own Bayes classifier: the draws differ, the fit does not
    rows = [_row(name, "clustergan", [c - 0.01 for c in ceilings])]
    rows.append(_row(name, "umap-gmm", [c - 0.02 for c in ceilings]))
    (verdict,) = check(rows)
    assert verdict["kind"] == "vectors"
    assert verdict["to_bayes_mean"] == pytest.approx(-0.01)
    assert verdict["worst_gap"] == pytest.approx(0.0, abs=1e-9)
    assert verdict["checks"] == {"seeds": True, "worst": True, "margin": True}


def test_a_set_without_shallow_baselines_cannot_pass_the_margin():
    (verdict,) = check([_row("digits", "clustergan", [0.99] * 10)])
    assert verdict["checks"]["margin"] is False
    assert "none run" in format_table([verdict])


def test_the_same_row_in_two_files_is_refused():
    row = _row("digits", "clustergan", [0.95])
    with pytest.raises(ValueError, match="in two files; merge them first"):
        check([row, row])
