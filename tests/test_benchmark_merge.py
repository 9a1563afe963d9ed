"""The benchmark's result merging: pooled summaries, kept provenance, refused mixes."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from merge_results import _part_key, merge  # noqa: E402


def _run(seed, acc):
    return {"seed": seed, "acc": acc, "nmi": acc, "ari": acc, "seconds": 1.0, "sizes": [5, 5]}


def _part(commit, method, runs, params=None):
    row = {
        "dataset": "d",
        "method": method,
        "params": params or {},
        "n_samples": 10,
        "bayes_acc": None,
        "runs": runs,
    }
    return {"provenance": {"commit": commit}, "seeds": len(runs), "rows": [row]}


def test_merge_pools_seeds_and_keeps_every_provenance():
    merged = merge(
        [_part("a", "kmeans", [_run(0, 0.5), _run(1, 0.7)]), _part("b", "kmeans", [_run(2, 0.9)])]
    )
    (row,) = merged["rows"]
    assert [r["seed"] for r in row["runs"]] == [0, 1, 2]
    assert row["acc"]["mean"] == pytest.approx(0.7)
    assert row["acc"]["min"] == pytest.approx(0.5)
    assert row["min_cluster_fraction"]["mean"] == pytest.approx(0.5)
    assert [p["commit"] for p in merged["provenance"]] == ["a", "b"]
    assert merged["seeds"] == 3


def test_merge_keeps_rows_of_other_methods_apart():
    merged = merge([_part("a", "kmeans", [_run(0, 0.5)]), _part("b", "gmm", [_run(0, 0.6)])])
    assert [(r["method"], len(r["runs"])) for r in merged["rows"]] == [("kmeans", 1), ("gmm", 1)]


def test_merge_refuses_a_seed_run_twice():
    with pytest.raises(ValueError, match=r"seed\(s\) \[1\] appear in two parts"):
        merge([_part("a", "kmeans", [_run(1, 0.5)]), _part("b", "kmeans", [_run(1, 0.6)])])


def test_merge_refuses_parts_with_different_parameters():
    with pytest.raises(ValueError, match="differ in parameters"):
        merge(
            [
                _part("a", "clustergan", [_run(0, 0.5)]),
                _part("b", "clustergan", [_run(1, 0.6)], params={"beta_c": 1.0}),
            ]
        )


def test_merge_with_replace_lets_a_later_part_supersede_a_row_and_keeps_the_others():
    old = _part("a", "kmeans", [_run(0, 0.5), _run(1, 0.6)])
    old["rows"].append({**old["rows"][0], "method": "gmm", "runs": [_run(0, 0.4)]})
    new = _part("b", "kmeans", [_run(0, 0.9), _run(1, 0.8), _run(2, 0.7)])
    merged = merge([old, new], replace=True)
    rows = {r["method"]: r for r in merged["rows"]}
    assert [r["acc"] for r in rows["kmeans"]["runs"]] == [0.9, 0.8, 0.7]
    assert [r["acc"] for r in rows["gmm"]["runs"]] == [0.4]
    assert [p["commit"] for p in merged["provenance"]] == ["a", "b"]
    with pytest.raises(ValueError, match=r"seed\(s\) \[0, 1\] appear in two parts"):
        merge([old, new])


def test_merge_with_replace_drops_the_provenance_of_parts_no_row_comes_from():
    old = _part("a", "kmeans", [_run(0, 0.5)])
    other = _part("b", "gmm", [_run(0, 0.4)])
    first = merge([old, other])
    assert [p["commit"] for p in first["provenance"]] == ["a", "b"]
    # a later merge replaces a's only row: a goes, b stays, and each run names its part
    second = merge([first, _part("c", "kmeans", [_run(0, 0.9)])], replace=True)
    assert [p["commit"] for p in second["provenance"]] == ["b", "c"]
    runs = {r["method"]: r["runs"] for r in second["rows"]}
    assert runs["kmeans"][0]["parts"] == [1] and runs["gmm"][0]["parts"] == [0]  # c, b
    # merged again, a file keeps its size: positions map back to the same parts
    again = merge([second])
    assert again["provenance"] == second["provenance"] and again["rows"] == second["rows"]
    # runs written with the parts' keys (before positions) still name their part
    for row in second["rows"]:
        for run in row["runs"]:
            run["parts"] = [_part_key(second["provenance"][i]) for i in run["parts"]]
    assert merge([second])["rows"] == again["rows"]
    # a part filtered out entirely is not named either
    assert [p["commit"] for p in merge([old, other], methods=["gmm"])["provenance"]] == ["b"]


def test_merge_tells_apart_two_parts_of_one_commit_written_in_the_same_second():
    def part(dataset):
        payload = _part("a", "kmeans", [_run(0, 0.5)])
        payload["provenance"].update(
            date="2026-12-07 04:14:38 UTC", command=f"--datasets {dataset}"
        )
        payload["rows"][0]["dataset"] = dataset
        return payload

    merged = merge([part("d1"), part("d2")])
    assert [p["command"] for p in merged["provenance"]] == ["--datasets d1", "--datasets d2"]


def test_merge_keeps_every_part_of_an_untagged_file_a_kept_run_may_come_from():
    legacy = merge([_part("a", "kmeans", [_run(0, 0.5)]), _part("b", "gmm", [_run(0, 0.4)])])
    for row in legacy["rows"]:
        for run in row["runs"]:
            del run["parts"]  # as written before runs named their part
    merged = merge([legacy, _part("c", "kmeans", [_run(0, 0.9)])], replace=True)
    assert [p["commit"] for p in merged["provenance"]] == ["a", "b", "c"]


def test_the_simulated_n_init_ranks_runs_as_n_init_does():
    from accuracy import selection_study

    # the more stable run has the lower mean cluster quality: n_init keeps the other one
    good = {"acc": 0.95, "score": 1.0, "cluster_quality": [0.99, None, 0.98]}
    merged = {"acc": 0.85, "score": 2.0, "cluster_quality": [0.99, 0.60, 0.98]}
    study = selection_study([good, merged])
    assert study["criterion"] == "quality"
    assert study["all_picked_acc"] == 0.95
    assert study["pair_gain_mean"] == pytest.approx(0.05)
    # runs recorded before their quality was kept are ranked by the stability score alone
    old = [{k: v for k, v in run.items() if k != "cluster_quality"} for run in (good, merged)]
    study = selection_study(old)
    assert study["criterion"] == "stability"
    assert study["all_picked_acc"] == 0.85


def test_merge_keeps_only_the_datasets_asked_for():
    other = _part("b", "kmeans", [_run(0, 0.6)])
    other["rows"][0]["dataset"] = "e"
    merged = merge([_part("a", "kmeans", [_run(0, 0.5)]), other], datasets=["e"])
    assert [(r["dataset"], r["acc"]["mean"]) for r in merged["rows"]] == [("e", 0.6)]
    refused = r"no rows to merge \(datasets kept: \['d'\], methods: None\)"
    with pytest.raises(ValueError, match=refused):
        merge([other], datasets=["d"])


def test_merge_keeps_only_the_methods_asked_for():
    parts = [_part("a", "kmeans", [_run(0, 0.5)]), _part("b", "clustergan", [_run(0, 0.9)])]
    merged = merge(parts, methods=["kmeans"])
    assert [r["method"] for r in merged["rows"]] == ["kmeans"]
    with pytest.raises(ValueError, match="no rows to merge"):
        merge(parts, methods=["gmm"])


def _k_run(seed, k, k_true=10, fitted=True):
    run = {"seed": seed, "k": k, "k_true": k_true, "estimate_seconds": 1.0}
    if fitted:
        acc = 0.9 if k == k_true else 0.8
        run.update(acc=acc, ari=acc, acc_true_k=0.9, ari_true_k=0.9, cost_ratio=1.5)
        run["looks"] = f"{k}→{k}"
    return run


def _k_part(commit, rows):
    from auto_k import summary_row

    rows = [summary_row(name, runs) for name, runs in rows]
    return {"provenance": {"commit": commit}, "seeds": 5, "rows": rows}


def test_auto_k_merge_pools_sets_and_names_each_rows_runs():
    from auto_k import merge as merge_auto_k
    from auto_k import merged_table

    fitted = _k_part("a", [("digits", [_k_run(0, 10), _k_run(1, 11)])])
    other = _k_part("b", [("digits", [_k_run(2, 10)]), ("blobs-k3", [_k_run(0, 3, 3)])])
    estimate = _k_part("c", [("digits", [_k_run(0, 11, fitted=False)])])
    merged = merge_auto_k([fitted, other, estimate])
    assert [p["commit"] for p in merged["provenance"]] == ["a", "b", "c"]
    rows = {(r["dataset"], "acc" in r): r for r in merged["rows"]}
    # the fitted rows of one set pool seed by seed; the estimate-only row stays apart
    assert rows["digits", True]["k_estimates"] == [10, 11, 10]
    assert rows["digits", True]["exact"] == 2
    assert rows["digits", True]["acc"]["mean"] == pytest.approx((0.9 + 0.8 + 0.9) / 3)
    assert rows["digits", True]["parts"] == [0, 1]
    assert rows["blobs-k3", True]["parts"] == [1]
    assert rows["digits", False]["k_estimates"] == [11]
    assert rows["digits", False]["parts"] == [2]
    text = merged_table(merged["rows"])
    assert "| digits | 10 | 10, 11, 10 | 2/3 | 3/3 |" in text
    assert "| digits | 10 | 11 | 0/1 | 1/1 |" in text
    assert "1: digits; 2: digits, blobs-k3; 3: digits (estimate)." in text
    # a merged file merges again: its rows' runs keep pointing at their own provenance
    again = merge_auto_k([_k_part("d", [("mnist5", [_k_run(0, 5, 5)])]), merged])
    assert [p["commit"] for p in again["provenance"]] == ["d", "a", "b", "c"]
    rows = {(r["dataset"], "acc" in r): r for r in again["rows"]}
    assert rows["digits", True]["parts"] == [1, 2]
    assert rows["digits", False]["parts"] == [3]


def test_auto_k_merge_refuses_a_seed_run_twice_or_another_true_k():
    from auto_k import merge as merge_auto_k

    one = _k_part("a", [("digits", [_k_run(0, 10), _k_run(1, 10)])])
    with pytest.raises(ValueError, match=r"digits: seed\(s\) \[1\] appear in two parts"):
        merge_auto_k([one, _k_part("b", [("digits", [_k_run(1, 10)])])])
    with pytest.raises(ValueError, match="differ in the true K"):
        merge_auto_k([one, _k_part("b", [("digits", [_k_run(2, 10, k_true=9)])])])


def test_auto_k_merge_with_replace_supersedes_a_set_and_drops_runs_no_row_names():
    from auto_k import merge as merge_auto_k

    old = _k_part("a", [("digits", [_k_run(0, 10)])])
    vectors = _k_part("b", [("blobs-k3", [_k_run(0, 2, 3), _k_run(1, 3, 3)])])
    merged = merge_auto_k([old, vectors])
    again = _k_part("c", [("blobs-k3", [_k_run(0, 3, 3), _k_run(1, 3, 3)])])
    replaced = merge_auto_k([merged, again], replace=True)
    # part b measured only blobs-k3, which part c measured again: b is no longer named
    assert [p["commit"] for p in replaced["provenance"]] == ["a", "c"]
    rows = {r["dataset"]: r for r in replaced["rows"]}
    assert rows["blobs-k3"]["k_estimates"] == [3, 3] and rows["blobs-k3"]["parts"] == [1]
    assert rows["digits"]["k_estimates"] == [10] and rows["digits"]["parts"] == [0]
    # without --replace the same seeds are refused, not mixed
    with pytest.raises(ValueError, match=r"blobs-k3: seed\(s\) \[0, 1\] appear in two parts"):
        merge_auto_k([merged, again])
