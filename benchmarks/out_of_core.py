"""Peak memory of a fit on a memory-mapped array as N grows, against the same array in memory.

A synthetic N x 28 x 28 uint8 set (MNIST-10k tiled, each copy shifted by whole pixels, so the
samples are digits) is written to a ``.npy`` file, opened with ``mmap_mode="r"`` and fitted for
one epoch: the default ClusterGAN with ``max_epochs=1`` and refinement off. Each fit runs in a
fresh process; the table gives the seconds of the epoch and of the whole fit, the kernel's peak
RSS (``ru_maxrss``) and the peak sampled in each phase. ``--in-memory N ...`` fits the same
arrays loaded whole, for comparison.

The file's pages that the fit reads count towards RSS while the kernel keeps them mapped (they
are page cache, shared and reclaimable, not the fit's allocations), so a fit that reads every
sample each epoch shows up to the file's size on top of its own memory.

    python benchmarks/out_of_core.py [--sizes 20000 40000 80000] [--in-memory 20000 40000]
    python benchmarks/out_of_core.py --sizes 1000000 --in-memory --add

``--add`` runs a slow size on its own and adds its rows to the existing result file (replacing
any of the same N and kind); the table then lists every part's command and commit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    ROOT,
    PeakRSS,
    load_named,
    provenance,
    provenance_parts,
    read_results,
    write_results,
)


def write_set(path: Path, n: int) -> None:
    """``n`` 28 x 28 uint8 digits: MNIST-10k and copies of it shifted by whole pixels."""
    loaded = load_named("mnist10k")
    assert loaded is not None, "mnist10k is not available here"
    X = loaded[0]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 28, 28))
    for start in range(0, n, len(X)):
        copy = start // len(X)
        shifted = np.roll(X, (copy % 5 - 2, copy // 5 % 5 - 2), axis=(1, 2))
        out[start : start + len(X)] = shifted[: n - start]
    out.flush()
    del out


def child(path: str, mapped: bool) -> dict[str, object]:
    """Fit the set at ``path`` for one epoch; its timings and memory."""
    import warnings

    import ganclust

    rss = PeakRSS()
    X = np.load(path, mmap_mode="r") if mapped else np.load(path)
    rss.phase = "before fit"
    started = time.perf_counter()

    def on_event(event: dict[str, object]) -> None:
        if event["event"] == "phase":
            rss.phase = str(event["phase"]).split(" (")[0].split(" ")[0]

    model = ganclust.ClusterGAN(10, max_epochs=1, options={"refine": 0}, random_state=0,
                                verbose=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, callback=on_event)
    seconds = time.perf_counter() - started
    peaks = rss.stop()
    return {
        "n": len(X),
        "mapped": mapped,
        "seconds": seconds,
        "epoch_seconds": model.history_[0]["seconds"],
        "phases": model.phase_seconds_,
        "rss_mib": peaks,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(path: Path, mapped: bool) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--mapped", str(int(mapped))],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[20000, 40000, 80000])
    parser.add_argument("--in-memory", type=int, nargs="*", default=[20000, 40000])
    parser.add_argument("--out", default="scale#out-of-core")
    parser.add_argument(
        "--add", action="store_true", help="add the rows to the existing result file (run in parts)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mapped", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, bool(args.mapped))))
        return
    origin = provenance()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(set(args.sizes) | set(args.in_memory)):
            path = Path(tmp) / f"set-{n}.npy"
            write_set(path, n)
            for mapped in (True, False):
                if n in (args.sizes if mapped else args.in_memory):
                    rows.append(
                        {**run_child(path, mapped), "file_mib": path.stat().st_size / 2**20}
                    )
                    print(rows[-1], flush=True)
            path.unlink()
    payload: dict[str, object] = {"provenance": origin, "rows": rows}
    if args.add:
        payload = added(read_results(args.out), payload)
    table = format_table(payload["rows"])  # type: ignore[arg-type]
    write_results(args.out, payload, table)
    print(table)


def added(earlier: dict, part: dict) -> dict[str, object]:
    """``earlier``'s rows with ``part``'s added (a row of the same N and kind is replaced), and
    both provenances."""
    new = {_row_key(row) for row in part["rows"]}
    rows = [row for row in earlier["rows"] if _row_key(row) not in new] + part["rows"]
    return {
        "provenance": provenance_parts(earlier) + provenance_parts(part),
        "rows": sorted(rows, key=_row_key),
    }


def _row_key(row: dict) -> tuple[int, bool]:
    # by N, the memory-mapped fit first
    return row["n"], not row["mapped"]


def format_table(rows: list[dict]) -> str:
    """The markdown table of the rows."""
    lines = [
        "Default ClusterGAN, one epoch (`max_epochs=1`, refinement off), on N x 28 x 28 uint8.",
        "",
        "| N | data | file (MiB) | epoch (s) | epoch ms / sample | fit (s) | peak RSS (MiB) "
        "| peak in training (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        kind = "memory-mapped" if row["mapped"] else "in memory"
        lines.append(
            f"| {row['n']} | {kind} | {row['file_mib']:.0f} | {row['epoch_seconds']:.1f} "
            f"| {1000 * row['epoch_seconds'] / row['n']:.2f} "
            f"| {row['seconds']:.0f} | {row['max_rss_mib']:.0f} "
            f"| {row['rss_mib'].get('training', float('nan')):.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
