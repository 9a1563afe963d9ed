"""Check accuracy results against the development protocol's targets, set by set.

Reads result files written by ``accuracy.py`` (or ``merge_results.py``) and, for every dataset
that has a ClusterGAN row, says whether it meets the targets of the issue "Accuracy that holds on
data we have never seen": at least 10 seeds; the worst seed within 0.02 of the mean; the mean
above the best shallow manifold pipeline (UMAP, openTSNE or scikit-learn's t-SNE, each + GMM) by
0.01 on images and at least equal on vectors; MNIST-10k at 0.975 and digits at 0.96.

On a synthetic set drawn anew for every seed (``--vary-data``) the seeds are different data sets
of different difficulty, so the spread is also given as each seed's distance to the true model
(the Bayes classifier of that seed's mixture): how far the fit, not the draw, varies.

    python benchmarks/protocol.py accuracy-protocol --out protocol

Writes benchmarks/results/<out>.json and .md.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import (
    bayes_accuracy,
    load_named,
    provenance_parts,
    read_results,
    summarise,
    write_results,
)

MIN_SEEDS = 10
MAX_WORST_GAP = 0.02
IMAGE_MARGIN = 0.01
VECTOR_MARGIN = 0.0
SHALLOW = ("tsne-gmm", "umap-gmm", "opentsne-gmm")
FLOORS = {"mnist10k": 0.975, "digits": 0.96}
METHOD = "clustergan"
# what accuracy.py appends to the name of a set drawn anew for every seed
VARY_SUFFIX = " (data per seed)"


def _base(dataset: str) -> str:
    return dataset.removesuffix(VARY_SUFFIX)


def _is_image(dataset: str) -> bool:
    loaded = load_named(_base(dataset), 0)
    if loaded is None:
        raise ValueError(f"{dataset}: its data are not in this workspace")
    return loaded[0].ndim > 2


def check(rows: list[dict]) -> list[dict]:
    """One verdict per dataset with a ClusterGAN row (see the module docstring)."""
    by_set: dict[str, dict[str, dict]] = {}
    for row in rows:
        methods = by_set.setdefault(row["dataset"], {})
        if row["method"] in methods:
            raise ValueError(f"{row['dataset']}, {row['method']}: in two files; merge them first")
        methods[row["method"]] = row
    verdicts = []
    for dataset, methods in by_set.items():
        if METHOD not in methods:
            continue
        runs = methods[METHOD]["runs"]
        acc = np.array([run["acc"] for run in runs])
        image = _is_image(dataset)
        summary = summarise(list(acc))
        verdict: dict = {
            "dataset": dataset,
            "kind": "images" if image else "vectors",
            "seeds": len(acc),
            "mean": summary["mean"],
            "std": summary["std"],
            "worst": summary["min"],
            "worst_gap": summary["mean"] - summary["min"],
        }
        if dataset.endswith(VARY_SUFFIX):
            ceilings = np.array([bayes_accuracy(_base(dataset), run["seed"]) for run in runs])
            to_bayes = acc - ceilings
            verdict["to_bayes_mean"] = float(to_bayes.mean())
            verdict["to_bayes_worst"] = float(to_bayes.min())
            verdict["worst_gap"] = float(to_bayes.mean() - to_bayes.min())
        shallow = {m: methods[m] for m in SHALLOW if m in methods}
        if shallow:
            best = max(shallow, key=lambda m: shallow[m]["acc"]["mean"])
            verdict["best_shallow"] = best
            verdict["best_shallow_mean"] = shallow[best]["acc"]["mean"]
            verdict["best_shallow_seeds"] = len(shallow[best]["runs"])
            verdict["margin"] = verdict["mean"] - verdict["best_shallow_mean"]
        needed = IMAGE_MARGIN if image else VECTOR_MARGIN
        checks = {
            "seeds": verdict["seeds"] >= MIN_SEEDS,
            "worst": verdict["worst_gap"] <= MAX_WORST_GAP,
            "margin": "margin" in verdict and verdict["margin"] >= needed - 1e-12,
        }
        if _base(dataset) in FLOORS:
            checks["floor"] = verdict["mean"] >= FLOORS[_base(dataset)]
        verdict["checks"] = checks
        verdicts.append(verdict)
    return verdicts


def format_table(verdicts: list[dict]) -> str:
    """The verdicts as a markdown table, a mark per target."""

    def mark(ok: bool | None) -> str:
        return "" if ok is None else ("yes" if ok else "**no**")

    lines = [
        "ClusterGAN at the default against the protocol's targets. Worst gap: the mean minus the"
        " worst seed (on sets drawn anew per seed: of each seed's ACC minus its Bayes ACC)."
        f" Targets: {MIN_SEEDS}+ seeds, worst gap <= {MAX_WORST_GAP}, margin over the best of"
        f" {', '.join(SHALLOW)} >= {IMAGE_MARGIN} on images and >= {VECTOR_MARGIN} on vectors,"
        " MNIST-10k >= 0.975, digits >= 0.96.",
        "",
        "| dataset | kind | seeds | ACC | worst gap | best shallow (seeds) | margin | floor |"
        " seeds ok | worst ok | margin ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        shallow = (
            f"{v['best_shallow']} {v['best_shallow_mean']:.4f} ({v['best_shallow_seeds']})"
            if "best_shallow" in v
            else "none run"
        )
        margin = f"{v['margin']:+.4f}" if "margin" in v else ""
        floor = v["checks"].get("floor")
        lines.append(
            f"| {v['dataset']} | {v['kind']} | {v['seeds']} | {v['mean']:.4f} ± {v['std']:.4f}"
            f" ({v['worst']:.4f}) | {v['worst_gap']:.4f} | {shallow} | {margin} |"
            f" {mark(floor)} | {mark(v['checks']['seeds'])} | {mark(v['checks']['worst'])} |"
            f" {mark(v['checks']['margin'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="result names under benchmarks/results")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    payloads = [read_results(name) for name in args.results]
    rows = [row for payload in payloads for row in payload["rows"]]
    verdicts = check(rows)
    provenance = [part for payload in payloads for part in provenance_parts(payload)]
    table = format_table(verdicts)
    write_results(args.out, {"provenance": provenance, "verdicts": verdicts}, table)
    print(table)


if __name__ == "__main__":
    main()
