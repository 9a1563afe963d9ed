"""Seconds per training epoch of each method: this commit, a reference commit, and bf16 autocast.

Each method trains two epochs of its first round (no pseudo-labels, no refinement, so that
only the GAN's steps are timed) on ``--samples`` samples of the data, in a fresh process per
fit. Three versions run back to back, ``--repeats`` times in turn, so that they share the
machine's state:

- ``reference``: the commit given, checked out into a temporary worktree;
- ``current``: this checkout;
- ``current, bf16 autocast``: this checkout with ``options={"precision": "bf16"}`` (the losses
  under bf16 autocast), to measure whether bf16 is a lever on this CPU (the matmul rates of
  both precisions are measured in the same run).

The speed-up is the reference's mean seconds per epoch over each version's.

    python benchmarks/step_time.py --reference 74251fd [--dataset mnist10k] [--samples 3000]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import (
    ROOT,
    load_named,
    matmul_gflops,
    provenance,
    reference_tree,
    run_python,
    write_results,
)

METHODS = ("ClusterGAN", "InfoGAN", "CatGAN")
VERSIONS = ("reference", "current", "current, bf16 autocast")

# run in each subprocess: one method's two epochs; its mean seconds per epoch as JSON
FIT = """
import json, sys
sys.path.insert(0, {bench!r})
from _common import load_named
import ganclust
X, y = load_named({dataset!r})
options = {{"init": "random", "refine": 0}}
if {bf16!r}:
    options["precision"] = "bf16"
model = getattr(ganclust, {method!r})(
    n_clusters=len(set(y.tolist())), random_state=0, max_epochs=2, options=options,
).fit(X[:{samples}])
epochs = [row["seconds"] for row in model.history_ if "seconds" in row]
print(json.dumps({{"epoch_seconds": sum(epochs) / len(epochs), "epochs": len(epochs)}}))
"""


def run_fit(src, method: str, args: argparse.Namespace, bf16: bool) -> float:
    """Mean seconds per epoch of one fit by the ganclust in ``src``, in a fresh interpreter."""
    code = FIT.format(
        bench=str(ROOT / "benchmarks"), dataset=args.dataset, method=method,
        samples=args.samples, bf16=bf16,
    )  # fmt: skip
    return float(run_python(src, code)["epoch_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="the commit to compare against")
    parser.add_argument("--dataset", default="mnist10k")
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="costs#step-time")
    args = parser.parse_args()
    assert load_named(args.dataset) is not None, f"{args.dataset} is not available here"
    origin = provenance()
    rates = {"fp32": matmul_gflops("float32", 1024), "bf16": matmul_gflops("bfloat16", 1024)}
    seconds: dict[str, dict[str, list[float]]] = {m: {v: [] for v in VERSIONS} for m in METHODS}
    with reference_tree(args.reference) as reference:
        sources = {"reference": reference, "current": ROOT / "src"}
        for _ in range(args.repeats):
            for method in METHODS:
                for version in VERSIONS:
                    src = sources[version.split(",")[0]]
                    value = run_fit(src, method, args, bf16="bf16" in version)
                    seconds[method][version].append(value)
                    print(f"{method:10s} {version:24s} {value:6.2f} s / epoch", flush=True)
    table = _table(seconds, rates, args)
    print(table)
    payload = {"provenance": origin, "reference": args.reference, "dataset": args.dataset,
               "samples": args.samples, "matmul_gflops": rates, "seconds": seconds}  # fmt: skip
    write_results(args.out, payload, table)


def _table(seconds: dict, rates: dict[str, float], args: argparse.Namespace) -> str:
    lines = [
        f"Two epochs of each method's first round on {args.samples} samples of {args.dataset} "
        f"(no pseudo-labels, no refinement), {args.repeats} fits per version in turn; reference: "
        f"commit `{args.reference}`. Matrix products on the same threads: fp32 "
        f"{rates['fp32']:.0f} GFLOP/s, bf16 {rates['bf16']:.0f} GFLOP/s.",
        "",
        "| method | version | s / epoch (mean) | speed-up over the reference |",
        "|---|---|---|---|",
    ]
    for method, versions in seconds.items():
        reference = float(np.mean(versions["reference"]))
        for version, values in versions.items():
            mean = float(np.mean(values))
            lines.append(f"| {method} | {version} | {mean:.2f} | {reference / mean:.2f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
