"""A default fit against the same fit at a reference commit, back to back in one run.

The reference commit is checked out into a temporary git worktree, and each fit runs in its own
subprocess (``PYTHONPATH`` set to that version's ``src``), so both see the same data, machine and
load. Fits alternate (current, reference, current, ...), and the ratio of mean seconds is the
speed-up. Each fit's ACC and phase breakdown are reported beside it.

    python benchmarks/fit_time.py --reference 3614410 [--dataset mnist10k] [--seeds 1]
    # and a third version: this checkout with options
    python benchmarks/fit_time.py --reference 3614410 --variant '{"precision": "bf16"}'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _common import ROOT, load_named, provenance, reference_tree, run_python, write_results

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
options = {options!r}
kwargs = {{"options": options}} if options else {{}}
model = ganclust.ClusterGAN(n_clusters=len(np.unique(y)), random_state={seed}, **kwargs).fit(X)
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "acc": clustering_accuracy(y, model.labels_),
                  "phases": getattr(model, "phase_seconds_", {{}})}}))
"""


def run_fit(
    src: Path, dataset: str, seed: int, options: dict[str, object] | None = None
) -> dict[str, object]:
    """One default fit (with ``options``) by the ganclust in ``src``, in a fresh interpreter."""
    code = FIT.format(bench=str(ROOT / "benchmarks"), dataset=dataset, seed=seed, options=options)
    return run_python(src, code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="the commit to compare against")
    parser.add_argument("--dataset", default="mnist10k")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", default="costs#fit-time")
    parser.add_argument(
        "--variant",
        type=json.loads,
        default=None,
        help='options of a third version, this checkout\'s: e.g. \'{"precision": "bf16"}\'',
    )
    args = parser.parse_args()
    assert load_named(args.dataset) is not None, f"{args.dataset} is not available here"
    origin = provenance()
    variant = f"current, options={json.dumps(args.variant)}" if args.variant else None
    fits: dict[str, list[dict[str, object]]] = {"current": [], "reference": []}
    if variant:
        fits[variant] = []
    with reference_tree(args.reference) as reference:
        for seed in range(args.seeds):
            versions = [("current", ROOT / "src", None), ("reference", reference, None)]
            if variant:
                versions.append((variant, ROOT / "src", args.variant))
            for which, src, options in versions:
                fit = run_fit(src, args.dataset, seed, options)
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
    for which in ["reference", "current", *(v for v in fits if v.startswith("current, "))]:
        cells = [
            f"{np.mean([fit['phases'].get(p, 0.0) for fit in fits[which]]):.1f}"  # type: ignore[union-attr]
            for p in phases
        ]
        speed = mean("reference", "seconds") / mean(which, "seconds")
        lines.append(
            f"| {which} | {mean(which, 'acc'):.4f} | {mean(which, 'seconds'):.1f} | "
            f"{speed:.2f}x | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
