"""A default fit against the same fit at a reference commit, back to back in one run.

The reference commit is checked out into a temporary git worktree, and each fit runs in its own
subprocess (``PYTHONPATH`` set to that version's ``src``), so both see the same data, machine and
load. Fits alternate (current, reference, current, ...), and the ratio of mean seconds is the
speed-up. Each fit's ACC and phase breakdown are reported beside it.

    python benchmarks/fit_time.py --reference 3614410 [--dataset mnist10k] [--seeds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from _common import ROOT, load_named, provenance, reference_tree, write_results

# run in each subprocess: one default ClusterGAN fit, its ACC and phases as JSON on stdout
FIT = """
import json, sys, time
import numpy as np
sys.path.insert(0, {bench!r})
from _common import load_named
import ganclust
from ganclust.metrics import clustering_accuracy
X, y = load_named({dataset!r})
started = time.perf_counter()
model = ganclust.ClusterGAN(n_clusters=len(np.unique(y)), random_state={seed}).fit(X)
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "acc": clustering_accuracy(y, model.labels_),
                  "phases": getattr(model, "phase_seconds_", {{}})}}))
"""


def run_fit(src: Path, dataset: str, seed: int) -> dict[str, object]:
    """One default fit by the ganclust in ``src``, in a fresh interpreter."""
    code = FIT.format(bench=str(ROOT / "benchmarks"), dataset=dataset, seed=seed)
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="the commit to compare against")
    parser.add_argument("--dataset", default="mnist10k")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", default="fit-time")
    args = parser.parse_args()
    assert load_named(args.dataset) is not None, f"{args.dataset} is not available here"
    origin = provenance()
    fits: dict[str, list[dict[str, object]]] = {"current": [], "reference": []}
    with reference_tree(args.reference) as reference:
        for seed in range(args.seeds):
            for which, src in (("current", ROOT / "src"), ("reference", reference)):
                fit = run_fit(src, args.dataset, seed)
                fits[which].append({"seed": seed, **fit})
                print(which, seed, json.dumps(fit), flush=True)
    table = _table(fits, args)
    print(table)
    payload = {"provenance": origin, "reference": args.reference, "dataset": args.dataset,
               "fits": fits}  # fmt: skip
    write_results(args.out, payload, table)


def _table(fits: dict[str, list[dict[str, object]]], args: argparse.Namespace) -> str:
    def mean(which: str, key: str) -> float:
        return float(np.mean([fit[key] for fit in fits[which]]))

    ratio = mean("reference", "seconds") / mean("current", "seconds")
    phases = sorted({p for which in fits for fit in fits[which] for p in fit["phases"]})  # type: ignore[union-attr]
    lines = [
        f"Default ClusterGAN on {args.dataset}, {args.seeds} seed(s), fits alternating in one "
        f"run; reference: commit `{args.reference}`.",
        "",
        "| version | ACC (mean) | seconds (mean) | speed-up | "
        + " | ".join(f"{p} s" for p in phases)
        + " |",
        "|---|---|---|---|" + "---|" * len(phases),
    ]
    for which in ("reference", "current"):
        cells = [
            f"{np.mean([fit['phases'].get(p, 0.0) for fit in fits[which]]):.1f}"  # type: ignore[union-attr]
            for p in phases
        ]
        speed = 1.0 if which == "reference" else ratio
        lines.append(
            f"| {which} | {mean(which, 'acc'):.4f} | {mean(which, 'seconds'):.1f} | "
            f"{speed:.2f}x | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
