"""One process against several under torchrun: the same default fit, its accuracy and its time.

Each seed's fit runs through the command line twice, in fresh processes, the order of the two
alternating: ``ganclust fit`` alone (torch's default thread count) and ``torchrun
--nproc-per-node N -m ganclust fit`` (torchrun gives each process one thread). The table shows
the mean ± std and the worst seed of ACC and ARI for each, and the wall-clock seconds of the
whole fit and of its training phases, with their ratios.

    python benchmarks/distributed.py [--dataset digits] [--seeds 5] [--processes 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import provenance, summarise, write_results

import ganclust

SRC = Path(__file__).resolve().parents[1] / "src"
TRAINING = ("training", "refine_training")


def fit(dataset: str, seed: int, processes: int, folder: Path) -> dict[str, float]:
    """One fit through the CLI in a fresh process (or ``processes`` of them)."""
    out = folder / f"run-{processes}-{seed}"
    fit_args = ["fit", "--data", dataset, "--random-state", str(seed), "--out", str(out),
                "--quiet"]  # fmt: skip
    launcher = ["-m", "ganclust"]
    if processes > 1:
        launcher = ["-m", "torch.distributed.run", "--standalone",
                    f"--nproc-per-node={processes}", "-m", "ganclust"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    subprocess.run([sys.executable, *launcher, *fit_args], check=True, env=env,
                   capture_output=True)  # fmt: skip
    run = json.loads((out / "run.json").read_text())
    phases = ganclust.load(out / "model.safetensors").phase_seconds_
    return {
        "acc": run["metrics"]["acc"],
        "ari": run["metrics"]["ari"],
        "seconds": run["seconds"],
        "training_seconds": sum(phases.get(p, 0.0) for p in TRAINING),
        "processes": run.get("processes", 1),
    }


def _row(name: str, runs: list[dict[str, float]], reference: list[dict[str, float]]) -> str:
    acc, ari = summarise([r["acc"] for r in runs]), summarise([r["ari"] for r in runs])
    seconds = np.mean([r["seconds"] for r in runs])
    training = np.mean([r["training_seconds"] for r in runs])
    ratio = seconds / np.mean([r["seconds"] for r in reference])
    train_ratio = training / np.mean([r["training_seconds"] for r in reference])
    return (
        f"| {name} | {acc['mean']:.4f} ± {acc['std']:.4f} ({acc['min']:.4f}) "
        f"| {ari['mean']:.4f} ± {ari['std']:.4f} ({ari['min']:.4f}) "
        f"| {seconds:.1f} ({ratio:.2f}x) | {training:.1f} ({train_ratio:.2f}x) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", default="scale#distributed")
    args = parser.parse_args()
    origin = provenance()
    runs: dict[int, list[dict[str, float]]] = {1: [], args.processes: []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            order = [1, args.processes] if seed % 2 == 0 else [args.processes, 1]
            for processes in order:
                runs[processes].append(fit(args.dataset, seed, processes, Path(tmp)))
                print(processes, seed, runs[processes][-1], flush=True)
    one, many = runs[1], runs[args.processes]
    gap = np.mean([r["acc"] for r in many]) - np.mean([r["acc"] for r in one])
    table = "\n".join(
        [
            f"Default ClusterGAN on {args.dataset}, seeds 0-{args.seeds - 1}: ACC and ARI as "
            "mean ± std (worst seed); seconds as the mean (ratio to one process).",
            "",
            "| processes | ACC | ARI | seconds, whole fit | seconds, training |",
            "|---|---|---|---|---|",
            _row("1 (torch's default threads)", one, one),
            _row(f"{args.processes} under torchrun (1 thread each)", many, one),
            "",
            f"Mean ACC of {args.processes} processes minus one: {gap:+.4f} "
            f"(std over seeds of one process: {np.std([r['acc'] for r in one]):.4f}).",
        ]
    )
    payload = {"provenance": origin, "dataset": args.dataset, "runs": runs, "acc_gap": gap}
    write_results(args.out, payload, table)
    print(table)


if __name__ == "__main__":
    main()
