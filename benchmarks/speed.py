"""Time to accuracy, side by side in one run: ganclust, the published ClusterGAN recipe, and the
shallow pipelines a user would run instead; training throughput against this machine's matmul
peak; and the cost of a default fit as N grows.

- **Time to accuracy.** ganclust's default ClusterGAN and ClusterGAN's published recipe
  (``recipe="published"``: the paper's networks, WGAN-GP, 5 critic steps, batch 64, Adam at
  1e-4, no pseudo-labels or consistency) are read out at every epoch's end (the head's argmax on
  all the data, the read-out's own time left out of the clock), and once more at the end (the
  fitted ``labels_``). The published recipe trains until ``--budget`` seconds. UMAP + GMM,
  scikit-learn's and openTSNE's t-SNE + GMM are one point each: their time and ACC. The table
  gives each method's time to 0.90 and 0.95 and its ratio to ganclust's.
- **Throughput.** Samples per second of the default's first training round, and the FLOP/s it
  achieves (the FLOPs of one step counted by ``torch.utils.flop_counter``), against fp32 (and
  bf16) matmul rates measured in the same run.
- **Cost as N grows.** The default fit on N = 2,500 to 20,000 samples (a random subset of the
  data, or the data with copies shifted by one pixel), each in a fresh process: seconds and peak
  RSS per phase. The row of the data's own size is the traced fit above.

Every fit runs in its own process, one at a time.

    python benchmarks/speed.py [--dataset mnist10k] [--budget 600] [--sizes 2500 5000 10000 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from _common import (
    RESULTS,
    ROOT,
    PeakRSS,
    load_named,
    matmul_gflops,
    provenance,
    write_results,
)

LEVELS = (0.90, 0.95)
BASELINES = ("umap-gmm", "opentsne-gmm", "tsne-gmm")


def sized(X: np.ndarray, y: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples: a random subset, or the data with copies shifted by one pixel."""
    if n <= len(X):
        keep = np.random.RandomState(seed).permutation(len(X))[:n]
        return X[keep], y[keep]
    copies, labels, shift = [X], [y], 0
    while sum(len(c) for c in copies) < n:
        shift += 1
        axis = -1 - (shift % 2)  # alternately along the width and the height
        moved = np.roll(X, (shift + 1) // 2, axis=axis) if X.ndim >= 3 else X
        copies.append(moved)
        labels.append(y)
    return np.concatenate(copies)[:n], np.concatenate(labels)[:n]


# ---------------------------------------------------------------- one fit, in a child process
class _Budget(Exception):
    """The traced fit ran past its time budget."""


def _trace(y: np.ndarray, started: float, budget: float | None) -> tuple[list, list]:
    """Read the head out at every epoch's end; returns (points, overhead) lists it fills."""
    from ganclust import training
    from ganclust.inference import cluster_logits
    from ganclust.metrics import clustering_accuracy

    points: list[tuple[float, float]] = []
    overhead = [0.0]
    end_epoch = training._Loop._end_epoch

    def traced(loop: training._Loop) -> None:
        end_epoch(loop)
        began = time.perf_counter()
        labels = cluster_logits(loop.method, loop.averaged, loop.x).argmax(dim=1).cpu().numpy()
        acc = clustering_accuracy(y, labels)
        overhead[0] += time.perf_counter() - began
        elapsed = time.perf_counter() - started - overhead[0]
        points.append((round(elapsed, 2), round(acc, 4)))
        if budget is not None and elapsed > budget:
            raise _Budget

    training._Loop._end_epoch = traced  # type: ignore[method-assign]
    return points, overhead


def _flops_per_step(model: object, X: np.ndarray) -> float:
    """FLOPs of one training step (forward and backward), averaged over ``n_critic`` steps."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ganclust import _fit, training
    from ganclust._updates import only_in

    settings = model.settings_  # type: ignore[attr-defined]
    cfg = _fit.train_config(settings, 0)
    nets = cfg.method.build(cfg.nets)
    optimizers = training._optimizers(cfg.method, nets, cfg)
    d_only = only_in(*optimizers) if cfg.adversarial else []
    real = model.preprocessor_.to_tensor(X[: cfg.batch_size])  # type: ignore[attr-defined]
    pseudo = torch.zeros(len(real), dtype=torch.long) if settings.init != "random" else None
    rng = torch.Generator().manual_seed(0)
    counts = []
    for step_count in (0, 1):  # with the generator's update, then without it
        with FlopCounterMode(display=False) as counter:
            training._step(cfg.method, nets, cfg, optimizers, d_only, real, pseudo, rng,
                           step_count)  # fmt: skip
        counts.append(counter.get_total_flops())
    with_g, without = counts
    return (with_g + (cfg.n_critic - 1) * without) / cfg.n_critic


def child(spec: dict[str, object]) -> dict[str, object]:
    """One fit as ``spec`` says; its trace, phases, RSS peaks and throughput."""
    import warnings

    import ganclust
    from ganclust.metrics import clustering_accuracy

    loaded = load_named(str(spec["dataset"]))
    assert loaded is not None
    X, y = sized(*loaded, int(spec["n"]))
    rss = PeakRSS()
    started = time.perf_counter()
    points, overhead = _trace(y, started, spec.get("budget")) if spec["trace"] else ([], [0.0])
    params = {"recipe": spec["recipe"], "random_state": 0, "verbose": 0}
    if spec["recipe"] == "published":
        params["max_epochs"] = 10_000  # until the budget
    model = ganclust.ClusterGAN(len(np.unique(y)), **params)

    def on_event(event: dict[str, object]) -> None:
        if event["event"] == "phase":
            rss.phase = str(event["phase"]).split(" (")[0].split(" ")[0]

    stopped, failed = False, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X, callback=on_event)
        except _Budget:
            stopped = True
        except Exception as error:  # a fit that fails (diverges) is a result too
            stopped, failed = True, f"{type(error).__name__}: {error}"
    seconds = time.perf_counter() - started - overhead[0]
    peaks = rss.stop()
    result: dict[str, object] = {"n": len(X), "seconds": seconds, "rss_mib": peaks,
                                 "points": points, "stopped_at_budget": stopped and not failed,
                                 "failed": failed}  # fmt: skip
    if not stopped:
        acc = clustering_accuracy(y, model.labels_)
        result.update(acc=acc, phases=model.phase_seconds_)
        points.append((round(seconds, 2), round(acc, 4)))
        first = [r for r in model.history_ if "seconds" in r and "refine" not in r]
        epoch_seconds = float(np.mean([r["seconds"] for r in first]))
        steps = len(X) // model.settings_.batch_size
        result["samples_per_second"] = steps * model.settings_.batch_size / epoch_seconds
        result["flop_per_second"] = _flops_per_step(model, X) * steps / epoch_seconds
    return result


def run_child(spec: dict[str, object]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"{spec} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the parent: tables and plot
def time_to(points: list[tuple[float, float]], level: float) -> float | None:
    """The first time a trace reaches ``level``, or None."""
    return next((t for t, acc in points if acc >= level), None)


def _ratio_cells(points: list, reference: list) -> list[str]:
    cells = []
    for level in LEVELS:
        ours, theirs = time_to(points, level), time_to(reference, level)
        if ours is None:
            cells.append("never")
        elif theirs is None:
            cells.append(f"{ours:.0f} s")
        else:
            cells.append(f"{ours:.0f} s ({ours / theirs:.2f}x)")
    return cells


def _baseline(name: str, X: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from accuracy import run_baseline

    from ganclust.metrics import clustering_accuracy

    started = time.perf_counter()
    labels = run_baseline(name, X, len(np.unique(y)), 0, {})
    return [(round(time.perf_counter() - started, 2), round(clustering_accuracy(y, labels), 4))]


def _plot(traces: dict[str, list], dataset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, points in traces.items():
        if points:
            t, acc = zip(*points, strict=True)
            ax.plot(t, acc, marker="o", label=name, linestyle="-" if len(t) > 1 else "none")
    ax.set(xlabel="seconds", ylabel="Hungarian ACC", title=f"Accuracy against time, {dataset}")
    ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "speed.png", dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist10k")
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--sizes", type=int, nargs="*", default=[2500, 5000, 10000, 20000])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    loaded = load_named(args.dataset)
    assert loaded is not None, f"{args.dataset} is not available here"
    origin = provenance()
    peaks = {d: matmul_gflops(d) for d in ("float32", "bfloat16")}
    print("matmul GFLOP/s", peaks, flush=True)
    n = len(loaded[0])
    spec = {"dataset": args.dataset, "n": n, "trace": True}
    ours = run_child({**spec, "recipe": "default"})
    print("ganclust", ours["points"], flush=True)
    published = run_child({**spec, "recipe": "published", "budget": args.budget})
    print("published", published["points"][-3:], flush=True)
    traces = {"ganclust (default)": ours["points"],
              "ClusterGAN, published recipe": published["points"]}  # fmt: skip
    for name in BASELINES:
        traces[name] = _baseline(name, *loaded)
        print(name, traces[name], flush=True)
    sizes = []
    for size in args.sizes:
        if size == n:  # the traced fit is this size's row (its read-outs are off its clock)
            sizes.append(ours)
            continue
        sizes.append(run_child({**spec, "n": size, "trace": False, "recipe": "default"}))
        print("N", size, sizes[-1]["seconds"], flush=True)
    payload = {"provenance": origin, "dataset": args.dataset, "matmul_gflops": peaks,
               "traces": traces, "default": ours, "published": published,
               "budget": args.budget, "sizes": sizes}  # fmt: skip
    table = format_tables(payload)
    write_results("speed", payload, table)
    _plot(traces, args.dataset)
    print(table)


def format_tables(payload: dict) -> str:
    """The markdown of the three tables."""
    traces, ours, peaks = payload["traces"], payload["default"], payload["matmul_gflops"]
    reference = traces["ganclust (default)"]
    lines = [
        f"## Time to accuracy on {payload['dataset']} (one run; ratio to ganclust's time)",
        "",
        "| method | final ACC | seconds | time to 0.90 | time to 0.95 |",
        "|---|---|---|---|---|",
    ]
    for name, points in traces.items():
        final_t, final_acc = points[-1] if points else (float("nan"), float("nan"))
        lines.append(f"| {name} | {final_acc:.4f} | {final_t:.0f} | "
                     + " | ".join(_ratio_cells(points, reference)) + " |")  # fmt: skip
    lines += [
        "",
        f"The published recipe trained until {payload['budget']:.0f} s"
        + (" (stopped there)." if payload["published"]["stopped_at_budget"] else ".")
        + (
            f" It failed: {payload['published']['failed']}."
            if payload["published"].get("failed")
            else ""
        ),
        "",
        "## Training throughput (ganclust's default, first training round)",
        "",
        "| samples/s | achieved GFLOP/s | fp32 matmul GFLOP/s | fraction of fp32 "
        "| bf16 matmul GFLOP/s |",
        "|---|---|---|---|---|",
        f"| {ours['samples_per_second']:.0f} | {ours['flop_per_second'] / 1e9:.1f} "
        f"| {peaks['float32']:.0f} | {ours['flop_per_second'] / 1e9 / peaks['float32']:.1%} "
        f"| {peaks['bfloat16']:.3g} |",
        "",
        "## Cost as N grows (default fit, one process each)",
        "",
        "| N | seconds | pseudo-labels | training | refinement | peak RSS (MiB) | ACC |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in payload["sizes"]:
        phases = row["phases"]
        refine = phases.get("refine_pseudo_labels", 0) + phases.get("refine_training", 0)
        first = phases.get("n_clusters", 0) + phases.get("pseudo_labels", 0)
        lines.append(
            f"| {row['n']} | {row['seconds']:.0f} | {first:.0f} | {phases.get('training', 0):.0f} "
            f"| {refine:.0f} | {max(row['rss_mib'].values()):.0f} | {row['acc']:.4f} |"
        )
    lines += ["", "Peak RSS by phase (MiB): " + "; ".join(
        f"N={row['n']}: " + ", ".join(f"{k} {v:.0f}" for k, v in row["rss_mib"].items())
        for row in payload["sizes"])]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
