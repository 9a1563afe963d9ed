"""Merge accuracy results run in parts (other seeds, other sessions) into one table.

A slow benchmark is often run a few seeds at a time (``--first-seed``). This joins the parts: the
runs of the same dataset and method are pooled and summarised again, and every part's provenance
(commit, machine, command) is kept. A seed that appears twice for the same row, or a row whose
parameters differ between parts, is an error rather than a silent mix.

    python benchmarks/merge_results.py accuracy-mnist10k-disc accuracy-mnist10k-disc-s2 \\
        --out accuracy-mnist10k-disc-5seeds
    # rows measured again (a later part) replace the old ones; the other rows are kept
    python benchmarks/merge_results.py accuracy-digits NEW-RUN --replace --out accuracy-digits

Reads and writes benchmarks/results/<name>.json (and writes the .md).
"""

from __future__ import annotations

import argparse
import json

from _common import RESULTS, provenance_parts, write_results
from accuracy import format_table, make_row


def merge(payloads: list[dict], replace: bool = False) -> dict[str, object]:
    """Pool the runs of every (dataset, method) row across ``payloads``.

    Parameters
    ----------
    payloads : list of dict
        Result files as written by ``benchmarks/accuracy.py`` (or by this script).
    replace : bool
        A later part's row replaces an earlier part's row of the same (dataset, method) instead
        of being pooled with it: the rows a new run measured again supersede the old ones.

    Returns
    -------
    dict
        One payload: a provenance list, the largest seed count and the pooled rows.
    """
    pooled: dict[tuple[str, str], dict] = {}
    provenance: list[dict] = []
    for payload in payloads:
        provenance.extend(provenance_parts(payload))
        for row in payload["rows"]:
            key = (row["dataset"], row["method"])
            if key not in pooled or replace:
                pooled[key] = {**row, "runs": list(row["runs"])}
                continue
            kept = pooled[key]
            if kept["params"] != row["params"] or kept["n_samples"] != row["n_samples"]:
                raise ValueError(f"{key}: parts differ in parameters or data size; not merged")
            seen = {run["seed"] for run in kept["runs"]}
            repeated = seen & {run["seed"] for run in row["runs"]}
            if repeated:
                raise ValueError(f"{key}: seed(s) {sorted(repeated)} appear in two parts")
            kept["runs"].extend(row["runs"])
    rows = []
    for (dataset, method), row in pooled.items():
        runs = sorted(row["runs"], key=lambda run: run["seed"])
        rows.append(
            make_row(dataset, method, row["n_samples"], runs, row["params"], row["bayes_acc"])
        )
    seeds = max(len(row["runs"]) for row in rows)
    return {"provenance": provenance, "seeds": seeds, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="+", help="result names under benchmarks/results")
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--replace", action="store_true", help="a later part's row replaces an earlier one's"
    )
    args = parser.parse_args()
    payloads = [json.loads((RESULTS / f"{name}.json").read_text()) for name in args.parts]
    merged = merge(payloads, replace=args.replace)
    table = format_table(merged["rows"], merged["seeds"])
    write_results(args.out, merged, table)
    print(table)


if __name__ == "__main__":
    main()
