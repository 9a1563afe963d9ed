"""What each part of the read-out costs at prediction, and what the neighbor vote adds to a file.

One quickly trained model (the read-out's cost does not depend on how well it was trained) is
read three ways on the same data in the same process: the head alone, with the shifted views,
and with the neighbor vote (the default). Each is timed over several repeats (the
median is reported) and as a ratio to the head alone, since absolute times are noisy here; each
is also timed at ``PREVIOUS_BATCH`` samples a forward pass, the read-out batch before
``ganclust.inference.READ_OUT_BATCH``, as a ratio to the current batch. The model is saved with
and without the vote to compare file sizes.

    python benchmarks/read_out_cost.py [--dataset mnist10k] [--repeats 5]  # costs#read-out-cost
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import load_named, provenance, write_results

import ganclust.inference
from ganclust import ClusterGAN

# the read-out's samples a forward pass before READ_OUT_BATCH; timed beside it in the same run
PREVIOUS_BATCH = 1024

# the vote reads only the trunk's features of a new sample: its references' probabilities were
# read (with the views) at fit, so the views cost nothing more at prediction once it is on
READ_OUTS = {
    "head alone": {"n_neighbors": 0, "view_strength": 0.0},
    "shifted views": {"n_neighbors": 0},
    "neighbor vote (default)": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist10k")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="costs#read-out-cost")
    args = parser.parse_args()
    loaded = load_named(args.dataset) or load_named("digits")
    assert loaded is not None
    X, _ = loaded
    origin = provenance()
    # a short fit: k-means pseudo-labels, one epoch, no refinement
    quick = dict(
        options={"init": "kmeans", "refine": 0}, max_epochs=1, random_state=0, device="cpu"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ClusterGAN(10, **quick).fit(X)
    model.predict(X[:64])  # warm-up
    seconds, previous = {}, {}
    fitted = model.readout_
    current_batch = ganclust.inference.READ_OUT_BATCH
    for name, change in READ_OUTS.items():
        model.readout_ = dataclasses.replace(fitted, **change)
        seconds[name] = median_predict_seconds(model, X, args.repeats)
        ganclust.inference.READ_OUT_BATCH = PREVIOUS_BATCH  # read when each pass is batched
        try:
            previous[name] = median_predict_seconds(model, X, args.repeats)
        finally:
            ganclust.inference.READ_OUT_BATCH = current_batch
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for neighbors in (5, 0):
            readout = fitted if neighbors else dataclasses.replace(fitted, n_neighbors=0, vote=None)
            model._set_state(dataclasses.replace(model.state_, readout=readout))
            path = Path(tmp) / f"model-{neighbors}.safetensors"
            model.save(path)
            sizes[neighbors] = path.stat().st_size
    head = seconds["head alone"]
    lines = [
        f"`predict` on all {len(X)} samples of {args.dataset}, median of {args.repeats} repeats, "
        f"one process; ratios to the head alone. Read {current_batch} samples a forward pass, "
        f"and (the last two columns) {PREVIOUS_BATCH}, the previous read-out batch.",
        "",
        f"| read-out | seconds | ratio | seconds at {PREVIOUS_BATCH} a pass | speed-up of "
        f"{current_batch} |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {s:.2f} | {s / head:.1f}x | {previous[name]:.2f} | "
            f"{previous[name] / s:.2f}x |"
            for name, s in seconds.items()
        ),
        "",
        f"Model file: {sizes[0] / 1e6:.1f} MB without the vote, {sizes[5] / 1e6:.1f} MB with it.",
    ]
    table = "\n".join(lines)
    payload = {
        "provenance": origin,
        "dataset": args.dataset,
        "n_samples": len(X),
        "seconds": seconds,
        "batch": current_batch,
        "previous_batch": PREVIOUS_BATCH,
        "seconds_at_previous_batch": previous,
        "file_bytes": {"without_vote": sizes[0], "with_vote": sizes[5]},
    }
    write_results(args.out, payload, table)
    print(table)


def median_predict_seconds(model: ClusterGAN, X: np.ndarray, repeats: int) -> float:
    """Median seconds of ``model.predict(X)`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict(X)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


if __name__ == "__main__":
    main()
