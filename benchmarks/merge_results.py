"""Merge accuracy results run in parts (other seeds, other sessions) into one table.

A slow benchmark is often run a few seeds at a time (``--first-seed``). This joins the parts: the
runs of the same dataset and method are pooled and summarised again, and the provenance (commit,
machine, command) of every part that still feeds a row is kept. A seed that appears twice for
the same row, or a row whose parameters differ between parts, is an error rather than a silent
mix.

    python benchmarks/merge_results.py accuracy-mnist10k-disc accuracy-mnist10k-disc-s2 \\
        --out accuracy-mnist10k-disc-5seeds
    # rows measured again (a later part) replace the old ones; the other rows are kept
    python benchmarks/merge_results.py accuracy-digits NEW-RUN --replace --out accuracy-digits
    # a part that ran several sets feeds one file per set
    python benchmarks/merge_results.py accuracy-mnist16 NEW-RUN --datasets mnist16 \\
        --out accuracy-mnist16
    # only some methods' rows: an older file's baselines beside a new run's fits
    python benchmarks/merge_results.py accuracy-digits --methods kmeans tsne-gmm --out base

Reads and writes benchmarks/results/<name>.json (and writes the .md).
"""

from __future__ import annotations

import argparse

from _common import provenance_parts, read_results, write_results
from accuracy import format_table, make_row


def merge(
    payloads: list[dict],
    replace: bool = False,
    datasets: list[str] | None = None,
    methods: list[str] | None = None,
) -> dict[str, object]:
    """Pool the runs of every (dataset, method) row across ``payloads``.

    Parameters
    ----------
    payloads : list of dict
        Result files as written by ``benchmarks/accuracy.py`` (or by this script).
    replace : bool
        A later part's row replaces an earlier part's row of the same (dataset, method) instead
        of being pooled with it: the rows a new run measured again supersede the old ones.
    datasets : list of str, optional
        Keep only the rows of these datasets (a part that ran several sets can feed one file
        per set).
    methods : list of str, optional
        Keep only the rows of these methods (a file's baselines without its superseded fits).

    Returns
    -------
    dict
        One payload: a provenance list, the largest seed count and the pooled rows. The
        provenance names only the parts that some kept run came from: a part whose rows were all
        replaced or filtered out is dropped, and each run records its parts (``parts``: their
        positions in the provenance list).
    """
    pooled: dict[tuple[str, str], dict] = {}
    # every part seen, by its key; only those that a kept run came from are written
    known: dict[str, dict] = {}
    for payload in payloads:
        parts = provenance_parts(payload)
        keys = [_part_key(part) for part in parts]
        for key, part in zip(keys, parts, strict=True):
            known.setdefault(key, part)
        for row in payload["rows"]:
            if datasets is not None and row["dataset"] not in datasets:
                continue
            if methods is not None and row["method"] not in methods:
                continue
            key = (row["dataset"], row["method"])
            # a run remembers the part it came from; a run of a file merged before runs were
            # tagged may have come from any of that file's parts
            tagged = [{**run, "parts": _keys_of(run, keys)} for run in row["runs"]]
            row = {**row, "runs": tagged}
            if key not in pooled or replace:
                pooled[key] = row
                continue
            kept = pooled[key]
            if kept["params"] != row["params"] or kept["n_samples"] != row["n_samples"]:
                raise ValueError(f"{key}: parts differ in parameters or data size; not merged")
            seen = {run["seed"] for run in kept["runs"]}
            repeated = seen & {run["seed"] for run in row["runs"]}
            if repeated:
                raise ValueError(f"{key}: seed(s) {sorted(repeated)} appear in two parts")
            kept["runs"].extend(row["runs"])
    if not pooled:
        raise ValueError(f"no rows to merge (datasets kept: {datasets}, methods: {methods})")
    rows = []
    for (dataset, method), row in pooled.items():
        runs = sorted(row["runs"], key=lambda run: run["seed"])
        rows.append(
            make_row(dataset, method, row["n_samples"], runs, row["params"], row["bayes_acc"])
        )
    seeds = max(len(row["runs"]) for row in rows)
    used = {key for row in rows for run in row["runs"] for key in run["parts"]}
    provenance = [part for key, part in known.items() if key in used]
    _number_parts(rows, provenance)
    return {"provenance": provenance, "seeds": seeds, "rows": rows}


def _number_parts(rows: list[dict], provenance: list[dict]) -> None:
    """Write each run's parts as positions in ``provenance``: a key repeats the part's whole
    command, and a run of an untagged file names every part of it."""
    position = {_part_key(part): i for i, part in enumerate(provenance)}
    for row in rows:
        for run in row["runs"]:
            run["parts"] = sorted(position[key] for key in run["parts"])


def _keys_of(run: dict, keys: list[str]) -> list[str]:
    """The keys of the parts ``run`` came from: its ``parts`` (positions in its file's
    provenance, or keys as written before positions were), else every part of its file."""
    return [keys[tag] if isinstance(tag, int) else tag for tag in run.get("parts") or []] or keys


def _part_key(part: dict) -> str:
    """Names one run of a benchmark: its commit, when it wrote its results and its command (two
    runs started side by side can share the first two)."""
    return " ".join(str(part.get(field, "")) for field in ("commit", "date", "command"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", help="result names under benchmarks/results")
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--replace", action="store_true", help="a later part's row replaces an earlier one's"
    )
    parser.add_argument("--datasets", nargs="+", help="keep only the rows of these datasets")
    parser.add_argument("--methods", nargs="+", help="keep only the rows of these methods")
    args = parser.parse_args()
    payloads = [read_results(name) for name in args.parts]
    merged = merge(payloads, replace=args.replace, datasets=args.datasets, methods=args.methods)
    table = format_table(merged["rows"], merged["seeds"])
    write_results(args.out, merged, table)
    print(table)


if __name__ == "__main__":
    main()
