"""What checkpoints cost: the same fit with and without ``checkpoint_dir``, in one run.

Each pair of fits is timed back to back (their order alternating), and the ratio of the
checkpointed fit's time to the plain one's is reported with the checkpoint's size. On a shared
machine that ratio carries the other jobs' noise, so the checkpointed fit also times, in
process, what checkpointing itself adds: building each checkpoint's state and writing the file.
The fits are the default ClusterGAN with fewer epochs (``--max-epochs``, refinement off): a
checkpoint is written once per epoch, so its cost relative to an epoch's is what a full fit
pays too.

    python benchmarks/checkpoint_cost.py [--dataset mnist10k] [--max-epochs 3] [--pairs 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import load_named, provenance, write_results

from ganclust import ClusterGAN


class _Timer:
    """Seconds spent inside a wrapped function."""

    def __init__(self, owner: object, name: str) -> None:
        self.owner, self.name, self.seconds, self.calls = owner, name, 0.0, 0
        self.original = getattr(owner, name)

    def __enter__(self) -> _Timer:
        original = self.original

        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        setattr(self.owner, self.name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(self.owner, self.name, self.original)


def timed_fit(X: np.ndarray, max_epochs: int, folder: Path | None) -> dict[str, float]:
    from ganclust import _resume, training

    model = ClusterGAN(
        10, max_epochs=max_epochs, options={"refine": 0}, random_state=0, device="cpu"
    )
    with _Timer(_resume.CheckpointStore, "save") as save, _Timer(training._Loop, "state") as state:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, checkpoint_dir=folder, keep_checkpoint=folder is not None)
        total = time.perf_counter() - started
    # every epoch takes one state for its rollback, checkpointed or not; a checkpoint takes one
    # more per save, at the mean cost of a state
    per_state = state.seconds / max(state.calls, 1)
    added = save.seconds + per_state * save.calls if folder is not None else 0.0
    return {"seconds": total, "checkpointing": added, "saves": save.calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist10k")
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--out", default="costs#checkpoint-cost")
    args = parser.parse_args()
    loaded = load_named(args.dataset)
    assert loaded is not None, f"{args.dataset} is not available here"
    X, _ = loaded
    origin = provenance()
    plain, checked, added, sizes = [], [], [], []
    for pair in range(args.pairs):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "ckpt"
            order = [None, folder] if pair % 2 == 0 else [folder, None]
            for where in order:
                timing = timed_fit(X, args.max_epochs, where)
                (plain if where is None else checked).append(timing["seconds"])
                if where is not None:
                    added.append(timing["checkpointing"])
            sizes.append((folder / "checkpoint.safetensors").stat().st_size)
    ratio = float(np.mean(checked) / np.mean(plain))
    inside = float(np.mean(added) / (np.mean(checked) - np.mean(added)))
    table = "\n".join(
        [
            f"ClusterGAN on {args.dataset}, {args.max_epochs} epochs, refinement off, "
            f"{args.pairs} pairs of fits back to back (order alternating).",
            "",
            "| fit | seconds (mean) | ratio |",
            "|---|---|---|",
            f"| without checkpoints | {np.mean(plain):.1f} | 1.00 |",
            f"| with a checkpoint every epoch | {np.mean(checked):.1f} | {ratio:.3f} |",
            "",
            f"Measured inside the checkpointed fits: checkpointing took {np.mean(added):.2f} s "
            f"of {np.mean(checked):.1f} s, a cost of {inside:.2%} over the fit without it.",
            "",
            f"Checkpoint file: {np.mean(sizes) / 1e6:.1f} MB.",
        ]
    )
    payload = {
        "provenance": origin,
        "dataset": args.dataset,
        "max_epochs": args.max_epochs,
        "seconds_plain": plain,
        "seconds_checkpointed": checked,
        "ratio": ratio,
        "seconds_checkpointing": added,
        "checkpointing_fraction": inside,
        "checkpoint_bytes": sizes,
    }
    write_results(args.out, payload, table)
    print(table)


if __name__ == "__main__":
    main()
